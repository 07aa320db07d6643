//! `pccc disasm` and `pccc obligations` snapshots: machine code with the
//! facts the compiler claims, and the proof obligations the validator
//! derives, for small modules chosen to show one thing each. A backend change
//! shows up here as a reviewable diff (`cargo insta review`).

use backend::CompileOptions;

/// What `pccc disasm` shows of a module: compiled keeping every claim the
/// backend makes (an artifact keeps only its loop headers';
/// `artifact_claims_loop` shows that).
fn disasm_with(wat: &str, opts: &CompileOptions) -> String {
    let opts = CompileOptions {
        all_facts: true,
        ..opts.clone()
    };
    disasm_artifact(wat, &opts)
}

fn disasm_artifact(wat: &str, opts: &CompileOptions) -> String {
    let wasm = wat::parse_str(wat).expect("test module parses");
    let art = pccc::compile_bytes(&wasm, opts).expect("test module compiles");
    let parsed = pcc::ArtifactFile::parse(&art.to_elf()).expect("artifact parses");
    pccc::disasm::render(&parsed)
}

macro_rules! snapshot {
    ($name:ident, $wat:expr) => {
        snapshot!($name, $wat, CompileOptions::default());
    };
    ($name:ident, $wat:expr, $opts:expr) => {
        #[test]
        fn $name() {
            insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(stringify!($name), disasm_with($wat, &$opts));
            });
        }
    };
}

fn obligations_of(wat: &str, opts: &CompileOptions, format: pccc::obligations::Format) -> String {
    let wasm = wat::parse_str(wat).expect("test module parses");
    let art = pccc::compile_bytes(&wasm, opts).expect("test module compiles");
    let parsed = pcc::ArtifactFile::parse(&art.to_elf()).expect("artifact parses");
    let (out, report) = pccc::obligations::render(&parsed, format);
    assert!(report.accepted(), "{:#?}", report.failures);
    out
}

/// An obligations snapshot.
macro_rules! obligations {
    ($name:ident, $wat:expr, $opts:expr, $format:ident) => {
        #[test]
        fn $name() {
            insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(
                    stringify!($name),
                    obligations_of($wat, &$opts, pccc::obligations::Format::$format)
                );
            });
        }
    };
}

// A spilled, reloaded heap index and 23 accesses: what the seed-bug test
// breaks, as text.
obligations!(
    obligations_pressure,
    include_str!("modules/pressure.wat"),
    CompileOptions::default(),
    Text
);

// The bundled example, as the SMT-LIB2 researchers feed to z3.
obligations!(
    obligations_fib,
    include_str!("../examples/fib.wat"),
    CompileOptions::default(),
    Smtlib
);

// Bounds-checked: each index is bounded by reservation - end.
obligations!(
    obligations_bounds_checked,
    r#"(module (memory 1)
      (func (export "f") (param i32 i32) (result i32)
        (i32.store offset=3 (local.get 0) (local.get 1))
        (i32.load16_u offset=100 (local.get 0))))"#,
    bounds_checked(),
    Text
);

fn bounds_checked() -> CompileOptions {
    CompileOptions::with_heap(pcc::HeapStrategy::DEFAULT_BOUNDS_CHECKED)
}

// Bounds-checked heap: each access compares its end with heap_bytes first;
// an access whose offset + size exceeds the 256 MiB reservation can never be
// in bounds (the memory never grows past it) and compiles to its trap, the
// rest of the block being dead (issue 10: such accesses were emitted with an
// unprovable address and the validator rejected them).
snapshot!(
    access_bounds_checked,
    r#"(module (memory 1)
      (func (export "f") (param i32 i32) (result i32)
        (i32.store offset=3 (local.get 0) (local.get 1))
        (i32.load offset=0x90000000 (local.get 0))))"#,
    bounds_checked()
);

snapshot!(
    access_8,
    r#"(module (memory 1)
      (func (export "f") (param i32 i32) (result i32)
        (i32.store8 offset=3 (local.get 0) (local.get 1))
        (i32.load8_s offset=3 (local.get 0))))"#
);

snapshot!(
    access_16,
    r#"(module (memory 1)
      (func (export "f") (param i32 i32) (result i32)
        (i32.store16 (local.get 0) (local.get 1))
        (i32.load16_u (local.get 0))))"#
);

snapshot!(
    access_32,
    r#"(module (memory 1)
      (func (export "f") (param i32 i64) (result i64)
        (i64.store32 offset=100 (local.get 0) (local.get 1))
        (i64.load32_s offset=100 (local.get 0))))"#
);

snapshot!(
    access_64,
    r#"(module (memory 1)
      (func (export "f") (param i32 i64) (result i64)
        (i64.store offset=8 (local.get 0) (local.get 1))
        (i64.load offset=8 (local.get 0))))"#
);

