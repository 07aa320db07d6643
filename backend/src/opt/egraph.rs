//! E-graph rewriting of each block's pure integer instructions: constant
//! folding (an e-class analysis with exact Wasm i32/i64 semantics),
//! algebraic identities, strength reduction and CSE by hash-consing.
//!
//! One e-graph per block keeps the pass linear in the function's size and
//! avoids reasoning about dominance: values from other blocks (and results
//! of impure or non-integer instructions) are opaque leaves. After the
//! rules run (bounded by iteration and node limits), each instruction is
//! visited in order and its result becomes, in this preference, the
//! constant of its e-class, a value already available at that point with
//! the same e-class, or the cheapest e-node whose operands are available
//! (written in place of the original instruction, so its result keeps its
//! definition). Dead pure instructions are removed afterwards.

use std::fmt;
use std::sync::OnceLock;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use egg::{
    Analysis, Applier, ConditionalApplier, DidMerge, EGraph, FromOp, Id, Language, Pattern,
    PatternAst, Rewrite, Subst, Symbol, Var,
};

use crate::ir::{
    BinOp, Function, Inst, InstData, IntCC, Op, Type, UnOp, Value, ValueData, ValueDef,
};

/// Integer width of an e-class's values (or of an operator's operands).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum W {
    I32,
    I64,
}

impl W {
    fn of(ty: Type) -> Option<W> {
        match ty {
            Type::I32 => Some(W::I32),
            Type::I64 => Some(W::I64),
            _ => None,
        }
    }
    fn ty(self) -> Type {
        match self {
            W::I32 => Type::I32,
            W::I64 => Type::I64,
        }
    }
    fn bits(self) -> u32 {
        match self {
            W::I32 => 32,
            W::I64 => 64,
        }
    }
    fn mask(self) -> u64 {
        match self {
            W::I32 => 0xFFFF_FFFF,
            W::I64 => u64::MAX,
        }
    }
    fn name(self) -> &'static str {
        match self {
            W::I32 => "i32",
            W::I64 => "i64",
        }
    }
    /// The value as a signed integer of this width.
    fn signed(self, v: u64) -> i64 {
        match self {
            W::I32 => v as u32 as i32 as i64,
            W::I64 => v as i64,
        }
    }
}

/// The conditions in `IntCC` order, so an `Icmp` kind can carry an index
/// (`IntCC` is not `Ord`, which egg's nodes must be).
const CCS: [(IntCC, &str); 10] = [
    (IntCC::Eq, "eq"),
    (IntCC::Ne, "ne"),
    (IntCC::LtS, "lt_s"),
    (IntCC::LtU, "lt_u"),
    (IntCC::GtS, "gt_s"),
    (IntCC::GtU, "gt_u"),
    (IntCC::LeS, "le_s"),
    (IntCC::LeU, "le_u"),
    (IntCC::GeS, "ge_s"),
    (IntCC::GeU, "ge_u"),
];

/// Operator kinds; with a width they name every IR operator this pass
/// covers. Division and remainder are left out: they may trap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum K {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
    Clz,
    Ctz,
    Popcnt,
    Ext8S,
    Ext16S,
    Ext32S,
    Eqz,
    Icmp(u8),
    /// Width is the operand's: always I64.
    Wrap,
    /// Width is the operand's: always I32.
    ExtendS,
    ExtendU,
    /// Width is the result's; the condition is an I32.
    Select,
}

const BINOPS: [(BinOp, K, &str); 11] = [
    (BinOp::Add, K::Add, "add"),
    (BinOp::Sub, K::Sub, "sub"),
    (BinOp::Mul, K::Mul, "mul"),
    (BinOp::And, K::And, "and"),
    (BinOp::Or, K::Or, "or"),
    (BinOp::Xor, K::Xor, "xor"),
    (BinOp::Shl, K::Shl, "shl"),
    (BinOp::ShrS, K::ShrS, "shr_s"),
    (BinOp::ShrU, K::ShrU, "shr_u"),
    (BinOp::Rotl, K::Rotl, "rotl"),
    (BinOp::Rotr, K::Rotr, "rotr"),
];

const UNOPS: [(UnOp, K, &str); 6] = [
    (UnOp::Clz, K::Clz, "clz"),
    (UnOp::Ctz, K::Ctz, "ctz"),
    (UnOp::Popcnt, K::Popcnt, "popcnt"),
    (UnOp::Extend8S, K::Ext8S, "extend8_s"),
    (UnOp::Extend16S, K::Ext16S, "extend16_s"),
    (UnOp::Extend32S, K::Ext32S, "extend32_s"),
];

impl K {
    fn arity(self) -> usize {
        match self {
            K::Clz
            | K::Ctz
            | K::Popcnt
            | K::Ext8S
            | K::Ext16S
            | K::Ext32S
            | K::Eqz
            | K::Wrap
            | K::ExtendS
            | K::ExtendU => 1,
            K::Select => 3,
            _ => 2,
        }
    }

    fn name(self) -> &'static str {
        match self {
            K::Icmp(i) => CCS[i as usize].1,
            K::Eqz => "eqz",
            K::Wrap => "wrap",
            K::ExtendS => "extend_s",
            K::ExtendU => "extend_u",
            K::Select => "select",
            k => BINOPS
                .iter()
                .map(|&(_, k, n)| (k, n))
                .chain(UNOPS.iter().map(|&(_, k, n)| (k, n)))
                .find(|&(kk, _)| kk == k)
                .map(|(_, n)| n)
                .expect("every kind has a name"),
        }
    }

    fn from_name(name: &str) -> Option<K> {
        match name {
            "eqz" => Some(K::Eqz),
            "wrap" => Some(K::Wrap),
            "extend_s" => Some(K::ExtendS),
            "extend_u" => Some(K::ExtendU),
            "select" => Some(K::Select),
            _ => BINOPS
                .iter()
                .map(|&(_, k, n)| (k, n))
                .chain(UNOPS.iter().map(|&(_, k, n)| (k, n)))
                .find(|&(_, n)| n == name)
                .map(|(k, _)| k)
                .or_else(|| {
                    CCS.iter()
                        .position(|&(_, n)| n == name)
                        .map(|i| K::Icmp(i as u8))
                }),
        }
    }

    /// The kind and width of an IR operator this pass covers (not `Iconst`).
    fn of(op: &Op) -> Option<(K, W)> {
        match op {
            Op::Binary { op, ty } => {
                let k = BINOPS.iter().find(|&&(o, _, _)| o == *op)?.1;
                Some((k, W::of(*ty)?))
            }
            Op::Unary { op, ty } => {
                let k = UNOPS.iter().find(|&&(o, _, _)| o == *op)?.1;
                Some((k, W::of(*ty)?))
            }
            Op::Eqz { ty } => Some((K::Eqz, W::of(*ty)?)),
            Op::Icmp { cc, ty } => {
                let i = CCS.iter().position(|&(c, _)| c == *cc)?;
                Some((K::Icmp(i as u8), W::of(*ty)?))
            }
            Op::Wrap => Some((K::Wrap, W::I64)),
            Op::ExtendS => Some((K::ExtendS, W::I32)),
            Op::ExtendU => Some((K::ExtendU, W::I32)),
            Op::Select { ty } => Some((K::Select, W::of(*ty)?)),
            _ => None,
        }
    }

    fn to_op(self, w: W) -> Op {
        let ty = w.ty();
        match self {
            K::Eqz => Op::Eqz { ty },
            K::Icmp(i) => Op::Icmp {
                cc: CCS[i as usize].0,
                ty,
            },
            K::Wrap => Op::Wrap,
            K::ExtendS => Op::ExtendS,
            K::ExtendU => Op::ExtendU,
            K::Select => Op::Select { ty },
            k => {
                if let Some(&(op, _, _)) = BINOPS.iter().find(|&&(_, kk, _)| kk == k) {
                    Op::Binary { op, ty }
                } else {
                    let op = UNOPS.iter().find(|&&(_, kk, _)| kk == k).unwrap().0;
                    Op::Unary { op, ty }
                }
            }
        }
    }

    fn result(self, w: W) -> W {
        match self {
            K::Eqz | K::Icmp(_) | K::Wrap => W::I32,
            K::ExtendS | K::ExtendU => W::I64,
            _ => w,
        }
    }

    /// Whether `w` is a width this kind exists at (`extend32_s` is i64 only,
    /// `wrap` takes an i64, the extensions an i32).
    fn valid_at(self, w: W) -> bool {
        match self {
            K::Ext32S | K::Wrap => w == W::I64,
            K::ExtendS | K::ExtendU => w == W::I32,
            _ => true,
        }
    }

    /// Relative cost of the instruction, for choosing among equivalent
    /// e-nodes (a multiply is slower than a shift).
    fn cost(self) -> u32 {
        match self {
            K::Mul => 3,
            K::Select | K::Icmp(_) | K::Eqz => 2,
            _ => 1,
        }
    }
}

