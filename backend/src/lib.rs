//! pccc's backend: IR → optimized IR → x86-64 on virtual registers with facts
//! → regalloc2 → iced-x86 encoding → ELF artifact.
//!
//! Stage modules mirror Cranelift's machinst split: `opt` (egg rewrites on
//! pure IR), `lower` (IR → VCode), `regalloc` (regalloc2 glue), `emit`
//! (encoding + fact table), `artifact` (ELF writer).

pub mod ir;

use pcc::{FunctionFacts, Metadata, SandboxConfig};

/// A whole module in IR, as the frontend hands it over.
#[derive(Clone, Debug)]
pub struct ModuleIr {
    /// Everything but the code: `funcs[i].offset/size` are 0 and
    /// `trap_sites` is empty until the backend fills them in.
    pub meta: Metadata,
    /// One per defined function, in function-index order after the imports.
    pub functions: Vec<ir::Function>,
}

/// Options that change the code the backend emits.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    pub sandbox: SandboxConfig,
    /// Run the e-graph optimizer on each function.
    pub optimize: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            sandbox: SandboxConfig::default(),
            optimize: true,
        }
    }
}

/// A compiled module: code, claims and metadata, ready to be written as ELF.
#[derive(Clone, Debug)]
pub struct Artifact {
    /// `funcs[i].offset/size` and `trap_sites` filled in; `sandbox` as compiled.
    pub meta: Metadata,
    /// All defined functions, laid out back to back; calls between them are
    /// already resolved (rel32), so the code is position-independent.
    pub text: Vec<u8>,
    pub facts: Vec<FunctionFacts>,
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("function {func}: {msg}")]
    Function { func: u32, msg: String },
    #[error("{0}")]
    Unsupported(String),
}
