//! The validator on real compiler output: everything the compiler produces
//! is accepted, and the seeded CVE-2021-32629 bug (sign-extending reloads of
//! spilled i32 heap indexes) is rejected with an escaping counterexample.

use backend::CompileOptions;

/// More live i32 values than registers: heap indexes get spilled and
/// reloaded before they address memory.
const PRESSURE: &str = include_str!("modules/pressure.wat");

fn compile(wasm: &[u8], seed: bool) -> Vec<u8> {
    let opts = CompileOptions {
        seed_sign_extending_reloads: seed,
        ..CompileOptions::default()
    };
    pccc::compile_bytes(wasm, &opts).expect("compiles").to_elf()
}

#[test]
fn seed_bug_is_rejected_with_an_escaping_index_and_the_fixed_compiler_accepted() {
    let wasm = wat::parse_str(PRESSURE).unwrap();
    let good = validator::verify(&compile(&wasm, false)).unwrap();
    assert!(good.accepted(), "{:#?}", good.failures);
    assert!(
        good.accesses.heap >= 23 && good.accesses.stack > 0,
        "{:?}",
        good.accesses
    );

    let bad = validator::verify(&compile(&wasm, true)).unwrap();
    assert!(!bad.accepted(), "the sign-extending reloads were accepted");
    let escapes: Vec<_> = bad
        .failures
        .iter()
        .filter(|f| f.counterexample.is_some())
        .collect();
    assert!(
        !escapes.is_empty(),
        "no counterexample: {:#?}",
        bad.failures
    );
    for f in &escapes {
        let cex = f.counterexample.as_deref().unwrap();
        let index = cex
            .strip_prefix("index = 0x")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .unwrap_or_else(|| panic!("unparsable counterexample {cex}"));
        assert!(
            index >= 0x8000_0000,
            "counterexample index {index:#x} cannot come from a sign-extended i32"
        );
        assert!(
            f.instruction.contains("r15"),
            "not a heap access: {}",
            f.instruction
        );
    }
    // The false zero-extension claim on the movsxd reload is itself reported.
    assert!(bad
        .failures
        .iter()
        .any(|f| f.reason.contains("false claim") && f.instruction.starts_with("movsxd")));
}

#[test]
fn the_c_programs_are_accepted_at_o0_and_o2() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let report =
                validator::verify(&compile(&std::fs::read(&path).unwrap(), false)).unwrap();
            assert!(
                report.accepted(),
                "{}: {:#?}",
                path.display(),
                report.failures
            );
            assert!(report.accesses.heap > 0);
            n += 1;
        }
    }
    assert_eq!(n, 10, "five programs at two optimisation levels");
}

#[test]
fn a_displacement_pushed_below_the_heap_is_rejected() {
    // Compile, then rewrite the load's disp8 (+4) to -4: [r15+rdi-4] can reach below the heap.
    let wasm = wat::parse_str(
        r#"(module (memory 1) (func (export "f") (param i32) (result i32) (i32.load offset=4 (local.get 0))))"#,
    )
    .unwrap();
    let mut elf = compile(&wasm, false);
    assert!(validator::verify(&elf).unwrap().accepted());
    // mov eax, [r15+rdi+4] = 41 8b 44 3f 04
    let at = elf
        .windows(5)
        .position(|w| w == [0x41, 0x8b, 0x44, 0x3f, 0x04])
        .expect("the load's encoding");
    elf[at + 4] = 0xfc;
    let r = validator::verify(&elf).unwrap();
    assert!(!r.accepted());
    assert!(r.failures[0].counterexample.is_some(), "{:#?}", r.failures);
}
