//! Lowering: IR → VCode. One row per IR operator; every integer definition
//! gets the fact its instruction establishes (32-bit writes zero the upper
//! half, so every i32 value is `ZEXT32`).

use pcc::vmctx::{arg_locations, result_locations, stack_results, ArgLoc, ValClass};
use pcc::{Fact, HeapStrategy, VmCtxLayout, WasmFuncType};
use regalloc2::{Block as RBlock, RegClass, VReg};

/// Values with the fixed registers they travel in (a call's or return's).
type FixedRegs = Vec<(VReg, regalloc2::PReg)>;

use crate::divmagic;
use crate::ir::{self, BinOp, FBinOp, FUnOp, FloatCC, Function, IntCC, Op, Type, UnOp};
use crate::vcode::*;
use crate::CompileError;

/// What lowering needs to know about the rest of the module.
pub struct ModuleCtx<'a> {
    /// Type of every function in the function index space (imports first).
    pub func_types: Vec<&'a WasmFuncType>,
    pub num_imported_funcs: u32,
    pub layout: VmCtxLayout,
    pub heap: HeapStrategy,
}

struct Lowerer<'a> {
    f: &'a Function,
    ctx: &'a ModuleCtx<'a>,
    insts: Vec<Vec<MInst>>,
    succs: Vec<Vec<RBlock>>,
    params: Vec<Vec<VReg>>,
    facts: Vec<Option<Fact>>,
    is_i32: Vec<bool>,
    is_v128: Vec<bool>,
    classes: Vec<RegClass>,
    /// IR block → VCode block (None: unreachable, not lowered).
    block_map: Vec<Option<usize>>,
    call_area: u32,
    vmctx_slot: bool,
    /// Per IR block: an `Invoke`'s landing (it starts by restoring r14/r15).
    landing_blocks: Vec<bool>,
    /// Per VCode block: what an `Invoke` into it does after its call
    /// returns (stack results, host-call results), ahead of its own code.
    prefix: std::collections::HashMap<usize, Vec<MInst>>,
    landings: bool,
    /// Per IR instruction: lowered as part of its one user (a comparison
    /// fused into the `brif` or integer `select` that consumes it), so it
    /// emits nothing itself.
    fused: Vec<bool>,
    /// Per value: uses that need it in a register (not folded into an
    /// immediate). A constant with none is never materialized.
    reg_uses: Vec<u32>,
}

/// A scalar's size. v128 values have their own instructions and never
/// ask (the lowering matches them first).
fn size_of(ty: Type) -> Size {
    match ty {
        Type::I32 | Type::F32 => Size::S32,
        Type::I64 | Type::F64 | Type::V128 => Size::S64,
    }
}

fn cond_of(cc: IntCC) -> Cond {
    match cc {
        IntCC::Eq => Cond::E,
        IntCC::Ne => Cond::Ne,
        IntCC::LtS => Cond::L,
        IntCC::LtU => Cond::B,
        IntCC::GtS => Cond::G,
        IntCC::GtU => Cond::A,
        IntCC::LeS => Cond::Le,
        IntCC::LeU => Cond::Be,
        IntCC::GeS => Cond::Ge,
        IntCC::GeU => Cond::Ae,
    }
}

/// Unsigned range of a value that fits in `bits` bits.
fn below_bits(bits: u32) -> Fact {
    Fact::Range {
        bits: 64,
        min: 0,
        max: if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        },
    }
}

impl<'a> Lowerer<'a> {
    fn err(&self, msg: impl Into<String>) -> CompileError {
        CompileError::Function {
            func: self.f.index,
            msg: msg.into(),
        }
    }

    fn vreg(&self, v: ir::Value) -> VReg {
        VReg::new(v.0 as usize, self.classes[v.0 as usize])
    }

    fn new_vreg(&mut self, class: RegClass) -> VReg {
        self.facts.push(None);
        self.is_i32.push(false);
        self.is_v128.push(false);
        self.classes.push(class);
        VReg::new(self.facts.len() - 1, class)
    }

    /// A general-register temporary.
    fn temp(&mut self) -> VReg {
        self.new_vreg(RegClass::Int)
    }

    /// An SSE-register temporary.
    fn ftemp(&mut self) -> VReg {
        self.new_vreg(RegClass::Float)
    }

    /// How `v` crosses a call.
    fn val_class(&self, v: VReg) -> ValClass {
        if self.is_v128[v.vreg()] {
            ValClass::Vector
        } else if v.class() == RegClass::Float {
            ValClass::Float
        } else {
            ValClass::Int
        }
    }

    /// The fixed register (or stack slot) of each call argument.
    fn arg_locs(&self, args: &[VReg]) -> Vec<ArgLoc> {
        arg_locations(args.iter().map(|&v| self.val_class(v)))
    }

    /// Each result (of a call, or returned) in a register, with that
    /// register, and each in a slot of the outgoing area, with the slot.
    fn result_locs(&self, vs: &[VReg]) -> (FixedRegs, Vec<(VReg, u32)>) {
        let (mut regs, mut slots) = (vec![], vec![]);
        for (&v, loc) in vs
            .iter()
            .zip(result_locations(vs.iter().map(|&v| self.val_class(v))))
        {
            match loc {
                ArgLoc::Xmm(x) => regs.push((v, xreg(x.0))),
                ArgLoc::Gpr(g) => regs.push((v, preg(g.0))),
                ArgLoc::Stack(k) => slots.push((v, k)),
            }
        }
        (regs, slots)
    }

    /// A call's results: the register ones as the call's fixed defs; the
    /// ones the callee left in the outgoing area loaded right after it
    /// (i32s with 32-bit loads, which zero-extend), the area sized for them.
    fn call_results(&mut self, r: &[VReg]) -> (FixedRegs, Vec<MInst>) {
        let (defs, slots) = self.result_locs(r);
        let loads = slots
            .iter()
            .map(|&(dst, k)| MInst::LoadFrame { dst, off: 8 * k })
            .collect();
        let classes: Vec<ValClass> = r.iter().map(|&v| self.val_class(v)).collect();
        self.call_area = self.call_area.max(8 * stack_results(classes));
        (defs, loads)
    }

    fn set_fact(&mut self, v: VReg, fact: Fact) {
        self.facts[v.vreg()] = Some(fact);
    }

    /// The heap address for an access of `width` bytes at `index + offset`.
    fn heap_addr(&mut self, out: &mut Vec<MInst>, index: VReg, offset: u64, width: u8) -> HeapAddr {
        if let HeapStrategy::BoundsChecked { .. } = self.ctx.heap {
            // Fold the offset into the displacement where it fits, else into
            // the index; then compare the access's end with the memory size.
            let addr = if offset <= i32::MAX as u64 - 8 {
                HeapAddr {
                    index,
                    disp: offset as i32,
                }
            } else {
                self.far_heap_addr(out, index, offset, width)
            };
            let (tmp, dst) = (self.temp(), self.temp());
            let end = addr.disp as u32 + width as u32;
            // What the check proves: index <= heap_bytes - end <= reservation - end.
            let reservation = self.ctx.heap.reservation();
            self.set_fact(
                dst,
                Fact::Range {
                    bits: 64,
                    min: 0,
                    max: reservation.saturating_sub(end as u64),
                },
            );
            out.push(MInst::HeapCheck {
                index: addr.index,
                tmp,
                dst,
                end,
            });
            return HeapAddr { index: dst, ..addr };
        }
        let guard = self.ctx.heap.guard();
        if offset + width as u64 <= guard && offset <= i32::MAX as u64 {
            return HeapAddr {
                index,
                disp: offset as i32,
            };
        }
        self.far_heap_addr(out, index, offset, width)
    }

    /// `index + offset` computed in 64 bits into a new vreg, trapping unless
    /// the access stays inside reservation + guard.
    fn far_heap_addr(
        &mut self,
        out: &mut Vec<MInst>,
        index: VReg,
        offset: u64,
        width: u8,
    ) -> HeapAddr {
        // Past the guard: check, in 64 bits, that the access stays inside
        // reservation + guard, where unmapped pages fault safely.
        let dst = self.temp();
        let tmp = self.temp();
        let limit = self.ctx.heap.sandbox_bytes();
        self.set_fact(
            dst,
            Fact::Range {
                bits: 64,
                // An offset past the limit always traps: the fall-through is
                // dead and the validator knows only `dst <= limit - width`.
                min: offset.min(limit - width as u64),
                max: limit - width as u64,
            },
        );
        out.push(MInst::FarHeapAddr {
            dst,
            tmp,
            index,
            offset,
            width,
            limit,
        });
        HeapAddr {
            index: dst,
            disp: 0,
        }
    }

