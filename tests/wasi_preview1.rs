//! Every WASI preview 1 function, each through the real pipeline: a WAT
//! command module is compiled, verified and run by `pccc run` with a
//! preopened scratch directory. The guest checks results and errno values
//! itself (`$check`: on a mismatch it prints the check's number, what it
//! got and what it wanted to stderr and exits 1); the test then checks
//! the file system's effects from the host, inside and outside the
//! preopen. Expected errno values are Wasmtime's (wasmtime-wasi 50,
//! `src/p1.rs` and its filesystem layer), cited at each check; where this
//! runtime differs on purpose (an out-of-bounds guest pointer is EFAULT
//! here, a trap in Wasmtime) the comment says so.

use std::cell::RefCell;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// WASI errno values.
const EBADF: i32 = 8;
const EEXIST: i32 = 20;
const EFAULT: i32 = 21;
const EILSEQ: i32 = 25;
const EINVAL: i32 = 28;
const EISDIR: i32 = 31;
const ENAMETOOLONG: i32 = 37;
const ENOENT: i32 = 44;
const ENOTDIR: i32 = 54;
const ENOTEMPTY: i32 = 55;
const ENOTSOCK: i32 = 57;
const ENOTSUP: i32 = 58;
const EOVERFLOW: i32 = 61;
const EPERM: i32 = 63;
const ESPIPE: i32 = 70;

// Flags.
const FOLLOW: i32 = 1;
const O_CREAT: i32 = 1;
const O_DIRECTORY: i32 = 2;
const O_EXCL: i32 = 4;
const O_TRUNC: i32 = 8;
const R: i64 = 1 << 1; // FD_READ
const W: i64 = 1 << 6; // FD_WRITE
const RW: i64 = R | W;

