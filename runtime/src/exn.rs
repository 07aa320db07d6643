//! Exceptions: tags, the exception objects compiled code names by handle,
//! the `throw`/`throw_ref`/`exn_landed`/`exn_catch` builtins and the
//! unwinder that carries a thrown exception to its landing (`pcc::exn`).
//!
//! The unwinder is trusted and kept small: [`walk`] is a pure function over
//! a memory-reading closure (tested on synthetic stacks), and landing is done
//! by the assembly shims *after* the Rust function has returned, so no Rust
//! frame is ever skipped: a builtin returns a pointer to this thread's
//! [`Landing`] and its shim switches `rsp`/`rbp` and jumps.
//!
//! # Exception objects and their lifetime
//!
//! An exception is a runtime-owned `{tag, payload}`; compiled code holds
//! only its handle (an `exnref`, 0 = null): the object's registry index plus
//! one in the low 32 bits and a random 32-bit check in the high half, so a
//! number compiled code makes up is refused (one guess in 2^32 succeeds)
//! and a module cannot name other instances' exceptions by counting.
//!
//! exnrefs can live anywhere a value can (locals, globals, tables, other
//! instances, the host), and the runtime cannot see those, so nothing is
//! ever collected: an object lives as long as the process. The registry is
//! bounded instead: at most [`MAX_LIVE_EXCEPTIONS`] objects and
//! [`MAX_EXCEPTION_PAYLOAD_BYTES`] of payload in all, over all threads.
//! Past either, `throw` creates nothing and returns
//! [`TrapCode::HostTrap`] (the throwing code traps). `throw_ref` creates
//! nothing (it rethrows the same object) and is never refused for space.

use std::cell::Cell;
use std::sync::{Arc, Mutex};

use pcc::builtin::tag_payload_bytes;
use pcc::TrapCode;

use crate::entry::{pccc_trap_landing, INNERMOST};
use crate::signals::{CodeRange, CODE};
use crate::{in_callers_frame, instance_for, TypeIdentity};

/// A tag's identity: two tags are the same tag iff they are the same `Arc`
/// (`Arc::ptr_eq`), whatever their types.
#[derive(Debug)]
pub(crate) struct Tag {
    pub(crate) ty: TypeIdentity,
}

/// Live exception objects, process-wide (see the module doc).
pub const MAX_LIVE_EXCEPTIONS: usize = 1 << 20;
/// Payload bytes of all live exception objects together.
pub const MAX_EXCEPTION_PAYLOAD_BYTES: usize = 256 << 20;

struct Exception {
    tag: Arc<Tag>,
    payload: Box<[u64]>,
    check: u32,
}

#[derive(Default)]
struct Exceptions {
    objs: Vec<Exception>,
    payload_bytes: usize,
    keys: std::collections::hash_map::RandomState,
}

static EXCEPTIONS: std::sync::LazyLock<Mutex<Exceptions>> =
    std::sync::LazyLock::new(Default::default);

fn registry() -> std::sync::MutexGuard<'static, Exceptions> {
    // Nothing panics while holding it; a poisoned lock is still consistent.
    EXCEPTIONS.lock().unwrap_or_else(|p| p.into_inner())
}

/// A new exception object's handle, or `None` past the bounds.
pub(crate) fn new_exception(tag: Arc<Tag>, payload: Box<[u64]>) -> Option<u64> {
    use std::hash::BuildHasher;
    let mut r = registry();
    let bytes = payload.len() * 8;
    if r.objs.len() >= MAX_LIVE_EXCEPTIONS
        || r.payload_bytes + bytes > MAX_EXCEPTION_PAYLOAD_BYTES
        || r.objs.try_reserve(1).is_err()
    {
        return None;
    }
    let k = r.objs.len() as u64 + 1;
    let check = r.keys.hash_one(k) as u32;
    r.objs.push(Exception {
        tag,
        payload,
        check,
    });
    r.payload_bytes += bytes;
    Some((check as u64) << 32 | k)
}

/// Run `f` on the exception `handle` names, if it is a live handle.
fn with_exception<R>(handle: u64, f: impl FnOnce(&Exception) -> R) -> Option<R> {
    let r = registry();
    let k = ((handle & 0xFFFF_FFFF) as usize).checked_sub(1)?;
    let e = r.objs.get(k)?;
    (e.check == (handle >> 32) as u32).then(|| f(e))
}

