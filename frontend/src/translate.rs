//! Function bodies → SSA IR. Wasm locals become SSA values: a join point
//! (the end of a block or if, a loop header) takes every local as a block
//! parameter ahead of the label's values, and every branch passes the
//! current values. Blocks entered only from one place (then/else arms,
//! br_if fall-throughs) need no parameters: the values dominate them.

use backend::ir::{
    BinOp, Block, BlockCall, FBinOp, FUnOp, FloatCC, Function, IntCC, Lanes, MemArg, Op, Signature,
    Type, UnOp, VBinOp, VReduce, VShiftKind, VUnOp, Value,
};
use pcc::vmctx::{BulkOp, TableOp};
use pcc::{TrapCode, ValType};
use wasmparser::{BlockType, FunctionBody, Operator};

use crate::module::{val_type, Parsed};
use crate::FrontendError;

/// A function of import `import`'s type that calls it and returns its
/// result (`index` is its place after the module's own functions); `None`
/// for types the backend can't pass yet (references).
pub fn import_thunk(parsed: &Parsed, index: u32, import: u32) -> Option<Function> {
    let ty = parsed
        .meta
        .types
        .get(parsed.func_types[import as usize] as usize)?;
    if ty.results.len() > 1
        || ty
            .params
            .iter()
            .chain(&ty.results)
            .any(|t| *t == ValType::V128)
    {
        return None;
    }
    let params = ty
        .params
        .iter()
        .map(|t| ir_type(*t).ok())
        .collect::<Option<Vec<_>>>()?;
    let results = ty
        .results
        .iter()
        .map(|t| ir_type(*t).ok())
        .collect::<Option<Vec<_>>>()?;
    let sig = Signature { params, results };
    let mut f = Function::new(index, format!("import_thunk[{import}]"), sig.clone());
    let args = f.block(Function::ENTRY).params.clone();
    let call = f.push(
        Function::ENTRY,
        Op::Call { func: import },
        args,
        &sig.results,
    );
    let results = f.inst(call).results.clone();
    f.push(Function::ENTRY, Op::Return, results, &[]);
    Some(f)
}

/// Host calls pass 8-byte slots: an imported function's v128 parameters or
/// results have no way through yet (wasm-to-wasm calls pass them in xmm
/// registers or 16-byte stack slots, `pcc::vmctx`).
fn refuse_v128_import(params: &[Type], results: &[Type]) -> Result<(), FrontendError> {
    if params.iter().chain(results).any(|t| *t == Type::V128) {
        return Err(FrontendError::UnsupportedFeature(
            "v128 parameters or results of an imported function".into(),
        ));
    }
    Ok(())
}

fn ir_type(t: ValType) -> Result<Type, FrontendError> {
    Ok(match t {
        ValType::I32 => Type::I32,
        ValType::I64 => Type::I64,
        ValType::F32 => Type::F32,
        ValType::F64 => Type::F64,
        // A reference is a 64-bit handle (0 = null) the runtime resolves.
        ValType::FuncRef | ValType::ExternRef | ValType::ExnRef => Type::I64,
        ValType::V128 => Type::V128,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Function,
    Block,
    Loop,
    If,
    Else,
}

struct Frame {
    kind: Kind,
    /// Where a branch to this label goes: the end block, or the loop header.
    target: Block,
    /// Where control continues after `end` (the end block; for a loop, a
    /// fresh block reached by falling through).
    end: Block,
    params: Vec<Type>,
    results: Vec<Type>,
    /// Operand stack height below the frame's parameters.
    height: usize,
    /// For `if`: the else arm's block, locals and parameters at entry.
    else_block: Option<Block>,
    entry_locals: Vec<Value>,
    entry_params: Vec<Value>,
    /// The locals the join takes as parameters: those assigned inside the
    /// construct (the others still hold their value from before it).
    carried: Vec<u32>,
    /// A `try_table` with catch clauses: it owns the innermost handler.
    handler: bool,
}

impl Frame {
    /// Types of the values a branch to this label carries.
    fn label_types(&self) -> &[Type] {
        if self.kind == Kind::Loop {
            &self.params
        } else {
            &self.results
        }
    }
}

struct Translator<'p, 'a> {
    parsed: &'p Parsed<'a>,
    f: Function,
    index: u32,
    locals: Vec<Value>,
    local_types: Vec<Type>,
    stack: Vec<Value>,
    frames: Vec<Frame>,
    /// The block being filled; `None` while the code is unreachable.
    current: Option<Block>,
    /// Nesting depth of blocks opened inside unreachable code.
    dead_depth: u32,
    /// For each block/loop/if in order of appearance, the locals assigned
    /// inside it (see `assigned_locals`).
    assigned: Vec<Vec<u32>>,
    /// How many constructs have been opened so far (indexes `assigned`).
    constructs: usize,
    /// The open `try_table`s with catch clauses, innermost last: where a
    /// call's exception lands.
    handlers: Vec<Handler>,
}

/// Whom a call calls: `Direct(function index)`, or
/// `Indirect(type index, table index)` through a table.
#[derive(Clone, Copy)]
enum Callee {
    Direct(u32),
    Indirect(u32, u32),
}

/// A `try_table`'s catch clauses. Every call inside it lands in its own
/// block, which jumps to `dispatch` with the locals assigned in the
/// try_table and the exnref; `dispatch` tries the clauses in order.
struct Handler {
    dispatch: Block,
    carried: Vec<u32>,
    catches: Vec<wasmparser::Catch>,
    /// Whether any call lands here (else `dispatch` is unreachable).
    used: bool,
}

/// Load rows: (result type, width, signed).
fn load_row<'o>(op: &'o Operator<'_>) -> Option<(Type, u8, bool, &'o wasmparser::MemArg)> {
    use Operator as O;
    Some(match op {
        O::I32Load { memarg } => (Type::I32, 4, false, memarg),
        O::I64Load { memarg } => (Type::I64, 8, false, memarg),
        O::I32Load8S { memarg } => (Type::I32, 1, true, memarg),
        O::I32Load8U { memarg } => (Type::I32, 1, false, memarg),
        O::I32Load16S { memarg } => (Type::I32, 2, true, memarg),
        O::I32Load16U { memarg } => (Type::I32, 2, false, memarg),
        O::I64Load8S { memarg } => (Type::I64, 1, true, memarg),
        O::I64Load8U { memarg } => (Type::I64, 1, false, memarg),
        O::I64Load16S { memarg } => (Type::I64, 2, true, memarg),
        O::I64Load16U { memarg } => (Type::I64, 2, false, memarg),
        O::I64Load32S { memarg } => (Type::I64, 4, true, memarg),
        O::I64Load32U { memarg } => (Type::I64, 4, false, memarg),
        O::F32Load { memarg } => (Type::F32, 4, false, memarg),
        O::F64Load { memarg } => (Type::F64, 8, false, memarg),
        O::V128Load { memarg } => (Type::V128, 16, false, memarg),
        _ => return None,
    })
}

/// Store rows: (value type, width).
fn store_row<'o>(op: &'o Operator<'_>) -> Option<(Type, u8, &'o wasmparser::MemArg)> {
    use Operator as O;
    Some(match op {
        O::I32Store { memarg } => (Type::I32, 4, memarg),
        O::I64Store { memarg } => (Type::I64, 8, memarg),
        O::I32Store8 { memarg } => (Type::I32, 1, memarg),
        O::I32Store16 { memarg } => (Type::I32, 2, memarg),
        O::I64Store8 { memarg } => (Type::I64, 1, memarg),
        O::I64Store16 { memarg } => (Type::I64, 2, memarg),
        O::I64Store32 { memarg } => (Type::I64, 4, memarg),
        O::F32Store { memarg } => (Type::F32, 4, memarg),
        O::F64Store { memarg } => (Type::F64, 8, memarg),
        O::V128Store { memarg } => (Type::V128, 16, memarg),
        _ => return None,
    })
}

/// One step of a v128 operator built from others: an operator on earlier
/// results. `Arg(k)`: the Wasm operand k; `Step(k)`: step k's result.
#[derive(Clone, Copy)]
enum Part {
    Arg(usize),
    Step(usize),
}

#[derive(Clone, Copy)]
enum Step {
    Bin(VBinOp, Part, Part),
    Un(VUnOp, Part),
    Not(Part),
    /// A constant vector of this 64-bit pattern in both halves.
    Splat64(u64),
}

