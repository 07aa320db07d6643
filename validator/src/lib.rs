//! pccc's independent validator: decodes an artifact's final machine code
//! and proves every heap access sandboxed. It depends on `pcc` only — never
//! on the frontend or backend — so a compiler bug cannot be shared with the
//! checker; `tests/dependency_rule.rs` enforces that.

pub mod obligation;

pub use obligation::{Counterexample, Obligation, Prover};
