//! WASI path resolution may not leave a preopened directory, whatever the
//! guest names and whatever symbolic links the directory holds (issue 9,
//! family 14: `path_open` with O_CREAT through a dangling symlink created a
//! file outside the preopen). Each test runs a WASI command that opens one
//! path under the preopen and exits with 10 + the WASI errno.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SUCCESS: i32 = 10;
/// Wasmtime's errno for a path leading out of the preopen (its
/// `escape_attempt`).
const EPERM: i32 = 10 + 63;
const ELOOP: i32 = 10 + 32;

const O_CREAT: i32 = 1;
const SYMLINK_FOLLOW: i32 = 1;

/// A scratch directory holding `data/` (the preopen, with `in.txt` and
/// `sub/file.txt`) and `secret` outside it; removed when dropped.
struct Sandbox(PathBuf);

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("pccc-wasi-{}-{name}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(dir.join("data/sub")).unwrap();
        std::fs::write(dir.join("data/in.txt"), "inside\n").unwrap();
        std::fs::write(dir.join("data/sub/file.txt"), "deeper\n").unwrap();
        std::fs::write(dir.join("secret"), "outside\n").unwrap();
        Sandbox(dir)
    }

    fn data(&self) -> PathBuf {
        self.0.join("data")
    }

    fn outside(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// `call` (a WASI call on the path at 64, result at 16) as a command,
    /// run with the preopen; its exit status.
    fn run(&self, path: &str, call: &str) -> i32 {
        let wat = format!(
            r#"(module
              (import "wasi_snapshot_preview1" "path_open"
                (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
              (import "wasi_snapshot_preview1" "path_filestat_get"
                (func $stat (param i32 i32 i32 i32 i32) (result i32)))
              (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
              (memory (export "memory") 1)
              (data (i32.const 64) "{path}")
              (func (export "_start")
                (call $exit (i32.add (i32.const 10) {call}))))"#
        );
        let file = self.0.join("cmd.wat");
        std::fs::write(&file, wat).unwrap();
        let o = pccc(&[
            "run",
            file.to_str().unwrap(),
            "--dir",
            self.data().to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{err}");
        o.status.code().unwrap_or_else(|| panic!("killed: {err}"))
    }

    fn open(&self, path: &str, dirflags: i32, oflags: i32) -> i32 {
        let call = format!(
            "(call $open (i32.const 3) (i32.const {dirflags}) (i32.const 64) (i32.const {})
               (i32.const {oflags}) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16))",
            path.len()
        );
        self.run(path, &call)
    }

    fn stat(&self, path: &str) -> i32 {
        let call = format!(
            "(call $stat (i32.const 3) (i32.const {SYMLINK_FOLLOW}) (i32.const 64) (i32.const {})
               (i32.const 128))",
            path.len()
        );
        self.run(path, &call)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

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

fn exists(p: &Path) -> bool {
    p.symlink_metadata().is_ok()
}

/// The family-14 escape: the old check followed the dangling link with
/// `exists()`, saw nothing, checked the parent instead, and O_CREAT then
/// followed the link and created the file outside.
#[test]
fn o_creat_through_a_dangling_symlink_out_of_the_preopen_creates_nothing() {
    let s = Sandbox::new("dangling");
    let target = s.outside("created-outside");
    symlink(&target, s.data().join("link")).unwrap();
    let status = s.open("link", SYMLINK_FOLLOW, O_CREAT);
    assert!(!exists(&target), "the guest created {}", target.display());
    assert_ne!(status, SUCCESS, "path_open succeeded");
    // A relative dangling link escaping by `..` is refused the same way.
    symlink("../created-too", s.data().join("rel")).unwrap();
    assert_ne!(s.open("rel", SYMLINK_FOLLOW, O_CREAT), SUCCESS);
    assert!(!exists(&s.outside("created-too")));
}

/// A symlink loop is ELOOP, promptly, not a hang or a crash.
#[test]
fn a_symlink_loop_is_eloop() {
    let s = Sandbox::new("loop");
    symlink("b", s.data().join("a")).unwrap();
    symlink("a", s.data().join("b")).unwrap();
    assert_eq!(s.open("a", SYMLINK_FOLLOW, 0), ELOOP);
    assert_eq!(s.open("a", SYMLINK_FOLLOW, O_CREAT), ELOOP);
    symlink("self/x", s.data().join("self")).unwrap();
    assert_eq!(s.open("self/x", SYMLINK_FOLLOW, 0), ELOOP);
}

#[test]
fn dot_dot_and_absolute_paths_cannot_leave_the_preopen() {
    let s = Sandbox::new("dotdot");
    assert_eq!(s.open("../secret", SYMLINK_FOLLOW, 0), EPERM);
    assert_eq!(s.open("sub/../../secret", SYMLINK_FOLLOW, 0), EPERM);
    let abs = s.outside("secret");
    assert_eq!(s.open(abs.to_str().unwrap(), SYMLINK_FOLLOW, 0), EPERM);
    assert_eq!(s.stat("../secret"), EPERM);
    // `..` that stays inside is fine.
    assert_eq!(s.open("sub/../in.txt", SYMLINK_FOLLOW, 0), SUCCESS);
}

#[test]
fn symlinks_leading_out_are_refused() {
    let s = Sandbox::new("out");
    // Absolute, to a file and to a directory; relative, climbing out.
    symlink(s.outside("secret"), s.data().join("abs")).unwrap();
    symlink(&s.0, s.data().join("absdir")).unwrap();
    symlink("../secret", s.data().join("rel")).unwrap();
    for path in ["abs", "absdir/secret", "rel"] {
        assert_eq!(s.open(path, SYMLINK_FOLLOW, 0), EPERM, "{path}");
        assert_eq!(s.stat(path), EPERM, "{path}");
    }
    // Without SYMLINK_FOLLOW the last component is not followed at all.
    assert_eq!(s.open("rel", 0, 0), ELOOP);
}

#[test]
fn symlinks_that_stay_inside_are_followed() {
    let s = Sandbox::new("inside");
    symlink("sub/file.txt", s.data().join("inner")).unwrap();
    symlink("../in.txt", s.data().join("sub/up")).unwrap();
    symlink("sub", s.data().join("subdir")).unwrap();
    for path in ["inner", "sub/up", "subdir/file.txt", "subdir/up"] {
        assert_eq!(s.open(path, SYMLINK_FOLLOW, 0), SUCCESS, "{path}");
        assert_eq!(s.stat(path), SUCCESS, "{path}");
    }
    // O_CREAT through a dangling link that points inside creates it there.
    symlink("sub/new.txt", s.data().join("newlink")).unwrap();
    assert_eq!(s.open("newlink", SYMLINK_FOLLOW, O_CREAT), SUCCESS);
    assert!(s.data().join("sub/new.txt").is_file());
}
