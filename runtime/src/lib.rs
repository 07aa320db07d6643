//! pccc's runtime: loads an artifact, reserves its sandbox, links imports,
//! runs exports and turns faults into Wasm traps. It depends on `pcc` only:
//! it reads artifacts through the shared contract, never through the
//! compiler.

mod entry;
mod exn;
mod memory;
mod signals;
mod types;
pub mod wasi;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, Weak};

use pcc::artifact::{ConstExpr, SegmentMode};
use pcc::vmctx::{
    arg_locations, result_locations, stack_results, ArgLoc, TableOp, HOST_STACK_RESERVE,
    INT_ARG_REGS, INT_RET_REGS,
};
use pcc::{
    ArtifactFile, ExportKind, ImportKind, Metadata, TrapCode, ValType, VmCtxLayout, WasmFuncType,
};
use thiserror::Error;

pub use exn::{MAX_EXCEPTION_PAYLOAD_BYTES, MAX_LIVE_EXCEPTIONS};
pub use memory::Memory;
use types::sig_id;
pub use types::TypeIdentity;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    /// A function reference's handle (see `func_handle`), or null.
    FuncRef(Option<u64>),
    ExternRef(Option<u32>),
    /// A v128's 16 bytes, little-endian (lane 0 in the low bits).
    V128(u128),
    /// An exception reference's handle, or null. Handles are the runtime's
    /// (see `exn`): a made-up one is refused where it is used.
    ExnRef(Option<u64>),
}

impl Val {
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
            Val::V128(_) => ValType::V128,
            Val::ExnRef(_) => ValType::ExnRef,
        }
    }

    /// The 16-byte encoding (an xmm register, a global's cell, two stack
    /// slots); all but a v128 use only its low 8 bytes (the 8-byte slot
    /// encoding: i32 zero-extended, floats as bits).
    fn to_bits(self) -> u128 {
        match self {
            Val::V128(b) => b,
            v => v.to_slot() as u128,
        }
    }

    fn from_bits(ty: ValType, b: u128) -> Val {
        match ty {
            ValType::V128 => Val::V128(b),
            t => Val::from_slot(t, b as u64),
        }
    }

    /// The 8-byte slot encoding (i32 zero-extended, floats as bits).
    fn to_slot(self) -> u64 {
        match self {
            Val::V128(b) => b as u64,
            Val::I32(x) => x as u32 as u64,
            Val::I64(x) => x as u64,
            Val::F32(b) => b as u64,
            Val::F64(b) => b,
            // References: 0 is null; a function's handle, an external
            // reference k as k + 1.
            Val::FuncRef(r) | Val::ExnRef(r) => r.unwrap_or(0),
            Val::ExternRef(r) => r.map_or(0, |x| x as u64 + 1),
        }
    }

    fn from_slot(ty: ValType, s: u64) -> Val {
        match ty {
            ValType::I32 => Val::I32(s as u32 as i32),
            ValType::I64 => Val::I64(s as i64),
            ValType::F32 => Val::F32(s as u32),
            ValType::F64 => Val::F64(s),
            ValType::FuncRef => Val::FuncRef((s != 0).then_some(s)),
            ValType::ExnRef => Val::ExnRef((s != 0).then_some(s)),
            ValType::ExternRef => Val::ExternRef(s.checked_sub(1).map(|k| k as u32)),
            // Only its low half fits a slot (imports of v128 functions are
            // refused at instantiation).
            ValType::V128 => Val::V128(s as u128),
        }
    }
}

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("invalid artifact: {0}")]
    Artifact(#[from] pcc::ArtifactError),
    #[error("artifact is inconsistent: {0}")]
    Inconsistent(String),
    #[error("this CPU lacks {0}, which compiled code uses")]
    Cpu(&'static str),
    #[error("{0}")]
    Resource(String),
}

#[derive(Debug, Error)]
pub enum InstantiateError {
    #[error("trap: {0}")]
    Trap(TrapCode),
    #[error("unknown import: {module}::{name}")]
    UnknownImport { module: String, name: String },
    #[error("incompatible import type for {module}::{name}: {why}")]
    IncompatibleImport {
        module: String,
        name: String,
        why: String,
    },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

#[derive(Debug, Error)]
pub enum RunError {
    #[error("{0}")]
    Trap(TrapCode),
    #[error("no exported function `{0}`")]
    UnknownExport(String),
    #[error("argument mismatch: expected {expected:?}, got {got:?}")]
    ArgumentMismatch {
        expected: Vec<ValType>,
        got: Vec<ValType>,
    },
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The program called WASI's proc_exit.
    #[error("exit status {0}")]
    Exit(i32),
}

/// Executable code mapped from an artifact.
struct Code {
    base: *mut u8,
    len: usize,
}
unsafe impl Send for Code {}
unsafe impl Sync for Code {}

impl Drop for Code {
    fn drop(&mut self) {
        if let Ok(mut c) = signals::CODE.write() {
            c.retain(|r| r.start != self.base as usize);
        }
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
    }
}

struct ModuleInner {
    meta: Metadata,
    /// Each type's identity, by type index.
    types: Vec<TypeIdentity>,
    code: Code,
}

/// A loaded artifact, shareable between instances.
#[derive(Clone)]
pub struct Module(Arc<ModuleInner>);

impl Module {
    pub fn from_artifact(bytes: &[u8]) -> Result<Module, RuntimeError> {
        for (feature, ok) in [
            ("lzcnt", std::arch::is_x86_feature_detected!("lzcnt")),
            ("bmi1", std::arch::is_x86_feature_detected!("bmi1")),
            ("popcnt", std::arch::is_x86_feature_detected!("popcnt")),
            // The SIMD baseline (pshufb, pmovsx, ptest, roundps, ...).
            ("ssse3", std::arch::is_x86_feature_detected!("ssse3")),
            ("sse4.1", std::arch::is_x86_feature_detected!("sse4.1")),
        ] {
            if !ok {
                return Err(RuntimeError::Cpu(feature));
            }
        }
        let art = ArtifactFile::parse_code(bytes)?;
        Module::from_parts(&art.text, art.meta)
    }

    /// Load checked metadata's code `text` (what `from_artifact` does once
    /// the ELF container is read).
    fn from_parts(text: &[u8], meta: Metadata) -> Result<Module, RuntimeError> {
        let text_len = text.len();
        // Everything below indexes by the metadata's word: check it first.
        pcc::check_metadata(&meta, text_len).map_err(RuntimeError::Inconsistent)?;
        let len = text_len.max(1).next_multiple_of(4096);
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(RuntimeError::Resource("cannot map code".into()));
        }
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), base as *mut u8, text_len);
            libc::mprotect(base, len, libc::PROT_READ | libc::PROT_EXEC);
        }
        let code = Code {
            base: base as *mut u8,
            len,
        };
        if std::env::var_os("PCCC_PERFMAP").is_some() {
            write_perf_map(base as usize, &meta);
        }
        let func_at = |f: u32| {
            meta.funcs
                .get(f as usize)
                .map(|f| base as usize + f.offset as usize)
        };
        let mut traps: Vec<(usize, TrapCode)> = vec![];
        for t in &meta.trap_sites {
            let f = meta.funcs.get(t.func as usize).ok_or_else(|| {
                RuntimeError::Inconsistent(format!("trap site in missing function {}", t.func))
            })?;
            traps.push((
                base as usize + f.offset as usize + t.offset as usize,
                t.code,
            ));
        }
        traps.sort_by_key(|t| t.0);
        // The unwinder looks landings up by return address.
        let mut exn: Vec<(usize, usize)> = vec![];
        for e in &meta.exn_sites {
            let f = func_at(e.func).ok_or_else(|| {
                RuntimeError::Inconsistent(format!("exception site in missing function {}", e.func))
            })?;
            exn.push((f + e.ret as usize, f + e.landing as usize));
        }
        exn.sort_by_key(|e| e.0);
        signals::CODE
            .write()
            .expect("code registry")
            .push(signals::CodeRange {
                start: base as usize,
                end: base as usize + text_len,
                traps,
                exn,
            });
        let types = TypeIdentity::all(&meta);
        Ok(Module(Arc::new(ModuleInner { meta, types, code })))
    }

    pub fn meta(&self) -> &Metadata {
        &self.0.meta
    }
}

/// Appends the functions' addresses to `/tmp/perf-<pid>.map`, the file `perf
/// report` reads to name JIT code (Wasmtime's `--profile perfmap`). Best effort:
/// profiling must not make a run fail.
fn write_perf_map(base: usize, meta: &Metadata) {
    use std::io::Write;
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    let mut text = String::new();
    for func in &meta.funcs {
        let name: String = func.name.chars().filter(|c| !c.is_control()).collect();
        text.push_str(&format!(
            "{:x} {:x} {name}\n",
            base + func.offset as usize,
            func.size
        ));
    }
    let _ = f.write_all(text.as_bytes());
}

type HostFn = dyn Fn(&[Val]) -> Result<Vec<Val>, TrapCode> + Send + Sync;

#[derive(Clone)]
enum FuncRef {
    Host {
        ty: TypeIdentity,
        f: Arc<HostFn>,
    },
    /// Function `index` of `instance`, whose type is `ty`.
    Wasm {
        instance: Instance,
        index: u32,
        ty: TypeIdentity,
    },
}