/// The WASI imports every test module has (all 46 functions), and the
/// guest-side checking helpers.
const PRELUDE: &str = r#"
  (import "bench" "start" (func $bench_start))
  (import "bench" "end" (func $bench_end))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_res_get" (func $clock_res_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_advise" (func $fd_advise (param i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_allocate" (func $fd_allocate (param i32 i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_datasync" (func $fd_datasync (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_set_flags" (func $fd_fdstat_set_flags (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_set_rights" (func $fd_fdstat_set_rights (param i32 i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get" (func $fd_filestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_size" (func $fd_filestat_set_size (param i32 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_times" (func $fd_filestat_set_times (param i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pread" (func $fd_pread (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pwrite" (func $fd_pwrite (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_renumber" (func $fd_renumber (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_sync" (func $fd_sync (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_tell" (func $fd_tell (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory" (func $path_create_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get" (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_set_times" (func $path_filestat_set_times (param i32 i32 i32 i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_link" (func $path_link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_readlink" (func $path_readlink (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_remove_directory" (func $path_remove_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename" (func $path_rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink" (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $path_unlink_file (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "proc_raise" (func $proc_raise (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func $sched_yield (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $sock_recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func $sock_send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_shutdown" (func $sock_shutdown (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 60000) "check ________ got ________ want ________\n")
  (func $hex (param $v i32) (param $at i32)
    (local $k i32) (local $d i32)
    (loop $l
      (local.set $d (i32.and (i32.shr_u (local.get $v)
        (i32.sub (i32.const 28) (i32.mul (local.get $k) (i32.const 4)))) (i32.const 15)))
      (i32.store8 (i32.add (local.get $at) (local.get $k))
        (i32.add (local.get $d)
          (select (i32.const 48) (i32.const 87) (i32.lt_u (local.get $d) (i32.const 10)))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $k) (i32.const 8)))))
  (func $check (param $id i32) (param $got i32) (param $want i32)
    (if (i32.ne (local.get $got) (local.get $want))
      (then
        (call $hex (local.get $id) (i32.const 60006))
        (call $hex (local.get $got) (i32.const 60019))
        (call $hex (local.get $want) (i32.const 60033))
        (i32.store (i32.const 59000) (i32.const 60000))
        (i32.store (i32.const 59004) (i32.const 42))
        (drop (call $fd_write (i32.const 2) (i32.const 59000) (i32.const 1) (i32.const 59008)))
        (call $proc_exit (i32.const 1)))))
  ;; path_open beneath fd 3; the new fd at 100.
  (func $open (param $dirflags i32) (param $path i32) (param $len i32) (param $oflags i32)
      (param $rights i64) (param $fdflags i32) (result i32)
    (call $path_open (i32.const 3) (local.get $dirflags) (local.get $path) (local.get $len)
      (local.get $oflags) (local.get $rights) (i64.const 0) (local.get $fdflags) (i32.const 100)))
  ;; Write `len` bytes at `at` to stdout (a channel to the test).
  (func $out (param $at i32) (param $len i32)
    (i32.store (i32.const 59100) (local.get $at))
    (i32.store (i32.const 59104) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 59100) (i32.const 1) (i32.const 59108))))
"#;

/// A guest program under construction: strings placed in memory, checks
/// numbered (their text kept to report a failure).
#[derive(Default)]
struct Guest {
    data: RefCell<Vec<(u32, String)>>,
    checks: RefCell<Vec<String>>,
}

impl Guest {
    /// `(i32.const at) (i32.const len)` of `text` placed in memory.
    fn s(&self, text: &str) -> String {
        let mut d = self.data.borrow_mut();
        let at = d
            .last()
            .map_or(8192, |(a, t)| a + t.len() as u32 + 1)
            .next_multiple_of(8);
        d.push((at, text.to_string()));
        format!("(i32.const {at}) (i32.const {})", text.len())
    }

    /// The address of `text` placed in memory.
    fn addr(&self, text: &str) -> u32 {
        self.s(text);
        self.data.borrow().last().unwrap().0
    }

    /// A check that the i32 `expr` is `want`.
    fn check(&self, expr: &str, want: i64) -> String {
        if want == EFAULT as i64 && reference().is_some() {
            // Wasmtime traps on a guest pointer outside memory.
            return String::new();
        }
        let mut c = self.checks.borrow_mut();
        c.push(expr.to_string());
        format!(
            "(call $check (i32.const {}) {expr} (i32.const {want}))\n",
            c.len()
        )
    }

    /// A check of a call whose arguments are outside their witx types
    /// (an enum or flags value that does not exist, or too wide): an
    /// errno here, a trap in Wasmtime (wiggle's argument conversion), so
    /// left out when running under Wasmtime.
    fn bad(&self, expr: &str, want: i64) -> String {
        if reference().is_some() {
            return String::new();
        }
        self.check(expr, want)
    }

    /// A check that the i64 `expr` is `want`, low and high halves.
    fn check64(&self, expr: &str, want: i64) -> String {
        let lo = self.check(&format!("(i32.wrap_i64 {expr})"), want as i32 as i64);
        let hi = self.check(
            &format!("(i32.wrap_i64 (i64.shr_u {expr} (i64.const 32)))"),
            (want >> 32) as i32 as i64,
        );
        lo + &hi
    }

    fn module(&self, body: &str) -> String {
        let mut data = String::new();
        for (at, text) in self.data.borrow().iter() {
            let esc: String = text.bytes().map(|b| format!("\\{b:02x}")).collect();
            data += &format!("  (data (i32.const {at}) \"{esc}\")\n");
        }
        // PCCC_WASI_ALL: report every failing check, not only the first.
        let prelude = if std::env::var_os("PCCC_WASI_ALL").is_some() {
            PRELUDE.replace(
                "(call $proc_exit (i32.const 1)))))",
                "(i32.store (i32.const 59996) (i32.const 1)))))",
            )
        } else {
            PRELUDE.to_string()
        };
        format!(
            "(module {prelude}\n{data}\n  (func (export \"_start\") (local $fd i32) (local $fd2 i32) (local $t i64)\n(call $bench_start) (call $bench_end)\n{body}))"
        )
    }
}

/// A scratch directory holding `data/` (the preopen, with `in.txt`
/// "inside\n" and `sub/file.txt`) and, outside it, `secret` and the
/// directory `victim/`; `data/outlink` is a symbolic link to the scratch
/// directory itself, `data/abslink` an absolute one to `secret`.
struct Sandbox(PathBuf);

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("pccc-wasi1-{}-{name}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(dir.join("data/sub")).unwrap();
        std::fs::create_dir_all(dir.join("victim")).unwrap();
        std::fs::write(dir.join("data/in.txt"), "inside\n").unwrap();
        std::fs::write(dir.join("data/sub/file.txt"), "deeper\n").unwrap();
        std::fs::write(dir.join("secret"), "outside\n").unwrap();
        symlink(&dir, dir.join("data/outlink")).unwrap();
        symlink(dir.join("secret"), dir.join("data/abslink")).unwrap();
        Sandbox(dir)
    }

    fn data(&self) -> PathBuf {
        self.0.join("data")
    }

    fn outside(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Everything outside `data/`: names, sizes and contents, to check
    /// that nothing there changed.
    fn outside_snapshot(&self) -> Vec<(String, u64, i64, Vec<u8>)> {
        let mut out = vec![];
        for e in std::fs::read_dir(&self.0).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "data" || name == "ref" || name == "cmd.wat" {
                continue;
            }
            let md = e.path().symlink_metadata().unwrap();
            let content = if md.is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                vec![]
            };
            out.push((name, md.len(), md.mtime(), content));
        }
        out.sort();
        out
    }

    /// Run `body` as `_start` with the preopen (guest name `pre` if
    /// given, else "."), arguments and environment; its output. Fails the
    /// test on a guest check's mismatch or a host panic.
    fn run_with(&self, g: &Guest, body: &str, pre: &str, extra: &[&str]) -> Output {
        let file = self.0.join("cmd.wat");
        std::fs::write(&file, g.module(body)).unwrap();
        let dir = format!("{pre}{}", self.data().display());
        let o = match reference() {
            // Under Wasmtime: the same module, preopen and arguments (not
            // the environment or the preopen's name, which it cannot set).
            Some(bench) => {
                let data = self.data();
                // Named cmd.wat too: it is argv[0].
                std::fs::create_dir_all(self.0.join("ref")).unwrap();
                let wasm = self.0.join("ref/cmd.wat");
                std::fs::write(&wasm, wat::parse_file(&file).expect("WAT")).unwrap();
                let mut args = vec![
                    "--wasmtime-run",
                    wasm.to_str().unwrap(),
                    data.to_str().unwrap(),
                ];
                if let Some(k) = extra.iter().position(|a| *a == "--") {
                    args.extend_from_slice(&extra[k + 1..]);
                }
                Command::new(bench)
                    .args(&args)
                    .output()
                    .expect("run the reference")
            }
            None => {
                let mut args = vec!["run", file.to_str().unwrap(), "--dir", &dir];
                args.extend_from_slice(extra);
                pccc(&args)
            }
        };
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{err}");
        let mut failed = String::new();
        for line in err.lines().filter(|l| l.starts_with("check ")) {
            let id = usize::from_str_radix(&line[6..14], 16).unwrap();
            let what = g.checks.borrow().get(id - 1).cloned().unwrap_or_default();
            failed += &format!("guest {line}\n  check {id} is {what}\n");
        }
        assert!(failed.is_empty(), "{failed}");
        o
    }

    /// Run `body`; it must exit 0. Its stdout.
    fn run(&self, g: &Guest, body: &str) -> Vec<u8> {
        let o = self.run_with(g, body, "", &[]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn pccc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pccc"))
        .env(
            "PCCC_CACHE_DIR",
            std::env::temp_dir().join("pccc-test-cache"),
        )
        .args(args)
        .output()
        .expect("run pccc")
}

/// `PCCC_WASI_REFERENCE`: a `pccc-bench` binary (bench/) whose
/// `--wasmtime-run` runs the same modules under Wasmtime's preview 1, to
/// check these tests' expectations against Wasmtime itself (EFAULT checks
/// left out: Wasmtime traps there).
fn reference() -> Option<String> {
    std::env::var("PCCC_WASI_REFERENCE").ok()
}

fn exists(p: &Path) -> bool {
    p.symlink_metadata().is_ok()
}

/// Call snippets.
fn open(g: &Guest, path: &str, oflags: i32, rights: i64) -> String {
    format!(
        "(call $open (i32.const {FOLLOW}) {} (i32.const {oflags}) (i64.const {rights}) (i32.const 0))",
        g.s(path)
    )
}

/// `path_open` that must succeed; leaves the new fd in `$fd`.
fn open_ok(g: &Guest, path: &str, oflags: i32, rights: i64) -> String {
    g.check(&open(g, path, oflags, rights), 0) + "(local.set $fd (i32.load (i32.const 100)))\n"
}

/// An iovec at 200 for (buf, len); the iovec array pointer and count.
fn iov(buf: u32, len: u32) -> String {
    format!(
        "(i32.store (i32.const 200) (i32.const {buf})) (i32.store (i32.const 204) (i32.const {len}))"
    )
}

#[test]
fn args_and_environ() {
    let s = Sandbox::new("args");
    let g = Guest::default();
    let argv0_extra = if reference().is_some() { 1 } else { 0 };
    let body = [
        g.check("(call $args_sizes_get (i32.const 100) (i32.const 104))", 0),
        g.check("(i32.load (i32.const 100))", 3),
        // "cmd.wat\0a\0bc\0" (the reference runner says "cmd.wasm")
        g.check("(i32.load (i32.const 104))", 13 + argv0_extra),
        g.check("(call $args_get (i32.const 200) (i32.const 300))", 0),
        g.check("(i32.load (i32.const 204))", 308 + argv0_extra),
        g.check("(i32.load8_u (i32.load (i32.const 208)))", b'b' as i64),
        g.check(
            &format!("(i32.load8_u (i32.const {}))", 312 + argv0_extra),
            0,
        ),
        // Out of bounds: EFAULT here (Wasmtime traps).
        g.check(
            "(call $args_get (i32.const 65534) (i32.const 300))",
            EFAULT as i64,
        ),
        g.check(
            "(call $environ_sizes_get (i32.const 65535) (i32.const 0))",
            EFAULT as i64,
        ),
    ]
    .concat();
    // The environment (the Wasmtime runner used as reference sets none).
    let env = if reference().is_none() {
        [
            g.check(
                "(call $environ_sizes_get (i32.const 100) (i32.const 104))",
                0,
            ),
            g.check("(i32.load (i32.const 100))", 2),
            // "K=V\0EMPTY=\0"
            g.check("(i32.load (i32.const 104))", 11),
            g.check("(call $environ_get (i32.const 200) (i32.const 400))", 0),
            g.check("(i32.load (i32.const 204))", 404),
            g.check("(i32.load8_u (i32.const 409))", b'=' as i64),
        ]
        .concat()
    } else {
        String::new()
    };
    let o = s.run_with(
        &g,
        &(body + &env),
        "",
        &["--env", "K=V", "--env", "EMPTY=", "--", "a", "bc"],
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn clocks() {
    let s = Sandbox::new("clocks");
    let g = Guest::default();
    let body = [
        g.check("(call $clock_res_get (i32.const 0) (i32.const 112))", 0),
        g.check("(i64.ne (i64.load (i32.const 112)) (i64.const 0))", 1),
        g.check("(call $clock_res_get (i32.const 1) (i32.const 112))", 0),
        // The CPU-time clocks are EBADF in Wasmtime; an id outside the
        // enum is EINVAL (wiggle).
        g.check("(call $clock_res_get (i32.const 2) (i32.const 112))", EBADF as i64),
        g.check("(call $clock_res_get (i32.const 3) (i32.const 112))", EBADF as i64),
        g.bad("(call $clock_res_get (i32.const 4) (i32.const 112))", EINVAL as i64),
        g.check("(call $clock_time_get (i32.const 2) (i64.const 1) (i32.const 112))", EBADF as i64),
        g.bad("(call $clock_time_get (i32.const 9) (i64.const 1) (i32.const 112))", EINVAL as i64),
        // Realtime is after 2020 (1.6e18 ns since the epoch).
        g.check("(call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 112))", 0),
        g.check("(i64.gt_u (i64.load (i32.const 112)) (i64.const 1600000000000000000))", 1),
        // Monotonic does not go back, and a 20 ms poll sleep shows in it.
        g.check("(call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 112))", 0),
        "(i64.store (i32.const 320) (i64.const 0))
         (i32.store (i32.const 336) (i32.const 1))
         (i64.store (i32.const 344) (i64.const 20000000))".into(),
        g.check("(call $poll_oneoff (i32.const 320) (i32.const 400) (i32.const 1) (i32.const 500))", 0),
        g.check("(call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 120))", 0),
        g.check("(i64.ge_u (i64.sub (i64.load (i32.const 120)) (i64.load (i32.const 112))) (i64.const 20000000))", 1),
        g.check("(call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 65530))", EFAULT as i64),
    ]
    .concat();
    s.run(&g, &body);
}

#[test]
fn random_get_fills_the_buffer() {
    let s = Sandbox::new("random");
    let g = Guest::default();
    let body = [
        g.check("(call $random_get (i32.const 320) (i32.const 32))", 0),
        "(call $out (i32.const 320) (i32.const 40))".into(),
        g.check(
            "(call $random_get (i32.const 65530) (i32.const 32))",
            EFAULT as i64,
        ),
        // A length beyond memory is refused before anything is allocated.
        g.check(
            "(call $random_get (i32.const 0) (i32.const -1))",
            EFAULT as i64,
        ),
    ]
    .concat();
    let out = s.run(&g, &body);
    assert_eq!(out.len(), 40);
    assert!(out[..32].iter().any(|&b| b != 0), "no random bytes");
    assert!(out[32..].iter().all(|&b| b == 0), "wrote past the buffer");
}

#[test]
fn read_write_seek_tell_pread_pwrite() {
    let s = Sandbox::new("rw");
    let g = Guest::default();
    let hello = g.addr("hello");
    let world = g.addr(" world");
    let xy = g.addr("XY");
    let out = g.addr("out\n");
    let body = [
        open_ok(&g, "f.txt", O_CREAT | O_TRUNC, RW),
        format!(
            "(i32.store (i32.const 200) (i32.const {hello})) (i32.store (i32.const 204) (i32.const 0))
             (i32.store (i32.const 208) (i32.const {hello})) (i32.store (i32.const 212) (i32.const 5))
             (i32.store (i32.const 216) (i32.const {world})) (i32.store (i32.const 220) (i32.const 6))"
        ),
        // Wasmtime writes the first non-empty buffer only.
        g.check("(call $fd_write (local.get $fd) (i32.const 200) (i32.const 3) (i32.const 104))", 0),
        g.check("(i32.load (i32.const 104))", 5),
        g.check("(call $fd_tell (local.get $fd) (i32.const 112))", 0),
        g.check64("(i64.load (i32.const 112))", 5),
        g.check("(call $fd_seek (local.get $fd) (i64.const 0) (i32.const 0) (i32.const 112))", 0),
        g.check64("(i64.load (i32.const 112))", 0),
        iov(4096, 100),
        g.check("(call $fd_read (local.get $fd) (i32.const 200) (i32.const 1) (i32.const 104))", 0),
        g.check("(i32.load (i32.const 104))", 5),
        g.check("(i32.load8_u (i32.const 4100))", b'o' as i64),
        // At the end: 0 bytes.
        g.check("(call $fd_read (local.get $fd) (i32.const 200) (i32.const 1) (i32.const 104))", 0),
        g.check("(i32.load (i32.const 104))", 0),
        // pwrite at 1 leaves the position (5) alone.
        iov(xy, 2),
        g.check("(call $fd_pwrite (local.get $fd) (i32.const 200) (i32.const 1) (i64.const 1) (i32.const 104))", 0),
        g.check("(i32.load (i32.const 104))", 2),
        g.check("(call $fd_tell (local.get $fd) (i32.const 112))", 0),
        g.check64("(i64.load (i32.const 112))", 5),
        iov(4200, 3),
        g.check("(call $fd_pread (local.get $fd) (i32.const 200) (i32.const 1) (i64.const 0) (i32.const 104))", 0),
        g.check("(i32.load (i32.const 104))", 3),
        g.check("(i32.load (i32.const 4200))", i32::from_le_bytes(*b"hXY\0") as i64),
        // Relative and end seeks; below zero and an unknown whence are EINVAL.
        g.check("(call $fd_seek (local.get $fd) (i64.const -1) (i32.const 1) (i32.const 112))", 0),
        g.check64("(i64.load (i32.const 112))", 4),
        g.check("(call $fd_seek (local.get $fd) (i64.const -10) (i32.const 1) (i32.const 112))", EINVAL as i64),
        g.check("(call $fd_seek (local.get $fd) (i64.const -1) (i32.const 0) (i32.const 112))", EINVAL as i64),
        g.bad("(call $fd_seek (local.get $fd) (i64.const 0) (i32.const 3) (i32.const 112))", EINVAL as i64),
        // Wider than whence's u8: EOVERFLOW (wiggle's conversion).
        g.bad("(call $fd_seek (local.get $fd) (i64.const 0) (i32.const 256) (i32.const 112))", EOVERFLOW as i64),
        g.check("(call $fd_seek (local.get $fd) (i64.const 2) (i32.const 2) (i32.const 112))", 0),
        g.check64("(i64.load (i32.const 112))", 7),
        // A write past the end leaves a hole of zeros.
        iov(xy, 2),
        g.check("(call $fd_write (local.get $fd) (i32.const 200) (i32.const 1) (i32.const 104))", 0),
        // stdio: stdin is not writable, stdout not readable (EBADF); seek,
        // tell, pread and pwrite on stdio are ESPIPE; a directory is EBADF.
        g.check("(call $fd_write (i32.const 0) (i32.const 200) (i32.const 1) (i32.const 104))", EBADF as i64),
        g.check("(call $fd_read (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 104))", EBADF as i64),
        g.check("(call $fd_read (i32.const 3) (i32.const 200) (i32.const 1) (i32.const 104))", EBADF as i64),
        g.check("(call $fd_write (i32.const 3) (i32.const 200) (i32.const 1) (i32.const 104))", EBADF as i64),
        g.check("(call $fd_seek (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 112))", ESPIPE as i64),
        g.check("(call $fd_tell (i32.const 0) (i32.const 112))", ESPIPE as i64),
        g.check("(call $fd_tell (i32.const 3) (i32.const 112))", EBADF as i64),
        g.check("(call $fd_pread (i32.const 0) (i32.const 200) (i32.const 1) (i64.const 0) (i32.const 104))", ESPIPE as i64),
        g.check("(call $fd_pwrite (i32.const 1) (i32.const 200) (i32.const 1) (i64.const 0) (i32.const 104))", ESPIPE as i64),
        g.check("(call $fd_read (i32.const 77) (i32.const 200) (i32.const 1) (i32.const 104))", EBADF as i64),
        // Buffers outside memory: EFAULT here (Wasmtime traps).
        iov(65530, 10),
        g.check("(call $fd_read (local.get $fd) (i32.const 200) (i32.const 1) (i32.const 104))", EFAULT as i64),
        g.check("(call $fd_write (local.get $fd) (i32.const 200) (i32.const 1) (i32.const 104))", EFAULT as i64),
        g.check("(call $fd_write (local.get $fd) (i32.const 65532) (i32.const 1) (i32.const 104))", EFAULT as i64),
        iov(out, 4),
        g.check("(call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 104))", 0),
        g.check("(i32.load (i32.const 104))", 4),
    ]
    .concat();
    let stdout = s.run(&g, &body);
    assert_eq!(stdout, b"out\n");
    assert_eq!(
        std::fs::read(s.data().join("f.txt")).unwrap(),
        b"hXYlo\0\0XY"
    );
}

#[test]
fn close_and_renumber() {
    let s = Sandbox::new("renumber");
    std::fs::write(s.data().join("two.txt"), "2").unwrap();
    let g = Guest::default();
    let body = [
        open_ok(&g, "in.txt", 0, R),
        g.check("(local.get $fd)", 4),
        g.check("(call $fd_close (i32.const 4))", 0),
        g.check("(call $fd_close (i32.const 4))", EBADF as i64),
        // A closed number is reused.
        open_ok(&g, "in.txt", 0, R),
        g.check("(local.get $fd)", 4),
        open_ok(&g, "two.txt", 0, R),
        g.check("(local.get $fd)", 5),
        // 5 becomes 4 (4 closed first); 5 is then free.
        g.check("(call $fd_renumber (i32.const 5) (i32.const 4))", 0),
        g.check(
            "(call $fd_tell (i32.const 5) (i32.const 112))",
            EBADF as i64,
        ),
        iov(4096, 10),
        g.check(
            "(call $fd_read (i32.const 4) (i32.const 200) (i32.const 1) (i32.const 104))",
            0,
        ),
        g.check("(i32.load8_u (i32.const 4096))", b'2' as i64),
        // Both ends must be open (Wasmtime: EBADF).
        g.check(
            "(call $fd_renumber (i32.const 4) (i32.const 9))",
            EBADF as i64,
        ),
        g.check(
            "(call $fd_renumber (i32.const 9) (i32.const 4))",
            EBADF as i64,
        ),
        g.check("(call $fd_renumber (i32.const 4) (i32.const 4))", 0),
        open_ok(&g, "in.txt", 0, R),
        g.check("(local.get $fd)", 5),
        // Closing a preopen is allowed; paths under it then fail.
        g.check("(call $fd_close (i32.const 3))", 0),
        g.check(&open(&g, "in.txt", 0, R), EBADF as i64),
    ]
    .concat();
    s.run(&g, &body);
}

/// Wasmtime's fixed rights of a preopened directory: the path rights,
/// fd_readdir, fd_filestat_get and fd_filestat_set_times.
const PREOPEN_RIGHTS: i64 = 0x7B7FE00;

#[test]
fn fdstat_get_and_set() {
    let s = Sandbox::new("fdstat");
    let g = Guest::default();
    let more = g.addr("+more");
    let body = [
        // The preopen: a directory with Wasmtime's fixed rights.
        g.check("(call $fd_fdstat_get (i32.const 3) (i32.const 320))", 0),
        g.check("(i32.load8_u (i32.const 320))", 3),
        g.check64("(i64.load (i32.const 328))", PREOPEN_RIGHTS),
        // stdout (a pipe here, not a terminal): UNKNOWN, FD_WRITE only.
        g.check("(call $fd_fdstat_get (i32.const 1) (i32.const 320))", 0),
        g.check("(i32.load8_u (i32.const 320))", 0),
        g.check64("(i64.load (i32.const 328))", W),
        g.check("(call $fd_fdstat_get (i32.const 0) (i32.const 320))", 0),
        g.check64("(i64.load (i32.const 328))", R),
        // A file opened for reading: a regular file without FD_WRITE.
        open_ok(&g, "in.txt", 0, R),
        g.check("(call $fd_fdstat_get (local.get $fd) (i32.const 320))", 0),
        g.check("(i32.load8_u (i32.const 320))", 4),
        g.check(
            "(i32.wrap_i64 (i64.and (i64.load (i32.const 328)) (i64.const 66)))",
            2,
        ),
        g.check("(i32.load16_u (i32.const 322))", 0),
        // A directory opened by path: no FD_SEEK.
        g.check(&open(&g, "sub", O_DIRECTORY, R), 0),
        g.check(
            "(call $fd_fdstat_get (i32.load (i32.const 100)) (i32.const 320))",
            0,
        ),
        g.check("(i32.load8_u (i32.const 320))", 3),
        g.check(
            "(i32.wrap_i64 (i64.and (i64.load (i32.const 328)) (i64.const 4)))",
            0,
        ),
        g.check(
            "(call $fd_fdstat_get (i32.const 99) (i32.const 320))",
            EBADF as i64,
        ),
        g.check(
            "(call $fd_fdstat_get (i32.const 3) (i32.const 65530))",
            EFAULT as i64,
        ),
        // APPEND on a writable file: writes go to the end whatever the
        // position, and fdstat shows the flag.
        open_ok(&g, "in.txt", 0, RW),
        g.check(
            "(call $fd_fdstat_set_flags (local.get $fd) (i32.const 1))",
            0,
        ),
        g.check("(call $fd_fdstat_get (local.get $fd) (i32.const 320))", 0),
        g.check("(i32.load16_u (i32.const 322))", 1),
        iov(more, 5),
        g.check(
            "(call $fd_write (local.get $fd) (i32.const 200) (i32.const 1) (i32.const 104))",
            0,
        ),
        g.check("(call $fd_tell (local.get $fd) (i32.const 112))", 0),
        g.check64("(i64.load (i32.const 112))", 12),
        // The sync flags are EINVAL, a non-file EBADF, an unknown bit EINVAL.
        g.check(
            "(call $fd_fdstat_set_flags (local.get $fd) (i32.const 16))",
            EINVAL as i64,
        ),
        g.check(
            "(call $fd_fdstat_set_flags (local.get $fd) (i32.const 2))",
            EINVAL as i64,
        ),
        g.check(
            "(call $fd_fdstat_set_flags (i32.const 3) (i32.const 0))",
            EBADF as i64,
        ),
        g.check(
            "(call $fd_fdstat_set_flags (i32.const 1) (i32.const 0))",
            EBADF as i64,
        ),
        g.bad(
            "(call $fd_fdstat_set_flags (local.get $fd) (i32.const 64))",
            EINVAL as i64,
        ),
        g.bad(
            "(call $fd_fdstat_set_flags (local.get $fd) (i32.const 65536))",
            EOVERFLOW as i64,
        ),
        // set_rights: ENOTSUP on a file or directory, EBADF on stdio.
        g.check(
            "(call $fd_fdstat_set_rights (local.get $fd) (i64.const 2) (i64.const 0))",
            ENOTSUP as i64,
        ),
        g.check(
            "(call $fd_fdstat_set_rights (i32.const 3) (i64.const 2) (i64.const 0))",
            ENOTSUP as i64,
        ),
        g.check(
            "(call $fd_fdstat_set_rights (i32.const 0) (i64.const 2) (i64.const 0))",
            EBADF as i64,
        ),
        g.check(
            "(call $fd_fdstat_set_rights (i32.const 42) (i64.const 2) (i64.const 0))",
            EBADF as i64,
        ),
    ]
    .concat();
    s.run(&g, &body);
    assert_eq!(
        std::fs::read_to_string(s.data().join("in.txt")).unwrap(),
        "inside\n+more"
    );
}

#[test]
fn filestat_size_and_times() {
    let s = Sandbox::new("filestat");
    let g = Guest::default();
    let body = [
        open_ok(&g, "in.txt", 0, RW),
        g.check("(call $fd_filestat_get (local.get $fd) (i32.const 320))", 0),
        g.check("(i32.load8_u (i32.const 336))", 4),
        g.check64("(i64.load (i32.const 344))", 1),
        g.check64("(i64.load (i32.const 352))", 7),
        // Grow and shrink.
        g.check("(call $fd_filestat_set_size (local.get $fd) (i64.const 10))", 0),
        g.check("(call $fd_filestat_set_size (local.get $fd) (i64.const 3))", 0),
        g.check("(call $fd_filestat_get (local.get $fd) (i32.const 320))", 0),
        g.check64("(i64.load (i32.const 352))", 3),
        // mtime 1000 s, atime untouched.
        g.check("(call $fd_filestat_set_times (local.get $fd) (i64.const 0) (i64.const 1000000000000) (i32.const 4))", 0),
        g.check("(call $fd_filestat_get (local.get $fd) (i32.const 320))", 0),
        g.check64("(i64.load (i32.const 368))", 1_000_000_000_000),
        // Both a time and now: EINVAL; an unknown fstflags bit: EINVAL.
        g.check("(call $fd_filestat_set_times (local.get $fd) (i64.const 5) (i64.const 0) (i32.const 3))", EINVAL as i64),
        g.bad("(call $fd_filestat_set_times (local.get $fd) (i64.const 5) (i64.const 0) (i32.const 16))", EINVAL as i64),
        // A directory's times can be set; stdio's not (EBADF).
        g.check("(call $fd_filestat_set_times (i32.const 3) (i64.const 0) (i64.const 2000000000000) (i32.const 4))", 0),
        g.check("(call $fd_filestat_set_times (i32.const 1) (i64.const 0) (i64.const 0) (i32.const 8))", EBADF as i64),
        // set_size on a directory or stdio: EBADF.
        g.check("(call $fd_filestat_set_size (i32.const 3) (i64.const 0))", EBADF as i64),
        g.check("(call $fd_filestat_set_size (i32.const 1) (i64.const 0))", EBADF as i64),
        // The preopen is a directory; stdio is all zeros (UNKNOWN, not a tty).
        g.check("(call $fd_filestat_get (i32.const 3) (i32.const 320))", 0),
        g.check("(i32.load8_u (i32.const 336))", 3),
        "(i64.store (i32.const 344) (i64.const 99))".into(),
        g.check("(call $fd_filestat_get (i32.const 2) (i32.const 320))", 0),
        g.check64("(i64.load (i32.const 344))", 0),
        g.check("(call $fd_filestat_get (i32.const 9) (i32.const 320))", EBADF as i64),
        // A read-only file cannot be truncated (the kernel's EINVAL).
        open_ok(&g, "sub/file.txt", 0, R),
        g.check("(call $fd_filestat_set_size (local.get $fd) (i64.const 0))", EINVAL as i64),
    ]
    .concat();
    s.run(&g, &body);
    let md = std::fs::metadata(s.data().join("in.txt")).unwrap();
    assert_eq!((md.len(), md.mtime()), (3, 1000));
    assert_eq!(std::fs::metadata(s.data()).unwrap().mtime(), 2000);
    assert_eq!(
        std::fs::read(s.data().join("sub/file.txt")).unwrap(),
        b"deeper\n"
    );
}

#[test]
fn advise_allocate_sync_datasync() {
    let s = Sandbox::new("sync");
    let g = Guest::default();
    let body = [
        open_ok(&g, "in.txt", 0, RW),
        g.check(
            "(call $fd_advise (local.get $fd) (i64.const 0) (i64.const 0) (i32.const 1))",
            0,
        ),
        g.bad(
            "(call $fd_advise (local.get $fd) (i64.const 0) (i64.const 0) (i32.const 6))",
            EINVAL as i64,
        ),
        g.check(
            "(call $fd_advise (i32.const 3) (i64.const 0) (i64.const 0) (i32.const 0))",
            EBADF as i64,
        ),
        // Wasmtime: fd_allocate is ENOTSUP on a file, EBADF otherwise.
        g.check(
            "(call $fd_allocate (local.get $fd) (i64.const 0) (i64.const 100))",
            ENOTSUP as i64,
        ),
        g.check(
            "(call $fd_allocate (i32.const 1) (i64.const 0) (i64.const 100))",
            EBADF as i64,
        ),
        g.check("(call $fd_sync (local.get $fd))", 0),
        g.check("(call $fd_datasync (local.get $fd))", 0),
        // A directory or stdio is not a file: EBADF.
        g.check("(call $fd_sync (i32.const 3))", EBADF as i64),
        g.check("(call $fd_datasync (i32.const 3))", EBADF as i64),
        g.check("(call $fd_sync (i32.const 1))", EBADF as i64),
    ]
    .concat();
    s.run(&g, &body);
    // fd_allocate did not grow the file.
    assert_eq!(std::fs::metadata(s.data().join("in.txt")).unwrap().len(), 7);
}

#[test]
fn prestat() {
    if reference().is_some() {
        // Wasmtime's runner here names its preopen ".", not "sandbox".
        return;
    }
    let s = Sandbox::new("prestat");
    let g = Guest::default();
    let body = [
        g.check("(call $fd_prestat_get (i32.const 3) (i32.const 320))", 0),
        g.check("(i32.load8_u (i32.const 320))", 0),
        g.check("(i32.load (i32.const 324))", 7),
        g.check(
            "(call $fd_prestat_dir_name (i32.const 3) (i32.const 400) (i32.const 7))",
            0,
        ),
        g.check(
            "(i32.load (i32.const 400))",
            i32::from_le_bytes(*b"sand") as i64,
        ),
        g.check("(i32.load8_u (i32.const 407))", 0),
        // Too small a buffer: ENAMETOOLONG (Wasmtime), nothing written.
        "(i32.store (i32.const 500) (i32.const 0))".into(),
        g.check(
            "(call $fd_prestat_dir_name (i32.const 3) (i32.const 500) (i32.const 3))",
            ENAMETOOLONG as i64,
        ),
        g.check("(i32.load (i32.const 500))", 0),
        // Not a preopen: prestat_get EBADF, dir_name ENOTDIR (Wasmtime).
        g.check(
            "(call $fd_prestat_get (i32.const 4) (i32.const 320))",
            EBADF as i64,
        ),
        g.check(
            "(call $fd_prestat_get (i32.const 1) (i32.const 320))",
            EBADF as i64,
        ),
        g.check(
            "(call $fd_prestat_dir_name (i32.const 1) (i32.const 400) (i32.const 7))",
            ENOTDIR as i64,
        ),
        g.check(&open(&g, "sub", O_DIRECTORY, R), 0),
        g.check(
            "(call $fd_prestat_get (i32.load (i32.const 100)) (i32.const 320))",
            EBADF as i64,
        ),
        g.check(
            "(call $fd_prestat_dir_name (i32.const 3) (i32.const 65534) (i32.const 7))",
            EFAULT as i64,
        ),
    ]
    .concat();
    let o = s.run_with(&g, &body, "sandbox::", &[]);
    assert_eq!(o.status.code(), Some(0));
}

/// Dirents from a readdir buffer: (d_next, d_ino, type, name).
fn dirents(mut b: &[u8]) -> Vec<(u64, u64, u8, String)> {
    let mut out = vec![];
    while b.len() >= 24 {
        let next = u64::from_le_bytes(b[0..8].try_into().unwrap());
        let ino = u64::from_le_bytes(b[8..16].try_into().unwrap());
        let len = u32::from_le_bytes(b[16..20].try_into().unwrap()) as usize;
        let name = String::from_utf8_lossy(&b[24..(24 + len).min(b.len())]).into_owned();
        out.push((next, ino, b[20], name));
        b = &b[(24 + len).min(b.len())..];
    }
    out
}

#[test]
fn readdir() {
    let s = Sandbox::new("readdir");
    std::fs::remove_file(s.data().join("outlink")).unwrap();
    std::fs::remove_file(s.data().join("abslink")).unwrap();
    symlink("in.txt", s.data().join("ln")).unwrap();
    let g = Guest::default();
    let body = [
        // Everything; the buffer and the bytes used go to stdout.
        g.check("(call $fd_readdir (i32.const 3) (i32.const 4096) (i32.const 4096) (i64.const 0) (i32.const 100))", 0),
        "(call $out (i32.const 100) (i32.const 4))
         (call $out (i32.const 4096) (i32.load (i32.const 100)))".into(),
        // From cookie 2: past `.` and `..`.
        g.check("(call $fd_readdir (i32.const 3) (i32.const 4096) (i32.const 4096) (i64.const 2) (i32.const 100))", 0),
        "(call $out (i32.const 100) (i32.const 4))
         (call $out (i32.const 4096) (i32.load (i32.const 100)))".into(),
        // A 30-byte buffer: full (the second entry cut), so bufused = 30.
        g.check("(call $fd_readdir (i32.const 3) (i32.const 4096) (i32.const 30) (i64.const 0) (i32.const 100))", 0),
        g.check("(i32.load (i32.const 100))", 30),
        // A file or stdio is not a directory: EBADF.
        open_ok(&g, "in.txt", 0, R),
        g.check("(call $fd_readdir (local.get $fd) (i32.const 4096) (i32.const 100) (i64.const 0) (i32.const 100))", EBADF as i64),
        g.check("(call $fd_readdir (i32.const 1) (i32.const 4096) (i32.const 100) (i64.const 0) (i32.const 100))", EBADF as i64),
        g.check("(call $fd_readdir (i32.const 3) (i32.const 65500) (i32.const 100) (i64.const 0) (i32.const 100))", EFAULT as i64),
    ]
    .concat();
    let out = s.run(&g, &body);
    let n = u32::from_le_bytes(out[0..4].try_into().unwrap()) as usize;
    let all = dirents(&out[4..4 + n]);
    let rest = &out[4 + n..];
    let m = u32::from_le_bytes(rest[0..4].try_into().unwrap()) as usize;
    let from2 = dirents(&rest[4..4 + m]);
    let names: Vec<_> = all.iter().map(|e| (e.0, e.2, e.3.as_str())).collect();
    assert_eq!(names[0], (1, 3, "."));
    assert_eq!(names[1], (2, 3, ".."));
    let mut tail: Vec<_> = names[2..].iter().map(|e| (e.1, e.2)).collect();
    tail.sort();
    assert_eq!(tail, [(3, "sub"), (4, "in.txt"), (7, "ln")]);
    for (k, e) in all.iter().enumerate() {
        assert_eq!(e.0, k as u64 + 1, "d_next");
    }
    let ino = std::fs::metadata(s.data().join("in.txt")).unwrap().ino();
    // The inode (Wasmtime gives a hash of the metadata instead).
    if reference().is_none() {
        assert!(all.iter().any(|e| e.3 == "in.txt" && e.1 == ino), "d_ino");
    }
    assert_eq!(from2, all[2..], "cookie 2 starts at the third entry");
}

#[test]
fn path_open_flags_and_errors() {
    let s = Sandbox::new("open");
    let g = Guest::default();
    let bad_utf8 = g.addr("in\u{7f}");
    let body = [
        // O_CREAT|O_EXCL on an existing file: EEXIST; O_EXCL alone is ignored.
        g.check(&open(&g, "in.txt", O_CREAT | O_EXCL, RW), EEXIST as i64),
        g.check(&open(&g, "in.txt", O_EXCL, R), 0),
        g.check(&open(&g, "new.txt", O_CREAT | O_EXCL, RW), 0),
        // O_DIRECTORY on a file: ENOTDIR; with O_CREAT/O_TRUNC/O_EXCL: EINVAL.
        g.check(&open(&g, "in.txt", O_DIRECTORY, R), ENOTDIR as i64),
        g.check(&open(&g, "sub", O_DIRECTORY | O_CREAT, R), EINVAL as i64),
        g.check(&open(&g, "sub", O_DIRECTORY | O_TRUNC, R), EINVAL as i64),
        // A directory opened without O_DIRECTORY is still a directory.
        g.check(&open(&g, "sub", 0, R), 0),
        g.check("(call $fd_fdstat_get (i32.load (i32.const 100)) (i32.const 320))", 0),
        g.check("(i32.load8_u (i32.const 320))", 3),
        // ... and paths resolve beneath it.
        format!(
            "(local.set $fd2 (i32.load (i32.const 100)))
             {}",
            g.check(&format!("(call $path_open (local.get $fd2) (i32.const 1) {} (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100))", g.s("file.txt")), 0)
        ),
        // ... but not for writing: EISDIR.
        g.check(&open(&g, "sub", 0, RW), EISDIR as i64),
        // The sync fdflags: ENOTSUP (Wasmtime).
        g.check(&format!("(call $open (i32.const 1) {} (i32.const 0) (i64.const 2) (i32.const 16))", g.s("in.txt")), ENOTSUP as i64),
        g.check(&format!("(call $open (i32.const 1) {} (i32.const 0) (i64.const 2) (i32.const 2))", g.s("in.txt")), ENOTSUP as i64),
        // Flags or rights outside their types: EINVAL (wiggle).
        g.bad(&open(&g, "in.txt", 16, R), EINVAL as i64),
        g.bad(&open(&g, "in.txt", 0x10000, R), EOVERFLOW as i64),
        g.bad(&open(&g, "in.txt", 0, -1), EINVAL as i64),
        g.bad(&format!("(call $open (i32.const 2) {} (i32.const 0) (i64.const 2) (i32.const 0))", g.s("in.txt")), EINVAL as i64),
        // Relative to a file: ENOTDIR; to stdio: EBADF; missing: ENOENT.
        open_ok(&g, "in.txt", 0, R),
        g.check(&format!("(call $path_open (local.get $fd) (i32.const 1) {} (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100))", g.s("x")), ENOTDIR as i64),
        g.check(&format!("(call $path_open (i32.const 1) (i32.const 1) {} (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100))", g.s("x")), EBADF as i64),
        g.check(&open(&g, "nope", 0, R), ENOENT as i64),
        // A path that is not UTF-8: EILSEQ; outside memory: EFAULT.
        format!("(i32.store8 (i32.const {}) (i32.const 255))", bad_utf8 + 2),
        g.check(&format!("(call $open (i32.const 1) (i32.const {bad_utf8}) (i32.const 3) (i32.const 0) (i64.const 2) (i32.const 0))"), EILSEQ as i64),
        g.check("(call $open (i32.const 1) (i32.const 65530) (i32.const 10) (i32.const 0) (i64.const 2) (i32.const 0))", EFAULT as i64),
        // Read-only: writing is the kernel's EBADF; O_TRUNC truncates.
        open_ok(&g, "in.txt", 0, R),
        iov(320, 1),
        g.check("(call $fd_write (local.get $fd) (i32.const 200) (i32.const 1) (i32.const 104))", EBADF as i64),
        g.check(&open(&g, "sub/file.txt", O_TRUNC, R), 0),
        // The result pointer outside memory: EFAULT, and no fd is used up.
        g.check(&format!("(call $path_open (i32.const 3) (i32.const 1) {} (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 65534))", g.s("in.txt")), EFAULT as i64),
    ]
    .concat();
    s.run(&g, &body);
    assert!(s.data().join("new.txt").is_file());
    assert_eq!(std::fs::read(s.data().join("in.txt")).unwrap(), b"inside\n");
    assert_eq!(std::fs::read(s.data().join("sub/file.txt")).unwrap(), b"");
}

/// The ways out of the preopen every path function must refuse with
/// EPERM (Wasmtime's `escape_attempt`): `..`, absolute, through a
/// symbolic link to a directory outside.
fn escapes(s: &Sandbox, name: &str) -> Vec<String> {
    vec![
        format!("../{name}"),
        format!("sub/../../{name}"),
        s.outside(name).to_str().unwrap().to_string(),
        format!("outlink/{name}"),
    ]
}

#[test]
fn create_and_remove_directory() {
    let s = Sandbox::new("mkdir");
    std::fs::create_dir(s.data().join("empty")).unwrap();
    let g = Guest::default();
    let mut body = vec![
        g.check(
            &format!(
                "(call $path_create_directory (i32.const 3) {})",
                g.s("newdir")
            ),
            0,
        ),
        // Wasmtime: EEXIST again, ENOENT under a missing parent.
        g.check(
            &format!(
                "(call $path_create_directory (i32.const 3) {})",
                g.s("newdir")
            ),
            EEXIST as i64,
        ),
        g.check(
            &format!(
                "(call $path_create_directory (i32.const 3) {})",
                g.s("no/such")
            ),
            ENOENT as i64,
        ),
        g.check(
            &format!(
                "(call $path_create_directory (i32.const 3) {})",
                g.s("sub/deeper/")
            ),
            0,
        ),
        g.check(
            &format!(
                "(call $path_remove_directory (i32.const 3) {})",
                g.s("empty")
            ),
            0,
        ),
        // Not empty: ENOTEMPTY; a file: ENOTDIR; a link to a directory
        // is not a directory to remove: ENOTDIR.
        g.check(
            &format!("(call $path_remove_directory (i32.const 3) {})", g.s("sub")),
            ENOTEMPTY as i64,
        ),
        g.check(
            &format!(
                "(call $path_remove_directory (i32.const 3) {})",
                g.s("in.txt")
            ),
            ENOTDIR as i64,
        ),
        g.check(
            &format!(
                "(call $path_remove_directory (i32.const 3) {})",
                g.s("outlink")
            ),
            ENOTDIR as i64,
        ),
        g.check(
            &format!("(call $path_create_directory (i32.const 1) {})", g.s("x")),
            EBADF as i64,
        ),
        g.check(
            &format!("(call $path_remove_directory (i32.const 1) {})", g.s("x")),
            EBADF as i64,
        ),
        g.check(
            "(call $path_create_directory (i32.const 3) (i32.const 65530) (i32.const 9))",
            EFAULT as i64,
        ),
        // `..` naming the preopen's parent.
        g.check(
            &format!("(call $path_remove_directory (i32.const 3) {})", g.s("..")),
            EPERM as i64,
        ),
        g.check(
            &format!(
                "(call $path_create_directory (i32.const 3) {})",
                g.s("sub/../..")
            ),
            EPERM as i64,
        ),
    ];
    for p in escapes(&s, "made") {
        body.push(g.check(
            &format!("(call $path_create_directory (i32.const 3) {})", g.s(&p)),
            EPERM as i64,
        ));
    }
    for p in escapes(&s, "victim") {
        body.push(g.check(
            &format!("(call $path_remove_directory (i32.const 3) {})", g.s(&p)),
            EPERM as i64,
        ));
    }
    let before = s.outside_snapshot();
    s.run(&g, &body.concat());
    assert!(s.data().join("newdir").is_dir());
    assert!(s.data().join("sub/deeper").is_dir());
    assert!(!exists(&s.data().join("empty")));
    assert!(s.data().join("outlink").is_symlink());
    assert!(!exists(&s.outside("made")));
    assert!(s.outside("victim").is_dir());
    assert_eq!(s.outside_snapshot(), before);
}

#[test]
fn unlink_file() {
    let s = Sandbox::new("unlink");
    symlink("../secret", s.data().join("rel")).unwrap();
    let g = Guest::default();
    let mut body = vec![
        g.check(
            &format!("(call $path_unlink_file (i32.const 3) {})", g.s("in.txt")),
            0,
        ),
        g.check(
            &format!("(call $path_unlink_file (i32.const 3) {})", g.s("in.txt")),
            ENOENT as i64,
        ),
        // A directory: EISDIR (Linux unlinkat, as Wasmtime gives).
        g.check(
            &format!("(call $path_unlink_file (i32.const 3) {})", g.s("sub")),
            EISDIR as i64,
        ),
        g.check(
            &format!(
                "(call $path_unlink_file (i32.const 3) {})",
                g.s("sub/file.txt/")
            ),
            ENOTDIR as i64,
        ),
        // Links leading out are removed themselves, never their targets.
        g.check(
            &format!("(call $path_unlink_file (i32.const 3) {})", g.s("abslink")),
            0,
        ),
        g.check(
            &format!("(call $path_unlink_file (i32.const 3) {})", g.s("rel")),
            0,
        ),
        g.check(
            &format!("(call $path_unlink_file (i32.const 0) {})", g.s("x")),
            EBADF as i64,
        ),
    ];
    for p in escapes(&s, "secret") {
        body.push(g.check(
            &format!("(call $path_unlink_file (i32.const 3) {})", g.s(&p)),
            EPERM as i64,
        ));
    }
    let before = s.outside_snapshot();
    s.run(&g, &body.concat());
    assert!(!exists(&s.data().join("in.txt")));
    assert!(!exists(&s.data().join("abslink")) && !exists(&s.data().join("rel")));
    assert!(s.data().join("sub/file.txt").is_file());
    assert_eq!(std::fs::read(s.outside("secret")).unwrap(), b"outside\n");
    assert_eq!(s.outside_snapshot(), before);
}

#[test]
fn rename() {
    let s = Sandbox::new("rename");
    symlink("../secret", s.data().join("rel")).unwrap();
    let g = Guest::default();
    let ren = |from: &str, to: &str| {
        format!(
            "(call $path_rename (i32.const 3) {} (i32.const 3) {})",
            g.s(from),
            g.s(to)
        )
    };
    let mut body = vec![
        g.check(&ren("in.txt", "moved.txt"), 0),
        g.check(&ren("moved.txt", "sub/moved.txt"), 0),
        g.check(&ren("nope", "x"), ENOENT as i64),
        // A directory over a non-empty one: ENOTEMPTY (the kernel's).
        g.check(
            &format!("(call $path_create_directory (i32.const 3) {})", g.s("d")),
            0,
        ),
        g.check(&ren("d", "sub"), ENOTEMPTY as i64),
        // A link leading out is renamed itself: no escape.
        g.check(&ren("rel", "rel2"), 0),
        // Across two directory descriptors (the preopen and sub).
        g.check(&open(&g, "sub", O_DIRECTORY, R), 0),
        g.check(
            &format!(
                "(call $path_rename (i32.load (i32.const 100)) {} (i32.const 3) {})",
                g.s("moved.txt"),
                g.s("back.txt")
            ),
            0,
        ),
        // Either end not a directory descriptor: EBADF.
        g.check(
            &format!(
                "(call $path_rename (i32.const 1) {} (i32.const 3) {})",
                g.s("back.txt"),
                g.s("x")
            ),
            EBADF as i64,
        ),
        g.check(
            &format!(
                "(call $path_rename (i32.const 3) {} (i32.const 2) {})",
                g.s("back.txt"),
                g.s("x")
            ),
            EBADF as i64,
        ),
    ];
    for p in escapes(&s, "secret") {
        body.push(g.check(&ren(&p, "stolen"), EPERM as i64));
    }
    for p in escapes(&s, "planted") {
        body.push(g.check(&ren("back.txt", &p), EPERM as i64));
    }
    body.push(g.check(&ren("back.txt", ".."), EPERM as i64));
    let before = s.outside_snapshot();
    s.run(&g, &body.concat());
    assert_eq!(
        std::fs::read(s.data().join("back.txt")).unwrap(),
        b"inside\n"
    );
    assert!(!exists(&s.data().join("in.txt")));
    assert!(!exists(&s.data().join("stolen")));
    assert_eq!(
        std::fs::read_link(s.data().join("rel2")).unwrap(),
        Path::new("../secret")
    );
    assert!(!exists(&s.outside("planted")));
    assert_eq!(s.outside_snapshot(), before);
}

#[test]
fn hard_link() {
    let s = Sandbox::new("link");
    let g = Guest::default();
    let link = |flags: i32, from: &str, to: &str| {
        format!(
            "(call $path_link (i32.const 3) (i32.const {flags}) {} (i32.const 3) {})",
            g.s(from),
            g.s(to)
        )
    };
    let mut body = vec![
        g.check(&link(0, "in.txt", "hard.txt"), 0),
        g.check(&link(0, "in.txt", "sub/hard2.txt"), 0),
        // Wasmtime refuses SYMLINK_FOLLOW on the source: EINVAL.
        g.check(&link(FOLLOW, "in.txt", "x"), EINVAL as i64),
        g.check(&link(0, "in.txt", "hard.txt"), EEXIST as i64),
        g.check(&link(0, "nope", "x"), ENOENT as i64),
        // A link to a directory: the kernel's EPERM.
        g.check(&link(0, "sub", "subhard"), EPERM as i64),
        // Hard-linking a symbolic link that leads out links the link; it
        // still cannot be followed out (EPERM at use).
        g.check(&link(0, "abslink", "abs2"), 0),
        g.check(&open(&g, "abs2", 0, R), EPERM as i64),
        // A trailing slash on the source follows it (kernel): to the
        // outside directory, then a directory: EPERM, never a link.
        g.check(&link(0, "outlink/", "x"), EPERM as i64),
        g.check(
            &format!(
                "(call $path_link (i32.const 3) (i32.const 0) {} (i32.const 1) {})",
                g.s("in.txt"),
                g.s("x")
            ),
            EBADF as i64,
        ),
    ];
    for p in escapes(&s, "secret") {
        body.push(g.check(&link(0, &p, "stolen"), EPERM as i64));
    }
    for p in escapes(&s, "planted") {
        body.push(g.check(&link(0, "in.txt", &p), EPERM as i64));
    }
    let before = s.outside_snapshot();
    s.run(&g, &body.concat());
    let md = std::fs::metadata(s.data().join("in.txt")).unwrap();
    assert_eq!(md.nlink(), 3);
    assert_eq!(
        std::fs::metadata(s.data().join("hard.txt")).unwrap().ino(),
        md.ino()
    );
    assert!(!exists(&s.data().join("stolen")) && !exists(&s.data().join("x")));
    assert!(s.data().join("abs2").is_symlink());
    assert_eq!(std::fs::metadata(s.outside("secret")).unwrap().nlink(), 1);
    assert_eq!(s.outside_snapshot(), before);
}

#[test]
fn symlink_and_readlink() {
    let s = Sandbox::new("symlink");
    symlink("secret", s.outside("outside-link")).unwrap();
    let g = Guest::default();
    let sym = |target: &str, at: &str| {
        format!(
            "(call $path_symlink {} (i32.const 3) {})",
            g.s(target),
            g.s(at)
        )
    };
    let readlink = |path: &str, len: u32| {
        format!(
            "(call $path_readlink (i32.const 3) {} (i32.const 4096) (i32.const {len}) (i32.const 104))",
            g.s(path)
        )
    };
    let mut body = vec![
        g.check(&sym("in.txt", "l"), 0),
        g.check(&readlink("l", 100), 0),
        g.check("(i32.load (i32.const 104))", 6),
        g.check("(i32.load (i32.const 4096))", i32::from_le_bytes(*b"in.t") as i64),
        // Cut at the buffer's length.
        "(i32.store (i32.const 4096) (i32.const 0))".into(),
        g.check(&readlink("l", 3), 0),
        g.check("(i32.load (i32.const 104))", 3),
        g.check("(i32.load (i32.const 4096))", i32::from_le_bytes(*b"in.\0") as i64),
        // Followed: the file inside.
        g.check(&open(&g, "l", 0, R), 0),
        // An absolute target is refused (Wasmtime: escape_attempt, EPERM).
        g.check(&sym("/etc/passwd", "abs"), EPERM as i64),
        g.check(&sym(s.outside("secret").to_str().unwrap(), "abs"), EPERM as i64),
        // A relative one climbing out is created (as Wasmtime) but never
        // followed out: EPERM at use.
        g.check(&sym("../secret", "esc"), 0),
        g.check(&open(&g, "esc", 0, R), EPERM as i64),
        g.check(&format!("(call $path_filestat_get (i32.const 3) (i32.const 1) {} (i32.const 320))", g.s("esc")), EPERM as i64),
        g.check(&sym("sub/../../secret", "esc2"), 0),
        g.check(&open(&g, "esc2", O_CREAT | O_TRUNC, RW), EPERM as i64),
        g.check(&sym("in.txt", "in.txt"), EEXIST as i64),
        g.check(&format!("(call $path_symlink {} (i32.const 1) {})", g.s("x"), g.s("y")), EBADF as i64),
        // readlink: not a link EINVAL, missing ENOENT (the kernel's).
        g.check(&readlink("in.txt", 100), EINVAL as i64),
        g.check(&readlink("nope", 100), ENOENT as i64),
        g.check(&readlink("sub/..", 100), EINVAL as i64),
        g.check(&readlink("l", 100).replace("(i32.const 4096)", "(i32.const 65534)"), EFAULT as i64),
        g.check(&format!("(call $path_readlink (i32.const 1) {} (i32.const 4096) (i32.const 10) (i32.const 104))", g.s("l")), EBADF as i64),
        // A link outside cannot be read through the preopen.
        g.check(&readlink("../outside-link", 100), EPERM as i64),
        g.check(&readlink("outlink/outside-link", 100), EPERM as i64),
        g.check(&readlink("outlink/", 100), EPERM as i64),
        // An absolute link's text is not shown (Wasmtime: EPERM).
        g.check(&readlink("abslink", 100), EPERM as i64),
    ];
    for p in escapes(&s, "planted") {
        body.push(g.check(&sym("in.txt", &p), EPERM as i64));
    }
    let before = s.outside_snapshot();
    s.run(&g, &body.concat());
    assert_eq!(
        std::fs::read_link(s.data().join("l")).unwrap(),
        Path::new("in.txt")
    );
    assert!(!exists(&s.data().join("abs")));
    assert!(s.data().join("esc").is_symlink());
    assert!(!exists(&s.outside("planted")));
    assert_eq!(std::fs::read(s.outside("secret")).unwrap(), b"outside\n");
    assert_eq!(s.outside_snapshot(), before);
}

#[test]
fn path_filestat_get_and_set_times() {
    let s = Sandbox::new("pathstat");
    symlink("in.txt", s.data().join("l")).unwrap();
    let g = Guest::default();
    let stat = |flags: i32, path: &str| {
        format!(
            "(call $path_filestat_get (i32.const 3) (i32.const {flags}) {} (i32.const 320))",
            g.s(path)
        )
    };
    // mtime := 1000 s (MTIM).
    let times = |flags: i32, path: &str| {
        format!(
            "(call $path_filestat_set_times (i32.const 3) (i32.const {flags}) {} (i64.const 0) (i64.const 1000000000000) (i32.const 4))",
            g.s(path)
        )
    };
    let mut body = vec![
        g.check(&stat(FOLLOW, "l"), 0),
        g.check("(i32.load8_u (i32.const 336))", 4),
        g.check64("(i64.load (i32.const 352))", 7),
        g.check(&stat(0, "l"), 0),
        g.check("(i32.load8_u (i32.const 336))", 7),
        g.check(&stat(0, "sub"), 0),
        g.check("(i32.load8_u (i32.const 336))", 3),
        g.check(&stat(0, "nope"), ENOENT as i64),
        g.bad(&stat(2, "in.txt"), EINVAL as i64),
        // Without FOLLOW the link's own time changes, with it the file's.
        g.check(&times(0, "l"), 0),
        g.check(&times(FOLLOW, "sub/file.txt"), 0),
        g.check(&format!("(call $path_filestat_set_times (i32.const 3) (i32.const 0) {} (i64.const 0) (i64.const 0) (i32.const 12))", g.s("in.txt")), EINVAL as i64),
        g.check(&times(0, "sub/."), 0),
        g.check(&format!("(call $path_filestat_set_times (i32.const 1) (i32.const 0) {} (i64.const 0) (i64.const 0) (i32.const 8))", g.s("in.txt")), EBADF as i64),
        // Following a link leading out: EPERM, for stat and times.
        g.check(&stat(FOLLOW, "abslink"), EPERM as i64),
        g.check(&times(FOLLOW, "abslink"), EPERM as i64),
        g.check(&times(0, ".."), EPERM as i64),
        g.check(&times(FOLLOW, "outlink/"), EPERM as i64),
        g.check(&times(0, "sub/../.."), EPERM as i64),
    ];
    for p in escapes(&s, "secret") {
        body.push(g.check(&stat(0, &p), EPERM as i64));
        body.push(g.check(&times(0, &p), EPERM as i64));
        body.push(g.check(&times(FOLLOW, &p), EPERM as i64));
    }
    let before = s.outside_snapshot();
    let root_mtime = std::fs::metadata(&s.0).unwrap().mtime();
    s.run(&g, &body.concat());
    let link = std::fs::symlink_metadata(s.data().join("l")).unwrap();
    assert_eq!(link.mtime(), 1000);
    assert_ne!(
        std::fs::metadata(s.data().join("in.txt")).unwrap().mtime(),
        1000
    );
    assert_eq!(
        std::fs::metadata(s.data().join("sub/file.txt"))
            .unwrap()
            .mtime(),
        1000
    );
    assert_eq!(
        std::fs::metadata(s.data().join("sub")).unwrap().mtime(),
        1000
    );
    assert_eq!(s.outside_snapshot(), before);
    assert_ne!(
        std::fs::metadata(s.outside("secret")).unwrap().mtime(),
        1000
    );
    assert_eq!(std::fs::metadata(&s.0).unwrap().mtime(), root_mtime);
}

/// Subscriptions at 300 (48 bytes each), events at 1000 (32 each), the
/// count at 100.
fn clock_sub(k: u32, userdata: i64, id: i32, timeout: i64, flags: i32) -> String {
    let at = 320 + 48 * k;
    format!(
        "(i64.store (i32.const {at}) (i64.const {userdata}))
         (i32.store8 (i32.const {}) (i32.const 0))
         (i32.store (i32.const {}) (i32.const {id}))
         (i64.store (i32.const {}) (i64.const {timeout}))
         (i32.store16 (i32.const {}) (i32.const {flags}))",
        at + 8,
        at + 16,
        at + 24,
        at + 40
    )
}

fn fd_sub(k: u32, userdata: i64, tag: i32, fd: &str) -> String {
    let at = 320 + 48 * k;
    format!(
        "(i64.store (i32.const {at}) (i64.const {userdata}))
         (i32.store8 (i32.const {}) (i32.const {tag}))
         (i32.store (i32.const {}) {fd})",
        at + 8,
        at + 16
    )
}

#[test]
fn poll_oneoff() {
    let s = Sandbox::new("poll");
    let g = Guest::default();
    let poll = |n: u32| {
        format!(
            "(call $poll_oneoff (i32.const 320) (i32.const 1000) (i32.const {n}) (i32.const 100))"
        )
    };
    let body = [
        // No subscriptions: EINVAL (Wasmtime).
        g.check(&poll(0), EINVAL as i64),
        // One relative clock: a sleep; one clock event with the userdata.
        clock_sub(0, 77, 1, 1_000_000, 0),
        g.check(&poll(1), 0),
        g.check("(i32.load (i32.const 100))", 1),
        g.check64("(i64.load (i32.const 1000))", 77),
        g.check("(i32.load16_u (i32.const 1008))", 0),
        g.check("(i32.load8_u (i32.const 1010))", 0),
        // A 10 s clock and stdout writable: only the write is ready.
        clock_sub(0, 1, 1, 10_000_000_000, 0),
        fd_sub(1, 2, 2, "(i32.const 1)"),
        g.check(&poll(2), 0),
        g.check("(i32.load (i32.const 100))", 1),
        g.check64("(i64.load (i32.const 1000))", 2),
        g.check("(i32.load8_u (i32.const 1010))", 2),
        // A file at its end is readable with HANGUP; one in the middle
        // without; both nbytes 1 (Wasmtime).
        open_ok(&g, "in.txt", 0, R),
        "(local.set $fd2 (local.get $fd))".into(),
        g.check("(call $fd_seek (local.get $fd2) (i64.const 0) (i32.const 2) (i32.const 112))", 0),
        open_ok(&g, "sub/file.txt", 0, R),
        // (One at a time: Wasmtime reports the files that its poll found
        // ready, which need not be all of them.)
        fd_sub(0, 5, 1, "(local.get $fd2)"),
        g.check(&poll(1), 0),
        g.check("(i32.load (i32.const 100))", 1),
        g.check64("(i64.load (i32.const 1000))", 5),
        g.check("(i32.load8_u (i32.const 1010))", 1),
        g.check64("(i64.load (i32.const 1016))", 1),
        g.check("(i32.load16_u (i32.const 1024))", 1),
        fd_sub(0, 6, 1, "(local.get $fd)"),
        g.check(&poll(1), 0),
        g.check("(i32.load (i32.const 100))", 1),
        g.check64("(i64.load (i32.const 1000))", 6),
        g.check("(i32.load16_u (i32.const 1024))", 0),
        // An absolute monotonic deadline already past: ready at once,
        // alongside a relative 10 s one that is not.
        clock_sub(0, 8, 1, 10_000_000_000, 0),
        clock_sub(1, 9, 1, 1, 1),
        g.check(&poll(2), 0),
        g.check("(i32.load (i32.const 100))", 1),
        g.check64("(i64.load (i32.const 1000))", 9),
        // Two relative clocks: the shorter wins.
        clock_sub(0, 10, 0, 10_000_000_000, 0),
        clock_sub(1, 11, 1, 1_000_000, 0),
        g.check(&poll(2), 0),
        g.check("(i32.load (i32.const 100))", 1),
        g.check64("(i64.load (i32.const 1000))", 11),
        // A CPU-time clock: EINVAL; reading a directory or writing stdin:
        // EBADF; an unknown tag: EINVAL.
        clock_sub(0, 1, 2, 1, 0),
        clock_sub(1, 1, 1, 1, 0),
        g.check(&poll(2), EINVAL as i64),
        fd_sub(0, 1, 1, "(i32.const 3)"),
        g.check(&poll(1), EBADF as i64),
        fd_sub(0, 1, 2, "(i32.const 0)"),
        g.check(&poll(1), EBADF as i64),
        fd_sub(0, 1, 3, "(i32.const 1)"),
        g.check(&poll(1), EINVAL as i64),
        // Subscriptions or events outside memory: EFAULT (Wasmtime traps).
        g.check("(call $poll_oneoff (i32.const 65500) (i32.const 1000) (i32.const 1) (i32.const 100))", EFAULT as i64),
        g.check("(call $poll_oneoff (i32.const 320) (i32.const 65530) (i32.const 1) (i32.const 100))", EFAULT as i64),
        g.check("(call $poll_oneoff (i32.const 320) (i32.const 1000) (i32.const 100000000) (i32.const 100))", EFAULT as i64),
    ]
    .concat();
    s.run(&g, &body);
}

#[test]
fn proc_sched_and_sockets() {
    let s = Sandbox::new("proc");
    let g = Guest::default();
    let body = [
        // Wasmtime: proc_raise ENOTSUP, sched_yield succeeds.
        g.check("(call $proc_raise (i32.const 2))", ENOTSUP as i64),
        // Not a signal: EINVAL; wider than the u8 enum: EOVERFLOW (wiggle).
        g.bad("(call $proc_raise (i32.const 31))", EINVAL as i64),
        g.bad("(call $proc_raise (i32.const 256))", EOVERFLOW as i64),
        g.bad("(call $sock_send (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 65536) (i32.const 100))", EOVERFLOW as i64),
        g.check("(call $sched_yield)", 0),
        // No sockets: an open descriptor is ENOTSOCK, a closed one EBADF.
        g.check("(call $sock_accept (i32.const 3) (i32.const 0) (i32.const 100))", ENOTSOCK as i64),
        g.check("(call $sock_accept (i32.const 50) (i32.const 0) (i32.const 100))", EBADF as i64),
        g.check("(call $sock_recv (i32.const 0) (i32.const 200) (i32.const 1) (i32.const 0) (i32.const 100) (i32.const 104))", ENOTSOCK as i64),
        g.check("(call $sock_send (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 0) (i32.const 100))", ENOTSOCK as i64),
        g.check("(call $sock_shutdown (i32.const 1) (i32.const 3))", ENOTSOCK as i64),
        g.check("(call $sock_shutdown (i32.const 50) (i32.const 1))", EBADF as i64),
        // Flags outside sdflags/riflags: EINVAL (wiggle).
        g.bad("(call $sock_shutdown (i32.const 1) (i32.const 4))", EINVAL as i64),
        g.bad("(call $sock_recv (i32.const 0) (i32.const 200) (i32.const 1) (i32.const 4) (i32.const 100) (i32.const 104))", EINVAL as i64),
        "(call $proc_exit (i32.const 42))".into(),
        g.check("(i32.const 0)", 1),
    ]
    .concat();
    let o = s.run_with(&g, &body, "", &[]);
    if reference().is_some() {
        // The reference runner reports a non-zero exit as an error.
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("42"), "{err}");
    } else {
        assert_eq!(o.status.code(), Some(42));
    }
}

/// Corners, each also run under Wasmtime (PCCC_WASI_REFERENCE) to pin
/// its answer: `.`, empty paths, trailing slashes, symbolic link loops,
/// write-only files, a closed stdout, stdin at its end.
#[test]
fn corners() {
    let s = Sandbox::new("corners");
    symlink("loop", s.data().join("loop")).unwrap();
    std::fs::create_dir(s.data().join("empty")).unwrap();
    let g = Guest::default();
    let p = |f: &str, path: &str| format!("(call ${f} (i32.const 3) {})", g.s(path));
    let nofollow = |path: &str| {
        format!(
            "(call $open (i32.const 0) {} (i32.const 0) (i64.const 2) (i32.const 0))",
            g.s(path)
        )
    };
    let body = [
        g.check(&p("path_create_directory", "."), EEXIST as i64),
        g.check(&p("path_remove_directory", "."), EINVAL as i64),
        g.check(&p("path_unlink_file", "."), EISDIR as i64),
        g.check(&p("path_create_directory", ""), ENOENT as i64),
        g.check(&p("path_unlink_file", ""), ENOENT as i64),
        g.check(&open(&g, "", 0, R), ENOENT as i64),
        g.check(&format!("(call $path_filestat_get (i32.const 3) (i32.const 1) {} (i32.const 320))", g.s("")), ENOENT as i64),
        // Trailing slashes: on a file ENOTDIR; on a directory fine.
        g.check(&open(&g, "in.txt/", 0, R), ENOTDIR as i64),
        g.check(&p("path_unlink_file", "in.txt/"), ENOTDIR as i64),
        g.check(&p("path_unlink_file", "sub/"), EISDIR as i64),
        // Wasmtime splits "empty/" as "empty/" + ".": rmdir of "." is EINVAL.
        g.check(&p("path_remove_directory", "empty/"), EINVAL as i64),
        g.check(&p("path_remove_directory", "empty"), 0),
        g.check(&p("path_create_directory", "made/"), 0),
        // A loop: ELOOP, followed or not (not: the last component is a link).
        g.check(&open(&g, "loop", 0, R), 32),
        g.check(&nofollow("loop"), 32),
        g.check(&nofollow("abslink"), 32),
        g.check(&format!("(call $path_filestat_get (i32.const 3) (i32.const 1) {} (i32.const 320))", g.s("loop")), 32),
        // Write-only: reading is the kernel's EBADF.
        g.check(&open(&g, "in.txt", 0, W), 0),
        "(local.set $fd (i32.load (i32.const 100)))".into(),
        iov(4096, 4),
        g.check("(call $fd_read (local.get $fd) (i32.const 200) (i32.const 1) (i32.const 104))", EBADF as i64),
        g.check("(call $fd_fdstat_get (local.get $fd) (i32.const 320))", 0),
        g.check("(i32.wrap_i64 (i64.and (i64.load (i32.const 328)) (i64.const 66)))", 64),
        // Append mode: fd_pwrite's offset is ignored (Linux semantics).
        g.check(
            &format!(
                "(call $path_open (i32.const 3) (i32.const 1) {} (i32.const 0) (i64.const 64) (i64.const 0) (i32.const 1) (i32.const 100))",
                g.s("sub/file.txt")
            ),
            0,
        ),
        format!("(i32.store (i32.const 200) (i32.const {})) (i32.store (i32.const 204) (i32.const 2))", g.addr("AB")),
        g.check("(call $fd_pwrite (i32.load (i32.const 100)) (i32.const 200) (i32.const 1) (i64.const 0) (i32.const 104))", 0),
        // stdin (closed by the test): read 0 bytes, poll says readable.
        iov(4096, 4),
        g.check("(call $fd_read (i32.const 0) (i32.const 200) (i32.const 1) (i32.const 104))", 0),
        g.check("(i32.load (i32.const 104))", 0),
        fd_sub(0, 3, 1, "(i32.const 0)"),
        g.check("(call $poll_oneoff (i32.const 320) (i32.const 1000) (i32.const 1) (i32.const 100))", 0),
        g.check("(i32.load (i32.const 100))", 1),
        g.check("(i32.load8_u (i32.const 1010))", 1),
        // A closed stdout: EBADF.
        g.check("(call $fd_close (i32.const 1))", 0),
        g.check("(call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 104))", EBADF as i64),
        // A directory opened by path: readdir and filestat work on it.
        g.check(&open(&g, "sub", O_DIRECTORY, R), 0),
        g.check("(call $fd_readdir (i32.load (i32.const 100)) (i32.const 4096) (i32.const 4096) (i64.const 0) (i32.const 104))", 0),
        g.check("(call $fd_filestat_get (i32.load (i32.const 100)) (i32.const 320))", 0),
        g.check("(i32.load8_u (i32.const 336))", 3),
    ]
    .concat();
    s.run(&g, &body);
    assert!(!exists(&s.data().join("empty")));
    assert!(s.data().join("made").is_dir());
    assert_eq!(
        std::fs::read(s.data().join("sub/file.txt")).unwrap(),
        b"deeper\nAB"
    );
}

/// More corners of links, renames and stats, pinned against Wasmtime.
#[test]
fn link_and_rename_corners() {
    let s = Sandbox::new("corners2");
    symlink("sub", s.data().join("sublink")).unwrap();
    let g = Guest::default();
    let stat = |flags: i32, path: &str| {
        format!(
            "(call $path_filestat_get (i32.const 3) (i32.const {flags}) {} (i32.const 320))",
            g.s(path)
        )
    };
    let ren = |from: &str, to: &str| {
        format!(
            "(call $path_rename (i32.const 3) {} (i32.const 3) {})",
            g.s(from),
            g.s(to)
        )
    };
    let link = |from: &str, to: &str| {
        format!(
            "(call $path_link (i32.const 3) (i32.const 0) {} (i32.const 3) {})",
            g.s(from),
            g.s(to)
        )
    };
    let body = [
        // Not following an absolute link: the link itself is stat'ed.
        g.check(&stat(0, "abslink"), 0),
        g.check("(i32.load8_u (i32.const 336))", 7),
        g.check(&stat(0, "sublink/"), 0),
        g.check("(i32.load8_u (i32.const 336))", 3),
        // O_DIRECTORY through a link to a directory, not followed: ELOOP...
        g.check(
            &format!(
                "(call $open (i32.const 0) {} (i32.const {O_DIRECTORY}) (i64.const 2) (i32.const 0))",
                g.s("sublink")
            ),
            32,
        ),
        // ... followed: fine.
        g.check(&open(&g, "sublink", O_DIRECTORY, R), 0),
        // O_CREAT with a trailing slash: EISDIR (the kernel's).
        g.check(&open(&g, "newfile/", O_CREAT, RW), EISDIR as i64),
        // Renames with trailing slashes: a file source with one is ENOTDIR,
        // a directory source works either way.
        g.check(&ren("in.txt/", "x"), ENOTDIR as i64),
        g.check(&ren("in.txt", "x/"), ENOTDIR as i64),
        g.check(&ren("sub/", "sub2/"), 0),
        g.check(&ren("sub2", "sub"), 0),
        // Renaming a file over a directory and back: EISDIR / ENOTDIR.
        g.check(&ren("in.txt", "sub"), EISDIR as i64),
        g.check(&ren("sub", "in.txt"), ENOTDIR as i64),
        // Links: onto an existing name EEXIST, to a trailing-slash name ENOENT.
        g.check(&link("in.txt", "sub/file.txt"), EEXIST as i64),
        g.check(&link("in.txt", "new/"), ENOENT as i64),
        g.check(&link("sublink", "sublink2"), 0),
        // A symbolic link with a trailing slash at its name: ENOENT.
        g.check(
            &format!(
                "(call $path_symlink {} (i32.const 3) {})",
                g.s("in.txt"),
                g.s("sl/")
            ),
            ENOENT as i64,
        ),
    ]
    .concat();
    s.run(&g, &body);
    assert!(s.data().join("sublink2").is_symlink());
    assert!(s.data().join("sub/file.txt").is_file());
}