/// Whether `handle` names a live exception object (0 does not).
pub(crate) fn is_exception(handle: u64) -> bool {
    with_exception(handle, |_| ()).is_some()
}

thread_local! {
    /// The exception the unwinder last landed on this thread (0: none).
    static LANDED: Cell<u64> = const { Cell::new(0) };
    /// The exception that left the entry that ended last on this thread
    /// with `UncaughtException` (0: none), for the host call that made that
    /// entry to carry on.
    static PENDING: Cell<u64> = const { Cell::new(0) };
    /// Where the shim of the builtin returning now resumes (see `Landing`).
    static LANDING: Cell<Landing> = const { Cell::new(Landing { pc: 0, rsp: 0, rbp: 0, rax: 0 }) };
}

/// Forget both the landed and pending exception (a new top-level call).
pub(crate) fn reset_thread_state() {
    LANDED.with(|c| c.set(0));
    PENDING.with(|c| c.set(0));
}

/// Forget the pending exception: an entry is about to start, and only the
/// exception that leaves *it* may be carried on by its host call.
pub(crate) fn clear_pending() {
    PENDING.with(|c| c.set(0));
}

/// The exception that left the last entry uncaught, taken (0: none).
pub(crate) fn take_pending() -> u64 {
    PENDING.with(|c| c.replace(0))
}

/// A resumption point, read by the shims below: `rsp`, `rbp` and `rax`
/// are set and control jumps to `pc`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Landing {
    pub pc: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub rax: u64,
}

/// What a landing builtin returns, in rax:rdx: with `landing` null the shim
/// returns `code` to compiled code; otherwise it resumes at `*landing`.
#[repr(C)]
pub(crate) struct BuiltinRet {
    pub code: u64,
    pub landing: *const Landing,
}

impl BuiltinRet {
    pub(crate) fn code(code: u64) -> BuiltinRet {
        BuiltinRet {
            code,
            landing: std::ptr::null(),
        }
    }

    fn trap(code: TrapCode) -> BuiltinRet {
        BuiltinRet::code(code as u32 as u64)
    }
}

fn land(l: Landing) -> BuiltinRet {
    BuiltinRet {
        code: 0,
        landing: LANDING.with(|c| {
            c.set(l);
            c.as_ptr() as *const Landing
        }),
    }
}

/// A wasm frame as the unwinder sees it: the return address of the call it
/// is in, its stack pointer after that call returns, its frame pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub ret: usize,
    pub sp: usize,
    pub fp: usize,
}

/// Where an exception thrown by the call `start` is in lands: the first
/// frame, from `start` outwards, whose return address has a landing
/// (`site(ret)`: `None` if `ret` is not compiled code, `Some(None)` if it is
/// but has no landing), as `(landing pc, that frame)`; `None` if no frame of
/// the entry (whose call into compiled code had stack pointer `limit`) has
/// one. Only the words `[fp]` and `[fp + 8]` of frames with
/// `sp <= fp` and `fp + 16 < limit` are read, and fp strictly increases (by
/// at least 16 per frame), so a malformed chain ends the walk, never loops
/// or reads outside `[start.sp, limit)`.
pub(crate) fn walk(
    start: Frame,
    limit: usize,
    read: impl Fn(usize) -> usize,
    site: impl Fn(usize) -> Option<Option<usize>>,
) -> Option<(usize, Frame)> {
    let mut f = start;
    loop {
        let plausible = f.fp.is_multiple_of(8)
            && f.sp <= f.fp
            && f.fp.checked_add(16).is_some_and(|end| end <= limit);
        if !plausible {
            return None;
        }
        match site(f.ret)? {
            Some(pc) => return Some((pc, f)),
            // The entry's first frame: its caller is pccc_enter.
            None if f.fp + 16 >= limit => return None,
            None => {}
        }
        f = Frame {
            ret: read(f.fp + 8),
            sp: f.fp + 16,
            fp: read(f.fp),
        };
    }
}

/// `site` for [`walk`] over the registered code: return addresses lie in
/// `(start, end]` of their range.
fn site_in(code: &[CodeRange], ret: usize) -> Option<Option<usize>> {
    let r = code.iter().find(|r| r.start < ret && ret <= r.end)?;
    Some(
        r.exn
            .binary_search_by_key(&ret, |s| s.0)
            .ok()
            .map(|i| r.exn[i].1),
    )
}

