//! The `pccc` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use backend::CompileOptions;
use clap::{Parser, Subcommand, ValueEnum};
use pcc::{ExportKind, HeapStrategy, ValType};
use pccc::driver::{self, Input};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (for verify: every artifact is accepted)
  1  the validator rejected an artifact (each failure on stderr: function, offset,
     instruction, reason, obligation and counterexample)
  2  bad input or usage (malformed or unsupported module, corrupted artifact, unknown
     export, bad arguments)
  3  the invoked function trapped (`trap: <kind>` on stderr)
A WASI command run without --invoke exits with the status it passed to proc_exit
(0 if `_start` returns).

`-` as an input reads stdin, as an output writes stdout. Options may come before or
after the positional arguments; everything after `--` is positional.
`pccc <COMMAND> --help` shows an example of each command.";

#[derive(Parser)]
#[command(
    name = "pccc",
    version,
    about = "Compile WebAssembly to x86-64 machine code that carries proof facts, and run it",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum HeapArg {
    /// 4 GiB reservation + 2 GiB guard; no run-time checks for small static offsets.
    Static,
    /// 256 MiB reservation, no guard; every access compared with the memory's
    /// current size first. For hosts that can't reserve 6 GiB per instance.
    BoundsChecked,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    /// One SMT-LIB2 script; `z3 FILE` answers unsat per proved obligation.
    Smtlib,
    /// One line per obligation: its name, function, instruction and condition.
    Text,
    /// A JSON array, one object per obligation.
    Json,
}

/// The help of `--heap` wherever the input may be a module or an artifact.
const HEAP_HELP: &str = "Heap strategy when compiling a .wasm/.wat input [default: static]; \
                         refused for an artifact, which keeps the one it was compiled with";

