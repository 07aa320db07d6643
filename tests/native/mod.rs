//! Native execution harness: runs a snippet of raw x86-64 code on the real CPU
//! with chosen register, flag, xmm and stack-frame contents, and reports what
//! the snippet left behind. Used to test the validator's instruction semantics
//! against the hardware ("Soundness is tested against the CPU", DESIGN.md).
//!
//! Use from an integration test with `mod native;`, then
//! [`run`]`(code, &inputs)`.
//!
//! How it works: [`run`] builds a trampoline (prologue, the snippet bytes,
//! epilogue) with iced-x86's `CodeAssembler` in an mmap'd page, then forks a
//! child process that runs every input in turn and writes each result into a
//! `MAP_SHARED` mapping, together with the index of the input it is running.
//! A child killed by a signal (SIGFPE, SIGSEGV, SIGILL, ... or SIGALRM when the
//! per-input alarm fires) gives `Outcome::Fault(signal)` for the input it was
//! running, and a new child continues the batch from the next input. The
//! parent always `waitpid`s its child, so no zombies are left.
//!
//! The trampoline relies on no general-purpose register surviving the
//! snippet: the prologue loads every GPR from absolute addresses (embedded as
//! 64-bit immediates), and the epilogue stores `rax` with a `mov [moffs64],
//! rax` first and then uses `rax` to store the others, `rsp` included, before
//! switching back to the host stack.
//!
//! What a snippet may rely on: rsp = `frame[0]`, 16-byte aligned, with
//! [`BELOW_FRAME`] bytes of writable memory below and [`ABOVE_FRAME`] from it
//! up; DF, TF and AC clear; MXCSR = 0x1f80. Memory outside the frame is not
//! reported and not reset between inputs run by the same child. The snippet is
//! copied to an unspecified address, so it must be position independent.
//!
//! Cost: one fork per batch plus one per faulting input (about 0.4 ms each
//! here); a hang costs [`TIMEOUT_SECS`].
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]
#![allow(dead_code)]

use iced_x86::code_asm::*;
use std::mem::{offset_of, size_of, size_of_val};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

/// Carry flag (bit 0 of RFLAGS).
pub const CF: u64 = 1 << 0;
/// Parity flag.
pub const PF: u64 = 1 << 2;
/// Auxiliary-carry flag.
pub const AF: u64 = 1 << 4;
/// Zero flag.
pub const ZF: u64 = 1 << 6;
/// Sign flag.
pub const SF: u64 = 1 << 7;
/// Overflow flag.
pub const OF: u64 = 1 << 11;
/// The six arithmetic flags: the only RFLAGS bits loaded and reported.
pub const FLAGS_MASK: u64 = CF | PF | AF | ZF | SF | OF;

/// Number of 8-byte words in [`Machine::frame`].
pub const FRAME_WORDS: usize = 32;
/// Each input gets this many seconds of wall-clock time (via `alarm`) before
/// it counts as a hang: `Outcome::Fault(HANG_SIGNAL)`.
pub const TIMEOUT_SECS: u32 = 2;
/// The signal reported for a snippet that did not finish within
/// [`TIMEOUT_SECS`].
pub const HANG_SIGNAL: i32 = libc::SIGALRM;
/// Bytes of writable memory below `frame[0]` (a snippet may push or store at
/// negative offsets from `rsp` down to this far) ...
pub const BELOW_FRAME: usize = 32 * 1024;
/// ... and above it (counting the frame itself).
pub const ABOVE_FRAME: usize = 32 * 1024;

/// Machine state around one snippet of code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Machine {
    /// rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15 (iced/hardware
    /// order). On input, `gpr[4]` (rsp) is ignored: the snippet runs with
    /// rsp = address of `frame[0]`. On output `gpr[4]` is
    /// `rsp - address of frame[0]` (wrapping), so 0 means rsp unchanged and
    /// `(-8i64) as u64` means one more push than pop.
    pub gpr: [u64; 16],
    /// Input: the arithmetic flags to load ([`FLAGS_MASK`]: CF, PF, AF, ZF,
    /// SF, OF; other bits are ignored). Output: RFLAGS after the snippet,
    /// masked to the same six bits.
    pub rflags: u64,
    /// xmm0..xmm15, loaded before and stored after the snippet. (MXCSR is
    /// reset to its default 0x1f80 before each input; it is not reported.)
    pub xmm: [u128; 16],
    /// The memory at `[rsp, rsp + 256)` when the snippet starts; on output,
    /// what that same memory holds after it (not relative to the final rsp).
    pub frame: [u64; FRAME_WORDS],
}

