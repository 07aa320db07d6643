//! The runtime's fault handlers share the process: a fault that is not a
//! trap of compiled code goes to the handler installed before them (a
//! host's own, e.g. another engine's), not to the default action. Its own
//! test binary, as signal handlers are process-wide.

use std::sync::atomic::{AtomicUsize, Ordering};

use backend::CompileOptions;
use pcc::TrapCode;
use runtime::{Instance, Linker, Module, RunError};

static HOST_FAULTS: AtomicUsize = AtomicUsize::new(0);

/// The host's SIGILL handler: steps over a `ud2` of its own.
extern "C" fn host_handler(_: libc::c_int, _: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    unsafe {
        let uc = ctx as *mut libc::ucontext_t;
        let rip = &mut (*uc).uc_mcontext.gregs[libc::REG_RIP as usize];
        if *(*rip as *const [u8; 2]) == [0x0f, 0x0b] {
            *rip += 2;
            HOST_FAULTS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn wasm_trap(module: &Module) {
    let inst = Instance::new(module, &Linker::new()).expect("instantiate");
    match inst.invoke("f", &[]) {
        Err(RunError::Trap(TrapCode::Unreachable)) => {}
        other => panic!("expected the unreachable trap, got {other:?}"),
    }
}

#[test]
fn a_hosts_own_faults_reach_its_handler() {
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = host_handler as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGILL, &sa, std::ptr::null_mut());
    }
    let wasm = wat::parse_str(r#"(module (func (export "f") unreachable))"#).unwrap();
    let art = pccc::compile_bytes(&wasm, &CompileOptions::default()).unwrap();
    let module = Module::from_artifact(&art.to_elf()).unwrap();
    // The runtime installs its handlers on the first call, over the host's.
    wasm_trap(&module);
    // A `ud2` outside compiled code: the host's handler steps over it.
    unsafe { std::arch::asm!("ud2") };
    assert_eq!(HOST_FAULTS.load(Ordering::SeqCst), 1);
    // And compiled code's traps are still the runtime's.
    wasm_trap(&module);
    assert_eq!(HOST_FAULTS.load(Ordering::SeqCst), 1);
}