    fn lower_block(&mut self, b: ir::Block) -> Result<(), CompileError> {
        let vb = self.block_map[b.0 as usize].expect("lowering a reachable block");
        let mut out = vec![];
        if b == Function::ENTRY {
            let mut defs = vec![];
            let params: Vec<VReg> = self
                .f
                .block(b)
                .params
                .iter()
                .map(|&p| self.vreg(p))
                .collect();
            for (&v, loc) in params.iter().zip(self.arg_locs(&params)) {
                match loc {
                    ArgLoc::Gpr(r) => defs.push((v, preg(r.0))),
                    ArgLoc::Xmm(x) => defs.push((v, xreg(x.0))),
                    ArgLoc::Stack(slot) => out.push(MInst::LoadStackArg { dst: v, slot }),
                }
            }
            out.insert(0, MInst::Args { defs });
        } else {
            if self.landing_blocks[b.0 as usize] {
                out.push(MInst::RestorePinned);
            }
            out.extend(self.prefix.remove(&vb).unwrap_or_default());
            self.params[vb] = self
                .f
                .block(b)
                .params
                .iter()
                .map(|&p| self.vreg(p))
                .collect();
        }
        // An i32 block parameter is zero-extended on every incoming edge: a
        // claim the validator checks edge by edge.
        for &p in &self.f.block(b).params {
            if self.f.value_type(p) == Type::I32 {
                let v = self.vreg(p);
                self.set_fact(v, Fact::ZEXT32);
            }
        }
        for &inst in &self.f.block(b).insts {
            self.lower_inst(inst, &mut out, vb)?;
        }
        self.insts[vb] = out;
        Ok(())
    }

    /// A new block that jumps to `call.block` with `call.args` (edge split).
    fn edge(&mut self, call: &ir::BlockCall) -> RBlock {
        let target = self.block_map[call.block.0 as usize]
            .expect("successor of a reachable block is reachable");
        let args = call.args.iter().map(|&a| self.vreg(a)).collect();
        self.insts.push(vec![MInst::Jmp {
            target: RBlock::new(target),
            args,
        }]);
        self.succs.push(vec![RBlock::new(target)]);
        self.params.push(vec![]);
        RBlock::new(self.insts.len() - 1)
    }

