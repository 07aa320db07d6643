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
pub const KNOWN_FAILURES: &[Known] = &[
    // (empty) The bounds-checked far-static-offset false reject
    // (bounds-checked-far-static-offset.wat) was fixed by compiling an
    // access that can never fit the reservation to its trap; its module
    // now has to agree like every other.
];

pub fn known(f: &Finding) -> Option<&'static Known> {
    KNOWN_FAILURES
        .iter()
        .find(|k| k.strategy == f.strategy && k.class == f.class && (k.detail)(&f.detail))
}