/// What one input did.
// Ok is large, but outcomes live in a Vec and boxing would cost an allocation
// per input and a clumsier match.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The snippet ran to its end; the state it left.
    Ok(Machine),
    /// The snippet's process died on this signal: e.g. `libc::SIGFPE` for a
    /// division by zero, `libc::SIGSEGV` for a bad access, `libc::SIGILL`,
    /// or [`HANG_SIGNAL`] (SIGALRM) for a snippet that ran longer than
    /// [`TIMEOUT_SECS`]. `Fault(0)` means the process exited without a
    /// signal in the middle of the snippet (an `exit` syscall).
    Fault(i32),
}

impl Outcome {
    /// The machine state, panicking on a fault.
    #[track_caller]
    pub fn unwrap(self) -> Machine {
        match self {
            Outcome::Ok(m) => m,
            Outcome::Fault(sig) => panic!("snippet faulted with signal {sig}"),
        }
    }
}

/// Run `code` (raw x86-64 bytes, position independent, must fall through its
/// end) once per input, in a forked child process; one result per input, in
/// order. See the module documentation for how faults and hangs show.
///
/// Panics if the harness itself fails (mmap, fork, waitpid, assembling).
pub fn run(code: &[u8], inputs: &[Machine]) -> Vec<Outcome> {
    if inputs.is_empty() {
        return vec![];
    }
    let work = Mapping::new(WORK_SIZE, libc::MAP_PRIVATE);
    let state = work.addr as *mut State;
    let frame = work.addr + STATE_SIZE + BELOW_FRAME;
    let tramp = trampoline(code, state as u64, frame as u64);
    let text = Mapping::new(round_up(tramp.len()), libc::MAP_PRIVATE);
    // SAFETY: `text` is a fresh writable mapping at least tramp.len() long;
    // afterwards it becomes read+execute only.
    unsafe {
        ptr::copy_nonoverlapping(tramp.as_ptr(), text.addr as *mut u8, tramp.len());
        assert_eq!(
            libc::mprotect(
                text.addr as *mut _,
                text.len,
                libc::PROT_READ | libc::PROT_EXEC
            ),
            0,
            "mprotect: {}",
            std::io::Error::last_os_error()
        );
    }
    let n = inputs.len();
    let shared = Mapping::new(
        round_up(size_of::<Shared>() + size_of_val(inputs)),
        libc::MAP_SHARED,
    );
    // SAFETY: the mapping is zeroed, large and aligned enough (page aligned)
    // for the header followed by `n` Machines (size a multiple of 16).
    let progress = unsafe { &*(shared.addr as *const AtomicU64) };
    let outputs = (shared.addr + size_of::<Shared>()) as *mut Machine;

    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let start = out.len();
        progress.store(start as u64, Ordering::SeqCst);
        // SAFETY: the child only touches memory already mapped, makes
        // async-signal-safe calls, and never returns (it ends in _exit).
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            // SAFETY: see above.
            unsafe {
                child(
                    text.addr,
                    state,
                    frame as *mut u64,
                    inputs,
                    start,
                    progress,
                    outputs,
                )
            }
        }
        let status = wait(pid);
        let reached = progress.load(Ordering::SeqCst) as usize;
        let (finished, fault) = if libc::WIFSIGNALED(status) {
            (reached, Some(libc::WTERMSIG(status)))
        } else if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 && reached == n {
            (n, None)
        } else {
            (reached, Some(0))
        };
        assert!(
            start <= finished && finished <= n,
            "child reported progress {finished}"
        );
        for k in start..finished {
            // SAFETY: the child wrote outputs[k] before moving progress past k.
            out.push(Outcome::Ok(unsafe { ptr::read(outputs.add(k)) }));
        }
        if let Some(sig) = fault {
            assert!(
                finished < n,
                "child ended with status {status:#x} after the last input"
            );
            out.push(Outcome::Fault(sig));
        }
    }
    out
}