fn in_code(ret: usize) -> bool {
    CODE.read().is_ok_and(|c| site_in(&c, ret).is_some())
}

/// Carry exception `handle` from frame `start` of compiled code (the one
/// that called the builtin now returning) to its landing in the innermost
/// entry, or out of that entry as `UncaughtException` (the exception then
/// pending). Refused (HostTrap, nothing changes) if `start` is not a call
/// from compiled code inside an entry.
pub(crate) fn unwind(handle: u64, start: Frame) -> BuiltinRet {
    let entry = INNERMOST.with(|c| c.get());
    if entry.is_null() {
        return BuiltinRet::trap(TrapCode::HostTrap);
    }
    // SAFETY: INNERMOST is this thread's live entry frame.
    let (limit, saved_rsp) = unsafe { ((*entry).call_sp as usize, (*entry).saved_rsp) };
    let Ok(code) = CODE.read() else {
        return BuiltinRet::trap(TrapCode::HostTrap);
    };
    if site_in(&code, start.ret).is_none() || start.sp > limit {
        return BuiltinRet::trap(TrapCode::HostTrap);
    }
    // SAFETY: `walk` reads only inside [start.sp, limit): this thread's
    // stack between the caller's frame and the entry's call, all live.
    let read = |a: usize| unsafe { *(a as *const usize) };
    let found = walk(start, limit, read, |r| site_in(&code, r));
    drop(code);
    match found {
        Some((pc, f)) => {
            LANDED.with(|c| c.set(handle));
            land(Landing {
                pc: pc as u64,
                rsp: f.sp as u64,
                rbp: f.fp as u64,
                rax: 0,
            })
        }
        None => {
            PENDING.with(|c| c.set(handle));
            // As a trap leaves it: pccc_trap_landing restores the entry's
            // saved registers (rbp among them) from saved_rsp.
            land(Landing {
                pc: pccc_trap_landing as *const () as u64,
                rsp: saved_rsp,
                rbp: 0,
                rax: TrapCode::UncaughtException as u32 as u64,
            })
        }
    }
}

// The shims: each adds the caller's stack pointer after the call (rsp + 8),
// frame pointer and return address to the builtin's arguments, calls it
// (rsp 16-byte aligned again) and returns its code, or resumes at the
// landing it returned (`pccc_resume`).
std::arch::global_asm!(
    ".globl pccc_throw",
    "pccc_throw:",
    "lea rcx, [rsp + 8]",
    "mov r8, rbp",
    "mov r9, [rsp]",
    "sub rsp, 8",
    "call {throw}",
    "jmp pccc_resume",
    ".globl pccc_throw_ref",
    "pccc_throw_ref:",
    "lea rdx, [rsp + 8]",
    "mov rcx, rbp",
    "mov r8, [rsp]",
    "sub rsp, 8",
    "call {throw_ref}",
    "jmp pccc_resume",
    ".globl pccc_host_call",
    "pccc_host_call:",
    "lea rcx, [rsp + 8]",
    "mov r8, rbp",
    "mov r9, [rsp]",
    "sub rsp, 8",
    "call {host_call}",
    "jmp pccc_resume",
    ".globl pccc_resume",
    "pccc_resume:",
    "add rsp, 8",
    "test rdx, rdx",
    "jnz 2f",
    "ret",
    "2:",
    "mov rsp, [rdx + 8]",
    "mov rbp, [rdx + 16]",
    "mov rax, [rdx + 24]",
    "jmp qword ptr [rdx]",
    ".globl pccc_exn_catch",
    "pccc_exn_catch:",
    "lea r8, [rsp + 8]",
    "mov r9, rbp",
    "jmp {exn_catch}",
    throw = sym throw,
    throw_ref = sym throw_ref,
    host_call = sym crate::host_call,
    exn_catch = sym exn_catch,
);

extern "sysv64" {
    pub(crate) fn pccc_throw(vmctx: *mut u64, tag: u64, slots: *const u64) -> u32;
    pub(crate) fn pccc_throw_ref(vmctx: *mut u64, exn: u64) -> u32;
    pub(crate) fn pccc_host_call(vmctx: *mut u64, import: u32, slots: *mut u64) -> u32;
    pub(crate) fn pccc_exn_catch(vmctx: *mut u64, exn: u64, tag: u64, slots: *mut u64) -> u64;
}

