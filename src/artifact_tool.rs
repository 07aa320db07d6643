//! `pccc artifact dump|build`: an artifact as editable JSON and back.
//!
//! The threat model (DESIGN.md, "the artifact is the adversary") says the
//! validator must hold against *any* bytes, so tests and researchers need to
//! write artifacts the compiler would never produce: hand-assembled code,
//! lying facts, metadata and symbols that disagree. This module is that
//! tool. It trusts nothing and checks nothing about safety — it only keeps
//! the container consistent where the author asks it to.
//!
//! The JSON (see README.md, "Artifact assembler"):
//!
//! ```json
//! {
//!   "format": "pccc-artifact-json/1",
//!   "layout": "explicit",
//!   "functions": [
//!     { "name": "f", "offset": 0, "size": 23, "code_hex": "554889e5...",
//!       "disasm": ["0: push rbp", "..."] }
//!   ],
//!   "symbols": [ { "name": "f", "offset": 0, "size": 23 } ],
//!   "metadata": { ...pcc::Metadata... },
//!   "facts": [ ...pcc::FunctionFacts... ]
//! }
//! ```
//!
//! `.text` is the concatenation of `functions[].code_hex` in order: an entry
//! is a function's code (`name`) or bytes that belong to no function
//! (`name: null`: padding, data, or the whole `.text` when the metadata's
//! functions overlap and cannot be laid out one after another). `offset` and
//! `size` of an entry may be omitted; when given they must match where the
//! code lands, or `build` fails. `disasm` is written by `dump` for people and
//! ignored by `build`.
//!
//! `layout` says where the function offsets and sizes of `metadata.funcs`
//! and the ELF `symbols` come from:
//! - `"explicit"` (what `dump` writes): verbatim from the JSON, so a test
//!   can make symbols, metadata and code disagree on purpose;
//! - `"auto"`: recomputed from `functions` — each `metadata.funcs[i]` takes
//!   the offset and size of the `i`-th named entry, and `symbols` becomes one
//!   symbol per named entry. Replace one function's `code_hex` and everything
//!   after it follows. Trap sites and facts are function-relative, so they
//!   don't move with the function; direct `call`s between functions are not
//!   relocated (they are bytes like any other).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{anyhow, bail, Context, Result};
use iced_x86::code_asm::{CodeAssembler, CodeLabel};
use iced_x86::{BlockEncoderOptions, Decoder, DecoderOptions, Formatter, IntelFormatter};
use object::write::{Object, StandardSection, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, Object as _, ObjectSection as _, ObjectSymbol as _,
    SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};
use pcc::artifact::{encode_facts, FACTS_SECTION, META_SECTION, TEXT_SECTION};
use pcc::{ArtifactFile, FactEntry, FunctionFacts, Metadata, TrapCode, TrapSite};
use serde::{Deserialize, Serialize};

/// The value of `format`; `build` refuses anything else.
pub const FORMAT: &str = "pccc-artifact-json/1";

/// An artifact as JSON: see the module documentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactJson {
    pub format: String,
    #[serde(default)]
    pub layout: Layout,
    /// `.text`, in order.
    pub functions: Vec<FunctionJson>,
    /// The ELF function symbols (in symbol-table order).
    #[serde(default)]
    pub symbols: Vec<SymbolJson>,
    pub metadata: Metadata,
    pub facts: Vec<FunctionFacts>,
}

/// Where `metadata.funcs` offsets/sizes and `symbols` come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Verbatim from the JSON.
    #[default]
    Explicit,
    /// Recomputed from `functions`.
    Auto,
}

/// One piece of `.text`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionJson {
    /// The function's name; `null` for bytes that belong to no function.
    pub name: Option<String>,
    /// Where the code starts in `.text` (checked if given).
    #[serde(default)]
    pub offset: Option<u32>,
    /// The code's length in bytes (checked if given).
    #[serde(default)]
    pub size: Option<u32>,
    pub code_hex: String,
    /// Written by `dump` (Intel syntax, function-relative offsets); ignored by `build`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disasm: Vec<String>,
}

