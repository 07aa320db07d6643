//! Instruction selection: each fused or folded form (a comparison fused into
//! its branch, ...) must compute what Wasm says, for every condition and
//! both widths, on boundary values. Each module is compiled, verified by the
//! validator and run; results are compared with Rust's arithmetic.

use backend::CompileOptions;
use runtime::{Instance, Linker, Module, Val};

const CONDS: [&str; 10] = [
    "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u",
];

const EDGES_64: [i64; 12] = [
    0,
    1,
    2,
    -1,
    -2,
    5,
    0x7f,
    i32::MAX as i64,
    i32::MIN as i64,
    0xffff_ffff,
    i64::MAX,
    i64::MIN,
];

fn cond32(cc: &str, a: i32, b: i32) -> bool {
    let (ua, ub) = (a as u32, b as u32);
    match cc {
        "eq" => a == b,
        "ne" => a != b,
        "lt_s" => a < b,
        "lt_u" => ua < ub,
        "gt_s" => a > b,
        "gt_u" => ua > ub,
        "le_s" => a <= b,
        "le_u" => ua <= ub,
        "ge_s" => a >= b,
        "ge_u" => ua >= ub,
        _ => unreachable!(),
    }
}

fn cond64(cc: &str, a: i64, b: i64) -> bool {
    let (ua, ub) = (a as u64, b as u64);
    match cc {
        "eq" => a == b,
        "ne" => a != b,
        "lt_s" => a < b,
        "lt_u" => ua < ub,
        "gt_s" => a > b,
        "gt_u" => ua > ub,
        "le_s" => a <= b,
        "le_u" => ua <= ub,
        "ge_s" => a >= b,
        "ge_u" => ua >= ub,
        _ => unreachable!(),
    }
}

/// Compile (verified) and instantiate a module.
fn instantiate(wat: &str) -> Instance {
    let wasm = wat::parse_str(wat).expect("test module parses");
    let art = pccc::compile_bytes(&wasm, &CompileOptions::default()).expect("compiles");
    let elf = art.to_elf();
    let report = validator::verify(&elf).expect("artifact reads");
    assert!(report.accepted(), "rejected: {:#?}", report.failures);
    let module = Module::from_artifact(&elf).expect("loads");
    Instance::new(&module, &Linker::new()).expect("instantiates")
}

fn call_i32(inst: &Instance, name: &str, args: &[Val]) -> i32 {
    match inst.invoke(name, args).expect("runs").as_slice() {
        [Val::I32(x)] => *x,
        other => panic!("{name}: results {other:?}"),
    }
}

/// `br_if` on a comparison used only there (fused: `cmp; jcc`), on `eqz`,
/// and on a comparison also returned (its 0/1 value kept and tested).
#[test]
fn comparisons_fused_into_branches() {
    let mut wat = String::from("(module\n");
    for ty in ["i32", "i64"] {
        for cc in CONDS {
            wat += &format!(
                "(func (export \"br_{ty}_{cc}\") (param {ty} {ty}) (result i32)
                   (block (br_if 0 ({ty}.{cc} (local.get 0) (local.get 1))) (return (i32.const 0)))
                   (i32.const 1))
                 (func (export \"kept_{ty}_{cc}\") (param {ty} {ty}) (result i32) (local i32)
                   (local.set 2 ({ty}.{cc} (local.get 0) (local.get 1)))
                   (block (br_if 0 (local.get 2)) (return (i32.add (local.get 2) (i32.const 10))))
                   (i32.add (local.get 2) (i32.const 20)))\n"
            );
        }
        wat += &format!(
            "(func (export \"br_{ty}_eqz\") (param {ty}) (result i32)
               (block (br_if 0 ({ty}.eqz (local.get 0))) (return (i32.const 0)))
               (i32.const 1))\n"
        );
    }
    wat += ")";
    let inst = instantiate(&wat);
    let mut checked = 0;
    for &a in &EDGES_64 {
        for &b in &EDGES_64 {
            for cc in CONDS {
                let (x, y) = (a as i32, b as i32);
                let args = [Val::I32(x), Val::I32(y)];
                let want = cond32(cc, x, y) as i32;
                assert_eq!(
                    call_i32(&inst, &format!("br_i32_{cc}"), &args),
                    want,
                    "i32.{cc} {x} {y}"
                );
                let kept = call_i32(&inst, &format!("kept_i32_{cc}"), &args);
                assert_eq!(
                    kept,
                    if want == 1 { 21 } else { 10 },
                    "kept i32.{cc} {x} {y}"
                );
                let args = [Val::I64(a), Val::I64(b)];
                let want = cond64(cc, a, b) as i32;
                assert_eq!(
                    call_i32(&inst, &format!("br_i64_{cc}"), &args),
                    want,
                    "i64.{cc} {a} {b}"
                );
                let kept = call_i32(&inst, &format!("kept_i64_{cc}"), &args);
                assert_eq!(
                    kept,
                    if want == 1 { 21 } else { 10 },
                    "kept i64.{cc} {a} {b}"
                );
                checked += 4;
            }
        }
        assert_eq!(
            call_i32(&inst, "br_i32_eqz", &[Val::I32(a as i32)]),
            (a as i32 == 0) as i32
        );
        assert_eq!(
            call_i32(&inst, "br_i64_eqz", &[Val::I64(a)]),
            (a == 0) as i32
        );
    }
    assert!(checked > 5000);
}
