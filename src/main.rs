//! The `pccc` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use backend::CompileOptions;
use clap::{Parser, Subcommand, ValueEnum};
use pcc::{ExportKind, HeapStrategy, SandboxConfig, ValType};
use pccc::driver::{self, Input};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (for verify: the artifact is accepted)
  1  the validator rejected the artifact (each failure on stderr: function, offset,
     instruction, reason, obligation and counterexample)
  2  bad input or usage (malformed module, corrupted artifact, unknown export, bad arguments)
  3  the invoked function trapped (`trap: <kind>` on stderr)";

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

#[derive(Subcommand)]
enum Command {
    /// Compile a .wasm or .wat module to an ELF artifact.
    #[command(after_help = EXIT_CODES)]
    Compile {
        /// Input module (.wasm binary or .wat text).
        input: PathBuf,
        /// Where to write the artifact (ELF64 relocatable object).
        #[arg(short, long)]
        output: PathBuf,
        /// Heap sandboxing strategy.
        #[arg(long, value_enum, default_value = "static")]
        heap: HeapArg,
        /// Validate the machine code and write the artifact only if it is accepted.
        #[arg(long)]
        verify: bool,
    },
    /// Prove an artifact's heap accesses sandboxed: exit 0 accepted, 1 rejected, 2 bad input.
    #[command(after_help = EXIT_CODES)]
    Verify {
        artifact: PathBuf,
        /// One JSON object on stdout instead of the human summary.
        #[arg(long)]
        json: bool,
    },
    /// Run an exported function of a module (.wasm/.wat compiled in memory) or an artifact.
    #[command(after_help = EXIT_CODES)]
    Run {
        input: PathBuf,
        /// Name of the exported function to call.
        #[arg(long)]
        invoke: String,
        /// Arguments, one per parameter: decimal or 0x-hex integers.
        #[arg(allow_hyphen_values = true)]
        args: Vec<String>,
        /// Heap strategy when compiling a .wasm/.wat input.
        #[arg(long, value_enum, default_value = "static")]
        heap: HeapArg,
        /// Run without validating first (prints a warning).
        #[arg(long)]
        unverified: bool,
    },
    /// Disassemble an artifact (or a module compiled in memory) with its facts.
    #[command(after_help = EXIT_CODES)]
    Disasm {
        input: PathBuf,
        #[arg(long, value_enum, default_value = "static")]
        heap: HeapArg,
    },
}

