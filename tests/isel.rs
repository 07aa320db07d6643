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

const BINOPS: [&str; 11] = [
    "add", "sub", "mul", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr",
];

/// Constants around the imm8/imm32 boundaries, the shift masks, and i64s
/// that do not fit a sign-extended imm32 (kept in a register).
const CONSTS: [i64; 18] = [
    0,
    1,
    -1,
    7,
    31,
    32,
    33,
    63,
    64,
    127,
    128,
    -128,
    -129,
    i32::MAX as i64,
    i32::MIN as i64,
    0xffff_ffff,
    0x1_0000_0000,
    i64::MIN,
];

/// A constant as a literal of `ty` (an i32 takes the low 32 bits).
fn lit(ty: &str, c: i64) -> String {
    if ty == "i32" {
        (c as i32).to_string()
    } else {
        c.to_string()
    }
}

fn binop64(op: &str, a: i64, b: i64) -> i64 {
    match op {
        "add" => a.wrapping_add(b),
        "sub" => a.wrapping_sub(b),
        "mul" => a.wrapping_mul(b),
        "and" => a & b,
        "or" => a | b,
        "xor" => a ^ b,
        "shl" => a.wrapping_shl(b as u32),
        "shr_s" => a.wrapping_shr(b as u32),
        "shr_u" => (a as u64).wrapping_shr(b as u32) as i64,
        "rotl" => a.rotate_left((b & 63) as u32),
        "rotr" => a.rotate_right((b & 63) as u32),
        _ => unreachable!(),
    }
}

fn binop32(op: &str, a: i32, b: i32) -> i32 {
    match op {
        "add" => a.wrapping_add(b),
        "sub" => a.wrapping_sub(b),
        "mul" => a.wrapping_mul(b),
        "and" => a & b,
        "or" => a | b,
        "xor" => a ^ b,
        "shl" => a.wrapping_shl(b as u32),
        "shr_s" => a.wrapping_shr(b as u32),
        "shr_u" => (a as u32).wrapping_shr(b as u32) as i32,
        "rotl" => a.rotate_left((b & 31) as u32),
        "rotr" => a.rotate_right((b & 31) as u32),
        _ => unreachable!(),
    }
}

