//! pccc's frontend: decode and validate a WebAssembly module with
//! wasmparser, collect its metadata (`pcc::Metadata`) and translate each
//! function body to the backend's SSA IR.
//!
//! Validation and translation are separate passes, as in wasmparser itself:
//! the whole module is validated first, so translation may assume a
//! well-typed operator stream and report only what pccc does not support.

mod module;
mod translate;

use backend::ModuleIr;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum FrontendError {
    #[error("invalid module: {message} (at byte offset {offset:#x})")]
    Invalid { message: String, offset: usize },
    #[error("unsupported operator {op} in function {func}")]
    Unsupported { op: String, func: u32 },
    #[error("unsupported: {0}")]
    UnsupportedFeature(String),
}

impl From<wasmparser::BinaryReaderError> for FrontendError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        FrontendError::Invalid {
            message: e.message().to_string(),
            offset: e.offset() as usize,
        }
    }
}

/// The Wasm features pccc validates: WebAssembly 2.0, whose SIMD
/// operators the translation then takes one by one (all of the
/// fixed-width ones; relaxed SIMD is refused here, as a feature), the
/// threads proposal's atomics (on non-shared memories: `module` refuses
/// shared ones), and of WebAssembly 3.0 exception handling, with the typed
/// function references its tests use and tail calls (see `translate` for
/// what of these it translates).
pub fn features() -> wasmparser::WasmFeatures {
    use wasmparser::WasmFeatures as F;
    (F::WASM2 & !F::RELAXED_SIMD)
        | F::THREADS
        | F::EXCEPTIONS
        | F::FUNCTION_REFERENCES
        | F::TAIL_CALL
        // For explicit recursion groups of function types (WebAssembly
        // 3.0's type identity); struct and array types, subtypes, GC
        // reference types and GC operators are refused in translation.
        | F::GC
}

/// Validate `wasm` and translate it to IR.
pub fn translate(wasm: &[u8]) -> Result<ModuleIr, FrontendError> {
    wasmparser::Validator::new_with_features(features()).validate_all(wasm)?;
    let mut parsed = module::parse(wasm)?;
    let mut functions = Vec::with_capacity(parsed.bodies.len());
    for (i, body) in parsed.bodies.iter().enumerate() {
        let index = parsed.num_imported_funcs + i as u32;
        functions.push(translate::function(&parsed, index, body)?);
    }
    // One thunk per function import, after the defined functions.
    for import in 0..parsed.num_imported_funcs {
        let type_index = parsed.func_types[import as usize];
        let index = parsed.num_imported_funcs + functions.len() as u32;
        let thunk = translate::import_thunk(&parsed, index, import).map(|f| {
            functions.push(f);
            parsed.meta.funcs.push(pcc::FuncMeta {
                name: format!("import_thunk[{import}]"),
                type_index,
                offset: 0,
                size: 0,
            });
            parsed.meta.funcs.len() as u32 - 1
        });
        parsed.meta.import_thunks.push(thunk);
    }
    Ok(ModuleIr {
        meta: parsed.meta,
        functions,
    })
}
