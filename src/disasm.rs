//! `pccc disasm`: the artifact's machine code interleaved with the facts the
//! compiler claims, trap sites and function boundaries. Offsets are
//! function-relative and call targets print as symbols, so the output is
//! stable enough to snapshot.

use std::collections::BTreeMap;
use std::fmt::Write;

use iced_x86::{
    Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, OpKind, SymbolResolver,
    SymbolResult,
};
use pcc::{ArtifactFile, FactEntry, Point, TrapCode};

/// Resolves branch and call targets to `name` or `name+0xoff` (also used by
/// `pccc artifact dump`'s listing).
pub(crate) struct Symbols {
    /// Text offset → function name, sorted.
    pub(crate) starts: BTreeMap<u64, String>,
}

impl SymbolResolver for Symbols {
    fn symbol(
        &mut self,
        instruction: &Instruction,
        operand: u32,
        _instruction_operand: Option<u32>,
        address: u64,
        _address_size: u32,
    ) -> Option<SymbolResult<'_>> {
        // Only code addresses are symbols (branch targets, and a jump
        // table's rip-relative address); other displacements and
        // immediates are numbers.
        let rip = instruction.op_kind(operand) == OpKind::Memory
            && instruction.memory_base() == iced_x86::Register::RIP;
        if !rip
            && !matches!(
                instruction.op_kind(operand),
                OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
            )
        {
            return None;
        }
        let (&start, name) = self.starts.range(..=address).next_back()?;
        let text = if address == start {
            name.clone()
        } else {
            format!("{name}+{:#x}", address - start)
        };
        Some(SymbolResult::with_string(address, text))
    }
}

/// Render the whole artifact.
pub fn render(art: &ArtifactFile) -> String {
    let mut out = String::new();
    let meta = &art.meta;
    let _ = writeln!(
        out,
        "; pccc artifact: {} functions, heap strategy {} (reservation {:#x}, guard {:#x})",
        meta.funcs.len(),
        meta.sandbox.heap.name(),
        meta.sandbox.heap.reservation(),
        meta.sandbox.heap.guard()
    );
    let starts = meta
        .funcs
        .iter()
        .map(|f| (f.offset as u64, f.name.clone()))
        .collect();
    let mut formatter = IntelFormatter::with_options(Some(Box::new(Symbols { starts })), None);
    formatter.options_mut().set_first_operand_char_index(8);
    formatter
        .options_mut()
        .set_space_after_operand_separator(true);
    let imported = meta.num_imported_funcs();

    for (i, func) in meta.funcs.iter().enumerate() {
        let ty = meta
            .types
            .get(func.type_index as usize)
            .map(|t| format!("{:?} -> {:?}", t.params, t.results))
            .unwrap_or_else(|| "?".into());
        let _ = writeln!(
            out,
            "\n{} (func {}, {ty}, {} bytes):",
            func.name,
            imported + i as u32,
            func.size
        );
        let facts: Vec<&FactEntry> = art
            .facts
            .iter()
            .filter(|ff| ff.func == i as u32)
            .flat_map(|ff| ff.entries.iter())
            .collect();
        let traps: BTreeMap<u32, TrapCode> = meta
            .trap_sites
            .iter()
            .filter(|t| t.func == i as u32)
            .map(|t| (t.offset, t.code))
            .collect();
        // A call's exception site is keyed by its return address, the
        // offset where the call ends.
        let lands: BTreeMap<u32, u32> = meta
            .exn_sites
            .iter()
            .filter(|s| s.func == i as u32)
            .map(|s| (s.ret, s.landing))
            .collect();
        let landings: std::collections::BTreeSet<u32> = lands.values().copied().collect();
        let start = func.offset as usize;
        let Some(code) = art.text.get(start..start + func.size as usize) else {
            let _ = writeln!(out, "  ; function lies outside .text");
            continue;
        };
        let mut decoder = Decoder::with_ip(64, code, start as u64, DecoderOptions::NONE);
        let mut insn = Instruction::default();
        let mut text = String::new();
        while decoder.can_decode() {
            decoder.decode_out(&mut insn);
            let off = (insn.ip() - start as u64) as u32;
            let facts_at = |point: Point| {
                let mut v: Vec<String> = facts
                    .iter()
                    .filter(|f| f.offset == off && f.point == point)
                    .map(|f| f.to_string())
                    .collect();
                v.sort();
                v
            };
            let before = facts_at(Point::Before);
            if !before.is_empty() {
                let _ = writeln!(out, "          ; {}", before.join(", "));
            }
            text.clear();
            if insn.is_invalid() {
                text.push_str("(bad)");
            } else {
                formatter.format(&insn, &mut text);
            }
            let _ = write!(out, "  {off:>6x}: {text}");
            if let Some(code) = traps.get(&off) {
                let _ = write!(out, "    ; trap: {code}");
            }
            let end = off + insn.len() as u32;
            if let Some(l) = lands.get(&end) {
                let _ = write!(out, "    ; exception lands at {l:x}");
            }
            if landings.contains(&off) {
                let _ = write!(out, "    ; exception landing");
            }
            out.push('\n');
            let after = facts_at(Point::After);
            if !after.is_empty() {
                let _ = writeln!(out, "          ; => {}", after.join(", "));
            }
        }
    }
    out
}
