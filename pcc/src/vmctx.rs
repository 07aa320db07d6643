//! The instance context (vmctx) and the calling convention of compiled code.
//!
//! Pinned registers: `r14` holds the vmctx pointer and `r15` the heap base for
//! the whole life of every compiled function; compiled code never writes them.
//! Pinning makes "is the heap base" a property the validator checks once per
//! function (no write to r15) instead of tracking it through spills.
//!
//! Wasm-to-wasm calls: integer arguments in [`INT_ARG_REGS`] then float and
//! v128 arguments (all 128 bits of an xmm register for a v128) in
//! [`FLOAT_ARG_REGS`]; further arguments in 8-byte stack slots (two
//! consecutive ones for a v128) at `[rsp + 8*k]` at the call instruction
//! (the caller's outgoing area);
//! results in [`INT_RET_REGS`] and [`FLOAT_RET_REGS`] in order, further
//! results in 8-byte slots of that same outgoing area, which the callee
//! writes at `[rbp + 16 + 8*k]` before it returns (see [`result_locations`];
//! the caller reserves [`outgoing_slots`] of them). [`CALLEE_SAVED_GPRS`]
//! (System V's, less the pinned two) survive a call: a function that writes
//! one saves it in its frame after the prologue and restores it before `ret`,
//! and the validator checks that every `ret` finds each of them holding the
//! value it had at entry. The rest but `rsp`, `rbp`, `r14`, `r15`
//! ([`CALLER_SAVED_GPRS`]) are caller-saved, as are all SSE registers.
//!
//! Host calls (imports): compiled code stores the arguments as 8-byte slots in
//! its frame, then calls the function pointer at [`VmCtxLayout::HOST_CALL`]
//! with the System V ABI: `rdi` = vmctx, `esi` = import index, `rdx` = the
//! slots (results are written back over them). It returns 0 or a trap code.
//! The runtime refuses (a trap, touching nothing) a vmctx that is not a live
//! instance's and slots outside the caller's frame `[rsp, rbp)`.

use crate::reg::{Gpr, Xmm};

pub const VMCTX_REG: Gpr = Gpr::R14;
pub const HEAP_BASE_REG: Gpr = Gpr::R15;

pub const INT_ARG_REGS: [Gpr; 6] = [Gpr::RDI, Gpr::RSI, Gpr::RDX, Gpr::RCX, Gpr::R8, Gpr::R9];
pub const FLOAT_ARG_REGS: [Xmm; 8] = [
    Xmm(0),
    Xmm(1),
    Xmm(2),
    Xmm(3),
    Xmm(4),
    Xmm(5),
    Xmm(6),
    Xmm(7),
];
pub const INT_RET_REG: Gpr = Gpr::RAX;
pub const FLOAT_RET_REG: Xmm = Xmm(0);
/// Integer results, in order (the first is [`INT_RET_REG`]).
pub const INT_RET_REGS: [Gpr; 9] = [
    Gpr::RAX,
    Gpr::RDX,
    Gpr::RCX,
    Gpr::RSI,
    Gpr::RDI,
    Gpr::R8,
    Gpr::R9,
    Gpr::R10,
    Gpr::R11,
];
/// Float results, in order (the first is [`FLOAT_RET_REG`]).
pub const FLOAT_RET_REGS: [Xmm; 8] = FLOAT_ARG_REGS;

/// The register class a value travels in across a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValClass {
    /// A general register or one 8-byte slot.
    Int,
    /// The low 32 or 64 bits of an xmm register, or one 8-byte slot.
    Float,
    /// All 128 bits of an xmm register, or two consecutive 8-byte slots.
    Vector,
}

impl ValClass {
    fn slots(self) -> u32 {
        if self == ValClass::Vector {
            2
        } else {
            1
        }
    }
}

impl crate::ValType {
    pub fn class(self) -> ValClass {
        match self {
            crate::ValType::F32 | crate::ValType::F64 => ValClass::Float,
            crate::ValType::V128 => ValClass::Vector,
            _ => ValClass::Int,
        }
    }
}

/// Assign registers from `gprs` and `xmms` in order, the rest slots.
fn assign(classes: impl IntoIterator<Item = ValClass>, gprs: &[Gpr], xmms: &[Xmm]) -> Vec<ArgLoc> {
    let (mut ints, mut floats, mut slots) = (0, 0, 0);
    classes
        .into_iter()
        .map(|c| {
            if c == ValClass::Int && ints < gprs.len() {
                ints += 1;
                ArgLoc::Gpr(gprs[ints - 1])
            } else if c != ValClass::Int && floats < xmms.len() {
                floats += 1;
                ArgLoc::Xmm(xmms[floats - 1])
            } else {
                slots += c.slots();
                ArgLoc::Stack(slots - c.slots())
            }
        })
        .collect()
}

