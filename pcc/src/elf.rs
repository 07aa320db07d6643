//! Reading an artifact's ELF container. The writer lives in the backend; the
//! reader is here so that the validator and the runtime, which may not depend
//! on the backend, read artifacts the same way.

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

use crate::artifact::{
    decode_facts, ArtifactError, FunctionFacts, Metadata, FACTS_SECTION, META_SECTION, TEXT_SECTION,
};

/// A function symbol from the ELF symbol table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncSymbol {
    pub name: String,
    /// Offset in `.text` and size in bytes.
    pub offset: u64,
    pub size: u64,
}

/// An artifact's parts, decoded but not checked against one another.
#[derive(Clone, Debug)]
pub struct ArtifactFile {
    pub text: Vec<u8>,
    pub meta: Metadata,
    pub facts: Vec<FunctionFacts>,
    /// Function symbols sorted by offset.
    pub symbols: Vec<FuncSymbol>,
}

impl ArtifactFile {
    /// Every part, facts included (what the validator needs).
    pub fn parse(bytes: &[u8]) -> Result<ArtifactFile, ArtifactError> {
        Self::parse_parts(bytes, true)
    }

    /// The code, metadata and symbols; `.pcc.facts` is not read (`facts`
    /// is empty): running needs none of it, and it can be large.
    pub fn parse_code(bytes: &[u8]) -> Result<ArtifactFile, ArtifactError> {
        Self::parse_parts(bytes, false)
    }

    fn parse_parts(bytes: &[u8], with_facts: bool) -> Result<ArtifactFile, ArtifactError> {
        let file = object::File::parse(bytes)
            .map_err(|e| ArtifactError::Invalid(format!("not an ELF object: {e}")))?;
        if file.architecture() != object::Architecture::X86_64 {
            return Err(ArtifactError::Invalid(format!(
                "ELF object is for {:?}, not x86-64",
                file.architecture()
            )));
        }
        let section = |name: &'static str| -> Result<Vec<u8>, ArtifactError> {
            let s = file.section_by_name(name).ok_or_else(|| {
                ArtifactError::Invalid(format!("no {name} section: not a pccc artifact"))
            })?;
            s.data().map(|d| d.to_vec()).map_err(|e| {
                ArtifactError::Invalid(format!("{name}: unreadable section data: {e}"))
            })
        };
        let text = section(TEXT_SECTION)?;
        let meta = Metadata::decode(&section(META_SECTION)?)?;
        let facts = if with_facts {
            decode_facts(&section(FACTS_SECTION)?)?
        } else {
            vec![]
        };
        let text_index = file.section_by_name(TEXT_SECTION).map(|s| s.index());
        let mut symbols: Vec<FuncSymbol> = file
            .symbols()
            .filter(|s| s.kind() == SymbolKind::Text && s.section_index() == text_index)
            .map(|s| FuncSymbol {
                name: s.name().unwrap_or("?").to_string(),
                offset: s.address(),
                size: s.size(),
            })
            .collect();
        symbols.sort_by_key(|s| s.offset);
        Ok(ArtifactFile {
            text,
            meta,
            facts,
            symbols,
        })
    }
}