    fn lower_inst(
        &mut self,
        inst: ir::Inst,
        out: &mut Vec<MInst>,
        vb: usize,
    ) -> Result<(), CompileError> {
        if self.fused[inst.0 as usize] {
            return Ok(());
        }
        let d = self.f.inst(inst);
        let a: Vec<VReg> = d.args.iter().map(|&v| self.vreg(v)).collect();
        let r: Vec<VReg> = d.results.iter().map(|&v| self.vreg(v)).collect();
        match &d.op {
            Op::Iconst { ty, imm } => {
                let imm = if *ty == Type::I32 {
                    *imm & 0xFFFF_FFFF
                } else {
                    *imm
                };
                if self.reg_uses[d.results[0].0 as usize] > 0 {
                    out.push(MInst::MovImm {
                        dst: r[0],
                        imm,
                        size: size_of(*ty),
                    });
                }
                self.set_fact(r[0], Fact::constant(64, imm));
            }
            Op::Fconst { ty, bits } => {
                let tmp = self.temp();
                out.push(MInst::FMovImm {
                    dst: r[0],
                    tmp,
                    bits: *bits,
                    size: size_of(*ty),
                });
            }
            Op::FBinary { op, ty } => {
                let (size, dst, src1, src2) = (size_of(*ty), r[0], a[0], a[1]);
                let alu = |op| MInst::FAlu {
                    op,
                    size,
                    dst,
                    src1,
                    src2,
                };
                let minmax = |max| MInst::FMinMax {
                    max,
                    size,
                    dst,
                    src1,
                    src2,
                };
                out.push(match op {
                    FBinOp::Add => alu(FAluOp::Add),
                    FBinOp::Sub => alu(FAluOp::Sub),
                    FBinOp::Mul => alu(FAluOp::Mul),
                    FBinOp::Div => alu(FAluOp::Div),
                    FBinOp::Min => minmax(false),
                    FBinOp::Max => minmax(true),
                    FBinOp::Copysign => MInst::FSign {
                        op: SignOp::Copysign,
                        size,
                        dst,
                        src: src1,
                        sign: Some(src2),
                        t1: self.temp(),
                        t2: self.temp(),
                    },
                });
            }
            Op::FUnary { op, ty } => {
                let (size, dst, src) = (size_of(*ty), r[0], a[0]);
                let unary = |op| MInst::FUnary { op, size, dst, src };
                out.push(match op {
                    FUnOp::Sqrt => unary(FUnaryOp::Sqrt),
                    FUnOp::Nearest => unary(FUnaryOp::Round(0)),
                    FUnOp::Floor => unary(FUnaryOp::Round(1)),
                    FUnOp::Ceil => unary(FUnaryOp::Round(2)),
                    FUnOp::Trunc => unary(FUnaryOp::Round(3)),
                    FUnOp::Abs | FUnOp::Neg => MInst::FSign {
                        op: if *op == FUnOp::Abs {
                            SignOp::Abs
                        } else {
                            SignOp::Neg
                        },
                        size,
                        dst,
                        src,
                        sign: None,
                        t1: self.temp(),
                        t2: self.temp(),
                    },
                });
            }
            Op::Fcmp { cc, ty } => {
                // a < b is b > a: only "above" conditions are NaN-safe.
                let (cond, x, y) = match cc {
                    FloatCC::Eq => (FCond::Eq, a[0], a[1]),
                    FloatCC::Ne => (FCond::Ne, a[0], a[1]),
                    FloatCC::Gt => (FCond::A, a[0], a[1]),
                    FloatCC::Ge => (FCond::Ae, a[0], a[1]),
                    FloatCC::Lt => (FCond::A, a[1], a[0]),
                    FloatCC::Le => (FCond::Ae, a[1], a[0]),
                };
                let tmp = self.temp();
                out.push(MInst::FCmp {
                    cond,
                    size: size_of(*ty),
                    dst: r[0],
                    a: x,
                    b: y,
                    tmp,
                });
                self.set_fact(r[0], below_bits(1));
            }
            Op::FloatToInt {
                from,
                to,
                signed,
                saturating,
            } => {
                let (g, x1, x2) = (self.temp(), self.ftemp(), self.ftemp());
                out.push(MInst::FloatToInt {
                    signed: *signed,
                    saturating: *saturating,
                    from: size_of(*from),
                    to: size_of(*to),
                    dst: r[0],
                    src: a[0],
                    g,
                    x1,
                    x2,
                });
            }
            Op::IntToFloat { from, to, signed } => {
                let (t1, t2) = (self.temp(), self.temp());
                out.push(MInst::IntToFloat {
                    signed: *signed,
                    from: size_of(*from),
                    to: size_of(*to),
                    dst: r[0],
                    src: a[0],
                    t1,
                    t2,
                });
            }
            Op::Promote | Op::Demote => out.push(MInst::FCvt {
                to_f64: matches!(d.op, Op::Promote),
                dst: r[0],
                src: a[0],
            }),
            Op::Bitcast { to } => out.push(MInst::Bitcast {
                size: size_of(*to),
                dst: r[0],
                src: a[0],
            }),
            Op::Binary { op, ty } => {
                let size = size_of(*ty);
                // A constant operand becomes the immediate (either side of a
                // commutative op); the other stays in a register.
                let (src1, src2) = match fold_plan(self.f, d) {
                    Some(k) => (a[1 - k], Rhs::Imm(self.imm(d.args[k], size))),
                    // Two-address: dst takes src1's register, so a src1 still
                    // needed afterwards costs a copy. Of a commutative pair,
                    // make src1 the operand used only here when the other is
                    // used again.
                    None if matches!(op, BinOp::Mul | BinOp::And | BinOp::Or | BinOp::Xor)
                        && self.reg_uses[d.args[0].0 as usize] > 1
                        && self.reg_uses[d.args[1].0 as usize] == 1 =>
                    {
                        (a[1], Rhs::Reg(a[0]))
                    }
                    None => (a[0], Rhs::Reg(a[1])),
                };
                let alu = |op| MInst::Alu {
                    op,
                    size,
                    dst: r[0],
                    src1,
                    src2,
                };
                let bits = if size == Size::S32 { 31 } else { 63 };
                let shift = |op| match src2 {
                    // The CPU masks the count as Wasm does; a count of 0 is
                    // the value itself.
                    Rhs::Imm(k) if k & bits == 0 => MInst::Mov {
                        dst: r[0],
                        src: src1,
                        size,
                    },
                    Rhs::Imm(k) => MInst::Shift {
                        op,
                        size,
                        dst: r[0],
                        src: src1,
                        count: Rhs::Imm(k & bits),
                    },
                    Rhs::Reg(_) => MInst::Shift {
                        op,
                        size,
                        dst: r[0],
                        src: src1,
                        count: src2,
                    },
                };
                let mask = if size == Size::S32 {
                    u32::MAX as u64
                } else {
                    u64::MAX
                };
                // Neither 0 nor -1 (all ones at this size).
                let safe_divisor =
                    constant_at(self.f, d.args[1], size).is_some_and(|c| c != 0 && c != mask);
                let div = |kind| MInst::Div {
                    kind,
                    size,
                    dst: r[0],
                    dividend: a[0],
                    divisor: a[1],
                    safe_divisor,
                };
                // The result's range as the validator derives it from the
                // operands' (their facts, which every state at this point
                // implies): a tighter claim than the type's, so a spill of it
                // reloaded with movsxd is recognisably harmless below 2^31,
                // and so is a bounds check on an index that can't leave the
                // sandbox. (An i32 without one is claimed zero-extended below.)
                let scaled = match op {
                    BinOp::Add => self.scaled_add(d),
                    _ => None,
                };
                let pow2 = match scaled {
                    None => self.constant_division(*op, size, r[0], a[0], d.args[1]),
                    Some(_) => None,
                };
                let range = |v: VReg| match self.facts[v.vreg()] {
                    // A 32-bit read is at most 2^32 - 1 whatever is known.
                    Some(Fact::Range { bits: 64, max, .. }) => max.min(mask),
                    _ => mask,
                };
                let bound = if let Some((base, index, shift)) = scaled {
                    out.push(MInst::Lea {
                        size,
                        dst: r[0],
                        base,
                        index,
                        shift,
                    });
                    range(index)
                        .checked_mul(1 << shift)
                        .and_then(|x| x.checked_add(range(base)))
                } else if let Some(seq) = pow2 {
                    out.extend(seq);
                    None
                } else {
                    out.push(match op {
                        BinOp::Add => alu(AluOp::Add),
                        BinOp::Sub => alu(AluOp::Sub),
                        BinOp::Mul => alu(AluOp::Imul),
                        BinOp::And => alu(AluOp::And),
                        BinOp::Or => alu(AluOp::Or),
                        BinOp::Xor => alu(AluOp::Xor),
                        BinOp::Shl => shift(ShiftOp::Shl),
                        BinOp::ShrS => shift(ShiftOp::Sar),
                        BinOp::ShrU => shift(ShiftOp::Shr),
                        BinOp::Rotl => shift(ShiftOp::Rol),
                        BinOp::Rotr => shift(ShiftOp::Ror),
                        BinOp::DivS => div(DivKind::DivS),
                        BinOp::DivU => div(DivKind::DivU),
                        BinOp::RemS => div(DivKind::RemS),
                        BinOp::RemU => div(DivKind::RemU),
                    });
                    let b_max = match src2 {
                        Rhs::Reg(v) => range(v),
                        Rhs::Imm(k) if size == Size::S32 => k as u32 as u64,
                        Rhs::Imm(k) => k as i64 as u64,
                    };
                    result_bound(*op, src2, range(src1), b_max, mask)
                };
                if let Some(max) = bound.filter(|&m| m < mask) {
                    self.set_fact(
                        r[0],
                        Fact::Range {
                            bits: 64,
                            min: 0,
                            max,
                        },
                    );
                }
            }
            Op::Unary { op, ty } => {
                let size = size_of(*ty);
                let (dst, src) = (r[0], a[0]);
                let unary = |op| MInst::Unary { op, size, dst, src };
                let sext = |from| MInst::Sext {
                    dst,
                    src,
                    from,
                    size,
                };
                out.push(match op {
                    UnOp::Clz => unary(UnaryOp::Lzcnt),
                    UnOp::Ctz => unary(UnaryOp::Tzcnt),
                    UnOp::Popcnt => unary(UnaryOp::Popcnt),
                    UnOp::Extend8S => sext(8),
                    UnOp::Extend16S => sext(16),
                    UnOp::Extend32S => sext(32),
                });
                if matches!(op, UnOp::Clz | UnOp::Ctz | UnOp::Popcnt) {
                    self.set_fact(
                        dst,
                        Fact::Range {
                            bits: 64,
                            min: 0,
                            max: 64,
                        },
                    );
                }
            }
            Op::Eqz { ty } => {
                out.push(MInst::Eqz {
                    size: size_of(*ty),
                    dst: r[0],
                    a: a[0],
                });
                self.set_fact(r[0], below_bits(1));
            }
            Op::Icmp { .. } => {
                let (size, cond, x, y) = self.compare_of(inst);
                out.push(MInst::Setcc {
                    cond,
                    size,
                    dst: r[0],
                    a: x,
                    b: y,
                });
                self.set_fact(r[0], below_bits(1));
            }
            Op::Wrap | Op::ExtendU => {
                out.push(MInst::Mov {
                    dst: r[0],
                    src: a[0],
                    size: Size::S32,
                });
                // A 32-bit move keeps a range that fits in 32 bits, and
                // zero-extends anything else.
                let fact = match self.facts[a[0].vreg()] {
                    Some(f @ Fact::Range { bits: 64, max, .. }) if max <= u32::MAX as u64 => f,
                    _ => Fact::ZEXT32,
                };
                self.set_fact(r[0], fact);
            }
            Op::Copy => {
                out.push(MInst::Mov {
                    dst: r[0],
                    src: a[0],
                    size: Size::S64,
                });
                // The copy's fact is its source's; `lower` copies it again
                // once every block is lowered, in case the source's block
                // came later.
                if let Some(fact) = self.facts[a[0].vreg()] {
                    self.set_fact(r[0], fact);
                }
            }
            Op::ExtendS => out.push(MInst::Sext {
                dst: r[0],
                src: a[0],
                from: 32,
                size: Size::S64,
            }),
            Op::Vconst { bits } => out.push(MInst::VConst {
                dst: r[0],
                tmp: self.temp(),
                bits: *bits,
            }),
            Op::VBinary {
                op: VBinOp::Swizzle,
            } => {
                let (mask, tmp) = (self.ftemp(), self.temp());
                out.push(MInst::VSwizzle {
                    dst: r[0],
                    a: a[0],
                    b: a[1],
                    mask,
                    tmp,
                })
            }
            Op::VBinary {
                op: VBinOp::I64x2Mul,
            } => {
                let (t1, t2) = (self.ftemp(), self.ftemp());
                out.push(MInst::VMul64 {
                    dst: r[0],
                    a: a[0],
                    b: a[1],
                    t1,
                    t2,
                })
            }
            Op::VBinary {
                op: op @ (VBinOp::F32x4Min | VBinOp::F32x4Max | VBinOp::F64x2Min | VBinOp::F64x2Max),
            } => {
                let t = self.ftemp();
                let (max, lanes) = match op {
                    VBinOp::F32x4Min => (false, Lanes::F32x4),
                    VBinOp::F32x4Max => (true, Lanes::F32x4),
                    VBinOp::F64x2Min => (false, Lanes::F64x2),
                    _ => (true, Lanes::F64x2),
                };
                out.push(MInst::VFMinMax {
                    max,
                    lanes,
                    dst: r[0],
                    a: a[0],
                    b: a[1],
                    t,
                })
            }
            Op::VUnary { op } if op.seq_temps().is_some() => {
                let (xmms, gprs) = op.seq_temps().unwrap_or_default();
                let mut temps: Vec<VReg> = (0..xmms).map(|_| self.ftemp()).collect();
                temps.extend((0..gprs).map(|_| self.temp()));
                out.push(MInst::VUnarySeq {
                    op: *op,
                    dst: r[0],
                    src: a[0],
                    temps,
                })
            }
            Op::VReduce {
                op: op @ (VReduce::AnyTrue | VReduce::AllTrue(_)),
            } => {
                let tmp = matches!(op, VReduce::AllTrue(_)).then(|| self.ftemp());
                out.push(MInst::VTest {
                    op: *op,
                    dst: r[0],
                    src: a[0],
                    tmp,
                });
                self.set_fact(r[0], below_bits(1));
            }
            Op::VReduce {
                op: VReduce::Bitmask(lanes),
            } => {
                let tmp = (*lanes == Lanes::I16x8).then(|| self.ftemp());
                out.push(MInst::VBitmask {
                    lanes: *lanes,
                    dst: r[0],
                    src: a[0],
                    tmp,
                })
            }
            Op::VUnary { op } => out.push(MInst::VUnary {
                op: *op,
                dst: r[0],
                src: a[0],
            }),
            Op::VShift { lanes, kind } => {
                let count = match constant(self.f, d.args[1]) {
                    Some(k) => Rhs::Imm((k % lanes.bits() as u64) as i32),
                    None => Rhs::Reg(a[1]),
                };
                if (*lanes, *kind) == (Lanes::I64x2, VShiftKind::ShrS) {
                    let m = self.ftemp();
                    let tmp = matches!(count, Rhs::Reg(_)).then(|| (self.temp(), self.ftemp()));
                    out.push(MInst::VSar64 {
                        dst: r[0],
                        src: a[0],
                        count,
                        m,
                        tmp,
                    });
                    return Ok(());
                }
                if *lanes == Lanes::I8x16 {
                    out.push(MInst::VShift8 {
                        kind: *kind,
                        dst: r[0],
                        src: a[0],
                        count,
                        tmp: self.temp(),
                        x: self.ftemp(),
                        m: self.ftemp(),
                        z: self.ftemp(),
                    });
                    return Ok(());
                }
                let tmp = matches!(count, Rhs::Reg(_)).then(|| (self.temp(), self.ftemp()));
                out.push(MInst::VShift {
                    lanes: *lanes,
                    kind: *kind,
                    dst: r[0],
                    src: a[0],
                    count,
                    tmp,
                })
            }
            Op::VSplat { lanes } => {
                let tmp = (*lanes == Lanes::I8x16).then(|| self.ftemp());
                out.push(MInst::VSplat {
                    lanes: *lanes,
                    dst: r[0],
                    src: a[0],
                    tmp,
                })
            }
            Op::VExtract {
                lanes,
                lane,
                signed,
            } => out.push(MInst::VExtract {
                lanes: *lanes,
                lane: *lane,
                signed: *signed,
                dst: r[0],
                src: a[0],
            }),
            Op::VReplace { lanes, lane } => out.push(MInst::VReplace {
                lanes: *lanes,
                lane: *lane,
                dst: r[0],
                vec: a[0],
                src: a[1],
            }),
            Op::VShuffle { lanes } => {
                let masks = [self.ftemp(), self.ftemp()];
                let (tb, tmp) = (self.ftemp(), self.temp());
                out.push(MInst::VShuffle {
                    lanes: *lanes,
                    dst: r[0],
                    a: a[0],
                    b: a[1],
                    masks,
                    tb,
                    tmp,
                })
            }
            Op::VBinary { op } => {
                // pandn computes !dst & src, so a & !b is b pandn a; a < b
                // is b > a.
                let (src1, src2) = if op.swapped() {
                    (a[1], a[0])
                } else {
                    (a[0], a[1])
                };
                out.push(MInst::VAlu {
                    op: *op,
                    dst: r[0],
                    src1,
                    src2,
                })
            }
            Op::VNot => {
                let tmp = self.ftemp();
                out.push(MInst::VNot {
                    dst: r[0],
                    src: a[0],
                    tmp,
                })
            }
            // FSelect moves the whole register (movaps): v128 too.
            Op::Select { ty } if !ty.is_int() => out.push(MInst::FSelect {
                dst: r[0],
                cond: a[0],
                a: a[1],
                b: a[2],
            }),
            Op::Select { ty } => {
                let (cmp_size, cond, x, y) = self.condition(d.args[0]);
                out.push(MInst::Select {
                    size: size_of(*ty),
                    cmp_size,
                    cond,
                    x,
                    y,
                    dst: r[0],
                    a: a[1],
                    b: a[2],
                })
            }
            Op::Load { ty, mem, signed } => {
                let addr = self.heap_addr(out, a[0], mem.offset, mem.width);
                if *ty == Type::V128 {
                    out.push(MInst::VLoad { dst: r[0], addr });
                    return Ok(());
                }
                if !ty.is_int() {
                    out.push(MInst::FLoad {
                        dst: r[0],
                        addr,
                        size: size_of(*ty),
                    });
                    return Ok(());
                }
                out.push(MInst::Load {
                    dst: r[0],
                    addr,
                    width: mem.width,
                    signed: *signed,
                    size: size_of(*ty),
                });
                if !*signed && mem.width < 8 {
                    self.set_fact(r[0], below_bits(8 * mem.width as u32));
                }
            }
            Op::Store { ty, mem } => {
                let addr = self.heap_addr(out, a[0], mem.offset, mem.width);
                out.push(if *ty == Type::V128 {
                    MInst::VStore { src: a[1], addr }
                } else if ty.is_int() {
                    let src = match fold_plan(self.f, d) {
                        Some(_) => Rhs::Imm(self.store_imm(d.args[1], mem.width)),
                        None => Rhs::Reg(a[1]),
                    };
                    MInst::Store {
                        src,
                        addr,
                        width: mem.width,
                    }
                } else {
                    MInst::FStore {
                        src: a[1],
                        addr,
                        size: size_of(*ty),
                    }
                });
            }
            Op::MemorySize => {
                out.push(MInst::MemorySize { dst: r[0] });
                self.set_fact(r[0], below_bits(17));
            }
            Op::MemoryGrow => out.push(MInst::MemoryGrow {
                dst: r[0],
                delta: a[0],
            }),
            Op::Bulk(op) => out.push(MInst::Builtin {
                field: VmCtxLayout::BULK_MEMORY,
                op: op.encode() as u64,
                args: a.clone(),
                ret: None,
                trap: pcc::TrapCode::HeapOutOfBounds,
                trap_when: pcc::vmctx::TrapWhen::NonZero,
            }),
            Op::TableBulk(op) => out.push(MInst::Builtin {
                field: VmCtxLayout::TABLE_OP,
                op: op.encode(),
                args: a.clone(),
                ret: r.first().copied(),
                trap: pcc::TrapCode::TableAccessOutOfBounds,
                trap_when: op.trap_when(),
            }),
            Op::TableSize { table } => out.push(MInst::TableSize {
                dst: r[0],
                table_off: self.ctx.layout.table(*table),
            }),
            Op::GlobalGet { index, ty } => {
                // Floats and v128s (the emitter loads all 16 bytes of a v128's cell).
                if !ty.is_int() {
                    let tmp = self.temp();
                    out.push(MInst::FGlobalGet {
                        dst: r[0],
                        tmp,
                        vmctx_off: self.ctx.layout.global(*index),
                        size: size_of(*ty),
                    });
                    return Ok(());
                }
                out.push(MInst::GlobalGet {
                    dst: r[0],
                    vmctx_off: self.ctx.layout.global(*index),
                    size: size_of(*ty),
                })
            }
            Op::GlobalSet { index, ty } => {
                let tmp = self.temp();
                out.push(MInst::GlobalSet {
                    src: a[0],
                    tmp,
                    vmctx_off: self.ctx.layout.global(*index),
                    size: size_of(*ty),
                })
            }
            Op::Call { .. } | Op::CallIndirect { .. } | Op::Throw { .. } | Op::ThrowRef => {
                self.lower_call(&d.op, &a, &r, out)?
            }
            Op::Landing => out.push(MInst::ExnLanded { dst: r[0] }),
            Op::ExnCatch { tag } => {
                out.push(MInst::ExnCatch {
                    exn: a[0],
                    tag: *tag,
                    dst: r[0],
                });
                let mut off = 0;
                for &v in &r[1..] {
                    out.push(MInst::LoadFrame { dst: v, off });
                    off += if self.is_v128[v.vreg()] { 16 } else { 8 };
                }
                self.call_area = self.call_area.max(off);
            }
            Op::Invoke {
                call,
                normal,
                landing,
            } => {
                let mut inner = vec![];
                self.lower_call(call, &a, &r, &mut inner)?;
                let k = inner
                    .iter()
                    .rposition(|m| {
                        matches!(
                            m,
                            MInst::Call { .. }
                                | MInst::CallIndirect { .. }
                                | MInst::HostCall { .. }
                                | MInst::Throw { .. }
                                | MInst::ThrowRef { .. }
                        )
                    })
                    .ok_or_else(|| self.err("invoke of something that is not a call"))?;
                let after = inner.split_off(k + 1);
                let call = inner.pop().expect("the call found above");
                out.extend(inner);
                let nb = self.block_map[normal.block.0 as usize].expect("reachable");
                let lb = self.block_map[landing.block.0 as usize].expect("reachable");
                if nb <= vb || !normal.args.is_empty() || !landing.args.is_empty() {
                    return Err(
                        self.err("invoke successors must be later blocks without arguments")
                    );
                }
                self.prefix.entry(nb).or_default().extend(after);
                self.succs[vb] = vec![RBlock::new(nb), RBlock::new(lb)];
                self.landings = true;
                self.vmctx_slot = true;
                out.push(MInst::Invoke {
                    call: Box::new(call),
                    normal: RBlock::new(nb),
                    landing: RBlock::new(lb),
                });
            }
            Op::Jump(call) => {
                let target = self.block_map[call.block.0 as usize].expect("reachable");
                self.succs[vb] = vec![RBlock::new(target)];
                out.push(MInst::Jmp {
                    target: RBlock::new(target),
                    args: call.args.iter().map(|&v| self.vreg(v)).collect(),
                });
            }
            Op::Brif { then, else_ } => {
                let (t, e) = (self.edge(then), self.edge(else_));
                self.succs[vb] = vec![t, e];
                out.push(match self.float_condition(d.args[0]) {
                    Some((size, cond, a, b)) => MInst::FBrif {
                        size,
                        cond,
                        a,
                        b,
                        then: t,
                        else_: e,
                    },
                    None => {
                        let (size, cond, a, b) = self.condition(d.args[0]);
                        MInst::Brif {
                            size,
                            cond,
                            a,
                            b,
                            then: t,
                            else_: e,
                        }
                    }
                });
            }
            Op::BrTable { targets, default } => {
                let ts: Vec<RBlock> = targets.iter().map(|c| self.edge(c)).collect();
                let dflt = self.edge(default);
                let mut s = ts.clone();
                s.push(dflt);
                self.succs[vb] = s;
                let table =
                    (ts.len() >= crate::emit::JUMP_TABLE_MIN).then(|| (self.temp(), self.temp()));
                out.push(MInst::BrTable {
                    index: a[0],
                    targets: ts,
                    default: dflt,
                    table,
                });
            }
            Op::Return => {
                let (uses, slots) = self.result_locs(&a);
                for (src, slot) in slots {
                    out.push(MInst::StoreStackResult { src, slot });
                }
                out.push(MInst::Ret { uses });
            }
            Op::Trap(code) => out.push(MInst::Trap { code: *code }),
        }
        for (&v, &vr) in d.results.iter().zip(&r) {
            if self.f.value_type(v) == Type::I32 && self.facts[vr.vreg()].is_none() {
                self.set_fact(vr, Fact::ZEXT32);
            }
        }
        Ok(())
    }

