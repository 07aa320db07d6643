//! The differential fuzzer in the test command (see `tests/fuzz/`): the
//! regression modules of `tests/fuzz-regressions/`, then a short seeded run.
//! Both under both heap strategies, against wasmi.
//!
//!   cargo test --release --test fuzz_differential
//!   FUZZ_MODULES=2000 cargo test --release --test fuzz_differential   # a longer short run
//!
//! The long run is `cargo run --release --example fuzz` (README, "Fuzzing").

mod fuzz;

use std::path::Path;

use fuzz::known::{known, KNOWN_FAILURES};
use fuzz::outcome::Class;
use fuzz::reference::Reference;
use fuzz::subject::STRATEGIES;
use fuzz::Mode;

/// The seed and size of the short run.
const SEED: u64 = 1;

/// Regression modules a strategy refuses by design (an implementation
/// limit, not a bug): they must be refused cleanly as unsupported there.
const REFUSED_BY_DESIGN: &[(&str, &str, &str)] = &[(
    "static-offset-past-guard.wat",
    "bounds-checked",
    "a 2 GiB + 64 KiB memory does not fit the 256 MiB bounds-checked reservation",
)];
const MODULES: u64 = 400;
/// The size of the short exceptions run.
const EXCEPTION_MODULES: u64 = 300;

#[test]
fn regression_modules() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/fuzz-regressions")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    files.sort();
    let reference = Reference::default();
    let mut failures = vec![];
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let wasm = wat::parse_file(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let r = fuzz::judge(&reference, &wasm, false, &STRATEGIES, |m| {
            fuzz::calls(SEED, 0, m)
        });
        for (strategy, class, detail) in r.per_strategy {
            let row = KNOWN_FAILURES
                .iter()
                .find(|k| k.regression == name && k.strategy == strategy);
            let by_design = REFUSED_BY_DESIGN
                .iter()
                .any(|(m, s, _)| *m == name && *s == strategy);
            match (class, row) {
                (Class::Unsupported, None) if by_design => {}
                // The reference could not judge (out of fuel: e.g. a 65535-page
                // memory.grow); tests/fuzz_regressions.rs checks such modules directly.
                (Class::Skipped, None) => eprintln!("skipped {name} ({strategy}): {detail}"),
                (Class::Agree, None) => {}
                (Class::Agree, Some(k)) => {
                    eprintln!(
                        "FIXED? {name} ({strategy}) agrees now: remove it from KNOWN_FAILURES ({})",
                        k.reason
                    )
                }
                (c, Some(k)) if c == k.class => {
                    eprintln!(
                        "known failure {name} ({strategy}): {} — {}",
                        c.name(),
                        k.reason
                    )
                }
                (c, _) => failures.push(format!("{name} ({strategy}): {}: {detail}", c.name())),
            }
        }
    }
    assert!(
        !files.is_empty(),
        "no regression modules in {}",
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "regression modules:\n{}",
        failures.join("\n")
    );
}

/// A short seeded campaign of `default` modules (or `FUZZ_MODULES`).
fn short_run(mode: Mode, default: u64) -> (u64, fuzz::outcome::Tally) {
    let modules = std::env::var("FUZZ_MODULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let span = fuzz::Span {
        mode,
        seed: SEED,
        first: 0,
        count: modules,
    };
    let tally = fuzz::campaign(span, 2, &STRATEGIES, None, &|_| {});
    (modules, tally)
}

#[test]
fn short_seeded_run() {
    let (_, tally) = short_run(Mode::Differential, MODULES);
    let names: Vec<_> = STRATEGIES.iter().map(|h| h.name()).collect();
    eprintln!(
        "{} modules, {} pccc invocations\n{}",
        tally.modules,
        tally.invocations,
        tally.table(&names)
    );
    let mut unknown = vec![];
    for f in &tally.findings {
        match known(f) {
            Some(k) => eprintln!(
                "known failure: module {} ({}): {} — {}",
                f.index,
                f.strategy,
                f.class.name(),
                k.reason
            ),
            None => unknown.push(format!(
                "module {} of seed {SEED} ({}): {}: {}",
                f.index,
                f.strategy,
                f.class.name(),
                f.detail
            )),
        }
    }
    assert!(
        unknown.is_empty(),
        "findings (reproduce: cargo run --release --example fuzz -- --seed {SEED} --first N --modules 1 --save DIR):\n{}",
        unknown.join("\n")
    );
    let agreed: u64 = names.iter().map(|s| tally.count(s, Class::Agree)).sum();
    assert!(agreed > 0, "no module agreed: the harness is broken");
}