/// The snippet's view of memory: the trampoline reads and writes here
/// through absolute addresses.
#[repr(C, align(64))]
struct State {
    in_gpr: [u64; 16],
    in_rflags: u64,
    out_gpr: [u64; 16],
    out_rflags: u64,
    host_rsp: u64,
    in_mxcsr: u32,
    host_mxcsr: u32,
    in_xmm: [u128; 16],
    out_xmm: [u128; 16],
}

/// The header of the shared mapping: the index of the input the child is
/// running (n once it finished them all); the outputs follow.
#[repr(C, align(16))]
struct Shared {
    progress: AtomicU64,
}

const PAGE: usize = 4096;
const STATE_SIZE: usize = size_of::<State>().div_ceil(PAGE) * PAGE;
/// State, then the stack: BELOW_FRAME bytes, frame[0] at its end, ABOVE_FRAME.
const WORK_SIZE: usize = STATE_SIZE + BELOW_FRAME + ABOVE_FRAME;
/// RFLAGS bits always set when loading flags: bit 1 (reserved, always 1)
/// and IF (which user mode cannot change anyway).
const RFLAGS_FIXED: u64 = 0x202;
const MXCSR_DEFAULT: u32 = 0x1f80;

fn round_up(len: usize) -> usize {
    len.max(1).div_ceil(PAGE) * PAGE
}

/// An anonymous read+write mapping, unmapped on drop.
struct Mapping {
    addr: usize,
    len: usize,
}

impl Mapping {
    fn new(len: usize, kind: libc::c_int) -> Mapping {
        // SAFETY: a fresh anonymous mapping; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                kind | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(
            p != libc::MAP_FAILED,
            "mmap: {}",
            std::io::Error::last_os_error()
        );
        Mapping {
            addr: p as usize,
            len,
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: we own the mapping and nothing refers to it any more.
        unsafe { libc::munmap(self.addr as *mut _, self.len) };
    }
}

/// Wait for `pid` to terminate; its wait status.
fn wait(pid: libc::pid_t) -> libc::c_int {
    let mut status = 0;
    loop {
        // SAFETY: plain syscall on our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return status;
        }
        let err = std::io::Error::last_os_error();
        assert_eq!(err.raw_os_error(), Some(libc::EINTR), "waitpid: {err}");
    }
}

/// The child: run inputs[start..] and _exit. Only async-signal-safe calls
/// and plain memory copies (no allocation, no locks): the parent may have
/// other threads.
unsafe fn child(
    text: usize,
    state: *mut State,
    frame: *mut u64,
    inputs: &[Machine],
    start: usize,
    progress: &AtomicU64,
    outputs: *mut Machine,
) -> ! {
    // Die (without a core dump) on the signals a snippet can raise, even if
    // the parent ignores, blocks or handles them.
    libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    for sig in [
        libc::SIGFPE,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGTRAP,
        libc::SIGALRM,
    ] {
        libc::signal(sig, libc::SIG_DFL);
    }
    let mut none: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut none);
    libc::sigprocmask(libc::SIG_SETMASK, &none, ptr::null_mut());

    let enter: extern "sysv64" fn() = std::mem::transmute(text);
    let s = &mut *state;
    s.in_mxcsr = MXCSR_DEFAULT;
    for (k, input) in inputs.iter().enumerate().skip(start) {
        progress.store(k as u64, Ordering::SeqCst);
        s.in_gpr = input.gpr;
        s.in_rflags = input.rflags & FLAGS_MASK | RFLAGS_FIXED;
        s.in_xmm = input.xmm;
        ptr::copy_nonoverlapping(input.frame.as_ptr(), frame, FRAME_WORDS);
        libc::alarm(TIMEOUT_SECS);
        enter();
        libc::alarm(0);
        let mut gpr = s.out_gpr;
        gpr[4] = gpr[4].wrapping_sub(frame as u64);
        let mut m = Machine {
            gpr,
            rflags: s.out_rflags & FLAGS_MASK,
            xmm: s.out_xmm,
            frame: [0; FRAME_WORDS],
        };
        ptr::copy_nonoverlapping(frame, m.frame.as_mut_ptr(), FRAME_WORDS);
        ptr::write(outputs.add(k), m);
    }
    progress.store(inputs.len() as u64, Ordering::SeqCst);
    libc::_exit(0)
}

