//! The calling conventions: the prologue every function begins with, what
//! the ABI guarantees at entry and requires at calls and returns, and the
//! builtin calls checked against `pcc::builtin`.

use super::*;

impl<'a> Func<'a> {
    /// The ABI's guarantee at entry: i32 parameters in registers are zero-extended.
    pub(super) fn abi_state(&self, ty: &WasmFuncType) -> State {
        let mut s = State::pinned();
        for (p, loc) in ty
            .params
            .iter()
            .zip(arg_locations(ty.params.iter().map(|t| t.class())))
        {
            if let (ValType::I32, ArgLoc::Gpr(r)) = (p, loc) {
                s.set(r.0, AVal::Num(0, U32_MAX));
            }
        }
        s
    }

    /// At a call: the arguments meet the callee type's ABI guarantee.
    pub(super) fn check_call_args(&mut self, i: usize, s: &State, ty: &WasmFuncType) {
        let want = self.abi_state(ty);
        for r in 0..16u8 {
            if r != R14 && r != R15 && !s.get(r).within(want.get(r)) {
                self.reject(
                    i,
                    format!(
                        "call argument in {} does not meet its i32 zero-extension guarantee",
                        reg_name(r)
                    ),
                );
            }
        }
    }

    /// `push rbp; mov rbp, rsp; [sub rsp, F]; cmp rsp, [r14+limit]; jb <stack overflow trap>`.
    /// Returns the index of the first body instruction.
    pub(super) fn prologue(&mut self) -> Option<usize> {
        let ins = &self.insns;
        let reg = |i: usize, k: u32| {
            (ins.len() > i && ins[i].op_kind(k) == OpKind::Register).then(|| ins[i].op_register(k))
        };
        let ok0 = ins.len() > 4
            && ins[0].code() == Code::Push_r64
            && reg(0, 0) == Some(Register::RBP)
            && ins[1].code() == Code::Mov_rm64_r64
            && reg(1, 0) == Some(Register::RBP)
            && reg(1, 1) == Some(Register::RSP);
        if !ok0 {
            self.reject_at(
                0,
                "",
                "function does not begin with the frame prologue (push rbp; mov rbp, rsp)",
            );
            return None;
        }
        let mut i = 2;
        if matches!(ins[2].code(), Code::Sub_rm64_imm8 | Code::Sub_rm64_imm32)
            && reg(2, 0) == Some(Register::RSP)
        {
            let f = ins[2].immediate(1) as i64;
            if !(0..=1 << 24).contains(&f) {
                self.reject(2, "frame size out of range");
                return None;
            }
            // Entered at rsp = 8 (mod 16), aligned by `push rbp`: every call
            // from the body (the runtime's builtins are System V functions,
            // which may spill with movaps) needs rsp 16-byte aligned.
            if f % 16 != 0 {
                self.reject(
                    2,
                    "frame size not a multiple of 16 (rsp misaligned at calls)",
                );
                return None;
            }
            self.frame = f as u32;
            i = 3;
        }
        let cmp_ok = ins[i].code() == Code::Cmp_r64_rm64
            && reg(i, 0) == Some(Register::RSP)
            && ins[i].op1_kind() == OpKind::Memory
            && ins[i].memory_base() == Register::R14
            && ins[i].memory_index() == Register::None
            && ins[i].memory_displacement64() == VmCtxLayout::STACK_LIMIT as u64;
        let jb_ok = matches!(ins[i + 1].code(), Code::Jb_rel8_64 | Code::Jb_rel32_64) && {
            let rel = self.rel_target(i + 1) as u32;
            self.traps.get(&rel) == Some(&pcc::TrapCode::StackOverflow)
        };
        if !(cmp_ok && jb_ok) {
            self.reject(i, "prologue does not check the stack limit (cmp rsp, [r14+stack_limit]; jb <stack overflow>)");
            return None;
        }
        Some(i + 2)
    }