impl FuncRef {
    fn ty(&self) -> WasmFuncType {
        self.identity().func().clone()
    }

    fn identity(&self) -> &TypeIdentity {
        match self {
            FuncRef::Host { ty, .. } | FuncRef::Wasm { ty, .. } => ty,
        }
    }
}

#[repr(C)]
struct TableDesc {
    elems: *mut Elem,
    len: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Elem {
    code: u64,
    sig: u64,
    vmctx: u64,
}

/// A table: the descriptor compiled code reads, and its elements.
struct Table {
    desc: Box<TableDesc>,
    elems: Vec<Elem>,
    max: Option<u64>,
    elem_ty: ValType,
    /// Instances whose code this table's elements point to, when they are
    /// not the table's owner: an element outlives the instance that wrote it
    /// (even one whose start function trapped). Held only across instances,
    /// so an instance and its own table form no reference cycle.
    keep_alive: Vec<Instance>,
}

/// Shared cells: compiled code holds raw pointers to them via the vmctx.
struct Shared<T>(Mutex<T>);
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

#[derive(Clone)]
enum Extern {
    Func(FuncRef),
    Global {
        cell: Arc<Shared<Box<[u64; 2]>>>,
        ty: ValType,
        mutable: bool,
    },
    Memory(Arc<Memory>),
    Table(Arc<Shared<Table>>),
    /// A tag, compared by identity.
    Tag(Arc<exn::Tag>),
}

/// Names imports resolve against: host functions and registered instances.
#[derive(Clone, Default)]
pub struct Linker {
    defs: HashMap<(String, String), Extern>,
}

impl Linker {
    pub fn new() -> Linker {
        Linker::default()
    }

    /// The host module the spec tests import as `spectest`.
    pub fn with_spectest() -> Linker {
        let mut l = Linker::new();
        let sig = |params: Vec<ValType>| WasmFuncType {
            params,
            results: vec![],
        };
        use ValType::*;
        for (name, params) in [
            ("print", vec![]),
            ("print_i32", vec![I32]),
            ("print_i64", vec![I64]),
            ("print_f32", vec![F32]),
            ("print_f64", vec![F64]),
            ("print_i32_f32", vec![I32, F32]),
            ("print_f64_f64", vec![F64, F64]),
        ] {
            l.func("spectest", name, sig(params), |_| Ok(vec![]));
        }
        for (name, ty, bits) in [
            ("global_i32", I32, 666u64),
            ("global_i64", I64, 666),
            ("global_f32", F32, 666.6f32.to_bits() as u64),
            ("global_f64", F64, 666.6f64.to_bits()),
        ] {
            l.defs.insert(
                ("spectest".into(), name.into()),
                Extern::Global {
                    cell: Arc::new(Shared(Mutex::new(Box::new([bits, 0])))),
                    ty,
                    mutable: false,
                },
            );
        }
        if let Ok(table) = new_table(ValType::FuncRef, 10, Some(20)) {
            l.defs
                .insert(("spectest".into(), "table".into()), Extern::Table(table));
        }
        let heap = pcc::HeapStrategy::DEFAULT_STATIC;
        if let Ok(m) = Memory::new(1, Some(2), heap.reservation(), heap.guard()) {
            l.defs.insert(
                ("spectest".into(), "memory".into()),
                Extern::Memory(Arc::new(m)),
            );
        }
        l
    }

    pub fn func(
        &mut self,
        module: &str,
        name: &str,
        ty: WasmFuncType,
        f: impl Fn(&[Val]) -> Result<Vec<Val>, TrapCode> + Send + Sync + 'static,
    ) {
        self.defs.insert(
            (module.into(), name.into()),
            Extern::Func(FuncRef::Host {
                ty: TypeIdentity::alone(ty),
                f: Arc::new(f),
            }),
        );
    }

    /// Make every export of `inst` importable as `name::<export>`.
    pub fn instance(&mut self, name: &str, inst: &Instance) {
        for e in &inst.0.module.0.meta.exports {
            if let Some(x) = inst.export_extern(e.kind, e.index) {
                self.defs.insert((name.into(), e.name.clone()), x);
            }
        }
    }
}

/// Table elements alive in this process, over all tables of all instances.
static LIVE_TABLE_ELEMS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The cap on [`LIVE_TABLE_ELEMS`]: two tables at the per-table cap
/// (`MAX_TABLE_ELEMS`), about 480 MiB of elements. Each table is capped on its
/// own, but many tables growing together would otherwise exhaust memory and
/// get the process killed; past this, creation is refused and growth fails.
pub const MAX_LIVE_TABLE_ELEMS: u64 = 2 * pcc::meta_check::MAX_TABLE_ELEMS;

/// Take `n` elements from the process budget, or refuse.
fn charge_table_elems(n: u64) -> bool {
    use std::sync::atomic::Ordering;
    LIVE_TABLE_ELEMS
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |live| {
            live.checked_add(n).filter(|&t| t <= MAX_LIVE_TABLE_ELEMS)
        })
        .is_ok()
}