/// v128 operators with no one SSE instruction, as a few that have one:
/// (operand count, steps); the last step is the result.
fn composite_row(op: &Operator<'_>) -> Option<(usize, Vec<Step>)> {
    use Operator as O;
    use Part::{Arg, Step as S};
    use Step::*;
    use VBinOp as B;
    // a - b as 0 - x; a != b as !(a == b); a >= b as !(a < b).
    let neg = |sub| (1, vec![Splat64(0), Bin(sub, S(0), Arg(0))]);
    let not_of = |op, x, y| (2, vec![Bin(op, x, y), Not(S(0))]);
    // Unsigned: a <= b iff max(a, b) == b.
    let le_u = |max, eq, x, y| (2, vec![Bin(max, x, y), Bin(eq, S(0), y)]);
    let gt_u = |max, eq, x, y| (2, vec![Bin(max, x, y), Bin(eq, S(0), y), Not(S(1))]);
    let sign = |pattern: u64, op| (1, vec![Splat64(pattern), Bin(op, Arg(0), S(0))]);
    // Each lane widened or moved (both operands alike), then multiplied.
    let widened_mul = |ext, mul| {
        (
            2,
            vec![Un(ext, Arg(0)), Un(ext, Arg(1)), Bin(mul, S(0), S(1))],
        )
    };
    // The 16-bit products' low and high halves, interleaved.
    let mul_16 = |high, interleave| {
        (
            2,
            vec![
                Bin(B::I16x8Mul, Arg(0), Arg(1)),
                Bin(high, Arg(0), Arg(1)),
                Bin(interleave, S(0), S(1)),
            ],
        )
    };
    // i64x2 x < y: the sign of x - y, flipped where that overflowed (x, y
    // of different signs and x - y's sign not x's), as a lane mask.
    let lt_64 = |x, y| {
        vec![
            Bin(B::I64x2Sub, x, y),
            Bin(B::Xor, x, y),
            Bin(B::Xor, S(0), x),
            Bin(B::And, S(1), S(2)),
            Bin(B::Xor, S(0), S(3)),
            Un(VUnOp::I64x2SignMask, S(4)),
        ]
    };
    let not_lt_64 = |x, y| {
        let mut v = lt_64(x, y);
        v.push(Not(S(5)));
        (2, v)
    };
    const ONES_8: u64 = 0x0101_0101_0101_0101;
    const ONES_16: u64 = 0x0001_0001_0001_0001;
    const SIGNS_16: u64 = 0x8000_8000_8000_8000;
    Some(match op {
        // pmaddubsw: unsigned bytes of its first operand times signed ones
        // of its second, adjacent pairs added (never saturating here).
        O::I16x8ExtAddPairwiseI8x16S => (
            1,
            vec![Splat64(ONES_8), Bin(B::I16x8MulAddU8S8, S(0), Arg(0))],
        ),
        O::I16x8ExtAddPairwiseI8x16U => (
            1,
            vec![Splat64(ONES_8), Bin(B::I16x8MulAddU8S8, Arg(0), S(0))],
        ),
        O::I32x4ExtAddPairwiseI16x8S => (
            1,
            vec![Splat64(ONES_16), Bin(B::I32x4DotI16x8S, Arg(0), S(0))],
        ),
        // Unsigned: each lane biased by -0x8000 to signed, summed in pairs
        // (pmaddwd by ones), the 2 * 0x8000 added back.
        O::I32x4ExtAddPairwiseI16x8U => (
            1,
            vec![
                Splat64(SIGNS_16),
                Bin(B::Xor, Arg(0), S(0)),
                Splat64(ONES_16),
                Bin(B::I32x4DotI16x8S, S(1), S(2)),
                Splat64(0x0001_0000_0001_0000),
                Bin(B::I32x4Add, S(3), S(4)),
            ],
        ),
        O::I16x8ExtMulLowI8x16S => widened_mul(VUnOp::I16x8ExtendLowI8x16S, B::I16x8Mul),
        O::I16x8ExtMulHighI8x16S => widened_mul(VUnOp::I16x8ExtendHighI8x16S, B::I16x8Mul),
        O::I16x8ExtMulLowI8x16U => widened_mul(VUnOp::I16x8ExtendLowI8x16U, B::I16x8Mul),
        O::I16x8ExtMulHighI8x16U => widened_mul(VUnOp::I16x8ExtendHighI8x16U, B::I16x8Mul),
        O::I32x4ExtMulLowI16x8S => mul_16(B::I16x8MulHighS, B::InterleaveLow16),
        O::I32x4ExtMulHighI16x8S => mul_16(B::I16x8MulHighS, B::InterleaveHigh16),
        O::I32x4ExtMulLowI16x8U => mul_16(B::I16x8MulHighU, B::InterleaveLow16),
        O::I32x4ExtMulHighI16x8U => mul_16(B::I16x8MulHighU, B::InterleaveHigh16),
        // pmuldq/pmuludq multiply the low dword of each 64-bit lane: the
        // lanes are spread there (one pshufd each), not widened.
        O::I64x2ExtMulLowI32x4S => widened_mul(VUnOp::I64x2SpreadLowI32, B::I64x2MulEvenS),
        O::I64x2ExtMulHighI32x4S => widened_mul(VUnOp::I64x2SpreadHighI32, B::I64x2MulEvenS),
        O::I64x2ExtMulLowI32x4U => widened_mul(VUnOp::I64x2SpreadLowI32, B::I64x2MulEvenU),
        O::I64x2ExtMulHighI32x4U => widened_mul(VUnOp::I64x2SpreadHighI32, B::I64x2MulEvenU),
        // pmulhrsw is the Wasm operator but for 0x8000 * 0x8000, which it
        // leaves 0x8000 (the one lane that can give 0x8000) instead of
        // saturating to 0x7fff.
        O::I16x8Q15MulrSatS => (
            2,
            vec![
                Bin(B::I16x8Q15MulrRaw, Arg(0), Arg(1)),
                Splat64(SIGNS_16),
                Bin(B::I16x8Eq, S(0), S(1)),
                Bin(B::Xor, S(0), S(2)),
            ],
        ),
        // (x ^ s) - s with s the lane's sign mask.
        O::I64x2Abs => (
            1,
            vec![
                Un(VUnOp::I64x2SignMask, Arg(0)),
                Bin(B::Xor, Arg(0), S(0)),
                Bin(B::I64x2Sub, S(1), S(0)),
            ],
        ),
        O::I64x2LtS => (2, lt_64(Arg(0), Arg(1))),
        O::I64x2GtS => (2, lt_64(Arg(1), Arg(0))),
        O::I64x2GeS => not_lt_64(Arg(0), Arg(1)),
        O::I64x2LeS => not_lt_64(Arg(1), Arg(0)),
        // NaN lanes to 0 and the rest at most 2^31 - 1 (minpd returns its
        // second operand on NaN: pmin(m, x) is minpd x, m), then cvttpd2dq,
        // which gives i32::MIN below the range and zeroes the high lanes.
        O::I32x4TruncSatF64x2SZero => (
            1,
            vec![
                Bin(B::F64x2Eq, Arg(0), Arg(0)),
                Splat64(0x41df_ffff_ffc0_0000),
                Bin(B::And, S(0), S(1)),
                Bin(B::F64x2PMin, S(2), Arg(0)),
                Un(VUnOp::I32x4TruncF64x2ZeroRaw, S(3)),
            ],
        ),
        // Each u32 as the low half of the f64 2^52 + u, less 2^52: exact.
        O::F64x2ConvertLowI32x4U => (
            1,
            vec![
                Splat64(0x4330_0000_4330_0000),
                Bin(B::InterleaveLow32, Arg(0), S(0)),
                Splat64(0x4330_0000_0000_0000),
                Bin(B::F64x2Sub, S(1), S(2)),
            ],
        ),
        O::I8x16Neg => neg(B::I8x16Sub),
        O::I16x8Neg => neg(B::I16x8Sub),
        O::I32x4Neg => neg(B::I32x4Sub),
        O::I64x2Neg => neg(B::I64x2Sub),
        O::F32x4Neg => sign(0x8000_0000_8000_0000, B::Xor),
        O::F64x2Neg => sign(0x8000_0000_0000_0000, B::Xor),
        O::F32x4Abs => sign(0x7fff_ffff_7fff_ffff, B::And),
        O::F64x2Abs => sign(0x7fff_ffff_ffff_ffff, B::And),
        // (a & m) | (b & !m)
        O::V128Bitselect => (
            3,
            vec![
                Bin(B::And, Arg(0), Arg(2)),
                Bin(B::AndNot, Arg(1), Arg(2)),
                Bin(B::Or, S(0), S(1)),
            ],
        ),
        O::I8x16Ne => not_of(B::I8x16Eq, Arg(0), Arg(1)),
        O::I16x8Ne => not_of(B::I16x8Eq, Arg(0), Arg(1)),
        O::I32x4Ne => not_of(B::I32x4Eq, Arg(0), Arg(1)),
        O::I64x2Ne => not_of(B::I64x2Eq, Arg(0), Arg(1)),
        O::I8x16GeS => not_of(B::I8x16LtS, Arg(0), Arg(1)),
        O::I16x8GeS => not_of(B::I16x8LtS, Arg(0), Arg(1)),
        O::I32x4GeS => not_of(B::I32x4LtS, Arg(0), Arg(1)),
        O::I8x16LeS => not_of(B::I8x16GtS, Arg(0), Arg(1)),
        O::I16x8LeS => not_of(B::I16x8GtS, Arg(0), Arg(1)),
        O::I32x4LeS => not_of(B::I32x4GtS, Arg(0), Arg(1)),
        O::I8x16LeU => le_u(B::I8x16MaxU, B::I8x16Eq, Arg(0), Arg(1)),
        O::I16x8LeU => le_u(B::I16x8MaxU, B::I16x8Eq, Arg(0), Arg(1)),
        O::I32x4LeU => le_u(B::I32x4MaxU, B::I32x4Eq, Arg(0), Arg(1)),
        O::I8x16GeU => le_u(B::I8x16MaxU, B::I8x16Eq, Arg(1), Arg(0)),
        O::I16x8GeU => le_u(B::I16x8MaxU, B::I16x8Eq, Arg(1), Arg(0)),
        O::I32x4GeU => le_u(B::I32x4MaxU, B::I32x4Eq, Arg(1), Arg(0)),
        O::I8x16GtU => gt_u(B::I8x16MaxU, B::I8x16Eq, Arg(0), Arg(1)),
        O::I16x8GtU => gt_u(B::I16x8MaxU, B::I16x8Eq, Arg(0), Arg(1)),
        O::I32x4GtU => gt_u(B::I32x4MaxU, B::I32x4Eq, Arg(0), Arg(1)),
        O::I8x16LtU => gt_u(B::I8x16MaxU, B::I8x16Eq, Arg(1), Arg(0)),
        O::I16x8LtU => gt_u(B::I16x8MaxU, B::I16x8Eq, Arg(1), Arg(0)),
        O::I32x4LtU => gt_u(B::I32x4MaxU, B::I32x4Eq, Arg(1), Arg(0)),
        _ => return None,
    })
}

/// The v128 memory operators that are a scalar access and a lane
/// operation: the access keeps its own width, so its heap obligation is of
/// the bytes it touches.
#[derive(Clone, Copy)]
enum VectorAccess {
    /// Load one lane's width, then splat it.
    Splat(Lanes),
    /// Load one lane's width into lane 0 of a zero vector.
    Zero(Lanes),
    /// Load into lane `k` of the vector operand.
    LoadLane(Lanes, u8),
    /// Store lane `k` of the vector operand.
    StoreLane(Lanes, u8),
    /// Load 8 bytes (`movsd`) and widen their lanes with this operator
    /// (`pmovsx*`/`pmovzx*`).
    Extend(VUnOp),
}

fn vector_access_row<'o>(op: &'o Operator<'_>) -> Option<(VectorAccess, &'o wasmparser::MemArg)> {
    use Lanes::*;
    use Operator as O;
    use VectorAccess::*;
    Some(match op {
        O::V128Load8Splat { memarg } => (Splat(I8x16), memarg),
        O::V128Load16Splat { memarg } => (Splat(I16x8), memarg),
        O::V128Load32Splat { memarg } => (Splat(I32x4), memarg),
        O::V128Load64Splat { memarg } => (Splat(I64x2), memarg),
        O::V128Load32Zero { memarg } => (Zero(I32x4), memarg),
        O::V128Load64Zero { memarg } => (Zero(I64x2), memarg),
        O::V128Load8Lane { memarg, lane } => (LoadLane(I8x16, *lane), memarg),
        O::V128Load16Lane { memarg, lane } => (LoadLane(I16x8, *lane), memarg),
        O::V128Load32Lane { memarg, lane } => (LoadLane(I32x4, *lane), memarg),
        O::V128Load64Lane { memarg, lane } => (LoadLane(I64x2, *lane), memarg),
        O::V128Store8Lane { memarg, lane } => (StoreLane(I8x16, *lane), memarg),
        O::V128Store16Lane { memarg, lane } => (StoreLane(I16x8, *lane), memarg),
        O::V128Store32Lane { memarg, lane } => (StoreLane(I32x4, *lane), memarg),
        O::V128Store64Lane { memarg, lane } => (StoreLane(I64x2, *lane), memarg),
        O::V128Load8x8S { memarg } => (Extend(VUnOp::I16x8ExtendLowI8x16S), memarg),
        O::V128Load8x8U { memarg } => (Extend(VUnOp::I16x8ExtendLowI8x16U), memarg),
        O::V128Load16x4S { memarg } => (Extend(VUnOp::I32x4ExtendLowI16x8S), memarg),
        O::V128Load16x4U { memarg } => (Extend(VUnOp::I32x4ExtendLowI16x8U), memarg),
        O::V128Load32x2S { memarg } => (Extend(VUnOp::I64x2ExtendLowI32x4S), memarg),
        O::V128Load32x2U { memarg } => (Extend(VUnOp::I64x2ExtendLowI32x4U), memarg),
        _ => return None,
    })
}

/// A lane's width in bytes.
fn lane_bytes(lanes: Lanes) -> u8 {
    match lanes {
        Lanes::I8x16 => 1,
        Lanes::I16x8 => 2,
        Lanes::I32x4 | Lanes::F32x4 => 4,
        Lanes::I64x2 | Lanes::F64x2 => 8,
    }
}