/// Where each result of a function travels, given the results' classes:
/// integers take [`INT_RET_REGS`] in order, floats and v128s
/// [`FLOAT_RET_REGS`], and the rest the outgoing area's slots in result
/// order (`ArgLoc::Stack(k)`: the callee writes `[rbp + 16 + 8*k]`, the
/// caller reads `[rsp + 8*k]` after the call; a v128 takes slots k and k+1).
/// The backend, the validator and the runtime's entry all use this one
/// function.
pub fn result_locations(classes: impl IntoIterator<Item = ValClass>) -> Vec<ArgLoc> {
    assign(classes, &INT_RET_REGS, &FLOAT_RET_REGS)
}

/// How many 8-byte slots of the outgoing area a call of this type uses: its
/// stack arguments before the call, its stack results after it. A caller
/// owns this many slots at `[rsp]` when it calls; the callee may read the
/// first `stack arguments` and write the first `stack results` of them.
pub fn outgoing_slots(
    params: impl IntoIterator<Item = ValClass>,
    results: impl IntoIterator<Item = ValClass>,
) -> u32 {
    stack_args(params).max(stack_results(results))
}

fn in_slots(
    classes: impl IntoIterator<Item = ValClass>,
    locs: fn(Vec<ValClass>) -> Vec<ArgLoc>,
) -> u32 {
    let classes: Vec<ValClass> = classes.into_iter().collect();
    locs(classes.clone())
        .iter()
        .zip(&classes)
        .filter(|(l, _)| matches!(l, ArgLoc::Stack(_)))
        .map(|(_, c)| c.slots())
        .sum()
}

/// How many 8-byte slots a function type's stack arguments take.
pub fn stack_args(params: impl IntoIterator<Item = ValClass>) -> u32 {
    in_slots(params, arg_locations)
}

/// How many 8-byte slots a function type's stack results take.
pub fn stack_results(results: impl IntoIterator<Item = ValClass>) -> u32 {
    in_slots(results, result_locations)
}

/// Where one argument of a wasm-to-wasm call travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgLoc {
    Gpr(Gpr),
    Xmm(Xmm),
    /// The k-th 8-byte slot of the outgoing area, `[rsp + 8*k]` at the call
    /// (and the (k+1)-th too for a v128).
    Stack(u32),
}

/// The calling convention's assignment of arguments, given their classes:
/// integers take [`INT_ARG_REGS`] in order, floats and v128s
/// [`FLOAT_ARG_REGS`], and the rest go to stack slots in argument order.
/// The backend and the runtime's entry both use this one function.
pub fn arg_locations(classes: impl IntoIterator<Item = ValClass>) -> Vec<ArgLoc> {
    assign(classes, &INT_ARG_REGS, &FLOAT_ARG_REGS)
}

/// Registers a call to compiled code or to the host may change.
pub const CALLER_SAVED_GPRS: [Gpr; 9] = [
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

/// Registers every call preserves: compiled code restores them before `ret`
/// (checked), host functions and builtins by the System V ABI. Values that
/// live across calls stay in them instead of being spilled.
pub const CALLEE_SAVED_GPRS: [Gpr; 3] = [Gpr::RBX, Gpr::R12, Gpr::R13];

/// The operations of the `bulk_memory` builtin. Its `op` argument is the
/// code in the low byte and a data segment index above it; the builtin checks
/// every range against the memory's current size and returns 0, or the
/// out-of-bounds-memory trap code without touching memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkOp {
    /// memory.copy: a = dst, b = src, c = len.
    Copy,
    /// memory.fill: a = dst, b = byte value, c = len.
    Fill,
    /// memory.init of a data segment: a = dst, b = offset in the segment, c = len.
    Init(u32),
    /// data.drop of a data segment.
    DataDrop(u32),
}

impl BulkOp {
    pub fn encode(self) -> u32 {
        match self {
            BulkOp::Copy => 0,
            BulkOp::Fill => 1,
            BulkOp::Init(seg) => 2 | seg << 8,
            BulkOp::DataDrop(seg) => 3 | seg << 8,
        }
    }

    pub fn decode(op: u32) -> Option<BulkOp> {
        Some(match op & 0xff {
            0 => BulkOp::Copy,
            1 => BulkOp::Fill,
            2 => BulkOp::Init(op >> 8),
            3 => BulkOp::DataDrop(op >> 8),
            _ => return None,
        })
    }
}