/// An ELF function symbol in `.text`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolJson {
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

/// Read an artifact's ELF bytes into JSON form.
pub fn dump(bytes: &[u8]) -> Result<ArtifactJson> {
    let art = ArtifactFile::parse(bytes).context("invalid pccc artifact")?;
    // Symbols in symbol-table order (ArtifactFile sorts them by offset), so
    // that `build` writes them back in the same order.
    let file = object::File::parse(bytes).context("not an ELF object")?;
    let text_index = file.section_by_name(TEXT_SECTION).map(|s| s.index());
    let symbols = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.section_index() == text_index)
        .map(|s| SymbolJson {
            name: s.name().unwrap_or("?").to_string(),
            offset: s.address(),
            size: s.size(),
        })
        .collect();
    let mut funcs: Vec<(u32, u32, &str)> = art
        .meta
        .funcs
        .iter()
        .map(|f| (f.offset, f.size, f.name.as_str()))
        .collect();
    funcs.sort_by_key(|f| f.0);
    let starts: BTreeMap<u64, String> = funcs
        .iter()
        .map(|&(off, _, name)| (off as u64, name.to_string()))
        .collect();
    let text = &art.text;
    let tiles = {
        let mut end = 0u64;
        funcs.iter().all(|&(off, size, _)| {
            let ok = off as u64 >= end && off as u64 + size as u64 <= text.len() as u64;
            end = off as u64 + size as u64;
            ok
        })
    };
    let mut functions = vec![];
    let mut piece = |name: Option<&str>, start: usize, end: usize| {
        let code = &text[start..end];
        functions.push(FunctionJson {
            name: name.map(str::to_string),
            offset: Some(start as u32),
            size: Some(code.len() as u32),
            code_hex: to_hex(code),
            disasm: disassemble(code, start as u64, &starts),
        });
    };
    if tiles {
        let mut at = 0usize;
        for (off, size, name) in funcs {
            let (off, end) = (off as usize, off as usize + size as usize);
            if off > at {
                piece(None, at, off);
            }
            piece(Some(name), off, end);
            at = end;
        }
        if at < text.len() {
            piece(None, at, text.len());
        }
    } else {
        // Overlapping or out-of-range functions: one anonymous piece.
        piece(None, 0, text.len());
    }
    Ok(ArtifactJson {
        format: FORMAT.to_string(),
        layout: Layout::Explicit,
        functions,
        symbols,
        metadata: art.meta,
        facts: art.facts,
    })
}

/// Write the artifact the JSON describes as ELF bytes.
pub fn build(json: &ArtifactJson) -> Result<Vec<u8>> {
    if json.format != FORMAT {
        bail!("format is {:?}, this pccc reads {FORMAT:?}", json.format);
    }
    let mut json = json.clone();
    let text = json.place()?;
    if json.layout == Layout::Auto {
        json.apply_layout()?;
    }
    Ok(write_elf(&text, &json.metadata, &json.facts, &json.symbols))
}

/// Parse the JSON text (errors name the line and column).
pub fn from_json(text: &str) -> Result<ArtifactJson> {
    serde_json::from_str(text).map_err(|e| anyhow!("invalid artifact JSON: {e}"))
}

/// The JSON text, pretty-printed, with a final newline.
pub fn to_json(art: &ArtifactJson) -> String {
    // Plain data with string keys: serialisation cannot fail.
    let mut s = serde_json::to_string_pretty(art).expect("JSON serialisation of plain data");
    s.push('\n');
    s
}

