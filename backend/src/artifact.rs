//! The ELF writer: `.text` with one function symbol each, `.pcc.meta`,
//! `.pcc.facts`. The reader is `pcc::ArtifactFile`, shared by the checkers.

use object::write::{Object, StandardSection, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};
use pcc::artifact::{encode_facts, FACTS_SECTION, META_SECTION};

use crate::Artifact;

impl Artifact {
    pub fn to_elf(&self) -> Vec<u8> {
        let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
        let text = obj.section_id(StandardSection::Text);
        obj.append_section_data(text, &self.text, 16);
        for f in &self.meta.funcs {
            obj.add_symbol(Symbol {
                name: symbol_name(&f.name),
                value: f.offset as u64,
                size: f.size as u64,
                kind: SymbolKind::Text,
                scope: SymbolScope::Linkage,
                weak: false,
                section: SymbolSection::Section(text),
                flags: SymbolFlags::None,
            });
        }
        for (name, data) in [
            (META_SECTION, self.meta.encode()),
            (FACTS_SECTION, encode_facts(&self.facts)),
        ] {
            let id = obj.add_section(vec![], name.as_bytes().to_vec(), SectionKind::Metadata);
            obj.append_section_data(id, &data, 8);
        }
        // Section names are constants and symbol names NUL-free, which are
        // the only ways writing an in-memory ELF object can fail.
        obj.write()
            .expect("ELF serialisation of an in-memory object")
    }
}

/// Wasm names may contain any character; ELF string tables cannot hold NUL.
fn symbol_name(name: &str) -> Vec<u8> {
    name.replace('\0', "\\0").into_bytes()
}