/// Pure operator rows: (IR op, operand count, result type). The float→int
/// truncations are here too: they may trap, but like division they are
/// plain operators of the IR.
fn pure_row(op: &Operator<'_>) -> Option<(Op, usize, Type)> {
    use Operator as O;
    use Type::{F32, F64, I32, I64};
    let fbin = |op, ty| Some((Op::FBinary { op, ty }, 2, ty));
    let fun = |op, ty| Some((Op::FUnary { op, ty }, 1, ty));
    let fcmp = |cc, ty| Some((Op::Fcmp { cc, ty }, 2, I32));
    let trunc = |from, to, signed, saturating| {
        Some((
            Op::FloatToInt {
                from,
                to,
                signed,
                saturating,
            },
            1,
            to,
        ))
    };
    let convert = |from, to, signed| Some((Op::IntToFloat { from, to, signed }, 1, to));
    let bin = |op, ty| Some((Op::Binary { op, ty }, 2, ty));
    let vbin = |op| Some((Op::VBinary { op }, 2, Type::V128));
    let vun = |op| Some((Op::VUnary { op }, 1, Type::V128));
    let reduce = |op| Some((Op::VReduce { op }, 1, I32));
    let splat = |lanes| Some((Op::VSplat { lanes }, 1, Type::V128));
    let vshift = |lanes, kind| Some((Op::VShift { lanes, kind }, 2, Type::V128));
    let extract = |lanes: Lanes, lane, signed| {
        Some((
            Op::VExtract {
                lanes,
                lane,
                signed,
            },
            1,
            lanes.scalar(),
        ))
    };
    let replace = |lanes, lane| Some((Op::VReplace { lanes, lane }, 2, Type::V128));
    let un = |op, ty| Some((Op::Unary { op, ty }, 1, ty));
    let cmp = |cc, ty| Some((Op::Icmp { cc, ty }, 2, I32));
    match op {
        O::V128Not => Some((Op::VNot, 1, Type::V128)),
        O::I16x8Shl => vshift(Lanes::I16x8, VShiftKind::Shl),
        O::I32x4Shl => vshift(Lanes::I32x4, VShiftKind::Shl),
        O::I64x2Shl => vshift(Lanes::I64x2, VShiftKind::Shl),
        O::I16x8ShrU => vshift(Lanes::I16x8, VShiftKind::ShrU),
        O::I32x4ShrU => vshift(Lanes::I32x4, VShiftKind::ShrU),
        O::I64x2ShrU => vshift(Lanes::I64x2, VShiftKind::ShrU),
        O::I16x8ShrS => vshift(Lanes::I16x8, VShiftKind::ShrS),
        O::I32x4ShrS => vshift(Lanes::I32x4, VShiftKind::ShrS),
        O::I16x8ExtendLowI8x16S => Some((
            Op::VUnary {
                op: VUnOp::I16x8ExtendLowI8x16S,
            },
            1,
            Type::V128,
        )),
        O::I16x8ExtendLowI8x16U => Some((
            Op::VUnary {
                op: VUnOp::I16x8ExtendLowI8x16U,
            },
            1,
            Type::V128,
        )),
        O::I16x8ExtendHighI8x16S => Some((
            Op::VUnary {
                op: VUnOp::I16x8ExtendHighI8x16S,
            },
            1,
            Type::V128,
        )),
        O::I16x8ExtendHighI8x16U => Some((
            Op::VUnary {
                op: VUnOp::I16x8ExtendHighI8x16U,
            },
            1,
            Type::V128,
        )),
        O::I32x4ExtendLowI16x8S => Some((
            Op::VUnary {
                op: VUnOp::I32x4ExtendLowI16x8S,
            },
            1,
            Type::V128,
        )),
        O::I32x4ExtendLowI16x8U => Some((
            Op::VUnary {
                op: VUnOp::I32x4ExtendLowI16x8U,
            },
            1,
            Type::V128,
        )),
        O::I32x4ExtendHighI16x8S => Some((
            Op::VUnary {
                op: VUnOp::I32x4ExtendHighI16x8S,
            },
            1,
            Type::V128,
        )),
        O::I32x4ExtendHighI16x8U => Some((
            Op::VUnary {
                op: VUnOp::I32x4ExtendHighI16x8U,
            },
            1,
            Type::V128,
        )),
        O::I64x2ExtendLowI32x4S => Some((
            Op::VUnary {
                op: VUnOp::I64x2ExtendLowI32x4S,
            },
            1,
            Type::V128,
        )),
        O::I64x2ExtendLowI32x4U => Some((
            Op::VUnary {
                op: VUnOp::I64x2ExtendLowI32x4U,
            },
            1,
            Type::V128,
        )),
        O::I64x2ExtendHighI32x4S => Some((
            Op::VUnary {
                op: VUnOp::I64x2ExtendHighI32x4S,
            },
            1,
            Type::V128,
        )),
        O::I64x2ExtendHighI32x4U => Some((
            Op::VUnary {
                op: VUnOp::I64x2ExtendHighI32x4U,
            },
            1,
            Type::V128,
        )),
        O::I8x16Abs => Some((
            Op::VUnary {
                op: VUnOp::I8x16Abs,
            },
            1,
            Type::V128,
        )),
        O::I16x8Abs => Some((
            Op::VUnary {
                op: VUnOp::I16x8Abs,
            },
            1,
            Type::V128,
        )),
        O::I32x4Abs => Some((
            Op::VUnary {
                op: VUnOp::I32x4Abs,
            },
            1,
            Type::V128,
        )),
        O::I8x16Shl => vshift(Lanes::I8x16, VShiftKind::Shl),
        O::I8x16ShrU => vshift(Lanes::I8x16, VShiftKind::ShrU),
        O::I8x16ShrS => vshift(Lanes::I8x16, VShiftKind::ShrS),
        O::F32x4Nearest => Some((
            Op::VUnary {
                op: VUnOp::F32x4Nearest,
            },
            1,
            Type::V128,
        )),
        O::F32x4Floor => Some((
            Op::VUnary {
                op: VUnOp::F32x4Floor,
            },
            1,
            Type::V128,
        )),
        O::F32x4Ceil => Some((
            Op::VUnary {
                op: VUnOp::F32x4Ceil,
            },
            1,
            Type::V128,
        )),
        O::F32x4Trunc => Some((
            Op::VUnary {
                op: VUnOp::F32x4Trunc,
            },
            1,
            Type::V128,
        )),
        O::F64x2Nearest => Some((
            Op::VUnary {
                op: VUnOp::F64x2Nearest,
            },
            1,
            Type::V128,
        )),
        O::F64x2Floor => Some((
            Op::VUnary {
                op: VUnOp::F64x2Floor,
            },
            1,
            Type::V128,
        )),
        O::F64x2Ceil => Some((
            Op::VUnary {
                op: VUnOp::F64x2Ceil,
            },
            1,
            Type::V128,
        )),
        O::F64x2Trunc => Some((
            Op::VUnary {
                op: VUnOp::F64x2Trunc,
            },
            1,
            Type::V128,
        )),
        O::F32x4Sqrt => Some((
            Op::VUnary {
                op: VUnOp::F32x4Sqrt,
            },
            1,
            Type::V128,
        )),
        O::F64x2Sqrt => Some((
            Op::VUnary {
                op: VUnOp::F64x2Sqrt,
            },
            1,
            Type::V128,
        )),
        O::F32x4ConvertI32x4S => Some((
            Op::VUnary {
                op: VUnOp::F32x4ConvertI32x4S,
            },
            1,
            Type::V128,
        )),
        O::F64x2ConvertLowI32x4S => Some((
            Op::VUnary {
                op: VUnOp::F64x2ConvertLowI32x4S,
            },
            1,
            Type::V128,
        )),
        O::F32x4DemoteF64x2Zero => Some((
            Op::VUnary {
                op: VUnOp::F32x4DemoteF64x2Zero,
            },
            1,
            Type::V128,
        )),
        O::F64x2PromoteLowF32x4 => Some((
            Op::VUnary {
                op: VUnOp::F64x2PromoteLowF32x4,
            },
            1,
            Type::V128,
        )),
        O::I32x4TruncSatF32x4S => Some((
            Op::VUnary {
                op: VUnOp::I32x4TruncSatF32x4S,
            },
            1,
            Type::V128,
        )),
        O::F32x4ConvertI32x4U => Some((
            Op::VUnary {
                op: VUnOp::F32x4ConvertI32x4U,
            },
            1,
            Type::V128,
        )),
        O::I8x16Popcnt => vun(VUnOp::I8x16Popcnt),
        O::I32x4TruncSatF32x4U => vun(VUnOp::I32x4TruncSatF32x4U),
        O::I32x4TruncSatF64x2UZero => vun(VUnOp::I32x4TruncSatF64x2UZero),
        O::I64x2ShrS => vshift(Lanes::I64x2, VShiftKind::ShrS),
        O::F32x4Min => vbin(VBinOp::F32x4Min),
        O::F32x4Max => vbin(VBinOp::F32x4Max),
        O::F64x2Min => vbin(VBinOp::F64x2Min),
        O::F64x2Max => vbin(VBinOp::F64x2Max),
        O::F32x4PMin => vbin(VBinOp::F32x4PMin),
        O::F32x4PMax => vbin(VBinOp::F32x4PMax),
        O::F64x2PMin => vbin(VBinOp::F64x2PMin),
        O::F64x2PMax => vbin(VBinOp::F64x2PMax),
        O::V128AnyTrue => reduce(VReduce::AnyTrue),
        O::I8x16AllTrue => reduce(VReduce::AllTrue(Lanes::I8x16)),
        O::I16x8AllTrue => reduce(VReduce::AllTrue(Lanes::I16x8)),
        O::I32x4AllTrue => reduce(VReduce::AllTrue(Lanes::I32x4)),
        O::I64x2AllTrue => reduce(VReduce::AllTrue(Lanes::I64x2)),
        O::I8x16Bitmask => reduce(VReduce::Bitmask(Lanes::I8x16)),
        O::I16x8Bitmask => reduce(VReduce::Bitmask(Lanes::I16x8)),
        O::I32x4Bitmask => reduce(VReduce::Bitmask(Lanes::I32x4)),
        O::I64x2Bitmask => reduce(VReduce::Bitmask(Lanes::I64x2)),
        O::F32x4Eq => vbin(VBinOp::F32x4Eq),
        O::F32x4Ne => vbin(VBinOp::F32x4Ne),
        O::F32x4Lt => vbin(VBinOp::F32x4Lt),
        O::F32x4Le => vbin(VBinOp::F32x4Le),
        O::F32x4Gt => vbin(VBinOp::F32x4Gt),
        O::F32x4Ge => vbin(VBinOp::F32x4Ge),
        O::F64x2Eq => vbin(VBinOp::F64x2Eq),
        O::F64x2Ne => vbin(VBinOp::F64x2Ne),
        O::F64x2Lt => vbin(VBinOp::F64x2Lt),
        O::F64x2Le => vbin(VBinOp::F64x2Le),
        O::F64x2Gt => vbin(VBinOp::F64x2Gt),
        O::F64x2Ge => vbin(VBinOp::F64x2Ge),
        O::I8x16Swizzle => vbin(VBinOp::Swizzle),
        O::I8x16Shuffle { lanes } => Some((Op::VShuffle { lanes: *lanes }, 2, Type::V128)),
        O::I8x16Splat => splat(Lanes::I8x16),
        O::I16x8Splat => splat(Lanes::I16x8),
        O::I32x4Splat => splat(Lanes::I32x4),
        O::I64x2Splat => splat(Lanes::I64x2),
        O::F32x4Splat => splat(Lanes::F32x4),
        O::F64x2Splat => splat(Lanes::F64x2),
        O::I8x16ExtractLaneS { lane } => extract(Lanes::I8x16, *lane, true),
        O::I8x16ExtractLaneU { lane } => extract(Lanes::I8x16, *lane, false),
        O::I16x8ExtractLaneS { lane } => extract(Lanes::I16x8, *lane, true),
        O::I16x8ExtractLaneU { lane } => extract(Lanes::I16x8, *lane, false),
        O::I32x4ExtractLane { lane } => extract(Lanes::I32x4, *lane, false),
        O::I64x2ExtractLane { lane } => extract(Lanes::I64x2, *lane, false),
        O::F32x4ExtractLane { lane } => extract(Lanes::F32x4, *lane, false),
        O::F64x2ExtractLane { lane } => extract(Lanes::F64x2, *lane, false),
        O::I8x16ReplaceLane { lane } => replace(Lanes::I8x16, *lane),
        O::I16x8ReplaceLane { lane } => replace(Lanes::I16x8, *lane),
        O::I32x4ReplaceLane { lane } => replace(Lanes::I32x4, *lane),
        O::I64x2ReplaceLane { lane } => replace(Lanes::I64x2, *lane),
        O::F32x4ReplaceLane { lane } => replace(Lanes::F32x4, *lane),
        O::F64x2ReplaceLane { lane } => replace(Lanes::F64x2, *lane),
        O::V128And => vbin(VBinOp::And),
        O::V128Or => vbin(VBinOp::Or),
        O::V128Xor => vbin(VBinOp::Xor),
        O::V128AndNot => vbin(VBinOp::AndNot),
        O::I8x16Add => vbin(VBinOp::I8x16Add),
        O::I16x8Add => vbin(VBinOp::I16x8Add),
        O::I32x4Add => vbin(VBinOp::I32x4Add),
        O::I64x2Add => vbin(VBinOp::I64x2Add),
        O::I8x16Sub => vbin(VBinOp::I8x16Sub),
        O::I16x8Sub => vbin(VBinOp::I16x8Sub),
        O::I32x4Sub => vbin(VBinOp::I32x4Sub),
        O::I64x2Sub => vbin(VBinOp::I64x2Sub),
        O::I8x16AddSatS => vbin(VBinOp::I8x16AddSatS),
        O::I8x16AddSatU => vbin(VBinOp::I8x16AddSatU),
        O::I8x16SubSatS => vbin(VBinOp::I8x16SubSatS),
        O::I8x16SubSatU => vbin(VBinOp::I8x16SubSatU),
        O::I8x16MinS => vbin(VBinOp::I8x16MinS),
        O::I8x16MinU => vbin(VBinOp::I8x16MinU),
        O::I8x16MaxS => vbin(VBinOp::I8x16MaxS),
        O::I8x16MaxU => vbin(VBinOp::I8x16MaxU),
        O::I8x16AvgrU => vbin(VBinOp::I8x16AvgrU),
        O::I8x16Eq => vbin(VBinOp::I8x16Eq),
        O::I8x16GtS => vbin(VBinOp::I8x16GtS),
        O::I8x16LtS => vbin(VBinOp::I8x16LtS),
        O::I8x16NarrowI16x8S => vbin(VBinOp::I8x16NarrowI16x8S),
        O::I8x16NarrowI16x8U => vbin(VBinOp::I8x16NarrowI16x8U),
        O::I16x8AddSatS => vbin(VBinOp::I16x8AddSatS),
        O::I16x8AddSatU => vbin(VBinOp::I16x8AddSatU),
        O::I16x8SubSatS => vbin(VBinOp::I16x8SubSatS),
        O::I16x8SubSatU => vbin(VBinOp::I16x8SubSatU),
        O::I16x8Mul => vbin(VBinOp::I16x8Mul),
        O::I16x8MinS => vbin(VBinOp::I16x8MinS),
        O::I16x8MinU => vbin(VBinOp::I16x8MinU),
        O::I16x8MaxS => vbin(VBinOp::I16x8MaxS),
        O::I16x8MaxU => vbin(VBinOp::I16x8MaxU),
        O::I16x8AvgrU => vbin(VBinOp::I16x8AvgrU),
        O::I16x8Eq => vbin(VBinOp::I16x8Eq),
        O::I16x8GtS => vbin(VBinOp::I16x8GtS),
        O::I16x8LtS => vbin(VBinOp::I16x8LtS),
        O::I16x8NarrowI32x4S => vbin(VBinOp::I16x8NarrowI32x4S),
        O::I16x8NarrowI32x4U => vbin(VBinOp::I16x8NarrowI32x4U),
        O::I32x4Mul => vbin(VBinOp::I32x4Mul),
        O::I32x4MinS => vbin(VBinOp::I32x4MinS),
        O::I32x4MinU => vbin(VBinOp::I32x4MinU),
        O::I32x4MaxS => vbin(VBinOp::I32x4MaxS),
        O::I32x4MaxU => vbin(VBinOp::I32x4MaxU),
        O::I32x4Eq => vbin(VBinOp::I32x4Eq),
        O::I32x4GtS => vbin(VBinOp::I32x4GtS),
        O::I32x4LtS => vbin(VBinOp::I32x4LtS),
        O::I32x4DotI16x8S => vbin(VBinOp::I32x4DotI16x8S),
        O::I64x2Mul => vbin(VBinOp::I64x2Mul),
        O::I64x2Eq => vbin(VBinOp::I64x2Eq),
        O::F32x4Add => vbin(VBinOp::F32x4Add),
        O::F32x4Sub => vbin(VBinOp::F32x4Sub),
        O::F32x4Mul => vbin(VBinOp::F32x4Mul),
        O::F32x4Div => vbin(VBinOp::F32x4Div),
        O::F64x2Add => vbin(VBinOp::F64x2Add),
        O::F64x2Sub => vbin(VBinOp::F64x2Sub),
        O::F64x2Mul => vbin(VBinOp::F64x2Mul),
        O::F64x2Div => vbin(VBinOp::F64x2Div),
        O::I32Add => bin(BinOp::Add, I32),
        O::I32Sub => bin(BinOp::Sub, I32),
        O::I32Mul => bin(BinOp::Mul, I32),
        O::I32DivS => bin(BinOp::DivS, I32),
        O::I32DivU => bin(BinOp::DivU, I32),
        O::I32RemS => bin(BinOp::RemS, I32),
        O::I32RemU => bin(BinOp::RemU, I32),
        O::I32And => bin(BinOp::And, I32),
        O::I32Or => bin(BinOp::Or, I32),
        O::I32Xor => bin(BinOp::Xor, I32),
        O::I32Shl => bin(BinOp::Shl, I32),
        O::I32ShrS => bin(BinOp::ShrS, I32),
        O::I32ShrU => bin(BinOp::ShrU, I32),
        O::I32Rotl => bin(BinOp::Rotl, I32),
        O::I32Rotr => bin(BinOp::Rotr, I32),
        O::I64Add => bin(BinOp::Add, I64),
        O::I64Sub => bin(BinOp::Sub, I64),
        O::I64Mul => bin(BinOp::Mul, I64),
        O::I64DivS => bin(BinOp::DivS, I64),
        O::I64DivU => bin(BinOp::DivU, I64),
        O::I64RemS => bin(BinOp::RemS, I64),
        O::I64RemU => bin(BinOp::RemU, I64),
        O::I64And => bin(BinOp::And, I64),
        O::I64Or => bin(BinOp::Or, I64),
        O::I64Xor => bin(BinOp::Xor, I64),
        O::I64Shl => bin(BinOp::Shl, I64),
        O::I64ShrS => bin(BinOp::ShrS, I64),
        O::I64ShrU => bin(BinOp::ShrU, I64),
        O::I64Rotl => bin(BinOp::Rotl, I64),
        O::I64Rotr => bin(BinOp::Rotr, I64),
        O::I32Clz => un(UnOp::Clz, I32),
        O::I32Ctz => un(UnOp::Ctz, I32),
        O::I32Popcnt => un(UnOp::Popcnt, I32),
        O::I64Clz => un(UnOp::Clz, I64),
        O::I64Ctz => un(UnOp::Ctz, I64),
        O::I64Popcnt => un(UnOp::Popcnt, I64),
        O::I32Extend8S => un(UnOp::Extend8S, I32),
        O::I32Extend16S => un(UnOp::Extend16S, I32),
        O::I64Extend8S => un(UnOp::Extend8S, I64),
        O::I64Extend16S => un(UnOp::Extend16S, I64),
        O::I64Extend32S => un(UnOp::Extend32S, I64),
        O::I32Eqz => Some((Op::Eqz { ty: I32 }, 1, I32)),
        O::I64Eqz => Some((Op::Eqz { ty: I64 }, 1, I32)),
        O::I32Eq => cmp(IntCC::Eq, I32),
        O::I32Ne => cmp(IntCC::Ne, I32),
        O::I32LtS => cmp(IntCC::LtS, I32),
        O::I32LtU => cmp(IntCC::LtU, I32),
        O::I32GtS => cmp(IntCC::GtS, I32),
        O::I32GtU => cmp(IntCC::GtU, I32),
        O::I32LeS => cmp(IntCC::LeS, I32),
        O::I32LeU => cmp(IntCC::LeU, I32),
        O::I32GeS => cmp(IntCC::GeS, I32),
        O::I32GeU => cmp(IntCC::GeU, I32),
        O::I64Eq => cmp(IntCC::Eq, I64),
        O::I64Ne => cmp(IntCC::Ne, I64),
        O::I64LtS => cmp(IntCC::LtS, I64),
        O::I64LtU => cmp(IntCC::LtU, I64),
        O::I64GtS => cmp(IntCC::GtS, I64),
        O::I64GtU => cmp(IntCC::GtU, I64),
        O::I64LeS => cmp(IntCC::LeS, I64),
        O::I64LeU => cmp(IntCC::LeU, I64),
        O::I64GeS => cmp(IntCC::GeS, I64),
        O::I64GeU => cmp(IntCC::GeU, I64),
        O::I32WrapI64 => Some((Op::Wrap, 1, I32)),
        O::I64ExtendI32S => Some((Op::ExtendS, 1, I64)),
        O::I64ExtendI32U => Some((Op::ExtendU, 1, I64)),
        O::F32Add => fbin(FBinOp::Add, F32),
        O::F32Sub => fbin(FBinOp::Sub, F32),
        O::F32Mul => fbin(FBinOp::Mul, F32),
        O::F32Div => fbin(FBinOp::Div, F32),
        O::F32Min => fbin(FBinOp::Min, F32),
        O::F32Max => fbin(FBinOp::Max, F32),
        O::F32Copysign => fbin(FBinOp::Copysign, F32),
        O::F64Add => fbin(FBinOp::Add, F64),
        O::F64Sub => fbin(FBinOp::Sub, F64),
        O::F64Mul => fbin(FBinOp::Mul, F64),
        O::F64Div => fbin(FBinOp::Div, F64),
        O::F64Min => fbin(FBinOp::Min, F64),
        O::F64Max => fbin(FBinOp::Max, F64),
        O::F64Copysign => fbin(FBinOp::Copysign, F64),
        O::F32Abs => fun(FUnOp::Abs, F32),
        O::F32Neg => fun(FUnOp::Neg, F32),
        O::F32Sqrt => fun(FUnOp::Sqrt, F32),
        O::F32Ceil => fun(FUnOp::Ceil, F32),
        O::F32Floor => fun(FUnOp::Floor, F32),
        O::F32Trunc => fun(FUnOp::Trunc, F32),
        O::F32Nearest => fun(FUnOp::Nearest, F32),
        O::F64Abs => fun(FUnOp::Abs, F64),
        O::F64Neg => fun(FUnOp::Neg, F64),
        O::F64Sqrt => fun(FUnOp::Sqrt, F64),
        O::F64Ceil => fun(FUnOp::Ceil, F64),
        O::F64Floor => fun(FUnOp::Floor, F64),
        O::F64Trunc => fun(FUnOp::Trunc, F64),
        O::F64Nearest => fun(FUnOp::Nearest, F64),
        O::F32Eq => fcmp(FloatCC::Eq, F32),
        O::F32Ne => fcmp(FloatCC::Ne, F32),
        O::F32Lt => fcmp(FloatCC::Lt, F32),
        O::F32Gt => fcmp(FloatCC::Gt, F32),
        O::F32Le => fcmp(FloatCC::Le, F32),
        O::F32Ge => fcmp(FloatCC::Ge, F32),
        O::F64Eq => fcmp(FloatCC::Eq, F64),
        O::F64Ne => fcmp(FloatCC::Ne, F64),
        O::F64Lt => fcmp(FloatCC::Lt, F64),
        O::F64Gt => fcmp(FloatCC::Gt, F64),
        O::F64Le => fcmp(FloatCC::Le, F64),
        O::F64Ge => fcmp(FloatCC::Ge, F64),
        O::I32TruncF32S => trunc(F32, I32, true, false),
        O::I32TruncF32U => trunc(F32, I32, false, false),
        O::I32TruncF64S => trunc(F64, I32, true, false),
        O::I32TruncF64U => trunc(F64, I32, false, false),
        O::I64TruncF32S => trunc(F32, I64, true, false),
        O::I64TruncF32U => trunc(F32, I64, false, false),
        O::I64TruncF64S => trunc(F64, I64, true, false),
        O::I64TruncF64U => trunc(F64, I64, false, false),
        O::I32TruncSatF32S => trunc(F32, I32, true, true),
        O::I32TruncSatF32U => trunc(F32, I32, false, true),
        O::I32TruncSatF64S => trunc(F64, I32, true, true),
        O::I32TruncSatF64U => trunc(F64, I32, false, true),
        O::I64TruncSatF32S => trunc(F32, I64, true, true),
        O::I64TruncSatF32U => trunc(F32, I64, false, true),
        O::I64TruncSatF64S => trunc(F64, I64, true, true),
        O::I64TruncSatF64U => trunc(F64, I64, false, true),
        O::F32ConvertI32S => convert(I32, F32, true),
        O::F32ConvertI32U => convert(I32, F32, false),
        O::F32ConvertI64S => convert(I64, F32, true),
        O::F32ConvertI64U => convert(I64, F32, false),
        O::F64ConvertI32S => convert(I32, F64, true),
        O::F64ConvertI32U => convert(I32, F64, false),
        O::F64ConvertI64S => convert(I64, F64, true),
        O::F64ConvertI64U => convert(I64, F64, false),
        O::F32DemoteF64 => Some((Op::Demote, 1, F32)),
        O::F64PromoteF32 => Some((Op::Promote, 1, F64)),
        O::I32ReinterpretF32 => Some((Op::Bitcast { to: I32 }, 1, I32)),
        O::I64ReinterpretF64 => Some((Op::Bitcast { to: I64 }, 1, I64)),
        O::F32ReinterpretI32 => Some((Op::Bitcast { to: F32 }, 1, F32)),
        O::F64ReinterpretI64 => Some((Op::Bitcast { to: F64 }, 1, F64)),
        _ => None,
    }
}

