//! A differential fuzzer: wasm-smith generates modules for what pccc
//! supports (`gen`), wasmi runs them as the reference (`reference`), pccc
//! compiles, verifies and runs them under both heap strategies (`subject`),
//! and every invocation is compared (`compare`) and classed (`outcome`).
//!
//! Shared by the short seeded run in `tests/fuzz_differential.rs` and the
//! long one in `examples/fuzz.rs`; a module is named by (seed, index).
//!
//! `Mode::Exceptions` generates modules with exception handling and tail
//! calls, which wasmi does not run: there the first heap strategy is the
//! second's reference (`compare::compare_strategies`), and a false reject
//! or crash in either is a finding as always.

#![allow(dead_code)]

pub mod compare;
pub mod gen;
pub mod known;
pub mod outcome;
pub mod reference;
pub mod subject;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use compare::{Exec, Value};
use outcome::{Class, Finding, Tally};
use pcc::ExportKind;
use pcc::HeapStrategy;
use reference::Reference;
use wasmi::ValType;

/// Argument vectors each exported function is called with.
pub const ARG_VECTORS: u64 = 3;
/// Exported functions called per module, at most.
pub const MAX_FUNCS_CALLED: usize = 10;
/// pccc's deadline for one module under one strategy: compile, verify and
/// every call. Past it the module is a timeout and its thread is left
/// behind (it cannot be stopped).
pub const DEADLINE: Duration = Duration::from_secs(30);
/// Findings kept with their module bytes, per (strategy, class).
pub const KEEP_WASM: usize = 25;

/// Values that sit on edges (signs, overflow, conversion limits, NaNs);
/// an argument is one of them half the time, random bits otherwise.
const I32S: &[i32] = &[0, 1, -1, i32::MIN, i32::MAX, 31, 32, 65535, 65536];
const I64S: &[i64] = &[
    0,
    1,
    -1,
    i64::MIN,
    i64::MAX,
    63,
    64,
    1 << 32,
    u32::MAX as i64,
];
const F32S: &[u32] = &[
    0x0000_0000,
    0x8000_0000,
    0x3f80_0000,
    0xbfc0_0000,
    0x7fc0_0000,
    0xffc0_0000,
    0x7fa0_0000,
    0x7f80_0000,
    0xff80_0000,
    0x0000_0001,
    0x7f7f_ffff,
    0x4f00_0000,
    0xcf00_0000,
    0x4f80_0000,
    0x5f00_0000,
    0xdf00_0000,
];
const F64S: &[u64] = &[
    0x0000_0000_0000_0000,
    0x8000_0000_0000_0000,
    0x3ff0_0000_0000_0000,
    0xbff8_0000_0000_0000,
    0x7ff8_0000_0000_0000,
    0xfff8_0000_0000_0000,
    0x7ff4_0000_0000_0000,
    0x7ff0_0000_0000_0000,
    0xfff0_0000_0000_0000,
    0x0000_0000_0000_0001,
    0x7fef_ffff_ffff_ffff,
    0x41e0_0000_0000_0000,
    0xc1e0_0000_0000_0000,
    0x41f0_0000_0000_0000,
    0x43e0_0000_0000_0000,
    0xc3e0_0000_0000_0000,
];

fn arg(rng: &mut gen::Rng, ty: ValType) -> Value {
    let edge = rng.below(2) == 0;
    let mut pick = |n: usize| rng.below(n as u64) as usize;
    match ty {
        ValType::I32 if edge => Value::I32(I32S[pick(I32S.len())]),
        ValType::I64 if edge => Value::I64(I64S[pick(I64S.len())]),
        ValType::F32 if edge => Value::F32(F32S[pick(F32S.len())]),
        ValType::F64 if edge => Value::F64(F64S[pick(F64S.len())]),
        ValType::I32 => Value::I32(rng.next() as i32),
        ValType::I64 => Value::I64(rng.next() as i64),
        ValType::F32 => Value::F32(rng.next() as u32),
        ValType::F64 => Value::F64(rng.next()),
        ValType::FuncRef => Value::FuncRef { null: true },
        _ => Value::ExternRef { null: true },
    }
}

