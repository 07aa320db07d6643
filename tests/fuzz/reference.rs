//! The reference: the wasmi interpreter, in-process, with fuel.

use super::compare::{Exec, Value};
use wasmi::{
    Engine, Extern, ExternType, FuncType, Global, Linker, Memory, MemoryType, Module, Mutability,
    Ref, RefType, Store, Table, TableType, TrapCode, Val, ValType,
};

/// wasmi fuel per invocation: a backstop under the module's own
/// termination fuel (bulk memory operations cost fuel per byte here).
pub const FUEL: u64 = 50_000_000;

pub struct Reference {
    engine: Engine,
}

/// An exported function: its name and type.
pub struct Export {
    pub name: String,
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl Default for Reference {
    fn default() -> Self {
        let mut c = wasmi::Config::default();
        c.consume_fuel(true)
            .wasm_tail_call(false)
            .wasm_extended_const(false)
            .wasm_custom_page_sizes(false)
            .wasm_wide_arithmetic(false)
            .wasm_multi_memory(false);
        Reference {
            engine: Engine::new(&c),
        }
    }
}

impl Reference {
    /// Validate and translate; an error means the generator made something
    /// outside WebAssembly 2.0 (or wasmi cannot take it).
    pub fn load(&self, wasm: &[u8]) -> Result<Module, String> {
        Module::new(&self.engine, wasm).map_err(|e| e.to_string())
    }

    pub fn exports(module: &Module) -> Vec<Export> {
        module
            .exports()
            .filter_map(|e| match e.ty() {
                ExternType::Func(f) => Some(export(e.name(), f)),
                _ => None,
            })
            .collect()
    }

    /// A fresh store and instance, then one call.
    pub fn call(&self, module: &Module, name: &str, args: &[Value]) -> Exec<TrapCode> {
        let mut store = Store::new(&self.engine, ());
        store.set_fuel(FUEL).expect("fuel is enabled");
        let linker = match spectest(&mut store) {
            Ok(l) => l,
            Err(e) => return Exec::Error(e),
        };
        let instance = match linker.instantiate_and_start(&mut store, module) {
            Ok(i) => i,
            Err(e) => return error(e),
        };
        let Some(func) = instance.get_func(&store, name) else {
            return Exec::Error(format!("no export {name}"));
        };
        let ty = func.ty(&store);
        let inputs: Vec<Val> = args.iter().map(to_wasmi).collect();
        let mut outputs: Vec<Val> = ty
            .results()
            .iter()
            .map(|t| Val::default_for_ty(*t))
            .collect();
        match func.call(&mut store, &inputs, &mut outputs) {
            Ok(()) => Exec::Values(outputs.iter().map(from_wasmi).collect()),
            Err(e) => error(e),
        }
    }
}

fn export(name: &str, f: &FuncType) -> Export {
    Export {
        name: name.to_string(),
        params: f.params().to_vec(),
        results: f.results().to_vec(),
    }
}

fn error(e: wasmi::Error) -> Exec<TrapCode> {
    use wasmi::errors::{ErrorKind, InstantiationError};
    match (e.as_trap_code(), e.kind()) {
        (Some(TrapCode::OutOfFuel), _) => Exec::Exhausted,
        (Some(code), _) => Exec::Trap(code),
        // An active element segment past its table's end is a trap in the
        // spec (instantiation fails with it); wasmi reports it as an error.
        (None, ErrorKind::Instantiation(InstantiationError::ElementSegmentDoesNotFit { .. })) => {
            Exec::Trap(TrapCode::TableOutOfBounds)
        }
        (None, _) => Exec::Error(e.to_string()),
    }
}

fn to_wasmi(v: &Value) -> Val {
    match *v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(b) => Val::F32(wasmi::F32::from_bits(b)),
        Value::F64(b) => Val::F64(wasmi::F64::from_bits(b)),
        // Only null references are passed.
        Value::FuncRef { .. } => Val::default_for_ty(ValType::FuncRef),
        Value::ExternRef { .. } => Val::default_for_ty(ValType::ExternRef),
        Value::V128(b) => Val::V128(wasmi::V128::from(b)),
        // Never made: exceptions runs have no reference (`Mode::Exceptions`).
        Value::ExnRef { .. } => unreachable!("an exnref argument for wasmi"),
    }
}

fn from_wasmi(v: &Val) -> Value {
    match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(x) => Value::F32(x.to_bits()),
        Val::F64(x) => Value::F64(x.to_bits()),
        Val::FuncRef(r) => Value::FuncRef { null: r.is_null() },
        Val::ExternRef(r) => Value::ExternRef { null: r.is_null() },
        Val::V128(v) => Value::V128(v.as_u128()),
    }
}

/// The reference's copy of `runtime::Linker::with_spectest`: the same
/// functions (doing nothing), globals, table and memory, new per store.
fn spectest(store: &mut Store<()>) -> Result<Linker<()>, String> {
    let e = |e: wasmi::errors::LinkerError| e.to_string();
    let mut l = Linker::new(store.engine());
    l.func_wrap("spectest", "print", || {}).map_err(e)?;
    l.func_wrap("spectest", "print_i32", |_: i32| {})
        .map_err(e)?;
    l.func_wrap("spectest", "print_i64", |_: i64| {})
        .map_err(e)?;
    l.func_wrap("spectest", "print_f32", |_: f32| {})
        .map_err(e)?;
    l.func_wrap("spectest", "print_f64", |_: f64| {})
        .map_err(e)?;
    l.func_wrap("spectest", "print_i32_f32", |_: i32, _: f32| {})
        .map_err(e)?;
    l.func_wrap("spectest", "print_f64_f64", |_: f64, _: f64| {})
        .map_err(e)?;
    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        (
            "global_f32",
            Val::F32(wasmi::F32::from_bits(666.6f32.to_bits())),
        ),
        (
            "global_f64",
            Val::F64(wasmi::F64::from_bits(666.6f64.to_bits())),
        ),
    ];
    for (name, v) in globals {
        let g = Global::new(&mut *store, v, Mutability::Const);
        l.define("spectest", name, Extern::Global(g)).map_err(e)?;
    }
    let table = Table::new(
        &mut *store,
        TableType::new(RefType::Func, 10, Some(20)),
        Ref::null(RefType::Func),
    )
    .map_err(|e| e.to_string())?;
    l.define("spectest", "table", Extern::Table(table))
        .map_err(e)?;
    let memory =
        Memory::new(&mut *store, MemoryType::new(1, Some(2))).map_err(|e| e.to_string())?;
    l.define("spectest", "memory", Extern::Memory(memory))
        .map_err(e)?;
    Ok(l)
}