impl<'p, 'a> Translator<'p, 'a> {
    fn func_sig(&self, type_index: u32) -> Result<(Vec<Type>, Vec<Type>), FrontendError> {
        let t = &self.parsed.meta.types[type_index as usize];
        Ok((
            t.params
                .iter()
                .map(|&p| ir_type(p))
                .collect::<Result<_, _>>()?,
            t.results
                .iter()
                .map(|&p| ir_type(p))
                .collect::<Result<_, _>>()?,
        ))
    }

    fn block_sig(&self, bt: BlockType) -> Result<(Vec<Type>, Vec<Type>), FrontendError> {
        match bt {
            BlockType::Empty => Ok((vec![], vec![])),
            BlockType::Type(t) => Ok((vec![], vec![ir_type(val_type(t)?)?])),
            BlockType::FuncType(i) => self.func_sig(i),
        }
    }

    fn cur(&self) -> Block {
        self.current.expect("emitting into reachable code")
    }

    fn pop(&mut self) -> Value {
        self.stack.pop().expect("validated operand stack")
    }

    fn popn(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    /// A bulk-memory operator taking `n` operands and producing nothing.
    fn bulk(&mut self, op: BulkOp, n: usize) {
        let args = self.popn(n);
        let b = self.cur();
        self.f.push(b, Op::Bulk(op), args, &[]);
    }

    /// A table operator with one result.
    fn table_value(&mut self, op: TableOp, ty: Type) {
        let args = self.popn(op.arity());
        let v = self.push1(Op::TableBulk(op), args, ty);
        self.stack.push(v);
    }

    /// A bulk-table operator taking `n` operands and producing nothing.
    fn table_bulk(&mut self, op: TableOp, n: usize) {
        let args = self.popn(n);
        let b = self.cur();
        self.f.push(b, Op::TableBulk(op), args, &[]);
    }

    fn push1(&mut self, op: Op, args: Vec<Value>, ty: Type) -> Value {
        let b = self.cur();
        self.f.push1(b, op, args, ty)
    }

    fn terminate(&mut self, op: Op, args: Vec<Value>) {
        let b = self.cur();
        self.f.push(b, op, args, &[]);
        self.current = None;
    }

    /// A join block with the `carried` locals then `types` as parameters.
    fn join_block(&mut self, carried: &[u32], types: &[Type]) -> Block {
        let b = self.f.add_block();
        for &i in carried {
            self.f.add_block_param(b, self.local_types[i as usize]);
        }
        for &t in types {
            self.f.add_block_param(b, t);
        }
        b
    }

    /// Switch to `b`, taking the carried locals and stack values from its
    /// parameters.
    fn enter_join(&mut self, b: Block, carried: &[u32], height: usize) {
        let params = self.f.block(b).params.clone();
        for (k, &i) in carried.iter().enumerate() {
            self.locals[i as usize] = params[k];
        }
        self.stack.truncate(height);
        self.stack.extend_from_slice(&params[carried.len()..]);
        self.current = Some(b);
    }

    /// The current values of the `carried` locals.
    fn carried_values(&self, carried: &[u32]) -> Vec<Value> {
        carried.iter().map(|&i| self.locals[i as usize]).collect()
    }

    /// The locals assigned in the construct being opened.
    fn next_construct(&mut self) -> Vec<u32> {
        let c = self
            .assigned
            .get(self.constructs)
            .cloned()
            .unwrap_or_default();
        self.constructs += 1;
        c
    }

    /// The jump to the label `depth` frames out, carrying the top values.
    fn branch_call(&self, depth: u32) -> BlockCall {
        let frame = &self.frames[self.frames.len() - 1 - depth as usize];
        let n = frame.label_types().len();
        let mut args = self.carried_values(&frame.carried);
        args.extend_from_slice(&self.stack[self.stack.len() - n..]);
        BlockCall {
            block: frame.target,
            args,
        }
    }

    fn composite(&mut self, (arity, steps): (usize, Vec<Step>)) {
        let args = self.popn(arity);
        let mut done: Vec<Value> = vec![];
        for step in steps {
            let get = |p: Part, done: &[Value]| match p {
                Part::Arg(k) => args[k],
                Part::Step(k) => done[k],
            };
            let v = match step {
                Step::Bin(op, x, y) => {
                    let (x, y) = (get(x, &done), get(y, &done));
                    self.push1(Op::VBinary { op }, vec![x, y], Type::V128)
                }
                Step::Un(op, x) => {
                    let x = get(x, &done);
                    self.push1(Op::VUnary { op }, vec![x], Type::V128)
                }
                Step::Not(x) => {
                    let x = get(x, &done);
                    self.push1(Op::VNot, vec![x], Type::V128)
                }
                Step::Splat64(bits) => {
                    self.push1(Op::Vconst { bits: [bits, bits] }, vec![], Type::V128)
                }
            };
            done.push(v);
        }
        self.stack
            .push(*done.last().expect("a composite has steps"));
    }

    fn vector_access(&mut self, access: VectorAccess, memarg: &wasmparser::MemArg) {
        let lanes = match access {
            VectorAccess::Splat(l)
            | VectorAccess::Zero(l)
            | VectorAccess::LoadLane(l, _)
            | VectorAccess::StoreLane(l, _) => l,
            // The 8 bytes as an f64: one SSE load of their width.
            VectorAccess::Extend(_) => Lanes::F64x2,
        };
        let (ty, mem) = (
            lanes.scalar(),
            MemArg {
                offset: memarg.offset,
                width: lane_bytes(lanes),
            },
        );
        let load = |t: &mut Self, addr| {
            t.push1(
                Op::Load {
                    ty,
                    mem,
                    signed: false,
                },
                vec![addr],
                ty,
            )
        };
        let v = match access {
            VectorAccess::Splat(_) => {
                let addr = self.pop();
                let x = load(self, addr);
                self.push1(Op::VSplat { lanes }, vec![x], Type::V128)
            }
            VectorAccess::Zero(_) => {
                let addr = self.pop();
                let x = load(self, addr);
                let zero = self.push1(Op::Vconst { bits: [0, 0] }, vec![], Type::V128);
                self.push1(Op::VReplace { lanes, lane: 0 }, vec![zero, x], Type::V128)
            }
            VectorAccess::Extend(op) => {
                let addr = self.pop();
                let x = load(self, addr);
                self.push1(Op::VUnary { op }, vec![x], Type::V128)
            }
            VectorAccess::LoadLane(_, lane) => {
                let vec = self.pop();
                let addr = self.pop();
                let x = load(self, addr);
                self.push1(Op::VReplace { lanes, lane }, vec![vec, x], Type::V128)
            }
            VectorAccess::StoreLane(_, lane) => {
                let vec = self.pop();
                let addr = self.pop();
                let x = self.push1(
                    Op::VExtract {
                        lanes,
                        lane,
                        signed: false,
                    },
                    vec![vec],
                    ty,
                );
                let b = self.cur();
                self.f.push(b, Op::Store { ty, mem }, vec![addr, x], &[]);
                return;
            }
        };
        self.stack.push(v);
    }

    fn unsupported(&self, op: &Operator<'_>) -> FrontendError {
        let name = format!("{op:?}");
        let name = name
            .split([' ', '{', '('])
            .next()
            .unwrap_or("?")
            .to_string();
        // A SIMD operator pccc does not lower, named as such (none of
        // WebAssembly 2.0's now: this is for operators a newer wasmparser
        // validates before the translation learns them).
        const SIMD: [&str; 7] = ["V128", "I8x16", "I16x8", "I32x4", "I64x2", "F32x4", "F64x2"];
        let name = if SIMD.iter().any(|p| name.starts_with(p)) {
            format!("{name} (a SIMD operator pccc does not lower yet)")
        } else {
            name
        };
        FrontendError::Unsupported {
            op: name,
            func: self.index,
        }
    }

    fn operator(&mut self, op: Operator<'_>) -> Result<(), FrontendError> {
        use Operator as O;
        if self.current.is_none() {
            // Unreachable code: track nesting only, until the frame's else/end.
            match op {
                O::Block { .. } | O::Loop { .. } | O::If { .. } | O::TryTable { .. } => {
                    self.dead_depth += 1;
                    self.constructs += 1;
                    return Ok(());
                }
                O::End if self.dead_depth > 0 => {
                    self.dead_depth -= 1;
                    return Ok(());
                }
                O::Else if self.dead_depth == 0 => {}
                O::End => {}
                _ => return Ok(()),
            }
        }
        if let Some((op2, n, ty)) = pure_row(&op) {
            let args = self.popn(n);
            let v = self.push1(op2, args, ty);
            self.stack.push(v);
            return Ok(());
        }
        if let Some((ty, width, signed, memarg)) = load_row(&op) {
            let addr = self.pop();
            let mem = MemArg {
                offset: memarg.offset,
                width,
            };
            let v = self.push1(Op::Load { ty, mem, signed }, vec![addr], ty);
            self.stack.push(v);
            return Ok(());
        }
        if let Some(parts) = composite_row(&op) {
            self.composite(parts);
            return Ok(());
        }
        if let Some((access, memarg)) = vector_access_row(&op) {
            self.vector_access(access, memarg);
            return Ok(());
        }
        if let Some((kind, ty, width, memarg)) = atomic_row(&op) {
            self.atomic(kind, ty, width, memarg);
            return Ok(());
        }
        if let Some((ty, width, memarg)) = store_row(&op) {
            let args = self.popn(2);
            let mem = MemArg {
                offset: memarg.offset,
                width,
            };
            let b = self.cur();
            self.f.push(b, Op::Store { ty, mem }, args, &[]);
            return Ok(());
        }
        match op {
            O::I32Const { value } => {
                let v = self.push1(
                    Op::Iconst {
                        ty: Type::I32,
                        imm: value as u32 as u64,
                    },
                    vec![],
                    Type::I32,
                );
                self.stack.push(v);
            }
            O::I64Const { value } => {
                let v = self.push1(
                    Op::Iconst {
                        ty: Type::I64,
                        imm: value as u64,
                    },
                    vec![],
                    Type::I64,
                );
                self.stack.push(v);
            }
            O::V128Const { value } => {
                let b = value.i128() as u128;
                let v = self.push1(
                    Op::Vconst {
                        bits: [b as u64, (b >> 64) as u64],
                    },
                    vec![],
                    Type::V128,
                );
                self.stack.push(v);
            }
            O::F32Const { value } => {
                let v = self.push1(
                    Op::Fconst {
                        ty: Type::F32,
                        bits: value.bits() as u64,
                    },
                    vec![],
                    Type::F32,
                );
                self.stack.push(v);
            }
            O::F64Const { value } => {
                let v = self.push1(
                    Op::Fconst {
                        ty: Type::F64,
                        bits: value.bits(),
                    },
                    vec![],
                    Type::F64,
                );
                self.stack.push(v);
            }
            // One thread, no shared memory: nothing to order.
            O::Nop | O::AtomicFence { .. } => {}
            O::Drop => {
                self.pop();
            }
            O::LocalGet { local_index } => self.stack.push(self.locals[local_index as usize]),
            O::LocalSet { local_index } => self.locals[local_index as usize] = self.pop(),
            O::LocalTee { local_index } => {
                self.locals[local_index as usize] = *self.stack.last().expect("validated stack")
            }
            O::GlobalGet { global_index } => {
                let ty = ir_type(self.parsed.global_types[global_index as usize])?;
                let v = self.push1(
                    Op::GlobalGet {
                        index: global_index,
                        ty,
                    },
                    vec![],
                    ty,
                );
                self.stack.push(v);
            }
            O::GlobalSet { global_index } => {
                let ty = ir_type(self.parsed.global_types[global_index as usize])?;
                let v = self.pop();
                let b = self.cur();
                self.f.push(
                    b,
                    Op::GlobalSet {
                        index: global_index,
                        ty,
                    },
                    vec![v],
                    &[],
                );
            }
            O::Select | O::TypedSelect { .. } => {
                let c = self.pop();
                let b = self.pop();
                let a = self.pop();
                let ty = self.f.value_type(a);
                let v = self.push1(Op::Select { ty }, vec![c, a, b], ty);
                self.stack.push(v);
            }
            O::MemorySize { .. } => {
                let v = self.push1(Op::MemorySize, vec![], Type::I32);
                self.stack.push(v);
            }
            O::MemoryGrow { .. } => {
                let d = self.pop();
                let v = self.push1(Op::MemoryGrow, vec![d], Type::I32);
                self.stack.push(v);
            }
            O::MemoryCopy { .. } => self.bulk(BulkOp::Copy, 3),
            O::MemoryFill { .. } => self.bulk(BulkOp::Fill, 3),
            O::MemoryInit { data_index, .. } => self.bulk(BulkOp::Init(data_index), 3),
            O::DataDrop { data_index } => self.bulk(BulkOp::DataDrop(data_index), 0),
            O::TableCopy {
                dst_table,
                src_table,
            } => self.table_bulk(
                TableOp::Copy {
                    dst: dst_table,
                    src: src_table,
                },
                3,
            ),
            O::TableInit { elem_index, table } => self.table_bulk(
                TableOp::Init {
                    seg: elem_index,
                    table,
                },
                3,
            ),
            O::ElemDrop { elem_index } => self.table_bulk(TableOp::ElemDrop(elem_index), 0),
            O::TableGet { table } => self.table_value(TableOp::Get(table), Type::I64),
            O::TableSet { table } => self.table_bulk(TableOp::Set(table), 2),
            O::TableGrow { table } => self.table_value(TableOp::Grow(table), Type::I32),
            O::TableFill { table } => self.table_bulk(TableOp::Fill(table), 3),
            O::RefFunc { function_index } => {
                self.table_value(TableOp::RefFunc(function_index), Type::I64)
            }
            // References are 64-bit handles, null being 0.
            O::RefNull { .. } => {
                let v = self.push1(
                    Op::Iconst {
                        ty: Type::I64,
                        imm: 0,
                    },
                    vec![],
                    Type::I64,
                );
                self.stack.push(v);
            }
            O::RefIsNull => {
                let r = self.pop();
                let v = self.push1(Op::Eqz { ty: Type::I64 }, vec![r], Type::I32);
                self.stack.push(v);
            }
            O::TableSize { table } => {
                let v = self.push1(Op::TableSize { table }, vec![], Type::I32);
                self.stack.push(v);
            }
            O::Call { function_index } => {
                let (op, args, results) = self.call_setup(Callee::Direct(function_index))?;
                let vals = self.call(op, args, &results);
                self.stack.extend(vals);
            }
            O::CallIndirect {
                type_index,
                table_index,
            } => {
                let (op, args, results) =
                    self.call_setup(Callee::Indirect(type_index, table_index))?;
                let vals = self.call(op, args, &results);
                self.stack.extend(vals);
            }
            // A tail call is a call then a return, outside every handler
            // (the callee's exception is the caller's, as if this frame
            // were gone). Not constant-stack: see the README.
            O::ReturnCall { function_index } => self.tail_call(Callee::Direct(function_index))?,
            O::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.tail_call(Callee::Indirect(type_index, table_index))?,
            O::Throw { tag_index } => {
                let n = self.tag_params(tag_index)?.len();
                let args = self.popn(n);
                self.call(Op::Throw { tag: tag_index }, args, &[]);
                self.terminate(Op::Trap(TrapCode::Unreachable), vec![]);
            }
            O::ThrowRef => {
                let e = self.pop();
                self.throw_ref(e);
            }
            O::TryTable { try_table } => {
                let (params, results) = self.block_sig(try_table.ty)?;
                let carried = self.next_construct();
                let end = self.join_block(&carried, &results);
                let handler = !try_table.catches.is_empty();
                if handler {
                    let dispatch = self.join_block(&carried, &[Type::I64]);
                    self.handlers.push(Handler {
                        dispatch,
                        carried: carried.clone(),
                        catches: try_table.catches,
                        used: false,
                    });
                }
                self.push_block(params, results, carried, end, handler);
            }
            O::Unreachable => self.terminate(Op::Trap(TrapCode::Unreachable), vec![]),
            O::Return => {
                let n = self.f.sig.results.len();
                let vals = self.popn(n);
                self.terminate(Op::Return, vals);
            }
            O::Block { blockty } => {
                let (params, results) = self.block_sig(blockty)?;
                let carried = self.next_construct();
                let end = self.join_block(&carried, &results);
                self.push_block(params, results, carried, end, false);
            }
            O::Loop { blockty } => {
                let (params, results) = self.block_sig(blockty)?;
                let carried = self.next_construct();
                let header = self.join_block(&carried, &params);
                let height = self.stack.len() - params.len();
                let mut args = self.carried_values(&carried);
                args.extend(self.popn(params.len()));
                self.terminate(
                    Op::Jump(BlockCall {
                        block: header,
                        args,
                    }),
                    vec![],
                );
                self.enter_join(header, &carried, height);
                let end = self.f.add_block();
                self.frames.push(Frame {
                    kind: Kind::Loop,
                    target: header,
                    end,
                    height,
                    params,
                    results,
                    else_block: None,
                    entry_locals: vec![],
                    entry_params: vec![],
                    carried,
                    handler: false,
                });
            }
            O::If { blockty } => {
                let (params, results) = self.block_sig(blockty)?;
                let cond = self.pop();
                let carried = self.next_construct();
                let end = self.join_block(&carried, &results);
                let (then_b, else_b) = (self.f.add_block(), self.f.add_block());
                let height = self.stack.len() - params.len();
                let entry_params = self.stack[height..].to_vec();
                let entry_locals = self.locals.clone();
                self.terminate(
                    Op::Brif {
                        then: BlockCall {
                            block: then_b,
                            args: vec![],
                        },
                        else_: BlockCall {
                            block: else_b,
                            args: vec![],
                        },
                    },
                    vec![cond],
                );
                self.current = Some(then_b);
                self.frames.push(Frame {
                    kind: Kind::If,
                    target: end,
                    end,
                    height,
                    params,
                    results,
                    else_block: Some(else_b),
                    entry_locals,
                    entry_params,
                    carried,
                    handler: false,
                });
            }
            O::Else => {
                if self.current.is_some() {
                    let call = self.branch_call(0);
                    self.terminate(Op::Jump(call), vec![]);
                }
                let frame = self.frames.last_mut().expect("else inside if");
                frame.kind = Kind::Else;
                let else_b = frame.else_block.take().expect("if has an else block");
                self.locals = frame.entry_locals.clone();
                let (height, params) = (frame.height, frame.entry_params.clone());
                self.stack.truncate(height);
                self.stack.extend(params);
                self.current = Some(else_b);
            }
            O::End => self.end()?,
            O::Br { relative_depth } => {
                let call = self.branch_call(relative_depth);
                self.terminate(Op::Jump(call), vec![]);
            }
            O::BrIf { relative_depth } => {
                let cond = self.pop();
                let call = self.branch_call(relative_depth);
                let next = self.f.add_block();
                self.terminate(
                    Op::Brif {
                        then: call,
                        else_: BlockCall {
                            block: next,
                            args: vec![],
                        },
                    },
                    vec![cond],
                );
                self.current = Some(next);
            }
            O::BrTable { targets } => {
                let index = self.pop();
                let mut calls = vec![];
                for t in targets.targets() {
                    calls.push(self.branch_call(t?));
                }
                let default = self.branch_call(targets.default());
                self.terminate(
                    Op::BrTable {
                        targets: calls,
                        default,
                    },
                    vec![index],
                );
            }
            other => return Err(self.unsupported(&other)),
        }
        Ok(())
    }

    /// The parameter types of tag `tag`.
    fn tag_params(&self, tag: u32) -> Result<Vec<Type>, FrontendError> {
        let t = self.parsed.meta.tag_type_index(tag).ok_or_else(|| {
            FrontendError::UnsupportedFeature(format!("tag {tag} without a type"))
        })?;
        Ok(self.func_sig(t)?.0)
    }

    /// Open a `block` (or a `try_table`, `handler` if it has catch
    /// clauses) whose branches and end go to `end`.
    fn push_block(
        &mut self,
        params: Vec<Type>,
        results: Vec<Type>,
        carried: Vec<u32>,
        end: Block,
        handler: bool,
    ) {
        self.frames.push(Frame {
            kind: Kind::Block,
            target: end,
            end,
            height: self.stack.len() - params.len(),
            params,
            results,
            else_block: None,
            entry_locals: vec![],
            entry_params: vec![],
            carried,
            handler,
        });
    }

    /// A call's operation, its arguments popped from the stack (the table
    /// index last for an indirect call) and its result types.
    fn call_setup(&mut self, callee: Callee) -> Result<(Op, Vec<Value>, Vec<Type>), FrontendError> {
        let (op, type_index, extra) = match callee {
            Callee::Direct(func) => (Op::Call { func }, self.parsed.func_types[func as usize], 0),
            Callee::Indirect(type_index, table) => {
                (Op::CallIndirect { type_index, table }, type_index, 1)
            }
        };
        let (params, results) = self.func_sig(type_index)?;
        if let Callee::Direct(func) = callee {
            if func < self.parsed.num_imported_funcs {
                refuse_v128_import(&params, &results)?;
            }
        }
        let args = self.popn(params.len() + extra);
        Ok((op, args, results))
    }

    /// A tail call: the call outside every handler, then a return of its
    /// results.
    fn tail_call(&mut self, callee: Callee) -> Result<(), FrontendError> {
        let (op, args, results) = self.call_setup(callee)?;
        let b = self.cur();
        let inst = self.f.push(b, op, args, &results);
        let vals = self.f.inst(inst).results.clone();
        self.terminate(Op::Return, vals);
        Ok(())
    }

    /// A call (or throw): inside a `try_table` with catch clauses an
    /// `Invoke` whose landing jumps to the handler's dispatch with the
    /// locals as they are at the call; its results.
    fn call(&mut self, op: Op, args: Vec<Value>, results: &[Type]) -> Vec<Value> {
        let b = self.cur();
        let Some(h) = self.handlers.last_mut() else {
            let inst = self.f.push(b, op, args, results);
            return self.f.inst(inst).results.clone();
        };
        h.used = true;
        let (dispatch, carried) = (h.dispatch, h.carried.clone());
        // The landing first: the layout puts the younger `normal` right
        // after the call, so returning falls through.
        let landing = self.f.add_block();
        let normal = self.f.add_block();
        let inst = self.f.push(
            b,
            Op::Invoke {
                call: Box::new(op),
                normal: BlockCall {
                    block: normal,
                    args: vec![],
                },
                landing: BlockCall {
                    block: landing,
                    args: vec![],
                },
            },
            args,
            results,
        );
        let e = self.f.push1(landing, Op::Landing, vec![], Type::I64);
        let mut jargs = self.carried_values(&carried);
        jargs.push(e);
        self.f.push(
            landing,
            Op::Jump(BlockCall {
                block: dispatch,
                args: jargs,
            }),
            vec![],
            &[],
        );
        self.current = Some(normal);
        self.f.inst(inst).results.clone()
    }

    /// `throw_ref e`: a null `e` traps; otherwise it is thrown again.
    fn throw_ref(&mut self, e: Value) {
        let null = self.push1(Op::Eqz { ty: Type::I64 }, vec![e], Type::I32);
        let (trap, go) = (self.f.add_block(), self.f.add_block());
        self.terminate(
            Op::Brif {
                then: BlockCall {
                    block: trap,
                    args: vec![],
                },
                else_: BlockCall {
                    block: go,
                    args: vec![],
                },
            },
            vec![null],
        );
        self.f
            .push(trap, Op::Trap(TrapCode::NullExnRef), vec![], &[]);
        self.current = Some(go);
        self.call(Op::ThrowRef, vec![e], &[]);
        self.terminate(Op::Trap(TrapCode::Unreachable), vec![]);
    }

    /// A `try_table`'s dispatch, once its frame is closed (so its clauses'
    /// labels count from the enclosing frames, as Wasm's do): each clause
    /// in order, and with none matching the exception thrown on, to the
    /// enclosing handler. The translation state is left as it was.
    fn dispatch(&mut self, h: Handler, height: usize) -> Result<(), FrontendError> {
        if !h.used {
            // No call lands there: a well-formed block nothing reaches.
            self.f
                .push(h.dispatch, Op::Trap(TrapCode::Unreachable), vec![], &[]);
            return Ok(());
        }
        let saved = (self.current, self.locals.clone(), self.stack.clone());
        let params = self.f.block(h.dispatch).params.clone();
        for (k, &i) in h.carried.iter().enumerate() {
            self.locals[i as usize] = params[k];
        }
        let e = *params.last().expect("the exnref parameter");
        self.stack.truncate(height);
        self.current = Some(h.dispatch);
        for c in &h.catches {
            use wasmparser::Catch as C;
            let (tag, label, with_ref) = match *c {
                C::One { tag, label } => (Some(tag), label, false),
                C::OneRef { tag, label } => (Some(tag), label, true),
                C::All { label } => (None, label, false),
                C::AllRef { label } => (None, label, true),
            };
            let mut miss = None;
            if let Some(tag) = tag {
                let mut tys = vec![Type::I32];
                tys.extend(self.tag_params(tag)?);
                let b = self.cur();
                let inst = self.f.push(b, Op::ExnCatch { tag }, vec![e], &tys);
                let r = self.f.inst(inst).results.clone();
                let (hit, next) = (self.f.add_block(), self.f.add_block());
                self.terminate(
                    Op::Brif {
                        then: BlockCall {
                            block: hit,
                            args: vec![],
                        },
                        else_: BlockCall {
                            block: next,
                            args: vec![],
                        },
                    },
                    vec![r[0]],
                );
                self.current = Some(hit);
                self.stack.extend_from_slice(&r[1..]);
                miss = Some(next);
            }
            if with_ref {
                self.stack.push(e);
            }
            let call = self.branch_call(label);
            self.terminate(Op::Jump(call), vec![]);
            self.stack.truncate(height);
            match miss {
                Some(next) => self.current = Some(next),
                // catch_all: the clauses after it never run.
                None => break,
            }
        }
        if self.current.is_some() {
            self.throw_ref(e);
        }
        (self.current, self.locals, self.stack) = saved;
        Ok(())
    }

    fn end(&mut self) -> Result<(), FrontendError> {
        let frame = self.frames.pop().expect("end closes a frame");
        if frame.kind == Kind::Loop {
            // Falling out of a loop continues in a fresh block.
            if self.current.is_some() {
                let vals = self.popn(frame.results.len());
                self.terminate(
                    Op::Jump(BlockCall {
                        block: frame.end,
                        args: vec![],
                    }),
                    vec![],
                );
                self.stack.truncate(frame.height);
                self.stack.extend(vals);
                self.current = Some(frame.end);
            } else {
                // Nothing falls through: the continuation is dead code, but
                // still a block the rest of the body can be written into.
                self.stack.truncate(frame.height);
                for &t in &frame.results {
                    let v = self.f.add_block_param(frame.end, t);
                    self.stack.push(v);
                }
                self.current = Some(frame.end);
            }
            return Ok(());
        }
        if self.current.is_some() {
            let mut args = self.carried_values(&frame.carried);
            args.extend(self.popn(frame.results.len()));
            self.terminate(
                Op::Jump(BlockCall {
                    block: frame.end,
                    args,
                }),
                vec![],
            );
        }
        if let Some(else_b) = frame.else_block {
            // An `if` without `else`: the else arm passes the parameters through.
            let mut args: Vec<Value> = frame
                .carried
                .iter()
                .map(|&i| frame.entry_locals[i as usize])
                .collect();
            args.extend(frame.entry_params.iter().copied());
            self.f.push(
                else_b,
                Op::Jump(BlockCall {
                    block: frame.end,
                    args,
                }),
                vec![],
                &[],
            );
        }
        self.enter_join(frame.end, &frame.carried, frame.height);
        if frame.handler {
            let h = self.handlers.pop().expect("a try_table's handler");
            self.dispatch(h, frame.height)?;
        }
        if frame.kind == Kind::Function {
            let vals = self.popn(frame.results.len());
            self.terminate(Op::Return, vals);
        }
        Ok(())
    }
}

/// For each block, loop and if of `body` in order of appearance, the
/// locals written (local.set/local.tee) anywhere inside it, sorted. Only
/// these need to travel as block parameters into its join points.
fn assigned_locals(body: &FunctionBody<'_>) -> Result<Vec<Vec<u32>>, FrontendError> {
    let mut done: Vec<Option<Vec<u32>>> = vec![];
    let mut open: Vec<(usize, std::collections::BTreeSet<u32>)> = vec![];
    let mut ops = body.get_operators_reader()?;
    while !ops.eof() {
        match ops.read()? {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => {
                open.push((done.len(), Default::default()));
                done.push(None);
            }
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                if let Some((_, set)) = open.last_mut() {
                    set.insert(local_index);
                }
            }
            Operator::End => {
                // The function body's own end has no open construct.
                if let Some((k, set)) = open.pop() {
                    if let Some((_, parent)) = open.last_mut() {
                        parent.extend(set.iter().copied());
                    }
                    done[k] = Some(set.into_iter().collect());
                }
            }
            _ => {}
        }
    }
    Ok(done.into_iter().map(Option::unwrap_or_default).collect())
}