/// The payload size of tag `tag` of the instance whose vmctx this is, in
/// 8-byte words, and the tag; `None` if not a live instance's tag.
fn tag_of(vmctx: *const u64, tag: u64) -> Option<(Arc<Tag>, usize)> {
    let inst = instance_for(vmctx)?;
    let t = inst.0.tags.get(usize::try_from(tag).ok()?)?.clone();
    let words = (tag_payload_bytes(t.ty.func()) / 8) as usize;
    Some((t, words))
}

/// `throw` (vmctx `THROW`): a new exception of tag `tag` with its payload
/// read from `slots`, unwound from the caller. Returns (to compiled code,
/// which then traps) only if refused: HostTrap for a vmctx that is not a
/// live instance's, a tag past its tags, slots outside the caller's frame,
/// a caller that is not compiled code in an entry, or the registry full.
extern "sysv64" fn throw(
    vmctx: *mut u64,
    tag: u64,
    slots: *const u64,
    sp: usize,
    fp: usize,
    ret: usize,
) -> BuiltinRet {
    let refused = BuiltinRet::trap(TrapCode::HostTrap);
    let Some((tag, words)) = tag_of(vmctx, tag) else {
        return refused;
    };
    if words > 0 && !in_callers_frame(slots as usize, words, sp, fp) {
        return refused;
    }
    if !in_code(ret) {
        return refused;
    }
    // SAFETY: `words` slots in the caller's frame (checked above).
    let payload: Box<[u64]> = (0..words).map(|i| unsafe { *slots.add(i) }).collect();
    let Some(handle) = new_exception(tag, payload) else {
        return refused;
    };
    unwind(handle, Frame { ret, sp, fp })
}

/// `throw_ref` (vmctx `THROW_REF`): exception `exn` unwound again from the
/// caller, the same object (same handle). Returns only if refused:
/// NullExnRef for 0, HostTrap for a vmctx that is not a live instance's, a
/// handle that names no exception, or a caller that is not compiled code.
extern "sysv64" fn throw_ref(
    vmctx: *mut u64,
    exn: u64,
    sp: usize,
    fp: usize,
    ret: usize,
) -> BuiltinRet {
    if instance_for(vmctx).is_none() {
        return BuiltinRet::trap(TrapCode::HostTrap);
    }
    if exn == 0 {
        return BuiltinRet::trap(TrapCode::NullExnRef);
    }
    if !is_exception(exn) {
        return BuiltinRet::trap(TrapCode::HostTrap);
    }
    unwind(exn, Frame { ret, sp, fp })
}

/// `exn_landed` (vmctx `EXN_LANDED`): the exception the unwinder last
/// landed on this thread, taken (once: the landing's own call, which comes
/// before any other, gets it; code anywhere else, of any instance, gets 0);
/// 0 if none, or if `vmctx` is not a live instance's.
pub(crate) extern "sysv64" fn exn_landed(vmctx: *mut u64) -> u64 {
    if instance_for(vmctx).is_none() {
        return 0;
    }
    LANDED.with(|c| c.replace(0))
}

/// `exn_catch` (vmctx `EXN_CATCH`): 1, with the payload written to `slots`,
/// if exception `exn`'s tag is the instance's tag `tag`; else 0, touching
/// nothing. Also 0 (refused) for a vmctx that is not a live instance's, a
/// tag past its tags, a handle that names no exception, or slots outside the
/// caller's frame.
extern "sysv64" fn exn_catch(
    vmctx: *mut u64,
    exn: u64,
    tag: u64,
    slots: *mut u64,
    sp: usize,
    fp: usize,
) -> u64 {
    let Some((tag, words)) = tag_of(vmctx, tag) else {
        return 0;
    };
    if words > 0 && !in_callers_frame(slots as usize, words, sp, fp) {
        return 0;
    }
    with_exception(exn, |e| {
        if !Arc::ptr_eq(&e.tag, &tag) || e.payload.len() != words {
            return 0;
        }
        for (i, &w) in e.payload.iter().enumerate() {
            // SAFETY: `words` slots in the caller's frame (checked above).
            unsafe { *slots.add(i) = w };
        }
        1
    })
    .unwrap_or(0)
}