/// The operations of the `table_op` builtin: `op` is the code in the low
/// byte, then two 24-bit indexes (tables, element segments or a function).
/// Reference values are 64-bit handles, 0 being null. The builtin checks
/// every range against the table's length (and the segment's). Its result:
/// the operation's value (`Get`, `Grow`, `RefFunc`; `Get` returns all ones
/// to trap), or for the others 0 or the out-of-bounds-table trap code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableOp {
    /// table.copy: a = dst, b = src, c = len.
    Copy { dst: u32, src: u32 },
    /// table.init: a = dst in the table, b = offset in the segment, c = len.
    Init { seg: u32, table: u32 },
    /// elem.drop of a segment.
    ElemDrop(u32),
    /// table.get: a = index; the element's handle.
    Get(u32),
    /// table.set: a = index, b = handle.
    Set(u32),
    /// table.grow: a = initial handle, b = delta; the old length or -1 (i32).
    Grow(u32),
    /// table.fill: a = index, b = handle, c = len.
    Fill(u32),
    /// ref.func: a handle for function `f` of the running instance.
    RefFunc(u32),
}

/// How compiled code tells a `table_op` trap from a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapWhen {
    /// The result is a status: nonzero traps.
    NonZero,
    /// The result is a value; all ones traps.
    AllOnes,
    /// It never traps.
    Never,
}

impl TableOp {
    pub fn encode(self) -> u64 {
        let pack = |code: u64, x: u32, y: u32| code | (x as u64) << 8 | (y as u64) << 32;
        match self {
            TableOp::Copy { dst, src } => pack(0, dst, src),
            TableOp::Init { seg, table } => pack(1, seg, table),
            TableOp::ElemDrop(seg) => pack(2, seg, 0),
            TableOp::Get(t) => pack(3, t, 0),
            TableOp::Set(t) => pack(4, t, 0),
            TableOp::Grow(t) => pack(5, t, 0),
            TableOp::Fill(t) => pack(6, t, 0),
            TableOp::RefFunc(f) => pack(7, f, 0),
        }
    }

    pub fn decode(op: u64) -> Option<TableOp> {
        let (x, y) = ((op >> 8) as u32 & 0xff_ffff, (op >> 32) as u32);
        Some(match op & 0xff {
            0 => TableOp::Copy { dst: x, src: y },
            1 => TableOp::Init { seg: x, table: y },
            2 => TableOp::ElemDrop(x),
            3 => TableOp::Get(x),
            4 => TableOp::Set(x),
            5 => TableOp::Grow(x),
            6 => TableOp::Fill(x),
            7 => TableOp::RefFunc(x),
            _ => return None,
        })
    }

    /// How many operands it takes (a, b, c in order).
    pub fn arity(self) -> usize {
        match self {
            TableOp::Copy { .. } | TableOp::Init { .. } | TableOp::Fill(_) => 3,
            TableOp::Set(_) | TableOp::Grow(_) => 2,
            TableOp::Get(_) => 1,
            TableOp::ElemDrop(_) | TableOp::RefFunc(_) => 0,
        }
    }

    pub fn trap_when(self) -> TrapWhen {
        match self {
            TableOp::Get(_) => TrapWhen::AllOnes,
            TableOp::Grow(_) | TableOp::RefFunc(_) | TableOp::ElemDrop(_) => TrapWhen::Never,
            _ => TrapWhen::NonZero,
        }
    }
}

/// Bytes reserved below the stack limit for host code called from wasm
/// (the runtime sets the limit this far above the real end of the stack).
pub const HOST_STACK_RESERVE: u64 = 128 * 1024;

/// Field offsets of the instance context. Fixed fields first, then per-module
/// arrays whose positions depend on counts recorded in the artifact.
///
/// ```text
///   0  heap_base        u64  start of linear memory (also pinned in r15)
///   8  heap_bytes       u64  current memory size in bytes
///  16  stack_limit      u64  lowest rsp compiled code may run at
///  24  host_call        fn(vmctx, import_index: u32, slots: *mut u64) -> u32 trap code
///  32  memory_grow      fn(vmctx, delta_pages: u64) -> u64 old pages or u64::MAX
///  40  throw            fn(vmctx, tag: u32, slots: *const u64) -> u32, see [`crate::exn`]
///  48  bulk_memory      fn(vmctx, op: u32, a: u64, b: u64, c: u64) -> u32 trap code, see [`BulkOp`]
///  56  table_op         fn(vmctx, op: u64, a: u64, b: u64, c: u64) -> u64, see [`TableOp`]
///  64  throw_ref        fn(vmctx, exnref: u64) -> u32
///  72  exn_landed       fn(vmctx) -> u64 exnref
///  80  exn_catch        fn(vmctx, exnref: u64, tag: u32, slots: *mut u64) -> u64 1 if caught
///  88  (unused)         0; builtins find their instance by the vmctx address
///  96  sig_ids[ntypes]  u64 each: process-wide id of the module's type i
///      tables[ntables]  *Table each, Table = { elems: *Elem, len: u64 }, Elem = { code, sig_id, vmctx }
///      globals[nglobals] *Cell each, a 16-byte cell holding the value
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmCtxLayout {
    pub num_types: u32,
    pub num_tables: u32,
    pub num_globals: u32,
}