impl ArtifactJson {
    /// Lay `functions` out in order: fills in every entry's offset and size,
    /// checks the ones given, and returns `.text`.
    fn place(&mut self) -> Result<Vec<u8>> {
        let mut text = vec![];
        for (i, f) in self.functions.iter_mut().enumerate() {
            let what = || match &f.name {
                Some(n) => format!("functions[{i}] ({n})"),
                None => format!("functions[{i}] (no function)"),
            };
            let code = from_hex(&f.code_hex).with_context(|| format!("{}: code_hex", what()))?;
            let at = u32::try_from(text.len()).map_err(|_| anyhow!(".text exceeds 4 GiB"))?;
            if let Some(off) = f.offset {
                if off != at {
                    bail!(
                        "{}: offset {off:#x}, but the code before it ends at {at:#x} \
                         (.text is the entries' code in order; use an entry with \"name\": null \
                         for bytes between functions, or omit \"offset\")",
                        what()
                    );
                }
            }
            if let Some(size) = f.size {
                if size as usize != code.len() {
                    bail!(
                        "{}: size {size} but code_hex holds {} bytes (omit \"size\" to take the code's)",
                        what(),
                        code.len()
                    );
                }
            }
            f.offset = Some(at);
            f.size = Some(code.len() as u32);
            text.extend_from_slice(&code);
        }
        Ok(text)
    }

    /// `metadata.funcs[i]` ← the `i`-th named entry; symbols ← the named entries.
    fn apply_layout(&mut self) -> Result<()> {
        let named: Vec<&FunctionJson> =
            self.functions.iter().filter(|f| f.name.is_some()).collect();
        if named.len() != self.metadata.funcs.len() {
            bail!(
                "layout \"auto\": {} named entries in functions but {} functions in metadata.funcs",
                named.len(),
                self.metadata.funcs.len()
            );
        }
        for (m, f) in self.metadata.funcs.iter_mut().zip(&named) {
            m.offset = f.offset.unwrap_or(0);
            m.size = f.size.unwrap_or(0);
        }
        self.symbols = named
            .iter()
            .map(|f| SymbolJson {
                name: f.name.clone().unwrap_or_default(),
                offset: f.offset.unwrap_or(0) as u64,
                size: f.size.unwrap_or(0) as u64,
            })
            .collect();
        Ok(())
    }

    /// Recompute every offset and size (entries, `metadata.funcs`, symbols)
    /// from the code, as `layout: "auto"` does, and leave the layout explicit
    /// so later edits (a tampered symbol, say) are kept.
    pub fn relayout(&mut self) -> Result<()> {
        for f in &mut self.functions {
            f.offset = None;
            f.size = None;
        }
        self.place()?;
        self.apply_layout()?;
        self.layout = Layout::Explicit;
        Ok(())
    }

    /// The entry holding defined function `func`'s code (the `func`-th named entry).
    fn entry_of(&self, func: u32) -> Result<usize> {
        self.functions
            .iter()
            .enumerate()
            .filter(|(_, f)| f.name.is_some())
            .nth(func as usize)
            .map(|(i, _)| i)
            .ok_or_else(|| anyhow!("no function {func} in functions"))
    }

    /// Defined function `func`'s code.
    pub fn code(&self, func: u32) -> Result<Vec<u8>> {
        from_hex(&self.functions[self.entry_of(func)?].code_hex)
    }

    /// Defined function `func`'s offset in `.text` (from the metadata).
    pub fn offset(&self, func: u32) -> Result<u32> {
        self.metadata
            .funcs
            .get(func as usize)
            .map(|f| f.offset)
            .ok_or_else(|| anyhow!("no function {func} in metadata.funcs"))
    }

