//! `--fuzz-exceptions MODULES SEED`: differential fuzzing of exception
//! handling against Wasmtime (Cranelift, exceptions and tail calls on),
//! which the test command's fuzzer cannot do (its reference, wasmi, has no
//! exception handling). Modules come from the same generator
//! (`tests/fuzz/gen.rs`, exceptions mode), the variants without imports;
//! pccc compiles, verifies and runs each export with seeded arguments on a
//! fresh instance, Wasmtime the same, and every outcome is compared:
//! values bit for bit (any NaN matches any NaN unless the module
//! canonicalises NaNs), references and exnrefs by nullness, traps by kind,
//! an uncaught exception with an uncaught exception. A stack overflow on
//! either side is an implementation limit, not a difference.

#[path = "../../tests/fuzz/gen.rs"]
#[allow(dead_code)]
mod gen;

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};
use backend::CompileOptions;
use pcc::{ExportKind, TrapCode};

/// What one call did, in a form both engines convert to.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Values(Vec<Value>),
    Trap(TrapCode),
    Uncaught,
    Error(String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    /// funcref, externref, exnref: by kind and nullness.
    Ref(u8, bool),
}

/// Wasmtime's trap kinds, as pccc names them.
const TRAPS: &[(wasmtime::Trap, TrapCode)] = &[
    (wasmtime::Trap::StackOverflow, TrapCode::StackOverflow),
    (wasmtime::Trap::MemoryOutOfBounds, TrapCode::HeapOutOfBounds),
    (wasmtime::Trap::TableOutOfBounds, TrapCode::TableOutOfBounds),
    (
        wasmtime::Trap::IndirectCallToNull,
        TrapCode::IndirectCallToNull,
    ),
    (wasmtime::Trap::BadSignature, TrapCode::BadSignature),
    (wasmtime::Trap::IntegerOverflow, TrapCode::IntegerOverflow),
    (
        wasmtime::Trap::IntegerDivisionByZero,
        TrapCode::IntegerDivisionByZero,
    ),
    (
        wasmtime::Trap::BadConversionToInteger,
        TrapCode::BadConversionToInteger,
    ),
    (
        wasmtime::Trap::UnreachableCodeReached,
        TrapCode::Unreachable,
    ),
    (wasmtime::Trap::NullReference, TrapCode::NullExnRef),
];

fn same_trap(a: TrapCode, b: TrapCode) -> bool {
    // Wasmtime has one kind for every table bound; pccc tells call_indirect's
    // from table.get/set/copy/init's.
    let table = |t| {
        matches!(
            t,
            TrapCode::TableOutOfBounds | TrapCode::TableAccessOutOfBounds
        )
    };
    a == b || (table(a) && table(b))
}

fn agree(p: &Outcome, w: &Outcome, canonical_nans: bool) -> bool {
    use Outcome::*;
    let nan32 = |b: u32| f32::from_bits(b).is_nan();
    let nan64 = |b: u64| f64::from_bits(b).is_nan();
    match (p, w) {
        (Trap(TrapCode::StackOverflow), _) | (_, Trap(TrapCode::StackOverflow)) => true,
        (Values(a), Values(b)) => {
            a.len() == b.len()
                && a.iter().zip(b).all(|(x, y)| match (x, y) {
                    (Value::F32(x), Value::F32(y)) => {
                        x == y || (!canonical_nans && nan32(*x) && nan32(*y))
                    }
                    (Value::F64(x), Value::F64(y)) => {
                        x == y || (!canonical_nans && nan64(*x) && nan64(*y))
                    }
                    _ => x == y,
                })
        }
        (Trap(a), Trap(b)) => same_trap(*a, *b),
        (Uncaught, Uncaught) => true,
        _ => false,
    }
}

/// Seeded arguments: edge values half the time.
fn arg(rng: &mut gen::Rng, ty: pcc::ValType) -> Option<Value> {
    let edge = rng.below(2) == 0;
    Some(match ty {
        pcc::ValType::I32 if edge => {
            Value::I32([0, 1, -1, i32::MIN, i32::MAX][rng.below(5) as usize])
        }
        pcc::ValType::I64 if edge => {
            Value::I64([0, 1, -1, i64::MIN, i64::MAX][rng.below(5) as usize])
        }
        pcc::ValType::I32 => Value::I32(rng.next() as i32),
        pcc::ValType::I64 => Value::I64(rng.next() as i64),
        pcc::ValType::F32 => Value::F32(rng.next() as u32),
        pcc::ValType::F64 => Value::F64(rng.next()),
        pcc::ValType::FuncRef => Value::Ref(0, true),
        pcc::ValType::ExternRef => Value::Ref(1, true),
        pcc::ValType::V128 | pcc::ValType::ExnRef => return None,
    })
}

