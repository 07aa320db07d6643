//! pccc's SSA IR: what the frontend produces and the backend consumes.
//!
//! A function is a list of blocks; block 0 is the entry and its parameters
//! are the function's parameters. Every block ends in exactly one terminator
//! (its last instruction) and joins pass values as block arguments
//! (Cranelift-style), so the IR is SSA and maps directly onto regalloc2's
//! block parameters. Integer values are `I32`/`I64`; float types exist now so
//! that floats (a later issue) need no redesign.

use pcc::TrapCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    I32,
    I64,
    F32,
    F64,
    /// A 128-bit SIMD vector (in an xmm register, like the floats).
    V128,
}

impl Type {
    pub fn bits(self) -> u8 {
        match self {
            Type::I32 | Type::F32 => 32,
            Type::I64 | Type::F64 => 64,
            Type::V128 => 128,
        }
    }
    pub fn is_int(self) -> bool {
        matches!(self, Type::I32 | Type::I64)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub u32);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Block(pub u32);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Inst(pub u32);

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}", self.0)
    }
}
impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "block{}", self.0)
    }
}

/// v128 operators on one vector, each one SSE instruction (after moving
/// the high half down, for the `ExtendHigh` ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VUnOp {
    I16x8ExtendLowI8x16S,
    I16x8ExtendLowI8x16U,
    I16x8ExtendHighI8x16S,
    I16x8ExtendHighI8x16U,
    I32x4ExtendLowI16x8S,
    I32x4ExtendLowI16x8U,
    I32x4ExtendHighI16x8S,
    I32x4ExtendHighI16x8U,
    I64x2ExtendLowI32x4S,
    I64x2ExtendLowI32x4U,
    I64x2ExtendHighI32x4S,
    I64x2ExtendHighI32x4U,
    I8x16Abs,
    I16x8Abs,
    I32x4Abs,
    F32x4Nearest,
    F32x4Floor,
    F32x4Ceil,
    F32x4Trunc,
    F64x2Nearest,
    F64x2Floor,
    F64x2Ceil,
    F64x2Trunc,
    F32x4Sqrt,
    F64x2Sqrt,
    F32x4ConvertI32x4S,
    F64x2ConvertLowI32x4S,
    F32x4DemoteF64x2Zero,
    F64x2PromoteLowF32x4,
    /// Saturating, NaN to 0: a sequence (`emit`, `MInst::VUnarySeq`).
    I32x4TruncSatF32x4S,
    /// Exact halves: a sequence.
    F32x4ConvertI32x4U,
    /// Each 64-bit lane's sign, all ones or zero (`pshufd 0xf5`, `psrad
    /// 31`): no Wasm operator, a step of `i64x2.abs` and the `i64x2`
    /// ordered compares (`composite_row`).
    I64x2SignMask,
    /// `pshufd 0x50`/`0xfa`: dwords 0, 1 (or 2, 3) each into the low half
    /// of a 64-bit lane (the dword `pmuldq`/`pmuludq` read). No Wasm
    /// operator: a step of the `i64x2` `extmul`s.
    I64x2SpreadLowI32,
    I64x2SpreadHighI32,
    /// `cvttpd2dq`: the two f64 lanes truncated into the low i32 lanes,
    /// 0x80000000 out of range or NaN, the high lanes zero. No Wasm
    /// operator: a step of `i32x4.trunc_sat_f64x2_s_zero`.
    I32x4TruncF64x2ZeroRaw,
    /// Sequences (`MInst::VUnarySeq`): a nibble table lookup (`pshufb`);
    /// the unsigned saturating conversions.
    I8x16Popcnt,
    I32x4TruncSatF32x4U,
    I32x4TruncSatF64x2UZero,
}

impl VUnOp {
    /// The operators that are a sequence (`MInst::VUnarySeq`): how many
    /// SSE and general temporaries it takes.
    pub fn seq_temps(self) -> Option<(usize, usize)> {
        match self {
            VUnOp::I32x4TruncSatF32x4S | VUnOp::F32x4ConvertI32x4U => Some((1, 0)),
            VUnOp::I8x16Popcnt => Some((3, 1)),
            VUnOp::I32x4TruncSatF32x4U => Some((2, 0)),
            VUnOp::I32x4TruncSatF64x2UZero => Some((1, 1)),
            _ => None,
        }
    }
}