/// A short seeded run with exception handling and tail calls (no
/// reference: the two heap strategies judge each other, see `Mode`): no
/// false reject, crash or disagreement; and the modules do throw.
#[test]
fn short_seeded_exceptions_run() {
    let (modules, tally) = short_run(Mode::Exceptions, EXCEPTION_MODULES);
    let names: Vec<_> = STRATEGIES.iter().map(|h| h.name()).collect();
    eprintln!(
        "{} modules, {} pccc invocations\n{}\n{:?}",
        tally.modules,
        tally.invocations,
        tally.table(&names),
        tally.reference
    );
    let findings: Vec<String> = tally
        .findings
        .iter()
        .map(|f| {
            format!(
                "module {} ({}): {}: {}",
                f.index,
                f.strategy,
                f.class.name(),
                f.detail
            )
        })
        .collect();
    assert!(
        findings.is_empty(),
        "findings (reproduce: cargo run --release --example fuzz -- --exceptions --seed {SEED} --first N --modules 1 --save DIR):\n{}",
        findings.join("\n")
    );
    let agreed = tally.count(names[1], Class::Agree);
    assert!(
        agreed > modules / 2,
        "{agreed} of {modules} modules agreed: the harness is broken"
    );
    let uncaught = tally
        .reference
        .get("trap UncaughtException")
        .copied()
        .unwrap_or(0);
    assert!(
        uncaught > 0,
        "no invocation threw out of its module: exceptions are not exercised"
    );
}