fn pccc_calls(elf: &[u8], calls: &[(String, Vec<Value>)]) -> Result<Vec<Outcome>> {
    use runtime::{Instance, Linker, Module, RunError, Val};
    let module = Module::from_artifact(elf).map_err(|e| anyhow!("load: {e}"))?;
    Ok(calls
        .iter()
        .map(|(name, args)| {
            let inst = match Instance::new(&module, &Linker::new()) {
                Ok(i) => i,
                Err(runtime::InstantiateError::Trap(TrapCode::UncaughtException)) => {
                    return Outcome::Uncaught
                }
                Err(runtime::InstantiateError::Trap(t)) => return Outcome::Trap(t),
                Err(e) => return Outcome::Error(format!("instantiate: {e}")),
            };
            let args: Vec<Val> = args
                .iter()
                .map(|a| match *a {
                    Value::I32(x) => Val::I32(x),
                    Value::I64(x) => Val::I64(x),
                    Value::F32(x) => Val::F32(x),
                    Value::F64(x) => Val::F64(x),
                    Value::Ref(0, _) => Val::FuncRef(None),
                    Value::Ref(..) => Val::ExternRef(None),
                })
                .collect();
            match inst.invoke(name, &args) {
                Ok(vals) => Outcome::Values(
                    vals.iter()
                        .map(|v| match *v {
                            Val::I32(x) => Value::I32(x),
                            Val::I64(x) => Value::I64(x),
                            Val::F32(x) => Value::F32(x),
                            Val::F64(x) => Value::F64(x),
                            Val::FuncRef(r) => Value::Ref(0, r.is_none()),
                            Val::ExternRef(r) => Value::Ref(1, r.is_none()),
                            Val::ExnRef(r) => Value::Ref(2, r.is_none()),
                            Val::V128(_) => Value::Ref(9, false),
                        })
                        .collect(),
                ),
                Err(RunError::Trap(TrapCode::UncaughtException)) => Outcome::Uncaught,
                Err(RunError::Trap(t)) => Outcome::Trap(t),
                Err(e) => Outcome::Error(format!("invoke: {e}")),
            }
        })
        .collect())
}

fn wasmtime_calls(
    engine: &wasmtime::Engine,
    wasm: &[u8],
    calls: &[(String, Vec<Value>)],
) -> Result<Vec<Outcome>> {
    use wasmtime::Val;
    let module = wasmtime::Module::new(engine, wasm).map_err(|e| anyhow!("wasmtime: {e:#}"))?;
    let outcome = |e: wasmtime::Error| {
        if e.downcast_ref::<wasmtime::ThrownException>().is_some() {
            return Outcome::Uncaught;
        }
        match e.downcast_ref::<wasmtime::Trap>() {
            Some(t) => match TRAPS.iter().find(|(w, _)| w == t) {
                Some((_, p)) => Outcome::Trap(*p),
                None => Outcome::Error(format!("trap {t:?}")),
            },
            None => Outcome::Error(format!("{e:#}")),
        }
    };
    Ok(calls
        .iter()
        .map(|(name, args)| {
            let mut store = wasmtime::Store::new(engine, ());
            let inst = match wasmtime::Instance::new(&mut store, &module, &[]) {
                Ok(i) => i,
                Err(e) => return outcome(e),
            };
            let Some(f) = inst.get_func(&mut store, name) else {
                return Outcome::Error(format!("no export {name}"));
            };
            let args: Vec<Val> = args
                .iter()
                .map(|a| match *a {
                    Value::I32(x) => Val::I32(x),
                    Value::I64(x) => Val::I64(x),
                    Value::F32(x) => Val::F32(x),
                    Value::F64(x) => Val::F64(x),
                    Value::Ref(0, _) => Val::FuncRef(None),
                    Value::Ref(..) => Val::ExternRef(None),
                })
                .collect();
            let ty = f.ty(&store);
            let mut results: Vec<Val> = ty
                .results()
                .map(|t| Val::default_for_ty(&t).unwrap_or(Val::I32(0)))
                .collect();
            match f.call(&mut store, &args, &mut results) {
                Ok(()) => Outcome::Values(
                    results
                        .iter()
                        .map(|v| match v {
                            Val::I32(x) => Value::I32(*x),
                            Val::I64(x) => Value::I64(*x),
                            Val::F32(x) => Value::F32(*x),
                            Val::F64(x) => Value::F64(*x),
                            Val::FuncRef(r) => Value::Ref(0, r.is_none()),
                            Val::ExternRef(r) => Value::Ref(1, r.is_none()),
                            Val::ExnRef(r) => Value::Ref(2, r.is_none()),
                            Val::AnyRef(r) => Value::Ref(3, r.is_none()),
                            Val::ContRef(_) | Val::V128(_) => Value::Ref(9, false),
                        })
                        .collect(),
                ),
                Err(e) => outcome(e),
            }
        })
        .collect())
}