pub fn function(
    parsed: &Parsed<'_>,
    index: u32,
    body: &FunctionBody<'_>,
) -> Result<Function, FrontendError> {
    let meta_index = (index - parsed.num_imported_funcs) as usize;
    let name = parsed.meta.funcs[meta_index].name.clone();
    let type_index = parsed.func_types[index as usize];
    let t = &parsed.meta.types[type_index as usize];
    let sig = Signature {
        params: t
            .params
            .iter()
            .map(|&p| ir_type(p))
            .collect::<Result<_, _>>()?,
        results: t
            .results
            .iter()
            .map(|&p| ir_type(p))
            .collect::<Result<_, _>>()?,
    };
    let mut f = Function::new(index, name, sig.clone());
    let mut locals: Vec<Value> = f.block(Function::ENTRY).params.clone();
    let mut local_types = sig.params.clone();
    for decl in body.get_locals_reader()? {
        let (count, ty) = decl?;
        let ty = ir_type(val_type(ty)?)?;
        for _ in 0..count {
            let op = match ty {
                Type::V128 => Op::Vconst { bits: [0, 0] },
                _ if ty.is_int() => Op::Iconst { ty, imm: 0 },
                _ => Op::Fconst { ty, bits: 0 },
            };
            locals.push(f.push1(Function::ENTRY, op, vec![], ty));
            local_types.push(ty);
        }
    }
    let mut t = Translator {
        parsed,
        f,
        index,
        locals,
        local_types,
        stack: vec![],
        frames: vec![],
        current: Some(Function::ENTRY),
        dead_depth: 0,
        assigned: assigned_locals(body)?,
        constructs: 0,
        handlers: vec![],
    };
    let ret = t.f.add_block();
    for &r in &sig.results {
        t.f.add_block_param(ret, r);
    }
    t.frames.push(Frame {
        kind: Kind::Function,
        target: ret,
        end: ret,
        params: vec![],
        results: sig.results.clone(),
        height: 0,
        else_block: None,
        entry_locals: vec![],
        entry_params: vec![],
        carried: vec![],
        handler: false,
    });
    let mut ops = body.get_operators_reader()?;
    while !ops.eof() {
        let op = ops.read()?;
        t.operator(op)?;
    }
    let f = t.f;
    debug_assert!(f.check().is_ok(), "{:?}", f.check());
    Ok(f)
}