/// The GPRs in hardware order (index = register number).
const GPRS: [AsmRegister64; 16] = [
    rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15,
];
const XMMS: [AsmRegisterXmm; 16] = [
    xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14,
    xmm15,
];
/// Callee-saved registers of the host (SysV), saved by the prologue.
const HOST_SAVED: [AsmRegister64; 6] = [rbx, rbp, r12, r13, r14, r15];

/// The bytes of `extern "sysv64" fn()` that loads the input from the State at
/// `state`, runs `code` with rsp = `frame`, and stores the output there.
fn trampoline(code: &[u8], state: u64, frame: u64) -> Vec<u8> {
    let at = |offset: usize| state + offset as u64;
    let gpr_in = |i: usize| at(offset_of!(State, in_gpr) + 8 * i);
    let gpr_out = |i: usize| at(offset_of!(State, out_gpr) + 8 * i);
    let build = || -> Result<Vec<u8>, IcedError> {
        let mut a = CodeAssembler::new(64)?;
        // Prologue, on the host stack: save the host's callee-saved
        // registers, rsp and MXCSR; load MXCSR and xmm.
        for r in HOST_SAVED {
            a.push(r)?;
        }
        a.mov(rax, rsp)?;
        a.mov(qword_ptr(at(offset_of!(State, host_rsp))), rax)?; // mov [moffs64], rax
        a.mov(rax, at(offset_of!(State, host_mxcsr)))?;
        a.stmxcsr(dword_ptr(rax))?;
        a.mov(rax, at(offset_of!(State, in_mxcsr)))?;
        a.ldmxcsr(dword_ptr(rax))?;
        a.mov(rax, at(offset_of!(State, in_xmm)))?;
        for (i, x) in XMMS.into_iter().enumerate() {
            a.movdqu(x, xmmword_ptr(rax + 16 * i as i32))?;
        }
        // Flags last among what needs a stack; nothing after this writes
        // flags (mov does not).
        a.mov(rax, qword_ptr(at(offset_of!(State, in_rflags))))?; // mov rax, [moffs64]
        a.push(rax)?;
        a.popfq()?;
        a.mov(rsp, frame)?;
        for (i, r) in GPRS.into_iter().enumerate() {
            if i != 0 && i != 4 {
                a.mov(rax, qword_ptr(gpr_in(i)))?;
                a.mov(r, rax)?;
            }
        }
        a.mov(rax, qword_ptr(gpr_in(0)))?;
        // The snippet.
        a.db(code)?;
        // Epilogue: rax first (moffs form needs no other register), then the
        // others through rax; flags are untouched until pushfq.
        a.mov(qword_ptr(gpr_out(0)), rax)?;
        for (i, r) in GPRS.into_iter().enumerate().skip(1) {
            a.mov(rax, r)?;
            a.mov(qword_ptr(gpr_out(i)), rax)?;
        }
        a.mov(rax, qword_ptr(at(offset_of!(State, host_rsp))))?;
        a.mov(rsp, rax)?;
        a.pushfq()?;
        a.pop(rax)?;
        a.mov(qword_ptr(at(offset_of!(State, out_rflags))), rax)?;
        // Sane flags for the host (DF, AC, TF clear).
        a.push(RFLAGS_FIXED as i32)?;
        a.popfq()?;
        a.mov(rax, at(offset_of!(State, out_xmm)))?;
        for (i, x) in XMMS.into_iter().enumerate() {
            a.movdqu(xmmword_ptr(rax + 16 * i as i32), x)?;
        }
        a.mov(rax, at(offset_of!(State, host_mxcsr)))?;
        a.ldmxcsr(dword_ptr(rax))?;
        for r in HOST_SAVED.into_iter().rev() {
            a.pop(r)?;
        }
        a.ret()?;
        // No relative branches or rip-relative operands: the bytes do not
        // depend on the address.
        a.assemble(0)
    };
    build().expect("assembling the trampoline")
}