#[derive(Subcommand)]
enum Command {
    /// Compile a .wasm or .wat module to an ELF artifact.
    #[command(after_help = "Example:\n  pccc compile fib.wat -o fib.o --verify")]
    Compile {
        /// Input module (.wasm binary or .wat text; `-`: stdin).
        input: PathBuf,
        /// Where to write the artifact, an ELF64 relocatable object (`-`: stdout).
        #[arg(short, long)]
        output: PathBuf,
        /// Heap sandboxing strategy.
        #[arg(long, value_enum, default_value = "static")]
        heap: HeapArg,
        /// Validate the machine code and write the artifact only if it is
        /// accepted (recorded in the verification cache: `pccc run` of it
        /// then does not verify again).
        #[arg(long)]
        verify: bool,
        /// Do not record the verification in the cache.
        #[arg(long)]
        no_cache: bool,
    },
    /// Prove artifacts' heap accesses sandboxed: exit 0 accepted, 1 rejected, 2 bad input.
    #[command(
        after_help = "Examples:\n  pccc verify fib.o\n  pccc verify build/artifacts/ --json > verify.jsonl"
    )]
    Verify {
        /// Artifacts (`-`: stdin), or directories to search for `.o` files.
        /// Several: verified in parallel (each once), a line each and a summary.
        #[arg(required = true)]
        artifacts: Vec<PathBuf>,
        /// JSON on stdout instead of the human summary (one object per
        /// artifact, a line each when there are several).
        #[arg(long)]
        json: bool,
        /// Threads for several artifacts: 0 (default) is one per CPU; more
        /// is capped at the number of CPUs.
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// For each rejected heap access, the instructions before it with the
        /// facts of their registers, and the chain that produced its index.
        #[arg(long)]
        explain: bool,
        /// Do not record accepted artifacts in the verification cache.
        #[arg(long)]
        no_cache: bool,
    },
    /// Run an exported function (--invoke) or a WASI command's `_start`.
    ///
    /// The input is a module (.wasm/.wat, compiled in memory) or an artifact;
    /// either is verified before it runs, but for an artifact whose exact
    /// bytes this pccc accepted before (the verification cache; --no-cache
    /// verifies anyway).
    #[command(after_help = "Examples:\n  pccc run fib.wat --invoke fib 20\n  \
                            pccc run app.o --dir data -- --verbose input.txt\n  \
                            pccc run nextpnr.o --dir . --dir /share::share -- --json top.json\n  \
                            pccc run icepack.wasm --argv0 iceunpack --dir . -- chip.bin chip.asc")]
    Run {
        /// Module (.wasm/.wat) or artifact (.o) to run (`-`: stdin).
        input: PathBuf,
        /// With --invoke: one per parameter, integers (decimal or 0x-hex) or
        /// floats (1.5, -2e3, inf, nan). Without: the WASI program's arguments.
        /// Negative numbers (-5, -0x10, -inf) go anywhere; other values
        /// that start with `-` (a WASI program's options) after `--`.
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
        /// Name of the exported function to call. Without it, the module runs
        /// as a WASI command (its `_start`).
        #[arg(long)]
        invoke: Option<String>,
        /// Preopen a host directory for WASI: DIR (seen as `.`) or GUEST::DIR.
        #[arg(long = "dir", value_name = "DIR")]
        dirs: Vec<String>,
        /// A WASI environment variable, KEY=VALUE.
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
        /// The WASI program's argv[0] (default: the input's file name), for
        /// programs that act on the name they are run by.
        #[arg(long, value_name = "NAME")]
        argv0: Option<String>,
        #[arg(long, value_enum, help = HEAP_HELP)]
        heap: Option<HeapArg>,
        /// Run without validating first (prints a warning).
        #[arg(long)]
        unverified: bool,
        /// Verify even if the verification cache holds this artifact, and
        /// record nothing.
        #[arg(long)]
        no_cache: bool,
    },
    /// Every heap-access proof obligation, as SMT-LIB2, text or JSON.
    ///
    /// Named by function and access (`f<function>.a<access>`), stable across
    /// compiler versions.
    #[command(after_help = "Example:\n  pccc obligations fib.o > fib.smt2 && z3 fib.smt2")]
    Obligations {
        /// Module (.wasm/.wat, compiled in memory) or artifact (.o); `-`: stdin.
        input: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "smtlib")]
        format: FormatArg,
        #[arg(long, value_enum, help = HEAP_HELP)]
        heap: Option<HeapArg>,
    },
    /// Edit an artifact by hand: dump it as JSON and build it back.
    ///
    /// The JSON holds the metadata, facts, symbols and code (as hex with a
    /// disassembly). For tests and for reviewing the validator with code the
    /// compiler would never write.
    #[command(
        subcommand,
        after_help = "Example:\n  pccc artifact dump fib.o -o fib.json && pccc artifact build fib.json -o fib2.o"
    )]
    Artifact(ArtifactCommand),
    /// Disassemble an artifact (or a module compiled in memory) with its facts.
    #[command(after_help = "Example:\n  pccc disasm fib.wat --heap bounds-checked")]
    Disasm {
        /// Module (.wasm/.wat, compiled in memory) or artifact (.o); `-`: stdin.
        input: PathBuf,
        #[arg(long, value_enum, help = HEAP_HELP)]
        heap: Option<HeapArg>,
    },
}

