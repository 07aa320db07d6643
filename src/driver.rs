//! The compile pipeline, wired: input detection → frontend → backend → ELF.

use std::path::Path;

use anyhow::{Context, Result};
use backend::{Artifact, CompileOptions};
use pcc::ArtifactFile;

/// What a path given on the command line turned out to hold.
pub enum Input {
    /// A WebAssembly module (binary, or text already assembled to binary).
    Wasm(Vec<u8>),
    /// A pccc artifact (ELF object).
    Artifact(Vec<u8>),
}

const ELF_MAGIC: &[u8] = b"\x7fELF";
const WASM_MAGIC: &[u8] = b"\0asm";

/// Read `path` and decide by content (not extension) what it is; `.wat` text
/// is assembled here so the rest of the pipeline only sees binaries.
pub fn load_input(path: &Path) -> Result<Input> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_wasm_name = path.extension().is_some_and(|e| e == "wasm");
    classify(bytes, is_wasm_name).with_context(|| format!("{}", path.display()))
}

/// Sniff the content; a `.wasm` name or a NUL byte means "binary", so a
/// damaged binary is reported by the Wasm decoder, not as bad text.
pub fn classify(bytes: Vec<u8>, is_wasm_name: bool) -> Result<Input> {
    if bytes.starts_with(ELF_MAGIC) {
        return Ok(Input::Artifact(bytes));
    }
    if bytes.starts_with(WASM_MAGIC) || is_wasm_name || bytes.contains(&0) {
        return Ok(Input::Wasm(bytes));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        anyhow::anyhow!(
            "neither a WebAssembly binary (no \\0asm magic), an ELF artifact, nor UTF-8 text"
        )
    })?;
    let wasm =
        wat::parse_str(text).map_err(|e| anyhow::anyhow!("invalid WebAssembly text: {e}"))?;
    Ok(Input::Wasm(wasm))
}

/// Compile a WebAssembly binary to an artifact.
pub fn compile_bytes(wasm: &[u8], opts: &CompileOptions) -> Result<Artifact> {
    let module = frontend::translate(wasm)?;
    let artifact = backend::compile_module(&module, opts)?;
    Ok(artifact)
}

/// Compile if needed, and return the artifact's ELF bytes.
pub fn artifact_bytes(input: Input, opts: &CompileOptions) -> Result<Vec<u8>> {
    match input {
        Input::Artifact(bytes) => Ok(bytes),
        Input::Wasm(wasm) => Ok(compile_bytes(&wasm, opts)?.to_elf()),
    }
}

/// Parse an artifact's ELF bytes into its parts.
pub fn parse_artifact(bytes: &[u8]) -> Result<ArtifactFile> {
    ArtifactFile::parse(bytes).context("invalid pccc artifact")
}
