//! The command line as users meet it: exit codes, messages, and bad input
//! that must give a clear error (exit 2), never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pccc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pccc"))
        // Not the user's verification cache.
        .env(
            "PCCC_CACHE_DIR",
            std::env::temp_dir().join("pccc-test-cache"),
        )
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
                  (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 12))
              (then (call $exit (i32.const 99))))
            (i32.store (i32.const 0) (i32.const 100))
            (i32.store (i32.const 4) (i32.const 64))
            (drop (call $read (i32.load (i32.const 12)) (i32.const 0) (i32.const 1) (i32.const 8)))
            (i32.store (i32.const 4) (i32.load (i32.const 8)))
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            ;; a symlink out of the preopen must be refused too
            (if (i32.eqz (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 4)
                  (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 12)))
              (then (call $exit (i32.const 98))))
            ;; ../secret must be refused: exit with 10 + its errno
            (call $exit (i32.add (i32.const 10)
              (call $open (i32.const 3) (i32.const 0) (i32.const 48) (i32.const 9)
                (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 12))))))"#,
    )
    .unwrap();
    let o = pccc(&[
        "run",
        wat.to_str().unwrap(),
        "--dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(stdout(&o), "hi\nfrom the host\n", "{}", stderr(&o));
    // errno 63 (EPERM, Wasmtime's escape_attempt) for the escape attempt.
    assert_eq!(o.status.code(), Some(73), "{}", stderr(&o));
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

// ---------------------------------------------------------------------------
// Issue 10: the CLI as a new user meets it.

/// `pccc` with `stdin` fed to it.
fn pccc_in(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_pccc"))
        // Not the user's verification cache.
        .env(
            "PCCC_CACHE_DIR",
            std::env::temp_dir().join("pccc-test-cache"),
        )
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pccc");
    let mut input = child.stdin.take().unwrap();
    // The child may exit before reading everything: ignore a broken pipe.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().unwrap()
}

/// The seeded miscompile (sign-extending reloads): an artifact the validator rejects.
fn rejected_artifact(dir: &Path) -> PathBuf {
    let wasm = wat::parse_str(include_str!("modules/pressure.wat")).unwrap();
    let seeded = backend::CompileOptions {
        seed_sign_extending_reloads: true,
        ..backend::CompileOptions::default()
    };
    let art = dir.join("seeded.o");
    std::fs::write(&art, pccc::compile_bytes(&wasm, &seeded).unwrap().to_elf()).unwrap();
    art
}

/// A line of the `verify` summary table, by its label.
fn summary_field(out: &str, name: &str) -> String {
    out.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l[name.len()..].split_whitespace().next())
        .unwrap_or_else(|| panic!("no `{name}` in:\n{out}"))
        .to_string()
}

#[test]
fn options_may_follow_the_positional_arguments() {
    let dir = scratch("optorder");
    let art = compile_example(&dir);
    let art = art.to_str().unwrap();
    // The report's example: the flag after the function's argument.
    let o = pccc(&["run", art, "--invoke", "fib", "10", "--unverified"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "55\n");
    assert!(stderr(&o).contains("unverified"), "{}", stderr(&o));
    // Every option after the input and the arguments.
    let ex = example();
    let o = pccc(&[
        "run",
        ex.to_str().unwrap(),
        "7",
        "2",
        "--heap",
        "bounds-checked",
        "--invoke",
        "div",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "3\n");
    // Negative numbers are arguments, not options; after `--` anything is.
    let o = pccc(&["run", ex.to_str().unwrap(), "--invoke", "div", "-7", "2"]);
    assert_eq!(stdout(&o), "-3\n", "{}", stderr(&o));
    let o = pccc(&[
        "run",
        ex.to_str().unwrap(),
        "--invoke",
        "div",
        "--",
        "-0x7",
        "2",
    ]);
    assert_eq!(stdout(&o), "-3\n", "{}", stderr(&o));
    // `verify` and `compile` too.
    let o = pccc(&["verify", art, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str::<serde_json::Value>(&stdout(&o)).expect("JSON");
    let out = dir.join("again.o");
    let o = pccc(&[
        "compile",
        ex.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--verify",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn heap_is_refused_for_an_artifact_input() {
    let dir = scratch("heapart");
    let art = compile_example(&dir);
    let art = art.to_str().unwrap();
    for cmd in [
        vec![
            "run",
            art,
            "--heap",
            "bounds-checked",
            "--invoke",
            "fib",
            "3",
        ],
        vec!["disasm", art, "--heap", "bounds-checked"],
        vec!["obligations", art, "--heap", "static"],
    ] {
        let o = pccc(&cmd);
        assert_bad_input(&o, "--heap");
        assert!(stderr(&o).contains("fib.o"), "{cmd:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{cmd:?}: {}", stdout(&o));
    }
    // Without --heap, an artifact runs with the strategy it was compiled with.
    let o = pccc(&["run", art, "--invoke", "fib", "3"]);
    assert_eq!(stdout(&o), "2\n", "{}", stderr(&o));
}

#[test]
fn output_through_a_symlink_keeps_the_symlink() {
    let dir = scratch("symlink");
    let target = dir.join("target.o");
    std::fs::write(&target, b"old").unwrap();
    let link = dir.join("link.o");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = pccc(&[
        "compile",
        example().to_str().unwrap(),
        "-o",
        link.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        link.symlink_metadata().unwrap().file_type().is_symlink(),
        "the symlink was replaced by a regular file"
    );
    assert_eq!(&std::fs::read(&target).unwrap()[..4], b"\x7fELF");
    // A regular file is still replaced atomically, and no temporary is left.
    let plain = dir.join("plain.o");
    let o = pccc(&[
        "compile",
        example().to_str().unwrap(),
        "-o",
        plain.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names: Vec<String> = std::fs::read_dir(&*dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("tmp")), "{names:?}");
}

#[test]
fn dash_is_stdin_and_stdout() {
    let wat = std::fs::read(example()).unwrap();
    // compile: module on stdin, artifact on stdout.
    let o = pccc_in(&["compile", "-", "-o", "-"], &wat);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(&o.stdout[..4], b"\x7fELF");
    let elf = o.stdout;
    // run, disasm, obligations, verify: artifact (or module) on stdin.
    let o = pccc_in(&["run", "-", "--invoke", "fib", "10"], &elf);
    assert_eq!(stdout(&o), "55\n", "{}", stderr(&o));
    let o = pccc_in(&["run", "-", "--invoke", "fib", "10"], &wat);
    assert_eq!(stdout(&o), "55\n", "{}", stderr(&o));
    let o = pccc_in(&["disasm", "-"], &elf);
    assert!(stdout(&o).contains("fib (func 0"), "{}", stderr(&o));
    let o = pccc_in(&["obligations", "--format", "text", "-"], &elf);
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stderr(&o));
    let o = pccc_in(&["verify", "-"], &elf);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("accepted:"), "{}", stdout(&o));
    // Errors name stdin.
    let o = pccc_in(&["compile", "-", "-o", "-"], b"(module (func (bogus)))");
    assert_bad_input(&o, "<stdin>:1:16");
    assert!(o.stdout.is_empty());
}

#[test]
fn verify_jobs_is_capped_at_the_number_of_cpus() {
    let dir = scratch("jobs");
    let a = compile_example(&dir);
    let b = dir.join("b.o");
    std::fs::copy(&a, &b).unwrap();
    let cpus = std::thread::available_parallelism().unwrap().get();
    let start = std::time::Instant::now();
    let o = pccc(&[
        "verify",
        "--jobs",
        "99999",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(summary_field(&stdout(&o), "threads"), cpus.to_string());
    let o = pccc(&[
        "verify",
        "--jobs",
        "1",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(summary_field(&stdout(&o), "threads"), "1");
    let help = stdout(&pccc(&["verify", "--help"]));
    assert!(help.contains("capped at the number of CPUs"), "{help}");
}

/// A SIMD operator pccc does not compile (relaxed SIMD's
/// `i32x4.relaxed_trunc_f32x4_s`; every fixed-width one is lowered) is named
/// unsupported, not called invalid.
#[test]
fn simd_is_named_unsupported_not_invalid() {
    let dir = scratch("simd");
    let path = dir.join("simd.wat");
    std::fs::write(
        &path,
        "(module (func (export \"f\") (result i32) \
           (i32x4.extract_lane 0 (i32x4.relaxed_trunc_f32x4_s (v128.const f32x4 1 2 3 4)))))",
    )
    .unwrap();
    for cmd in [
        vec!["compile", path.to_str().unwrap(), "-o", "/nonexistent/x.o"],
        vec!["run", path.to_str().unwrap(), "--invoke", "f"],
    ] {
        let o = pccc(&cmd);
        assert_bad_input(&o, "unsupported");
        let err = stderr(&o);
        assert!(err.contains("SIMD"), "{err}");
        assert!(err.contains("simd.wat"), "{err}");
        assert!(!err.contains("invalid module"), "{err}");
    }
    // The operator this test used to name, i16x8.q15mulr_sat_s, now runs:
    // lane 0 is 0x8000 * 0x8000 saturated to 0x7fff, lane 1 0x4000 squared
    // (0x2000), read together as i32 lane 0.
    let lowered = dir.join("q15.wat");
    std::fs::write(
        &lowered,
        "(module (func (export \"f\") (result i32) \
           (i32x4.extract_lane 0 (i16x8.q15mulr_sat_s \
             (v128.const i16x8 -32768 16384 0 0 0 0 0 0) \
             (v128.const i16x8 -32768 16384 0 0 0 0 0 0)))))",
    )
    .unwrap();
    let o = pccc(&["run", lowered.to_str().unwrap(), "--invoke", "f"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), (0x2000_7fff).to_string());
    // A truly invalid module is still called invalid.
    let bad = dir.join("bad.wat");
    std::fs::write(&bad, "(module (func (result i32) i64.const 1))").unwrap();
    assert_bad_input(&pccc(&["run", bad.to_str().unwrap()]), "invalid module");
}

/// v128 parameters and results on the command line, as wasmtime takes and
/// prints them: one 128-bit integer, lane 0 in the low bits.
#[test]
fn v128_arguments_and_results_on_the_command_line() {
    let dir = scratch("v128");
    let path = dir.join("v.wat");
    std::fs::write(
        &path,
        "(module (func (export \"add\") (param v128 v128) (result v128) \
           (i32x4.add (local.get 0) (local.get 1))))",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let o = pccc(&[
        "run",
        p,
        "--invoke",
        "add",
        "0x00000001000000020000000300000004",
        "16",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "0x00000001000000020000000300000014");
    assert_bad_input(
        &pccc(&["run", p, "--invoke", "add", "0xg", "1"]),
        "not a v128",
    );
}

#[test]
fn wat_syntax_errors_name_the_file() {
    let dir = scratch("watname");
    let path = dir.join("bad.wat");
    std::fs::write(&path, "(module (func (bogus)))").unwrap();
    for cmd in [
        vec!["compile", path.to_str().unwrap(), "-o", "/nonexistent/x.o"],
        vec!["run", path.to_str().unwrap()],
        vec!["disasm", path.to_str().unwrap()],
    ] {
        let o = pccc(&cmd);
        assert_bad_input(&o, &format!("{}:1:16", path.display()));
        assert!(!stderr(&o).contains("<anon>"), "{}", stderr(&o));
    }
}

#[test]
fn nul_containing_input_gets_a_message_not_a_debug_dump() {
    let dir = scratch("nul");
    let path = dir.join("notes.txt");
    std::fs::write(&path, b"hello\0world").unwrap();
    for cmd in [
        vec!["compile", path.to_str().unwrap(), "-o", "/nonexistent/x.o"],
        vec!["run", path.to_str().unwrap()],
    ] {
        let o = pccc(&cmd);
        assert_bad_input(&o, "notes.txt");
        let err = stderr(&o);
        assert!(err.contains("magic"), "{err}");
        assert_eq!(err.lines().count(), 1, "one line, no dump: {err}");
        assert!(!err.contains("0x61"), "{err}");
    }
}

#[test]
fn every_error_names_the_file() {
    let dir = scratch("names");
    let art = compile_example(&dir);
    let good = std::fs::read(&art).unwrap();
    let trunc = dir.join("trunc.o");
    std::fs::write(&trunc, &good[..good.len() / 2]).unwrap();
    let t = trunc.to_str().unwrap();
    let invalid = dir.join("invalid.wat");
    std::fs::write(&invalid, "(module (func (result i32) i64.const 1))").unwrap();
    let i = invalid.to_str().unwrap();
    for (cmd, name) in [
        (vec!["run", t, "--invoke", "fib", "1"], "trunc.o"),
        (vec!["disasm", t], "trunc.o"),
        (vec!["obligations", t], "trunc.o"),
        (vec!["verify", t], "trunc.o"),
        (vec!["artifact", "dump", t], "trunc.o"),
        (vec!["run", i, "--invoke", "f"], "invalid.wat"),
        (vec!["disasm", i], "invalid.wat"),
        (vec!["obligations", i], "invalid.wat"),
        (vec!["compile", i, "-o", "/nonexistent/x.o"], "invalid.wat"),
    ] {
        assert_bad_input(&pccc(&cmd), name);
    }
    // A rejection names the artifact too.
    let seeded = rejected_artifact(&dir);
    let o = pccc(&["verify", seeded.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("seeded.o"), "{}", stderr(&o));
}

#[test]
fn explain_is_honoured_with_several_artifacts() {
    let dir = scratch("explain-many");
    let good = compile_example(&dir);
    let seeded = rejected_artifact(&dir);
    let o = pccc(&[
        "verify",
        "--explain",
        good.to_str().unwrap(),
        seeded.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("before it (with what the validator knew):"),
        "{err}"
    );
    assert!(err.contains("the index came from (newest first):"), "{err}");
    assert!(err.contains("seeded.o"), "{err}");
}

#[test]
fn bad_input_is_named_even_when_something_is_rejected() {
    let dir = scratch("bad-and-rejected");
    let seeded = rejected_artifact(&dir);
    let junk = dir.join("junk.o");
    std::fs::write(&junk, b"not an artifact").unwrap();
    let o = pccc(&["verify", seeded.to_str().unwrap(), junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("seeded.o"), "{err}");
    assert!(err.contains("junk.o"), "{err}");
}

#[test]
fn heap_accesses_proved_counts_accepted_artifacts_only() {
    let dir = scratch("proved");
    let good = compile_example(&dir);
    let seeded = rejected_artifact(&dir);
    let o = pccc(&["verify", good.to_str().unwrap()]);
    let one: validator_summary::Single = validator_summary::single(&stdout(&o));
    let o = pccc(&["verify", good.to_str().unwrap(), seeded.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        summary_field(&stdout(&o), "heap accesses proved"),
        one.heap.to_string(),
        "{}",
        stdout(&o)
    );
}

/// The numbers of a one-artifact `verify` summary line.
mod validator_summary {
    pub struct Single {
        pub heap: u64,
    }
    pub fn single(line: &str) -> Single {
        let heap = line
            .split("memory accesses: ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no heap count in {line}"));
        Single { heap }
    }
}

#[test]
fn a_path_given_twice_is_verified_once() {
    let dir = scratch("twice");
    let a = compile_example(&dir);
    let b = dir.join("b.o");
    std::fs::copy(&a, &b).unwrap();
    let dotted = dir.join(".").join("fib.o");
    let o = pccc(&[
        "verify",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        a.to_str().unwrap(),
        dotted.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        summary_field(&stdout(&o), "artifacts"),
        "2",
        "{}",
        stdout(&o)
    );
    // Twice the same file alone is the one-artifact form.
    let o = pccc(&["verify", a.to_str().unwrap(), a.to_str().unwrap()]);
    assert!(stdout(&o).starts_with("accepted:"), "{}", stdout(&o));
}

#[test]
fn json_floats_are_rounded() {
    let dir = scratch("json-floats");
    let a = compile_example(&dir);
    let b = dir.join("b.o");
    std::fs::copy(&a, &b).unwrap();
    let check = |text: &str| {
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
            let ms = v["elapsed_ms"].to_string();
            let decimals = ms.split('.').nth(1).map_or(0, str::len);
            assert!(decimals <= 3, "elapsed_ms {ms} in {line}");
        }
    };
    check(&stdout(&pccc(&["verify", "--json", a.to_str().unwrap()])));
    check(&stdout(&pccc(&[
        "verify",
        "--json",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ])));
}

#[test]
fn verify_json_on_a_reject_prints_no_blank_stderr_line() {
    let dir = scratch("json-reject");
    let seeded = rejected_artifact(&dir);
    let o = pccc(&["verify", "--json", seeded.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["accepted"], false);
    let err = stderr(&o);
    assert!(err.lines().all(|l| !l.trim().is_empty()), "{err:?}");
    assert!(err.contains("seeded.o"), "{err:?}");
}

#[test]
fn help_is_concise_documented_and_has_examples() {
    let top = stdout(&pccc(&["--help"]));
    assert_eq!(top.matches("Exit codes").count(), 1, "{top}");
    for sub in [
        vec!["compile"],
        vec!["verify"],
        vec!["run"],
        vec!["obligations"],
        vec!["disasm"],
        vec!["artifact", "dump"],
        vec!["artifact", "build"],
    ] {
        for flag in ["-h", "--help"] {
            let mut args = sub.clone();
            args.push(flag);
            let o = pccc(&args);
            assert!(o.status.success(), "{args:?}");
            let help = stdout(&o);
            assert!(
                !help.contains("Exit codes"),
                "{args:?} repeats the exit codes:\n{help}"
            );
            assert!(help.contains("Example"), "{args:?} has no example:\n{help}");
            // Every argument and option has a description: no bare `<INPUT>` line.
            let lines: Vec<&str> = help.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let t = line.trim_start();
                let indent = line.len() - t.len();
                let item = indent < 10
                    && (t.starts_with('<') || t.starts_with('[') || t.starts_with("--"));
                let described = t.trim_end().contains("  ")
                    || lines
                        .get(i + 1)
                        .is_some_and(|n| n.starts_with("          ") && !n.trim().is_empty());
                assert!(
                    !item || described,
                    "{args:?}: `{t}` has no description:\n{help}"
                );
            }
        }
    }
    let run = stdout(&pccc(&["run", "-h"]));
    assert!(run.contains("<INPUT>  "), "{run}");
    assert!(run.contains("float"), "{run}");
    let obligations = stdout(&pccc(&["obligations", "--help"]));
    for v in ["smtlib:", "text:", "json:"] {
        assert!(
            obligations.contains(v),
            "`{v}` undocumented:\n{obligations}"
        );
    }
    let disasm = stdout(&pccc(&["disasm", "-h"]));
    let heap = disasm
        .lines()
        .find(|l| l.contains("--heap"))
        .unwrap_or_else(|| panic!("{disasm}"));
    assert!(heap.contains("Heap"), "--heap undocumented:\n{disasm}");
}

/// `-inf`, `-nan` and `-0x…` are values of `--invoke`'s arguments, anywhere
/// among the options, with or without `--` (clap alone took them for options).
#[test]
fn negative_float_and_hex_arguments_need_no_double_dash() {
    let dir = scratch("negative-args");
    let m = dir.0.join("id.wat");
    std::fs::write(
        &m,
        r#"(module (func (export "f") (param f64 i64 f32) (result f64 i64 f32)
             local.get 0 local.get 1 local.get 2))"#,
    )
    .unwrap();
    let m = m.to_str().unwrap();
    let cases: [Vec<&str>; 3] = [
        vec!["run", m, "--invoke", "f", "-inf", "-0x10", "-1.5"],
        vec![
            "run", m, "-inf", "--invoke", "f", "-0x1_0", "--heap", "static", "-1.5",
        ],
        vec![
            "run",
            m,
            "--invoke",
            "f",
            "--",
            "-Infinity",
            "-0X10",
            "-1.5",
        ],
    ];
    for argv in cases {
        let o = pccc(&argv[..]);
        assert_eq!(o.status.code(), Some(0), "{argv:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), "-inf\n-16\n-1.5\n", "{argv:?}");
    }
    let o = pccc(&[
        "run",
        m,
        "--invoke",
        "f",
        "-nan",
        "-0x8000000000000000",
        "-nan",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "NaN\n-9223372036854775808\nNaN\n");
    // A real option is still an option, and an unknown one still an error.
    assert_bad_input(&pccc(&["run", m, "--invoke", "f", "-x", "1", "2"]), "-x");
}

/// `run --unverified` does not read `.pcc.facts` (running needs none of it):
/// an artifact whose facts section is unreadable still runs that way, while
/// `run` and `verify`, which need the facts, refuse it with exit 2.
#[test]
fn run_unverified_does_not_read_the_facts() {
    let dir = scratch("unverified-facts");
    let art = compile_example(&dir.0);
    let mut bytes = std::fs::read(&art).unwrap();
    let at = bytes
        .windows(8)
        .position(|w| w == b"PCCCFACT")
        .expect("the facts section's magic");
    bytes[at + 8] = 0xff; // format version 255
    let bad = dir.0.join("bad-facts.o");
    std::fs::write(&bad, &bytes).unwrap();
    let bad = bad.to_str().unwrap();
    let o = pccc(&["run", bad, "--invoke", "fib", "10", "--unverified"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "55\n");
    assert_bad_input(&pccc(&["run", bad, "--invoke", "fib", "10"]), ".pcc.facts");
    assert_bad_input(&pccc(&["verify", bad]), ".pcc.facts");
}

fn pccc_cached(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pccc"))
        .env("PCCC_CACHE_DIR", cache)
        .args(args)
        .output()
        .expect("run pccc")
}

/// Verify once: an accepting `verify` records the artifact's SHA-256, and
/// `run` skips the validator for exactly those bytes. Shown by forging an
/// entry for an artifact the validator rejects (what anyone who can write
/// the cache directory could do, hence its private mode).
#[test]
fn run_skips_verification_of_the_bytes_verify_accepted() {
    let dir = scratch("cache");
    let cache = dir.join("cache");
    let good = compile_example(&dir);
    let bad = rejected_artifact(&dir);
    let (g, b) = (good.to_str().unwrap(), bad.to_str().unwrap());
    let o = pccc_cached(&["verify", b], &cache);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_dir(&cache).unwrap().count(),
        0,
        "a rejection is not recorded"
    );
    let o = pccc_cached(&["verify", g], &cache);
    assert!(o.status.success(), "{}", stderr(&o));
    let key = |p: &Path| pccc::cache::key(&std::fs::read(p).unwrap());
    let entry = cache.join(key(&good));
    assert!(entry.is_file(), "an acceptance is recorded");
    let o = pccc_cached(&["run", g, "--invoke", "fib", "10"], &cache);
    assert_eq!(stdout(&o), "55\n", "{}", stderr(&o));

    // The rejected artifact given the good one's entry runs unverified...
    std::fs::copy(&entry, cache.join(key(&bad))).unwrap();
    let o = pccc_cached(&["run", b, "--invoke", "f", "1"], &cache);
    assert!(o.status.success(), "{}", stderr(&o));
    // ...but not with --no-cache,
    let o = pccc_cached(&["run", b, "--no-cache", "--invoke", "f", "1"], &cache);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // nor once one byte of it changes (a different hash: a miss).
    let mut bytes = std::fs::read(&bad).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    let changed = dir.join("changed.o");
    std::fs::write(&changed, &bytes).unwrap();
    let o = pccc_cached(
        &["run", changed.to_str().unwrap(), "--invoke", "f", "1"],
        &cache,
    );
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));

    // A cache directory others may write is not used: verified, with a warning.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let o = pccc_cached(&["run", b, "--invoke", "f", "1"], &cache);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not private"), "{}", stderr(&o));
}

/// `compile --verify` records what it wrote; `--no-cache` does not.
#[test]
fn compile_verify_records_the_artifact_it_writes() {
    let dir = scratch("cache-compile");
    let cache = dir.join("cache");
    let ex = example();
    let out = dir.join("fib.o");
    let (e, o_) = (ex.to_str().unwrap(), out.to_str().unwrap());
    let o = pccc_cached(&["compile", e, "-o", o_, "--verify", "--no-cache"], &cache);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!cache.exists() || std::fs::read_dir(&cache).unwrap().count() == 0);
    let o = pccc_cached(&["compile", e, "-o", o_, "--verify"], &cache);
    assert!(o.status.success(), "{}", stderr(&o));
    let key = pccc::cache::key(&std::fs::read(&out).unwrap());
    assert!(cache.join(key).is_file());
}

/// Atomics compile (on a non-shared memory); a shared memory is refused as
/// unsupported, by name, not as invalid.
#[test]
fn atomics_run_and_shared_memories_are_refused_by_name() {
    let dir = scratch("atomics");
    let ok = dir.join("atomic.wat");
    std::fs::write(
        &ok,
        "(module (memory 1) (func (export \"f\") (result i32) \
           (drop (i32.atomic.rmw.add (i32.const 8) (i32.const 5))) \
           (i32.atomic.rmw.cmpxchg (i32.const 8) (i32.const 5) (i32.const 9))))",
    )
    .unwrap();
    let o = pccc(&["run", ok.to_str().unwrap(), "--invoke", "f"]);
    assert_eq!(stdout(&o), "5\n", "{}", stderr(&o));
    let shared = dir.join("shared.wat");
    std::fs::write(&shared, "(module (memory 1 1 shared))").unwrap();
    let o = pccc(&[
        "compile",
        shared.to_str().unwrap(),
        "-o",
        "/nonexistent/x.o",
    ]);
    assert_bad_input(&o, "shared memories");
    assert!(!stderr(&o).contains("invalid module"), "{}", stderr(&o));
}

/// The GC proposal is enabled in validation only for recursion groups of
/// function types; everything else of it is refused as unsupported, by
/// name, not as invalid.
#[test]
fn gc_beyond_recursion_groups_is_named_unsupported() {
    let dir = scratch("gc");
    for (i, (wat, named)) in [
        ("(module (type (struct)))", "non-function types"),
        ("(module (type (array i8)))", "non-function types"),
        ("(module (type (sub (func))))", "subtyping"),
        (
            "(module (type $a (sub (func))) (type (sub $a (func))))",
            "subtyping",
        ),
        ("(module (func (param anyref)))", "reference type"),
        (
            "(module (global (ref null i31) (ref.null i31)))",
            "reference type",
        ),
        (
            "(module (func (result i32) (ref.is_null (ref.i31 (i32.const 1)))))",
            "unsupported",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let f = dir.join(format!("gc{i}.wat"));
        std::fs::write(&f, wat).unwrap();
        let o = pccc(&["compile", f.to_str().unwrap(), "-o", "/nonexistent/x.o"]);
        assert_bad_input(&o, named);
        assert!(
            !stderr(&o).contains("invalid module"),
            "{wat}: {}",
            stderr(&o)
        );
    }
}