#[derive(Subcommand)]
enum ArtifactCommand {
    /// Write an artifact as JSON (see README.md, "Artifact assembler").
    #[command(after_help = "Example:\n  pccc artifact dump fib.o -o fib.json")]
    Dump {
        /// The artifact (`-`: stdin).
        artifact: PathBuf,
        /// Where to write the JSON (`-` or absent: stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Build an artifact from JSON; nothing is validated (use `pccc verify`).
    #[command(
        after_help = "Example:\n  pccc artifact build fib.json -o fib.o && pccc verify fib.o"
    )]
    Build {
        /// The JSON (`-`: stdin).
        json: PathBuf,
        /// Where to write the artifact (`-`: stdout).
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// Failures that map to an exit code other than 2.
#[derive(Debug, thiserror::Error)]
enum Outcome {
    #[error("trap: {0}")]
    Trap(String),
    #[error("{0}")]
    Rejected(String),
    /// A WASI program's exit status.
    #[error("exit status {0}")]
    Exit(i32),
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(shield_negative_values(std::env::args_os()));
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<Outcome>() {
                Some(Outcome::Trap(_)) => {
                    eprintln!("{e}");
                    return ExitCode::from(3);
                }
                Some(Outcome::Rejected(text)) => {
                    if !text.is_empty() {
                        eprintln!("{text}");
                    }
                    return ExitCode::from(1);
                }
                Some(Outcome::Exit(status)) => return ExitCode::from(*status as u8),
                None => {}
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn options(heap: HeapArg) -> CompileOptions {
    let heap = match heap {
        HeapArg::Static => HeapStrategy::DEFAULT_STATIC,
        HeapArg::BoundsChecked => HeapStrategy::DEFAULT_BOUNDS_CHECKED,
    };
    CompileOptions::with_heap(heap)
}

/// `input` as an artifact: read (`-`: stdin), compiled in memory if it is a
/// module, parsed. Every error names the input. `--heap` only means something
/// when compiling: for an artifact it is refused rather than ignored.
fn load_artifact(input: &Path, heap: Option<HeapArg>) -> Result<(Vec<u8>, pcc::ArtifactFile)> {
    load_artifact_with(input, heap, Facts::Artifact)
}

/// Which claims `load_artifact_with` reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Facts {
    /// Those of the artifact (a module compiles to what `compile` writes).
    Artifact,
    /// None: `.pcc.facts` is not read (running unverified).
    None,
    /// A module compiles with every claim the backend makes (disasm).
    All,
}

/// `load_artifact`, with the claims `facts` says.
fn load_artifact_with(
    input: &Path,
    heap: Option<HeapArg>,
    facts: Facts,
) -> Result<(Vec<u8>, pcc::ArtifactFile)> {
    let (bytes, _) = artifact_bytes(input, heap, facts)?;
    let art = parse_artifact(&bytes, facts, input)?;
    Ok((bytes, art))
}

/// The artifact's bytes (compiled in memory, with the claims `facts` says,
/// if `input` is a module), and whether they were compiled here.
fn artifact_bytes(input: &Path, heap: Option<HeapArg>, facts: Facts) -> Result<(Vec<u8>, bool)> {
    let name = driver::display_name(input);
    Ok(match driver::load_input(input)? {
        Input::Artifact(bytes) => {
            if let Some(h) = heap {
                let h = h.to_possible_value().map(|v| v.get_name().to_string());
                bail!(
                    "{name}: --heap {} applies when compiling a .wasm/.wat input; this is an \
                     artifact, which keeps the heap strategy it was compiled with (drop --heap)",
                    h.unwrap_or_default()
                );
            }
            (bytes, false)
        }
        Input::Wasm(wasm) => {
            let mut opts = options(heap.unwrap_or(HeapArg::Static));
            opts.all_facts = facts == Facts::All;
            let elf = driver::compile_bytes(&wasm, &opts)
                .with_context(|| format!("cannot compile {name}"))?
                .to_elf();
            (elf, true)
        }
    })
}

fn parse_artifact(bytes: &[u8], facts: Facts, input: &Path) -> Result<pcc::ArtifactFile> {
    let art = if facts != Facts::None {
        driver::parse_artifact(bytes)
    } else {
        driver::parse_artifact_code(bytes)
    };
    art.with_context(|| driver::display_name(input))
}

/// The verification cache, unless `--no-cache`; a cache that cannot be
/// used is a warning (verification goes on without it).
fn verify_cache(no_cache: bool) -> Option<pccc::cache::VerifyCache> {
    if no_cache {
        return None;
    }
    pccc::cache::VerifyCache::open_default()
        .map_err(|e| eprintln!("warning: verification cache not used: {e}"))
        .ok()
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Compile {
            input,
            output,
            heap,
            verify,
            no_cache,
        } => {
            let name = driver::display_name(&input);
            let Input::Wasm(wasm) = driver::load_input(&input)? else {
                bail!("{name} is already a compiled artifact");
            };
            let artifact = driver::compile_bytes(&wasm, &options(heap))
                .with_context(|| format!("cannot compile {name}"))?;
            let elf = artifact.to_elf();
            if verify {
                let report = validator::verify(&elf)
                    .with_context(|| format!("validating the artifact of {name}"))?;
                if !report.accepted() {
                    return Err(Outcome::Rejected(rejection(&report, &name, false)).into());
                }
                eprintln!("{}", summary(&report));
                if let Some(c) = verify_cache(no_cache) {
                    c.record_or_warn(&elf);
                }
            }
            write_output(Some(&output), &elf)
        }
        Command::Verify {
            artifacts,
            json,
            jobs,
            explain,
            no_cache,
        } => verify(&artifacts, json, jobs, explain, no_cache),
        Command::Obligations {
            input,
            format,
            heap,
        } => {
            let (_, art) = load_artifact(&input, heap)?;
            let format = match format {
                FormatArg::Smtlib => pccc::obligations::Format::Smtlib,
                FormatArg::Text => pccc::obligations::Format::Text,
                FormatArg::Json => pccc::obligations::Format::Json,
            };
            let (out, report) = pccc::obligations::render(&art, format);
            print!("{out}");
            if !report.accepted() {
                let name = driver::display_name(&input);
                return Err(Outcome::Rejected(rejection(&report, &name, false)).into());
            }
            Ok(())
        }
        Command::Artifact(cmd) => artifact_command(cmd),
        Command::Disasm { input, heap } => {
            let (_, art) = load_artifact_with(&input, heap, Facts::All)?;
            print!("{}", pccc::disasm::render(&art));
            Ok(())
        }
        Command::Run {
            input,
            invoke,
            args,
            dirs,
            env,
            argv0,
            heap,
            unverified,
            no_cache,
        } => {
            let args: Vec<String> = args.iter().map(|a| unshield(a).to_string()).collect();
            let (bytes, compiled) = artifact_bytes(&input, heap, Facts::Artifact)?;
            // An artifact file may have been verified before; a module
            // compiled here has just been made, and is not cached.
            let cache = (!unverified && !compiled)
                .then(|| verify_cache(no_cache))
                .flatten();
            let cached = cache.as_ref().is_some_and(|c| c.contains(&bytes));
            let facts = if unverified || cached {
                Facts::None
            } else {
                Facts::Artifact
            };
            let art = parse_artifact(&bytes, facts, &input)?;
            let name = driver::display_name(&input);
            if unverified {
                eprintln!("warning: running unverified code (--unverified)");
            } else if !cached {
                let report = validator::verify_parsed(&art);
                if !report.accepted() {
                    return Err(Outcome::Rejected(rejection(&report, &name, false)).into());
                }
                if let Some(c) = &cache {
                    c.record_or_warn(&bytes);
                }
            }
            let mut linker = runtime::Linker::new();
            let argv0 = argv0.unwrap_or_else(|| {
                input
                    .file_name()
                    .map_or("module".into(), |n| n.to_string_lossy().into_owned())
            });
            let wasi = wasi_context(&art, argv0, &invoke, &args, &dirs, &env)?;
            if let Some(w) = &wasi {
                w.add_to(&mut linker);
            }
            let instance = || instantiate(&bytes, &linker, wasi.as_deref(), &name);
            match invoke {
                Some(func) => run_export(&art, instance, &name, &func, &args),
                None => run_command(&art, instance, &name),
            }
        }
    }
}

/// `pccc verify`: one artifact (its summary or its full rejection), or
/// several (a line each and a summary table; the failing ones named).
fn verify(
    artifacts: &[PathBuf],
    json: bool,
    jobs: usize,
    explain: bool,
    no_cache: bool,
) -> Result<()> {
    let cache = verify_cache(no_cache);
    let paths = pccc::gate::collect(artifacts).context("cannot list the artifacts")?;
    if paths.is_empty() {
        bail!("no .o artifacts found in {}", show_paths(artifacts));
    }
    if let [one] = paths.as_slice() {
        if !artifacts.iter().any(|a| a.is_dir()) {
            return verify_single(one, json, explain, cache.as_ref());
        }
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = if jobs == 0 { cpus } else { jobs.min(cpus) };
    let outcomes = pccc::gate::run(&paths, jobs, json, report_json, cache.as_ref());
    let (mut rejected, mut bad) = (vec![], vec![]);
    for o in &outcomes {
        match &o.verdict {
            pccc::gate::Verdict::Rejected(r) => {
                if explain {
                    eprintln!("{}", rejection(r, &driver::display_name(&o.path), true));
                }
                rejected.push(o.path.clone());
            }
            pccc::gate::Verdict::BadInput(_) => bad.push(o.path.clone()),
            pccc::gate::Verdict::Accepted(_) => {}
        }
    }
    let bad_line = format!("not readable as pccc artifacts: {}", show_paths(&bad));
    if !rejected.is_empty() {
        let mut text = format!("rejected: {}", show_paths(&rejected));
        if !bad.is_empty() {
            text.push_str(&format!("\nerror: {bad_line}"));
        }
        return Err(Outcome::Rejected(text).into());
    }
    if !bad.is_empty() {
        bail!("{bad_line}");
    }
    Ok(())
}

/// Write `bytes` to `p`; `-` or absent: stdout.
fn write_output(p: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match p {
        Some(p) if !driver::is_stdio(p) => write_file(p, bytes),
        _ => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .context("cannot write stdout")
        }
    }
}

fn artifact_command(cmd: ArtifactCommand) -> Result<()> {
    use pccc::artifact_tool;
    match cmd {
        ArtifactCommand::Dump { artifact, output } => {
            let bytes = driver::read_path(&artifact)?;
            let json =
                artifact_tool::dump(&bytes).with_context(|| driver::display_name(&artifact))?;
            write_output(output.as_deref(), artifact_tool::to_json(&json).as_bytes())
        }
        ArtifactCommand::Build { json, output } => {
            let name = driver::display_name(&json);
            let text = driver::read_path(&json)?;
            let text = std::str::from_utf8(&text).map_err(|_| anyhow!("{name}: not UTF-8 text"))?;
            let art = artifact_tool::from_json(text)
                .and_then(|a| artifact_tool::build(&a))
                .with_context(|| name)?;
            write_output(Some(&output), &art)
        }
    }
}

/// A WASI context if the module imports WASI (or the bench markers).
fn wasi_context(
    art: &pcc::ArtifactFile,
    argv0: String,
    invoke: &Option<String>,
    args: &[String],
    dirs: &[String],
    env: &[String],
) -> Result<Option<std::sync::Arc<runtime::wasi::Wasi>>> {
    let uses_wasi = art
        .meta
        .imports
        .iter()
        .any(|i| i.module == "wasi_snapshot_preview1" || i.module == "bench");
    if !uses_wasi {
        if !dirs.is_empty() || !env.is_empty() {
            bail!("--dir and --env are for WASI modules; this one imports no WASI functions");
        }
        return Ok(None);
    }
    let mut argv = vec![argv0];
    if invoke.is_none() {
        argv.extend(args.iter().cloned());
    }
    let mut pre = vec![];
    for d in dirs {
        let (guest, host) = d.split_once("::").unwrap_or((".", d.as_str()));
        let host = PathBuf::from(host);
        if !host.is_dir() {
            bail!("--dir {d}: {} is not a directory", host.display());
        }
        pre.push((guest.to_string(), host));
    }
    let vars = env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| anyhow!("--env {kv}: expected KEY=VALUE"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(runtime::wasi::Wasi::new(argv, vars, pre)))
}

fn instantiate(
    bytes: &[u8],
    linker: &runtime::Linker,
    wasi: Option<&runtime::wasi::Wasi>,
    name: &str,
) -> Result<runtime::Instance> {
    let module = runtime::Module::from_artifact(bytes).with_context(|| name.to_string())?;
    let instance = runtime::Instance::new(&module, linker).map_err(|e| match e {
        runtime::InstantiateError::Trap(code) => {
            anyhow::Error::new(Outcome::Trap(code.to_string()))
        }
        other => anyhow::Error::new(other).context(name.to_string()),
    })?;
    if let Some(w) = wasi {
        w.attach(&instance);
    }
    Ok(instance)
}

fn run_error(e: runtime::RunError) -> anyhow::Error {
    match e {
        runtime::RunError::Trap(code) => anyhow::Error::new(Outcome::Trap(code.to_string())),
        runtime::RunError::Exit(status) => anyhow::Error::new(Outcome::Exit(status)),
        other => anyhow::Error::new(other),
    }
}

/// Run a WASI command: its `_start`, then its exit status.
fn run_command(
    art: &pcc::ArtifactFile,
    instance: impl FnOnce() -> Result<runtime::Instance>,
    name: &str,
) -> Result<()> {
    if !art.meta.exports.iter().any(|e| e.name == "_start") {
        bail!("{name}: no --invoke given and the module exports no `_start` (not a WASI command)");
    }
    instance()?.invoke("_start", &[]).map_err(run_error)?;
    Ok(())
}

fn run_export(
    art: &pcc::ArtifactFile,
    instance: impl FnOnce() -> Result<runtime::Instance>,
    name: &str,
    func: &str,
    args: &[String],
) -> Result<()> {
    let export = art
        .meta
        .exports
        .iter()
        .find(|e| e.name == func && e.kind == ExportKind::Func)
        .ok_or_else(|| {
            let funcs: Vec<&str> = art
                .meta
                .exports
                .iter()
                .filter(|e| e.kind == ExportKind::Func)
                .map(|e| e.name.as_str())
                .collect();
            anyhow!(
                "{name}: no exported function `{func}`; exported functions: {}",
                funcs.join(", ")
            )
        })?;
    let ty = func_type(&art.meta, export.index).with_context(|| name.to_string())?;
    if args.len() != ty.params.len() {
        bail!(
            "`{func}` takes {} argument(s) {:?}, got {}",
            ty.params.len(),
            ty.params,
            args.len()
        );
    }
    let vals = args
        .iter()
        .zip(&ty.params)
        .enumerate()
        .map(|(i, (a, t))| parse_arg(a, *t).with_context(|| format!("argument {}", i + 1)))
        .collect::<Result<Vec<_>>>()?;

    let results = instance()?.invoke(func, &vals).map_err(run_error)?;
    for r in results {
        println!("{}", format_val(&r));
    }
    Ok(())
}

fn func_type(meta: &pcc::Metadata, index: u32) -> Result<&pcc::WasmFuncType> {
    meta.func_type(index)
        .ok_or_else(|| anyhow!("export refers to missing function {index} or its type"))
}

/// Marks a `run` argument that looks like an option but is a number.
const SHIELD: char = '\u{E000}';

/// clap takes `-inf`, `-nan` and `-0x10` for options (it knows only negative
/// decimals as values), so `run f.wasm --invoke f -inf` would need `--`.
/// Before parsing, such a `run` argument (before any `--`) is prefixed with
/// a private-use character that `unshield` removes; nothing else changes,
/// so options still go anywhere.
fn shield_negative_values(
    args: impl Iterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut out: Vec<std::ffi::OsString> = vec![];
    let (mut in_run, mut past_dashes) = (false, false);
    for a in args {
        let text = a.to_str().map(str::to_ascii_lowercase);
        match text.as_deref() {
            Some("--") => past_dashes = true,
            Some("run") if out.len() == 1 => in_run = true,
            Some(t) if in_run && !past_dashes && looks_negative(t) => {
                out.push(format!("{SHIELD}{}", a.to_str().unwrap_or_default()).into());
                continue;
            }
            _ => {}
        }
        out.push(a);
    }
    out
}

/// `-inf`, `-infinity`, `-nan` or `-0x` followed by hex digits.
fn looks_negative(t: &str) -> bool {
    let Some(v) = t.strip_prefix('-') else {
        return false;
    };
    matches!(v, "inf" | "infinity" | "nan")
        || v.strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit() || c == '_'))
}