/// The calls made on module `index`: up to `MAX_FUNCS_CALLED` exported
/// functions, each with `ARG_VECTORS` seeded argument vectors.
pub fn calls(seed: u64, index: u64, module: &wasmi::Module) -> Vec<(String, Vec<Value>)> {
    let mut rng = gen::Rng::new(seed ^ 0x5eed_a5a5, index);
    let mut out = vec![];
    for f in Reference::exports(module)
        .into_iter()
        .take(MAX_FUNCS_CALLED)
    {
        for _ in 0..ARG_VECTORS {
            let args = f.params.iter().map(|t| arg(&mut rng, *t)).collect();
            out.push((f.name.clone(), args));
        }
    }
    out
}

/// What a run generates and what judges it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// WebAssembly 2.0 without SIMD, against wasmi.
    Differential,
    /// With exception handling and tail calls; the strategies against each
    /// other.
    Exceptions,
}

/// The calls made on module `index` of an exceptions run: as `calls`, with
/// the exports and their types from pccc's frontend (its metadata). Functions
/// with an exnref or v128 parameter are left out (no such argument to make).
pub fn calls_from_meta(seed: u64, index: u64, meta: &pcc::Metadata) -> Vec<(String, Vec<Value>)> {
    let mut rng = gen::Rng::new(seed ^ 0x5eed_a5a5, index);
    let mut out = vec![];
    let exports = meta.exports.iter().filter(|e| e.kind == ExportKind::Func);
    for e in exports.take(MAX_FUNCS_CALLED) {
        let Some(ty) = meta.func_type(e.index) else {
            continue;
        };
        let params: Option<Vec<ValType>> = ty
            .params
            .iter()
            .map(|t| match t {
                pcc::ValType::I32 => Some(ValType::I32),
                pcc::ValType::I64 => Some(ValType::I64),
                pcc::ValType::F32 => Some(ValType::F32),
                pcc::ValType::F64 => Some(ValType::F64),
                pcc::ValType::FuncRef => Some(ValType::FuncRef),
                pcc::ValType::ExternRef => Some(ValType::ExternRef),
                pcc::ValType::V128 | pcc::ValType::ExnRef => None,
            })
            .collect();
        let Some(params) = params else { continue };
        for _ in 0..ARG_VECTORS {
            let args = params.iter().map(|t| arg(&mut rng, *t)).collect();
            out.push((e.name.clone(), args));
        }
    }
    out
}

/// Which of throw, throw_ref and try_table `wasm`'s code uses.
fn exception_ops(wasm: &[u8]) -> Vec<&'static str> {
    use wasmparser::{Operator as O, Parser, Payload};
    let mut seen = [false; 3];
    for payload in Parser::new(0).parse_all(wasm).flatten() {
        let Payload::CodeSectionEntry(body) = payload else {
            continue;
        };
        let Ok(mut ops) = body.get_operators_reader() else {
            continue;
        };
        while let Ok(op) = ops.read() {
            match op {
                O::Throw { .. } => seen[0] = true,
                O::ThrowRef => seen[1] = true,
                O::TryTable { .. } => seen[2] = true,
                _ => {}
            }
        }
    }
    ["throw", "throw_ref", "try_table"]
        .into_iter()
        .zip(seen)
        .filter_map(|(n, s)| s.then_some(n))
        .collect()
}

/// The worst of the calls' classes (the first call of that class), with
/// where it happened.
fn worst(
    calls: &[(String, Vec<Value>)],
    classes: impl Iterator<Item = (Class, String)>,
) -> (Class, String) {
    let mut worst = (Class::Agree, String::new());
    for ((name, args), (class, detail)) in calls.iter().zip(classes) {
        if class > worst.0 {
            worst = (class, format!("{detail}; in {name}({args:x?})"));
        }
    }
    worst
}

/// What one reference invocation did, in a word (`exhausted`: its words
/// for running out).
fn describe<T: std::fmt::Debug>(e: &Exec<T>, exhausted: &str) -> String {
    match e {
        Exec::Values(_) => "returned".to_string(),
        Exec::Trap(t) => format!("trap {t:?}"),
        Exec::Exhausted => exhausted.to_string(),
        Exec::Error(e) => format!("error: {}", signature(e)),
    }
}

