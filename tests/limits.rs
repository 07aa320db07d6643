//! Resource limits refuse, they never abort (issue 10): growth past a limit
//! returns -1, oversized segments trap or are refused, deep recursion traps,
//! and modules past a count limit exit 2 with a message. Every case runs
//! through the CLI, as a user would meet it.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Writes `bytes` to a per-test file, runs `pccc run <file> <args>`, and
/// removes the file.
fn run_bytes(name: &str, ext: &str, bytes: &[u8], args: &[&str]) -> Output {
    let path: PathBuf =
        std::env::temp_dir().join(format!("pccc-limits-{}-{name}.{ext}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_pccc"))
        // Not the user's verification cache.
        .env(
            "PCCC_CACHE_DIR",
            std::env::temp_dir().join("pccc-test-cache"),
        )
        .arg("run")
        .arg(&path)
        .args(args)
        .output()
        .expect("run pccc");
    std::fs::remove_file(&path).ok();
    o
}

fn run_wat(name: &str, wat: &str, args: &[&str]) -> Output {
    run_bytes(name, "wat", wat.as_bytes(), args)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Exit 0, printing `want`.
fn prints(o: &Output, want: &str) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "stderr: {err}");
    assert_eq!(text(&o.stdout).trim_end(), want, "stderr: {err}");
}

/// Exit 3 with `trap: <kind>`.
fn traps(o: &Output, kind: &str) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "stderr: {err}");
    assert_eq!(err.trim_end(), format!("trap: {kind}"));
}

/// Exit 2 with an `error:` line containing `needle`, no panic.
fn refused(o: &Output, needle: &str) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.starts_with("error:"), "stderr: {err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked"), "stderr: {err}");
}

// ---- binary modules the text format can't write compactly ----

fn leb(mut n: u64) -> Vec<u8> {
    let mut out = vec![];
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

fn section(id: u8, body: &[u8]) -> Vec<u8> {
    let mut s = vec![id];
    s.extend(leb(body.len() as u64));
    s.extend_from_slice(body);
    s
}

/// `count` followed by the concatenated items.
fn vector(count: u64, items: &[u8]) -> Vec<u8> {
    let mut v = leb(count);
    v.extend_from_slice(items);
    v
}

const HEADER: &[u8] = b"\0asm\x01\0\0\0";

/// A module of `body` sections after a type section with `() -> i32`.
fn module(sections: &[Vec<u8>]) -> Vec<u8> {
    let mut m = HEADER.to_vec();
    m.extend(section(1, &vector(1, &[0x60, 0x00, 0x01, 0x7f])));
    for s in sections {
        m.extend_from_slice(s);
    }
    m
}

/// `n` functions `() -> i32` returning 7; the last is exported as `f`.
fn funcs_sections(n: u64) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let funcs = section(3, &vector(n, &vec![0u8; n as usize]));
    let mut exp = vec![1, b'f', 0x00];
    exp.extend(leb(n - 1));
    let exports = section(7, &vector(1, &exp));
    let body = [0x04, 0x00, 0x41, 0x07, 0x0b];
    let code = section(10, &vector(n, &body.repeat(n as usize)));
    (funcs, exports, code)
}

// ---- tables ----

const TABLE_GROW: &str = r#"(module
  (table $t 1 funcref)
  (func (export "grow") (param i32) (result i32)
    (table.grow $t (ref.null func) (local.get 0))))"#;

/// The fuzzing finding: `table.grow` by 0xfffffffe on a table without a
/// maximum called `Vec::resize` for ~100 GB and aborted the process.
#[test]
fn table_grow_by_nearly_4g_elements_returns_minus_one() {
    prints(
        &run_wat("tg1", TABLE_GROW, &["--invoke", "grow", "4294967294"]),
        "-1",
    );
    prints(
        &run_wat("tg2", TABLE_GROW, &["--invoke", "grow", "-1"]),
        "-1",
    );
}

/// One table grows to the per-table cap (10,000,000 elements), not past it.
#[test]
fn table_grow_stops_at_the_per_table_cap() {
    prints(
        &run_wat("tg3", TABLE_GROW, &["--invoke", "grow", "10000000"]),
        "-1",
    );
    prints(
        &run_wat("tg4", TABLE_GROW, &["--invoke", "grow", "9999999"]),
        "1",
    );
}