impl Drop for Table {
    fn drop(&mut self) {
        LIVE_TABLE_ELEMS.fetch_sub(self.elems.len() as u64, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Elements for `len` slots, without aborting when the allocator says no.
fn alloc_elems(len: u64) -> Option<Vec<Elem>> {
    let mut v = Vec::new();
    v.try_reserve_exact(usize::try_from(len).ok()?).ok()?;
    v.resize(
        len as usize,
        Elem {
            code: 0,
            sig: 0,
            vmctx: 0,
        },
    );
    Some(v)
}

fn new_table(
    elem_ty: ValType,
    min: u64,
    max: Option<u64>,
) -> Result<Arc<Shared<Table>>, RuntimeError> {
    let refused = || {
        RuntimeError::Resource(format!(
            "a table of {min} elements exceeds the {MAX_LIVE_TABLE_ELEMS} table elements \
             this process may hold"
        ))
    };
    if !charge_table_elems(min) {
        return Err(refused());
    }
    let Some(mut elems) = alloc_elems(min) else {
        LIVE_TABLE_ELEMS.fetch_sub(min, std::sync::atomic::Ordering::SeqCst);
        return Err(refused());
    };
    let desc = Box::new(TableDesc {
        elems: elems.as_mut_ptr(),
        len: min,
    });
    Ok(Arc::new(Shared(Mutex::new(Table {
        desc,
        elems,
        max,
        elem_ty,
        keep_alive: vec![],
    }))))
}

/// A global's cell (compiled code reads it through the vmctx), its type and mutability.
type GlobalSlot = (Arc<Shared<Box<[u64; 2]>>>, ValType, bool);

struct InstanceInner {
    module: Module,
    vmctx: Box<[u64]>,
    memory: Option<Arc<Memory>>,
    /// Without a memory, an empty one (all PROT_NONE) that only gives the
    /// heap base somewhere to point: see `Instance::new`.
    _no_memory_heap: Option<Memory>,
    tables: Vec<Arc<Shared<Table>>>,
    globals: Vec<GlobalSlot>,
    funcs: Vec<FuncRef>,
    /// The tag index space: imported tags, then one new tag per defined one.
    tags: Vec<Arc<exn::Tag>>,
    /// Data segments dropped so far (data.drop, or active ones once applied).
    dropped_data: Mutex<Vec<bool>>,
    /// Element segments dropped so far (elem.drop, or active and declared
    /// ones once instantiated).
    dropped_elems: Mutex<Vec<bool>>,
}

impl Drop for InstanceInner {
    fn drop(&mut self) {
        // Before the vmctx is freed, so its address can't be reused while
        // it is still registered.
        unregister_vmctx(self);
        if let Some(m) = &self.memory {
            m.remove_user(&mut self.vmctx[1] as *mut u64);
        }
    }
}

#[derive(Clone)]
pub struct Instance(Arc<InstanceInner>);

/// The wasm stack for this thread, with its guard registered.
struct WasmStack {
    base: usize,
    top: usize,
}

/// A thread's wasm stack is unmapped when the thread exits (no wasm runs on
/// it then), and its guard leaves the registry: a process that runs wasm on
/// many short-lived threads must not leak a mapping per thread until mmap
/// fails at the kernel's map-count limit.
impl Drop for WasmStack {
    fn drop(&mut self) {
        if let Ok(mut guards) = signals::STACK_GUARDS.write() {
            guards.retain(|&(lo, _)| lo != self.base);
        }
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.top - self.base) };
    }
}

const WASM_STACK: usize = 8 << 20;
const STACK_GUARD: usize = 64 << 10;

thread_local! {
    static STACK: std::cell::OnceCell<Option<WasmStack>> = const { std::cell::OnceCell::new() };
    /// The trap code behind a HostTrap: compiled code only learns "the host trapped".
    static HOST_TRAP: std::cell::Cell<Option<TrapCode>> = const { std::cell::Cell::new(None) };
}

fn wasm_stack() -> Option<(usize, usize)> {
    STACK.with(|s| {
        s.get_or_init(|| unsafe {
            let m = libc::mmap(
                std::ptr::null_mut(),
                WASM_STACK + STACK_GUARD,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            );
            if m == libc::MAP_FAILED {
                return None;
            }
            libc::mprotect(m, STACK_GUARD, libc::PROT_NONE);
            let base = m as usize;
            signals::STACK_GUARDS
                .write()
                .expect("stack registry")
                .push((base, base + STACK_GUARD));
            Some(WasmStack {
                base,
                top: base + STACK_GUARD + WASM_STACK,
            })
        })
        .as_ref()
        .map(|s| (s.base, s.top))
    })
}

/// 16 bytes as two 8-byte halves, low first: how an xmm register, a
/// global's cell and two stack slots hold them.
fn halves(b: u128) -> [u64; 2] {
    [b as u64, (b >> 64) as u64]
}

fn from_halves([lo, hi]: [u64; 2]) -> u128 {
    lo as u128 | (hi as u128) << 64
}

/// A constant's 16 bytes, as a global's cell holds them (low half first).
fn eval_const(e: &ConstExpr, globals: &[GlobalSlot]) -> [u64; 2] {
    let low = |v: u64| [v, 0];
    match *e {
        ConstExpr::I32(v) => low(v as u32 as u64),
        ConstExpr::I64(v) => low(v as u64),
        ConstExpr::F32(b) => low(b as u64),
        ConstExpr::F64(b) => low(b),
        ConstExpr::V128(b) => halves(b),
        ConstExpr::GlobalGet(i) => globals
            .get(i as usize)
            .map_or([0, 0], |g| **g.0 .0.lock().expect("global")),
        ConstExpr::RefNull => low(0),
        // Resolved once the instance exists (see Instance::new).
        ConstExpr::RefFunc(_) => low(0),
    }
}

impl Instance {
    pub fn new(module: &Module, linker: &Linker) -> Result<Instance, InstantiateError> {
        let meta = &module.0.meta;
        let layout = meta.vmctx_layout();
        let mut funcs = vec![];
        let mut memory = None;
        let mut tables = vec![];
        let mut globals = vec![];
        let mut tags = vec![];
        for imp in &meta.imports {
            let found = linker
                .defs
                .get(&(imp.module.clone(), imp.name.clone()))
                .ok_or_else(|| InstantiateError::UnknownImport {
                    module: imp.module.clone(),
                    name: imp.name.clone(),
                })?;
            let bad = |why: String| InstantiateError::IncompatibleImport {
                module: imp.module.clone(),
                name: imp.name.clone(),
                why,
            };
            match (&imp.kind, found) {
                (ImportKind::Func { type_index }, Extern::Func(f)) => {
                    let want = module.0.types.get(*type_index as usize).ok_or_else(|| {
                        RuntimeError::Inconsistent(format!("type index {type_index}"))
                    })?;
                    if f.identity() != want {
                        return Err(bad(format!("expected {want:?}, found {:?}", f.identity())));
                    }
                    let want = want.func();
                    // Host calls pass 8-byte slots (the frontend refuses
                    // calls of such imports; a tampered artifact may not).
                    if want
                        .params
                        .iter()
                        .chain(&want.results)
                        .any(|t| *t == ValType::V128)
                    {
                        return Err(InstantiateError::Unsupported(
                            "v128 parameters or results of an imported function".into(),
                        ));
                    }
                    funcs.push(f.clone());
                }
                (
                    ImportKind::Global { ty, mutable },
                    Extern::Global {
                        cell,
                        ty: t,
                        mutable: m,
                    },
                ) => {
                    if ty != t || mutable != m {
                        return Err(bad("global type mismatch".into()));
                    }
                    globals.push((cell.clone(), *t, *m));
                }
                (
                    ImportKind::Memory {
                        min_pages,
                        max_pages,
                    },
                    Extern::Memory(m),
                ) => {
                    if m.pages() < *min_pages {
                        return Err(bad("memory too small".into()));
                    }
                    // The validator's proof assumes this module's sandbox:
                    // the mapping must cover reservation + guard, and the
                    // memory may never grow past the reservation.
                    let heap = meta.sandbox.heap;
                    if m.reserved_bytes() < heap.sandbox_bytes()
                        || m.max_pages * pcc::sandbox::WASM_PAGE > heap.reservation()
                    {
                        return Err(bad(format!(
                            "memory's reservation does not match this module's {} heap strategy",
                            heap.name()
                        )));
                    }
                    if let Some(max) = max_pages {
                        if m.max_pages > *max {
                            return Err(bad("memory maximum too large".into()));
                        }
                    }
                    memory = Some(m.clone());
                }
                (ImportKind::Table { elem, min, max }, Extern::Table(t)) => {
                    let tb = t.0.lock().expect("table");
                    if tb.elem_ty != *elem || (tb.desc.len) < *min {
                        return Err(bad("table type mismatch".into()));
                    }
                    if let Some(max) = max {
                        if tb.max.is_none_or(|m| m > *max) {
                            return Err(bad("table maximum too large".into()));
                        }
                    }
                    drop(tb);
                    tables.push(t.clone());
                }
                (ImportKind::Tag { type_index }, Extern::Tag(t)) => {
                    let want = module.0.types.get(*type_index as usize).ok_or_else(|| {
                        RuntimeError::Inconsistent(format!("type index {type_index}"))
                    })?;
                    if t.ty != *want {
                        return Err(bad(format!(
                            "tag type mismatch: expected {want:?}, found {:?}",
                            t.ty
                        )));
                    }
                    tags.push(t.clone());
                }
                _ => return Err(bad("kind mismatch".into())),
            }
        }
        for &ti in &meta.tags {
            let ty = module
                .0
                .types
                .get(ti as usize)
                .ok_or_else(|| RuntimeError::Inconsistent(format!("tag of type index {ti}")))?;
            tags.push(Arc::new(exn::Tag { ty: ty.clone() }));
        }
        let heap = meta.sandbox.heap;
        if let Some(m) = &meta.memory {
            if !m.imported {
                memory = Some(Arc::new(Memory::new(
                    m.min_pages,
                    m.max_pages,
                    heap.reservation(),
                    heap.guard(),
                )?));
            }
        }
        // Never heap base 0: compiled code addresses [r15, r15 + reservation
        // + guard) whether or not the module has a memory, and at base 0
        // that is the host's own address space. A memory of no pages that
        // can't grow makes every such access fault inside a range the
        // signal handler knows, i.e. a clean out-of-bounds trap.
        let (heap_base, no_memory_heap) = match &memory {
            Some(m) => (m.base as u64, None),
            None => {
                let empty = Memory::new(0, Some(0), heap.reservation(), heap.guard())?;
                (empty.base as u64, Some(empty))
            }
        };
        // All at once, before allocating any: a module whose tables alone
        // exceed the budget is refused without touching memory.
        let total = meta
            .tables
            .iter()
            .fold(0u64, |a, t| a.saturating_add(t.min));
        if total > MAX_LIVE_TABLE_ELEMS {
            return Err(RuntimeError::Resource(format!(
                "tables of {total} elements in all exceed the {MAX_LIVE_TABLE_ELEMS} \
                 table elements this process may hold"
            ))
            .into());
        }
        for t in &meta.tables {
            tables.push(new_table(t.elem, t.min, t.max)?);
        }
        for g in &meta.globals {
            let v = eval_const(&g.init, &globals);
            globals.push((Arc::new(Shared(Mutex::new(Box::new(v)))), g.ty, g.mutable));
        }
        let mut vmctx = vec![0u64; layout.size() as usize / 8].into_boxed_slice();
        vmctx[VmCtxLayout::HEAP_BASE as usize / 8] = heap_base;
        // The builtin ABI table says where each builtin lives.
        for b in &pcc::builtin::BUILTINS {
            use pcc::builtin::BuiltinKind as B;
            vmctx[b.slot as usize / 8] = match b.kind {
                B::MemoryGrow => memory_grow as *const () as u64,
                B::BulkMemory => bulk_memory as *const () as u64,
                B::TableOp => table_op as *const () as u64,
                B::HostCall => exn::pccc_host_call as *const () as u64,
                kind => exn::builtin_addr(kind).unwrap_or(0),
            };
        }
        for (i, t) in module.0.types.iter().enumerate() {
            vmctx[layout.sig_id(i as u32) as usize / 8] = sig_id(t);
        }
        for (i, t) in tables.iter().enumerate() {
            let desc = &*t.0.lock().expect("table").desc as *const TableDesc;
            vmctx[layout.table(i as u32) as usize / 8] = desc as u64;
        }
        for (i, g) in globals.iter().enumerate() {
            let cell = g.0 .0.lock().expect("global").as_ptr();
            vmctx[layout.global(i as u32) as usize / 8] = cell as u64;
        }
        let inst = Instance(Arc::new(InstanceInner {
            module: module.clone(),
            vmctx,
            memory,
            _no_memory_heap: no_memory_heap,
            tables,
            globals,
            funcs,
            tags,
            dropped_data: Mutex::new(vec![false; meta.data.len()]),
            dropped_elems: Mutex::new(
                meta.elems
                    .iter()
                    .map(|e| !matches!(e.mode, SegmentMode::Passive))
                    .collect(),
            ),
        }));
        {
            let inner = Arc::as_ptr(&inst.0) as *mut InstanceInner;
            // The vmctx is written only here, before the instance is shared.
            unsafe {
                if let Some(m) = &(*inner).memory {
                    m.add_user(&mut (*inner).vmctx[1] as *mut u64);
                }
            }
            register_vmctx(&inst);
        }
        // Globals initialised with ref.func: their handles need the instance.
        let nimp = meta.num_imported_globals() as usize;
        for (i, g) in meta.globals.iter().enumerate() {
            if let ConstExpr::RefFunc(f) = g.init {
                let (e, _) = inst.elem_for(f)?;
                if let Some(cell) = inst.0.globals.get(nimp + i) {
                    cell.0 .0.lock().expect("global")[0] = func_handle(e);
                }
            }
        }
        inst.init_segments()?;
        if let Some(start) = meta.start {
            inst.call_index(start, &[]).map_err(|e| match e {
                RunError::Trap(c) => InstantiateError::Trap(c),
                other => InstantiateError::Unsupported(other.to_string()),
            })?;
        }
        Ok(inst)
    }