/// A v128 reduced to an i32 (`MInst::VTest`, `MInst::VBitmask`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VReduce {
    /// `v128.any_true`: 1 if any bit is set.
    AnyTrue,
    /// `all_true`: 1 if no lane is zero.
    AllTrue(Lanes),
    /// `bitmask`: bit k is lane k's top bit.
    Bitmask(Lanes),
}

/// A lane shift.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VShiftKind {
    Shl,
    ShrS,
    ShrU,
}

/// A v128 value's lane shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lanes {
    I8x16,
    I16x8,
    I32x4,
    I64x2,
    F32x4,
    F64x2,
}

impl Lanes {
    /// The lane width in bits.
    pub fn bits(self) -> u32 {
        match self {
            Lanes::I8x16 => 8,
            Lanes::I16x8 => 16,
            Lanes::I32x4 | Lanes::F32x4 => 32,
            Lanes::I64x2 | Lanes::F64x2 => 64,
        }
    }

    /// The scalar type of one lane (i32 for the 8- and 16-bit lanes).
    pub fn scalar(self) -> Type {
        match self {
            Lanes::I8x16 | Lanes::I16x8 | Lanes::I32x4 => Type::I32,
            Lanes::I64x2 => Type::I64,
            Lanes::F32x4 => Type::F32,
            Lanes::F64x2 => Type::F64,
        }
    }
}

/// v128 operators on two vectors with a result of the same type, each one
/// SSE instruction (`emit::VALU`). `AndNot` is Wasm's `v128.andnot`
/// (a & !b); the `LtS` compares are `GtS` with the operands swapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VBinOp {
    And,
    Or,
    Xor,
    AndNot,
    I8x16Add,
    I16x8Add,
    I32x4Add,
    I64x2Add,
    I8x16Sub,
    I16x8Sub,
    I32x4Sub,
    I64x2Sub,
    I8x16AddSatS,
    I8x16AddSatU,
    I8x16SubSatS,
    I8x16SubSatU,
    I8x16MinS,
    I8x16MinU,
    I8x16MaxS,
    I8x16MaxU,
    I8x16AvgrU,
    I8x16Eq,
    I8x16GtS,
    I8x16LtS,
    I8x16NarrowI16x8S,
    I8x16NarrowI16x8U,
    I16x8AddSatS,
    I16x8AddSatU,
    I16x8SubSatS,
    I16x8SubSatU,
    I16x8Mul,
    I16x8MinS,
    I16x8MinU,
    I16x8MaxS,
    I16x8MaxU,
    I16x8AvgrU,
    I16x8Eq,
    I16x8GtS,
    I16x8LtS,
    I16x8NarrowI32x4S,
    I16x8NarrowI32x4U,
    I32x4Mul,
    I32x4MinS,
    I32x4MinU,
    I32x4MaxS,
    I32x4MaxU,
    I32x4Eq,
    I32x4GtS,
    I32x4LtS,
    I32x4DotI16x8S,
    I64x2Eq,
    F32x4Add,
    F32x4Sub,
    F32x4Mul,
    F32x4Div,
    F64x2Add,
    F64x2Sub,
    F64x2Mul,
    F64x2Div,
    /// Float lane compares (`emit::VCMP`: `cmpps`/`cmppd` and a predicate;
    /// gt and ge are lt and le with the operands swapped).
    F32x4Eq,
    F32x4Ne,
    F32x4Lt,
    F32x4Le,
    F32x4Gt,
    F32x4Ge,
    F64x2Eq,
    F64x2Ne,
    F64x2Lt,
    F64x2Le,
    F64x2Gt,
    F64x2Ge,
    /// `i8x16.swizzle`: byte k is a's byte b[k], or 0 when b[k] >= 16.
    Swizzle,
    /// `i64x2.mul`: low 64 bits of each lane's product (three `pmuludq`).
    I64x2Mul,
    /// Wasm `min`/`max`: NaN if either is NaN, -0 below +0 (a sequence,
    /// `MInst::VFMinMax`).
    F32x4Min,
    F32x4Max,
    F64x2Min,
    F64x2Max,
    /// `pmin` (b < a ? b : a) and `pmax` (a < b ? b : a): `minps`/`maxps`
    /// with the operands swapped, which return their second operand on NaN
    /// and on equal lanes.
    F32x4PMin,
    F32x4PMax,
    F64x2PMin,
    F64x2PMax,
    /// Instructions with no Wasm operator of their own, the steps of
    /// composite operators (`composite_row`): `pmaddubsw` (a's unsigned
    /// bytes times b's signed ones, adjacent products added, saturating),
    /// `pmulhw`/`pmulhuw` (each 16-bit product's high half), `pmulhrsw`
    /// (the rounded Q15 product, 0x8000 for 0x8000 times 0x8000),
    /// `punpcklwd`/`punpckhwd`/`punpckldq` (the low or high halves'
    /// lanes interleaved, a's first), `pmuldq`/`pmuludq` (the low 32 bits
    /// of each 64-bit lane multiplied into 64 bits).
    I16x8MulAddU8S8,
    I16x8MulHighS,
    I16x8MulHighU,
    I16x8Q15MulrRaw,
    InterleaveLow16,
    InterleaveHigh16,
    InterleaveLow32,
    I64x2MulEvenS,
    I64x2MulEvenU,
}

