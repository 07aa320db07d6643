//! The artifact: an ELF64 relocatable object whose `.text` holds every
//! defined function (one symbol each), `.pcc.meta` the module's metadata and
//! `.pcc.facts` the backend's claims. Both custom sections start with a magic
//! and the format version so a stale or tampered artifact is refused with a
//! clear error rather than misread.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use std::collections::HashMap;

use crate::fact::{Fact, FactEntry, Loc, Point};
use crate::sandbox::SandboxConfig;
use crate::trap::TrapCode;

pub const TEXT_SECTION: &str = ".text";
pub const META_SECTION: &str = ".pcc.meta";
pub const FACTS_SECTION: &str = ".pcc.facts";

pub const META_MAGIC: [u8; 8] = *b"PCCCMETA";
pub const FACTS_MAGIC: [u8; 8] = *b"PCCCFACT";
/// Bump on any change to the encoding or the meaning of a field.
pub const FORMAT_VERSION: u32 = 6;

#[derive(Debug, Error)]
pub enum ArtifactError {
    #[error("{section}: too short to hold a header ({len} bytes)")]
    Truncated { section: &'static str, len: usize },
    #[error("{section}: bad magic (not a pccc artifact, or corrupted)")]
    BadMagic { section: &'static str },
    #[error("{section}: format version {found}, this pccc reads version {expected}; recompile the module")]
    Version {
        section: &'static str,
        found: u32,
        expected: u32,
    },
    #[error("{section}: corrupted payload")]
    Payload {
        section: &'static str,
        source: postcard::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
    /// A reference to a caught exception: a handle the runtime resolves
    /// (0 = null), never a pointer compiled code can follow.
    ExnRef,
}

impl ValType {
    pub fn is_float(self) -> bool {
        matches!(self, ValType::F32 | ValType::F64)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WasmFuncType {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

/// A constant expression (global initialisers, segment offsets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConstExpr {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    GlobalGet(u32),
    RefNull,
    RefFunc(u32),
    V128(u128),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportKind {
    Func {
        type_index: u32,
    },
    Global {
        ty: ValType,
        mutable: bool,
    },
    Memory {
        min_pages: u64,
        max_pages: Option<u64>,
    },
    Table {
        elem: ValType,
        min: u64,
        max: Option<u64>,
    },
    /// An exception tag of a function type with no results.
    Tag {
        type_index: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub kind: ImportKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportKind {
    Func,
    Global,
    Memory,
    Table,
    Tag,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    pub name: String,
    pub kind: ExportKind,
    /// Index in the kind's index space (imports first).
    pub index: u32,
}

/// A global *defined* by the module (imported ones are in `imports`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalMeta {
    pub ty: ValType,
    pub mutable: bool,
    pub init: ConstExpr,
}

/// A table *defined* by the module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableMeta {
    pub elem: ValType,
    pub min: u64,
    pub max: Option<u64>,
}

/// The module's memory (defined or imported; at most one in Wasm 1.0/2.0).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryMeta {
    pub min_pages: u64,
    pub max_pages: Option<u64>,
    pub imported: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SegmentMode {
    Active { index: u32, offset: ConstExpr },
    Passive,
    Declared,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElemSegment {
    pub mode: SegmentMode,
    pub elem: ValType,
    pub items: Vec<ElemItem>,
}

/// One item of an element segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ElemItem {
    Null,
    /// ref.func: a function index.
    Func(u32),
    /// global.get of an imported reference global.
    Global(u32),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSegment {
    pub mode: SegmentMode,
    pub bytes: Vec<u8>,
}

/// A function defined by the module, in function-index order after the imports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuncMeta {
    /// Symbol name: export name, name-section name, or `func[N]`.
    pub name: String,
    pub type_index: u32,
    /// Start in `.text` and size in bytes.
    pub offset: u32,
    pub size: u32,
}

/// A call whose exception lands in this function: when the callee (or the
/// builtin) throws and no frame below catches, the runtime's unwinder
/// resumes this frame at `landing` with the frame's stack and frame
/// pointers as they are after the call returns, and every other register
/// undefined (`pcc::exn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExnSite {
    /// Defined-function index.
    pub func: u32,
    /// Function-relative offset of the instruction after the call: its
    /// return address.
    pub ret: u32,
    /// Function-relative offset where the exception lands.
    pub landing: u32,
}

/// An explicit recursion group of more than one type: types
/// `[first, first + len)`. WebAssembly 3.0 types are equal when their groups
/// are equal and they sit at the same place in them, so `(rec (type (func))
/// (type (func)))` holds two distinct types, both distinct from a lone
/// `(type (func))`. Types outside every listed group are alone in theirs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecGroup {
    pub first: u32,
    pub len: u32,
}

/// An explicit trap instruction (`ud2`) and why it traps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrapSite {
    /// Defined-function index.
    pub func: u32,
    /// Function-relative offset of the `ud2`.
    pub offset: u32,
    pub code: TrapCode,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub sandbox: SandboxConfig,
    pub types: Vec<WasmFuncType>,
    /// The recursion groups of more than one type, in order (checked: they
    /// do not overlap and lie inside `types`).
    pub rec_groups: Vec<RecGroup>,
    pub imports: Vec<Import>,
    pub funcs: Vec<FuncMeta>,
    pub tables: Vec<TableMeta>,
    pub memory: Option<MemoryMeta>,
    pub globals: Vec<GlobalMeta>,
    pub exports: Vec<Export>,
    pub start: Option<u32>,
    pub elems: Vec<ElemSegment>,
    pub data: Vec<DataSegment>,
    pub trap_sites: Vec<TrapSite>,
    /// For each function import (in import order), the index in `funcs` of
    /// its thunk: a compiled function of the import's type that calls it
    /// through the host-call path, so a table can hold a host function like
    /// any other (`None`: a type thunks don't support yet). Thunks follow
    /// the defined functions in `funcs`.
    pub import_thunks: Vec<Option<u32>>,
    /// The type index of each tag the module *defines* (imported tags are in
    /// `imports`; the tag index space puts them first).
    pub tags: Vec<u32>,
    /// Every call with a handler in its function, sorted by (func, ret).
    pub exn_sites: Vec<ExnSite>,
}

impl Metadata {
    pub fn num_imported_funcs(&self) -> u32 {
        self.imports
            .iter()
            .filter(|i| matches!(i.kind, ImportKind::Func { .. }))
            .count() as u32
    }

    pub fn num_imported_globals(&self) -> u32 {
        self.imports
            .iter()
            .filter(|i| matches!(i.kind, ImportKind::Global { .. }))
            .count() as u32
    }

    pub fn num_imported_tables(&self) -> u32 {
        self.imports
            .iter()
            .filter(|i| matches!(i.kind, ImportKind::Table { .. }))
            .count() as u32
    }

    pub fn num_imported_tags(&self) -> u32 {
        self.imports
            .iter()
            .filter(|i| matches!(i.kind, ImportKind::Tag { .. }))
            .count() as u32
    }

    /// The type of function `f` of the function index space (imports
    /// first), if its indices are in range.
    pub fn func_type(&self, f: u32) -> Option<&WasmFuncType> {
        let imported = self.imports.iter().filter_map(|i| match i.kind {
            ImportKind::Func { type_index } => Some(type_index),
            _ => None,
        });
        let mut types = imported.chain(self.funcs.iter().map(|f| f.type_index));
        self.types.get(types.nth(f as usize)? as usize)
    }

    /// The type index of tag `tag` (imports first), if it exists.
    pub fn tag_type_index(&self, tag: u32) -> Option<u32> {
        let imported = self.imports.iter().filter_map(|i| match i.kind {
            ImportKind::Tag { type_index } => Some(type_index),
            _ => None,
        });
        imported.chain(self.tags.iter().copied()).nth(tag as usize)
    }

    /// The vmctx layout this module's code was compiled against.
    pub fn vmctx_layout(&self) -> crate::vmctx::VmCtxLayout {
        crate::vmctx::VmCtxLayout {
            num_types: self.types.len() as u32,
            num_tables: self.num_imported_tables() + self.tables.len() as u32,
            num_globals: self.num_imported_globals() + self.globals.len() as u32,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        encode_with_header(META_MAGIC, self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Metadata, ArtifactError> {
        decode_with_header(META_SECTION, META_MAGIC, bytes)
    }
}

/// The claims for one defined function, offsets relative to its start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionFacts {
    pub func: u32,
    pub entries: Vec<FactEntry>,
}

/// One function's claims as stored: each distinct claim once (most used
/// first, so their indices are one-byte varints), then each claimed
/// offset with the indices of its claims. Loop headers repeat much the
/// same claims, so this is a fraction of the entries' size.
#[derive(Serialize, Deserialize)]
struct PackedFacts {
    func: u32,
    claims: Vec<(Point, Loc, Fact)>,
    sites: Vec<(u32, Vec<u32>)>,
}

fn pack(ff: &FunctionFacts) -> PackedFacts {
    let mut uses: HashMap<(Point, Loc, Fact), usize> = HashMap::new();
    for e in &ff.entries {
        *uses.entry((e.point, e.loc, e.fact)).or_default() += 1;
    }
    let mut claims: Vec<((Point, Loc, Fact), usize)> = uses.into_iter().collect();
    claims.sort_by(|(a, n), (b, m)| m.cmp(n).then(a.cmp(b)));
    let index: HashMap<(Point, Loc, Fact), u32> = claims
        .iter()
        .enumerate()
        .map(|(i, (c, _))| (*c, i as u32))
        .collect();
    let mut sites: Vec<(u32, Vec<u32>)> = vec![];
    for e in &ff.entries {
        let k = index[&(e.point, e.loc, e.fact)];
        match sites.last_mut() {
            Some((off, ks)) if *off == e.offset => ks.push(k),
            _ => sites.push((e.offset, vec![k])),
        }
    }
    PackedFacts {
        func: ff.func,
        claims: claims.into_iter().map(|(c, _)| c).collect(),
        sites,
    }
}

fn unpack(p: PackedFacts) -> Result<FunctionFacts, ArtifactError> {
    let mut entries = vec![];
    for (offset, ks) in p.sites {
        for k in ks {
            let &(point, loc, fact) = p.claims.get(k as usize).ok_or_else(|| {
                ArtifactError::Invalid(format!(
                    "{FACTS_SECTION}: function {} names claim {k} of {}",
                    p.func,
                    p.claims.len()
                ))
            })?;
            entries.push(FactEntry {
                offset,
                point,
                loc,
                fact,
            });
        }
    }
    Ok(FunctionFacts {
        func: p.func,
        entries,
    })
}

/// Encode the `.pcc.facts` section.
pub fn encode_facts(facts: &[FunctionFacts]) -> Vec<u8> {
    let packed: Vec<PackedFacts> = facts.iter().map(pack).collect();
    encode_with_header(FACTS_MAGIC, &packed)
}

/// Decode the `.pcc.facts` section.
pub fn decode_facts(bytes: &[u8]) -> Result<Vec<FunctionFacts>, ArtifactError> {
    let packed: Vec<PackedFacts> = decode_with_header(FACTS_SECTION, FACTS_MAGIC, bytes)?;
    packed.into_iter().map(unpack).collect()
}

fn encode_with_header<T: Serialize>(magic: [u8; 8], value: &T) -> Vec<u8> {
    let mut out = magic.to_vec();
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    // Serialising plain data structures into a Vec cannot fail.
    out.extend(postcard::to_allocvec(value).expect("postcard serialisation of plain data"));
    out
}

fn decode_with_header<T: for<'de> Deserialize<'de>>(
    section: &'static str,
    magic: [u8; 8],
    bytes: &[u8],
) -> Result<T, ArtifactError> {
    if bytes.len() < 12 {
        return Err(ArtifactError::Truncated {
            section,
            len: bytes.len(),
        });
    }
    if bytes[..8] != magic {
        return Err(ArtifactError::BadMagic { section });
    }
    let found = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if found != FORMAT_VERSION {
        return Err(ArtifactError::Version {
            section,
            found,
            expected: FORMAT_VERSION,
        });
    }
    postcard::from_bytes(&bytes[12..]).map_err(|source| ArtifactError::Payload { section, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fact::{Fact, Loc, Point};
    use crate::reg::Gpr;

    fn sample() -> Metadata {
        Metadata {
            sandbox: SandboxConfig::default(),
            types: vec![WasmFuncType {
                params: vec![ValType::I32],
                results: vec![ValType::I64],
            }],
            rec_groups: vec![],
            imports: vec![],
            funcs: vec![FuncMeta {
                name: "f".into(),
                type_index: 0,
                offset: 0,
                size: 16,
            }],
            tables: vec![],
            memory: Some(MemoryMeta {
                min_pages: 1,
                max_pages: None,
                imported: false,
            }),
            globals: vec![],
            exports: vec![],
            start: None,
            elems: vec![],
            data: vec![],
            trap_sites: vec![TrapSite {
                func: 0,
                offset: 12,
                code: TrapCode::Unreachable,
            }],
            import_thunks: vec![],
            tags: vec![],
            exn_sites: vec![],
        }
    }

    #[test]
    fn metadata_round_trips() {
        let m = sample();
        assert_eq!(Metadata::decode(&m.encode()).unwrap(), m);
    }

    #[test]
    fn facts_round_trip() {
        let f = vec![FunctionFacts {
            func: 0,
            entries: vec![FactEntry {
                offset: 3,
                point: Point::After,
                loc: Loc::Gpr(Gpr::RAX),
                fact: Fact::ZEXT32,
            }],
        }];
        assert_eq!(decode_facts(&encode_facts(&f)).unwrap(), f);
    }

    #[test]
    fn tampering_is_an_error_not_a_panic() {
        let bytes = sample().encode();
        assert!(matches!(
            Metadata::decode(&bytes[..5]),
            Err(ArtifactError::Truncated { .. })
        ));
        let mut bad = bytes.clone();
        bad[0] ^= 0xff;
        assert!(matches!(
            Metadata::decode(&bad),
            Err(ArtifactError::BadMagic { .. })
        ));
        let mut old = bytes.clone();
        old[8] = 99;
        assert!(matches!(
            Metadata::decode(&old),
            Err(ArtifactError::Version { .. })
        ));
        // Every truncation of the payload must be refused cleanly.
        for len in 12..bytes.len() {
            assert!(Metadata::decode(&bytes[..len]).is_err(), "length {len}");
        }
    }
}
