//! Trap codes. A trap site in the artifact is an instruction (`ud2`) at a known
//! offset with one of these codes; the runtime maps a fault there to the code.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u32)]
pub enum TrapCode {
    /// The prologue's stack-limit check failed.
    StackOverflow = 1,
    /// A heap access outside the memory's current size (guard fault or explicit check).
    HeapOutOfBounds = 2,
    IntegerDivisionByZero = 3,
    IntegerOverflow = 4,
    BadConversionToInteger = 5,
    Unreachable = 6,
    /// call_indirect / table access: index past the table's length.
    TableOutOfBounds = 7,
    /// call_indirect: the element is null.
    IndirectCallToNull = 8,
    /// call_indirect: the element's signature differs from the expected one.
    BadSignature = 9,
    /// A host function reported a trap.
    HostTrap = 10,
    /// A table access (element segment initialisation, table.get/set/copy)
    /// past the table's length.
    TableAccessOutOfBounds = 11,
    /// An atomic access whose effective address is not a multiple of its width.
    UnalignedAtomic = 12,
    /// `memory.atomic.wait` on a memory that is not shared (all of pccc's).
    AtomicWaitNonShared = 13,
    /// `throw_ref` of a null exception reference.
    NullExnRef = 14,
    /// An exception no frame of this entry caught: not a trap of the code
    /// but how the unwinder leaves an entry (the exception travels on).
    UncaughtException = 15,
}

impl TrapCode {
    pub const ALL: [TrapCode; 15] = [
        TrapCode::StackOverflow,
        TrapCode::HeapOutOfBounds,
        TrapCode::IntegerDivisionByZero,
        TrapCode::IntegerOverflow,
        TrapCode::BadConversionToInteger,
        TrapCode::Unreachable,
        TrapCode::TableOutOfBounds,
        TrapCode::IndirectCallToNull,
        TrapCode::BadSignature,
        TrapCode::HostTrap,
        TrapCode::TableAccessOutOfBounds,
        TrapCode::UnalignedAtomic,
        TrapCode::AtomicWaitNonShared,
        TrapCode::NullExnRef,
        TrapCode::UncaughtException,
    ];

    pub fn from_u32(v: u32) -> Option<TrapCode> {
        Self::ALL.iter().copied().find(|c| *c as u32 == v)
    }

    /// The wording the WebAssembly spec tests expect (a prefix match suffices there).
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::HeapOutOfBounds => "out of bounds memory access",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::Unreachable => "unreachable",
            TrapCode::TableOutOfBounds => "undefined element",
            TrapCode::IndirectCallToNull => "uninitialized element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::HostTrap => "host function trapped",
            TrapCode::TableAccessOutOfBounds => "out of bounds table access",
            TrapCode::UnalignedAtomic => "unaligned atomic",
            TrapCode::AtomicWaitNonShared => "atomic wait on non-shared memory",
            TrapCode::NullExnRef => "null exception reference",
            TrapCode::UncaughtException => "uncaught exception",
        }
    }
}

impl std::fmt::Display for TrapCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}
