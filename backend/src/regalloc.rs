//! regalloc2 glue: the machine environment and the call.

use regalloc2::{MachineEnv, Output, PRegSet, RegallocOptions};

use crate::vcode::{preg, xreg, VCode};

/// Integer registers regalloc2 tries first: the caller-saved ones, which
/// cost nothing to use. The callee-saved ones (rbx, r12, r13) come second,
/// as Cranelift orders them: a function that uses one saves and restores it,
/// and values live across calls go there instead of to spill slots. rsp,
/// rbp and the pinned r14 (vmctx) and r15 (heap base) are never allocated.
/// Every SSE register is allocatable (and caller-saved).
pub fn machine_env() -> MachineEnv {
    let mut int = PRegSet::empty();
    for r in pcc::vmctx::CALLER_SAVED_GPRS {
        int.add(preg(r.0));
    }
    let mut callee = PRegSet::empty();
    for r in pcc::vmctx::CALLEE_SAVED_GPRS {
        callee.add(preg(r.0));
    }
    let mut float = PRegSet::empty();
    for hw in 0..16 {
        float.add(xreg(hw));
    }
    MachineEnv {
        preferred_regs_by_class: [int, float, PRegSet::empty()],
        non_preferred_regs_by_class: [callee, PRegSet::empty(), PRegSet::empty()],
        scratch_by_class: [None; 3],
        fixed_stack_slots: vec![],
    }
}

pub fn allocate(vcode: &VCode) -> Result<Output, regalloc2::RegAllocError> {
    let opts = RegallocOptions {
        verbose_log: false,
        validate_ssa: cfg!(debug_assertions),
        algorithm: regalloc2::Algorithm::Ion,
    };
    regalloc2::run(vcode, &machine_env(), &opts)
}