    /// Division and remainder by a constant without `div`: by a power of
    /// two 2^k (k >= 1) as shifts and masks; unsigned by another constant as
    /// a multiplication by its reciprocal (`divmagic`). Neither divisor is 0
    /// or -1, so nothing traps.
    fn constant_division(
        &mut self,
        op: BinOp,
        size: Size,
        dst: VReg,
        x: VReg,
        divisor: ir::Value,
    ) -> Option<Vec<MInst>> {
        match constant_divisor(self.f, op, size, divisor)? {
            ConstantDivisor::Pow2(k) => Some(self.pow2_division(op, size, dst, x, k)),
            ConstantDivisor::Reciprocal(c) => Some(self.reciprocal_division(op, size, dst, x, c)),
        }
    }

    /// `x / c` and `x % c`, unsigned, c >= 3 not a power of two: the
    /// quotient from the high half of a 64-bit product, the remainder as
    /// `x - q * c`.
    fn reciprocal_division(
        &mut self,
        op: BinOp,
        size: Size,
        dst: VReg,
        x: VReg,
        c: u64,
    ) -> Vec<MInst> {
        let mut out = vec![];
        let shift = |op, dst, src, n: u32| MInst::Shift {
            op,
            size: Size::S64,
            dst,
            src,
            count: Rhs::Imm(n as i32),
        };
        let alu = |op, size, dst, src1, src2| MInst::Alu {
            op,
            size,
            dst,
            src1,
            src2,
        };
        let q = if op == BinOp::DivU { dst } else { self.temp() };
        if size == Size::S32 {
            // A 64-bit reciprocal is exact for every 32-bit dividend: the
            // quotient is the high half itself. The dividend's upper half is
            // cleared first, so the validator bounds the high half by
            // (2^32 - 1) * magic / 2^64 < 2^32 as well.
            let wide = self.temp();
            let magic = divmagic::magic32(c as u32);
            out.push(MInst::Mov {
                dst: wide,
                src: x,
                size: Size::S32,
            });
            out.push(MInst::MulHi {
                dst: q,
                x: wide,
                magic,
            });
            let max = ((u32::MAX as u128 * magic as u128) >> 64) as u64;
            self.set_fact(
                q,
                Fact::Range {
                    bits: 64,
                    min: 0,
                    max,
                },
            );
        } else {
            let hi = self.temp();
            let m = divmagic::magic64(c);
            out.push(MInst::MulHi {
                dst: hi,
                x,
                magic: m.magic,
            });
            if m.add {
                let (t1, t2, t3) = (self.temp(), self.temp(), self.temp());
                out.push(alu(AluOp::Sub, Size::S64, t1, x, Rhs::Reg(hi)));
                out.push(shift(ShiftOp::Shr, t2, t1, 1));
                out.push(alu(AluOp::Add, Size::S64, t3, t2, Rhs::Reg(hi)));
                out.push(shift(ShiftOp::Shr, q, t3, m.shift));
            } else {
                out.push(shift(ShiftOp::Shr, q, hi, m.shift));
            }
        }
        if op == BinOp::RemU {
            let product = self.temp();
            // imul's immediate is sign-extended: at 64 bits a larger c goes
            // through a register.
            let factor = if size == Size::S32 || c <= i32::MAX as u64 {
                Rhs::Imm(c as u32 as i32)
            } else {
                let k = self.temp();
                out.push(MInst::MovImm {
                    dst: k,
                    imm: c,
                    size: Size::S64,
                });
                Rhs::Reg(k)
            };
            out.push(alu(AluOp::Imul, size, product, q, factor));
            out.push(alu(AluOp::Sub, size, dst, x, Rhs::Reg(product)));
        }
        out
    }

