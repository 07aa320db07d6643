//! Memory operand classification: every memory operand of every decoded
//! instruction is the frame, a stack argument, a vmctx field, a global's
//! cell, a table descriptor or element, or the heap (which becomes an
//! obligation) — or the artifact is rejected. Also what each class holds.

use super::*;

impl<'a> Func<'a> {
    /// Classify a memory operand; heap accesses become obligations.
    pub(super) fn classify(
        &mut self,
        i: usize,
        s: &State,
        write: bool,
        ck: &mut Checker<'_>,
    ) -> Option<Mem> {
        let insn = self.insns[i];
        let base = gpr(insn.memory_base());
        let index = gpr(insn.memory_index());
        let disp = insn.memory_displacement64() as i64;
        let size = insn.memory_size().size() as u32;
        // check_form allowed 64-bit address registers only, no segment.
        let Some(b) = base else {
            self.reject(i, "unclassifiable memory operand (no base register)");
            return None;
        };
        let read_only = |this: &mut Self, m: Mem| {
            if write {
                this.reject(
                    i,
                    "write to read-only memory (vmctx, table or argument area)",
                );
                None
            } else {
                Some(m)
            }
        };
        let bv = s.get(b);
        if (b == RSP || b == RBP) && s.stack != Stack::Body {
            self.reject(i, "stack access after the frame was unwound");
            return None;
        }
        if b == RSP && index.is_none() {
            if disp >= 0 && disp as u64 + size as u64 <= self.frame as u64 {
                ck.counts.stack += 1;
                return Some(Mem::Frame(disp as u32));
            }
            self.reject(
                i,
                format!(
                    "stack access [rsp{disp:+#x}] outside the {:#x}-byte frame",
                    self.frame
                ),
            );
            return None;
        }
        // The caller's outgoing area above the return address: this
        // function's stack arguments (read-only) and stack results (written
        // before it returns). Every caller owns `outgoing_slots` of the type
        // there: checked at each call (`call`), provided by the runtime's entry.
        if b == RBP && index.is_none() {
            let nargs = 8 * stack_args(self.ty.params.iter().map(|t| t.class())) as i64;
            let nres = 8 * stack_results(self.ty.results.iter().map(|t| t.class())) as i64;
            let end = disp - 16 + size as i64;
            // 8-byte aligned: a slot or (a v128's) two, never part of one.
            if disp >= 16 && (disp - 16) % 8 == 0 && size <= 16 && end <= nargs.max(nres) {
                ck.counts.stack += 1;
                if write && end > nres {
                    return read_only(self, Mem::StackSlot);
                }
                return Some(Mem::StackSlot);
            }
            self.reject(
                i,
                "access through rbp that is not a stack argument or result slot of this function",
            );
            return None;
        }
        match (bv, index) {
            (AVal::HeapBase, idx) => {
                if self.art.meta.memory.is_none() {
                    self.reject(i, "heap access in a module without a memory");
                    return None;
                }
                if insn.memory_index_scale() != 1 && idx.is_some() {
                    self.reject(i, "scaled heap index");
                    return None;
                }
                let (lo, hi) = idx.map_or((0, 0), |r| s.get(r).range());
                ck.counts.heap += 1;
                ck.obligations += 1;
                let ob = Obligation {
                    index_reg: idx.map(reg_name).map(str::to_string),
                    index_min: lo,
                    index_max: hi,
                    disp,
                    size,
                    limit: self.art.meta.sandbox.heap.sandbox_bytes(),
                };
                ck.shapes.insert(ob.shape());
                if let Some(r) = ck.record.as_mut() {
                    r.push(Recorded {
                        func: self.index,
                        instruction: self.text(i),
                        obligation: ob.clone(),
                    });
                }
                if let Err(cex) = ck.prover.prove(&ob) {
                    let t = self.text(i);
                    let (window, chain) = (self.window(), self.chain(i, idx));
                    self.failures.push(Failure {
                        function: self.name.to_string(),
                        offset: self.offs[i],
                        instruction: t,
                        reason: "heap access not proved inside the sandbox".into(),
                        obligation: Some(ob.describe()),
                        counterexample: Some(cex.to_string()),
                        window,
                        chain,
                    });
                    return None;
                }
                Some(Mem::Heap)
            }
            (AVal::VmCtx, None)
                if disp >= 0 && (disp as u64 + size as u64) <= self.layout.size() as u64 =>
            {
                ck.counts.vmctx += 1;
                read_only(self, Mem::Vm(disp as u32))
            }
            (AVal::ForeignVmCtx(id), None)
                if disp == VmCtxLayout::HEAP_BASE as i64 && size == 8 =>
            {
                ck.counts.vmctx += 1;
                read_only(self, Mem::ForeignVm(id))
            }
            (AVal::Global(g), None) if disp == 0 && size <= VmCtxLayout::GLOBAL_CELL_SIZE => {
                ck.counts.global += 1;
                if write && !self.global_mutable(g) {
                    self.reject(i, format!("write to immutable global {g}"));
                    return None;
                }
                Some(Mem::Global(g))
            }
            // The element pointer (8 bytes) and the length (8, or its low
            // 4: table.size); both read-only.
            (AVal::Table(t), None)
                if (disp == VmCtxLayout::TABLE_ELEMS as i64 && size == 8)
                    || (disp == VmCtxLayout::TABLE_LEN as i64 && (size == 8 || size == 4)) =>
            {
                ck.counts.table += 1;
                read_only(self, Mem::TableDesc(t, disp as u32))
            }
            (AVal::ElemAddr { .. }, None)
                if (0..VmCtxLayout::ELEM_SIZE as i64).contains(&disp)
                    && disp % 8 == 0
                    && size == 8 =>
            {
                ck.counts.table += 1;
                read_only(self, Mem::Elem(b, disp as u32))
            }
            _ => {
                self.reject(
                    i,
                    format!(
                        "unclassifiable memory operand: base {} holds {}",
                        reg_name(b),
                        show(bv)
                    ),
                );
                None
            }
        }
    }

