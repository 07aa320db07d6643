//! Turning faults in compiled code into traps. The handler only acts when
//! the faulting pc lies in registered compiled code and the fault is one a
//! trap explains (a listed `ud2`, an access inside a heap reservation or the
//! wasm stack's guard); anything else goes to the handler that was there
//! before (a host's own, e.g. another engine's), or to the default action.

use std::sync::{Once, OnceLock, RwLock};

use pcc::TrapCode;

use crate::entry::{pccc_trap_landing, INNERMOST};

pub struct CodeRange {
    pub start: usize,
    pub end: usize,
    /// Absolute addresses of `ud2` trap sites with their codes, sorted.
    pub traps: Vec<(usize, TrapCode)>,
    /// Absolute (return address, landing) of the exception sites, sorted.
    pub exn: Vec<(usize, usize)>,
}

/// Registered compiled code and heap/stack-guard ranges.
pub static CODE: RwLock<Vec<CodeRange>> = RwLock::new(Vec::new());
pub static HEAPS: RwLock<Vec<(usize, usize)>> = RwLock::new(Vec::new());
pub static STACK_GUARDS: RwLock<Vec<(usize, usize)>> = RwLock::new(Vec::new());

static INSTALL: Once = Once::new();

const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// The handlers installed before ours, by `SIGNALS` index (set once, before
/// ours is installed, so the handler only ever reads them).
static PREVIOUS: [OnceLock<libc::sigaction>; 4] = [const { OnceLock::new() }; 4];

pub fn ensure_installed() {
    INSTALL.call_once(|| unsafe {
        for (i, sig) in SIGNALS.into_iter().enumerate() {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut old);
            let _ = PREVIOUS[i].set(old);
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    });
    ensure_altstack();
}

/// A fault that is not a trap of ours: the previous handler's, if there was
/// one; else the default action, which happens when the faulting
/// instruction runs again on return.
unsafe fn not_ours(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let prev = SIGNALS
        .iter()
        .position(|&s| s == sig)
        .and_then(|i| PREVIOUS[i].get());
    match prev {
        Some(sa) if sa.sa_sigaction != libc::SIG_DFL && sa.sa_sigaction != libc::SIG_IGN => {
            if sa.sa_flags & libc::SA_SIGINFO != 0 {
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    std::mem::transmute(sa.sa_sigaction);
                f(sig, info, ctx)
            } else {
                let f: extern "C" fn(libc::c_int) = std::mem::transmute(sa.sa_sigaction);
                f(sig)
            }
        }
        // Ignoring a fault would run the instruction forever.
        _ => {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
}

thread_local! {
    static ALTSTACK: std::cell::RefCell<Option<AltStack>> = const { std::cell::RefCell::new(None) };
}

/// A thread's alternate signal stack, disabled and unmapped when the thread
/// exits (otherwise every thread that ran wasm leaks a mapping).
struct AltStack {
    mem: *mut libc::c_void,
    size: usize,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        unsafe {
            let off = libc::stack_t {
                ss_sp: std::ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            libc::sigaltstack(&off, std::ptr::null_mut());
            libc::munmap(self.mem, self.size);
        }
    }
}

/// Each thread that runs wasm needs an alternate signal stack: a stack
/// overflow fault cannot be handled on the stack that overflowed.
fn ensure_altstack() {
    ALTSTACK.with(|alt| {
        if alt.borrow().is_some() {
            return;
        }
        const SIZE: usize = 256 * 1024;
        unsafe {
            let mem = libc::mmap(
                std::ptr::null_mut(),
                SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if mem == libc::MAP_FAILED {
                return;
            }
            let ss = libc::stack_t {
                ss_sp: mem,
                ss_flags: 0,
                ss_size: SIZE,
            };
            libc::sigaltstack(&ss, std::ptr::null_mut());
            *alt.borrow_mut() = Some(AltStack { mem, size: SIZE });
        }
    });
}

fn classify(sig: i32, pc: usize, addr: usize) -> Option<TrapCode> {
    let code = CODE.read().ok()?;
    let range = code.iter().find(|r| r.start <= pc && pc < r.end)?;
    match sig {
        libc::SIGILL => range
            .traps
            .binary_search_by_key(&pc, |t| t.0)
            .ok()
            .map(|i| range.traps[i].1),
        libc::SIGFPE => Some(TrapCode::IntegerDivisionByZero),
        _ => {
            let in_any = |v: &RwLock<Vec<(usize, usize)>>| {
                v.read()
                    .map(|v| v.iter().any(|&(s, e)| s <= addr && addr < e))
                    .unwrap_or(false)
            };
            if in_any(&HEAPS) {
                Some(TrapCode::HeapOutOfBounds)
            } else if in_any(&STACK_GUARDS) {
                Some(TrapCode::StackOverflow)
            } else {
                None
            }
        }
    }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    unsafe {
        let uc = ctx as *mut libc::ucontext_t;
        let gregs = &mut (*uc).uc_mcontext.gregs;
        let pc = gregs[libc::REG_RIP as usize] as usize;
        let addr = (*info).si_addr() as usize;
        let frame = INNERMOST.with(|c| c.get());
        if !frame.is_null() {
            if let Some(code) = classify(sig, pc, addr) {
                gregs[libc::REG_RSP as usize] = (*frame).saved_rsp as i64;
                gregs[libc::REG_RIP as usize] = pccc_trap_landing as *const () as i64;
                gregs[libc::REG_RAX as usize] = code as u32 as i64;
                return;
            }
        }
        not_ours(sig, info, ctx);
    }
}
