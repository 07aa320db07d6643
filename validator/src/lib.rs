//! pccc's independent validator: decodes an artifact's final machine code
//! and proves every heap access sandboxed. It depends on `pcc` only — never
//! on the frontend or backend — so a compiler bug cannot be shared with the
//! checker; `tests/dependency_rule.rs` enforces that.
//!
//! Stages: `check` decodes each function (iced-x86), builds its blocks from
//! the decoded branches, re-derives register and frame-slot facts with a
//! transfer function per instruction, checks every claim of the artifact's
//! fact table and classifies every memory operand; `obligation` turns heap
//! accesses into 64-bit bit-vector obligations and proves them with z3.

mod check;
pub mod obligation;
pub mod semantics;
pub mod state;

use std::time::{Duration, Instant};

pub use check::{AccessCounts, Failure, Recorded};
pub use obligation::{Counterexample, Obligation, Prover};
use pcc::{ArtifactError, ArtifactFile};

/// The validator's verdict on one artifact.
#[derive(Clone, Debug)]
pub struct Report {
    pub functions: usize,
    pub accesses: AccessCounts,
    pub obligations: u32,
    pub distinct_shapes: usize,
    pub z3_calls: u32,
    pub elapsed: Duration,
    /// Empty: accepted.
    pub failures: Vec<Failure>,
}

impl Report {
    pub fn accepted(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Validate an artifact's bytes. `Err` is input that is not a readable
/// artifact at all; a readable artifact that fails a check is a report with
/// failures.
pub fn verify(bytes: &[u8]) -> Result<Report, ArtifactError> {
    let art = ArtifactFile::parse(bytes)?;
    Ok(verify_parsed(&art))
}

pub fn verify_parsed(art: &ArtifactFile) -> Report {
    verify_with(art, &mut Prover::default())
}

/// Validate with a prover that may already know some shapes (obligations
/// depend on nothing but their shape), so checking many artifacts — the
/// mutation tests' thousands of mutants — asks z3 once per shape overall.
/// The report's `z3_calls` are this artifact's.
pub fn verify_with(art: &ArtifactFile, prover: &mut Prover) -> Report {
    run(art, prover, false).0
}

/// Validate and return every heap obligation, in function and access order.
pub fn obligations(art: &ArtifactFile) -> (Report, Vec<Recorded>) {
    let (report, recorded) = run(art, &mut Prover::default(), true);
    (report, recorded.unwrap_or_default())
}

/// Validate; with `record`, also collect every heap obligation.
fn run(art: &ArtifactFile, prover: &mut Prover, record: bool) -> (Report, Option<Vec<Recorded>>) {
    let start = Instant::now();
    let calls_before = prover.z3_calls;
    let mut checker = check::Checker {
        prover,
        counts: AccessCounts::default(),
        obligations: 0,
        shapes: Default::default(),
        record: record.then(Vec::new),
        trace: std::env::var("PCCC_TRACE_FUNCTION").ok(),
    };
    let failures = checker.check(art);
    let report = Report {
        functions: art.meta.funcs.len(),
        accesses: checker.counts,
        obligations: checker.obligations,
        distinct_shapes: checker.shapes.len(),
        z3_calls: checker.prover.z3_calls - calls_before,
        elapsed: start.elapsed(),
        failures,
    };
    (report, checker.record)
}