impl VBinOp {
    /// The instruction takes the Wasm operands in the other order.
    pub fn swapped(self) -> bool {
        matches!(
            self,
            VBinOp::AndNot
                | VBinOp::I8x16LtS
                | VBinOp::I16x8LtS
                | VBinOp::I32x4LtS
                | VBinOp::F32x4Gt
                | VBinOp::F32x4Ge
                | VBinOp::F64x2Gt
                | VBinOp::F64x2Ge
                | VBinOp::F32x4PMin
                | VBinOp::F32x4PMax
                | VBinOp::F64x2PMin
                | VBinOp::F64x2PMax
        )
    }
}

/// Two-operand integer operators; operands and result share one type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    /// Shift and rotate counts are taken modulo the bit width (Wasm semantics).
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
    /// Division and remainder trap on a zero divisor; `DivS` also traps on
    /// MIN / -1 (integer overflow); `RemS` of MIN by -1 is 0.
    DivS,
    DivU,
    RemS,
    RemU,
}

/// One-operand integer operators; result has the operand's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    Clz,
    Ctz,
    Popcnt,
    /// Sign-extend the low 8/16/32 bits in place (Wasm 2.0 sign-extension ops).
    Extend8S,
    Extend16S,
    Extend32S,
}

/// Two-operand float operators (Wasm semantics: `Min`/`Max` propagate NaN
/// and order -0 below +0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FBinOp {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    Copysign,
}

/// One-operand float operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FUnOp {
    Abs,
    Neg,
    Sqrt,
    Ceil,
    Floor,
    Trunc,
    /// Round to nearest, ties to even.
    Nearest,
}

/// Float comparisons (false when either operand is NaN, except `Ne`); the
/// result is an `I32` 0 or 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatCC {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// Integer comparisons; the result is an `I32` 0 or 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntCC {
    Eq,
    Ne,
    LtS,
    LtU,
    GtS,
    GtU,
    LeS,
    LeU,
    GeS,
    GeU,
}

impl IntCC {
    /// The condition with operands swapped (`a < b` iff `b > a`).
    pub fn swapped(self) -> IntCC {
        use IntCC::*;
        match self {
            Eq => Eq,
            Ne => Ne,
            LtS => GtS,
            LtU => GtU,
            GtS => LtS,
            GtU => LtU,
            LeS => GeS,
            LeU => GeU,
            GeS => LeS,
            GeU => LeU,
        }
    }
    /// The negated condition (`!(a < b)` iff `a >= b`).
    pub fn inverse(self) -> IntCC {
        use IntCC::*;
        match self {
            Eq => Ne,
            Ne => Eq,
            LtS => GeS,
            LtU => GeU,
            GtS => LeS,
            GtU => LeU,
            LeS => GtS,
            LeU => GtU,
            GeS => LtS,
            GeU => LtU,
        }
    }
}