/// The value of `k` at width `w` (operands' width; see `K`) on constant
/// operands, each given zero-extended from its own width: exact Wasm
/// semantics, the result zero-extended from the result's width.
fn eval(k: K, w: W, a: &[u64]) -> u64 {
    let bits = w.bits();
    let m = w.mask();
    let count = |b: u64| (b % bits as u64) as u32;
    let r = match k {
        K::Add => a[0].wrapping_add(a[1]),
        K::Sub => a[0].wrapping_sub(a[1]),
        K::Mul => a[0].wrapping_mul(a[1]),
        K::And => a[0] & a[1],
        K::Or => a[0] | a[1],
        K::Xor => a[0] ^ a[1],
        K::Shl => a[0] << count(a[1]),
        K::ShrS => (w.signed(a[0]) >> count(a[1])) as u64,
        K::ShrU => (a[0] & m) >> count(a[1]),
        K::Rotl | K::Rotr => {
            let c = count(a[1]);
            let c = if k == K::Rotl { c } else { (bits - c) % bits };
            match w {
                W::I32 => (a[0] as u32).rotate_left(c) as u64,
                W::I64 => a[0].rotate_left(c),
            }
        }
        K::Clz => ((a[0] & m).leading_zeros() - (64 - bits)) as u64,
        K::Ctz => (a[0] & m).trailing_zeros().min(bits) as u64,
        K::Popcnt => (a[0] & m).count_ones() as u64,
        K::Ext8S => a[0] as u8 as i8 as i64 as u64,
        K::Ext16S => a[0] as u16 as i16 as i64 as u64,
        K::Ext32S | K::ExtendS => a[0] as u32 as i32 as i64 as u64,
        K::Eqz => (a[0] & m == 0) as u64,
        K::Icmp(i) => {
            let (x, y) = (a[0] & m, a[1] & m);
            let (sx, sy) = (w.signed(x), w.signed(y));
            (match CCS[i as usize].0 {
                IntCC::Eq => x == y,
                IntCC::Ne => x != y,
                IntCC::LtS => sx < sy,
                IntCC::LtU => x < y,
                IntCC::GtS => sx > sy,
                IntCC::GtU => x > y,
                IntCC::LeS => sx <= sy,
                IntCC::LeU => x <= y,
                IntCC::GeS => sx >= sy,
                IntCC::GeU => x >= y,
            }) as u64
        }
        K::Wrap => a[0],
        K::ExtendU => a[0] & 0xFFFF_FFFF,
        K::Select => {
            if a[0] & 0xFFFF_FFFF != 0 {
                a[1]
            } else {
                a[2]
            }
        }
    };
    r & k.result(w).mask()
}

/// An e-node: a constant (zero-extended from its width), an opaque value
/// (an IR value's index), or an operator with `K::arity` children (unused
/// slots stay 0, so equality and hashing see only the real ones).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Node {
    Const(W, u64),
    Leaf(W, u32),
    Op(K, W, [Id; 3]),
}

impl Language for Node {
    type Discriminant = Node;

    fn discriminant(&self) -> Node {
        match self {
            Node::Op(k, w, _) => Node::Op(*k, *w, [Id::from(0usize); 3]),
            n => n.clone(),
        }
    }
    fn matches(&self, other: &Self) -> bool {
        self.discriminant() == other.discriminant()
    }
    fn children(&self) -> &[Id] {
        match self {
            Node::Op(k, _, c) => &c[..k.arity()],
            _ => &[],
        }
    }
    fn children_mut(&mut self) -> &mut [Id] {
        match self {
            Node::Op(k, _, c) => &mut c[..k.arity()],
            _ => &mut [],
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Const(w, v) => write!(f, "{}:{}", w.name(), w.signed(*v)),
            Node::Leaf(w, v) => write!(f, "v{v}:{}", w.name()),
            Node::Op(k, w, _) => write!(f, "{}.{}", k.name(), w.name()),
        }
    }
}

/// Parses the rule table's syntax: `i32:5` (a constant, negative allowed),
/// `add.i64` (an operator).
impl FromOp for Node {
    type Error = String;

    fn from_op(op: &str, children: Vec<Id>) -> Result<Self, String> {
        let width = |s: &str| match s {
            "i32" => Ok(W::I32),
            "i64" => Ok(W::I64),
            _ => Err(format!("bad width in {op}")),
        };
        if let Some((w, v)) = op.split_once(':') {
            let w = width(w)?;
            let v: i64 = v.parse().map_err(|_| format!("bad constant {op}"))?;
            if !children.is_empty() {
                return Err(format!("constant {op} with operands"));
            }
            return Ok(Node::Const(w, v as u64 & w.mask()));
        }
        let (k, w) = op.split_once('.').ok_or_else(|| format!("bad op {op}"))?;
        let k = K::from_name(k).ok_or_else(|| format!("unknown op {op}"))?;
        let w = width(w)?;
        if children.len() != k.arity() || !k.valid_at(w) {
            return Err(format!("{op} with {} operands", children.len()));
        }
        let mut c = [Id::from(0usize); 3];
        c[..children.len()].copy_from_slice(&children);
        Ok(Node::Op(k, w, c))
    }
}

/// Per e-class: its values' width and, when known, its constant value.
#[derive(Debug)]
struct Data {
    w: W,
    konst: Option<u64>,
}

#[derive(Default)]
struct Fold;

impl Analysis<Node> for Fold {
    type Data = Data;

    fn make(egraph: &mut EGraph<Node, Self>, enode: &Node, _id: Id) -> Data {
        match enode {
            Node::Const(w, v) => Data {
                w: *w,
                konst: Some(*v & w.mask()),
            },
            Node::Leaf(w, _) => Data { w: *w, konst: None },
            Node::Op(k, w, _) => {
                let args: Option<Vec<u64>> = enode
                    .children()
                    .iter()
                    .map(|&c| egraph[c].data.konst)
                    .collect();
                Data {
                    w: k.result(*w),
                    konst: args.map(|a| eval(*k, *w, &a)),
                }
            }
        }
    }

    fn merge(&mut self, to: &mut Data, from: Data) -> DidMerge {
        debug_assert_eq!(to.w, from.w, "a rule merged classes of two widths");
        match (to.konst, from.konst) {
            (None, Some(_)) => {
                to.konst = from.konst;
                DidMerge(true, false)
            }
            (Some(a), Some(b)) => {
                debug_assert_eq!(a, b, "a rule merged two different constants");
                DidMerge(false, false)
            }
            (Some(_), None) => DidMerge(false, true),
            (None, None) => DidMerge(false, false),
        }
    }

    fn modify(egraph: &mut EGraph<Node, Self>, id: Id) {
        let d = &egraph[id].data;
        if let Some(v) = d.konst {
            let c = egraph.add(Node::Const(d.w, v));
            egraph.union(id, c);
        }
    }
}

/// When a rule applies beyond its pattern.
#[derive(Clone, Copy)]
enum Cond {
    Always,
    /// `?c` is a constant that is 0 modulo the width: a shift or rotate
    /// by it is the identity (Wasm takes counts modulo the width).
    CountIsZero,
    /// `?c` is a constant other than zero / equal to zero.
    NonZero,
    Zero,
}