    /// Division and remainder by a constant power of two 2^k (k >= 1) as
    /// shifts and masks. Signed division rounds toward zero by adding
    /// 2^k - 1 to a negative dividend first (Hacker's Delight 10-1).
    fn pow2_division(&mut self, op: BinOp, size: Size, dst: VReg, x: VReg, k: i32) -> Vec<MInst> {
        let bits: i32 = if size == Size::S32 { 32 } else { 64 };

        let c = 1u64 << k;
        let shift = |op, dst, src, n: i32| MInst::Shift {
            op,
            size,
            dst,
            src,
            count: Rhs::Imm(n),
        };
        let alu = |op, dst, src1, src2| MInst::Alu {
            op,
            size,
            dst,
            src1,
            src2,
        };
        // The bias: 2^k - 1 for a negative x, else 0.
        let biased = |me: &mut Self, out: &mut Vec<MInst>| {
            let (sign, bias, sum) = (me.temp(), me.temp(), me.temp());
            out.push(shift(ShiftOp::Sar, sign, x, bits - 1));
            out.push(shift(ShiftOp::Shr, bias, sign, bits - k));
            out.push(alu(AluOp::Add, sum, x, Rhs::Reg(bias)));
            sum
        };
        let mut out = vec![];
        match op {
            BinOp::DivU => out.push(shift(ShiftOp::Shr, dst, x, k)),
            BinOp::RemU => out.push(alu(AluOp::And, dst, x, Rhs::Imm((c - 1) as i32))),
            BinOp::DivS => {
                let sum = biased(self, &mut out);
                out.push(shift(ShiftOp::Sar, dst, sum, k));
            }
            _ => {
                let sum = biased(self, &mut out);
                let rounded = self.temp();
                out.push(alu(AluOp::And, rounded, sum, Rhs::Imm(-(c as i64) as i32)));
                out.push(alu(AluOp::Sub, dst, x, Rhs::Reg(rounded)));
            }
        }
        out
    }

