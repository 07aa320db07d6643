//! Sandbox configuration: how the heap is protected. The artifact records the
//! configuration it was compiled for; the runtime must honour it and the
//! validator proves against it.

use serde::{Deserialize, Serialize};

pub const WASM_PAGE: u64 = 65536;
pub const GIB: u64 = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeapStrategy {
    /// A `reservation`-byte virtual reservation followed by `guard` bytes, all
    /// inaccessible except the pages the memory currently has. A 32-bit index
    /// plus a static offset below `guard` can never leave reservation + guard,
    /// so such accesses need no run-time check.
    Static { reservation: u64, guard: u64 },
    /// Explicit compare against the memory's current byte size (read from
    /// vmctx) before each access; the reservation is small.
    BoundsChecked { reservation: u64, guard: u64 },
}

impl HeapStrategy {
    /// 4 GiB reservation + 2 GiB guard.
    pub const DEFAULT_STATIC: HeapStrategy = HeapStrategy::Static {
        reservation: 4 * GIB,
        guard: 2 * GIB,
    };

    /// 256 MiB (4096 pages), no guard: every access is checked, so nothing
    /// needs a guard region, and the runtime never grows past the reservation.
    pub const DEFAULT_BOUNDS_CHECKED: HeapStrategy = HeapStrategy::BoundsChecked {
        reservation: 256 << 20,
        guard: 0,
    };

    pub fn reservation(&self) -> u64 {
        match *self {
            HeapStrategy::Static { reservation, .. }
            | HeapStrategy::BoundsChecked { reservation, .. } => reservation,
        }
    }

    pub fn guard(&self) -> u64 {
        match *self {
            HeapStrategy::Static { guard, .. } | HeapStrategy::BoundsChecked { guard, .. } => guard,
        }
    }

    /// Bytes past the heap base that the runtime keeps mapped (accessible or
    /// not) for this instance: anything in here faults safely or is the heap.
    pub fn sandbox_bytes(&self) -> u64 {
        self.reservation().saturating_add(self.guard())
    }

    pub fn name(&self) -> &'static str {
        match self {
            HeapStrategy::Static { .. } => "static",
            HeapStrategy::BoundsChecked { .. } => "bounds-checked",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxConfig {
    pub heap: HeapStrategy,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            heap: HeapStrategy::DEFAULT_STATIC,
        }
    }
}