/// What a rule produces.
#[derive(Clone, Copy)]
enum Rhs {
    Pattern(&'static str),
    /// `?a` shifted left by log2 of `?c`, when `?c` is a power of two >= 2.
    ShlLog2,
}

/// The rules, as data. There are no commutativity rules: they doubled
/// the e-graph and the saturation's work; instead operands of commutative
/// operators (and comparisons, by swapping the condition) are put in a
/// canonical order as the e-graph is built, so hash-consing shares `a+b`
/// and `b+a`, and constants come second, where the rules expect them. `{w}` is instantiated at i32 and i64, `{m}` as the
/// width minus one; a rule without `{w}` is instantiated once. Every rule
/// holds for all values at Wasm semantics (arithmetic modulo 2^width).
#[rustfmt::skip]
const RULES: &[(&str, &str, Rhs, Cond)] = {
    use Cond::*;
    use Rhs::*;
    &[
        // Identities.
        ("add-0", "(add.{w} ?a {w}:0)", Pattern("?a"), Always),
        ("sub-0", "(sub.{w} ?a {w}:0)", Pattern("?a"), Always),
        ("sub-self", "(sub.{w} ?a ?a)", Pattern("{w}:0"), Always),
        ("mul-0", "(mul.{w} ?a {w}:0)", Pattern("{w}:0"), Always),
        ("mul-1", "(mul.{w} ?a {w}:1)", Pattern("?a"), Always),
        ("and-0", "(and.{w} ?a {w}:0)", Pattern("{w}:0"), Always),
        ("and-ones", "(and.{w} ?a {w}:-1)", Pattern("?a"), Always),
        ("and-self", "(and.{w} ?a ?a)", Pattern("?a"), Always),
        ("or-0", "(or.{w} ?a {w}:0)", Pattern("?a"), Always),
        ("or-ones", "(or.{w} ?a {w}:-1)", Pattern("{w}:-1"), Always),
        ("or-self", "(or.{w} ?a ?a)", Pattern("?a"), Always),
        ("xor-0", "(xor.{w} ?a {w}:0)", Pattern("?a"), Always),
        ("xor-self", "(xor.{w} ?a ?a)", Pattern("{w}:0"), Always),
        ("shl-0", "(shl.{w} ?a ?c)", Pattern("?a"), CountIsZero),
        ("shr_s-0", "(shr_s.{w} ?a ?c)", Pattern("?a"), CountIsZero),
        ("shr_u-0", "(shr_u.{w} ?a ?c)", Pattern("?a"), CountIsZero),
        ("rotl-0", "(rotl.{w} ?a ?c)", Pattern("?a"), CountIsZero),
        ("rotr-0", "(rotr.{w} ?a ?c)", Pattern("?a"), CountIsZero),
        // Wasm already takes shift counts modulo the width.
        ("shl-mask", "(shl.{w} ?a (and.{w} ?b {w}:{m}))", Pattern("(shl.{w} ?a ?b)"), Always),
        ("shr_s-mask", "(shr_s.{w} ?a (and.{w} ?b {w}:{m}))", Pattern("(shr_s.{w} ?a ?b)"), Always),
        ("shr_u-mask", "(shr_u.{w} ?a (and.{w} ?b {w}:{m}))", Pattern("(shr_u.{w} ?a ?b)"), Always),
        ("rotl-mask", "(rotl.{w} ?a (and.{w} ?b {w}:{m}))", Pattern("(rotl.{w} ?a ?b)"), Always),
        ("rotr-mask", "(rotr.{w} ?a (and.{w} ?b {w}:{m}))", Pattern("(rotr.{w} ?a ?b)"), Always),
        // Inverses.
        ("neg-neg", "(sub.{w} {w}:0 (sub.{w} {w}:0 ?a))", Pattern("?a"), Always),
        // Commutative operands are in canonical, not source, order: every
        // order of the inner and the outer operator.
        ("xor-xor", "(xor.{w} (xor.{w} ?a ?b) ?b)", Pattern("?a"), Always),
        ("xor-xor2", "(xor.{w} (xor.{w} ?b ?a) ?b)", Pattern("?a"), Always),
        ("xor-xor3", "(xor.{w} ?b (xor.{w} ?a ?b))", Pattern("?a"), Always),
        ("xor-xor4", "(xor.{w} ?b (xor.{w} ?b ?a))", Pattern("?a"), Always),
        ("add-sub", "(sub.{w} (add.{w} ?a ?b) ?b)", Pattern("?a"), Always),
        ("add-sub2", "(sub.{w} (add.{w} ?b ?a) ?b)", Pattern("?a"), Always),
        ("sub-add", "(add.{w} (sub.{w} ?a ?b) ?b)", Pattern("?a"), Always),
        ("sub-add2", "(add.{w} ?b (sub.{w} ?a ?b))", Pattern("?a"), Always),
        // Comparisons of a value with itself (the result is an i32).
        ("eq-self", "(eq.{w} ?a ?a)", Pattern("i32:1"), Always),
        ("ne-self", "(ne.{w} ?a ?a)", Pattern("i32:0"), Always),
        ("lt_s-self", "(lt_s.{w} ?a ?a)", Pattern("i32:0"), Always),
        ("lt_u-self", "(lt_u.{w} ?a ?a)", Pattern("i32:0"), Always),
        ("gt_s-self", "(gt_s.{w} ?a ?a)", Pattern("i32:0"), Always),
        ("gt_u-self", "(gt_u.{w} ?a ?a)", Pattern("i32:0"), Always),
        ("le_s-self", "(le_s.{w} ?a ?a)", Pattern("i32:1"), Always),
        ("le_u-self", "(le_u.{w} ?a ?a)", Pattern("i32:1"), Always),
        ("ge_s-self", "(ge_s.{w} ?a ?a)", Pattern("i32:1"), Always),
        ("ge_u-self", "(ge_u.{w} ?a ?a)", Pattern("i32:1"), Always),
        // A negated comparison is the inverse comparison.
        ("eqz-eq", "(eqz.i32 (eq.{w} ?a ?b))", Pattern("(ne.{w} ?a ?b)"), Always),
        ("eqz-ne", "(eqz.i32 (ne.{w} ?a ?b))", Pattern("(eq.{w} ?a ?b)"), Always),
        ("eqz-lt_s", "(eqz.i32 (lt_s.{w} ?a ?b))", Pattern("(ge_s.{w} ?a ?b)"), Always),
        ("eqz-lt_u", "(eqz.i32 (lt_u.{w} ?a ?b))", Pattern("(ge_u.{w} ?a ?b)"), Always),
        ("eqz-gt_s", "(eqz.i32 (gt_s.{w} ?a ?b))", Pattern("(le_s.{w} ?a ?b)"), Always),
        ("eqz-gt_u", "(eqz.i32 (gt_u.{w} ?a ?b))", Pattern("(le_u.{w} ?a ?b)"), Always),
        ("eqz-le_s", "(eqz.i32 (le_s.{w} ?a ?b))", Pattern("(gt_s.{w} ?a ?b)"), Always),
        ("eqz-le_u", "(eqz.i32 (le_u.{w} ?a ?b))", Pattern("(gt_u.{w} ?a ?b)"), Always),
        ("eqz-ge_s", "(eqz.i32 (ge_s.{w} ?a ?b))", Pattern("(lt_s.{w} ?a ?b)"), Always),
        ("eqz-ge_u", "(eqz.i32 (ge_u.{w} ?a ?b))", Pattern("(lt_u.{w} ?a ?b)"), Always),
        ("eqz-eqz-eqz", "(eqz.i32 (eqz.i32 (eqz.{w} ?a)))", Pattern("(eqz.{w} ?a)"), Always),
        // Redundant extensions.
        ("wrap-extend_u", "(wrap.i64 (extend_u.i32 ?a))", Pattern("?a"), Always),
        ("wrap-extend_s", "(wrap.i64 (extend_s.i32 ?a))", Pattern("?a"), Always),
        ("extend_s-wrap", "(extend_s.i32 (wrap.i64 ?a))", Pattern("(extend32_s.i64 ?a)"), Always),
        ("and-extend_u", "(and.i64 (extend_u.i32 ?a) i64:4294967295)", Pattern("(extend_u.i32 ?a)"), Always),
        ("ext8-ext8", "(extend8_s.{w} (extend8_s.{w} ?a))", Pattern("(extend8_s.{w} ?a)"), Always),
        ("ext16-ext16", "(extend16_s.{w} (extend16_s.{w} ?a))", Pattern("(extend16_s.{w} ?a)"), Always),
        ("ext32-ext32", "(extend32_s.i64 (extend32_s.i64 ?a))", Pattern("(extend32_s.i64 ?a)"), Always),
        ("ext32-extend_s", "(extend32_s.i64 (extend_s.i32 ?a))", Pattern("(extend_s.i32 ?a)"), Always),
        // Select.
        ("select-same", "(select.{w} ?c ?a ?a)", Pattern("?a"), Always),
        ("select-true", "(select.{w} ?c ?a ?b)", Pattern("?a"), NonZero),
        ("select-false", "(select.{w} ?c ?a ?b)", Pattern("?b"), Zero),
        ("select-eqz", "(select.{w} (eqz.i32 ?c) ?a ?b)", Pattern("(select.{w} ?c ?b ?a)"), Always),
        // Strength reduction.
        ("mul-pow2", "(mul.{w} ?a ?c)", ShlLog2, Always),
    ]
};

fn konst(egraph: &EGraph<Node, Fold>, subst: &Subst, var: &str) -> Option<u64> {
    let v: Var = var.parse().unwrap();
    egraph[subst[v]].data.konst
}

/// `?a << log2(?c)` for a constant power of two `?c` >= 2.
struct ShlLog2 {
    w: W,
}

impl Applier<Node, Fold> for ShlLog2 {
    fn apply_one(
        &self,
        egraph: &mut EGraph<Node, Fold>,
        eclass: Id,
        subst: &Subst,
        _ast: Option<&PatternAst<Node>>,
        _rule: Symbol,
    ) -> Vec<Id> {
        let Some(c) = konst(egraph, subst, "?c") else {
            return vec![];
        };
        if c < 2 || !c.is_power_of_two() {
            return vec![];
        }
        let a = subst["?a".parse().unwrap()];
        let k = egraph.add(Node::Const(self.w, c.trailing_zeros() as u64));
        let mut ch = [Id::from(0usize); 3];
        ch[0] = a;
        ch[1] = k;
        let shl = egraph.add(Node::Op(K::Shl, self.w, ch));
        if egraph.union(eclass, shl) {
            vec![eclass]
        } else {
            vec![]
        }
    }
}

/// A bit per operator kind and width, to skip the rules whose root operator
/// a block does not have (most blocks have few kinds).
fn key(k: K, w: W) -> u128 {
    let o = match k {
        K::Add => 0,
        K::Sub => 1,
        K::Mul => 2,
        K::And => 3,
        K::Or => 4,
        K::Xor => 5,
        K::Shl => 6,
        K::ShrS => 7,
        K::ShrU => 8,
        K::Rotl => 9,
        K::Rotr => 10,
        K::Clz => 11,
        K::Ctz => 12,
        K::Popcnt => 13,
        K::Ext8S => 14,
        K::Ext16S => 15,
        K::Ext32S => 16,
        K::Eqz => 17,
        K::Icmp(i) => 18 + i as u32,
        K::Wrap => 28,
        K::ExtendS => 29,
        K::ExtendU => 30,
        K::Select => 31,
    };
    1 << (2 * o + (w == W::I64) as u32)
}

fn rules() -> &'static [(u128, Rewrite<Node, Fold>)] {
    static RULES_CELL: OnceLock<Vec<(u128, Rewrite<Node, Fold>)>> = OnceLock::new();
    RULES_CELL.get_or_init(|| {
        let mut out = vec![];
        for &(name, lhs, rhs, cond) in RULES {
            let widths: &[W] = if lhs.contains("{w}") {
                &[W::I32, W::I64]
            } else {
                &[W::I64]
            };
            for &w in widths {
                let inst = |s: &str| {
                    s.replace("{w}", w.name())
                        .replace("{m}", &(w.bits() - 1).to_string())
                };
                let name = format!("{name}.{}", w.name());
                let lhs: Pattern<Node> = inst(lhs).parse().expect("rule pattern");
                let root = match lhs.ast.as_ref().last() {
                    Some(egg::ENodeOrVar::ENode(Node::Op(k, w, _))) => key(*k, *w),
                    _ => panic!("rule {name} does not start with an operator"),
                };
                let bits = w.bits() as u64;
                let check = move |eg: &mut EGraph<Node, Fold>, _: Id, s: &Subst| match cond {
                    Cond::Always => true,
                    Cond::CountIsZero => konst(eg, s, "?c").is_some_and(|c| c % bits == 0),
                    Cond::NonZero => konst(eg, s, "?c").is_some_and(|c| c != 0),
                    Cond::Zero => konst(eg, s, "?c") == Some(0),
                };
                let rw = match rhs {
                    Rhs::Pattern(p) => {
                        let rhs: Pattern<Node> = inst(p).parse().expect("rule pattern");
                        let applier = ConditionalApplier {
                            condition: check,
                            applier: rhs,
                        };
                        Rewrite::new(name, lhs, applier)
                    }
                    Rhs::ShlLog2 => Rewrite::new(name, lhs, ShlLog2 { w }),
                };
                out.push((root, rw.expect("well-formed rule")));
            }
        }
        out
    })
}

