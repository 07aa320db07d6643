//! KNOWN FAILURES: bugs in pccc (not in the fuzzer) that the fuzzer found
//! and that are not fixed yet. They are excluded from the pass requirement
//! of `tests/fuzz_differential.rs`, for the reason given, and reported by
//! every run (the long run marks its findings known or new).

use super::outcome::{Class, Finding};

/// A bug the fuzzer found that is not fixed yet: excluded from the pass
/// requirement, for the reason given, and reported by every run. A row
/// matches its regression module by file name, and findings of the seeded
/// run by strategy, class and `detail` (a test of the finding's detail).
pub struct Known {
    pub regression: &'static str,
    pub strategy: &'static str,
    pub class: Class,
    pub detail: fn(&str) -> bool,
    pub reason: &'static str,
}

/// KNOWN FAILURES: bugs in pccc (not in the fuzzer) the fuzzer found,
/// recorded here until they are fixed; each has its minimized module in
/// tests/fuzz-regressions/. A row whose module agrees is reported as fixed.
pub const KNOWN_FAILURES: &[Known] = &[Known {
    regression: "bounds-checked-far-static-offset.wat",
    strategy: "bounds-checked",
    class: Class::FalseReject,
    detail: far_static_offset,
    reason: "issue 10: a static offset past the 256 MiB bounds-checked reservation that fits \
             a 32-bit displacement stays in the instruction while the claim says index in \
             [0,0]; the validator cannot prove it (the access can only trap)",
}];

/// The far-offset false reject: the rejected access's displacement is
/// past the bounds-checked reservation and fits a signed 32-bit one.
pub fn far_static_offset(detail: &str) -> bool {
    // `mov eax,[r15+rdi+10000000h]`: the memory operand's last term.
    let displacement = detail
        .split('[')
        .nth(1)
        .and_then(|d| d.split(']').next())
        .and_then(|d| d.rsplit('+').next())
        .and_then(|hex| u64::from_str_radix(hex.trim_end_matches('h'), 16).ok());
    detail.starts_with("heap access not proved inside the sandbox")
        && displacement.is_some_and(|d| (0x0fff_fff0..=0x7fff_ffff).contains(&d))
}

pub fn known(f: &Finding) -> Option<&'static Known> {
    KNOWN_FAILURES
        .iter()
        .find(|k| k.strategy == f.strategy && k.class == f.class && (k.detail)(&f.detail))
}
