//! Diagnostics, outside the trusted path: instruction text, the window of
//! recent instructions with what was known, and the chain that made a
//! rejected access's index (`pccc verify --explain`). Nothing here decides.

use super::*;
use iced_x86::{Formatter, IntelFormatter};

thread_local! {
    /// Made on first use only: making one costs more than verifying a small
    /// function, and an accepted artifact without `obligations` needs none.
    static FORMATTER: std::cell::RefCell<IntelFormatter> = std::cell::RefCell::new(IntelFormatter::new());
}

/// An instruction's text.
pub(super) fn text_of(insn: &Instruction) -> String {
    let mut s = String::new();
    FORMATTER.with_borrow_mut(|f| f.format(insn, &mut s));
    s
}

impl<'a> Func<'a> {
    pub(super) fn text(&mut self, i: usize) -> String {
        text_of(&self.insns[i])
    }

    /// The recent instructions (the last is the current one), each with the
    /// known values of the general registers it uses.
    pub(super) fn window(&mut self) -> Vec<String> {
        let recent: Vec<(usize, [AVal; 16])> = self.recent.iter().copied().collect();
        let mut info = InstructionInfoFactory::new();
        recent
            .into_iter()
            .map(|(k, regs)| {
                let used: BTreeSet<u8> = info
                    .info(&self.insns[k])
                    .used_registers()
                    .iter()
                    .filter_map(|u| gpr(u.register()))
                    .filter(|&r| r != RSP && r != RBP) // frame registers: no value to show
                    .collect();
                let known: Vec<String> = used
                    .into_iter()
                    .map(|r| format!("{}={}", reg_name(r), show(regs[r as usize])))
                    .collect();
                let (off, text) = (self.offs[k], self.text(k));
                format!("+{off:#x} {text:<36} ; {}", known.join(", "))
            })
            .collect()
    }

    /// Where the index of the access at `i` came from: walking back in code
    /// order (a diagnostic, not a proof), the instruction that last wrote the
    /// index, then
    /// what it copied or reloaded (register, or the frame slot and the store
    /// that filled it), until the value was computed rather than moved.
    pub(super) fn chain(&mut self, i: usize, index: Option<u8>) -> Vec<String> {
        enum Want {
            Reg(u8),
            Slot(u32),
        }
        let Some(r) = index else { return vec![] };
        let mut want = Want::Reg(r);
        let mut out = vec![];
        let mut info = InstructionInfoFactory::new();
        let mut j = i;
        while j > 0 && out.len() < 8 && i - j < 256 {
            j -= 1;
            let insn = self.insns[j];
            let writes = match want {
                Want::Reg(r) => info.info(&insn).used_registers().iter().any(|u| {
                    gpr(u.register()) == Some(r)
                        && matches!(
                            u.access(),
                            OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite
                        )
                }),
                Want::Slot(k) => {
                    insn.op0_kind() == OpKind::Memory
                        && insn.memory_base() == Register::RSP
                        && insn.memory_index() == Register::None
                        && insn.memory_displacement64() == k as u64
                }
            };
            if !writes {
                continue;
            }
            let (off, text) = (self.offs[j], self.text(j));
            out.push(format!("+{off:#x} {text}"));
            // Follow plain copies: register moves, spills and reloads.
            let copy = matches!(insn.mnemonic(), Mnemonic::Mov | Mnemonic::Movsxd);
            want = match (copy, insn.op1_kind()) {
                (true, OpKind::Register) => match gpr(insn.op1_register()) {
                    Some(src) => Want::Reg(src),
                    None => break,
                },
                (true, OpKind::Memory)
                    if insn.memory_base() == Register::RSP
                        && insn.memory_index() == Register::None =>
                {
                    Want::Slot(insn.memory_displacement64() as u32)
                }
                _ => break,
            };
        }
        out
    }

    /// PCCC_TRACE_FUNCTION: the state before instruction `i`, on stderr.
    pub(super) fn trace(&mut self, i: usize, s: &State) {
        let slots: Vec<String> = s
            .slots
            .iter()
            .map(|(k, v)| format!("[rsp+{k:#x}]={}", show(*v)))
            .collect();
        let regs: Vec<String> = (0..16u8)
            .filter(|r| s.get(*r) != UNKNOWN)
            .map(|r| format!("{}={}", reg_name(r), show(s.get(r))))
            .collect();
        let t = self.text(i);
        eprintln!(
            "{:#x}: {t}\n    {} {}",
            self.offs[i],
            regs.join(" "),
            slots.join(" ")
        );
    }
}