/// The comparison's own rules, on values chosen by hand: the fuzzer is
/// only as good as them.
#[test]
fn comparison_rules() {
    use fuzz::compare::{compare, Exec, Value};
    use pcc::TrapCode as P;
    use wasmi::TrapCode as W;
    let vals = |v: Vec<Value>| Exec::<W>::Values(v);
    let got = |v: Vec<Value>| Exec::<P>::Values(v);
    let class = |r: &Exec<W>, s: &Exec<P>, canonical| compare(r, s, canonical).0;
    let (nan, other_nan) = (Value::F32(0x7fc0_0000), Value::F32(0xffc0_0001));
    // Any NaN matches any NaN, unless NaNs are canonicalised.
    assert_eq!(
        class(&vals(vec![nan]), &got(vec![other_nan]), false),
        Class::Agree
    );
    assert_eq!(
        class(&vals(vec![nan]), &got(vec![other_nan]), true),
        Class::ResultMismatch
    );
    let nan64 = Value::F64(0x7ff8_0000_0000_0000);
    assert_eq!(
        class(
            &vals(vec![nan64]),
            &got(vec![Value::F64(0xfff8_0000_0000_0000)]),
            false
        ),
        Class::Agree
    );
    // Zeros and integers bit for bit; a NaN is no number.
    assert_eq!(
        class(
            &vals(vec![Value::F32(0)]),
            &got(vec![Value::F32(0x8000_0000)]),
            false
        ),
        Class::ResultMismatch
    );
    assert_eq!(
        class(&vals(vec![Value::F32(0)]), &got(vec![nan]), false),
        Class::ResultMismatch
    );
    assert_eq!(
        class(
            &vals(vec![Value::I32(-1)]),
            &got(vec![Value::I64(-1)]),
            false
        ),
        Class::ResultMismatch
    );
    assert_eq!(
        class(&vals(vec![Value::I32(1)]), &got(vec![]), false),
        Class::ResultMismatch
    );
    // References by nullness.
    let null = Value::FuncRef { null: true };
    assert_eq!(
        class(&vals(vec![null]), &got(vec![null]), false),
        Class::Agree
    );
    assert_eq!(
        class(
            &vals(vec![null]),
            &got(vec![Value::FuncRef { null: false }]),
            false
        ),
        Class::ResultMismatch
    );
    // Traps by kind, through the table; a trap against a value; limits.
    assert_eq!(
        class(
            &Exec::Trap(W::TableOutOfBounds),
            &Exec::Trap(P::TableAccessOutOfBounds),
            false
        ),
        Class::Agree
    );
    assert_eq!(
        class(
            &Exec::Trap(W::MemoryOutOfBounds),
            &Exec::Trap(P::TableOutOfBounds),
            false
        ),
        Class::TrapMismatch
    );
    assert_eq!(
        class(
            &Exec::Trap(W::IntegerOverflow),
            &got(vec![Value::I32(0)]),
            false
        ),
        Class::TrapMismatch
    );
    assert_eq!(
        class(&vals(vec![]), &Exec::Trap(P::StackOverflow), false),
        Class::Agree
    );
    assert_eq!(class(&Exec::Exhausted, &got(vec![]), false), Class::Skipped);
    assert_eq!(
        class(&vals(vec![]), &Exec::Exhausted, false),
        Class::Timeout
    );
    assert_eq!(
        class(&vals(vec![]), &Exec::Error("panic".into()), false),
        Class::Crash
    );
    // Every wasmi trap a generated module can raise has a row.
    for w in [
        W::UnreachableCodeReached,
        W::MemoryOutOfBounds,
        W::TableOutOfBounds,
        W::IndirectCallToNull,
        W::IntegerDivisionByZero,
        W::IntegerOverflow,
        W::BadConversionToInteger,
        W::StackOverflow,
        W::BadSignature,
    ] {
        assert!(
            fuzz::compare::TRAPS.iter().any(|(t, _)| *t == w),
            "{w:?} has no row"
        );
    }
}

/// The rules of the exceptions runs, where one heap strategy judges the
/// other: everything must be the same, values bit for bit.
#[test]
fn strategy_comparison_rules() {
    use fuzz::compare::{compare_strategies, Exec, Value};
    use pcc::TrapCode as P;
    let class = |a: &Exec<P>, b: &Exec<P>| compare_strategies(a, b).0;
    let vals = |v: Vec<Value>| Exec::<P>::Values(v);
    let nan = 0x7fc0_0000;
    let exn = |null| Value::ExnRef { null };
    for (first, second, want) in [
        (
            vals(vec![Value::I32(1)]),
            vals(vec![Value::I32(1)]),
            Class::Agree,
        ),
        (
            vals(vec![Value::I32(1)]),
            vals(vec![Value::I32(2)]),
            Class::ResultMismatch,
        ),
        // Both strategies run the same float code: NaN payloads match too.
        (
            vals(vec![Value::F32(nan)]),
            vals(vec![Value::F32(nan | 1)]),
            Class::ResultMismatch,
        ),
        (vals(vec![exn(false)]), vals(vec![exn(false)]), Class::Agree),
        (
            vals(vec![exn(false)]),
            vals(vec![exn(true)]),
            Class::ResultMismatch,
        ),
        (
            Exec::Trap(P::UncaughtException),
            Exec::Trap(P::UncaughtException),
            Class::Agree,
        ),
        (
            Exec::Trap(P::UncaughtException),
            Exec::Trap(P::NullExnRef),
            Class::TrapMismatch,
        ),
        (
            Exec::Trap(P::HeapOutOfBounds),
            vals(vec![]),
            Class::TrapMismatch,
        ),
        (
            vals(vec![]),
            Exec::Error("invoke: boom".into()),
            Class::Crash,
        ),
        (Exec::Trap(P::StackOverflow), vals(vec![]), Class::Agree),
    ] {
        assert_eq!(class(&first, &second), want, "{first:?} vs {second:?}");
    }
}
