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
    // With every claim the backend makes kept (what `pccc disasm` shows),
    // the false zero-extension claim on the movsxd reload is itself
    // reported; the artifact keeps loop headers' claims only, so above it
    // was caught at the heap accesses alone.
    let opts = CompileOptions {
        seed_sign_extending_reloads: true,
        all_facts: true,
        ..CompileOptions::default()
    };
    let all = pccc::compile_bytes(&wasm, &opts).unwrap().to_elf();
    let all = validator::verify(&all).unwrap();
    assert!(all
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

/// The "4GB" bug of bounds-checked heaps: the check compares against a
/// constant (4,000,000,000, a mis-parsed "4GB") instead of the memory's
/// size. Here `mov t, [vmctx+heap_bytes]; sub t, end` is rewritten in place
/// to `mov t, 4_000_000_000 - end`: the check still runs, against a bound
/// far past the 256 MiB reservation, and the access must be rejected.
#[test]
fn bounds_check_against_a_4gb_constant_is_rejected() {
    use iced_x86::{Code, Decoder, DecoderOptions, Encoder, Instruction, Mnemonic, Register};
    let wasm = wat::parse_str(
        r#"(module (memory 1) (func (export "f") (param i32) (result i32) (i32.load offset=200 (local.get 0))))"#,
    )
    .unwrap();
    let opts = CompileOptions::with_heap(pcc::HeapStrategy::DEFAULT_BOUNDS_CHECKED);
    let elf = pccc::compile_bytes(&wasm, &opts).unwrap().to_elf();
    let mut art = pcc::ArtifactFile::parse(&elf).unwrap();
    assert!(validator::verify_parsed(&art).accepted());
    let insns: Vec<Instruction> = Decoder::with_ip(64, &art.text, 0, DecoderOptions::NONE)
        .iter()
        .collect();
    let k = insns
        .windows(2)
        .position(|w| {
            w[0].mnemonic() == Mnemonic::Mov
                && w[0].memory_base() == Register::R14
                && w[0].memory_displacement64() == pcc::VmCtxLayout::HEAP_BYTES as u64
                && w[1].mnemonic() == Mnemonic::Sub
        })
        .expect("the bounds check");
    let (mov, sub) = (&insns[k], &insns[k + 1]);
    let (at, len) = (mov.ip() as usize, mov.len() + sub.len());
    let bound = 4_000_000_000u64 - sub.immediate(1);
    let m = Instruction::with2(Code::Mov_r64_imm64, mov.op0_register(), bound).unwrap();
    let mut enc = Encoder::new(64);
    let n = enc.encode(&m, at as u64).unwrap();
    assert!(
        n <= len,
        "mov r64, imm64 ({n} bytes) fits in mov + sub ({len} bytes)"
    );
    let mut bytes = enc.take_buffer();
    bytes.resize(len, 0x90);
    art.text[at..at + len].copy_from_slice(&bytes);
    let r = validator::verify_parsed(&art);
    assert!(!r.accepted());
    let f = r
        .failures
        .iter()
        .find(|f| f.counterexample.is_some())
        .unwrap_or_else(|| panic!("no counterexample: {:#?}", r.failures));
    assert!(f.instruction.contains("r15"), "{f:?}");
}