fn unshield(a: &str) -> &str {
    a.strip_prefix(SHIELD).unwrap_or(a)
}

fn parse_int(s: &str) -> Result<i128> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let digits = digits.replace('_', "");
    let v = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i128::from_str_radix(h, 16)
    } else {
        digits.parse::<i128>()
    }
    .map_err(|_| anyhow!("`{s}` is not an integer (decimal or 0x-hex)"))?;
    Ok(if neg { -v } else { v })
}

fn parse_arg(s: &str, ty: ValType) -> Result<runtime::Val> {
    let in_range = |v: i128, bits: u32| -> Result<i128> {
        let min = -(1i128 << (bits - 1));
        let max = (1i128 << bits) - 1;
        if v < min || v > max {
            bail!("`{s}` does not fit in {bits} bits");
        }
        Ok(v)
    };
    Ok(match ty {
        ValType::I32 => runtime::Val::I32(in_range(parse_int(s)?, 32)? as u32 as i32),
        ValType::I64 => runtime::Val::I64(in_range(parse_int(s)?, 64)? as u64 as i64),
        ValType::F32 => runtime::Val::F32(
            s.parse::<f32>()
                .map_err(|_| anyhow!("`{s}` is not an f32"))?
                .to_bits(),
        ),
        ValType::F64 => runtime::Val::F64(
            s.parse::<f64>()
                .map_err(|_| anyhow!("`{s}` is not an f64"))?
                .to_bits(),
        ),
        // As wasmtime takes it: one 128-bit integer, lane 0 in the low bits.
        ValType::V128 => runtime::Val::V128(
            match s.strip_prefix("0x") {
                Some(hex) => u128::from_str_radix(&hex.replace('_', ""), 16),
                None => s.replace('_', "").parse::<u128>(),
            }
            .map_err(|_| {
                anyhow!("`{s}` is not a v128 (a 128-bit integer, e.g. 0x0000000100000002)")
            })?,
        ),
        other => bail!("parameters of type {other:?} cannot be given on the command line"),
    })
}