/// Bounds on the saturation, so compile time stays linear in block size.
const ITER_LIMIT: usize = 4;
const NODES_PER_INST: usize = 8;

/// Apply every rule (all searches, then all applications, then a rebuild)
/// until nothing changes or a limit is hit. Not egg's `Runner`: it reads
/// the clock around every rule, which cost more than the rewriting itself
/// (a quarter of bz2's compile time).
fn saturate(mut egraph: EGraph<Node, Fold>, node_limit: usize) -> EGraph<Node, Fold> {
    egraph.rebuild();
    for _ in 0..ITER_LIMIT {
        let size = (egraph.total_number_of_nodes(), egraph.number_of_classes());
        let mut present = 0u128;
        for c in egraph.classes() {
            for n in &c.nodes {
                if let Node::Op(k, w, _) = n {
                    present |= key(*k, *w);
                }
            }
        }
        let matches: Vec<_> = rules()
            .iter()
            .filter(|(root, _)| present & root != 0)
            .map(|(_, r)| (r, r.search(&egraph)))
            .collect();
        for (r, m) in &matches {
            if !m.is_empty() {
                r.apply(&mut egraph, m);
            }
        }
        egraph.rebuild();
        let now = (egraph.total_number_of_nodes(), egraph.number_of_classes());
        if now == size || now.0 > node_limit {
            break;
        }
    }
    egraph
}

/// Run the pass over every block; returns how many instructions were
/// removed or changed.
pub fn simplify(f: &mut Function) -> usize {
    let mut repl: HashMap<Value, Value> = HashMap::default();
    let mut changed = 0;
    for b in 0..f.blocks.len() {
        changed += simplify_block(f, b, &mut repl);
    }
    if !repl.is_empty() {
        rename(f, &repl);
    }
    changed + remove_dead(f)
}

fn is_candidate(d: &InstData) -> bool {
    match d.op {
        Op::Iconst { ty, .. } => ty.is_int(),
        ref op => K::of(op).is_some(),
    }
}