/// Every integer operator with a constant on the right, on the left, and on
/// the right with the other operand still live afterwards (the three-address
/// `lea`/`imul` forms write another register).
#[test]
fn constant_operands_folded_into_immediates() {
    let mut wat = String::from("(module\n");
    for ty in ["i32", "i64"] {
        for op in BINOPS {
            for (k, &c) in CONSTS.iter().enumerate() {
                let c = lit(ty, c);
                wat += &format!(
                    "(func (export \"r_{ty}_{op}_{k}\") (param {ty}) (result {ty})
                       ({ty}.{op} (local.get 0) ({ty}.const {c})))
                     (func (export \"l_{ty}_{op}_{k}\") (param {ty}) (result {ty})
                       ({ty}.{op} ({ty}.const {c}) (local.get 0)))
                     (func (export \"live_{ty}_{op}_{k}\") (param {ty}) (result {ty})
                       ({ty}.xor ({ty}.{op} (local.get 0) ({ty}.const {c})) (local.get 0)))\n"
                );
            }
        }
    }
    wat += ")";
    let inst = instantiate(&wat);
    let mut checked = 0;
    for op in BINOPS {
        for (k, &c) in CONSTS.iter().enumerate() {
            for &x in &EDGES_64 {
                let call = |name: String, arg: Val| match inst
                    .invoke(&name, &[arg])
                    .expect("runs")
                    .as_slice()
                {
                    [v] => *v,
                    other => panic!("{name}: {other:?}"),
                };
                let (x32, c32) = (x as i32, c as i32);
                let want = [
                    binop32(op, x32, c32),
                    binop32(op, c32, x32),
                    binop32(op, x32, c32) ^ x32,
                ];
                for (p, w) in ["r", "l", "live"].iter().zip(want) {
                    match call(format!("{p}_i32_{op}_{k}"), Val::I32(x32)) {
                        Val::I32(got) => assert_eq!(got, w, "{p} i32.{op} {x32} {c32}"),
                        other => panic!("{other:?}"),
                    }
                }
                let want = [binop64(op, x, c), binop64(op, c, x), binop64(op, x, c) ^ x];
                for (p, w) in ["r", "l", "live"].iter().zip(want) {
                    match call(format!("{p}_i64_{op}_{k}"), Val::I64(x)) {
                        Val::I64(got) => assert_eq!(got, w, "{p} i64.{op} {x} {c}"),
                        other => panic!("{other:?}"),
                    }
                }
                checked += 6;
            }
        }
    }
    assert!(checked > 10_000);
}

/// Comparisons against constants (`cmp a, imm`, either side), fused into a
/// branch and kept as a value.
#[test]
fn comparisons_with_constants() {
    let mut wat = String::from("(module\n");
    for ty in ["i32", "i64"] {
        for cc in CONDS {
            for (k, &c) in CONSTS.iter().enumerate() {
                let c = lit(ty, c);
                wat += &format!(
                    "(func (export \"br_{ty}_{cc}_{k}\") (param {ty}) (result i32)
                       (block (br_if 0 ({ty}.{cc} (local.get 0) ({ty}.const {c}))) (return (i32.const 0)))
                       (i32.const 1))
                     (func (export \"brl_{ty}_{cc}_{k}\") (param {ty}) (result i32)
                       (block (br_if 0 ({ty}.{cc} ({ty}.const {c}) (local.get 0))) (return (i32.const 0)))
                       (i32.const 1))
                     (func (export \"val_{ty}_{cc}_{k}\") (param {ty}) (result i32)
                       ({ty}.{cc} (local.get 0) ({ty}.const {c})))\n"
                );
            }
        }
    }
    wat += ")";
    let inst = instantiate(&wat);
    for cc in CONDS {
        for (k, &c) in CONSTS.iter().enumerate() {
            for &x in &EDGES_64 {
                let (x32, c32) = (x as i32, c as i32);
                let a = [Val::I32(x32)];
                let w = cond32(cc, x32, c32) as i32;
                assert_eq!(
                    call_i32(&inst, &format!("br_i32_{cc}_{k}"), &a),
                    w,
                    "i32.{cc} {x32} {c32}"
                );
                assert_eq!(
                    call_i32(&inst, &format!("val_i32_{cc}_{k}"), &a),
                    w,
                    "i32.{cc} {x32} {c32}"
                );
                let w = cond32(cc, c32, x32) as i32;
                assert_eq!(
                    call_i32(&inst, &format!("brl_i32_{cc}_{k}"), &a),
                    w,
                    "i32.{cc} {c32} {x32}"
                );
                let a = [Val::I64(x)];
                let w = cond64(cc, x, c) as i32;
                assert_eq!(
                    call_i32(&inst, &format!("br_i64_{cc}_{k}"), &a),
                    w,
                    "i64.{cc} {x} {c}"
                );
                assert_eq!(
                    call_i32(&inst, &format!("val_i64_{cc}_{k}"), &a),
                    w,
                    "i64.{cc} {x} {c}"
                );
                let w = cond64(cc, c, x) as i32;
                assert_eq!(
                    call_i32(&inst, &format!("brl_i64_{cc}_{k}"), &a),
                    w,
                    "i64.{cc} {c} {x}"
                );
            }
        }
    }
}

/// Stores of constants (`mov [heap], imm` at 1, 2, 4 and 8 bytes) write
/// exactly their bytes: each over a word of ones, read back whole.
#[test]
fn constant_stores() {
    let stores = [
        ("i32.store8", "i32"),
        ("i32.store16", "i32"),
        ("i32.store", "i32"),
        ("i64.store8", "i64"),
        ("i64.store16", "i64"),
        ("i64.store32", "i64"),
        ("i64.store", "i64"),
    ];
    let mut wat = String::from("(module (memory 1)\n");
    for (s, (store, ty)) in stores.iter().enumerate() {
        for (k, &c) in CONSTS.iter().enumerate() {
            let c = lit(ty, c);
            wat += &format!(
                "(func (export \"st_{s}_{k}\") (param i32) (result i64)
                   (i64.store (local.get 0) (i64.const -1))
                   (i64.store offset=8 (local.get 0) (i64.const -1))
                   ({store} offset=3 (local.get 0) ({ty}.const {c}))
                   (i64.xor (i64.load (local.get 0)) (i64.load offset=8 (local.get 0))))\n"
            );
        }
    }
    wat += ")";
    let inst = instantiate(&wat);
    for (s, (store, ty)) in stores.iter().enumerate() {
        let width = match *store {
            "i32.store8" | "i64.store8" => 1,
            "i32.store16" | "i64.store16" => 2,
            "i32.store" | "i64.store32" => 4,
            _ => 8,
        };
        for (k, &c) in CONSTS.iter().enumerate() {
            let c = if *ty == "i32" { c as i32 as i64 } else { c };
            let mut bytes = [0xffu8; 16];
            bytes[3..3 + width].copy_from_slice(&c.to_le_bytes()[..width]);
            let lo = i64::from_le_bytes(bytes[..8].try_into().unwrap());
            let hi = i64::from_le_bytes(bytes[8..].try_into().unwrap());
            for addr in [0, 100, 65536 - 16] {
                match inst
                    .invoke(&format!("st_{s}_{k}"), &[Val::I32(addr)])
                    .expect("runs")
                    .as_slice()
                {
                    [Val::I64(got)] => assert_eq!(*got, lo ^ hi, "{store} {c} at {addr}"),
                    other => panic!("{other:?}"),
                }
            }
        }
    }
}

/// Block layout's corner cases compile, verify and run: an empty infinite
/// loop (a cycle of jump-only blocks, kept as it is), a `br_if` whose two
/// edges reach the same block (no test left), empty `if` arms (threaded
/// away), and a loop whose only way out is a `br_if`.
#[test]
fn layout_corner_cases() {
    let inst = instantiate(
        r#"(module
          (func $spin (loop (br 0)))
          (func (export "same") (param i32) (result i32)
            (block (br_if 0 (local.get 0)))
            (i32.add (local.get 0) (i32.const 1)))
          (func (export "empty_arms") (param i32) (result i32)
            (if (local.get 0) (then) (else))
            (if (local.get 0) (then (nop)))
            (local.get 0))
          (func (export "exit") (param i32) (result i32) (local i32)
            (block (loop
              (local.set 1 (i32.add (local.get 1) (i32.const 3)))
              (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
              (br 0)))
            (local.get 1)))"#,
    );
    for x in [0, 1, 7, -1] {
        assert_eq!(call_i32(&inst, "same", &[Val::I32(x)]), x.wrapping_add(1));
        assert_eq!(call_i32(&inst, "empty_arms", &[Val::I32(x)]), x);
    }
    for (n, want) in [(0, 3), (1, 3), (3, 3), (4, 6), (100, 102)] {
        assert_eq!(call_i32(&inst, "exit", &[Val::I32(n)]), want);
    }
}

/// `select` on a comparison used only there (`cmp; cmovcc`), against a
/// register or a constant, for each compare width and each value width, and
/// on a plain boolean (`test; cmovne`).
#[test]
fn selects_as_cmov() {
    let mut wat = String::from("(module\n");
    for ty in ["i32", "i64"] {
        for vt in ["i32", "i64"] {
            for cc in CONDS {
                wat += &format!(
                    "(func (export \"sel_{ty}_{vt}_{cc}\") (param {ty} {ty} {vt} {vt}) (result {vt})
                       (select (local.get 2) (local.get 3) ({ty}.{cc} (local.get 0) (local.get 1))))
                     (func (export \"seli_{ty}_{vt}_{cc}\") (param {ty} {ty} {vt} {vt}) (result {vt})
                       (select (local.get 2) (local.get 3) ({ty}.{cc} (local.get 0) ({ty}.const 5))))\n"
                );
            }
        }
    }
    wat += "(func (export \"bool\") (param i32 i64 i64) (result i64)
              (select (local.get 1) (local.get 2) (local.get 0)))
            (func (export \"kept\") (param i32 i32 i32 i32) (result i32) (local i32)
              (local.set 4 (i32.lt_u (local.get 0) (local.get 1)))
              (i32.add (local.get 4) (select (local.get 2) (local.get 3) (local.get 4)))))";
    let inst = instantiate(&wat);
    let (p, q) = (0x1234_5678_9abc_def0_i64, -7_i64);
    for &a in &EDGES_64 {
        for &b in &EDGES_64 {
            for cc in CONDS {
                for (ty, vt) in [
                    ("i32", "i32"),
                    ("i32", "i64"),
                    ("i64", "i32"),
                    ("i64", "i64"),
                ] {
                    let (holds, holds_k, x, y) = if ty == "i32" {
                        let (x, y) = (a as i32, b as i32);
                        (cond32(cc, x, y), cond32(cc, x, 5), Val::I32(x), Val::I32(y))
                    } else {
                        (cond64(cc, a, b), cond64(cc, a, 5), Val::I64(a), Val::I64(b))
                    };
                    let (vp, vq) = if vt == "i32" {
                        (Val::I32(p as i32), Val::I32(q as i32))
                    } else {
                        (Val::I64(p), Val::I64(q))
                    };
                    let args = [x, y, vp, vq];
                    for (name, h) in [("sel", holds), ("seli", holds_k)] {
                        let got = inst
                            .invoke(&format!("{name}_{ty}_{vt}_{cc}"), &args)
                            .expect("runs");
                        let want = if h { vp } else { vq };
                        assert_eq!(
                            format!("{got:?}"),
                            format!("{:?}", [want]),
                            "{name} {ty}.{cc} {a} {b} {vt}"
                        );
                    }
                }
            }
        }
        let c = a as i32;
        let got = inst
            .invoke("bool", &[Val::I32(c), Val::I64(p), Val::I64(q)])
            .expect("runs");
        assert_eq!(
            format!("{got:?}"),
            format!("{:?}", [Val::I64(if c != 0 { p } else { q })])
        );
        for &b in &EDGES_64 {
            let lt = ((a as u32) < (b as u32)) as i32;
            let args = [
                Val::I32(a as i32),
                Val::I32(b as i32),
                Val::I32(100),
                Val::I32(200),
            ];
            assert_eq!(
                call_i32(&inst, "kept", &args),
                lt + if lt == 1 { 100 } else { 200 }
            );
        }
    }
}
