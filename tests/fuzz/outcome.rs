//! The outcome classes, and the tally of a run.

use std::collections::BTreeMap;

/// A module's class under one heap strategy: the worst of its invocations'
/// (the order below, later is worse), or a class of its own when pccc did
/// not get as far as running it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    Agree,
    Skipped,
    Unsupported,
    Timeout,
    TrapMismatch,
    ResultMismatch,
    FalseReject,
    Crash,
}

/// Each class: its name in reports, whether it is a finding (fails the
/// short run unless known), and what it means.
pub const CLASSES: &[(Class, &str, bool, &str)] = &[
    (
        Class::Agree,
        "agree",
        false,
        "every invocation agrees with the reference",
    ),
    (
        Class::Skipped,
        "skipped",
        false,
        "the reference could not judge it (out of fuel, no module)",
    ),
    (
        Class::Unsupported,
        "unsupported",
        false,
        "pccc refuses a feature, saying it is unsupported",
    ),
    (
        Class::Timeout,
        "timeout",
        true,
        "pccc ran past its deadline",
    ),
    (
        Class::TrapMismatch,
        "trap mismatch",
        true,
        "one trapped and the other did not, or other trap kinds",
    ),
    (
        Class::ResultMismatch,
        "result mismatch",
        true,
        "both returned, with different values",
    ),
    (
        Class::FalseReject,
        "false reject",
        true,
        "the validator rejected pccc's artifact of a valid module",
    ),
    (
        Class::Crash,
        "crash",
        true,
        "a panic, or an error that is neither a trap nor a refusal",
    ),
];

impl Class {
    fn row(self) -> &'static (Class, &'static str, bool, &'static str) {
        CLASSES
            .iter()
            .find(|r| r.0 == self)
            .expect("every class has a row")
    }
    pub fn name(self) -> &'static str {
        self.row().1
    }
    pub fn is_finding(self) -> bool {
        self.row().2
    }
}

/// One module that is a finding.
#[derive(Clone, Debug)]
pub struct Finding {
    pub index: u64,
    pub strategy: &'static str,
    pub class: Class,
    pub detail: String,
    pub wasm: Vec<u8>,
}

/// Counts per (strategy, class), invocations, and the findings.
#[derive(Default, Debug)]
pub struct Tally {
    pub modules: u64,
    pub counts: BTreeMap<(&'static str, Class), u64>,
    pub invocations: u64,
    pub findings: Vec<Finding>,
    /// Why modules were skipped or unsupported: (strategy, class, signature).
    pub notes: BTreeMap<(&'static str, Class, String), u64>,
    /// What the reference's invocations did: returned, or which trap.
    pub reference: BTreeMap<String, u64>,
}

impl Tally {
    pub fn add(&mut self, strategy: &'static str, class: Class) {
        *self.counts.entry((strategy, class)).or_default() += 1;
    }

    pub fn count(&self, strategy: &'static str, class: Class) -> u64 {
        self.counts.get(&(strategy, class)).copied().unwrap_or(0)
    }

    pub fn merge(&mut self, other: Tally) {
        self.modules += other.modules;
        self.invocations += other.invocations;
        for (k, v) in other.counts {
            *self.counts.entry(k).or_default() += v;
        }
        self.findings.extend(other.findings);
        for (k, v) in other.notes {
            *self.notes.entry(k).or_default() += v;
        }
        for (k, v) in other.reference {
            *self.reference.entry(k).or_default() += v;
        }
    }

    /// One line per strategy: every class and its count.
    pub fn table(&self, strategies: &[&'static str]) -> String {
        let mut out = format!("{:<16}", "strategy");
        for (_, name, _, _) in CLASSES {
            out += &format!("{name:>17}");
        }
        for s in strategies {
            out += &format!("\n{s:<16}");
            for (class, _, _, _) in CLASSES {
                out += &format!("{:>17}", self.count(s, *class));
            }
        }
        out
    }
}