fn simplify_block(f: &mut Function, b: usize, repl: &mut HashMap<Value, Value>) -> usize {
    let insts = f.blocks[b].insts.clone();
    let n = insts.iter().filter(|&&i| is_candidate(f.inst(i))).count();
    // Constants alone have nothing to fold.
    let worth = insts.iter().any(|&i| K::of(&f.inst(i).op).is_some());
    if !worth {
        return 0;
    }
    // The e-class of every value this block's candidates define or use.
    let mut egraph: EGraph<Node, Fold> = EGraph::default();
    let mut ids: HashMap<Value, Id> = HashMap::default();
    for &i in &insts {
        let d = f.inst(i);
        let node = match d.op {
            Op::Iconst { ty, imm } if ty.is_int() => {
                let w = W::of(ty).unwrap();
                Node::Const(w, imm & w.mask())
            }
            ref op => match K::of(op) {
                Some((k, w)) => {
                    let mut c = [Id::from(0usize); 3];
                    for (slot, &a) in c.iter_mut().zip(&d.args) {
                        *slot = *ids.entry(a).or_insert_with(|| {
                            let w = W::of(f.value_type(a)).expect("integer operand");
                            egraph.add(Node::Leaf(w, a.0))
                        });
                    }
                    canonical(&egraph, k, w, c)
                }
                None => continue,
            },
        };
        let id = egraph.add(node);
        ids.insert(d.results[0], id);
    }
    let egraph = saturate(egraph, NODES_PER_INST * n + 64);

    // Values available at the block's start: the leaves defined elsewhere
    // (a definition in another block dominates every use here) and the
    // block's own parameters. Leaves defined here become available below.
    let here: HashSet<Inst> = insts.iter().copied().collect();
    let mut avail: HashMap<Id, Value> = HashMap::default();
    for (&v, &id) in &ids {
        let elsewhere = match f.values[v.0 as usize].def {
            ValueDef::Result(i, _) => !here.contains(&i),
            ValueDef::Param(..) => true,
        };
        if elsewhere {
            avail.entry(egraph.find(id)).or_insert(v);
        }
    }

    let mut out: Vec<Inst> = Vec::with_capacity(insts.len());
    let mut changed = 0;
    for &i in &insts {
        let d = f.inst(i);
        if !is_candidate(d) {
            // Its results are leaves, available from here on.
            for r in &d.results {
                if let Some(&id) = ids.get(r) {
                    avail.entry(egraph.find(id)).or_insert(*r);
                }
            }
            out.push(i);
            continue;
        }
        let v = d.results[0];
        let class = egraph.find(ids[&v]);
        // A constant stays (or becomes) its own instruction rather than
        // reusing an earlier one: lowering does not rematerialize, so a
        // shared constant would hold a register (or a spill slot) across
        // the block.
        let ty = f.value_type(v);
        if let Some(k) = egraph[class].data.konst {
            if !matches!(d.op, Op::Iconst { .. }) {
                f.insts[i.0 as usize].op = Op::Iconst { ty, imm: k };
                f.insts[i.0 as usize].args.clear();
                changed += 1;
            }
            avail.entry(class).or_insert(v);
            out.push(i);
            continue;
        }
        if let Some(&u) = avail.get(&class) {
            repl.insert(v, u);
            changed += 1;
            continue;
        }
        // The cheapest e-node whose operands are all available here or
        // constants (materialized as new instructions); ties keep the
        // original so that nothing changes without a gain.
        let (k0, w0) = K::of(&d.op).expect("a candidate operator");
        let child_cost = |c: Id| {
            let c = egraph.find(c);
            if avail.contains_key(&c) {
                Some(0)
            } else if egraph[c].data.konst.is_some() {
                Some(1)
            } else {
                None
            }
        };
        let orig: Vec<Id> = d.args.iter().map(|a| egraph.find(ids[a])).collect();
        // The original in the order the e-graph holds it (see `canonical`):
        // choosing it is no change either.
        let mut slots = [Id::from(0usize); 3];
        slots[..orig.len()].copy_from_slice(&orig);
        let orig_canon = canonical(&egraph, k0, w0, slots);
        let mut best: Option<(u32, bool, K, W, Vec<Id>)> = None;
        for node in &egraph[class].nodes {
            let Node::Op(k, w, _) = node else { continue };
            let Some(cost) = node
                .children()
                .iter()
                .try_fold(k.cost(), |s, &c| child_cost(c).map(|x| s + x))
            else {
                continue;
            };
            let kids: Vec<Id> = node.children().iter().map(|&c| egraph.find(c)).collect();
            let is_orig =
                (*k == k0 && *w == w0 && kids == orig) || same_node(&egraph, node, &orig_canon);
            let better = match &best {
                None => true,
                Some((bc, ..)) => cost < *bc || (cost == *bc && is_orig),
            };
            if better {
                best = Some((cost, is_orig, *k, *w, kids));
            }
        }
        if let Some((_, _, k, w, kids)) = best.filter(|b| !b.1) {
            let mut args = Vec::with_capacity(kids.len());
            for c in kids {
                let a = match avail.get(&c) {
                    Some(&a) => a,
                    None => {
                        let cw = egraph[c].data.w;
                        let imm = egraph[c].data.konst.expect("available or constant");
                        let a = new_iconst(f, cw.ty(), imm, &mut out);
                        avail.insert(c, a);
                        a
                    }
                };
                args.push(a);
            }
            let d = &mut f.insts[i.0 as usize];
            d.op = k.to_op(w);
            d.args = args;
            changed += 1;
        }
        avail.insert(class, v);
        out.push(i);
    }
    f.blocks[b].insts = out;
    changed
}

/// The node with commutative operands ordered: non-constants first, then
/// by e-class id; a comparison's operands are swapped with the condition.
fn canonical(egraph: &EGraph<Node, Fold>, k: K, w: W, mut c: [Id; 3]) -> Node {
    let rank = |id: Id| (egraph[id].data.konst.is_some(), egraph.find(id));
    if k.arity() != 2 || rank(c[0]) <= rank(c[1]) {
        return Node::Op(k, w, c);
    }
    let k = match k {
        K::Add | K::Mul | K::And | K::Or | K::Xor => k,
        K::Icmp(i) => {
            let cc = CCS[i as usize].0.swapped();
            K::Icmp(CCS.iter().position(|&(c, _)| c == cc).unwrap() as u8)
        }
        _ => return Node::Op(k, w, c),
    };
    c.swap(0, 1);
    Node::Op(k, w, c)
}

/// Whether two nodes are the same operator on the same e-classes.
fn same_node(egraph: &EGraph<Node, Fold>, a: &Node, b: &Node) -> bool {
    a.matches(b)
        && a.children()
            .iter()
            .zip(b.children())
            .all(|(&x, &y)| egraph.find(x) == egraph.find(y))
}

/// A new constant instruction, appended to `out` (not yet in any block).
fn new_iconst(f: &mut Function, ty: Type, imm: u64, out: &mut Vec<Inst>) -> Value {
    let inst = Inst(f.insts.len() as u32);
    let v = Value(f.values.len() as u32);
    f.values.push(ValueData {
        ty,
        def: ValueDef::Result(inst, 0),
    });
    f.insts.push(InstData {
        op: Op::Iconst { ty, imm },
        args: vec![],
        results: vec![v],
    });
    out.push(inst);
    v
}

/// Rename every use (operands and block-call arguments) through `repl`.
fn rename(f: &mut Function, repl: &HashMap<Value, Value>) {
    let resolve = |mut v: Value| {
        while let Some(&w) = repl.get(&v) {
            v = w;
        }
        v
    };
    for b in 0..f.blocks.len() {
        for k in 0..f.blocks[b].insts.len() {
            let i = f.blocks[b].insts[k];
            let d = &mut f.insts[i.0 as usize];
            for a in &mut d.args {
                *a = resolve(*a);
            }
            for args in d.op.successor_args_mut() {
                for a in args {
                    *a = resolve(*a);
                }
            }
        }
    }
}