    fn init_segments(&self) -> Result<(), InstantiateError> {
        let meta = &self.0.module.0.meta;
        for seg in &meta.elems {
            let SegmentMode::Active { index, offset } = &seg.mode else {
                continue;
            };
            let off = eval_const(offset, &self.0.globals)[0] as u32 as u64;
            let table = self.0.tables.get(*index as usize).ok_or_else(|| {
                InstantiateError::Runtime(RuntimeError::Inconsistent(format!(
                    "element segment for missing table {index}"
                )))
            })?;
            let mut t = table.0.lock().expect("table");
            if off + seg.items.len() as u64 > t.desc.len {
                return Err(InstantiateError::Trap(TrapCode::TableAccessOutOfBounds));
            }
            let imported = *index < meta.num_imported_tables();
            for (k, item) in seg.items.iter().enumerate() {
                let (e, owner) = self.item_elem(item, &mut t)?;
                keep_alive(&mut t, owner, self, imported);
                if let Some(slot) = t.elems.get_mut(off as usize + k) {
                    *slot = e;
                }
            }
        }
        for (k, seg) in meta.data.iter().enumerate() {
            let SegmentMode::Active { offset, .. } = &seg.mode else {
                continue;
            };
            // An active segment is dropped once applied (memory.init of it
            // then sees an empty segment).
            if let Some(d) = self
                .0
                .dropped_data
                .lock()
                .expect("data segments")
                .get_mut(k)
            {
                *d = true;
            }
            let off = eval_const(offset, &self.0.globals)[0] as u32 as u64;
            let ok = self
                .0
                .memory
                .as_ref()
                .is_some_and(|m| m.write(off, &seg.bytes));
            if !ok {
                return Err(InstantiateError::Trap(TrapCode::HeapOutOfBounds));
            }
        }
        Ok(())
    }

    /// The table element for an element-segment item, and the instance that
    /// must stay alive for it (none for null, or a handle the registry holds).
    fn item_elem(
        &self,
        item: &pcc::ElemItem,
        t: &mut Table,
    ) -> Result<(Elem, Option<Instance>), InstantiateError> {
        match *item {
            pcc::ElemItem::Null => Ok(elem_of(t, 0).expect("null")),
            pcc::ElemItem::Func(f) => self.elem_for(f).map(|(e, o)| (e, Some(o))),
            pcc::ElemItem::Global(g) => {
                let handle = self
                    .0
                    .globals
                    .get(g as usize)
                    .map_or(0, |c| c.0 .0.lock().expect("global")[0]);
                elem_of(t, handle).ok_or(InstantiateError::Trap(TrapCode::TableAccessOutOfBounds))
            }
        }
    }

    /// The table element for function `func` and the instance owning its code.
    fn elem_for(&self, func: u32) -> Result<(Elem, Instance), InstantiateError> {
        let meta = &self.0.module.0.meta;
        let nimp = meta.num_imported_funcs();
        let bad = || {
            InstantiateError::Runtime(RuntimeError::Inconsistent(format!(
                "function index {func} out of range"
            )))
        };
        if func < nimp {
            return match self.0.funcs.get(func as usize).ok_or_else(bad)? {
                FuncRef::Wasm {
                    instance, index, ..
                } => instance.elem_for(*index),
                // A host function is called through this module's thunk for
                // the import, which takes the host-call path.
                FuncRef::Host { .. } => match meta.import_thunks.get(func as usize) {
                    Some(Some(t)) => Ok((self.code_elem(*t).ok_or_else(bad)?, self.clone())),
                    _ => Err(InstantiateError::Unsupported(
                        "a host function of this type in a table (no thunk for it yet)".into(),
                    )),
                },
            };
        }
        let e = self.code_elem(func - nimp).ok_or_else(bad)?;
        Ok((e, self.clone()))
    }

    /// The table element for entry `funcs[i]` of this module's code.
    fn code_elem(&self, i: u32) -> Option<Elem> {
        let meta = &self.0.module.0.meta;
        let f = meta.funcs.get(i as usize)?;
        let sig = meta.vmctx_layout().sig_id(f.type_index) as usize / 8;
        Some(Elem {
            code: self.0.module.0.code.base as u64 + f.offset as u64,
            sig: *self.0.vmctx.get(sig)?,
            vmctx: self.0.vmctx.as_ptr() as u64,
        })
    }

    /// The vmctx compiled code gets, for tests that call the builtins as
    /// compiled code would (with pointers of their choosing).
    #[doc(hidden)]
    pub fn vmctx_for_tests(&self) -> *mut u64 {
        self.0.vmctx.as_ptr() as *mut u64
    }

    /// The instance's linear memory (its own or imported).
    pub fn memory(&self) -> Option<Arc<Memory>> {
        self.0.memory.clone()
    }

    fn func_type(&self, index: u32) -> Option<TypeIdentity> {
        let meta = &self.0.module.0.meta;
        let nimp = meta.num_imported_funcs();
        if index < nimp {
            Some(self.0.funcs.get(index as usize)?.identity().clone())
        } else {
            let f = meta.funcs.get((index - nimp) as usize)?;
            self.0.module.0.types.get(f.type_index as usize).cloned()
        }
    }

    fn export_extern(&self, kind: ExportKind, index: u32) -> Option<Extern> {
        let meta = &self.0.module.0.meta;
        Some(match kind {
            ExportKind::Func => {
                if index < meta.num_imported_funcs() {
                    Extern::Func(self.0.funcs.get(index as usize)?.clone())
                } else {
                    Extern::Func(FuncRef::Wasm {
                        instance: self.clone(),
                        index,
                        ty: self.func_type(index)?,
                    })
                }
            }
            ExportKind::Global => {
                let (cell, ty, mutable) = self.0.globals.get(index as usize)?.clone();
                Extern::Global { cell, ty, mutable }
            }
            ExportKind::Memory => Extern::Memory(self.0.memory.clone()?),
            ExportKind::Table => Extern::Table(self.0.tables.get(index as usize)?.clone()),
            ExportKind::Tag => Extern::Tag(self.0.tags.get(index as usize)?.clone()),
        })
    }

    pub fn invoke(&self, name: &str, args: &[Val]) -> Result<Vec<Val>, RunError> {
        let meta = &self.0.module.0.meta;
        let e = meta
            .exports
            .iter()
            .find(|e| e.name == name && e.kind == ExportKind::Func)
            .ok_or_else(|| RunError::UnknownExport(name.into()))?;
        self.call_index(e.index, args)
    }

    pub fn global(&self, name: &str) -> Option<Val> {
        let meta = &self.0.module.0.meta;
        let e = meta
            .exports
            .iter()
            .find(|e| e.name == name && e.kind == ExportKind::Global)?;
        let (cell, ty, _) = self.0.globals.get(e.index as usize)?;
        let v = **cell.0.lock().ok()?;
        Some(Val::from_bits(*ty, from_halves(v)))
    }