/// Judge module `index` of an exceptions run (see `Mode::Exceptions`).
pub fn judge_exceptions(
    seed: u64,
    index: u64,
    wasm: &[u8],
    strategies: &[HeapStrategy],
) -> ModuleResult {
    let mut result = ModuleResult::new(wasm);
    // How much exception handling the module has, for the report.
    for op in exception_ops(wasm) {
        result.reference.push(format!("module with {op}"));
    }
    let calls = match frontend::translate(wasm) {
        Ok(ir) => calls_from_meta(seed, index, &ir.meta),
        // pccc refuses it: each strategy's compile says how.
        Err(_) => vec![],
    };
    let mut first: Option<Vec<Exec<pcc::TrapCode>>> = None;
    for h in strategies {
        let verdict = match pccc(wasm, *h, &calls) {
            Err(refusal) => refusal,
            Ok(got) => {
                result.invocations += got.len() as u64;
                match &first {
                    None => {
                        // Only a crash is judged without a second opinion.
                        let verdict = worst(
                            &calls,
                            got.iter().map(|s| match s {
                                Exec::Error(e) => (Class::Crash, e.clone()),
                                _ => (Class::Agree, String::new()),
                            }),
                        );
                        result
                            .reference
                            .extend(got.iter().map(|e| describe(e, "out of time")));
                        first = Some(got);
                        verdict
                    }
                    Some(f) => worst(
                        &calls,
                        f.iter()
                            .zip(&got)
                            .map(|(r, s)| compare::compare_strategies(r, s)),
                    ),
                }
            }
        };
        result.per_strategy.push((h.name(), verdict.0, verdict.1));
    }
    result
}

/// pccc threads left running past their deadline.
pub static LEFT_BEHIND: AtomicUsize = AtomicUsize::new(0);

/// pccc on one module under one strategy, in a thread of its own so that a
/// hang is a timeout: the module's class if it did not run, or each call's
/// outcome.
fn pccc(
    wasm: &[u8],
    heap: HeapStrategy,
    calls: &[(String, Vec<Value>)],
) -> Result<Vec<Exec<pcc::TrapCode>>, (Class, String)> {
    let (tx, rx) = mpsc::channel();
    let (wasm, calls) = (wasm.to_vec(), calls.to_vec());
    std::thread::Builder::new()
        .name("pccc".into())
        .spawn(move || {
            let out = subject::prepare(&wasm, heap).map(|m| {
                calls
                    .iter()
                    .map(|(name, args)| subject::call(&m, name, args))
                    .collect()
            });
            let _ = tx.send(out);
        })
        .expect("spawn");
    rx.recv_timeout(DEADLINE).unwrap_or_else(|_| {
        LEFT_BEHIND.fetch_add(1, Ordering::Relaxed);
        Err((Class::Timeout, format!("no answer within {DEADLINE:?}")))
    })
}