snapshot!(
    access_past_the_guard,
    r#"(module (memory 1)
      (func (export "f") (param i32) (result i32)
        (i32.load offset=0xFFFFFFF0 (local.get 0))))"#
);

snapshot!(
    sum_array_loop,
    r#"(module (memory 1)
      (func (export "sum") (param $p i32) (param $n i32) (result i32)
        (local $acc i32)
        (block $done
          (loop $l
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $acc (i32.add (local.get $acc) (i32.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $l)))
        (local.get $acc)))"#
);

// The same loop as an artifact carries it: claims only at the loop header,
// where the validator starts from them (everywhere else it derives the
// state from what flows in).
#[test]
fn artifact_claims_loop() {
    let wat = r#"(module (memory 1)
      (func (export "sum") (param $p i32) (param $n i32) (result i32)
        (local $acc i32)
        (block $done
          (loop $l
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $acc (i32.add (local.get $acc) (i32.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $l)))
        (local.get $acc)))"#;
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("artifact_claims_loop", disasm_artifact(wat, &CompileOptions::default()));
    });
}

// A signed compare used only by its branch becomes `cmp; jl`; one also
// returned keeps its 0/1 value (`setbe; movzx`) and the branch tests it.
snapshot!(
    compare_and_branch,
    r#"(module
      (func (export "max") (param i32 i32) (result i32)
        (if (result i32) (i32.lt_s (local.get 0) (local.get 1))
          (then (local.get 1)) (else (local.get 0))))
      (func (export "both") (param i64 i64) (result i32)
        (local $c i32)
        (local.set $c (i64.le_u (local.get 0) (local.get 1)))
        (if (local.get $c) (then (return (i32.const 7))))
        (local.get $c)))"#
);

// A select on a compare used only there is cmp; cmovg (no boolean); one on
// a boolean tests it (test; cmovne); a constant compared with is an imm.
snapshot!(
    select_cmov,
    r#"(module
      (func (export "max") (param i32 i32) (result i32)
        (select (local.get 0) (local.get 1) (i32.gt_s (local.get 0) (local.get 1))))
      (func (export "clamp") (param i64) (result i64)
        (select (local.get 0) (i64.const 100) (i64.lt_u (local.get 0) (i64.const 100))))
      (func (export "pick") (param i32 i64 i64) (result i64)
        (select (local.get 1) (local.get 2) (local.get 0))))"#
);

snapshot!(
    br_table,
    r#"(module
      (func (export "f") (param i32) (result i32)
        (block $c (block $b (block $a
          (br_table $a $b $c (local.get 0)))
          (return (i32.const 10)))
          (return (i32.const 20)))
        (i32.const 30)))"#
);

// Four targets and more: a jump table (bound check on a zero-extended copy
// of the index, rip-relative table address, 8-byte `jmp rel32` entries).
snapshot!(
    br_table_jump_table,
    r#"(module
      (func (export "f") (param i32) (result i32)
        (block $e (block $d (block $c (block $b (block $a
          (br_table $a $b $c $d $e (local.get 0)))
          (return (i32.const 10)))
          (return (i32.const 20)))
          (return (i32.const 30)))
          (return (i32.const 40)))
        (i32.const 50)))"#
);

snapshot!(
    call_indirect,
    r#"(module
      (type $t (func (param i32) (result i32)))
      (table 2 funcref)
      (elem (i32.const 0) $inc $dbl)
      (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
      (func $dbl (type $t) (i32.shl (local.get 0) (i32.const 1)))
      (func (export "f") (param i32 i32) (result i32)
        (call_indirect (type $t) (local.get 1) (local.get 0))))"#
);

snapshot!(
    division_traps,
    r#"(module
      (func (export "f") (param i64 i64) (result i64)
        (i64.div_s (local.get 0) (local.get 1))))"#
);

// Unsigned division by constants as multiplications by the reciprocal: at
// 64 bits by 10 (no extra bit) and by 7 (the add-and-halve fixup), at 32
// bits the high half itself; the remainder as x - q * c; signed division
// by a constant keeps `idiv` without its checks.
snapshot!(
    division_by_constants,
    r#"(module
      (func (export "u64_div_10") (param i64) (result i64)
        (i64.div_u (local.get 0) (i64.const 10)))
      (func (export "u64_div_7") (param i64) (result i64)
        (i64.div_u (local.get 0) (i64.const 7)))
      (func (export "u32_rem_10") (param i32) (result i32)
        (i32.rem_u (local.get 0) (i32.const 10)))
      (func (export "i32_div_s_10") (param i32) (result i32)
        (i32.div_s (local.get 0) (i32.const 10))))"#
);

// Sixteen loaded values live at once: more than the twelve allocatable
// registers, so some spill, and the facts follow them onto their slots.
snapshot!(spills, include_str!("modules/pressure.wat"));