    /// Call function `index` (function index space) with `args`.
    fn call_index(&self, index: u32, args: &[Val]) -> Result<Vec<Val>, RunError> {
        let bad = || RunError::Unsupported(format!("function index {index} out of range"));
        let ty = self.func_type(index).ok_or_else(bad)?;
        let ty = ty.func();
        let got: Vec<ValType> = args.iter().map(|a| a.ty()).collect();
        if got != ty.params {
            return Err(RunError::ArgumentMismatch {
                expected: ty.params.clone(),
                got,
            });
        }
        let meta = &self.0.module.0.meta;
        let nimp = meta.num_imported_funcs();
        if index < nimp {
            return call_func_ref(self.0.funcs.get(index as usize).ok_or_else(bad)?, args);
        }
        let f = meta.funcs.get((index - nimp) as usize).ok_or_else(bad)?;
        let class = |t: &ValType| t.class();
        let result_locs = result_locations(ty.results.iter().map(class));
        let mut int_args = [0u64; 6];
        let mut float_args = [[0u64; 2]; 8];
        let mut stack_args = vec![];
        for (a, loc) in args.iter().zip(arg_locations(ty.params.iter().map(class))) {
            match loc {
                ArgLoc::Gpr(r) => {
                    let i = INT_ARG_REGS
                        .iter()
                        .position(|&g| g == r)
                        .expect("an argument register");
                    int_args[i] = a.to_slot();
                }
                ArgLoc::Xmm(x) => float_args[x.0 as usize] = halves(a.to_bits()),
                ArgLoc::Stack(_) => {
                    let [lo, hi] = halves(a.to_bits());
                    stack_args.push(lo);
                    if a.ty() == ValType::V128 {
                        stack_args.push(hi);
                    }
                }
            }
        }
        // The outgoing area holds the stack arguments before the call and
        // the stack results after it: as many slots as the larger.
        let nrets = stack_results(ty.results.iter().map(class)) as usize;
        let mut stack_rets = vec![0u64; nrets];
        stack_args.resize(stack_args.len().max(nrets), 0);
        let nested = !entry::INNERMOST.with(|c| c.get()).is_null();
        let (stack_base, stack_top) =
            wasm_stack().ok_or_else(|| RunError::Unsupported("cannot map a wasm stack".into()))?;
        // A nested entry (a host function calling back in) runs on the wasm
        // stack: its stack values must fit above the guard, with room left
        // for the host frames (pccc_enter does not check).
        if nested {
            let here = &stack_top as *const usize as usize;
            let need = 8 * stack_args.len() + HOST_STACK_RESERVE as usize / 2;
            if here.saturating_sub(need) < stack_base + STACK_GUARD {
                return Err(RunError::Trap(TrapCode::StackOverflow));
            }
        }
        let limit = (stack_base + STACK_GUARD) as u64 + HOST_STACK_RESERVE;
        let vmctx = self.0.vmctx.as_ptr() as *mut u64;
        unsafe { *vmctx.add(VmCtxLayout::STACK_LIMIT as usize / 8) = limit };
        let mut frame = entry::EntryFrame {
            func: self.0.module.0.code.base as u64 + f.offset as u64,
            vmctx: vmctx as u64,
            heap_base: self.0.vmctx[0],
            stack_top: if nested { 0 } else { stack_top as u64 },
            int_args,
            nstack: stack_args.len() as u64,
            stack_args: stack_args.as_ptr() as u64,
            ret: 0,
            saved_rsp: 0,
            prev: std::ptr::null_mut(),
            float_args,
            int_rets: [0; 9],
            float_rets: [[0; 2]; 8],
            call_sp: 0,
            stack_rets: stack_rets.as_mut_ptr() as u64,
            nrets: nrets as u64,
        };
        HOST_TRAP.with(|t| t.set(None));
        // Only an exception leaving this entry may be pending after it; a
        // top-level call starts with no exception state at all.
        if nested {
            exn::clear_pending();
        } else {
            exn::reset_thread_state();
        }
        let result = unsafe { entry::enter(&mut frame) };
        if !nested {
            // Nothing leaks into the next top-level call: an uncaught
            // exception ends here as the trap it is.
            exn::reset_thread_state();
        }
        match result {
            Ok(()) => Ok(ty
                .results
                .iter()
                .zip(result_locs)
                .map(|(t, loc)| {
                    let bits = match loc {
                        ArgLoc::Gpr(r) => {
                            let k = INT_RET_REGS.iter().position(|&g| g == r);
                            frame.int_rets[k.expect("a result register")] as u128
                        }
                        ArgLoc::Xmm(x) => from_halves(frame.float_rets[x.0 as usize]),
                        ArgLoc::Stack(k) if *t == ValType::V128 => {
                            from_halves([stack_rets[k as usize], stack_rets[k as usize + 1]])
                        }
                        ArgLoc::Stack(k) => stack_rets[k as usize] as u128,
                    };
                    Val::from_bits(*t, bits)
                })
                .collect()),
            Err(code) => {
                if let Some(status) = wasi::EXIT.with(|e| e.take()) {
                    return Err(RunError::Exit(status));
                }
                let code = TrapCode::from_u32(code).unwrap_or(TrapCode::HostTrap);
                let code = match code {
                    TrapCode::HostTrap => HOST_TRAP.with(|t| t.take()).unwrap_or(code),
                    c => c,
                };
                Err(RunError::Trap(code))
            }
        }
    }
}

fn call_func_ref(f: &FuncRef, args: &[Val]) -> Result<Vec<Val>, RunError> {
    match f {
        FuncRef::Host { f, .. } => f(args).map_err(RunError::Trap),
        FuncRef::Wasm {
            instance, index, ..
        } => instance.call_index(*index, args),
    }
}

/// Call import `import` of the instance whose vmctx this is, with its
/// arguments in `slots` and its results written back over them; 0 or a
/// trap code. Refused, touching nothing, unless `vmctx` is a live
/// instance's and the slots lie in the caller's frame.
///
/// Compiled code reaches it through the shim `pccc_host_call` (`exn.rs`),
/// which adds the caller's stack pointer at the call (rsp + 8 past the
/// return address), frame pointer and return address. An exception that
/// leaves the entry of a wasm import uncaught continues from the caller:
/// the shim resumes at the landing `exn::unwind` finds.
pub(crate) extern "sysv64" fn host_call(
    vmctx: *mut u64,
    import: u32,
    slots: *mut u64,
    caller_sp: usize,
    caller_rbp: usize,
    caller_ret: usize,
) -> exn::BuiltinRet {
    let code = host_call_inner(vmctx, import, slots, caller_sp, caller_rbp);
    // Whatever the import was, the exception that left its entry (if any)
    // is this call's to carry on or to forget.
    let pending = exn::take_pending();
    match code {
        Err(true) if pending != 0 => {
            // Not a trap (yet): the exception travels on.
            HOST_TRAP.with(|t| t.set(None));
            exn::unwind(
                pending,
                exn::Frame {
                    ret: caller_ret,
                    sp: caller_sp,
                    fp: caller_rbp,
                },
            )
        }
        Err(_) => exn::BuiltinRet::code(TrapCode::HostTrap as u32 as u64),
        Ok(()) => exn::BuiltinRet::code(0),
    }
}

/// `host_call`'s work: Ok, or Err(whether a wasm import's entry ended with
/// an uncaught exception) after setting the trap state.
fn host_call_inner(
    vmctx: *mut u64,
    import: u32,
    slots: *mut u64,
    caller_sp: usize,
    caller_rbp: usize,
) -> Result<(), bool> {
    let refused = Err(false);
    let Some(inst) = instance_for(vmctx) else {
        return refused;
    };
    let Some(f) = inst.0.funcs.get(import as usize) else {
        return refused;
    };
    let ty = f.ty();
    let n = ty.params.len().max(ty.results.len());
    if !in_callers_frame(slots as usize, n, caller_sp, caller_rbp) {
        return refused;
    }
    let wasm = matches!(f, FuncRef::Wasm { .. });
    // A panicking host function is a trap; nothing it shares is reused.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // In the caller's frame (checked above), which waits for us.
        let args: Vec<Val> = ty
            .params
            .iter()
            .enumerate()
            .map(|(i, &t)| Val::from_slot(t, unsafe { *slots.add(i) }))
            .collect();
        let results = call_func_ref(f, &args)?;
        for (i, r) in results.iter().take(n).enumerate() {
            unsafe { *slots.add(i) = r.to_slot() };
        }
        Ok::<(), RunError>(())
    }));
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(RunError::Trap(code))) => {
            HOST_TRAP.with(|t| t.set(Some(code)));
            Err(wasm && code == TrapCode::UncaughtException)
        }
        // An exit from a nested call keeps unwinding the outer ones.
        Ok(Err(RunError::Exit(status))) => {
            wasi::EXIT.with(|e| e.set(Some(status)));
            refused
        }
        _ => refused,
    }
}

/// Whether `n` 8-byte slots at `slots` lie in the frame of compiled code
/// that called a builtin with stack pointer `sp` and frame pointer `rbp`:
/// `[sp, rbp)`, on the wasm stack below the innermost entry (whose return
/// address and saved registers sit just above `rbp` of its first frame).
/// This keeps the host's writes off everything the runtime owns; that the
/// slots are the caller's own and not a callee-saved `rbp` of an outer
/// wasm frame is the validator's proof.
fn in_callers_frame(slots: usize, n: usize, sp: usize, rbp: usize) -> bool {
    let entry_sp = entry::INNERMOST.with(|c| {
        let f = c.get();
        // SAFETY: INNERMOST is this thread's live entry frame, or null.
        (!f.is_null()).then(|| unsafe { (*f).call_sp as usize })
    });
    let end = n.checked_mul(8).and_then(|b| slots.checked_add(b));
    match (entry_sp, end) {
        (Some(entry_sp), Some(end)) => {
            slots.is_multiple_of(8)
                && sp <= slots
                && end <= rbp
                && rbp.checked_add(16).is_some_and(|r| r <= entry_sp)
        }
        _ => false,
    }
}

/// Compiled code's bulk-memory operators (vmctx `BULK_MEMORY`): every range
/// is checked against the memory's current size here; 0 or a trap code.
extern "sysv64" fn bulk_memory(vmctx: *mut u64, op: u32, a: u64, b: u64, c: u64) -> u32 {
    let oob = TrapCode::HeapOutOfBounds as u32;
    // Operands are i32s: only their low halves count.
    let (a, b, c) = (a as u32 as u64, b as u32 as u64, c as u32 as u64);
    let Some(inst) = instance_for(vmctx) else {
        return oob;
    };
    let inst = &inst.0;
    let mem = inst.memory.as_deref();
    let ok = match pcc::vmctx::BulkOp::decode(op) {
        Some(pcc::vmctx::BulkOp::Copy) => mem.is_some_and(|m| m.copy_within(a, b, c)),
        Some(pcc::vmctx::BulkOp::Fill) => mem.is_some_and(|m| m.fill(a, b as u8, c)),
        Some(pcc::vmctx::BulkOp::Init(seg)) => {
            let meta = &inst.module.0.meta;
            let dropped = inst.dropped_data.lock().expect("data segments");
            let bytes: &[u8] = match meta.data.get(seg as usize) {
                Some(d) if dropped.get(seg as usize) == Some(&false) => &d.bytes,
                _ => &[],
            };
            let end = b.checked_add(c).filter(|&e| e <= bytes.len() as u64);
            match (end, mem) {
                (Some(e), Some(m)) => m.write(a, &bytes[b as usize..e as usize]),
                _ => false,
            }
        }
        Some(pcc::vmctx::BulkOp::DataDrop(seg)) => {
            if let Some(d) = inst
                .dropped_data
                .lock()
                .expect("data segments")
                .get_mut(seg as usize)
            {
                *d = true;
            }
            true
        }
        None => false,
    };
    if ok {
        0
    } else {
        oob
    }
}