/// A linear-memory access: `width` bytes at `addr + offset`, where `addr` is
/// the i32 address operand (a Wasm memory index, zero-extended) and `offset`
/// the static offset from the instruction's memarg.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemArg {
    pub offset: u64,
    /// Access size in bytes: 1, 2, 4 or 8.
    pub width: u8,
}

/// A jump target with the arguments for the target block's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockCall {
    pub block: Block,
    pub args: Vec<Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    // ---- pure ----
    /// A second name for an integer value (args: the value), so it can
    /// live in another register: see `opt::loops`. Only that last pass
    /// makes these.
    Copy,
    /// Integer constant; for I32 only the low 32 bits are meaningful.
    Iconst {
        ty: Type,
        imm: u64,
    },
    /// Float constant given as its bit pattern.
    Fconst {
        ty: Type,
        bits: u64,
    },
    /// A v128 constant, low 64 bits first.
    Vconst {
        bits: [u64; 2],
    },
    /// A v128 operator lane by lane (or bit by bit) on two vectors.
    VBinary {
        op: VBinOp,
    },
    /// `v128.not`.
    VNot,
    /// A v128 operator on one vector (`emit::VUNARY`).
    VUnary {
        op: VUnOp,
    },
    /// A vector of `lanes` copies of the scalar argument.
    VSplat {
        lanes: Lanes,
    },
    /// Lane `lane` as a scalar (`signed`: sign-extended, for the 8- and
    /// 16-bit lanes).
    VExtract {
        lanes: Lanes,
        lane: u8,
        signed: bool,
    },
    /// args: [vector, scalar]: the vector with lane `lane` replaced.
    VReplace {
        lanes: Lanes,
        lane: u8,
    },
    /// args: [vector, count (I32)]: each lane shifted by the count modulo
    /// the lane width.
    VShift {
        lanes: Lanes,
        kind: VShiftKind,
    },
    /// A v128 reduced to an I32.
    VReduce {
        op: VReduce,
    },
    /// `i8x16.shuffle`: byte k of the result is byte `lanes[k]` of a ++ b.
    VShuffle {
        lanes: [u8; 16],
    },
    Binary {
        op: BinOp,
        ty: Type,
    },
    Unary {
        op: UnOp,
        ty: Type,
    },
    /// `x == 0` as an I32 0/1.
    Eqz {
        ty: Type,
    },
    Icmp {
        cc: IntCC,
        ty: Type,
    },
    /// i64 -> i32, keeping the low half.
    Wrap,
    /// i32 -> i64.
    ExtendS,
    ExtendU,
    FBinary {
        op: FBinOp,
        ty: Type,
    },
    FUnary {
        op: FUnOp,
        ty: Type,
    },
    Fcmp {
        cc: FloatCC,
        ty: Type,
    },
    /// Float → integer, truncating. Traps on NaN (invalid conversion) and
    /// out-of-range values (integer overflow) unless `saturating`.
    FloatToInt {
        from: Type,
        to: Type,
        signed: bool,
        saturating: bool,
    },
    /// Integer → float, rounding to nearest.
    IntToFloat {
        from: Type,
        to: Type,
        signed: bool,
    },
    /// f32 → f64.
    Promote,
    /// f64 → f32.
    Demote,
    /// Reinterpret the bits as type `to` (same width, other class).
    Bitcast {
        to: Type,
    },
    /// args: [cond (I32), if_nonzero, if_zero].
    Select {
        ty: Type,
    },

    // ---- memory ----
    /// args: [addr (I32)]; result of type `ty`. If `width*8` is below the
    /// result's bit width, the loaded bits are sign- or zero-extended.
    Load {
        ty: Type,
        mem: MemArg,
        signed: bool,
    },
    /// args: [addr (I32), value]; stores the low `mem.width` bytes of value.
    Store {
        ty: Type,
        mem: MemArg,
    },
    /// Result: I32 current size in pages.
    MemorySize,
    /// args: [delta pages (I32)]; result: I32 old size in pages or -1.
    MemoryGrow,
    /// memory.copy / fill / init, data.drop (args: the operator's, I32 each:
    /// copy/fill/init take three, data.drop none). Traps if a range leaves
    /// the memory.
    Bulk(pcc::vmctx::BulkOp),
    /// Table and reference operators through the runtime (args per
    /// `TableOp::arity`, I32 indexes and I64 reference handles; a result for
    /// get (I64), grow (I32) and ref.func (I64)). Traps if a range leaves its
    /// table or segment.
    TableBulk(pcc::vmctx::TableOp),
    /// Result: I32 current length of table `table`.
    TableSize {
        table: u32,
    },

    // ---- globals ----
    /// `index` in the global index space (imports first).
    GlobalGet {
        index: u32,
        ty: Type,
    },
    /// args: [value].
    GlobalSet {
        index: u32,
        ty: Type,
    },

    // ---- calls ----
    /// `func` in the function index space (imports first); args are the
    /// callee's parameters, results its results.
    Call {
        func: u32,
    },
    /// args: callee's parameters followed by the table index (I32).
    /// Traps if the index is out of the table, the element null, or its
    /// signature not `type_index`.
    CallIndirect {
        type_index: u32,
        table: u32,
    },

    // ---- exceptions ----
    /// args: the tag's payload. Throws; never returns (the runtime lands
    /// the exception in a handler, or leaves the entry).
    Throw {
        tag: u32,
    },
    /// args: [exnref], known non-null. Throws it again.
    ThrowRef,
    /// The exception that landed here: result [exnref]. The first
    /// instruction of an `Invoke`'s landing block.
    Landing,
    /// args: [exnref]; results: [1 if its tag is `tag` else 0, then the
    /// tag's payload (meaningful only on 1)].
    ExnCatch {
        tag: u32,
    },

    // ---- terminators (last instruction of each block, only there) ----
    /// `call` (a Call, CallIndirect, Throw or ThrowRef, with its args and
    /// results) whose exception lands in `landing`; on return, `normal`.
    /// Both take no arguments and have this block as their only
    /// predecessor (the results are used in `normal` directly).
    Invoke {
        call: Box<Op>,
        normal: BlockCall,
        landing: BlockCall,
    },
    Jump(BlockCall),
    /// args: [cond (I32)]; goes to `then` if cond != 0.
    Brif {
        then: BlockCall,
        else_: BlockCall,
    },
    /// args: [index (I32)]; `targets[index]` or `default` if out of range.
    BrTable {
        targets: Vec<BlockCall>,
        default: BlockCall,
    },
    /// args: the function's results.
    Return,
    Trap(TrapCode),
}

