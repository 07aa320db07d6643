//! The builtin ABI: the runtime functions compiled code may call through a
//! vmctx slot, and what each argument register must hold at the call. The
//! backend emits calls by this table, the validator proves every call
//! against it, and the runtime still checks what it can (a vmctx that is
//! not a live instance's, a slot area outside the wasm stack).
//!
//! Every builtin is a System V function: it may change the caller-saved
//! registers ([`SYSV_CLOBBERS`]) and the flags, and preserves the rest.

use crate::reg::Gpr;
use crate::vmctx::VmCtxLayout;

/// What an argument register must hold at a builtin call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgRule {
    /// This instance's vmctx (the value pinned in r14).
    VmCtx,
    /// A constant below the module's number of imported functions.
    ImportIndex,
    /// A pointer into the caller's frame with room for the host-call slots
    /// of the import named by the [`ArgRule::ImportIndex`] argument: the
    /// host reads the arguments there and writes the results back.
    ImportSlots,
    /// A constant below the module's number of tags (imports first).
    TagIndex,
    /// A pointer into the caller's frame with room for the payload of the
    /// tag named by the [`ArgRule::TagIndex`] argument ([`tag_payload_bytes`]):
    /// the builtin reads a thrown payload there or writes a caught one.
    TagSlots,
    /// Any value: the builtin checks it against the instance's own state.
    Any,
}

/// Which runtime function a builtin is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinKind {
    HostCall,
    MemoryGrow,
    BulkMemory,
    TableOp,
    Throw,
    ThrowRef,
    ExnLanded,
    ExnCatch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Builtin {
    pub kind: BuiltinKind,
    pub name: &'static str,
    /// Offset of the function pointer in vmctx.
    pub slot: u32,
    pub args: &'static [(Gpr, ArgRule)],
}

/// System V caller-saved general registers: what any builtin may change.
pub const SYSV_CLOBBERS: [Gpr; 9] = [
    Gpr::RAX,
    Gpr::RCX,
    Gpr::RDX,
    Gpr::RSI,
    Gpr::RDI,
    Gpr::R8,
    Gpr::R9,
    Gpr::R10,
    Gpr::R11,
];

pub const BUILTINS: [Builtin; 8] = [
    Builtin {
        kind: BuiltinKind::HostCall,
        name: "host_call",
        slot: VmCtxLayout::HOST_CALL,
        args: &[
            (Gpr::RDI, ArgRule::VmCtx),
            (Gpr::RSI, ArgRule::ImportIndex),
            (Gpr::RDX, ArgRule::ImportSlots),
        ],
    },
    Builtin {
        kind: BuiltinKind::MemoryGrow,
        name: "memory_grow",
        slot: VmCtxLayout::MEMORY_GROW,
        args: &[(Gpr::RDI, ArgRule::VmCtx), (Gpr::RSI, ArgRule::Any)],
    },
    Builtin {
        kind: BuiltinKind::BulkMemory,
        name: "bulk_memory",
        slot: VmCtxLayout::BULK_MEMORY,
        args: &[
            (Gpr::RDI, ArgRule::VmCtx),
            (Gpr::RSI, ArgRule::Any),
            (Gpr::RDX, ArgRule::Any),
            (Gpr::RCX, ArgRule::Any),
            (Gpr::R8, ArgRule::Any),
        ],
    },
    Builtin {
        kind: BuiltinKind::TableOp,
        name: "table_op",
        slot: VmCtxLayout::TABLE_OP,
        args: &[
            (Gpr::RDI, ArgRule::VmCtx),
            (Gpr::RSI, ArgRule::Any),
            (Gpr::RDX, ArgRule::Any),
            (Gpr::RCX, ArgRule::Any),
            (Gpr::R8, ArgRule::Any),
        ],
    },
    Builtin {
        kind: BuiltinKind::Throw,
        name: "throw",
        slot: VmCtxLayout::THROW,
        args: &[
            (Gpr::RDI, ArgRule::VmCtx),
            (Gpr::RSI, ArgRule::TagIndex),
            (Gpr::RDX, ArgRule::TagSlots),
        ],
    },
    Builtin {
        kind: BuiltinKind::ThrowRef,
        name: "throw_ref",
        slot: VmCtxLayout::THROW_REF,
        args: &[(Gpr::RDI, ArgRule::VmCtx), (Gpr::RSI, ArgRule::Any)],
    },
    Builtin {
        kind: BuiltinKind::ExnLanded,
        name: "exn_landed",
        slot: VmCtxLayout::EXN_LANDED,
        args: &[(Gpr::RDI, ArgRule::VmCtx)],
    },
    Builtin {
        kind: BuiltinKind::ExnCatch,
        name: "exn_catch",
        slot: VmCtxLayout::EXN_CATCH,
        args: &[
            (Gpr::RDI, ArgRule::VmCtx),
            (Gpr::RSI, ArgRule::Any),
            (Gpr::RDX, ArgRule::TagIndex),
            (Gpr::RCX, ArgRule::TagSlots),
        ],
    },
];

/// The builtin of a kind.
pub fn builtin(kind: BuiltinKind) -> &'static Builtin {
    // Every kind has exactly one row (tested below).
    BUILTINS
        .iter()
        .find(|b| b.kind == kind)
        .unwrap_or(&BUILTINS[0])
}

/// The builtin whose function pointer is at vmctx offset `slot`.
pub fn builtin_at(slot: u32) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.slot == slot)
}

/// Bytes of the host-call slot area for a function type: one 8-byte slot
/// per parameter, results written back over them.
pub fn host_call_slots(params: usize, results: usize) -> u64 {
    8 * params.max(results) as u64
}

/// Bytes of a tag's payload in a frame: one 8-byte slot per parameter, two
/// for a v128, in parameter order.
pub fn tag_payload_bytes(ty: &crate::WasmFuncType) -> u64 {
    ty.params
        .iter()
        .map(|t| if *t == crate::ValType::V128 { 16 } else { 8 })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_kind_and_slot_and_vmctx_first() {
        for kind in [
            BuiltinKind::HostCall,
            BuiltinKind::MemoryGrow,
            BuiltinKind::BulkMemory,
            BuiltinKind::TableOp,
            BuiltinKind::Throw,
            BuiltinKind::ThrowRef,
            BuiltinKind::ExnLanded,
            BuiltinKind::ExnCatch,
        ] {
            assert_eq!(BUILTINS.iter().filter(|b| b.kind == kind).count(), 1);
            assert_eq!(builtin(kind).kind, kind);
        }
        for b in &BUILTINS {
            assert_eq!(BUILTINS.iter().filter(|c| c.slot == b.slot).count(), 1);
            assert_eq!(b.args[0], (Gpr::RDI, ArgRule::VmCtx), "{}", b.name);
            assert!(b.slot < VmCtxLayout::FIXED_END);
        }
    }
}