/// Every live instance by its vmctx address: compiled code hands the
/// builtins a vmctx pointer of its choosing (rdi), so they look it up here
/// and never read through a pointer the runtime did not hand out. Every
/// builtin call looks up its vmctx: FxHash, since the runtime alone inserts
/// keys (SipHash was 7% of hashset's run, all memset/memcpy builtins).
static LIVE_VMCTX: std::sync::LazyLock<RwLock<rustc_hash::FxHashMap<usize, Weak<InstanceInner>>>> =
    std::sync::LazyLock::new(Default::default);

fn register_vmctx(inst: &Instance) {
    let addr = inst.0.vmctx.as_ptr() as usize;
    if let Ok(mut live) = LIVE_VMCTX.write() {
        live.insert(addr, Arc::downgrade(&inst.0));
    }
}

fn unregister_vmctx(inner: &InstanceInner) {
    let addr = inner.vmctx.as_ptr() as usize;
    if let Ok(mut live) = LIVE_VMCTX.write() {
        if live
            .get(&addr)
            .is_some_and(|w| std::ptr::eq(w.as_ptr(), inner))
        {
            live.remove(&addr);
        }
    }
}

/// The live instance whose vmctx `vmctx` is, if any.
fn instance_for(vmctx: *const u64) -> Option<Instance> {
    let live = LIVE_VMCTX.read().ok()?;
    live.get(&(vmctx as usize))?.upgrade().map(Instance)
}

/// Compiled code's bulk-table operators (vmctx `TABLE_OP`): every range is
/// checked against its table's (and segment's) length here; 0 or a trap code.
extern "sysv64" fn table_op(vmctx: *mut u64, op: u64, a: u64, b: u64, c: u64) -> u64 {
    let decoded = pcc::vmctx::TableOp::decode(op);
    let Some(inst) = instance_for(vmctx) else {
        // Refused, in whatever way the operation reports failure.
        return match decoded {
            Some(TableOp::Grow(_)) => u32::MAX as u64,
            Some(TableOp::RefFunc(_) | TableOp::ElemDrop(_)) => 0,
            Some(TableOp::Get(_)) => u64::MAX,
            _ => TrapCode::TableAccessOutOfBounds as u64,
        };
    };
    let result = match decoded {
        Some(op) => table_op_on(&inst, op, a, b, c),
        None => Err(TrapCode::TableAccessOutOfBounds),
    };
    match (result, decoded.map(|o| o.trap_when())) {
        (Ok(v), _) => v,
        (Err(_), Some(pcc::vmctx::TrapWhen::AllOnes)) => u64::MAX,
        (Err(code), _) => code as u64,
    }
}

/// What `op` does to the running instance `inst`: the value it produces
/// (0 for operations that only change tables), or the trap.
fn table_op_on(
    inst: &Instance,
    op: pcc::vmctx::TableOp,
    a: u64,
    b: u64,
    c: u64,
) -> Result<u64, TrapCode> {
    let oob = TrapCode::TableAccessOutOfBounds;
    // Indexes and lengths are i32s: only their low halves count.
    let idx = |v: u64| v as u32 as u64;
    let c = idx(c);
    let fits = |start: u64, len: u64| start.checked_add(c).is_some_and(|e| e <= len);
    let meta = &inst.0.module.0.meta;
    let table = |t: u32| inst.0.tables.get(t as usize).ok_or(oob);
    match op {
        TableOp::Get(t) => {
            let t = table(t)?.0.lock().expect("table");
            let e = *t.elems.get(idx(a) as usize).ok_or(oob)?;
            Ok(handle_of(&t, e))
        }
        TableOp::Set(ti) => {
            let mut t = table(ti)?.0.lock().expect("table");
            let (e, owner) = elem_of(&t, b).ok_or(oob)?;
            *t.elems.get_mut(idx(a) as usize).ok_or(oob)? = e;
            keep_alive(&mut t, owner, inst, ti < meta.num_imported_tables());
            Ok(0)
        }
        TableOp::Fill(ti) => {
            let mut t = table(ti)?.0.lock().expect("table");
            let (a, n) = (idx(a), c);
            if !fits(a, t.desc.len) {
                return Err(oob);
            }
            let (e, owner) = elem_of(&t, b).ok_or(oob)?;
            t.elems[a as usize..(a + n) as usize].fill(e);
            keep_alive(&mut t, owner, inst, ti < meta.num_imported_tables());
            Ok(0)
        }
        TableOp::Grow(ti) => {
            let mut t = table(ti)?.0.lock().expect("table");
            let (old, delta) = (t.desc.len, idx(b));
            let new = old + delta;
            // Capped like a table's initial size, so growth fails rather
            // than aborting the process on allocation.
            let cap = pcc::meta_check::MAX_TABLE_ELEMS;
            if new > t.max.unwrap_or(cap).min(cap) {
                return Ok(u32::MAX as u64);
            }
            let (e, owner) = elem_of(&t, a).ok_or(oob)?;
            // Within the process budget and what the allocator grants, or
            // growth fails (-1) rather than aborting the process.
            if !charge_table_elems(delta) {
                return Ok(u32::MAX as u64);
            }
            if t.elems.try_reserve_exact(delta as usize).is_err() {
                LIVE_TABLE_ELEMS.fetch_sub(delta, std::sync::atomic::Ordering::SeqCst);
                return Ok(u32::MAX as u64);
            }
            t.elems.resize(new as usize, e);
            keep_alive(&mut t, owner, inst, ti < meta.num_imported_tables());
            // The elements may have moved: compiled code reads the descriptor.
            t.desc.elems = t.elems.as_mut_ptr();
            t.desc.len = new;
            Ok(old)
        }
        TableOp::RefFunc(f) => {
            let (e, _) = inst.elem_for(f).map_err(|_| oob)?;
            Ok(func_handle(e))
        }
        TableOp::Copy { dst, src } => {
            let (a, b) = (idx(a), idx(b));
            let (td, ts) = (
                inst.0.tables.get(dst as usize).ok_or(oob)?,
                inst.0.tables.get(src as usize).ok_or(oob)?,
            );
            if Arc::ptr_eq(td, ts) {
                let mut t = td.0.lock().expect("table");
                if !fits(a, t.desc.len) || !fits(b, t.desc.len) {
                    return Err(oob);
                }
                t.elems
                    .copy_within(b as usize..(b + c) as usize, a as usize);
            } else {
                // Lock in address order, so two copies in opposite
                // directions on other threads can't deadlock.
                let (mut d, s) = if Arc::as_ptr(td) < Arc::as_ptr(ts) {
                    let d = td.0.lock().expect("table");
                    (d, ts.0.lock().expect("table"))
                } else {
                    let s = ts.0.lock().expect("table");
                    (td.0.lock().expect("table"), s)
                };
                if !fits(a, d.desc.len) || !fits(b, s.desc.len) {
                    return Err(oob);
                }
                d.elems[a as usize..(a + c) as usize]
                    .copy_from_slice(&s.elems[b as usize..(b + c) as usize]);
                // The copied elements need what kept them alive in `src`.
                for i in &s.keep_alive {
                    if !d.keep_alive.iter().any(|k| Arc::ptr_eq(&k.0, &i.0)) {
                        d.keep_alive.push(i.clone());
                    }
                }
            }
            Ok(0)
        }
        TableOp::Init { seg, table } => {
            let (a, b) = (idx(a), idx(b));
            let t = inst.0.tables.get(table as usize).ok_or(oob)?;
            let dropped = inst
                .0
                .dropped_elems
                .lock()
                .expect("element segments")
                .get(seg as usize)
                .copied()
                .unwrap_or(true);
            let items: &[pcc::ElemItem] = match meta.elems.get(seg as usize) {
                Some(e) if !dropped => &e.items,
                _ => &[],
            };
            if !fits(b, items.len() as u64) {
                return Err(oob);
            }
            let imported = table < meta.num_imported_tables();
            let mut t = t.0.lock().expect("table");
            let mut elems = vec![];
            for item in &items[b as usize..(b + c) as usize] {
                elems.push(inst.item_elem(item, &mut t).map_err(|_| oob)?);
            }
            if !fits(a, t.desc.len) {
                return Err(oob);
            }
            for (k, (e, owner)) in elems.into_iter().enumerate() {
                keep_alive(&mut t, owner, inst, imported);
                t.elems[a as usize + k] = e;
            }
            Ok(0)
        }
        TableOp::ElemDrop(seg) => {
            if let Some(d) = inst
                .0
                .dropped_elems
                .lock()
                .expect("element segments")
                .get_mut(seg as usize)
            {
                *d = true;
            }
            Ok(0)
        }
    }
}