/// The builtins' addresses for the vmctx.
pub(crate) fn builtin_addr(kind: pcc::builtin::BuiltinKind) -> Option<u64> {
    use pcc::builtin::BuiltinKind as B;
    Some(match kind {
        B::Throw => pccc_throw as *const () as u64,
        B::ThrowRef => pccc_throw_ref as *const () as u64,
        B::ExnLanded => exn_landed as *const () as u64,
        B::ExnCatch => pccc_exn_catch as *const () as u64,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcc::WasmFuncType;

    /// A synthetic stack at `base`: `words[i]` is the word at `base + 8i`.
    /// Reading outside it fails the test (the walk must never do that).
    struct Stack {
        base: usize,
        words: Vec<usize>,
    }

    impl Stack {
        fn new(base: usize, n: usize) -> Stack {
            Stack {
                base,
                words: vec![0; n],
            }
        }
        fn limit(&self) -> usize {
            self.base + 8 * self.words.len()
        }
        fn at(&self, off: usize) -> usize {
            self.base + off
        }
        /// A frame record at `base + off`: saved fp, then return address.
        fn record(&mut self, off: usize, saved_fp: usize, ret: usize) {
            self.words[off / 8] = saved_fp;
            self.words[off / 8 + 1] = ret;
        }
        fn read(&self, a: usize) -> usize {
            assert!(
                a >= self.base && a + 8 <= self.limit(),
                "read {a:#x} outside"
            );
            assert!(a.is_multiple_of(8));
            self.words[(a - self.base) / 8]
        }
    }

    const CODE_LO: usize = 0x1000;
    const CODE_HI: usize = 0x2000;
    /// Compiled code is `(CODE_LO, CODE_HI]`; `0x1234` lands at `0x1800`.
    fn site(ret: usize) -> Option<Option<usize>> {
        let code = [CodeRange {
            start: CODE_LO,
            end: CODE_HI,
            traps: vec![],
            exn: vec![(0x1234, 0x1800), (0x1300, 0x1900)],
        }];
        site_in(&code, ret)
    }

    fn walk_on(s: &Stack, start: Frame) -> Option<(usize, Frame)> {
        walk(start, s.limit(), |a| s.read(a), site)
    }

    /// Three frames: the thrower (fp at 0x20), its caller (0x40) and the
    /// entry's first frame (0x60, whose record ends at the limit 0x70).
    fn three_frames(rets: [usize; 3]) -> (Stack, Frame) {
        let mut s = Stack::new(0x7f00_0000_0000, 14);
        let (f0, f1, f2) = (s.at(0x20), s.at(0x40), s.at(0x60));
        s.record(0x20, f1, rets[1]);
        s.record(0x40, f2, rets[2]);
        // The entry's record: pccc_enter's frame, never read.
        s.record(0x60, 0xdead_0000, 0x4242);
        let start = Frame {
            ret: rets[0],
            sp: s.at(0x08),
            fp: f0,
        };
        (s, start)
    }

    #[test]
    fn lands_in_the_first_frame_with_a_site() {
        let (s, start) = three_frames([0x1010, 0x1020, 0x1234]);
        let (pc, f) = walk_on(&s, start).expect("lands");
        assert_eq!(pc, 0x1800);
        assert_eq!(
            f,
            Frame {
                ret: 0x1234,
                sp: s.at(0x50),
                fp: s.at(0x60)
            }
        );
        // The caller's own call is a site: it lands there, not further out.
        let (s, start) = three_frames([0x1010, 0x1300, 0x1234]);
        let (pc, f) = walk_on(&s, start).expect("lands");
        assert_eq!((pc, f.sp, f.fp), (0x1900, s.at(0x30), s.at(0x40)));
        // The thrower's own call (the builtin's return address) is a site.
        let (s, start) = three_frames([0x1234, 0x1300, 0x1300]);
        assert_eq!(walk_on(&s, start), Some((0x1800, start)));
    }

    #[test]
    fn no_site_in_the_entry_leaves_it() {
        let (s, start) = three_frames([0x1010, 0x1020, 0x1030]);
        assert_eq!(walk_on(&s, start), None);
        // The first frame of the entry alone, with and without a site.
        let mut s = Stack::new(0x7f00_0000_0000, 4);
        s.record(0x10, 0xdead_0000, 0x4242);
        let first = Frame {
            ret: 0x1234,
            sp: s.at(0x08),
            fp: s.at(0x10),
        };
        assert_eq!(walk_on(&s, first), Some((0x1800, first)));
        assert_eq!(
            walk_on(
                &s,
                Frame {
                    ret: 0x1010,
                    ..first
                }
            ),
            None
        );
    }

    #[test]
    fn a_return_address_outside_compiled_code_ends_the_walk() {
        // The caller's return address is the host's: not followed further
        // even though the next frame would have a landing.
        let (s, start) = three_frames([0x1010, 0x9999, 0x1234]);
        assert_eq!(walk_on(&s, start), None);
        let (s, start) = three_frames([CODE_LO, 0x1234, 0x1234]);
        assert_eq!(
            walk_on(&s, start),
            None,
            "range start is not a return address"
        );
        let (s, start) = three_frames([CODE_HI + 1, 0x1234, 0x1234]);
        assert_eq!(walk_on(&s, start), None);
    }

    #[test]
    fn malformed_chains_stop_safely() {
        let base = 0x7f00_0000_0000usize;
        let bad_links = [
            base + 0x20,     // points to itself (a cycle of one)
            base + 0x08,     // decreasing
            base + 0x44,     // misaligned
            base + 0x70,     // the record would end past the limit
            base + 0x1000,   // far past the limit
            usize::MAX - 7,  // would overflow
            0,               // null
            base + 0x20 + 8, // increasing but below the next sp
        ];
        for link in bad_links {
            let mut s = Stack::new(base, 14);
            s.record(0x20, link, 0x1234);
            let start = Frame {
                ret: 0x1010,
                sp: s.at(0x08),
                fp: s.at(0x20),
            };
            assert_eq!(walk_on(&s, start), None, "link {link:#x}");
        }
        // A two-frame cycle: fp0 -> fp1 -> fp0.
        let mut s = Stack::new(base, 14);
        s.record(0x20, s.at(0x40), 0x1020);
        s.record(0x40, s.at(0x20), 0x1030);
        let start = Frame {
            ret: 0x1010,
            sp: s.at(0x08),
            fp: s.at(0x20),
        };
        assert_eq!(walk_on(&s, start), None);
        // A bad starting frame is never read or landed in.
        for (sp, fp) in [(0x28, 0x20), (0x08, 0x24), (0x08, 0x68), (0x08, 0x70)] {
            let start = Frame {
                ret: 0x1234,
                sp: s.at(sp),
                fp: s.at(fp),
            };
            assert_eq!(walk_on(&s, start), None, "sp {sp:#x} fp {fp:#x}");
        }
    }

    #[test]
    fn handles_are_checked() {
        let tag = Arc::new(Tag {
            ty: TypeIdentity::alone(WasmFuncType {
                params: vec![pcc::ValType::I64],
                results: vec![],
            }),
        });
        let h = new_exception(tag.clone(), vec![5].into_boxed_slice()).expect("room");
        assert!(is_exception(h));
        assert_eq!(with_exception(h, |e| e.payload[0]), Some(5));
        assert!(!is_exception(0), "null");
        assert!(!is_exception(h & 0xFFFF_FFFF), "without its check");
        assert!(!is_exception(h ^ (1 << 40)), "a wrong check");
        assert!(!is_exception(h & !0xFFFF_FFFF), "index 0");
        assert!(
            !is_exception((h & !0xFFFF_FFFF) | 0xFFFF_FFFF),
            "out of range"
        );
        let h2 = new_exception(tag, vec![6].into_boxed_slice()).expect("room");
        assert_ne!(h, h2);
        assert_eq!(with_exception(h, |e| e.payload[0]), Some(5));
        assert_eq!(with_exception(h2, |e| e.payload[0]), Some(6));
    }

    #[test]
    fn builtins_outside_compiled_code_are_refused() {
        // No entry, no live instance: every builtin refuses without acting.
        let mut fake = [0u64; 16];
        let mut slots = [0u64; 2];
        let v = fake.as_mut_ptr();
        unsafe {
            assert_eq!(pccc_throw(v, 0, slots.as_ptr()), TrapCode::HostTrap as u32);
            assert_eq!(pccc_throw_ref(v, 0), TrapCode::HostTrap as u32);
            assert_eq!(pccc_exn_catch(v, 1, 0, slots.as_mut_ptr()), 0);
        }
        assert_eq!(exn_landed(v), 0);
    }
}