/// Many tables each under the cap would still exhaust memory together: the
/// process-wide element budget (2 tables at the cap) makes growth fail.
#[test]
fn table_grow_past_the_process_budget_returns_minus_one() {
    let wat = r#"(module
      (table $a 0 funcref) (table $b 0 funcref) (table $c 0 funcref)
      (func (export "f") (result i32)
        (drop (table.grow $a (ref.null func) (i32.const 10000000)))
        (drop (table.grow $b (ref.null func) (i32.const 10000000)))
        ;; size of $b * 10 + the result of growing $c: 100000000 - 1
        (i32.add
          (i32.mul (table.size $b) (i32.const 10))
          (table.grow $c (ref.null func) (i32.const 1)))))"#;
    prints(&run_wat("tg5", wat, &["--invoke", "f"]), "99999999");
}

/// A table past the per-table cap is refused at compile time; tables that
/// are each under the cap but together past the budget, at instantiation.
#[test]
fn oversized_initial_tables_are_refused() {
    let one = "(module (table 20000000 funcref) (func (export \"f\")))";
    refused(
        &run_wat("tb1", one, &["--invoke", "f"]),
        "table of 20000000 elements exceeds 10000000",
    );
    let many = "(module (table 10000000 funcref) (table 10000000 funcref) \
                (table 1 funcref) (func (export \"f\")))";
    refused(
        &run_wat("tb2", many, &["--invoke", "f"]),
        "tables of 20000001 elements in all exceed",
    );
}

// ---- memory ----

const MEMORY_GROW: &str = r#"(module
  (memory 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

#[test]
fn memory_grow_past_its_limits_returns_minus_one() {
    for heap in ["static", "bounds-checked"] {
        for delta in ["-1", "65536", "268435456"] {
            let o = run_wat(
                "mg1",
                MEMORY_GROW,
                &["--heap", heap, "--invoke", "grow", delta],
            );
            prints(&o, "-1");
        }
    }
    // The bounds-checked reservation is 4096 pages: full, then no more.
    let bc = ["--heap", "bounds-checked", "--invoke", "grow"];
    prints(
        &run_wat("mg2", MEMORY_GROW, &[&bc[..], &["4095"]].concat()),
        "1",
    );
    prints(
        &run_wat("mg3", MEMORY_GROW, &[&bc[..], &["4096"]].concat()),
        "-1",
    );
    // A declared maximum is a limit too.
    let max = "(module (memory 1 2) \
               (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0))))";
    prints(&run_wat("mg4", max, &["--invoke", "grow", "1"]), "1");
    prints(&run_wat("mg5", max, &["--invoke", "grow", "2"]), "-1");
}

/// A memory larger than the bounds-checked reservation can't be hosted:
/// refused when compiling, naming the limit.
#[test]
fn memory_larger_than_the_reservation_is_refused() {
    let wat = "(module (memory 4097) (func (export \"f\")))";
    refused(
        &run_wat("mr1", wat, &["--heap", "bounds-checked", "--invoke", "f"]),
        "memory of 4097 pages is not supported by the bounds-checked heap: its reservation holds 4096 pages",
    );
    prints(
        &run_wat("mr2", wat, &["--heap", "static", "--invoke", "f"]),
        "",
    );
}

// ---- segments ----

fn code_and_export() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    funcs_sections(1)
}

/// 16 MiB of active data into a one-page memory: instantiation traps.
#[test]
fn huge_data_segment_traps() {
    let (funcs, exports, code) = code_and_export();
    let memory = section(5, &vector(1, &[0x00, 0x01]));
    let len = 16u64 << 20;
    let mut seg = vec![0x00, 0x41, 0x00, 0x0b];
    seg.extend(leb(len));
    seg.extend(std::iter::repeat_n(1u8, len as usize));
    let data = section(11, &vector(1, &seg));
    let m = module(&[funcs, memory, exports, code, data]);
    traps(
        &run_bytes("d1", "wasm", &m, &["--invoke", "f"]),
        "out of bounds memory access",
    );
}