/// The whole run; prints a summary, fails on any difference.
pub fn run(args: &[String]) -> Result<()> {
    let [modules, seed] = args else {
        anyhow::bail!("--fuzz-exceptions takes MODULES SEED");
    };
    let modules: u64 = modules.parse()?;
    let seed: u64 = seed.parse()?;
    let mut config = wasmtime::Config::new();
    config
        .strategy(wasmtime::Strategy::Cranelift)
        .parallel_compilation(false)
        .wasm_exceptions(true)
        .wasm_tail_call(true);
    let engine = wasmtime::Engine::new(&config).map_err(|e| anyhow!("wasmtime: {e:#}"))?;
    let opts = CompileOptions::default();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut findings = vec![];
    let mut count = |k: &str| *counts.entry(k.to_string()).or_default() += 1;
    for index in 0..modules {
        let variant = gen::VARIANTS[(index % gen::VARIANTS.len() as u64) as usize];
        if variant.spectest_imports {
            continue;
        }
        let Ok((wasm, _)) = gen::module_with(seed, index, true) else {
            count("generator failed");
            continue;
        };
        if let Some(dir) = std::env::var_os("FUZZ_EXN_SAVE") {
            let _ = std::fs::write(
                std::path::Path::new(&dir).join(format!("{seed}-{index}.wasm")),
                &wasm,
            );
        }
        let elf = match pccc::compile_bytes(&wasm, &opts) {
            Ok(a) => a.to_elf(),
            Err(e) => {
                let e = format!("{e:#}");
                if e.contains("unsupported") || e.contains("not supported") {
                    count("unsupported by pccc");
                } else {
                    findings.push(format!("module {index}: compile: {e}"));
                }
                continue;
            }
        };
        match validator::verify(&elf) {
            Ok(r) if r.accepted() => {}
            Ok(r) => {
                findings.push(format!(
                    "module {index}: false reject, {} failures",
                    r.failures.len()
                ));
                continue;
            }
            Err(e) => {
                findings.push(format!("module {index}: verify: {e}"));
                continue;
            }
        }
        let meta = pcc::ArtifactFile::parse(&elf)
            .map_err(|e| anyhow!("{e}"))?
            .meta;
        let mut rng = gen::Rng::new(seed ^ 0x5eed_a5a5, index);
        let mut calls = vec![];
        for e in meta
            .exports
            .iter()
            .filter(|e| e.kind == ExportKind::Func)
            .take(10)
        {
            let Some(ty) = meta.func_type(e.index) else {
                continue;
            };
            for _ in 0..3 {
                let args: Option<Vec<Value>> =
                    ty.params.iter().map(|t| arg(&mut rng, *t)).collect();
                if let Some(args) = args {
                    calls.push((e.name.clone(), args));
                }
            }
        }
        let p = pccc_calls(&elf, &calls)?;
        let w = wasmtime_calls(&engine, &wasm, &calls)?;
        count("modules compared");
        for (((name, args), p), w) in calls.iter().zip(&p).zip(&w) {
            count(match w {
                Outcome::Values(_) => "calls returned (Wasmtime)",
                Outcome::Trap(_) => "calls trapped (Wasmtime)",
                Outcome::Uncaught => "calls ended in an uncaught exception (Wasmtime)",
                Outcome::Error(_) => "calls failed (Wasmtime)",
            });
            if !agree(p, w, variant.canonical_nans) {
                findings.push(format!(
                    "module {index}: {name}({args:?}): pccc {p:?}, Wasmtime {w:?}"
                ));
            }
        }
    }
    for (k, n) in &counts {
        println!("{k}: {n}");
    }
    for f in &findings {
        println!("FINDING {f}");
    }
    println!(
        "seed {seed}, modules 0..{modules}: {} findings",
        findings.len()
    );
    if findings.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} findings", findings.len())
    }
}