fn format_val(v: &runtime::Val) -> String {
    match v {
        runtime::Val::I32(x) => x.to_string(),
        runtime::Val::I64(x) => x.to_string(),
        runtime::Val::F32(b) => format!("{}", f32::from_bits(*b)),
        runtime::Val::F64(b) => format!("{}", f64::from_bits(*b)),
        runtime::Val::V128(b) => format!("{b:#034x}"),
        other => format!("{other:?}"),
    }
}

/// Write `path`. A regular file (or a new one) is written via a temporary
/// file and renamed over, so a failed run never leaves a partial artifact
/// behind. Anything else — a symlink such as `/dev/stdout`, a device, a FIFO —
/// is written through in place: renaming over it would replace the link or
/// the device node with a regular file.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let in_place = path
        .symlink_metadata()
        .is_ok_and(|m| !m.file_type().is_file());
    if in_place {
        use std::io::Write;
        return std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .and_then(|mut f| f.write_all(bytes).and_then(|()| f.flush()))
            .with_context(|| format!("cannot write {}", path.display()));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("artifact"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        std::fs::remove_file(&tmp).ok();
        anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
    })?;
    Ok(())
}

/// The one-line summary of an accepted artifact.
fn show_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One artifact: the summary line, or every failure on stderr.
fn verify_single(
    artifact: &Path,
    json: bool,
    explain: bool,
    cache: Option<&pccc::cache::VerifyCache>,
) -> Result<()> {
    let name = driver::display_name(artifact);
    let report = match pccc::gate::verify_one(artifact, cache) {
        pccc::gate::Verdict::Accepted(r) | pccc::gate::Verdict::Rejected(r) => r,
        pccc::gate::Verdict::BadInput(why) => bail!("{name}: {why}"),
    };
    if json {
        println!("{}", report_json(&report));
    } else if report.accepted() {
        println!("{}", summary(&report));
    }
    if !report.accepted() {
        let text = if json {
            // The failures are in the JSON on stdout; stderr only names it.
            format!(
                "rejected: {name}: {} failure(s) (in the JSON on stdout)",
                report.failures.len()
            )
        } else {
            rejection(&report, &name, explain)
        };
        return Err(Outcome::Rejected(text).into());
    }
    Ok(())
}