/// An atomic operator of the threads proposal. Memories are never shared
/// (`module` refuses shared ones) and an instance runs on one thread, so
/// each is its plain access after the alignment check, with no `lock`
/// prefix: the same instructions, facts and obligations as any load and
/// store, and nothing new for the validator to trust.
#[derive(Clone, Copy)]
enum Atomic {
    Load,
    Store,
    /// Store `old op operand`, result `old`.
    Rmw(BinOp),
    Xchg,
    Cmpxchg,
    /// No other thread can wait on a non-shared memory: wakes 0.
    Notify,
    /// Waiting on a non-shared memory traps.
    Wait,
}

/// Atomic rows: (kind, type, width in bytes). Narrow forms zero-extend.
fn atomic_row<'o>(op: &'o Operator<'_>) -> Option<(Atomic, Type, u8, &'o wasmparser::MemArg)> {
    use Atomic::*;
    use Operator as O;
    use Type::{I32, I64};
    Some(match op {
        O::I32AtomicLoad { memarg } => (Load, I32, 4, memarg),
        O::I32AtomicStore { memarg } => (Store, I32, 4, memarg),
        O::I32AtomicLoad8U { memarg } => (Load, I32, 1, memarg),
        O::I32AtomicStore8 { memarg } => (Store, I32, 1, memarg),
        O::I32AtomicLoad16U { memarg } => (Load, I32, 2, memarg),
        O::I32AtomicStore16 { memarg } => (Store, I32, 2, memarg),
        O::I32AtomicRmwAdd { memarg } => (Rmw(BinOp::Add), I32, 4, memarg),
        O::I32AtomicRmw8AddU { memarg } => (Rmw(BinOp::Add), I32, 1, memarg),
        O::I32AtomicRmw16AddU { memarg } => (Rmw(BinOp::Add), I32, 2, memarg),
        O::I32AtomicRmwSub { memarg } => (Rmw(BinOp::Sub), I32, 4, memarg),
        O::I32AtomicRmw8SubU { memarg } => (Rmw(BinOp::Sub), I32, 1, memarg),
        O::I32AtomicRmw16SubU { memarg } => (Rmw(BinOp::Sub), I32, 2, memarg),
        O::I32AtomicRmwAnd { memarg } => (Rmw(BinOp::And), I32, 4, memarg),
        O::I32AtomicRmw8AndU { memarg } => (Rmw(BinOp::And), I32, 1, memarg),
        O::I32AtomicRmw16AndU { memarg } => (Rmw(BinOp::And), I32, 2, memarg),
        O::I32AtomicRmwOr { memarg } => (Rmw(BinOp::Or), I32, 4, memarg),
        O::I32AtomicRmw8OrU { memarg } => (Rmw(BinOp::Or), I32, 1, memarg),
        O::I32AtomicRmw16OrU { memarg } => (Rmw(BinOp::Or), I32, 2, memarg),
        O::I32AtomicRmwXor { memarg } => (Rmw(BinOp::Xor), I32, 4, memarg),
        O::I32AtomicRmw8XorU { memarg } => (Rmw(BinOp::Xor), I32, 1, memarg),
        O::I32AtomicRmw16XorU { memarg } => (Rmw(BinOp::Xor), I32, 2, memarg),
        O::I32AtomicRmwXchg { memarg } => (Xchg, I32, 4, memarg),
        O::I32AtomicRmw8XchgU { memarg } => (Xchg, I32, 1, memarg),
        O::I32AtomicRmw16XchgU { memarg } => (Xchg, I32, 2, memarg),
        O::I32AtomicRmwCmpxchg { memarg } => (Cmpxchg, I32, 4, memarg),
        O::I32AtomicRmw8CmpxchgU { memarg } => (Cmpxchg, I32, 1, memarg),
        O::I32AtomicRmw16CmpxchgU { memarg } => (Cmpxchg, I32, 2, memarg),
        O::I64AtomicLoad { memarg } => (Load, I64, 8, memarg),
        O::I64AtomicStore { memarg } => (Store, I64, 8, memarg),
        O::I64AtomicLoad8U { memarg } => (Load, I64, 1, memarg),
        O::I64AtomicStore8 { memarg } => (Store, I64, 1, memarg),
        O::I64AtomicLoad16U { memarg } => (Load, I64, 2, memarg),
        O::I64AtomicStore16 { memarg } => (Store, I64, 2, memarg),
        O::I64AtomicLoad32U { memarg } => (Load, I64, 4, memarg),
        O::I64AtomicStore32 { memarg } => (Store, I64, 4, memarg),
        O::I64AtomicRmwAdd { memarg } => (Rmw(BinOp::Add), I64, 8, memarg),
        O::I64AtomicRmw8AddU { memarg } => (Rmw(BinOp::Add), I64, 1, memarg),
        O::I64AtomicRmw16AddU { memarg } => (Rmw(BinOp::Add), I64, 2, memarg),
        O::I64AtomicRmw32AddU { memarg } => (Rmw(BinOp::Add), I64, 4, memarg),
        O::I64AtomicRmwSub { memarg } => (Rmw(BinOp::Sub), I64, 8, memarg),
        O::I64AtomicRmw8SubU { memarg } => (Rmw(BinOp::Sub), I64, 1, memarg),
        O::I64AtomicRmw16SubU { memarg } => (Rmw(BinOp::Sub), I64, 2, memarg),
        O::I64AtomicRmw32SubU { memarg } => (Rmw(BinOp::Sub), I64, 4, memarg),
        O::I64AtomicRmwAnd { memarg } => (Rmw(BinOp::And), I64, 8, memarg),
        O::I64AtomicRmw8AndU { memarg } => (Rmw(BinOp::And), I64, 1, memarg),
        O::I64AtomicRmw16AndU { memarg } => (Rmw(BinOp::And), I64, 2, memarg),
        O::I64AtomicRmw32AndU { memarg } => (Rmw(BinOp::And), I64, 4, memarg),
        O::I64AtomicRmwOr { memarg } => (Rmw(BinOp::Or), I64, 8, memarg),
        O::I64AtomicRmw8OrU { memarg } => (Rmw(BinOp::Or), I64, 1, memarg),
        O::I64AtomicRmw16OrU { memarg } => (Rmw(BinOp::Or), I64, 2, memarg),
        O::I64AtomicRmw32OrU { memarg } => (Rmw(BinOp::Or), I64, 4, memarg),
        O::I64AtomicRmwXor { memarg } => (Rmw(BinOp::Xor), I64, 8, memarg),
        O::I64AtomicRmw8XorU { memarg } => (Rmw(BinOp::Xor), I64, 1, memarg),
        O::I64AtomicRmw16XorU { memarg } => (Rmw(BinOp::Xor), I64, 2, memarg),
        O::I64AtomicRmw32XorU { memarg } => (Rmw(BinOp::Xor), I64, 4, memarg),
        O::I64AtomicRmwXchg { memarg } => (Xchg, I64, 8, memarg),
        O::I64AtomicRmw8XchgU { memarg } => (Xchg, I64, 1, memarg),
        O::I64AtomicRmw16XchgU { memarg } => (Xchg, I64, 2, memarg),
        O::I64AtomicRmw32XchgU { memarg } => (Xchg, I64, 4, memarg),
        O::I64AtomicRmwCmpxchg { memarg } => (Cmpxchg, I64, 8, memarg),
        O::I64AtomicRmw8CmpxchgU { memarg } => (Cmpxchg, I64, 1, memarg),
        O::I64AtomicRmw16CmpxchgU { memarg } => (Cmpxchg, I64, 2, memarg),
        O::I64AtomicRmw32CmpxchgU { memarg } => (Cmpxchg, I64, 4, memarg),
        O::MemoryAtomicNotify { memarg } => (Notify, I32, 4, memarg),
        O::MemoryAtomicWait32 { memarg } => (Wait, I32, 4, memarg),
        O::MemoryAtomicWait64 { memarg } => (Wait, I64, 8, memarg),
        _ => return None,
    })
}