impl Op {
    pub fn is_terminator(&self) -> bool {
        matches!(
            self,
            Op::Jump(_)
                | Op::Brif { .. }
                | Op::BrTable { .. }
                | Op::Return
                | Op::Trap(_)
                | Op::Invoke { .. }
        )
    }

    /// Pure operators can be moved, merged or dropped when unused. Division
    /// and remainder are not pure: they may trap.
    pub fn is_pure(&self) -> bool {
        match self {
            Op::Binary { op, .. } => {
                !matches!(op, BinOp::DivS | BinOp::DivU | BinOp::RemS | BinOp::RemU)
            }
            Op::FloatToInt { saturating, .. } => *saturating,
            Op::Iconst { .. }
            | Op::Fconst { .. }
            | Op::Vconst { .. }
            | Op::VBinary { .. }
            | Op::VNot
            | Op::VUnary { .. }
            | Op::VSplat { .. }
            | Op::VExtract { .. }
            | Op::VReplace { .. }
            | Op::VShuffle { .. }
            | Op::VReduce { .. }
            | Op::VShift { .. }
            | Op::FBinary { .. }
            | Op::FUnary { .. }
            | Op::Fcmp { .. }
            | Op::IntToFloat { .. }
            | Op::Promote
            | Op::Demote
            | Op::Bitcast { .. }
            | Op::Unary { .. }
            | Op::Eqz { .. }
            | Op::Icmp { .. }
            | Op::Wrap
            | Op::ExtendS
            | Op::ExtendU
            | Op::Select { .. }
            | Op::Copy => true,
            _ => false,
        }
    }