    pub(super) fn global_mutable(&self, g: u32) -> bool {
        let meta = &self.art.meta;
        let imported = meta.num_imported_globals();
        if g < imported {
            meta.imports
                .iter()
                .filter_map(|imp| match imp.kind {
                    ImportKind::Global { mutable, .. } => Some(mutable),
                    _ => None,
                })
                .nth(g as usize)
                .unwrap_or(false)
        } else {
            meta.globals
                .get((g - imported) as usize)
                .is_some_and(|gm| gm.mutable)
        }
    }

    /// The 8-byte value at a classified location.
    pub(super) fn load_value(&self, m: Mem, s: &State) -> AVal {
        match m {
            Mem::Frame(k) => s.slots.get(&k).copied().unwrap_or(UNKNOWN),
            Mem::Vm(off) => self.vm_field(off),
            Mem::ForeignVm(id) => AVal::ForeignHeapBase(id),
            Mem::TableDesc(t, off) if off == VmCtxLayout::TABLE_ELEMS => AVal::Elems(t),
            // An element's instance, once the element is known non-null and
            // of the expected signature.
            Mem::Elem(e, off) if off == VmCtxLayout::ELEM_VMCTX => match s.get(e) {
                AVal::ElemAddr {
                    null_checked: true,
                    sig: Some(_),
                    id,
                    ..
                } => AVal::ForeignVmCtx(id),
                _ => UNKNOWN,
            },
            _ => UNKNOWN,
        }
    }

    /// The runtime's contract for vmctx fields (pcc::vmctx documents it).
    pub(super) fn vm_field(&self, off: u32) -> AVal {
        let l = &self.layout;
        if off == VmCtxLayout::HEAP_BASE {
            return AVal::HeapBase;
        }
        if off == VmCtxLayout::HEAP_BYTES {
            // The runtime never grows a memory past the reservation the
            // artifact declares, and a wasm32 memory never past 65536 pages.
            let r = self.art.meta.sandbox.heap.reservation();
            return AVal::HeapBytes {
                minus: 0,
                max: r.min(1 << 32),
            };
        }
        for t in 0..l.num_types {
            if off == l.sig_id(t) {
                return AVal::SigId(t);
            }
        }
        for t in 0..l.num_tables {
            if off == l.table(t) {
                return AVal::Table(t);
            }
        }
        for g in 0..l.num_globals {
            if off == l.global(g) {
                return AVal::Global(g);
            }
        }
        UNKNOWN
    }
}