impl Translator<'_, '_> {
    /// Trap unless `addr + offset` is a multiple of `width` (a power of
    /// two): its low bits are those of `addr + offset mod width`, so the
    /// sum is taken in 32 bits.
    fn trap_unless_aligned(&mut self, addr: Value, offset: u64, width: u8) {
        let low =
            |s: &mut Self, imm: u64| s.push1(Op::Iconst { ty: Type::I32, imm }, vec![], Type::I32);
        let off = low(self, offset % u64::from(width));
        let ea = self.push1(
            Op::Binary {
                op: BinOp::Add,
                ty: Type::I32,
            },
            vec![addr, off],
            Type::I32,
        );
        let mask = low(self, u64::from(width) - 1);
        let misaligned = self.push1(
            Op::Binary {
                op: BinOp::And,
                ty: Type::I32,
            },
            vec![ea, mask],
            Type::I32,
        );
        let (trap, next) = (self.f.add_block(), self.f.add_block());
        self.f
            .push(trap, Op::Trap(TrapCode::UnalignedAtomic), vec![], &[]);
        self.terminate(
            Op::Brif {
                then: BlockCall {
                    block: trap,
                    args: vec![],
                },
                else_: BlockCall {
                    block: next,
                    args: vec![],
                },
            },
            vec![misaligned],
        );
        self.current = Some(next);
    }