    /// The argument lists of a terminator's block calls, in successor order.
    pub fn successor_args_mut(&mut self) -> Vec<&mut Vec<Value>> {
        match self {
            Op::Jump(c) => vec![&mut c.args],
            Op::Brif { then, else_ } => vec![&mut then.args, &mut else_.args],
            Op::Invoke {
                normal, landing, ..
            } => vec![&mut normal.args, &mut landing.args],
            Op::BrTable { targets, default } => targets
                .iter_mut()
                .chain(std::iter::once(default))
                .map(|c| &mut c.args)
                .collect(),
            _ => vec![],
        }
    }

    /// Successor `k` of a terminator (in `successors` order), without
    /// collecting them all.
    pub fn successor(&self, k: usize) -> Option<&BlockCall> {
        match self {
            Op::Jump(c) if k == 0 => Some(c),
            Op::Brif { then, .. } if k == 0 => Some(then),
            Op::Brif { else_, .. } if k == 1 => Some(else_),
            Op::Invoke { normal, .. } if k == 0 => Some(normal),
            Op::Invoke { landing, .. } if k == 1 => Some(landing),
            Op::BrTable { targets, default } => {
                targets.get(k).or((k == targets.len()).then_some(default))
            }
            _ => None,
        }
    }

    /// The same, to change its arguments.
    pub fn successor_mut(&mut self, k: usize) -> Option<&mut BlockCall> {
        match self {
            Op::Jump(c) if k == 0 => Some(c),
            Op::Brif { then, .. } if k == 0 => Some(then),
            Op::Brif { else_, .. } if k == 1 => Some(else_),
            Op::Invoke { normal, .. } if k == 0 => Some(normal),
            Op::Invoke { landing, .. } if k == 1 => Some(landing),
            Op::BrTable { targets, default } => {
                let n = targets.len();
                if k < n {
                    targets.get_mut(k)
                } else {
                    (k == n).then_some(default)
                }
            }
            _ => None,
        }
    }