/// Function references as values: every element handed out as a handle,
/// with a weak reference to the instance its code belongs to. A handle
/// keeps nothing alive by itself: writing it into a table makes the table
/// keep the instance (as element segments do), and a handle whose instance
/// is gone resolves to nothing (the table operation traps).
///
/// Compiled code can put any number where a reference goes, and the registry
/// is the process's: a handle is its registry index (low 32 bits, plus one)
/// and a random 32-bit tag (high half) the registry checks, so a module
/// cannot name another instance's functions by counting. A wrong guess
/// traps; one guess in 2^32 succeeds.
#[derive(Default)]
struct FuncHandles {
    index: HashMap<(u64, u64), u64>,
    elems: Vec<(Elem, std::sync::Weak<InstanceInner>, u32)>,
    tags: std::collections::hash_map::RandomState,
}

static FUNC_HANDLES: std::sync::LazyLock<Mutex<FuncHandles>> =
    std::sync::LazyLock::new(Default::default);

/// The handle of a (non-null) function element; 0 for null.
fn func_handle(e: Elem) -> u64 {
    use std::hash::BuildHasher;
    if e.code == 0 {
        return 0;
    }
    let mut h = FUNC_HANDLES.lock().expect("function handles");
    if let Some(&handle) = h.index.get(&(e.code, e.vmctx)) {
        // The same addresses may belong to a newer instance than the one
        // the handle was made for.
        let k = (handle & 0xFFFF_FFFF) as usize;
        if h.elems[k - 1].1.strong_count() > 0 {
            return handle;
        }
    }
    // A live element's vmctx belongs to a live instance.
    let Some(owner) = instance_for(e.vmctx as *const u64) else {
        return 0;
    };
    let owner = Arc::downgrade(&owner.0);
    let k = h.elems.len() as u64 + 1;
    if k > u32::MAX as u64 {
        return 0;
    }
    let tag = h.tags.hash_one(k) as u32;
    h.elems.push((e, owner, tag));
    let handle = ((tag as u64) << 32) | k;
    h.index.insert((e.code, e.vmctx), handle);
    handle
}

/// A table element as a reference value.
fn handle_of(t: &Table, e: Elem) -> u64 {
    match t.elem_ty {
        ValType::FuncRef => func_handle(e),
        _ => e.code,
    }
}

/// The element a reference value stands for in table `t`, and the instance
/// its code needs alive (`None`: not a live handle).
fn elem_of(t: &Table, handle: u64) -> Option<(Elem, Option<Instance>)> {
    let null = Elem {
        code: 0,
        sig: 0,
        vmctx: 0,
    };
    match (t.elem_ty, handle) {
        (_, 0) => Some((null, None)),
        (ValType::FuncRef, handle) => {
            let h = FUNC_HANDLES.lock().expect("function handles");
            let k = ((handle & 0xFFFF_FFFF) as usize).checked_sub(1)?;
            let (e, owner, tag) = h.elems.get(k)?;
            if *tag != (handle >> 32) as u32 {
                return None;
            }
            Some((*e, Some(Instance(owner.upgrade()?))))
        }
        (_, k) => Some((Elem { code: k, ..null }, None)),
    }
}

/// Make table `t` keep `owner` alive if it is not the table's instance.
fn keep_alive(t: &mut Table, owner: Option<Instance>, inst: &Instance, imported: bool) {
    if let Some(owner) = owner {
        let foreign = imported || !Arc::ptr_eq(&owner.0, &inst.0);
        if foreign && !t.keep_alive.iter().any(|i| Arc::ptr_eq(&i.0, &owner.0)) {
            t.keep_alive.push(owner);
        }
    }
}

/// Compiled code's `memory.grow` (vmctx `MEMORY_GROW`).
extern "sysv64" fn memory_grow(vmctx: *mut u64, delta: u64) -> u64 {
    match instance_for(vmctx)
        .as_ref()
        .and_then(|i| i.0.memory.as_ref())
    {
        Some(m) => m.grow(delta).unwrap_or(u64::MAX),
        None => u64::MAX,
    }
}

/// The exception builtins, shims and unwinder run for real, on hand-written
/// machine code (assembled from the listing in each comment) that follows
/// pcc's conventions: frames by `push rbp; mov rbp, rsp`, builtins called
/// through the vmctx with rsp 16-byte aligned.
#[cfg(test)]
mod exn_machine_tests {
    use super::*;
    use pcc::{ExnSite, Export, FuncMeta, Import, TrapSite};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn ty(params: Vec<ValType>, results: Vec<ValType>) -> WasmFuncType {
        WasmFuncType { params, results }
    }

    fn meta(types: Vec<WasmFuncType>) -> Metadata {
        Metadata {
            types,
            ..Default::default()
        }
    }

    /// Add function `name` of type `t` at `[start, end)`, exported.
    fn func(m: &mut Metadata, name: &str, t: u32, start: u32, end: u32) {
        let index = m.num_imported_funcs() + m.funcs.len() as u32;
        m.funcs.push(FuncMeta {
            name: name.into(),
            type_index: t,
            offset: start,
            size: end - start,
        });
        m.exports.push(Export {
            name: name.into(),
            kind: ExportKind::Func,
            index,
        });
    }

    fn site(m: &mut Metadata, func: u32, start: u32, ret: u32, landing: u32) {
        m.exn_sites.push(ExnSite {
            func,
            ret: ret - start,
            landing: landing - start,
        });
    }

    fn ud2(m: &mut Metadata, func: u32, start: u32, at: u32) {
        m.trap_sites.push(TrapSite {
            func,
            offset: at - start,
            code: TrapCode::Unreachable,
        });
    }

    use ValType::{ExnRef, I64};

    /// Module A: tag 0 of type (i64), exported as "tag", and
    /// - f0 `throw42` () -> (): throws tag 0 with payload 42
    /// - f1 `catch` () -> i64: calls f0; landing: exn_landed, exn_catch(tag 0)
    ///   into [rsp], returns (result << 32) + [rsp]; 1 if f0 returned
    /// - f2 `get` () -> exnref: calls f0; landing: returns exn_landed
    /// - f3 `rethrow` (exnref) -> (): throw_ref of its argument, then ud2
    /// - f4 `rethrow_catch` (exnref) -> exnref: calls f3; landing: exn_landed
    /// - f5 `throw_ref_raw` (exnref) -> i64: what throw_ref returns
    /// - f6 `catch_raw` (exnref) -> i64: what exn_catch(tag 0) returns
    /// - f7 `landed_raw` () -> exnref: what exn_landed returns
    fn module_a() -> Module {
        let text = hex(concat!(
            "554889e54883ec1048c704242a0000004c89f731f64889e241ff56280f0b554889e54883ec10e8d5",
            "ffffffb801000000c9c34c89f741ff56484c89f74889c631d24889e141ff565048c1e02048030424",
            "c9c3554889e5e8a5ffffff31c05dc34c89f741ff56485dc3554889e54889fe4c89f741ff56400f0b",
            "554889e5e8e7ffffff31c05dc34c89f741ff56485dc3554889e54889fe4c89f741ff56405dc35548",
            "89e54883ec1048c70424070000004889fe4c89f731d24889e141ff5650c9c3554889e54c89f741ff",
            "56485dc3"
        ));
        let mut m = meta(vec![
            ty(vec![], vec![]),
            ty(vec![I64], vec![]),
            ty(vec![], vec![I64]),
            ty(vec![ExnRef], vec![]),
            ty(vec![ExnRef], vec![ExnRef]),
            ty(vec![], vec![ExnRef]),
            ty(vec![ExnRef], vec![I64]),
        ]);
        func(&mut m, "throw42", 0, 0x00, 0x1e);
        func(&mut m, "catch", 2, 0x1e, 0x52);
        func(&mut m, "get", 5, 0x52, 0x68);
        func(&mut m, "rethrow", 3, 0x68, 0x78);
        func(&mut m, "rethrow_catch", 4, 0x78, 0x8e);
        func(&mut m, "throw_ref_raw", 6, 0x8e, 0x9e);
        func(&mut m, "catch_raw", 6, 0x9e, 0xbf);
        func(&mut m, "landed_raw", 5, 0xbf, 0xcc);
        ud2(&mut m, 0, 0x00, 0x1c);
        site(&mut m, 1, 0x1e, 0x2b, 0x32);
        site(&mut m, 2, 0x52, 0x5b, 0x5f);
        ud2(&mut m, 3, 0x68, 0x76);
        site(&mut m, 4, 0x78, 0x81, 0x85);
        m.tags = vec![1];
        m.exports.push(Export {
            name: "tag".into(),
            kind: ExportKind::Tag,
            index: 0,
        });
        assert_eq!(text.len(), 0xcc);
        Module::from_parts(&text, m).unwrap()
    }

