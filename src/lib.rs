//! pccc: compile WebAssembly to x86-64, prove the sandbox in the final bytes,
//! run it. This crate is the command-line edge; the stages live in the
//! workspace crates (`frontend`, `backend`, `validator`, `runtime`, `pcc`).

pub mod artifact_tool;
pub mod cache;
pub mod disasm;
pub mod driver;
pub mod gate;
pub mod obligations;

pub use driver::{compile_bytes, load_input, Input};
