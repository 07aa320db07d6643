//! The mid-end: rewrites of the SSA IR between the frontend and lowering.
//! Each pass keeps the IR's structural rules (`Function::check`) and the
//! meaning of every value; the validator checks the final code either way,
//! so a wrong rewrite shows up as a reject or a test failure, not as an
//! escape.

mod egraph;
mod loops;
mod params;

pub use egraph::{remove_dead, simplify};
pub use loops::{hoist_vector_constants, split_at_loops};
pub use params::{remove_dead_params, remove_redundant_params};

use crate::ir::Function;

/// Every mid-end pass, in order.
pub fn optimize(f: &mut Function) {
    remove_redundant_params(f);
    remove_dead_params(f);
    simplify(f);
    hoist_vector_constants(f);
    split_at_loops(f);
}
