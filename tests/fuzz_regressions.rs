//! Findings of the differential fuzzing campaign (issue 10), each a minimized
//! module in `tests/fuzz-regressions/`, compiled under both heap strategies,
//! verified and run through the CLI: the validator accepts, in-bounds
//! accesses give the right result, the rest traps with the right kind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const OOB: &str = "out of bounds memory access";
const HEAPS: [&str; 2] = ["static", "bounds-checked"];

fn module(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
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

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What `pccc run --invoke` must do.
enum Want<'a> {
    /// Exit 0 printing this.
    Prints(&'a str),
    /// Exit 3 with `trap: <kind>`.
    Traps(&'a str),
}

/// Compile `name` under `heap` with `--verify`: the validator must accept.
fn assert_verifies(name: &str, heap: &str) {
    let out = std::env::temp_dir().join(format!(
        "pccc-fuzzreg-{}-{heap}-{name}.o",
        std::process::id()
    ));
    let path = module(name);
    let o = pccc(&[
        "compile",
        path.to_str().unwrap(),
        "--heap",
        heap,
        "--verify",
        "-o",
        out.to_str().unwrap(),
    ]);
    std::fs::remove_file(&out).ok();
    assert!(
        o.status.success(),
        "{name} under --heap {heap}: exit {:?}\n{}",
        o.status.code(),
        text(&o.stderr)
    );
}

fn run(name: &str, heap: &str, invoke: &str, args: &[&str], want: Want) {
    let path = module(name);
    let mut argv = vec![
        "run",
        path.to_str().unwrap(),
        "--heap",
        heap,
        "--invoke",
        invoke,
    ];
    argv.extend_from_slice(args);
    let o = pccc(&argv);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    let what = format!("{name} --heap {heap} {invoke}{args:?}");
    match want {
        Want::Prints(v) => {
            assert_eq!(o.status.code(), Some(0), "{what}: {err}");
            assert_eq!(out.trim_end(), v, "{what}");
        }
        Want::Traps(kind) => {
            assert_eq!(
                o.status.code(),
                Some(3),
                "{what}: stdout {out}, stderr {err}"
            );
            assert_eq!(err.trim_end(), format!("trap: {kind}"), "{what}");
        }
    }
}

/// Issue 10: 3,660 of 14,694 generated modules were rejected under the
/// bounds-checked heap, all with a static offset + size past the 256 MiB
/// reservation. Such an access can only trap; it now compiles to the trap.
#[test]
fn offsets_past_the_reservation_trap_and_verify() {
    let m = "bounds-checked-offset-past-reservation.wat";
    for heap in HEAPS {
        assert_verifies(m, heap);
        for f in [
            "load32",
            "load32_first",
            "load64_last",
            "load64_max",
            "loadf32",
            "store8",
            "storef64",
            "load8_end",
        ] {
            for idx in ["0", "4294967295"] {
                run(m, heap, f, &[idx], Want::Traps(OOB));
            }
        }
        // The trap is on one path only; the other one still runs.
        run(m, heap, "branch", &["0"], Want::Prints("7"));
        run(m, heap, "branch", &["1"], Want::Traps(OOB));
        // The loop before the trapping store runs to completion first.
        run(m, heap, "loop", &["3"], Want::Traps(OOB));
    }
}

/// Large offsets that fit a 256 MiB memory are checked, not trapped, and
/// give the right values at the very end of the memory.
#[test]
fn large_offsets_inside_a_full_reservation() {
    let m = "bounds-checked-large-offset-in-bounds.wat";
    for heap in HEAPS {
        assert_verifies(m, heap);
        run(m, heap, "roundtrip32", &["0"], Want::Prints("1"));
        run(m, heap, "roundtrip32", &["12"], Want::Prints("13"));
        run(m, heap, "roundtrip32", &["13"], Want::Traps(OOB));
        run(m, heap, "roundtrip32", &["-1"], Want::Traps(OOB));
        run(
            m,
            heap,
            "roundtrip64",
            &["0"],
            Want::Prints("1234605616436508552"),
        );
        run(m, heap, "roundtrip64", &["1"], Want::Traps(OOB));
        run(m, heap, "last_byte", &["0"], Want::Prints("171"));
        run(m, heap, "last_byte", &["1"], Want::Traps(OOB));
    }
}

/// A bounds-checked memory grows up to its reservation (4096 pages) and no
/// further; after growing, a large offset that trapped is in bounds.
#[test]
fn large_offsets_after_memory_grow() {
    let m = "bounds-checked-offset-after-grow.wat";
    for heap in HEAPS {
        assert_verifies(m, heap);
        run(m, heap, "grow", &["4095"], Want::Prints("1"));
        run(m, heap, "grow_then_access", &["0", "0"], Want::Traps(OOB));
        run(
            m,
            heap,
            "grow_then_access",
            &["4094", "0"],
            Want::Traps(OOB),
        );
        run(
            m,
            heap,
            "grow_then_access",
            &["4095", "12"],
            Want::Prints("4096042"),
        );
        run(
            m,
            heap,
            "grow_then_access",
            &["4095", "13"],
            Want::Traps(OOB),
        );
    }
    // Past the reservation: refused under bounds-checked, fine under static.
    run(m, "bounds-checked", "grow", &["4096"], Want::Prints("-1"));
    run(m, "bounds-checked", "grow", &["-1"], Want::Prints("-1"));
    run(m, "static", "grow", &["4096"], Want::Prints("1"));
    run(m, "static", "grow", &["65536"], Want::Prints("-1"));
}

/// The static strategy checks offsets past its 2 GiB guard explicitly and
/// traps at compile time where offset + size exceeds the 4 GiB reservation;
/// the bounds-checked strategy refuses the 2 GiB memory up front (exit 2,
/// naming the limit) instead of emitting an artifact the validator rejects.
#[test]
fn static_offsets_past_the_guard() {
    let m = "static-offset-past-guard.wat";
    assert_verifies(m, "static");
    run(m, "static", "far_roundtrip", &["0"], Want::Prints("-2"));
    run(m, "static", "far_roundtrip", &["65528"], Want::Prints("-2"));
    run(m, "static", "far_roundtrip", &["65529"], Want::Traps(OOB));
    run(m, "static", "far_roundtrip", &["-1"], Want::Traps(OOB));
    run(m, "static", "far_load", &["0"], Want::Traps(OOB));
    run(m, "static", "past_reservation", &["0"], Want::Traps(OOB));
    let path = module(m);
    let o = pccc(&[
        "run",
        path.to_str().unwrap(),
        "--heap",
        "bounds-checked",
        "--invoke",
        "far_load",
        "0",
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "memory of 32769 pages is not supported by the bounds-checked heap: its reservation holds 4096 pages"
        ),
        "{err}"
    );
}

/// Issue 10: a function type with more than 9 integer or 8 float results was
/// refused ("not supported yet"). The results past the registers now travel
/// in the caller's outgoing area, and the validator checks both sides.
#[test]
fn results_past_the_result_registers() {
    let m = "many-results.wat";
    let many = "5\n6\n2\n3\n4\n5\n6\n7\n8\n9\n-10\n-1\n0\n1\n2\n3\n4\n5\n6\n7\n8.5\n9.25";
    for heap in HEAPS {
        assert_verifies(m, heap);
        // To the host: 3 integer and 2 float results copied out by the entry.
        run(m, heap, "many", &["5"], Want::Prints(many));
        // Direct and indirect calls: the stack results in result order.
        run(m, heap, "sum", &["5"], Want::Prints("4294967311"));
        run(m, heap, "ind", &["5"], Want::Prints("-2\n9.25"));
        // Six stack arguments and three stack results in one call.
        run(m, heap, "swap_sum", &[], Want::Prints("364"));
        let args = [
            "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "-12",
        ];
        run(
            m,
            heap,
            "swap",
            &args,
            Want::Prints("-12\n11\n10\n9\n8\n7\n6\n5\n4\n3\n2\n1"),
        );
        // A hundred frames deep, each reading the results of the one below.
        run(m, heap, "rec_sum", &["100"], Want::Prints("1155"));
        run(
            m,
            heap,
            "rec",
            &["3"],
            Want::Prints("3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13"),
        );
    }
}