/// Failures that map to an exit code other than 2.
#[derive(Debug, thiserror::Error)]
enum Outcome {
    #[error("trap: {0}")]
    Trap(String),
    #[error("{0}")]
    Rejected(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<Outcome>() {
                Some(Outcome::Trap(_)) => {
                    eprintln!("{e}");
                    return ExitCode::from(3);
                }
                Some(Outcome::Rejected(_)) => {
                    eprintln!("{e}");
                    return ExitCode::from(1);
                }
                None => {}
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn options(heap: HeapArg) -> Result<CompileOptions> {
    let heap = match heap {
        HeapArg::Static => HeapStrategy::DEFAULT_STATIC,
        HeapArg::BoundsChecked => HeapStrategy::DEFAULT_BOUNDS_CHECKED,
    };
    Ok(CompileOptions {
        sandbox: SandboxConfig { heap },
        ..CompileOptions::default()
    })
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Compile {
            input,
            output,
            heap,
            verify,
        } => {
            let opts = options(heap)?;
            let Input::Wasm(wasm) = driver::load_input(&input)? else {
                bail!("{} is already a compiled artifact", input.display());
            };
            let artifact = driver::compile_bytes(&wasm, &opts)
                .with_context(|| format!("cannot compile {}", input.display()))?;
            let elf = artifact.to_elf();
            if verify {
                let report = validator::verify(&elf).context("validating the new artifact")?;
                if !report.accepted() {
                    return Err(Outcome::Rejected(rejection(&report)).into());
                }
                eprintln!("{}", summary(&report));
            }
            write_atomically(&output, &elf)?;
            Ok(())
        }
        Command::Verify { artifact, json } => {
            let bytes = std::fs::read(&artifact)
                .with_context(|| format!("cannot read {}", artifact.display()))?;
            let report = validator::verify(&bytes)
                .with_context(|| format!("{} is not a pccc artifact", artifact.display()))?;
            if json {
                println!("{}", report_json(&report));
            } else if report.accepted() {
                println!("{}", summary(&report));
            }
            if !report.accepted() {
                let text = if json {
                    String::new()
                } else {
                    rejection(&report)
                };
                return Err(Outcome::Rejected(text).into());
            }
            Ok(())
        }
        Command::Disasm { input, heap } => {
            let bytes = driver::artifact_bytes(driver::load_input(&input)?, &options(heap)?)?;
            let art = driver::parse_artifact(&bytes)?;
            print!("{}", pccc::disasm::render(&art));
            Ok(())
        }
        Command::Run {
            input,
            invoke,
            args,
            heap,
            unverified,
        } => {
            let bytes = driver::artifact_bytes(driver::load_input(&input)?, &options(heap)?)?;
            let art = driver::parse_artifact(&bytes)?;
            if unverified {
                eprintln!("warning: running unverified code (--unverified)");
            } else {
                let report = validator::verify_parsed(&art);
                if !report.accepted() {
                    return Err(Outcome::Rejected(rejection(&report)).into());
                }
            }
            run_export(&art, &bytes, &invoke, &args)
        }
    }
}

fn run_export(art: &pcc::ArtifactFile, bytes: &[u8], name: &str, args: &[String]) -> Result<()> {
    let export = art
        .meta
        .exports
        .iter()
        .find(|e| e.name == name && e.kind == ExportKind::Func)
        .ok_or_else(|| {
            let funcs: Vec<&str> = art
                .meta
                .exports
                .iter()
                .filter(|e| e.kind == ExportKind::Func)
                .map(|e| e.name.as_str())
                .collect();
            anyhow!(
                "no exported function `{name}`; exported functions: {}",
                funcs.join(", ")
            )
        })?;
    let ty = func_type(&art.meta, export.index)?;
    if args.len() != ty.params.len() {
        bail!(
            "`{name}` takes {} argument(s) {:?}, got {}",
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

    let module = runtime::Module::from_artifact(bytes)?;
    let linker = runtime::Linker::new();
    let instance = runtime::Instance::new(&module, &linker).map_err(|e| match e {
        runtime::InstantiateError::Trap(code) => {
            anyhow::Error::new(Outcome::Trap(code.to_string()))
        }
        other => anyhow::Error::new(other),
    })?;
    let results = instance.invoke(name, &vals).map_err(|e| match e {
        runtime::RunError::Trap(code) => anyhow::Error::new(Outcome::Trap(code.to_string())),
        other => anyhow::Error::new(other),
    })?;
    for r in results {
        println!("{}", format_val(&r));
    }
    Ok(())
}

fn func_type(meta: &pcc::Metadata, index: u32) -> Result<&pcc::WasmFuncType> {
    let imported: Vec<u32> = meta
        .imports
        .iter()
        .filter_map(|i| match i.kind {
            pcc::ImportKind::Func { type_index } => Some(type_index),
            _ => None,
        })
        .collect();
    let type_index = match imported.get(index as usize) {
        Some(&t) => t,
        None => {
            meta.funcs
                .get(index as usize - imported.len())
                .ok_or_else(|| anyhow!("export refers to missing function {index}"))?
                .type_index
        }
    };
    meta.types
        .get(type_index as usize)
        .ok_or_else(|| anyhow!("function {index} has missing type {type_index}"))
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
        other => bail!("parameters of type {other:?} cannot be given on the command line"),
    })
}

fn format_val(v: &runtime::Val) -> String {
    match v {
        runtime::Val::I32(x) => x.to_string(),
        runtime::Val::I64(x) => x.to_string(),
        runtime::Val::F32(b) => format!("{}", f32::from_bits(*b)),
        runtime::Val::F64(b) => format!("{}", f64::from_bits(*b)),
        other => format!("{other:?}"),
    }
}

/// Write via a temporary file and rename, so a failed run never leaves a
/// partial artifact behind.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
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
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The one-line summary of an accepted artifact.
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
fn rejection(r: &validator::Report) -> String {
    let mut s = format!("rejected: {} failure(s)", r.failures.len());
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
    }
    s
}

fn report_json(r: &validator::Report) -> String {
    let failures: Vec<serde_json::Value> = r
        .failures
        .iter()
        .map(|f| {
            serde_json::json!({
                "function": f.function, "offset": f.offset, "instruction": f.instruction,
                "reason": f.reason, "obligation": f.obligation, "counterexample": f.counterexample,
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
        "elapsed_ms": r.elapsed.as_secs_f64() * 1e3,
        "failures": failures,
    })
    .to_string()
}
