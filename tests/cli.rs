//! The command line as users meet it: exit codes, messages, and bad input
//! that must give a clear error (exit 2), never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pccc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pccc"))
        .args(args)
        .output()
        .expect("run pccc")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fib.wat")
}

/// A per-test scratch directory, removed when the test ends.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("pccc-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

fn compile_example(dir: &Path) -> PathBuf {
    let out = dir.join("fib.o");
    let o = pccc(&[
        "compile",
        example().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "compile failed: {}", stderr(&o));
    out
}

/// Exit code 2 with an `error:` line and no panic.
fn assert_bad_input(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("error:"), "stderr: {err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
}

#[test]
fn compile_then_run_the_example() {
    let dir = scratch("example");
    let art = compile_example(&dir);
    let bytes = std::fs::read(&art).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF");
    let o = pccc(&["run", art.to_str().unwrap(), "--invoke", "fib", "20"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "6765\n");
    let o = pccc(&[
        "run",
        example().to_str().unwrap(),
        "--invoke",
        "sum_squares",
        "100",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // sum of i^2 for i < 100
    assert_eq!(stdout(&o), "328350\n");
    assert!(
        !stderr(&o).contains("unverified"),
        "verified code runs without the warning"
    );
    let o = pccc(&[
        "run",
        art.to_str().unwrap(),
        "--unverified",
        "--invoke",
        "fib",
        "20",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unverified"),
        "running unverified code must warn"
    );
}

#[test]
fn a_trap_exits_3_and_names_its_kind() {
    let o = pccc(&[
        "run",
        example().to_str().unwrap(),
        "--invoke",
        "div",
        "7",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("trap: integer divide by zero"),
        "{}",
        stderr(&o)
    );
    let o = pccc(&[
        "run",
        example().to_str().unwrap(),
        "--invoke",
        "div",
        "-2147483648",
        "-1",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("trap: integer overflow"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unknown_export_and_bad_arguments_are_usage_errors() {
    let ex = example();
    let ex = ex.to_str().unwrap();
    assert_bad_input(
        &pccc(&["run", ex, "--invoke", "nope"]),
        "no exported function `nope`",
    );
    assert_bad_input(&pccc(&["run", ex, "--invoke", "fib"]), "takes 1 argument");
    assert_bad_input(
        &pccc(&["run", ex, "--invoke", "fib", "ten"]),
        "not an integer",
    );
    assert_bad_input(
        &pccc(&["run", ex, "--invoke", "fib", "0x1_0000_0000"]),
        "does not fit in 32 bits",
    );
}

#[test]
fn malformed_modules_are_rejected_with_exit_2() {
    let dir = scratch("malformed");
    let valid = wat::parse_str("(module (func (export \"f\") (result i32) i32.const 1))").unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.wasm",
            valid[..valid.len() - 3].to_vec(),
            "invalid module",
        ),
        ("badmagic.wasm", b"\0asX\x01\0\0\0".to_vec(), "magic"),
        ("empty.wasm", vec![], "invalid module"),
        (
            "badbody.wat",
            b"(module (func (result i32) i64.const 1))".to_vec(),
            "invalid module",
        ),
        (
            "notwat.wat",
            b"(module (func (bogus)))".to_vec(),
            "invalid WebAssembly text",
        ),
    ];
    for (name, bytes, needle) in cases {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let out = dir.join(format!("{name}.o"));
        let o = pccc(&[
            "compile",
            path.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_bad_input(&o, needle);
        assert!(
            !out.exists(),
            "{name}: no artifact may be written on failure"
        );
    }
}

#[test]
fn corrupted_artifacts_are_rejected_with_exit_2() {
    let dir = scratch("corrupt");
    let art = compile_example(&dir);
    let good = std::fs::read(&art).unwrap();

    // The ELF header itself.
    let mut header = good.clone();
    header[4] = 9; // EI_CLASS: neither 32- nor 64-bit
                   // The metadata section's magic and payload, found by content.
    let meta_at = good
        .windows(8)
        .position(|w| w == b"PCCCMETA")
        .expect("metadata magic in artifact");
    let mut magic = good.clone();
    magic[meta_at] ^= 0xff;
    let mut version = good.clone();
    version[meta_at + 8] = 0x7f;
    let mut payload = good.clone();
    for b in &mut payload[meta_at + 12..meta_at + 40] {
        *b = 0xff;
    }
    let truncated = good[..good.len() / 2].to_vec();
    // The fact table is read by `disasm` (and by the validator, later).
    let facts_at = good
        .windows(8)
        .position(|w| w == b"PCCCFACT")
        .expect("fact-table magic in artifact");
    let mut facts = good.clone();
    for b in &mut facts[facts_at + 12..facts_at + 24] {
        *b = 0xff;
    }
    let o = {
        let path = dir.join("facts.o");
        std::fs::write(&path, &facts).unwrap();
        pccc(&["disasm", path.to_str().unwrap()])
    };
    assert_eq!(o.status.code(), Some(2), "facts: {}", stderr(&o));
    assert!(stderr(&o).contains("fact"), "facts: {}", stderr(&o));

    for (name, bytes) in [
        ("header", header),
        ("magic", magic),
        ("version", version),
        ("payload", payload),
        ("truncated", truncated),
    ] {
        let path = dir.join(format!("{name}.o"));
        std::fs::write(&path, &bytes).unwrap();
        for cmd in [
            vec!["run", path.to_str().unwrap(), "--invoke", "fib", "1"],
            vec!["disasm", path.to_str().unwrap()],
        ] {
            let o = pccc(&cmd);
            assert_eq!(o.status.code(), Some(2), "{name} {cmd:?}: {}", stderr(&o));
            assert!(!stderr(&o).contains("panicked"), "{name}: {}", stderr(&o));
        }
    }
}

#[test]
fn bounds_checked_heap_verifies_runs_and_traps_past_the_memory() {
    let dir = scratch("heap");
    let wat = dir.join("m.wat");
    std::fs::write(
        &wat,
        r#"(module (memory 1)
          (func (export "peek") (param i32) (result i32) (i32.load offset=4 (local.get 0))))"#,
    )
    .unwrap();
    let out = dir.join("m.o");
    let o = pccc(&[
        "compile",
        "--verify",
        "--heap",
        "bounds-checked",
        wat.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = pccc(&["disasm", out.to_str().unwrap()]);
    assert!(stdout(&o).contains("heap strategy bounds-checked"));
    // The last in-bounds word of the one page, then one byte past it.
    let o = pccc(&["run", out.to_str().unwrap(), "--invoke", "peek", "65528"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "0");
    let o = pccc(&["run", out.to_str().unwrap(), "--invoke", "peek", "65529"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("out of bounds memory access"));
}

#[test]
fn help_documents_exit_codes() {
    let o = pccc(&["--help"]);
    assert!(o.status.success());
    let out = stdout(&o);
    for needle in [
        "compile",
        "run",
        "disasm",
        "Exit codes",
        "3  the invoked function trapped",
    ] {
        assert!(out.contains(needle), "--help lacks `{needle}`:\n{out}");
    }
    let o = pccc(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn disasm_shows_code_and_facts() {
    let o = pccc(&["disasm", example().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("fib (func 0"), "{out}");
    assert!(out.contains("push"), "{out}");
    assert!(
        out.contains("heap_base") && out.contains("vmctx"),
        "facts missing:\n{out}"
    );
    assert!(
        out.contains("range64[0x0, 0xffffffff]"),
        "no zero-extension facts:\n{out}"
    );
    assert!(
        out.contains("trap: integer divide by zero"),
        "no trap sites:\n{out}"
    );
}

/// A WASI command: writes to stdout, reads a file from a preopened
/// directory, may not open a path outside it, and exits with a status.
#[test]
fn wasi_command_runs_with_a_preopened_directory() {
    let dir = scratch("wasi");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("in.txt"), "from the host\n").unwrap();
    std::fs::write(dir.join("secret"), "outside\n").unwrap();
    // A symbolic link inside the preopen that leads out of it.
    std::os::unix::fs::symlink(dir.join("secret"), data.join("link")).unwrap();
    let wat = dir.join("cmd.wat");
    std::fs::write(
        &wat,
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "path_open"
            (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "hi\n")
          (data (i32.const 32) "in.txt")
          (data (i32.const 48) "../secret")
          (data (i32.const 64) "link")
          (func (export "_start") (local $fd i32)
            ;; iovec at 0: "hi\n" -> stdout
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 3))
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            ;; open in.txt under fd 3 (the preopen), read it into 100.., echo it
            (if (call $open (i32.const 3) (i32.const 0) (i32.const 32) (i32.const 6)
                  (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 12))
              (then (call $exit (i32.const 99))))
            (i32.store (i32.const 0) (i32.const 100))
            (i32.store (i32.const 4) (i32.const 64))
            (drop (call $read (i32.load (i32.const 12)) (i32.const 0) (i32.const 1) (i32.const 8)))
            (i32.store (i32.const 4) (i32.load (i32.const 8)))
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            ;; a symlink out of the preopen must be refused too
            (if (i32.eqz (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 4)
                  (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 12)))
              (then (call $exit (i32.const 98))))
            ;; ../secret must be refused: exit with 10 + its errno
            (call $exit (i32.add (i32.const 10)
              (call $open (i32.const 3) (i32.const 0) (i32.const 48) (i32.const 9)
                (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 12))))))"#,
    )
    .unwrap();
    let o = pccc(&[
        "run",
        wat.to_str().unwrap(),
        "--dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(stdout(&o), "hi\nfrom the host\n", "{}", stderr(&o));
    // errno 2 (EACCES) for the escape attempt.
    assert_eq!(o.status.code(), Some(12), "{}", stderr(&o));
}

#[test]
fn obligations_come_as_smtlib_text_and_json_with_stable_names() {
    let ex = example();
    let smt = pccc(&["obligations", ex.to_str().unwrap()]);
    assert!(smt.status.success(), "{}", stderr(&smt));
    let smt = stdout(&smt);
    assert_eq!(smt.matches("(check-sat)").count(), 2, "{smt}");
    assert!(smt.contains(":named f1.a0.index_max"), "{smt}");
    let json = pccc(&["obligations", "--format", "json", ex.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("JSON");
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["f1.a0", "f1.a1"]);
    let text = pccc(&["obligations", "--format", "text", ex.to_str().unwrap()]);
    assert_eq!(stdout(&text).lines().count(), 2);
}

/// `verify --explain` on the seeded miscompile: the window before a rejected
/// access with register facts, and the chain back to the movsxd reload.
#[test]
fn verify_explain_shows_the_window_and_the_index_chain() {
    let dir = scratch("explain");
    let wasm = wat::parse_str(include_str!("modules/pressure.wat")).unwrap();
    let seeded = backend::CompileOptions {
        seed_sign_extending_reloads: true,
        ..backend::CompileOptions::default()
    };
    let art = dir.join("seeded.o");
    std::fs::write(&art, pccc::compile_bytes(&wasm, &seeded).unwrap().to_elf()).unwrap();
    let o = pccc(&["verify", "--explain", art.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("before it (with what the validator knew):"),
        "{err}"
    );
    let chain = err
        .split("the index came from (newest first):")
        .nth(1)
        .unwrap_or_else(|| panic!("no index chain in:\n{err}"));
    assert!(chain.contains("movsxd"), "{err}");
}
