//! Function type identity (WebAssembly 3.0's iso-recursive equality) and
//! the process-wide signature ids `call_indirect` compares.
//!
//! A type is its recursion group and its place in it. Groups are interned:
//! structurally equal groups are one `Arc`, so an identity compares and
//! hashes by pointer and place, and a module's types cost one interning per
//! group (a group of K types is stored once, not K times).

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex};

use pcc::{Metadata, WasmFuncType};

/// Equal identities have equal groups, so equal signatures: a call through a
/// matching identity passes the arguments the callee was compiled for.
#[derive(Clone)]
pub struct TypeIdentity {
    /// Interned (`intern`): equal groups are the same allocation.
    group: Arc<[WasmFuncType]>,
    place: u32,
}

impl PartialEq for TypeIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.place == other.place && Arc::ptr_eq(&self.group, &other.group)
    }
}

impl Eq for TypeIdentity {}

impl Hash for TypeIdentity {
    fn hash<H: Hasher>(&self, h: &mut H) {
        (Arc::as_ptr(&self.group) as *const () as usize).hash(h);
        self.place.hash(h);
    }
}

impl std::fmt::Debug for TypeIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.len() == 1 {
            write!(f, "{:?}", self.func())
        } else {
            let (place, len) = (self.place, self.group.len());
            write!(
                f,
                "{:?} (type {place} of a recursion group of {len})",
                self.func()
            )
        }
    }
}

/// Every recursion group this process has seen, once.
static GROUPS: LazyLock<Mutex<HashSet<Arc<[WasmFuncType]>>>> = LazyLock::new(Default::default);

fn intern(group: &[WasmFuncType]) -> Arc<[WasmFuncType]> {
    // Nothing panics while holding it; a poisoned set is still consistent.
    let mut set = GROUPS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(g) = set.get(group) {
        return g.clone();
    }
    let g: Arc<[WasmFuncType]> = group.into();
    set.insert(g.clone());
    g
}

impl TypeIdentity {
    /// A type alone in its group: a host function's, or any type outside
    /// an explicit group of several.
    pub fn alone(ty: WasmFuncType) -> TypeIdentity {
        TypeIdentity {
            group: intern(std::slice::from_ref(&ty)),
            place: 0,
        }
    }

    /// Every type of `meta`, which `pcc::check_metadata` accepted (its
    /// groups are in order, apart and inside `types`), in one pass.
    pub(crate) fn all(meta: &Metadata) -> Vec<TypeIdentity> {
        let mut out = Vec::with_capacity(meta.types.len());
        let mut groups = meta.rec_groups.iter().peekable();
        while out.len() < meta.types.len() {
            let first = out.len();
            let len = match groups.peek() {
                Some(g) if g.first as usize == first => {
                    let len = g.len as usize;
                    groups.next();
                    len
                }
                _ => 1,
            };
            let group = intern(&meta.types[first..first + len]);
            out.extend((0..len as u32).map(|place| TypeIdentity {
                group: group.clone(),
                place,
            }));
        }
        out
    }

    pub fn func(&self) -> &WasmFuncType {
        &self.group[self.place as usize]
    }
}

/// Process-wide signature ids, from 1: equal identities get equal ids.
static SIGS: LazyLock<Mutex<HashMap<TypeIdentity, u64>>> = LazyLock::new(Default::default);

pub(crate) fn sig_id(ty: &TypeIdentity) -> u64 {
    let mut s = SIGS.lock().unwrap_or_else(|p| p.into_inner());
    let next = s.len() as u64 + 1;
    *s.entry(ty.clone()).or_insert(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcc::{RecGroup, ValType};

    fn ty(params: Vec<ValType>) -> WasmFuncType {
        WasmFuncType {
            params,
            results: vec![],
        }
    }

    fn meta(types: Vec<WasmFuncType>, rec_groups: Vec<RecGroup>) -> Metadata {
        Metadata {
            types,
            rec_groups,
            ..Default::default()
        }
    }

    #[test]
    fn identity_is_group_and_place() {
        let (a, b) = (ty(vec![]), ty(vec![ValType::I32]));
        let group = |first| RecGroup { first, len: 2 };
        // [a], [a a], [a a], [b]: the two groups are equal, places differ.
        let m = meta(
            vec![a.clone(), a.clone(), a.clone(), a.clone(), a.clone(), b],
            vec![group(1), group(3)],
        );
        let ids = TypeIdentity::all(&m);
        assert_eq!(ids.len(), 6);
        assert_eq!(ids[0], TypeIdentity::alone(a.clone()));
        assert_ne!(ids[1], ids[0], "a group of two is not the lone type");
        assert_ne!(ids[1], ids[2], "places differ");
        assert_eq!(ids[1], ids[3], "equal groups, same place");
        assert_eq!(ids[2], ids[4]);
        assert_eq!(ids[5], TypeIdentity::alone(ty(vec![ValType::I32])));
        assert_eq!(sig_id(&ids[1]), sig_id(&ids[3]));
        assert_ne!(sig_id(&ids[1]), sig_id(&ids[2]));
        assert_ne!(sig_id(&ids[0]), sig_id(&ids[1]));
    }

    /// A group of K types is stored once (its members share it), not K
    /// times: loading is linear in the types, not quadratic.
    #[test]
    fn a_group_is_stored_once() {
        let k = 100_000;
        let m = meta(
            vec![ty(vec![ValType::F64]); k],
            vec![RecGroup {
                first: 0,
                len: k as u32,
            }],
        );
        let ids = TypeIdentity::all(&m);
        assert!(ids.iter().all(|i| Arc::ptr_eq(&i.group, &ids[0].group)));
        assert_eq!(ids[k - 1].place, k as u32 - 1);
    }
}
