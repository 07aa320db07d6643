//! Real WASI programs as shipped (`tests/real/README.md`: what, where from,
//! and how the expected output was recorded with Wasmtime): each compiled
//! with `--verify`, run by the `pccc` binary in an empty preopened
//! directory, its stdout, exit status and written files compared with
//! Wasmtime's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn real(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/real")
        .join(name)
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

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    stdout: Option<&'static str>,
    /// The first line of stderr, where the program reports an error.
    stderr_line: Option<&'static str>,
    status: i32,
    /// Files the program writes in its directory, with their expected copies.
    writes: &'static [(&'static str, &'static str)],
}

const ICEPLL: &[Case] = &[
    Case {
        name: "icepll 12 MHz to 48 MHz",
        args: &["-i", "12", "-o", "48"],
        stdout: Some("icepll-12-48.stdout"),
        stderr_line: None,
        status: 0,
        writes: &[],
    },
    Case {
        name: "icepll writes a Verilog module",
        args: &["-i", "12", "-o", "60", "-m", "-f", "pll.v"],
        stdout: Some("icepll-pll-v.stdout"),
        stderr_line: None,
        status: 0,
        writes: &[("pll.v", "icepll-pll.v")],
    },
    Case {
        name: "icepll refuses an impossible frequency",
        args: &["-i", "100", "-o", "12345"],
        stdout: None,
        stderr_line: Some("icepll-bad.stderr"),
        status: 1,
        writes: &[],
    },
];

#[test]
fn icepll_runs_as_shipped() {
    let dir = std::env::temp_dir().join(format!("pccc-real-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let art = dir.join("icepll.o");
    let wasm = real("icepll.wasm");
    let o = pccc(&[
        "compile",
        "--verify",
        wasm.to_str().unwrap(),
        "-o",
        art.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for case in ICEPLL {
        let work = dir.join("work");
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        let mut args = vec![
            "run",
            art.to_str().unwrap(),
            "--dir",
            work.to_str().unwrap(),
            "--",
        ];
        args.extend_from_slice(case.args);
        let o = pccc(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(case.status), "{}: {err}", case.name);
        if let Some(f) = case.stdout {
            let want = std::fs::read_to_string(real(f)).unwrap();
            assert_eq!(String::from_utf8_lossy(&o.stdout), want, "{}", case.name);
        }
        if let Some(f) = case.stderr_line {
            let want = std::fs::read_to_string(real(f)).unwrap();
            assert_eq!(err.lines().next(), want.lines().next(), "{}", case.name);
        }
        for (written, expected) in case.writes {
            let got = std::fs::read(work.join(written)).unwrap();
            assert_eq!(
                got,
                std::fs::read(real(expected)).unwrap(),
                "{}: {written}",
                case.name
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