fn summary(r: &validator::Report) -> String {
    let a = &r.accesses;
    format!(
        "accepted: {} functions; memory accesses: {} heap, {} stack, {} vmctx, {} global, {} table; \
         {} obligations, {} distinct shapes, {} z3 calls; {:.1} ms",
        r.functions,
        a.heap,
        a.stack,
        a.vmctx,
        a.global,
        a.table,
        r.obligations,
        r.distinct_shapes,
        r.z3_calls,
        r.elapsed.as_secs_f64() * 1e3
    )
}

/// Every failure of a rejected artifact, for stderr.
/// With `explain`, each rejected heap access also shows the instructions
/// before it with the facts of their registers, and where its index came from.
fn rejection(r: &validator::Report, name: &str, explain: bool) -> String {
    let mut s = format!("rejected: {name}: {} failure(s)", r.failures.len());
    for f in &r.failures {
        s.push_str(&format!(
            "\n  {} +{:#x}: `{}`\n    {}",
            f.function, f.offset, f.instruction, f.reason
        ));
        if let Some(o) = &f.obligation {
            s.push_str(&format!("\n    obligation: {o}"));
        }
        if let Some(c) = &f.counterexample {
            s.push_str(&format!("\n    counterexample: {c}"));
        }
        if explain && !f.window.is_empty() {
            s.push_str("\n    before it (with what the validator knew):");
            for w in &f.window {
                s.push_str(&format!("\n      {w}"));
            }
        }
        if explain && !f.chain.is_empty() {
            s.push_str("\n    the index came from (newest first):");
            for c in &f.chain {
                s.push_str(&format!("\n      {c}"));
            }
        }
    }
    s
}

fn report_json(r: &validator::Report) -> serde_json::Value {
    let failures: Vec<serde_json::Value> = r
        .failures
        .iter()
        .map(|f| {
            serde_json::json!({
                "function": f.function, "offset": f.offset, "instruction": f.instruction,
                "reason": f.reason, "obligation": f.obligation, "counterexample": f.counterexample,
                "window": f.window, "index_chain": f.chain,
            })
        })
        .collect();
    serde_json::json!({
        "accepted": r.accepted(),
        "functions": r.functions,
        "accesses": {
            "heap": r.accesses.heap, "stack": r.accesses.stack, "vmctx": r.accesses.vmctx,
            "global": r.accesses.global, "table": r.accesses.table,
        },
        "obligations": r.obligations,
        "distinct_shapes": r.distinct_shapes,
        "z3_calls": r.z3_calls,
        // Microseconds are all the precision a timing has.
        "elapsed_ms": (r.elapsed.as_secs_f64() * 1e6).round() / 1e3,
        "failures": failures,
    })
}
