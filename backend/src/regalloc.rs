//! regalloc2 glue: the machine environment and the call.

use regalloc2::{MachineEnv, Output, PRegSet, RegallocOptions};

use crate::vcode::{preg, xreg, VCode};

/// Allocatable integer registers: everything but rsp, rbp and the pinned
/// r14 (vmctx) and r15 (heap base). Every SSE register is allocatable.
const ALLOCATABLE: [u8; 12] = [0, 1, 2, 6, 7, 8, 9, 10, 11, 3, 12, 13];

pub fn machine_env() -> MachineEnv {
    let mut int = PRegSet::empty();
    for hw in ALLOCATABLE {
        int.add(preg(hw));
    }
    let mut float = PRegSet::empty();
    for hw in 0..16 {
        float.add(xreg(hw));
    }
    MachineEnv {
        preferred_regs_by_class: [int, float, PRegSet::empty()],
        non_preferred_regs_by_class: [PRegSet::empty(); 3],
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