    /// An add one of whose operands is a fused `shl` by 1 to 3: (base,
    /// the shifted value, the shift).
    fn scaled_add(&self, d: &ir::InstData) -> Option<(VReg, VReg, u8)> {
        for k in 0..2 {
            let ir::ValueDef::Result(i, 0) = self.f.values[d.args[k].0 as usize].def else {
                continue;
            };
            if !self.fused[i.0 as usize] {
                continue;
            }
            let s = self.f.inst(i);
            if let (Op::Binary { op: BinOp::Shl, .. }, Some(n)) =
                (&s.op, constant(self.f, s.args[1]))
            {
                return Some((self.vreg(d.args[1 - k]), self.vreg(s.args[0]), n as u8));
            }
        }
        None
    }

    /// A float comparison fused into the branch on `c`, as `ucomis a, b`
    /// and its "above" condition.
    fn float_condition(&self, c: ir::Value) -> Option<(Size, FCond, VReg, VReg)> {
        let ir::ValueDef::Result(i, 0) = self.f.values[c.0 as usize].def else {
            return None;
        };
        let d = self.f.inst(i);
        let Op::Fcmp { cc, ty } = d.op else {
            return None;
        };
        if !self.fused[i.0 as usize] {
            return None;
        }
        let (x, y) = (self.vreg(d.args[0]), self.vreg(d.args[1]));
        let (cond, a, b) = match cc {
            FloatCC::Gt => (FCond::A, x, y),
            FloatCC::Ge => (FCond::Ae, x, y),
            FloatCC::Lt => (FCond::A, y, x),
            FloatCC::Le => (FCond::Ae, y, x),
            FloatCC::Eq | FloatCC::Ne => unreachable!("eq/ne are not fused"),
        };
        Some((size_of(ty), cond, a, b))
    }

    /// The flags test for "`c` is true": the comparison that defines `c`
    /// when it was fused into its user, else `c != 0`.
    fn condition(&self, c: ir::Value) -> (Size, Cond, VReg, Rhs) {
        if let ir::ValueDef::Result(i, 0) = self.f.values[c.0 as usize].def {
            if self.fused[i.0 as usize] {
                return self.compare_of(i);
            }
        }
        (Size::S32, Cond::Ne, self.vreg(c), Rhs::Imm(0))
    }

    /// An `icmp` or `eqz` as `cmp a, b` and the condition that is its
    /// result; a constant operand becomes `b` (swapping the condition if it
    /// was the left one).
    fn compare_of(&self, i: ir::Inst) -> (Size, Cond, VReg, Rhs) {
        let d = self.f.inst(i);
        match d.op {
            Op::Icmp { cc, ty } => {
                let size = size_of(ty);
                match fold_plan(self.f, d) {
                    Some(1) => (
                        size,
                        cond_of(cc),
                        self.vreg(d.args[0]),
                        Rhs::Imm(self.imm(d.args[1], size)),
                    ),
                    Some(_) => (
                        size,
                        cond_of(cc.swapped()),
                        self.vreg(d.args[1]),
                        Rhs::Imm(self.imm(d.args[0], size)),
                    ),
                    None => (
                        size,
                        cond_of(cc),
                        self.vreg(d.args[0]),
                        Rhs::Reg(self.vreg(d.args[1])),
                    ),
                }
            }
            Op::Eqz { ty } => (size_of(ty), Cond::E, self.vreg(d.args[0]), Rhs::Imm(0)),
            _ => unreachable!("only comparisons are fused"),
        }
    }

    /// The immediate of constant `v` at `size` (fold_plan checked it fits).
    fn imm(&self, v: ir::Value, size: Size) -> i32 {
        let c = constant(self.f, v).expect("folded operands are constants");
        match size {
            Size::S32 => c as u32 as i32,
            Size::S64 => c as i64 as i32,
        }
    }

    /// The immediate a store of `width` bytes of constant `v` writes: its
    /// low bytes, sign-extended as the instruction's imm field holds them.
    fn store_imm(&self, v: ir::Value, width: u8) -> i32 {
        let c = constant(self.f, v).expect("folded operands are constants");
        match width {
            1 => c as i8 as i32,
            2 => c as i16 as i32,
            _ => c as i32,
        }
    }

    /// A call (direct, host or indirect) or a throw, into `out`.
    fn lower_call(
        &mut self,
        op: &Op,
        a: &[VReg],
        r: &[VReg],
        out: &mut Vec<MInst>,
    ) -> Result<(), CompileError> {
        let a = a.to_vec();
        match op {
            Op::Call { func } => {
                if self.ctx.func_types.get(*func as usize).is_none() {
                    return Err(self.err(format!("call to missing function {func}")));
                }
                if *func < self.ctx.num_imported_funcs {
                    for (i, &v) in a.iter().enumerate() {
                        out.push(MInst::StoreFrame {
                            src: v,
                            off: 8 * i as u32,
                        });
                    }
                    out.push(MInst::HostCall {
                        import: *func,
                        area: 0,
                    });
                    for (i, &res) in r.iter().enumerate() {
                        // The host writes each result over slot i (i32
                        // results reload with 32-bit loads, zero-extending).
                        out.push(MInst::LoadFrame {
                            dst: res,
                            off: 8 * i as u32,
                        });
                    }
                    let slots = a.len().max(r.len()) as u32 * 8;
                    self.call_area = self.call_area.max(slots);
                } else {
                    let uses = self.call_args(out, &a);
                    let (defs, loads) = self.call_results(r);
                    out.push(MInst::Call {
                        target: CallTarget::Direct(func - self.ctx.num_imported_funcs),
                        uses,
                        defs,
                    });
                    out.extend(loads);
                }
            }
            Op::CallIndirect { type_index, table } => {
                let (index, args) = a.split_last().expect("call_indirect has an index operand");
                let uses = self.call_args(out, args);
                let (defs, loads) = self.call_results(r);
                let (tmp, callee) = (self.temp(), self.temp());
                out.push(MInst::IndirectTarget {
                    table_off: self.ctx.layout.table(*table),
                    sig_off: self.ctx.layout.sig_id(*type_index),
                    index: *index,
                    tmp,
                    dst: callee,
                });
                out.push(MInst::CallIndirect { callee, uses, defs });
                out.extend(loads);
                self.vmctx_slot = true;
            }
            Op::Throw { tag } => {
                let mut off = 0;
                for &v in &a {
                    out.push(MInst::StoreFrame { src: v, off });
                    off += if self.is_v128[v.vreg()] { 16 } else { 8 };
                }
                self.call_area = self.call_area.max(off);
                out.push(MInst::Throw { tag: *tag });
            }
            Op::ThrowRef => out.push(MInst::ThrowRef { exn: a[0] }),
            _ => return Err(self.err("not a call")),
        }
        Ok(())
    }

