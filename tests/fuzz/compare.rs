//! The comparison: one invocation's outcome in the reference (wasmi) and in
//! pccc, judged bit-exactly, with NaNs and traps compared as the spec allows.

use super::outcome::Class;
use pcc::TrapCode as Pccc;
use wasmi::TrapCode as Wasmi;

/// A value either engine returned, in one form both convert to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    FuncRef {
        null: bool,
    },
    ExternRef {
        null: bool,
    },
    V128(u128),
    /// Only from pccc (wasmi has no exception handling): by nullness, as
    /// handles differ from run to run.
    ExnRef {
        null: bool,
    },
}

/// What one invocation did (instantiation included: a fresh instance per
/// call, so a trap in a segment or the start function is the call's trap).
#[derive(Clone, Debug)]
pub enum Exec<Trap> {
    Values(Vec<Value>),
    Trap(Trap),
    /// The engine ran out of fuel or time.
    Exhausted,
    /// Anything else: an error that is not a trap, or a panic.
    Error(String),
}

/// Which of pccc's trap codes each of wasmi's may correspond to. wasmi has
/// one code for every table bounds failure; pccc tells call_indirect
/// (`TableOutOfBounds`) from table.get/set/copy/init (`TableAccessOutOfBounds`).
pub const TRAPS: &[(Wasmi, &[Pccc])] = &[
    (Wasmi::UnreachableCodeReached, &[Pccc::Unreachable]),
    (Wasmi::MemoryOutOfBounds, &[Pccc::HeapOutOfBounds]),
    (
        Wasmi::TableOutOfBounds,
        &[Pccc::TableOutOfBounds, Pccc::TableAccessOutOfBounds],
    ),
    (Wasmi::IndirectCallToNull, &[Pccc::IndirectCallToNull]),
    (Wasmi::IntegerDivisionByZero, &[Pccc::IntegerDivisionByZero]),
    (Wasmi::IntegerOverflow, &[Pccc::IntegerOverflow]),
    (
        Wasmi::BadConversionToInteger,
        &[Pccc::BadConversionToInteger],
    ),
    (Wasmi::StackOverflow, &[Pccc::StackOverflow]),
    (Wasmi::BadSignature, &[Pccc::BadSignature]),
];

fn traps_agree(w: Wasmi, p: Pccc) -> bool {
    TRAPS.iter().any(|(rw, rp)| *rw == w && rp.contains(&p))
}

/// Two values agree: integers and references (by nullness: the handles
/// differ between engines) exactly; floats bit for bit, except that any
/// NaN matches any NaN unless the module canonicalises NaNs (then the
/// payload is deterministic and must match too).
pub fn values_agree(r: &Value, s: &Value, canonical_nans: bool) -> bool {
    let nan32 = |b: u32| f32::from_bits(b).is_nan();
    let nan64 = |b: u64| f64::from_bits(b).is_nan();
    match (r, s) {
        (Value::F32(a), Value::F32(b)) => a == b || (!canonical_nans && nan32(*a) && nan32(*b)),
        (Value::F64(a), Value::F64(b)) => a == b || (!canonical_nans && nan64(*a) && nan64(*b)),
        _ => r == s,
    }
}

/// The class of one invocation, and what differed.
pub fn compare(r: &Exec<Wasmi>, s: &Exec<Pccc>, canonical_nans: bool) -> (Class, String) {
    use Exec::*;
    match (r, s) {
        // A stack overflow is an implementation limit: exhausting the stack
        // at a different depth than the reference is allowed.
        (Trap(Wasmi::StackOverflow), _) | (_, Trap(Pccc::StackOverflow)) => {
            (Class::Agree, String::new())
        }
        (_, Error(e)) => (Class::Crash, e.clone()),
        (_, Exhausted) => (Class::Timeout, "pccc ran past its deadline".into()),
        (Exhausted, _) => (Class::Skipped, "the reference ran out of fuel".into()),
        (Error(e), _) => (Class::Skipped, format!("the reference failed: {e}")),
        (Values(a), Values(b)) => {
            let same = a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| values_agree(x, y, canonical_nans));
            if same {
                (Class::Agree, String::new())
            } else {
                (Class::ResultMismatch, format!("wasmi {a:x?}, pccc {b:x?}"))
            }
        }
        (Trap(w), Trap(p)) if traps_agree(*w, *p) => (Class::Agree, String::new()),
        (Trap(w), Trap(p)) => (
            Class::TrapMismatch,
            format!("wasmi trap {w:?}, pccc trap {p:?}"),
        ),
        (Trap(w), Values(b)) => (
            Class::TrapMismatch,
            format!("wasmi trap {w:?}, pccc {b:x?}"),
        ),
        (Values(a), Trap(p)) => (
            Class::TrapMismatch,
            format!("wasmi {a:x?}, pccc trap {p:?}"),
        ),
    }
}

/// The class of one invocation of pccc's second heap strategy, judged by
/// its first (modules without a reference: exception handling). The two
/// differ only in how heap accesses are checked, so every outcome must be
/// the same, values bit for bit.
pub fn compare_strategies(first: &Exec<Pccc>, second: &Exec<Pccc>) -> (Class, String) {
    use Exec::*;
    match (first, second) {
        (Trap(Pccc::StackOverflow), _) | (_, Trap(Pccc::StackOverflow)) => {
            (Class::Agree, String::new())
        }
        (_, Error(e)) | (Error(e), _) => (Class::Crash, e.clone()),
        (_, Exhausted) | (Exhausted, _) => (Class::Timeout, "pccc ran past its deadline".into()),
        (Values(a), Values(b)) if a == b => (Class::Agree, String::new()),
        (Trap(a), Trap(b)) if a == b => (Class::Agree, String::new()),
        (Values(a), Values(b)) => (
            Class::ResultMismatch,
            format!("first {a:x?}, second {b:x?}"),
        ),
        (a, b) => (Class::TrapMismatch, format!("first {a:x?}, second {b:x?}")),
    }
}
