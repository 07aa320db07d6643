//! The compile pipeline, wired: input detection → frontend → backend → ELF.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
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

/// `-` on the command line: stdin (or stdout, for an output).
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// How a path is named in messages: `<stdin>` for `-`.
pub fn display_name(path: &Path) -> String {
    if is_stdio(path) {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

/// The bytes of `path`, or of stdin for `-`.
pub fn read_path(path: &Path) -> Result<Vec<u8>> {
    if is_stdio(path) {
        let mut v = vec![];
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut v).context("cannot read stdin")?;
        Ok(v)
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

/// Read `path` (`-`: stdin) and decide by content (not extension) what it
/// is; `.wat` text is assembled here so the rest of the pipeline only sees
/// binaries. Errors name the file.
pub fn load_input(path: &Path) -> Result<Input> {
    let bytes = read_path(path)?;
    let is_wasm_name = path.extension().is_some_and(|e| e == "wasm");
    let name = display_name(path);
    classify_named(bytes, is_wasm_name, Path::new(&name)).with_context(|| name)
}

/// Sniff the content; a `.wasm` name or a NUL byte means "binary", so a
/// damaged binary is reported by the Wasm decoder, not as bad text.
pub fn classify(bytes: Vec<u8>, is_wasm_name: bool) -> Result<Input> {
    classify_named(bytes, is_wasm_name, Path::new("<anon>"))
}

/// `classify`, with the file's name for the positions in WAT syntax errors.
pub fn classify_named(bytes: Vec<u8>, is_wasm_name: bool, name: &Path) -> Result<Input> {
    if bytes.starts_with(ELF_MAGIC) {
        return Ok(Input::Artifact(bytes));
    }
    if bytes.starts_with(WASM_MAGIC) || is_wasm_name || bytes.contains(&0) {
        // Binary. A wrong magic is said here in one line: the decoder's
        // message for it is a multi-line Debug dump of both byte arrays.
        if !bytes.starts_with(WASM_MAGIC) && !WASM_MAGIC.starts_with(&bytes) {
            let found: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
            let why = if bytes.contains(&0) {
                "it contains NUL bytes"
            } else {
                "it is named .wasm"
            };
            return Err(anyhow!(
                "not a WebAssembly binary (bad magic: expected 00 61 73 6d (\\0asm), found {}), \
                 not an ELF artifact, and not read as WebAssembly text ({why})",
                found.join(" ")
            ));
        }
        return Ok(Input::Wasm(bytes));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        anyhow!("neither a WebAssembly binary (no \\0asm magic), an ELF artifact, nor UTF-8 text")
    })?;
    let wasm = wat::Parser::new()
        .parse_str(Some(name), text)
        .map_err(|e| anyhow!("invalid WebAssembly text: {e}"))?;
    Ok(Input::Wasm(wasm))
}

/// Compile a WebAssembly binary to an artifact.
pub fn compile_bytes(wasm: &[u8], opts: &CompileOptions) -> Result<Artifact> {
    let module = frontend::translate(wasm).map_err(|e| unsupported_or_invalid(e, wasm))?;
    let artifact = backend::compile_module(module, opts)?;
    Ok(artifact)
}

/// The frontend validates with the features pccc compiles (WebAssembly 2.0,
/// SIMD operator by operator), so a valid module using any other feature comes back as
/// "invalid". Validate again with every feature wasmparser knows: if that
/// passes, the module is valid and only unsupported, and is named so.
fn unsupported_or_invalid(e: frontend::FrontendError, wasm: &[u8]) -> anyhow::Error {
    if let frontend::FrontendError::Invalid { message, .. } = &e {
        let all = wasmparser::WasmFeatures::all();
        if wasmparser::Validator::new_with_features(all)
            .validate_all(wasm)
            .is_ok()
        {
            let feature = message
                .strip_suffix(" support is not enabled")
                .unwrap_or(message);
            return anyhow!(
                "unsupported: {feature} (the module is valid WebAssembly, but uses a feature \
                 pccc does not compile)"
            );
        }
    }
    e.into()
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

/// Parse an artifact's code, metadata and symbols, not its facts (for
/// running unverified).
pub fn parse_artifact_code(bytes: &[u8]) -> Result<ArtifactFile> {
    ArtifactFile::parse_code(bytes).context("invalid pccc artifact")
}