/// A data segment that declares 4 GiB it doesn't have: a malformed module.
#[test]
fn data_segment_longer_than_the_file_is_refused() {
    let (funcs, exports, code) = code_and_export();
    let memory = section(5, &vector(1, &[0x00, 0x01]));
    let mut data = vec![11];
    data.extend(leb(16));
    data.extend(leb(1));
    data.extend([0x00, 0x41, 0x00, 0x0b]);
    data.extend(leb(0xffff_ffff));
    let m = [module(&[funcs, memory, exports, code]), data].concat();
    refused(
        &run_bytes("d2", "wasm", &m, &["--invoke", "f"]),
        "invalid module",
    );
}

fn elem_module(entries: u64, table_min: u8) -> Vec<u8> {
    let (funcs, exports, code) = code_and_export();
    let table = section(4, &vector(1, &[0x70, 0x00, table_min]));
    let mut seg = vec![0x00, 0x41, 0x00, 0x0b];
    seg.extend(leb(entries));
    seg.extend(std::iter::repeat_n(0u8, entries as usize));
    let elem = section(9, &vector(1, &seg));
    module(&[funcs, table, exports, elem, code])
}

/// 11 million entries in one element segment: past the parser's limit.
#[test]
fn element_segment_past_the_limit_is_refused() {
    refused(
        &run_bytes(
            "e1",
            "wasm",
            &elem_module(11_000_000, 1),
            &["--invoke", "f"],
        ),
        "number of elements is out of bounds",
    );
}

/// A million entries into a one-element table: instantiation traps.
#[test]
fn huge_element_segment_traps() {
    traps(
        &run_bytes("e2", "wasm", &elem_module(1_000_000, 1), &["--invoke", "f"]),
        "out of bounds table access",
    );
}

// ---- the stack ----

/// Unbounded recursion traps with "call stack exhausted", with small frames,
/// large frames (stack arguments, many live values) and through tables.
#[test]
fn deep_recursion_traps() {
    let direct = r#"(module
      (func $f (export "f") (param i64) (result i64)
        (i64.add (call $f (i64.add (local.get 0) (i64.const 1))) (i64.const 1))))"#;
    traps(
        &run_wat("r1", direct, &["--invoke", "f", "0"]),
        "call stack exhausted",
    );
    let wide = r#"(module
      (func $g (export "f") (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)
        (call $g (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5)
                 (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 0))))"#;
    traps(
        &run_wat(
            "r2",
            wide,
            &[
                "--invoke", "f", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
            ],
        ),
        "call stack exhausted",
    );
    let indirect = r#"(module
      (type $t (func (param i32) (result i32)))
      (table 1 funcref) (elem (i32.const 0) $h)
      (func $h (export "f") (param i32) (result i32)
        (i32.add (call_indirect (type $t) (local.get 0) (i32.const 0)) (i32.const 1))))"#;
    traps(
        &run_wat("r3", indirect, &["--invoke", "f", "0"]),
        "call stack exhausted",
    );
    // In the start function: instantiation traps the same way.
    let start = r#"(module
      (func $s (call $s)) (start $s) (func (export "f")))"#;
    traps(
        &run_wat("r4", start, &["--invoke", "f"]),
        "call stack exhausted",
    );
}

/// Recursion that fits still returns its value (the limit is not too tight).
#[test]
fn bounded_recursion_returns() {
    let wat = r#"(module
      (func $f (export "f") (param i64) (result i64)
        (if (result i64) (i64.eqz (local.get 0))
          (then (i64.const 0))
          (else (i64.add (call $f (i64.sub (local.get 0) (i64.const 1))) (i64.const 1))))))"#;
    prints(&run_wat("r5", wat, &["--invoke", "f", "10000"]), "10000");
}

// ---- counts ----

/// A function section declaring two million functions: past the limit,
/// refused before anything is allocated for them.
#[test]
fn function_count_past_the_limit_is_refused() {
    let m = module(&[section(3, &leb(2_000_000))]);
    refused(
        &run_bytes("c1", "wasm", &m, &["--invoke", "f"]),
        "functions count exceeds limit of 1000000",
    );
}

/// Many functions within the limit compile, verify and run.
#[test]
fn many_functions_compile_verify_and_run() {
    let (funcs, exports, code) = funcs_sections(10_000);
    let m = module(&[funcs, exports, code]);
    prints(&run_bytes("c2", "wasm", &m, &["--invoke", "f"]), "7");
}