    /// Register arguments as fixed uses; the rest stored to the outgoing area.
    fn call_args(&mut self, out: &mut Vec<MInst>, args: &[VReg]) -> Vec<(VReg, regalloc2::PReg)> {
        let mut uses = vec![];
        for (&v, loc) in args.iter().zip(self.arg_locs(args)) {
            match loc {
                ArgLoc::Gpr(r) => uses.push((v, preg(r.0))),
                ArgLoc::Xmm(x) => uses.push((v, xreg(x.0))),
                ArgLoc::Stack(slot) => {
                    let off = 8 * slot;
                    out.push(MInst::StoreFrame { src: v, off });
                    let bytes = if self.is_v128[v.vreg()] { 16 } else { 8 };
                    self.call_area = self.call_area.max(off + bytes);
                }
            }
        }
        uses
    }
}

/// The landing blocks of the reachable `Invoke`s.
fn landing_blocks(f: &Function, live: &[bool]) -> Vec<bool> {
    let mut out = vec![false; f.blocks.len()];
    for (b, _) in live.iter().enumerate().filter(|(_, &l)| l) {
        if let Some(t) = f.terminator(ir::Block(b as u32)) {
            if let Op::Invoke { landing, .. } = &f.inst(t).op {
                out[landing.block.0 as usize] = true;
            }
        }
    }
    out
}

/// Blocks reachable from the entry, in index order.
fn reachable(f: &Function) -> Vec<bool> {
    let mut seen = vec![false; f.blocks.len()];
    let mut stack = vec![Function::ENTRY];
    seen[0] = true;
    while let Some(b) = stack.pop() {
        if let Some(t) = f.terminator(b) {
            for c in f.inst(t).op.successors() {
                if !seen[c.block.0 as usize] {
                    seen[c.block.0 as usize] = true;
                    stack.push(c.block);
                }
            }
        }
    }
    seen
}

/// The largest value the validator can derive for `op` on operands of at
/// most `a` and `b` (`b` the immediate's value if it is one), at `mask`'s
/// width, following its rows (`Add`, `And`, ..., `Shr` in semantics.rs);
/// None where it knows only the width. Both emitted forms of add (`add`,
/// and `lea` with a sign-extended displacement, which the validator
/// subtracts when negative) give it this bound only for a nonnegative
/// immediate.
fn result_bound(op: BinOp, b: Rhs, a: u64, b_max: u64, mask: u64) -> Option<u64> {
    let imm = match b {
        Rhs::Imm(k) => Some(k),
        Rhs::Reg(_) => None,
    };
    // Shift counts are masked like the CPU does; 0 is lowered as a move.
    let count = imm.map(|k| (k as u64 & if mask == u64::MAX { 63 } else { 31 }) as u32);
    let ones_covering = |x: u64| match 64 - x.leading_zeros() {
        64 => u64::MAX,
        bits => (1u64 << bits) - 1,
    };
    match (op, count) {
        (BinOp::Add, _) if imm.is_some_and(|k| k < 0) => None,
        (BinOp::Add, _) => a.checked_add(b_max).filter(|&m| m <= mask),
        (BinOp::Mul, _) => a.checked_mul(b_max).filter(|&m| m <= mask),
        (BinOp::And, _) => Some(a.min(b_max)),
        (BinOp::Or | BinOp::Xor, _) => Some(ones_covering(a.max(b_max))),
        (BinOp::ShrU, Some(0)) | (BinOp::ShrS, Some(0)) | (BinOp::Shl, Some(0)) => None,
        (BinOp::ShrU, Some(k)) => Some(a >> k),
        (BinOp::ShrU, None) => Some(a),
        (BinOp::ShrS, Some(k)) if a <= mask >> 1 => Some(a >> k),
        (BinOp::ShrS, None) if a <= mask >> 1 => Some(a),
        (BinOp::Shl, Some(k)) if a.leading_zeros() >= k && a << k <= mask => Some(a << k),
        _ => None,
    }
}

/// The value of `v` if an `iconst` defines it (an i32's low 32 bits).
fn constant(f: &Function, v: ir::Value) -> Option<u64> {
    match f.values[v.0 as usize].def {
        ir::ValueDef::Result(i, 0) => match f.inst(i).op {
            Op::Iconst { ty: Type::I32, imm } => Some(imm & 0xFFFF_FFFF),
            Op::Iconst { imm, .. } => Some(imm),
            _ => None,
        },
        _ => None,
    }
}

/// Whether constant `v` is an immediate of a `size` operation: any i32;
/// an i64 whose sign-extended imm32 is itself.
fn fits(f: &Function, v: ir::Value, size: Size) -> bool {
    match (constant(f, v), size) {
        (Some(_), Size::S32) => true,
        (Some(c), Size::S64) => c as i64 == c as i32 as i64,
        (None, _) => false,
    }
}

/// Which argument of `d` lowering folds into an immediate, if any: the
/// one rule both the use count and the lowering follow, so a constant
/// whose every use is folded is known not to need a register.
fn fold_plan(f: &Function, d: &ir::InstData) -> Option<usize> {
    match d.op {
        Op::Binary { op, ty } => {
            let size = size_of(ty);
            match op {
                BinOp::Add | BinOp::Mul | BinOp::And | BinOp::Or | BinOp::Xor => {
                    if fits(f, d.args[1], size) {
                        Some(1)
                    } else if fits(f, d.args[0], size) {
                        Some(0)
                    } else {
                        None
                    }
                }
                // x - k is lea [x - k] when x stays live: -k must fit too.
                BinOp::Sub => (fits(f, d.args[1], size)
                    && (size == Size::S32
                        || constant(f, d.args[1]) != Some(i32::MIN as i64 as u64)))
                .then_some(1),
                BinOp::Shl | BinOp::ShrS | BinOp::ShrU | BinOp::Rotl | BinOp::Rotr => {
                    constant(f, d.args[1]).is_some().then_some(1)
                }
                BinOp::DivS | BinOp::DivU | BinOp::RemS | BinOp::RemU => None,
            }
        }
        Op::Icmp { ty, .. } => {
            let size = size_of(ty);
            if fits(f, d.args[1], size) {
                Some(1)
            } else if fits(f, d.args[0], size) {
                Some(0)
            } else {
                None
            }
        }
        Op::Store { ty, mem } if ty.is_int() => {
            let size = if mem.width == 8 { Size::S64 } else { Size::S32 };
            fits(f, d.args[1], size).then_some(1)
        }
        _ => None,
    }
}

/// How many times each value is used (operands and block-call arguments),
/// counting only reachable blocks.
fn use_counts(f: &Function, live: &[bool]) -> Vec<u32> {
    let mut uses = vec![0u32; f.values.len()];
    for (b, _) in live.iter().enumerate().filter(|(_, &l)| l) {
        for &i in &f.blocks[b].insts {
            let d = f.inst(i);
            let calls = d.op.successors();
            for v in d
                .args
                .iter()
                .chain(calls.iter().flat_map(|c| c.args.iter()))
            {
                uses[v.0 as usize] += 1;
            }
        }
    }
    uses
}

/// The comparisons to lower inside their user: an integer comparison (or
/// `eqz`) whose only use is the `brif` ending its own block, or an integer
/// `select` in it, becomes that branch's `cmp; jcc` or that select's
/// `cmp; cmovcc`. One used anywhere else keeps its 0/1 value.
fn fusions(f: &Function, live: &[bool], uses: &[u32]) -> Vec<bool> {
    let mut fused = vec![false; f.insts.len()];
    let mut block_of = vec![u32::MAX; f.insts.len()];
    for (b, _) in live.iter().enumerate().filter(|(_, &l)| l) {
        for &i in &f.blocks[b].insts {
            block_of[i.0 as usize] = b as u32;
        }
    }
    for (b, _) in live.iter().enumerate().filter(|(_, &l)| l) {
        for &user in &f.blocks[b].insts {
            let d = f.inst(user);
            // `x + (y << k)` as one lea: the shift, used only by this add
            // (and not a shift of a constant, which is folded instead).
            if let Op::Binary { op: BinOp::Add, ty } = d.op {
                if fold_plan(f, d).is_none() {
                    for &v in &d.args {
                        let ir::ValueDef::Result(i, 0) = f.values[v.0 as usize].def else {
                            continue;
                        };
                        let s = f.inst(i);
                        let shl = matches!(s.op, Op::Binary { op: BinOp::Shl, ty: t } if t == ty);
                        let k = constant(f, s.args.get(1).copied().unwrap_or(v));
                        if shl
                            && matches!(k, Some(1..=3))
                            && constant(f, s.args[0]).is_none()
                            && uses[v.0 as usize] == 1
                            && block_of[i.0 as usize] == b as u32
                        {
                            fused[i.0 as usize] = true;
                            break;
                        }
                    }
                }
                continue;
            }
            let consumes = match d.op {
                Op::Brif { .. } => true,
                Op::Select { ty } => ty.is_int(),
                _ => false,
            };
            if !consumes {
                continue;
            }
            let c = d.args[0];
            let ir::ValueDef::Result(i, 0) = f.values[c.0 as usize].def else {
                continue;
            };
            // A float compare only into a branch, and only the conditions
            // one jcc tests (eq/ne also need the parity flag).
            let float_branch = matches!(d.op, Op::Brif { .. })
                && matches!(
                    f.inst(i).op,
                    Op::Fcmp {
                        cc: FloatCC::Gt | FloatCC::Ge | FloatCC::Lt | FloatCC::Le,
                        ..
                    }
                );
            let compare = float_branch || matches!(f.inst(i).op, Op::Icmp { .. } | Op::Eqz { .. });
            if compare && uses[c.0 as usize] == 1 && block_of[i.0 as usize] == b as u32 {
                fused[i.0 as usize] = true;
            }
        }
    }
    fused
}