/// Remove pure instructions whose results are unused, until none is left;
/// returns how many were removed.
pub fn remove_dead(f: &mut Function) -> usize {
    let mut uses = vec![0u32; f.values.len()];
    for b in &f.blocks {
        for &i in &b.insts {
            let d = f.inst(i);
            for a in d
                .args
                .iter()
                .chain(d.op.successors().iter().flat_map(|c| &c.args))
            {
                uses[a.0 as usize] += 1;
            }
        }
    }
    let mut removed = 0;
    loop {
        let before = removed;
        for b in 0..f.blocks.len() {
            // Backwards, so a chain of dead instructions goes in one sweep.
            let mut dead = vec![false; f.blocks[b].insts.len()];
            for (k, &i) in f.blocks[b].insts.iter().enumerate().rev() {
                let d = &f.insts[i.0 as usize];
                if d.op.is_pure() && d.results.iter().all(|r| uses[r.0 as usize] == 0) {
                    for a in &d.args {
                        uses[a.0 as usize] -= 1;
                    }
                    dead[k] = true;
                    removed += 1;
                }
            }
            let mut k = 0;
            f.blocks[b].insts.retain(|_| {
                k += 1;
                !dead[k - 1]
            });
        }
        if removed == before {
            return removed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{BlockCall, Signature};

    fn func(params: &[Type]) -> Function {
        Function::new(
            0,
            "f",
            Signature {
                params: params.to_vec(),
                results: vec![],
            },
        )
    }

    fn iconst(f: &mut Function, ty: Type, imm: u64) -> Value {
        f.push1(Function::ENTRY, Op::Iconst { ty, imm }, vec![], ty)
    }

    fn bin(f: &mut Function, op: BinOp, ty: Type, a: Value, b: Value) -> Value {
        f.push1(Function::ENTRY, Op::Binary { op, ty }, vec![a, b], ty)
    }

    fn ret(f: &mut Function, vals: Vec<Value>) -> Inst {
        f.push(Function::ENTRY, Op::Return, vals, &[])
    }

    /// The operands of the (single) return, after the pass.
    fn returned(f: &Function) -> Vec<Value> {
        f.inst(f.terminator(Function::ENTRY).unwrap()).args.clone()
    }

    fn def(f: &Function, v: Value) -> &InstData {
        match f.values[v.0 as usize].def {
            ValueDef::Result(i, _) => f.inst(i),
            ValueDef::Param(..) => panic!("{v} is a parameter"),
        }
    }

    fn const_of(f: &Function, v: Value) -> Option<u64> {
        match def(f, v).op {
            Op::Iconst { imm, .. } => Some(imm),
            _ => None,
        }
    }

    const I32S: [u64; 10] = [
        0,
        1,
        2,
        5,
        31,
        32,
        33,
        0x7FFF_FFFF,
        0x8000_0000,
        0xFFFF_FFFF,
    ];
    const I64S: [u64; 11] = [
        0,
        1,
        3,
        63,
        64,
        65,
        0x8000_0000,
        0xFFFF_FFFF,
        i64::MAX as u64,
        i64::MIN as u64,
        u64::MAX,
    ];

    /// The reference for a binary operator, from Rust's own integer ops.
    fn ref_bin(op: BinOp, ty: Type, a: u64, b: u64) -> u64 {
        if ty == Type::I32 {
            let (x, y) = (a as u32, b as u32);
            (match op {
                BinOp::Add => x.wrapping_add(y),
                BinOp::Sub => x.wrapping_sub(y),
                BinOp::Mul => x.wrapping_mul(y),
                BinOp::And => x & y,
                BinOp::Or => x | y,
                BinOp::Xor => x ^ y,
                BinOp::Shl => x.wrapping_shl(y),
                BinOp::ShrS => (x as i32).wrapping_shr(y) as u32,
                BinOp::ShrU => x.wrapping_shr(y),
                BinOp::Rotl => x.rotate_left(y % 32),
                BinOp::Rotr => x.rotate_right(y % 32),
                _ => unreachable!(),
            }) as u64
        } else {
            let (x, y) = (a, b);
            match op {
                BinOp::Add => x.wrapping_add(y),
                BinOp::Sub => x.wrapping_sub(y),
                BinOp::Mul => x.wrapping_mul(y),
                BinOp::And => x & y,
                BinOp::Or => x | y,
                BinOp::Xor => x ^ y,
                BinOp::Shl => x.wrapping_shl(y as u32),
                BinOp::ShrS => (x as i64).wrapping_shr(y as u32) as u64,
                BinOp::ShrU => x.wrapping_shr(y as u32),
                BinOp::Rotl => x.rotate_left((y % 64) as u32),
                BinOp::Rotr => x.rotate_right((y % 64) as u32),
                _ => unreachable!(),
            }
        }
    }

    #[test]
    fn every_binop_folds_at_both_widths_like_rust() {
        for &(op, _, name) in &BINOPS {
            for (ty, vals) in [(Type::I32, &I32S[..]), (Type::I64, &I64S[..])] {
                for &a in vals {
                    for &b in vals {
                        let mut f = func(&[]);
                        let x = iconst(&mut f, ty, a);
                        let y = iconst(&mut f, ty, b);
                        let r = bin(&mut f, op, ty, x, y);
                        ret(&mut f, vec![r]);
                        simplify(&mut f);
                        f.check().unwrap();
                        let got = const_of(&f, returned(&f)[0]);
                        assert_eq!(
                            got,
                            Some(ref_bin(op, ty, a, b)),
                            "{name}.{ty:?} {a:#x} {b:#x}"
                        );
                        // Only the folded constant is left.
                        assert_eq!(f.blocks[0].insts.len(), 2);
                    }
                }
            }
        }
    }

    #[test]
    fn unary_compare_and_conversion_ops_fold_like_rust() {
        for &a in &I32S {
            let x = a as u32;
            let cases: Vec<(Op, u64)> = vec![
                (
                    Op::Unary {
                        op: UnOp::Clz,
                        ty: Type::I32,
                    },
                    x.leading_zeros() as u64,
                ),
                (
                    Op::Unary {
                        op: UnOp::Ctz,
                        ty: Type::I32,
                    },
                    x.trailing_zeros() as u64,
                ),
                (
                    Op::Unary {
                        op: UnOp::Popcnt,
                        ty: Type::I32,
                    },
                    x.count_ones() as u64,
                ),
                (
                    Op::Unary {
                        op: UnOp::Extend8S,
                        ty: Type::I32,
                    },
                    x as u8 as i8 as i32 as u32 as u64,
                ),
                (
                    Op::Unary {
                        op: UnOp::Extend16S,
                        ty: Type::I32,
                    },
                    x as u16 as i16 as i32 as u32 as u64,
                ),
                (Op::Eqz { ty: Type::I32 }, (x == 0) as u64),
                (Op::ExtendS, x as i32 as i64 as u64),
                (Op::ExtendU, x as u64),
            ];
            check_unary(Type::I32, a, cases);
        }
        for &a in &I64S {
            let cases: Vec<(Op, u64)> = vec![
                (
                    Op::Unary {
                        op: UnOp::Clz,
                        ty: Type::I64,
                    },
                    a.leading_zeros() as u64,
                ),
                (
                    Op::Unary {
                        op: UnOp::Ctz,
                        ty: Type::I64,
                    },
                    a.trailing_zeros() as u64,
                ),
                (
                    Op::Unary {
                        op: UnOp::Popcnt,
                        ty: Type::I64,
                    },
                    a.count_ones() as u64,
                ),
                (
                    Op::Unary {
                        op: UnOp::Extend8S,
                        ty: Type::I64,
                    },
                    a as u8 as i8 as i64 as u64,
                ),
                (
                    Op::Unary {
                        op: UnOp::Extend16S,
                        ty: Type::I64,
                    },
                    a as u16 as i16 as i64 as u64,
                ),
                (
                    Op::Unary {
                        op: UnOp::Extend32S,
                        ty: Type::I64,
                    },
                    a as u32 as i32 as i64 as u64,
                ),
                (Op::Eqz { ty: Type::I64 }, (a == 0) as u64),
                (Op::Wrap, a as u32 as u64),
            ];
            check_unary(Type::I64, a, cases);
        }
        for (ty, vals) in [(Type::I32, &I32S[..]), (Type::I64, &I64S[..])] {
            for &a in vals {
                for &b in vals {
                    let (sa, sb) = if ty == Type::I32 {
                        (a as u32 as i32 as i64, b as u32 as i32 as i64)
                    } else {
                        (a as i64, b as i64)
                    };
                    for (cc, want) in [
                        (IntCC::Eq, a == b),
                        (IntCC::Ne, a != b),
                        (IntCC::LtS, sa < sb),
                        (IntCC::LtU, a < b),
                        (IntCC::GtS, sa > sb),
                        (IntCC::GtU, a > b),
                        (IntCC::LeS, sa <= sb),
                        (IntCC::LeU, a <= b),
                        (IntCC::GeS, sa >= sb),
                        (IntCC::GeU, a >= b),
                    ] {
                        let mut f = func(&[]);
                        let x = iconst(&mut f, ty, a);
                        let y = iconst(&mut f, ty, b);
                        let r =
                            f.push1(Function::ENTRY, Op::Icmp { cc, ty }, vec![x, y], Type::I32);
                        ret(&mut f, vec![r]);
                        simplify(&mut f);
                        assert_eq!(
                            const_of(&f, returned(&f)[0]),
                            Some(want as u64),
                            "{cc:?} {a:#x} {b:#x}"
                        );
                    }
                }
            }
        }
    }

    fn check_unary(ty: Type, a: u64, cases: Vec<(Op, u64)>) {
        for (op, want) in cases {
            let rty = match op {
                Op::Eqz { .. } | Op::Wrap => Type::I32,
                Op::ExtendS | Op::ExtendU => Type::I64,
                _ => ty,
            };
            let mut f = func(&[]);
            let x = iconst(&mut f, ty, a);
            let r = f.push1(Function::ENTRY, op.clone(), vec![x], rty);
            ret(&mut f, vec![r]);
            simplify(&mut f);
            assert_eq!(const_of(&f, returned(&f)[0]), Some(want), "{op:?} {a:#x}");
        }
    }

    #[test]
    fn select_folds_on_a_constant_condition_and_equal_arms() {
        let mut f = func(&[Type::I64, Type::I64, Type::I32]);
        let [a, b, c] = [0, 1, 2].map(|k| f.blocks[0].params[k]);
        let one = iconst(&mut f, Type::I32, 7);
        let zero = iconst(&mut f, Type::I32, 0);
        let sel = |f: &mut Function, args| {
            f.push1(
                Function::ENTRY,
                Op::Select { ty: Type::I64 },
                args,
                Type::I64,
            )
        };
        let s1 = sel(&mut f, vec![one, a, b]);
        let s2 = sel(&mut f, vec![zero, a, b]);
        let s3 = sel(&mut f, vec![c, b, b]);
        let s4 = sel(&mut f, vec![c, a, b]);
        ret(&mut f, vec![s1, s2, s3, s4]);
        simplify(&mut f);
        assert_eq!(returned(&f)[..3], [a, b, b]);
        assert!(matches!(def(&f, returned(&f)[3]).op, Op::Select { .. }));
    }

    #[test]
    fn identities_give_the_operand_or_a_constant() {
        for ty in [Type::I32, Type::I64] {
            let ones = if ty == Type::I32 {
                0xFFFF_FFFF
            } else {
                u64::MAX
            };
            let bits = ty.bits() as u64;
            let to_x = [
                (BinOp::Add, 0),
                (BinOp::Sub, 0),
                (BinOp::Mul, 1),
                (BinOp::And, ones),
                (BinOp::Or, 0),
                (BinOp::Xor, 0),
                (BinOp::Shl, 0),
                (BinOp::Shl, bits),
                (BinOp::ShrS, 2 * bits),
                (BinOp::ShrU, 0),
                (BinOp::Rotl, bits),
                (BinOp::Rotr, 0),
            ];
            for (op, k) in to_x {
                let mut f = func(&[ty]);
                let x = f.blocks[0].params[0];
                let c = iconst(&mut f, ty, k);
                // Constant first too, for the commutative ones.
                let r = bin(&mut f, op, ty, x, c);
                ret(&mut f, vec![r]);
                simplify(&mut f);
                assert_eq!(returned(&f), vec![x], "{op:?} {k}");
                assert_eq!(f.blocks[0].insts.len(), 1, "the constant is dead");
            }
            let to_const = [
                (BinOp::Mul, Some(0), 0),
                (BinOp::And, Some(0), 0),
                (BinOp::Or, Some(ones), ones),
                (BinOp::Sub, None, 0),
                (BinOp::Xor, None, 0),
            ];
            for (op, k, want) in to_const {
                let mut f = func(&[ty]);
                let x = f.blocks[0].params[0];
                let y = match k {
                    Some(k) => iconst(&mut f, ty, k),
                    None => x,
                };
                let r = bin(&mut f, op, ty, y, x);
                ret(&mut f, vec![r]);
                simplify(&mut f);
                assert_eq!(const_of(&f, returned(&f)[0]), Some(want), "{op:?}");
            }
            for op in [BinOp::And, BinOp::Or] {
                let mut f = func(&[ty]);
                let x = f.blocks[0].params[0];
                let r = bin(&mut f, op, ty, x, x);
                ret(&mut f, vec![r]);
                simplify(&mut f);
                assert_eq!(returned(&f), vec![x]);
            }
        }
    }

    #[test]
    fn commuted_and_repeated_expressions_share_one_instruction() {
        let mut f = func(&[Type::I32, Type::I32]);
        let (x, y) = (f.blocks[0].params[0], f.blocks[0].params[1]);
        let a = bin(&mut f, BinOp::Add, Type::I32, x, y);
        let b = bin(&mut f, BinOp::Add, Type::I32, y, x);
        let c = bin(&mut f, BinOp::Mul, Type::I32, a, x);
        let d = bin(&mut f, BinOp::Mul, Type::I32, x, b);
        let lt = f.push1(
            Function::ENTRY,
            Op::Icmp {
                cc: IntCC::LtU,
                ty: Type::I32,
            },
            vec![x, y],
            Type::I32,
        );
        let gt = f.push1(
            Function::ENTRY,
            Op::Icmp {
                cc: IntCC::GtU,
                ty: Type::I32,
            },
            vec![y, x],
            Type::I32,
        );
        ret(&mut f, vec![a, b, c, d, lt, gt]);
        simplify(&mut f);
        f.check().unwrap();
        assert_eq!(returned(&f), vec![a, a, c, c, lt, lt]);
        assert_eq!(f.blocks[0].insts.len(), 4);
    }

    #[test]
    fn inverse_pairs_cancel() {
        let mut f = func(&[Type::I64, Type::I64, Type::I32]);
        let (x, y, z) = (
            f.blocks[0].params[0],
            f.blocks[0].params[1],
            f.blocks[0].params[2],
        );
        let s = bin(&mut f, BinOp::Add, Type::I64, x, y);
        let back = bin(&mut f, BinOp::Sub, Type::I64, s, y);
        let t = bin(&mut f, BinOp::Xor, Type::I64, y, x);
        let back2 = bin(&mut f, BinOp::Xor, Type::I64, t, y);
        let zero = iconst(&mut f, Type::I64, 0);
        let n = bin(&mut f, BinOp::Sub, Type::I64, zero, x);
        let nn = bin(&mut f, BinOp::Sub, Type::I64, zero, n);
        let e = f.push1(Function::ENTRY, Op::ExtendU, vec![z], Type::I64);
        let w = f.push1(Function::ENTRY, Op::Wrap, vec![e], Type::I32);
        ret(&mut f, vec![back, back2, nn, w]);
        simplify(&mut f);
        f.check().unwrap();
        assert_eq!(returned(&f), vec![x, x, x, z]);
        assert_eq!(f.blocks[0].insts.len(), 1, "everything else is dead");
    }

    #[test]
    fn multiply_by_a_power_of_two_becomes_a_shift() {
        for ty in [Type::I32, Type::I64] {
            let mut f = func(&[ty]);
            let x = f.blocks[0].params[0];
            let c8 = iconst(&mut f, ty, 8);
            let c6 = iconst(&mut f, ty, 6);
            let m8 = bin(&mut f, BinOp::Mul, ty, c8, x);
            let m6 = bin(&mut f, BinOp::Mul, ty, x, c6);
            ret(&mut f, vec![m8, m6]);
            simplify(&mut f);
            f.check().unwrap();
            let d = def(&f, returned(&f)[0]);
            assert_eq!(d.op, Op::Binary { op: BinOp::Shl, ty });
            assert_eq!(d.args[0], x);
            assert_eq!(const_of(&f, d.args[1]), Some(3));
            assert_eq!(
                def(&f, returned(&f)[1]).op,
                Op::Binary { op: BinOp::Mul, ty }
            );
            // The shift count is defined before the shift.
            let pos = |v: Value| {
                let ValueDef::Result(i, _) = f.values[v.0 as usize].def else {
                    unreachable!()
                };
                f.blocks[0].insts.iter().position(|&j| j == i).unwrap()
            };
            assert!(pos(d.args[1]) < pos(returned(&f)[0]));
        }
    }

    /// Results of impure instructions are leaves, usable only after them;
    /// trapping operators are neither folded nor removed.
    #[test]
    fn impure_instructions_stay_and_their_results_are_leaves() {
        let mut f = func(&[]);
        let g = f.push1(
            Function::ENTRY,
            Op::GlobalGet {
                index: 0,
                ty: Type::I32,
            },
            vec![],
            Type::I32,
        );
        let zero = iconst(&mut f, Type::I32, 0);
        let same = bin(&mut f, BinOp::Or, Type::I32, g, zero);
        let diff = bin(&mut f, BinOp::Sub, Type::I32, g, g);
        let one = iconst(&mut f, Type::I32, 1);
        let div = bin(&mut f, BinOp::DivU, Type::I32, one, zero);
        let _unused = bin(&mut f, BinOp::DivS, Type::I32, one, zero);
        ret(&mut f, vec![same, diff, div]);
        simplify(&mut f);
        f.check().unwrap();
        let r = returned(&f);
        assert_eq!(r[0], g);
        assert_eq!(const_of(&f, r[1]), Some(0));
        assert_eq!(
            def(&f, r[2]).op,
            Op::Binary {
                op: BinOp::DivU,
                ty: Type::I32
            }
        );
        let divs = f.blocks[0]
            .insts
            .iter()
            .filter(|&&i| {
                matches!(
                    f.inst(i).op,
                    Op::Binary {
                        op: BinOp::DivS,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(divs, 1, "a possibly trapping division stays though unused");
    }

    /// A replaced value is renamed in other blocks, in operands and in
    /// block-call arguments.
    #[test]
    fn replacements_are_renamed_across_blocks() {
        let mut f = func(&[Type::I32]);
        let x = f.blocks[0].params[0];
        let next = f.add_block();
        let p = f.add_block_param(next, Type::I32);
        let zero = iconst(&mut f, Type::I32, 0);
        let a = bin(&mut f, BinOp::Add, Type::I32, x, zero);
        f.push(
            Function::ENTRY,
            Op::Jump(BlockCall {
                block: next,
                args: vec![a],
            }),
            vec![],
            &[],
        );
        let s = f.push1(
            next,
            Op::Binary {
                op: BinOp::Add,
                ty: Type::I32,
            },
            vec![a, p],
            Type::I32,
        );
        f.push(next, Op::Return, vec![s], &[]);
        simplify(&mut f);
        f.check().unwrap();
        let Op::Jump(call) = &f.inst(f.terminator(Function::ENTRY).unwrap()).op else {
            panic!()
        };
        assert_eq!(call.args, vec![x]);
        let add = f.blocks[1].insts[0];
        assert_eq!(f.inst(add).args, vec![x, p]);
        assert_eq!(f.blocks[0].insts.len(), 1);
    }

    /// Random straight-line blocks over two parameters: the simplified
    /// function computes what the original did on random inputs.
    #[test]
    fn random_blocks_keep_their_meaning() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let consts = [0u64, 1, 2, 4, 31, 32, 63, 64, u64::MAX, 0x8000_0000];
        for _ in 0..400 {
            let mut f = func(&[Type::I32, Type::I64]);
            let mut vals = f.blocks[0].params.clone();
            for _ in 0..(rnd() % 24 + 1) {
                let pick = |r: u64, vals: &[Value], f: &Function, ty: Type| {
                    let c: Vec<Value> = vals
                        .iter()
                        .copied()
                        .filter(|&v| f.value_type(v) == ty)
                        .collect();
                    c[(r % c.len() as u64) as usize]
                };
                let ty = if rnd() % 2 == 0 { Type::I32 } else { Type::I64 };
                let v = match rnd() % 8 {
                    0 => iconst(
                        &mut f,
                        ty,
                        consts[(rnd() % 10) as usize] & W::of(ty).unwrap().mask(),
                    ),
                    1..=3 => {
                        let op = BINOPS[(rnd() % 11) as usize].0;
                        let (a, b) = (pick(rnd(), &vals, &f, ty), pick(rnd(), &vals, &f, ty));
                        bin(&mut f, op, ty, a, b)
                    }
                    4 => {
                        let (k, ty) = [
                            (Op::Wrap, Type::I64),
                            (Op::ExtendS, Type::I32),
                            (Op::ExtendU, Type::I32),
                            (Op::Eqz { ty }, ty),
                        ][(rnd() % 4) as usize]
                            .clone();
                        let rty = match k {
                            Op::Wrap | Op::Eqz { .. } => Type::I32,
                            _ => Type::I64,
                        };
                        let a = pick(rnd(), &vals, &f, ty);
                        f.push1(Function::ENTRY, k, vec![a], rty)
                    }
                    5 => {
                        let op = UNOPS[(rnd() % if ty == Type::I64 { 6 } else { 5 }) as usize].0;
                        let a = pick(rnd(), &vals, &f, ty);
                        f.push1(Function::ENTRY, Op::Unary { op, ty }, vec![a], ty)
                    }
                    6 => {
                        let cc = CCS[(rnd() % 10) as usize].0;
                        let (a, b) = (pick(rnd(), &vals, &f, ty), pick(rnd(), &vals, &f, ty));
                        f.push1(Function::ENTRY, Op::Icmp { cc, ty }, vec![a, b], Type::I32)
                    }
                    _ => {
                        let c = pick(rnd(), &vals, &f, Type::I32);
                        let (a, b) = (pick(rnd(), &vals, &f, ty), pick(rnd(), &vals, &f, ty));
                        f.push1(Function::ENTRY, Op::Select { ty }, vec![c, a, b], ty)
                    }
                };
                vals.push(v);
            }
            let all = vals.clone();
            ret(&mut f, all);
            let orig = f.clone();
            simplify(&mut f);
            f.check().unwrap();
            for _ in 0..8 {
                let args = [
                    rnd() & 0xFFFF_FFFF,
                    consts[(rnd() % 10) as usize] ^ (rnd() % 3),
                ];
                let args = [
                    args[0] % if rnd() % 2 == 0 { 64 } else { u64::MAX },
                    args[1],
                ];
                assert_eq!(run(&f, args), run(&orig, args), "{orig}\n{f}");
            }
        }
    }

    /// Interprets a single-block function of the covered operators.
    fn run(f: &Function, args: [u64; 2]) -> Vec<u64> {
        let mut env: HashMap<Value, u64> = HashMap::default();
        for (p, a) in f.blocks[0].params.iter().zip(args) {
            env.insert(*p, a & W::of(f.value_type(*p)).unwrap().mask());
        }
        for &i in &f.blocks[0].insts {
            let d = f.inst(i);
            let a: Vec<u64> = d.args.iter().map(|v| env[v]).collect();
            let r = match &d.op {
                Op::Iconst { imm, .. } => *imm,
                Op::Return => return a,
                op => {
                    let (k, w) = K::of(op).unwrap();
                    eval(k, w, &a)
                }
            };
            env.insert(d.results[0], r);
        }
        unreachable!("no return")
    }
}
