//! The subject: pccc compiles, the validator verifies, the runtime runs.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::compare::{Exec, Value};
use super::outcome::Class;
use backend::CompileOptions;
use pcc::{HeapStrategy, TrapCode};
use runtime::{InstantiateError, Linker, Module, RunError, Val};

/// The heap strategies every module is compiled with.
pub const STRATEGIES: [HeapStrategy; 2] = [
    HeapStrategy::DEFAULT_STATIC,
    HeapStrategy::DEFAULT_BOUNDS_CHECKED,
];

/// How pccc says it does not support something (frontend, backend, runtime).
const REFUSALS: &[&str] = &["unsupported", "not supported"];

/// An error is a refusal of a feature, or else a crash.
fn refused(msg: String) -> (Class, String) {
    let class = if REFUSALS.iter().any(|r| msg.contains(r)) {
        Class::Unsupported
    } else {
        Class::Crash
    };
    (class, msg)
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!("panic: {what}")
}

/// Compile, verify (a reject is a false reject: the module is valid) and load.
pub fn prepare(wasm: &[u8], heap: HeapStrategy) -> Result<Module, (Class, String)> {
    let opts = CompileOptions::with_heap(heap);
    let artifact = catch_unwind(AssertUnwindSafe(|| pccc::compile_bytes(wasm, &opts)))
        .map_err(|p| (Class::Crash, format!("compile: {}", panic_message(p))))?
        .map_err(|e| refused(format!("compile: {e:#}")))?;
    let elf = artifact.to_elf();
    let report = catch_unwind(AssertUnwindSafe(|| validator::verify(&elf)))
        .map_err(|p| (Class::Crash, format!("verify: {}", panic_message(p))))?
        .map_err(|e| {
            (
                Class::Crash,
                format!("verify: cannot read the artifact: {e}"),
            )
        })?;
    if let Some(f) = report.failures.first() {
        return Err((
            Class::FalseReject,
            format!(
                "{}: `{}`; in {} +{:#x}, {} failures",
                f.reason,
                f.instruction,
                f.function,
                f.offset,
                report.failures.len()
            ),
        ));
    }
    catch_unwind(AssertUnwindSafe(|| Module::from_artifact(&elf)))
        .map_err(|p| (Class::Crash, format!("load: {}", panic_message(p))))?
        .map_err(|e| refused(format!("load: {e}")))
}

/// A fresh linker and instance, then one call.
pub fn call(module: &Module, name: &str, args: &[Value]) -> Exec<TrapCode> {
    let run = || {
        let linker = Linker::with_spectest();
        let instance = match runtime::Instance::new(module, &linker) {
            Ok(i) => i,
            Err(InstantiateError::Trap(code)) => return Exec::Trap(code),
            Err(e) => return Exec::Error(format!("instantiate: {e}")),
        };
        let args: Vec<Val> = args.iter().map(to_pccc).collect();
        match instance.invoke(name, &args) {
            Ok(vals) => Exec::Values(vals.iter().map(from_pccc).collect()),
            Err(RunError::Trap(code)) => Exec::Trap(code),
            Err(e) => Exec::Error(format!("invoke: {e}")),
        }
    };
    catch_unwind(AssertUnwindSafe(run))
        .unwrap_or_else(|p| Exec::Error(format!("run: {}", panic_message(p))))
}

fn to_pccc(v: &Value) -> Val {
    match *v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(b) => Val::F32(b),
        Value::F64(b) => Val::F64(b),
        Value::FuncRef { .. } => Val::FuncRef(None),
        Value::ExternRef { .. } => Val::ExternRef(None),
        Value::V128(b) => Val::V128(b),
        Value::ExnRef { .. } => Val::ExnRef(None),
    }
}

fn from_pccc(v: &Val) -> Value {
    match *v {
        Val::I32(x) => Value::I32(x),
        Val::I64(x) => Value::I64(x),
        Val::F32(b) => Value::F32(b),
        Val::F64(b) => Value::F64(b),
        Val::FuncRef(r) => Value::FuncRef { null: r.is_none() },
        Val::ExternRef(r) => Value::ExternRef { null: r.is_none() },
        Val::V128(b) => Value::V128(b),
        Val::ExnRef(r) => Value::ExnRef { null: r.is_none() },
    }
}