    fn atomic(&mut self, kind: Atomic, ty: Type, width: u8, memarg: &wasmparser::MemArg) {
        use Atomic::*;
        let nargs = match kind {
            Load => 1,
            Store | Rmw(_) | Xchg | Notify => 2,
            Cmpxchg | Wait => 3,
        };
        let args = self.popn(nargs);
        let addr = args[0];
        if width > 1 {
            self.trap_unless_aligned(addr, memarg.offset, width);
        }
        let mem = MemArg {
            offset: memarg.offset,
            width,
        };
        let load = |s: &mut Self| {
            s.push1(
                Op::Load {
                    ty,
                    mem,
                    signed: false,
                },
                vec![addr],
                ty,
            )
        };
        let store = |s: &mut Self, v: Value| {
            let b = s.cur();
            s.f.push(b, Op::Store { ty, mem }, vec![addr, v], &[]);
        };
        let result = match kind {
            Load => load(self),
            Store => {
                store(self, args[1]);
                return;
            }
            Rmw(op) => {
                let old = load(self);
                let new = self.push1(Op::Binary { op, ty }, vec![old, args[1]], ty);
                store(self, new);
                old
            }
            Xchg => {
                let old = load(self);
                store(self, args[1]);
                old
            }
            Cmpxchg => {
                // The expected value is compared wrapped to the width.
                let old = load(self);
                let mut expected = args[1];
                if u32::from(width) * 8 < u32::from(ty.bits()) {
                    let mask = self.push1(
                        Op::Iconst {
                            ty,
                            imm: (1u64 << (8 * width)) - 1,
                        },
                        vec![],
                        ty,
                    );
                    expected =
                        self.push1(Op::Binary { op: BinOp::And, ty }, vec![expected, mask], ty);
                }
                let eq = self.push1(
                    Op::Icmp { cc: IntCC::Eq, ty },
                    vec![old, expected],
                    Type::I32,
                );
                let new = self.push1(Op::Select { ty }, vec![eq, args[2], old], ty);
                store(self, new);
                old
            }
            Notify => {
                // The access is still checked: in bounds, or it traps.
                load(self);
                self.push1(
                    Op::Iconst {
                        ty: Type::I32,
                        imm: 0,
                    },
                    vec![],
                    Type::I32,
                )
            }
            Wait => {
                load(self);
                self.terminate(Op::Trap(TrapCode::AtomicWaitNonShared), vec![]);
                return;
            }
        };
        self.stack.push(result);
    }
}