    pub(super) fn callee_type(&self, target: u64) -> Option<&'a WasmFuncType> {
        let meta = &self.art.meta;
        let f = &meta.funcs[*self.entries.get(&target)?];
        meta.types.get(f.type_index as usize)
    }

    pub(super) fn check_pinned(&mut self, i: usize, s: &State) -> bool {
        let ok = s.get(R14) == AVal::VmCtx && s.get(R15) == AVal::HeapBase;
        if !ok {
            self.reject(
                i,
                "r14/r15 are not this instance's vmctx and heap base here",
            );
        }
        ok
    }

    pub(super) fn call(&mut self, i: usize, s: &mut State, mem: Option<Mem>) -> bool {
        let insn = self.insns[i];
        let clobber_all = |s: &mut State| {
            for r in CALLER_SAVED_GPRS {
                s.set(r.0, UNKNOWN);
            }
            s.flags = Flags::Unknown;
            s.forget_element_pointers();
        };
        // The callee's i32 results come back zero-extended (checked at its
        // `ret`); the outgoing slots it may have written hold its stack results.
        let set_result = |s: &mut State, ty: &WasmFuncType| {
            for r in i32_result_regs(ty) {
                s.set(r, AVal::Num(0, U32_MAX));
            }
            let written = 8 * stack_results(ty.results.iter().map(|t| t.class()));
            s.slots.retain(|&k, _| k >= written);
        };
        match (insn.op0_kind(), mem) {
            (OpKind::NearBranch64, _) => {
                let t = insn.near_branch_target();
                let Some(ty) = self.callee_type(t) else {
                    self.reject(i, "direct call to something that is not a function entry");
                    return false;
                };
                if !self.check_pinned(i, s) {
                    return false;
                }
                self.check_call_args(i, s, ty);
                if !self.check_outgoing_area(i, s, ty) {
                    return false;
                }
                clobber_all(s);
                set_result(s, ty);
            }
            (OpKind::Memory, Some(Mem::Vm(off))) => {
                let Some(b) = builtin_at(off) else {
                    self.reject(i, "call through a vmctx field that is not a builtin");
                    return false;
                };
                if !self.check_pinned(i, s) || !self.check_builtin_args(i, s, b) {
                    return false;
                }
                for r in SYSV_CLOBBERS {
                    s.set(r.0, UNKNOWN);
                }
                s.flags = Flags::Unknown;
                s.forget_element_pointers();
            }
            (OpKind::Memory, Some(Mem::Elem(e, off))) if off == VmCtxLayout::ELEM_CODE => {
                let AVal::ElemAddr {
                    null_checked: true,
                    sig: Some(t),
                    id,
                    ..
                } = s.get(e)
                else {
                    self.reject(i, "indirect call through a table element without the null and signature checks");
                    return false;
                };
                if (s.get(R14), s.get(R15)) != (AVal::ForeignVmCtx(id), AVal::ForeignHeapBase(id)) {
                    self.reject(
                        i,
                        "indirect call without switching to the element's instance",
                    );
                    return false;
                }
                let Some(ty) = self.art.meta.types.get(t as usize) else {
                    self.reject(i, "indirect call of a type that does not exist");
                    return false;
                };
                self.check_call_args(
                    i,
                    &{
                        let mut c = s.clone();
                        c.set(R14, AVal::VmCtx);
                        c.set(R15, AVal::HeapBase);
                        c
                    },
                    ty,
                );
                if !self.check_outgoing_area(i, s, ty) {
                    return false;
                }
                clobber_all(s);
                set_result(s, ty);
            }
            _ => {
                self.reject(i, "call to an undeclared target");
                return false;
            }
        }
        true
    }

    /// At a wasm call: this frame owns the callee type's outgoing slots at
    /// `[rsp]`, which the callee reads its stack arguments from and writes
    /// its stack results to (through its rbp; `classify` bounds those).
    /// Without them the callee's result stores would land on this frame's
    /// saved rbp and return address.
    fn check_outgoing_area(&mut self, i: usize, s: &State, ty: &WasmFuncType) -> bool {
        let classes = |ts: &[ValType]| ts.iter().map(|t| t.class()).collect::<Vec<_>>();
        let need = 8 * u64::from(outgoing_slots(classes(&ty.params), classes(&ty.results)));
        if s.stack != Stack::Body || need > u64::from(self.frame) {
            self.reject(
                i,
                format!(
                    "call needs {need:#x} bytes of outgoing area at rsp; the frame has {:#x}",
                    self.frame
                ),
            );
            return false;
        }
        true
    }

    /// Every argument register of a builtin call holds what the builtin
    /// ABI (pcc::builtin) requires; a host call's slot area, which the host
    /// writes, then forgets what it held.
    pub(super) fn check_builtin_args(&mut self, i: usize, s: &mut State, b: &Builtin) -> bool {
        let mut import = None;
        let mut tag = None;
        for &(reg, rule) in b.args {
            let v = s.get(reg.0);
            let ok = match rule {
                ArgRule::Any => true,
                ArgRule::VmCtx => v == AVal::VmCtx,
                ArgRule::ImportIndex => {
                    import = v
                        .as_const()
                        .filter(|&k| k < self.art.meta.num_imported_funcs() as u64);
                    import.is_some()
                }
                ArgRule::TagIndex => {
                    tag = v
                        .as_const()
                        .and_then(|k| u32::try_from(k).ok())
                        .and_then(|k| {
                            let t = self.art.meta.tag_type_index(k)?;
                            Some(pcc::builtin::tag_payload_bytes(
                                self.art.meta.types.get(t as usize)?,
                            ))
                        });
                    tag.is_some()
                }
                ArgRule::ImportSlots | ArgRule::TagSlots => {
                    let bytes = if rule == ArgRule::ImportSlots {
                        import.and_then(|imp| self.import_slots(imp))
                    } else {
                        tag
                    };
                    match (v, bytes) {
                        (AVal::FrameAddr(k), Some(n)) if k as u64 + n <= self.frame as u64 => {
                            let end = k as u64 + n;
                            s.slots
                                .retain(|&o, _| o as u64 + 8 <= k as u64 || o as u64 >= end);
                            true
                        }
                        _ => false,
                    }
                }
            };
            if !ok {
                self.reject(
                    i,
                    format!(
                        "{} argument in {} is {}, not {rule:?} as the builtin ABI requires",
                        b.name,
                        reg_name(reg.0),
                        show(v)
                    ),
                );
                return false;
            }
        }
        true
    }

    /// Bytes of the slot area the host call for import `imp` reads and writes.
    pub(super) fn import_slots(&self, imp: u64) -> Option<u64> {
        let meta = &self.art.meta;
        let type_index = meta
            .imports
            .iter()
            .filter_map(|x| match x.kind {
                ImportKind::Func { type_index } => Some(type_index),
                _ => None,
            })
            .nth(usize::try_from(imp).ok()?)?;
        let ty = meta.types.get(type_index as usize)?;
        Some(host_call_slots(ty.params.len(), ty.results.len()))
    }
}

/// The registers of a function type's i32 results, by the ABI's result
/// assignment (those in stack slots are the caller's 32-bit loads).
pub(super) fn i32_result_regs(ty: &WasmFuncType) -> Vec<u8> {
    let locs = result_locations(ty.results.iter().map(|t| t.class()));
    ty.results
        .iter()
        .zip(locs)
        .filter_map(|(t, loc)| match (t, loc) {
            (ValType::I32, ArgLoc::Gpr(r)) => Some(r.0),
            _ => None,
        })
        .collect()
}
