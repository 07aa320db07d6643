//! C programs (tests/c) compiled by clang to wasm32 at -O0 and -O2 and run
//! through pccc must return exactly what the same C returns natively.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use backend::CompileOptions;
use pcc::{ExportKind, ImportKind, ValType};
use runtime::{Instance, Linker, Module, Val};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c")
}

struct Call {
    export: String,
    args: Vec<i64>,
}

fn calls() -> BTreeMap<String, Vec<Call>> {
    let text = std::fs::read_to_string(dir().join("calls.txt")).unwrap();
    let mut out: BTreeMap<String, Vec<Call>> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut w = line.split_whitespace();
        let prog = w.next().unwrap().to_string();
        let export = w.next().unwrap().to_string();
        let args = w.map(|a| a.parse().expect("integer argument")).collect();
        out.entry(prog).or_default().push(Call { export, args });
    }
    out
}

fn c_type(t: ValType) -> &'static str {
    match t {
        ValType::I32 => "int32_t",
        ValType::I64 => "int64_t",
        other => panic!("C test exports only integers, found {other:?}"),
    }
}

/// Export name → (params, result) from the compiled module's metadata.
fn signatures(meta: &pcc::Metadata) -> BTreeMap<String, (Vec<ValType>, ValType)> {
    let imported: Vec<u32> = meta
        .imports
        .iter()
        .filter_map(|i| match i.kind {
            ImportKind::Func { type_index } => Some(type_index),
            _ => None,
        })
        .collect();
    meta.exports
        .iter()
        .filter(|e| e.kind == ExportKind::Func)
        .map(|e| {
            let ti = match imported.get(e.index as usize) {
                Some(t) => *t,
                None => meta.funcs[e.index as usize - imported.len()].type_index,
            };
            let ty = &meta.types[ti as usize];
            (e.name.clone(), (ty.params.clone(), ty.results[0]))
        })
        .collect()
}

/// Build and run the native program; one result line per call.
fn native(
    prog: &str,
    calls: &[Call],
    sigs: &BTreeMap<String, (Vec<ValType>, ValType)>,
) -> Vec<String> {
    let work = std::env::temp_dir().join(format!("pccc-c-{}-{prog}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let mut main = String::from("#include <stdint.h>\n#include <stdio.h>\n");
    for (name, (params, result)) in sigs {
        let ps: Vec<&str> = params.iter().map(|t| c_type(*t)).collect();
        main += &format!("{} {name}({});\n", c_type(*result), ps.join(", "));
    }
    main += "int main(void) {\n";
    for c in calls {
        let (params, _) = &sigs[&c.export];
        let args: Vec<String> = c
            .args
            .iter()
            .zip(params)
            .map(|(a, t)| format!("({}){a}LL", c_type(*t)))
            .collect();
        main += &format!(
            "  printf(\"%lld\\n\", (long long){}({}));\n",
            c.export,
            args.join(", ")
        );
    }
    main += "  return 0;\n}\n";
    std::fs::write(work.join("main.c"), main).unwrap();
    let exe = work.join("prog");
    let cc = Command::new("cc")
        .args(["-O2", "-fwrapv", "-o"])
        .arg(&exe)
        .arg(work.join("main.c"))
        .arg(dir().join(format!("{prog}.c")))
        .output()
        .expect("run cc (the native reference build)");
    assert!(
        cc.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let out = Command::new(&exe).output().unwrap();
    std::fs::remove_dir_all(&work).ok();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn through_pccc(
    wasm: &[u8],
    calls: &[Call],
    sigs: &BTreeMap<String, (Vec<ValType>, ValType)>,
) -> Vec<String> {
    let art = pccc::compile_bytes(wasm, &CompileOptions::default()).expect("compiles");
    let module = Module::from_artifact(&art.to_elf()).expect("loads");
    let inst = Instance::new(&module, &Linker::new()).expect("instantiates");
    calls
        .iter()
        .map(|c| {
            let (params, _) = &sigs[&c.export];
            let args: Vec<Val> = c
                .args
                .iter()
                .zip(params)
                .map(|(a, t)| match t {
                    ValType::I32 => Val::I32(*a as i32),
                    _ => Val::I64(*a),
                })
                .collect();
            match inst.invoke(&c.export, &args) {
                Ok(v) => match v.as_slice() {
                    [Val::I32(x)] => x.to_string(),
                    [Val::I64(x)] => x.to_string(),
                    other => format!("unexpected results {other:?}"),
                },
                Err(e) => format!("error: {e}"),
            }
        })
        .collect()
}

#[test]
fn c_programs_match_native_results_at_o0_and_o2() {
    let mut compared = 0;
    for (prog, calls) in calls() {
        let o2 = std::fs::read(dir().join(format!("{prog}.O2.wasm"))).unwrap();
        let art = pccc::compile_bytes(&o2, &CompileOptions::default()).expect("compiles");
        let sigs = signatures(&art.meta);
        let expected = native(&prog, &calls, &sigs);
        assert_eq!(expected.len(), calls.len());
        for opt in ["O0", "O2"] {
            let wasm = std::fs::read(dir().join(format!("{prog}.{opt}.wasm"))).unwrap();
            let got = through_pccc(&wasm, &calls, &sigs);
            for ((c, e), g) in calls.iter().zip(&expected).zip(&got) {
                assert_eq!(g, e, "{prog}.{opt}: {}{:?}", c.export, c.args);
                compared += 1;
            }
        }
    }
    println!("{compared} calls matched the native build");
    assert!(compared >= 50);
}