impl VmCtxLayout {
    pub const HEAP_BASE: u32 = 0;
    pub const HEAP_BYTES: u32 = 8;
    pub const STACK_LIMIT: u32 = 16;
    pub const HOST_CALL: u32 = 24;
    pub const MEMORY_GROW: u32 = 32;
    pub const BULK_MEMORY: u32 = 48;
    pub const TABLE_OP: u32 = 56;
    pub const THROW: u32 = 40;
    pub const THROW_REF: u32 = 64;
    pub const EXN_LANDED: u32 = 72;
    pub const EXN_CATCH: u32 = 80;
    pub const FIXED_END: u32 = 96;

    /// Table descriptor fields.
    pub const TABLE_ELEMS: u32 = 0;
    pub const TABLE_LEN: u32 = 8;
    /// Table element fields; an element is 24 bytes.
    pub const ELEM_CODE: u32 = 0;
    pub const ELEM_SIG: u32 = 8;
    pub const ELEM_VMCTX: u32 = 16;
    pub const ELEM_SIZE: u32 = 24;
    /// Bytes of a global's cell.
    pub const GLOBAL_CELL_SIZE: u32 = 16;

    pub fn sig_id(&self, type_index: u32) -> u32 {
        Self::FIXED_END + 8 * type_index
    }

    pub fn table(&self, table_index: u32) -> u32 {
        Self::FIXED_END + 8 * self.num_types + 8 * table_index
    }

    pub fn global(&self, global_index: u32) -> u32 {
        Self::FIXED_END + 8 * self.num_types + 8 * self.num_tables + 8 * global_index
    }

    /// Total size in bytes.
    pub fn size(&self) -> u32 {
        self.global(self.num_globals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_follow_each_other_without_overlap() {
        let l = VmCtxLayout {
            num_types: 3,
            num_tables: 2,
            num_globals: 4,
        };
        assert_eq!(l.sig_id(0), 96);
        assert_eq!(l.table(0), 96 + 24);
        assert_eq!(l.global(0), 96 + 24 + 16);
        assert_eq!(l.size(), 96 + 24 + 16 + 32);
    }

    #[test]
    fn results_past_the_registers_take_slots_in_result_order() {
        // 10 ints and 9 floats, interleaved: the 10th int and the 9th float
        // are the first two slots, in the order the results come.
        let (i, f) = (ValClass::Int, ValClass::Float);
        let mut ty = vec![];
        for _ in 0..9 {
            ty.push(i);
            ty.push(f);
        }
        ty.push(f);
        ty.push(i);
        let locs = result_locations(ty.iter().copied());
        assert_eq!(locs[0], ArgLoc::Gpr(Gpr::RAX));
        assert_eq!(locs[1], ArgLoc::Xmm(Xmm(0)));
        assert_eq!(locs[16], ArgLoc::Gpr(Gpr::R11));
        assert_eq!(locs[17], ArgLoc::Stack(0), "the 9th float");
        assert_eq!(locs[18], ArgLoc::Stack(1), "the 10th float");
        assert_eq!(locs[19], ArgLoc::Stack(2), "the 10th int");
        assert_eq!(stack_results(ty.iter().copied()), 3);
        assert_eq!(outgoing_slots([i; 8], ty.iter().copied()), 3);
        assert_eq!(outgoing_slots([i; 12], [i]), 6);
    }

    #[test]
    fn a_v128_takes_an_xmm_register_or_two_slots() {
        let (i, f, v) = (ValClass::Int, ValClass::Float, ValClass::Vector);
        // 7 floats fill xmm0..xmm6, the first v128 takes xmm7, the second
        // slots 0 and 1, the float after it slot 2, the int a register.
        let mut ty = vec![f; 7];
        ty.extend([v, v, f, i]);
        let locs = arg_locations(ty.iter().copied());
        assert_eq!(locs[7], ArgLoc::Xmm(Xmm(7)));
        assert_eq!(locs[8], ArgLoc::Stack(0));
        assert_eq!(locs[9], ArgLoc::Stack(2));
        assert_eq!(locs[10], ArgLoc::Gpr(Gpr::RDI));
        assert_eq!(stack_args(ty.iter().copied()), 3);
        let res = [v; 10];
        assert_eq!(result_locations(res)[9], ArgLoc::Stack(2));
        assert_eq!(stack_results(res), 4);
        assert_eq!(outgoing_slots(ty, res), 4);
    }
}