/// A copy of `f` in which every block with a heap access that can never be in
/// bounds ends at that access with a `HeapOutOfBounds` trap, or None if `f`
/// has no such access.
///
/// The memory never grows past the reservation (the runtime caps it, the
/// validator assumes it), so an access whose static `offset + width` exceeds
/// the reservation traps whatever its index. Lowering it as an access would
/// need an address the validator cannot bound inside the sandbox (the
/// bounds-checked strategy has no guard to absorb the offset); lowering it as
/// the trap it is needs no proof at all. The rest of the block is dead, and so
/// is every block only it reached: `reachable` drops them, and the values they
/// define are used only where they dominate, so nothing refers to them.
fn trap_impossible_accesses(f: &Function, heap: HeapStrategy) -> Option<Function> {
    let limit = heap.reservation();
    let impossible = |op: &Op| match op {
        Op::Load { mem, .. } | Op::Store { mem, .. } => {
            mem.offset.saturating_add(mem.width as u64) > limit
        }
        _ => false,
    };
    let mut out: Option<Function> = None;
    for b in 0..f.blocks.len() {
        let Some(pos) = f.blocks[b]
            .insts
            .iter()
            .position(|&i| impossible(&f.inst(i).op))
        else {
            continue;
        };
        let g = out.get_or_insert_with(|| f.clone());
        g.blocks[b].insts.truncate(pos);
        g.push(
            ir::Block(b as u32),
            Op::Trap(pcc::TrapCode::HeapOutOfBounds),
            vec![],
            &[],
        );
    }
    out
}

/// Constant `v` as a `size`-wide unsigned number (an I32's upper half is
/// not meaningful).
fn constant_at(f: &Function, v: ir::Value, size: Size) -> Option<u64> {
    let c = constant(f, v)?;
    Some(if size == Size::S32 {
        c & 0xFFFF_FFFF
    } else {
        c
    })
}

/// A constant divisor lowered without `div` (`constant_division`).
enum ConstantDivisor {
    /// 2^k: shifts and masks.
    Pow2(i32),
    /// Unsigned by c: a multiplication by c's reciprocal.
    Reciprocal(u64),
}

fn constant_divisor(
    f: &Function,
    op: BinOp,
    size: Size,
    divisor: ir::Value,
) -> Option<ConstantDivisor> {
    if let Some(k) = pow2_divisor(f, op, size, divisor) {
        return Some(ConstantDivisor::Pow2(k));
    }
    let c = constant_at(f, divisor, size)?;
    (matches!(op, BinOp::DivU | BinOp::RemU) && c > 2 && !c.is_power_of_two())
        .then_some(ConstantDivisor::Reciprocal(c))
}

/// `k` when `op` by `divisor` is lowered as shifts and masks
/// (`pow2_division`): a constant 2^k, k >= 1, positive for the signed
/// operators, and a mask that is an imm32 sign-extending to itself.
fn pow2_divisor(f: &Function, op: BinOp, size: Size, divisor: ir::Value) -> Option<i32> {
    let bits = if size == Size::S32 { 32 } else { 64 };
    let c = constant_at(f, divisor, size)?;
    if c < 2 || !c.is_power_of_two() {
        return None;
    }
    let k = c.trailing_zeros() as i32;
    let ok = match op {
        BinOp::DivU => true,
        BinOp::RemU => k <= 31,
        BinOp::DivS => k < bits - 1,
        BinOp::RemS => k <= 31 && k < bits - 1,
        _ => false,
    };
    ok.then_some(k)
}

pub fn lower(f: &Function, ctx: &ModuleCtx<'_>) -> Result<VCode, CompileError> {
    f.check()
        .map_err(|msg| CompileError::Function { func: f.index, msg })?;
    let trapping = trap_impossible_accesses(f, ctx.heap);
    let f = trapping.as_ref().unwrap_or(f);
    let live = reachable(f);
    let uses = use_counts(f, &live);
    let fused = fusions(f, &live, &uses);
    let mut reg_uses = uses;
    for (b, _) in live.iter().enumerate().filter(|(_, &l)| l) {
        for &i in &f.blocks[b].insts {
            let d = f.inst(i);
            if let Some(k) = fold_plan(f, d) {
                reg_uses[d.args[k].0 as usize] -= 1;
            }
            // A divisor lowered without `div` is a shift count, a mask or an
            // immediate, not a register.
            if let Op::Binary { op, ty } = d.op {
                if constant_divisor(f, op, size_of(ty), d.args[1]).is_some() {
                    reg_uses[d.args[1].0 as usize] -= 1;
                }
            }
        }
    }
    let mut block_map = vec![None; f.blocks.len()];
    let mut n = 0;
    for (i, &l) in live.iter().enumerate() {
        if l {
            block_map[i] = Some(n);
            n += 1;
        }
    }
    let mut lw = Lowerer {
        f,
        ctx,
        insts: vec![vec![]; n],
        succs: vec![vec![]; n],
        params: vec![vec![]; n],
        facts: vec![None; f.values.len()],
        is_i32: f.values.iter().map(|v| v.ty == Type::I32).collect(),
        is_v128: f.values.iter().map(|v| v.ty == Type::V128).collect(),
        classes: f
            .values
            .iter()
            .map(|v| {
                if v.ty.is_int() {
                    RegClass::Int
                } else {
                    RegClass::Float
                }
            })
            .collect(),
        block_map,
        call_area: 0,
        vmctx_slot: false,
        landing_blocks: landing_blocks(f, &live),
        prefix: Default::default(),
        landings: false,
        fused,
        reg_uses,
    };
    for (i, &l) in live.iter().enumerate() {
        if l {
            lw.lower_block(ir::Block(i as u32))?;
        }
    }
    // Copies (see `opt::loops`) claim what their sources claim.
    let copies: Vec<(usize, usize)> = f
        .insts
        .iter()
        .filter(|d| d.op == Op::Copy)
        .map(|d| (d.results[0].0 as usize, d.args[0].0 as usize))
        .collect();
    loop {
        let mut changed = false;
        for &(dst, src) in &copies {
            if lw.facts[dst] != lw.facts[src] {
                lw.facts[dst] = lw.facts[src];
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut insts = vec![];
    let mut ranges = vec![];
    for b in &lw.insts {
        let s = insts.len() as u32;
        insts.extend(b.iter().cloned());
        ranges.push((s, insts.len() as u32));
    }
    let mut v = VCode {
        insts,
        operands: vec![],
        clobbers: vec![],
        block_ranges: ranges,
        block_params: lw.params,
        succs: lw.succs,
        preds: vec![],
        num_vregs: lw.facts.len(),
        facts: lw.facts,
        is_i32: lw.is_i32,
        is_v128: lw.is_v128,
        classes: lw.classes,
        debug_labels: vec![],
        call_area: lw.call_area,
        vmctx_slot: lw.vmctx_slot,
        landings: lw.landings,
        num_ir_blocks: n,
        wide_sse_slots: f.values.iter().any(|v| v.ty == Type::V128),
    };
    v.finish();
    Ok(v)
}