    /// Module B: imports function `a.throw42` and tag `a.tag` (tag 0; its
    /// own tag 1 has the same type), and
    /// - g0 `catch_import` () -> i64: calls import 0 through host_call;
    ///   landing: exn_catch(tag 0) as module A's `catch`; 1000 + host_call's
    ///   result if it returned
    /// - g1 `catch_own` () -> i64: the same with tag 1
    /// - g2 `uncaught_import` () -> i64: the call without a landing
    fn module_b(tag_type: u32) -> Module {
        let text = hex(concat!(
            "554889e54883ec1048c70424070000004c89f731f64889e241ff561805e8030000c9c34c89f741ff",
            "56484c89f74889c631d24889e141ff565048c1e02048030424c9c3554889e54883ec1048c7042407",
            "0000004c89f731f64889e241ff561805e8030000c9c34c89f741ff56484c89f74889c6ba01000000",
            "4889e141ff565048c1e02048030424c9c3554889e54883ec104c89f731f64889e241ff561805e803",
            "0000c9c3"
        ));
        let mut m = meta(vec![
            ty(vec![], vec![]),
            ty(vec![I64], vec![]),
            ty(vec![], vec![I64]),
            ty(vec![ValType::I32], vec![]),
        ]);
        m.imports = vec![
            Import {
                module: "a".into(),
                name: "throw42".into(),
                kind: ImportKind::Func { type_index: 0 },
            },
            Import {
                module: "a".into(),
                name: "tag".into(),
                kind: ImportKind::Tag {
                    type_index: tag_type,
                },
            },
        ];
        func(&mut m, "catch_import", 2, 0x00, 0x43);
        func(&mut m, "catch_own", 2, 0x43, 0x89);
        func(&mut m, "uncaught_import", 2, 0x89, 0xa4);
        site(&mut m, 0, 0x00, 0x1c, 0x23);
        site(&mut m, 1, 0x43, 0x5f, 0x66);
        m.tags = vec![1];
        assert_eq!(text.len(), 0xa4);
        Module::from_parts(&text, m).unwrap()
    }

    fn trap(r: Result<Vec<Val>, RunError>) -> TrapCode {
        match r {
            Err(RunError::Trap(c)) => c,
            other => panic!("expected a trap, got {other:?}"),
        }
    }

    #[test]
    fn throw_lands_catches_and_rethrows_the_same_exception() {
        let a = Instance::new(&module_a(), &Linker::new()).unwrap();
        assert_eq!(a.invoke("catch", &[]).unwrap(), [Val::I64((1 << 32) + 42)]);
        assert_eq!(trap(a.invoke("throw42", &[])), TrapCode::UncaughtException);
        // Nothing of that exception is left for the next call to see.
        assert_eq!(a.invoke("landed_raw", &[]).unwrap(), [Val::ExnRef(None)]);
        let [Val::ExnRef(Some(h))] = a.invoke("get", &[]).unwrap()[..] else {
            panic!("an exnref");
        };
        assert_eq!(
            a.invoke("catch_raw", &[Val::ExnRef(Some(h))]).unwrap(),
            [Val::I64(1)]
        );
        // throw_ref throws the very same object.
        let again = a.invoke("rethrow_catch", &[Val::ExnRef(Some(h))]).unwrap();
        assert_eq!(again, [Val::ExnRef(Some(h))]);
        assert_eq!(
            trap(a.invoke("rethrow", &[Val::ExnRef(Some(h))])),
            TrapCode::UncaughtException
        );
        assert_eq!(a.invoke("catch", &[]).unwrap(), [Val::I64((1 << 32) + 42)]);
    }

    #[test]
    fn bad_exception_references_are_refused() {
        let a = Instance::new(&module_a(), &Linker::new()).unwrap();
        let raw = |f: &str, v: Option<u64>| a.invoke(f, &[Val::ExnRef(v)]).unwrap();
        let code = |c: TrapCode| [Val::I64(c as u32 as i64)];
        assert_eq!(raw("throw_ref_raw", None), code(TrapCode::NullExnRef));
        let forged = [1, 0xFFFF_FFFF, (0x5555 << 32) | 1, u64::MAX];
        for bad in forged {
            assert_eq!(raw("throw_ref_raw", Some(bad)), code(TrapCode::HostTrap));
            assert_eq!(raw("catch_raw", Some(bad)), [Val::I64(0)]);
        }
        assert_eq!(raw("catch_raw", None), [Val::I64(0)]);
        assert_eq!(
            trap(a.invoke("rethrow", &[Val::ExnRef(Some(forged[0]))])),
            TrapCode::Unreachable
        );
    }

    #[test]
    fn exceptions_cross_instances_and_tags_are_identities() {
        let a = Instance::new(&module_a(), &Linker::new()).unwrap();
        let mut linker = Linker::new();
        linker.instance("a", &a);
        let b = Instance::new(&module_b(1), &linker).unwrap();
        // Thrown in A's entry, uncaught there, caught in B's frame.
        assert_eq!(
            b.invoke("catch_import", &[]).unwrap(),
            [Val::I64((1 << 32) + 42)]
        );
        // B's own tag of the same type is another tag: no match.
        assert_eq!(b.invoke("catch_own", &[]).unwrap(), [Val::I64(7)]);
        assert_eq!(
            trap(b.invoke("uncaught_import", &[])),
            TrapCode::UncaughtException
        );
        assert_eq!(a.invoke("landed_raw", &[]).unwrap(), [Val::ExnRef(None)]);
        assert_eq!(
            b.invoke("catch_import", &[]).unwrap(),
            [Val::I64((1 << 32) + 42)]
        );
        // A host function's failure is not an exception to catch: host_call
        // returns the trap code (to code that would trap on it) instead.
        let mut linker = Linker::new();
        linker.func("a", "throw42", ty(vec![], vec![]), |_| {
            Err(TrapCode::UncaughtException)
        });
        linker.instance("b", &a);
        linker.defs.insert(
            ("a".into(), "tag".into()),
            linker.defs[&("b".to_string(), "tag".to_string())].clone(),
        );
        let b2 = Instance::new(&module_b(1), &linker).unwrap();
        let host_trap = 1000 + TrapCode::HostTrap as i64;
        assert_eq!(
            b2.invoke("catch_import", &[]).unwrap(),
            [Val::I64(host_trap)]
        );
    }

    #[test]
    fn an_exception_a_host_function_swallowed_stays_swallowed() {
        let a = Instance::new(&module_a(), &Linker::new()).unwrap();
        let mut linker = Linker::new();
        linker.instance("a", &a);
        let inner = a.clone();
        // A host function calls into wasm that throws, and carries on.
        linker.func("a", "throw42", ty(vec![], vec![]), move |_| {
            let r = inner.invoke("throw42", &[]);
            assert!(matches!(
                r,
                Err(RunError::Trap(TrapCode::UncaughtException))
            ));
            Ok(vec![])
        });
        let b = Instance::new(&module_b(1), &linker).unwrap();
        // host_call returned 0: nothing landed in B's frame.
        assert_eq!(b.invoke("catch_import", &[]).unwrap(), [Val::I64(1000)]);
        assert_eq!(b.invoke("uncaught_import", &[]).unwrap(), [Val::I64(1000)]);
        assert_eq!(a.invoke("landed_raw", &[]).unwrap(), [Val::ExnRef(None)]);
    }

    /// Review (issue 13): `exn_landed` answers with the thread's last landed
    /// exception whatever instance asks, and nested entries keep it. An
    /// instance called after another one caught a (private-tag) exception
    /// gets that exception's handle, though it never passed through it:
    /// it can rethrow the victim's private exception, or hand it on.
    #[test]
    fn exn_landed_does_not_leak_another_instances_exception() {
        let victim = Instance::new(&module_a(), &Linker::new()).unwrap();
        let attacker = Instance::new(&module_a(), &Linker::new()).unwrap();
        let mut linker = Linker::new();
        linker.instance("a", &victim);
        let seen = Arc::new(Mutex::new(None));
        let (v, at, out) = (victim.clone(), attacker.clone(), seen.clone());
        linker.func("a", "throw42", ty(vec![], vec![]), move |_| {
            // The victim catches its own exception (its tag, not the
            // attacker's) ...
            let [Val::ExnRef(Some(h))] = v.invoke("get", &[]).unwrap()[..] else {
                panic!("an exnref");
            };
            // ... then the attacker, called next, asks for "its" landing.
            let got = at.invoke("landed_raw", &[]).unwrap();
            *out.lock().unwrap() = Some((h, got));
            Ok(vec![])
        });
        let b = Instance::new(&module_b(1), &linker).unwrap();
        assert_eq!(b.invoke("catch_import", &[]).unwrap(), [Val::I64(1000)]);
        let (h, got) = seen.lock().unwrap().take().expect("the host function ran");
        assert_ne!(
            got,
            [Val::ExnRef(Some(h))],
            "the attacker instance named the victim's exception {h:#x}"
        );
    }

    #[test]
    fn tag_imports_need_an_equal_type() {
        let a = Instance::new(&module_a(), &Linker::new()).unwrap();
        let mut linker = Linker::new();
        linker.instance("a", &a);
        // Type 3 is (i32), A's tag is (i64).
        match Instance::new(&module_b(3), &linker) {
            Err(e @ InstantiateError::IncompatibleImport { .. }) => {
                assert!(e.to_string().contains("incompatible import type"), "{e}")
            }
            other => panic!("expected an incompatible import, got {:?}", other.err()),
        }
        // A function where a tag is expected, too.
        let mut linker = Linker::new();
        linker.instance("a", &a);
        let f = linker.defs[&("a".to_string(), "throw42".to_string())].clone();
        linker.defs.insert(("a".into(), "tag".into()), f);
        assert!(matches!(
            Instance::new(&module_b(1), &linker),
            Err(InstantiateError::IncompatibleImport { .. })
        ));
    }
}
