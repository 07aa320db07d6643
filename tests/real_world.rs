//! Real WASI programs as shipped (`tests/real/README.md`: what, where from,
//! and how the expected output was recorded with Wasmtime): each compiled
//! with `--verify`, run by the `pccc` binary in a preopened directory
//! holding only its inputs, its stdout, stderr, exit status and written
//! files compared with Wasmtime's.

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
    /// Expected stderr: its first line (where a program reports an error),
    /// or all of it with timings masked (`masked`).
    stderr: Option<Stderr>,
    status: i32,
    /// Files the program writes in its directory, with their expected copies.
    writes: &'static [(&'static str, &'static str)],
}

#[derive(Clone, Copy)]
enum Stderr {
    FirstLine(&'static str),
    Whole(&'static str),
}

/// A program and what it runs with.
struct Program {
    wasm: &'static str,
    /// Copied into the (otherwise empty) working directory, preopened as `.`.
    inputs: &'static [&'static str],
    /// Further preopens: (guest path, directory under `tests/real`).
    preopens: &'static [(&'static str, &'static str)],
    cases: &'static [Case],
}

const ICEPLL: Program = Program {
    wasm: "icepll.wasm",
    inputs: &[],
    preopens: &[],
    cases: &[
        Case {
            name: "icepll 12 MHz to 48 MHz",
            args: &["-i", "12", "-o", "48"],
            stdout: Some("icepll-12-48.stdout"),
            stderr: None,
            status: 0,
            writes: &[],
        },
        Case {
            name: "icepll writes a Verilog module",
            args: &["-i", "12", "-o", "60", "-m", "-f", "pll.v"],
            stdout: Some("icepll-pll-v.stdout"),
            stderr: None,
            status: 0,
            writes: &[("pll.v", "icepll-pll.v")],
        },
        Case {
            name: "icepll refuses an impossible frequency",
            args: &["-i", "100", "-o", "12345"],
            stdout: None,
            stderr: Some(Stderr::FirstLine("icepll-bad.stderr")),
            status: 1,
            writes: &[],
        },
    ],
};

/// C++ with exceptions (a parse error is thrown by `log_error` and caught
/// in the command handler) and wasi-libc's atomics, 2.2 MB of Wasm.
const NEXTPNR: Program = Program {
    wasm: "nextpnr/nextpnr-ice40.wasm",
    inputs: &["nextpnr/inv.json", "nextpnr/bad.json"],
    preopens: &[("/share", "nextpnr/share")],
    cases: &[
        Case {
            name: "nextpnr-ice40 places and routes an XOR gate on an iCE40 LP384",
            args: &[
                "--lp384",
                "--package",
                "qn32",
                "--json",
                "inv.json",
                "--asc",
                "inv.asc",
                "--seed",
                "1",
            ],
            stdout: Some("nextpnr/empty.stdout"),
            stderr: Some(Stderr::Whole("nextpnr/inv.stderr")),
            status: 0,
            writes: &[("inv.asc", "nextpnr/inv.asc")],
        },
        Case {
            name: "nextpnr-ice40 reports a malformed netlist (a C++ exception, caught)",
            args: &["--lp384", "--package", "qn32", "--json", "bad.json"],
            stdout: Some("nextpnr/empty.stdout"),
            stderr: Some(Stderr::Whole("nextpnr/bad-json.stderr")),
            status: 125,
            writes: &[],
        },
    ],
};

/// C (bzip2 in sightglass's benchmark harness, clang 15): compresses and decompresses
/// its input and checks the round trip.
const BZ2: Program = Program {
    wasm: "bz2/bz2.wasm",
    inputs: &["bz2/default.input"],
    preopens: &[],
    cases: &[Case {
        name: "bz2 round-trips its input",
        args: &[],
        stdout: Some("bz2/bz2.stdout"),
        stderr: Some(Stderr::Whole("bz2/bz2.stderr")),
        status: 0,
        writes: &[],
    }],
};

/// Timings (`time = 0.00s`, `Router1 time 0.00s`, the router's table)
/// depend on the machine: their digits are masked in lines that report time.
fn mask_timings(log: &str) -> String {
    log.lines()
        .map(|l| {
            if l.contains("time") || l.contains("Time") || l.contains("sec)") {
                l.chars()
                    .map(|c| if c.is_ascii_digit() { '#' } else { c })
                    .collect()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_program(p: &Program) {
    let stem = Path::new(p.wasm).file_stem().unwrap().to_str().unwrap();
    let dir = std::env::temp_dir().join(format!("pccc-real-{stem}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let art = dir.join(format!("{stem}.o"));
    let wasm = real(p.wasm);
    let o = pccc(&[
        "compile",
        "--verify",
        wasm.to_str().unwrap(),
        "-o",
        art.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let preopens: Vec<String> = p
        .preopens
        .iter()
        .map(|(guest, host)| format!("{guest}::{}", real(host).display()))
        .collect();
    for case in p.cases {
        let work = dir.join("work");
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        for input in p.inputs {
            let name = Path::new(input).file_name().unwrap();
            std::fs::copy(real(input), work.join(name)).unwrap();
        }
        let mut args = vec![
            "run",
            art.to_str().unwrap(),
            "--dir",
            work.to_str().unwrap(),
        ];
        for d in &preopens {
            args.extend(["--dir", d.as_str()]);
        }
        args.push("--");
        args.extend_from_slice(case.args);
        let o = pccc(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(case.status), "{}: {err}", case.name);
        if let Some(f) = case.stdout {
            let want = std::fs::read_to_string(real(f)).unwrap();
            assert_eq!(String::from_utf8_lossy(&o.stdout), want, "{}", case.name);
        }
        match case.stderr {
            Some(Stderr::FirstLine(f)) => {
                let want = std::fs::read_to_string(real(f)).unwrap();
                assert_eq!(err.lines().next(), want.lines().next(), "{}", case.name);
            }
            Some(Stderr::Whole(f)) => {
                let want = std::fs::read_to_string(real(f)).unwrap();
                assert_eq!(mask_timings(&err), mask_timings(&want), "{}", case.name);
            }
            None => {}
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

#[test]
fn icepll_runs_as_shipped() {
    run_program(&ICEPLL);
}

#[test]
fn nextpnr_ice40_runs_as_shipped() {
    run_program(&NEXTPNR);
}

#[test]
fn bz2_runs_as_shipped() {
    run_program(&BZ2);
}

/// `--argv0` names the program as it sees itself (icepll prints it in its
/// usage; IceStorm's icepack packs or unpacks by it): by default the
/// input's file name.
#[test]
fn argv0_is_the_file_name_or_as_given() {
    let wasm = real("icepll.wasm");
    let wasm = wasm.to_str().unwrap();
    for (extra, want) in [
        (&[][..], "Usage: icepll.wasm [options]"),
        (
            &["--argv0", "yowasp-icepll"][..],
            "Usage: yowasp-icepll [options]",
        ),
    ] {
        let mut args = vec!["run", wasm];
        args.extend_from_slice(extra);
        args.extend(["--", "-Z"]);
        let o = pccc(&args);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.lines().any(|l| l == want),
            "{extra:?}: {out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