    /// Successor blocks of a terminator, in order.
    pub fn successors(&self) -> Vec<&BlockCall> {
        match self {
            Op::Jump(c) => vec![c],
            Op::Brif { then, else_ } => vec![then, else_],
            Op::Invoke {
                normal, landing, ..
            } => vec![normal, landing],
            Op::BrTable { targets, default } => {
                targets.iter().chain(std::iter::once(default)).collect()
            }
            _ => vec![],
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct InstData {
    pub op: Op,
    pub args: Vec<Value>,
    pub results: Vec<Value>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct BlockData {
    pub params: Vec<Value>,
    pub insts: Vec<Inst>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueDef {
    Param(Block, u32),
    Result(Inst, u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueData {
    pub ty: Type,
    pub def: ValueDef,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub params: Vec<Type>,
    pub results: Vec<Type>,
}

/// One function in SSA form.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    /// Index in the module's function index space (imports first).
    pub index: u32,
    pub name: String,
    pub sig: Signature,
    pub blocks: Vec<BlockData>,
    pub insts: Vec<InstData>,
    pub values: Vec<ValueData>,
}

impl Function {
    /// A function with an entry block whose parameters are the signature's.
    pub fn new(index: u32, name: impl Into<String>, sig: Signature) -> Function {
        let mut f = Function {
            index,
            name: name.into(),
            sig: sig.clone(),
            blocks: vec![],
            insts: vec![],
            values: vec![],
        };
        let entry = f.add_block();
        for ty in sig.params {
            f.add_block_param(entry, ty);
        }
        f
    }

    pub const ENTRY: Block = Block(0);

    pub fn add_block(&mut self) -> Block {
        self.blocks.push(BlockData::default());
        Block(self.blocks.len() as u32 - 1)
    }

    pub fn add_block_param(&mut self, block: Block, ty: Type) -> Value {
        let idx = self.blocks[block.0 as usize].params.len() as u32;
        let v = Value(self.values.len() as u32);
        self.values.push(ValueData {
            ty,
            def: ValueDef::Param(block, idx),
        });
        self.blocks[block.0 as usize].params.push(v);
        v
    }

    /// Append an instruction to `block`, creating one result per type.
    pub fn push(&mut self, block: Block, op: Op, args: Vec<Value>, result_tys: &[Type]) -> Inst {
        let inst = Inst(self.insts.len() as u32);
        let results = result_tys
            .iter()
            .enumerate()
            .map(|(i, &ty)| {
                let v = Value(self.values.len() as u32);
                self.values.push(ValueData {
                    ty,
                    def: ValueDef::Result(inst, i as u32),
                });
                v
            })
            .collect();
        self.insts.push(InstData { op, args, results });
        self.blocks[block.0 as usize].insts.push(inst);
        inst
    }

    /// Append a single-result instruction and return its result.
    pub fn push1(&mut self, block: Block, op: Op, args: Vec<Value>, ty: Type) -> Value {
        let inst = self.push(block, op, args, &[ty]);
        self.insts[inst.0 as usize].results[0]
    }

    pub fn inst(&self, inst: Inst) -> &InstData {
        &self.insts[inst.0 as usize]
    }

    pub fn block(&self, block: Block) -> &BlockData {
        &self.blocks[block.0 as usize]
    }

    pub fn value_type(&self, v: Value) -> Type {
        self.values[v.0 as usize].ty
    }

    /// The terminator of `block`, if it has one yet.
    pub fn terminator(&self, block: Block) -> Option<Inst> {
        let last = *self.block(block).insts.last()?;
        self.inst(last).op.is_terminator().then_some(last)
    }

    /// Check the structural rules the backend relies on: every block ends in
    /// exactly one terminator, block calls match parameter counts and types,
    /// every value is defined before use in a dominating position is *not*
    /// checked here (the frontend's construction guarantees it).
    pub fn check(&self) -> Result<(), String> {
        for (bi, b) in self.blocks.iter().enumerate() {
            let Some((&last, body)) = b.insts.split_last() else {
                return Err(format!("block{bi} is empty"));
            };
            if !self.inst(last).op.is_terminator() {
                return Err(format!("block{bi} does not end in a terminator"));
            }
            if let Some(i) = body.iter().find(|&&i| self.inst(i).op.is_terminator()) {
                return Err(format!("block{bi}: terminator inst{} before the end", i.0));
            }
            for call in self.inst(last).op.successors() {
                let target = self
                    .blocks
                    .get(call.block.0 as usize)
                    .ok_or_else(|| format!("block{bi} jumps to missing {}", call.block))?;
                if target.params.len() != call.args.len() {
                    return Err(format!(
                        "block{bi} passes {} args to {} which takes {}",
                        call.args.len(),
                        call.block,
                        target.params.len()
                    ));
                }
                for (a, p) in call.args.iter().zip(&target.params) {
                    if self.value_type(*a) != self.value_type(*p) {
                        return Err(format!(
                            "block{bi}: {a} passed to {} has the wrong type",
                            call.block
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "function {} \"{}\" {:?} -> {:?} {{",
            self.index, self.name, self.sig.params, self.sig.results
        )?;
        for (bi, b) in self.blocks.iter().enumerate() {
            let params: Vec<String> = b
                .params
                .iter()
                .map(|p| format!("{p}: {:?}", self.value_type(*p)))
                .collect();
            writeln!(f, "  block{bi}({}):", params.join(", "))?;
            for &i in &b.insts {
                let d = self.inst(i);
                let res: Vec<String> = d.results.iter().map(|v| v.to_string()).collect();
                let args: Vec<String> = d.args.iter().map(|v| v.to_string()).collect();
                if res.is_empty() {
                    writeln!(f, "    {:?} {}", d.op, args.join(", "))?;
                } else {
                    writeln!(f, "    {} = {:?} {}", res.join(", "), d.op, args.join(", "))?;
                }
            }
        }
        writeln!(f, "}}")
    }
}