/// The result of one module: its class and detail per strategy.
pub struct ModuleResult {
    pub wasm: Vec<u8>,
    pub invocations: u64,
    /// What each reference invocation did, in a word.
    pub reference: Vec<String>,
    pub per_strategy: Vec<(&'static str, Class, String)>,
}

impl ModuleResult {
    fn new(wasm: &[u8]) -> ModuleResult {
        ModuleResult {
            wasm: wasm.to_vec(),
            invocations: 0,
            reference: vec![],
            per_strategy: vec![],
        }
    }
}

/// Judge one module (its bytes and whether it canonicalises NaNs) whose
/// calls are `calls` (None: plan them from the seed).
pub fn judge(
    reference: &Reference,
    wasm: &[u8],
    canonical_nans: bool,
    strategies: &[HeapStrategy],
    plan: impl FnOnce(&wasmi::Module) -> Vec<(String, Vec<Value>)>,
) -> ModuleResult {
    let mut result = ModuleResult::new(wasm);
    let module = match reference.load(wasm) {
        Ok(m) => m,
        Err(e) => {
            for h in strategies {
                let detail = format!("wasmi rejects it: {e}");
                result.per_strategy.push((h.name(), Class::Skipped, detail));
            }
            return result;
        }
    };
    let calls = plan(&module);
    let expected: Vec<_> = calls
        .iter()
        .map(|(name, args)| reference.call(&module, name, args))
        .collect();
    result.reference = expected
        .iter()
        .map(|e| describe(e, "out of fuel"))
        .collect();
    for h in strategies {
        let verdict = match pccc(wasm, *h, &calls) {
            Err(refusal) => refusal,
            Ok(got) => {
                result.invocations += got.len() as u64;
                worst(
                    &calls,
                    expected
                        .iter()
                        .zip(&got)
                        .map(|(r, s)| compare::compare(r, s, canonical_nans)),
                )
            }
        };
        result.per_strategy.push((h.name(), verdict.0, verdict.1));
    }
    result
}

/// Generate and judge module `index` of the run seeded `seed`.
pub fn run_module(
    reference: &Reference,
    mode: Mode,
    seed: u64,
    index: u64,
    strategies: &[HeapStrategy],
) -> ModuleResult {
    match gen::module_with(seed, index, mode == Mode::Exceptions) {
        Ok((wasm, _)) if mode == Mode::Exceptions => {
            judge_exceptions(seed, index, &wasm, strategies)
        }
        Ok((wasm, variant)) => judge(reference, &wasm, variant.canonical_nans, strategies, |m| {
            calls(seed, index, m)
        }),
        Err(e) => ModuleResult {
            wasm: vec![],
            invocations: 0,
            reference: vec![],
            per_strategy: strategies
                .iter()
                .map(|h| (h.name(), Class::Skipped, format!("generator: {e}")))
                .collect(),
        },
    }
}

/// Print each module's index before it runs (`FUZZ_TRACE=1`): a fault
/// that kills the process (an abort) cannot be counted, but is named.
fn trace(index: u64) {
    if std::env::var_os("FUZZ_TRACE").is_some() {
        eprintln!("module {index}");
    }
}

/// Which modules a run judges: `first..first + count` of `seed`, made
/// and judged as `mode` says.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub mode: Mode,
    pub seed: u64,
    pub first: u64,
    pub count: u64,
}

/// A run over `span`'s modules on `threads` workers, until `stop_at` if
/// given; `progress` sees the tally after each module.
pub fn campaign(
    span: Span,
    threads: usize,
    strategies: &[HeapStrategy],
    stop_at: Option<Instant>,
    progress: &(dyn Fn(&Tally) + Sync),
) -> Tally {
    let Span {
        mode,
        seed,
        first,
        count,
    } = span;
    let next = AtomicU64::new(first);
    let tally = Mutex::new(Tally::default());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                let reference = Reference::default();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= first + count || stop_at.is_some_and(|t| Instant::now() >= t) {
                        break;
                    }
                    trace(index);
                    let r = run_module(&reference, mode, seed, index, strategies);
                    let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
                    record(&mut t, index, r);
                    progress(&t);
                }
            });
        }
    });
    tally.into_inner().unwrap_or_else(|p| p.into_inner())
}

fn record(t: &mut Tally, index: u64, r: ModuleResult) {
    t.modules += 1;
    t.invocations += r.invocations;
    for what in r.reference {
        *t.reference.entry(what).or_default() += 1;
    }
    for (strategy, class, detail) in r.per_strategy {
        t.add(strategy, class);
        if matches!(class, Class::Skipped | Class::Unsupported) {
            *t.notes
                .entry((strategy, class, signature(&detail)))
                .or_default() += 1;
        }
        if class.is_finding() {
            let kept = t
                .findings
                .iter()
                .filter(|f| f.strategy == strategy && f.class == class && !f.wasm.is_empty())
                .count();
            let wasm = if kept < KEEP_WASM {
                r.wasm.clone()
            } else {
                vec![]
            };
            t.findings.push(Finding {
                index,
                strategy,
                class,
                detail,
                wasm,
            });
        }
    }
}

/// A finding's cause (its detail without where it happened) with its
/// numbers and quoted instructions blanked, to group findings that are
/// likely one bug.
pub fn signature(detail: &str) -> String {
    let cause = detail.split("; in ").next().unwrap_or_default();
    let mut out = String::new();
    let mut in_num = false;
    let unquoted = cause
        .split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { "…" } else { part });
    for c in unquoted.collect::<Vec<_>>().join("`").chars() {
        let digit = c.is_ascii_hexdigit() && (in_num || c.is_ascii_digit());
        if digit || (in_num && c == 'x') {
            if !in_num {
                out.push('#');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out
}
