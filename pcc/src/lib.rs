//! The contract between pccc's producer (frontend + backend) and its checkers
//! (validator, runtime). Nothing in here trusts anything: these are only the
//! *shapes* of what an artifact claims — facts, layout, configuration — so that
//! the validator and the runtime can read an artifact without sharing a line of
//! code with the compiler.

pub mod artifact;
pub mod builtin;
pub mod elf;
pub mod exn;
pub mod fact;
pub mod meta_check;
pub mod reg;
pub mod sandbox;
pub mod trap;
pub mod vmctx;

pub use artifact::{
    ArtifactError, ConstExpr, DataSegment, ElemItem, ElemSegment, ExnSite, Export, ExportKind,
    FuncMeta, FunctionFacts, GlobalMeta, Import, ImportKind, MemoryMeta, Metadata, RecGroup,
    SegmentMode, TableMeta, TrapSite, ValType, WasmFuncType,
};
pub use elf::{ArtifactFile, FuncSymbol};
pub use fact::{Fact, FactEntry, Loc, Point};
pub use meta_check::check_metadata;
pub use reg::{Gpr, Xmm};
pub use sandbox::{HeapStrategy, SandboxConfig};
pub use trap::TrapCode;
pub use vmctx::VmCtxLayout;