    /// Replace defined function `func`: its code, its trap sites
    /// (function-relative offset, code) and its facts; then relayout, so the
    /// functions after it, the metadata and the symbols follow.
    pub fn replace_function(
        &mut self,
        func: u32,
        code: &[u8],
        traps: &[(u32, TrapCode)],
        facts: Vec<FactEntry>,
    ) -> Result<()> {
        let e = self.entry_of(func)?;
        self.functions[e].code_hex = to_hex(code);
        self.functions[e].disasm = vec![];
        self.metadata.trap_sites.retain(|t| t.func != func);
        self.metadata
            .trap_sites
            .extend(
                traps
                    .iter()
                    .map(|&(offset, code)| TrapSite { func, offset, code }),
            );
        self.metadata.trap_sites.sort_by_key(|t| (t.func, t.offset));
        self.facts.retain(|f| f.func != func);
        self.facts.push(FunctionFacts {
            func,
            entries: facts,
        });
        self.facts.sort_by_key(|f| f.func);
        self.relayout()
    }
}

/// Assemble `asm` at address `ip` and return the code with the offset
/// (relative to `ip`) of each label in `labels`, so trap sites, facts and
/// attack sites can be named by label.
pub fn assemble_at(
    asm: &mut CodeAssembler,
    ip: u64,
    labels: &[CodeLabel],
) -> Result<(Vec<u8>, Vec<u32>)> {
    let r = asm
        .assemble_options(ip, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)
        .map_err(|e| anyhow!("assembler: {e}"))?;
    let offs = labels
        .iter()
        .map(|l| {
            r.label_ip(l)
                .map(|a| (a - ip) as u32)
                .map_err(|e| anyhow!("assembler: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((r.inner.code_buffer, offs))
}

/// The ELF container, written as `backend::Artifact::to_elf` writes it but
/// with every part given (the symbols need not agree with the metadata).
pub fn write_elf(
    text: &[u8],
    meta: &Metadata,
    facts: &[FunctionFacts],
    symbols: &[SymbolJson],
) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text_id = obj.section_id(StandardSection::Text);
    obj.append_section_data(text_id, text, 16);
    for s in symbols {
        obj.add_symbol(Symbol {
            name: s.name.replace('\0', "\\0").into_bytes(),
            value: s.offset,
            size: s.size,
            kind: SymbolKind::Text,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(text_id),
            flags: SymbolFlags::None,
        });
    }
    for (name, data) in [
        (META_SECTION, meta.encode()),
        (FACTS_SECTION, encode_facts(facts)),
    ] {
        let id = obj.add_section(vec![], name.as_bytes().to_vec(), SectionKind::Metadata);
        obj.append_section_data(id, &data, 8);
    }
    // Constant section names and NUL-free symbol names: nothing can fail.
    obj.write()
        .expect("ELF serialisation of an in-memory object")
}

/// Intel-syntax listing, one line per instruction: offset relative to `ip`
/// (the piece's start), bytes, instruction; targets named by function.
fn disassemble(code: &[u8], ip: u64, starts: &BTreeMap<u64, String>) -> Vec<String> {
    let mut decoder = Decoder::with_ip(64, code, ip, DecoderOptions::NONE);
    let mut fmt = IntelFormatter::with_options(
        Some(Box::new(crate::disasm::Symbols {
            starts: starts.clone(),
        })),
        None,
    );
    let mut out = vec![];
    while decoder.can_decode() {
        let insn = decoder.decode();
        let mut text = String::new();
        if insn.is_invalid() {
            text.push_str("(bad)");
        } else {
            fmt.format(&insn, &mut text);
        }
        let start = (insn.ip() - ip) as usize;
        let bytes = &code[start..start + insn.len()];
        out.push(format!(
            "{:>4x}: {:<24} {text}",
            insn.ip() - ip,
            to_hex(bytes)
        ));
    }
    out
}

pub fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Hex digits, whitespace ignored (so long code can be split for reading).
pub fn from_hex(s: &str) -> Result<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        bail!("odd number of hex digits ({})", digits.len());
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            let d = |c: u8| (c as char).to_digit(16);
            match (d(pair[0]), d(pair[1])) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err(anyhow!(
                    "not a hex digit pair at byte {i}: {:?}",
                    String::from_utf8_lossy(pair)
                )),
            }
        })
        .collect()
}
