//! Linear memory: one reservation of `reservation + guard` bytes, mapped
//! inaccessible, of which only the pages the memory has are opened. Every
//! out-of-bounds access a compiled function can make lands in the rest of
//! the reservation and faults. The memory grows up to the reservation and
//! never into the guard: the validator's proofs assume a memory no larger
//! than the reservation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use pcc::sandbox::WASM_PAGE;

use crate::RuntimeError;

pub struct Memory {
    pub base: *mut u8,
    reserved: usize,
    pub max_pages: u64,
    /// The current size, readable without the lock (every bulk operation
    /// and host access checks against it). Only `grow`, holding `state`,
    /// writes it, after the pages are accessible; a memory never shrinks,
    /// so a reader that sees the old size is merely conservative.
    pages: AtomicU64,
    state: Mutex<MemState>,
}

struct MemState {
    /// vmctx `heap_bytes` fields of every instance using this memory.
    users: Vec<usize>,
}

unsafe impl Send for Memory {}
unsafe impl Sync for Memory {}

/// Wasm32 memories never exceed 4 GiB.
const MAX_PAGES: u64 = 65536;

impl Memory {
    /// A memory of `min` pages that may grow to `max` and to no more than
    /// `reservation` bytes, followed by `guard` inaccessible bytes.
    pub fn new(
        min: u64,
        max: Option<u64>,
        reservation: u64,
        guard: u64,
    ) -> Result<Memory, RuntimeError> {
        let max_pages = max
            .unwrap_or(MAX_PAGES)
            .min(MAX_PAGES)
            .min(reservation / WASM_PAGE);
        if min > max_pages {
            return Err(RuntimeError::Resource(format!(
                "memory of {min} pages does not fit the {reservation:#x}-byte reservation"
            )));
        }
        let reserve = reservation
            .checked_add(guard)
            .filter(|&r| r <= pcc::meta_check::MAX_SANDBOX_BYTES)
            .ok_or_else(|| {
                RuntimeError::Resource(format!(
                    "reservation {reservation:#x} + guard {guard:#x} is too large"
                ))
            })?;
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserve as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(RuntimeError::Resource(format!(
                "cannot reserve {reserve:#x} bytes for linear memory"
            )));
        }
        let m = Memory {
            base: base as *mut u8,
            reserved: reserve as usize,
            max_pages,
            pages: AtomicU64::new(0),
            state: Mutex::new(MemState { users: vec![] }),
        };
        crate::signals::HEAPS
            .write()
            .expect("heap registry")
            .push((m.base as usize, m.base as usize + m.reserved));
        if m.grow(min).is_none() {
            return Err(RuntimeError::Resource(
                "cannot commit the initial memory".into(),
            ));
        }
        Ok(m)
    }

    /// Bytes mapped (accessible or not) from `base`.
    pub fn reserved_bytes(&self) -> u64 {
        self.reserved as u64
    }

    pub fn pages(&self) -> u64 {
        self.pages.load(Ordering::Acquire)
    }

    pub fn bytes(&self) -> u64 {
        self.pages() * WASM_PAGE
    }

    /// Track an instance's `heap_bytes` field so growth updates it.
    pub(crate) fn add_user(&self, heap_bytes_field: *mut u64) {
        let mut s = self.state.lock().expect("memory lock");
        unsafe { *heap_bytes_field = self.pages() * WASM_PAGE };
        s.users.push(heap_bytes_field as usize);
    }

    pub(crate) fn remove_user(&self, heap_bytes_field: *mut u64) {
        self.state
            .lock()
            .expect("memory lock")
            .users
            .retain(|&u| u != heap_bytes_field as usize);
    }

    /// Grow by `delta` pages; the old size in pages, or None.
    pub fn grow(&self, delta: u64) -> Option<u64> {
        let s = self.state.lock().expect("memory lock");
        let old = self.pages();
        let new = old.checked_add(delta)?;
        if new > self.max_pages {
            return None;
        }
        if delta > 0 {
            let r = unsafe {
                libc::mprotect(
                    self.base.add((old * WASM_PAGE) as usize) as *mut libc::c_void,
                    (delta * WASM_PAGE) as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if r != 0 {
                return None;
            }
        }
        self.pages.store(new, Ordering::Release);
        for &u in &s.users {
            unsafe { *(u as *mut u64) = new * WASM_PAGE };
        }
        Some(old)
    }

    /// Whether `[offset, offset + len)` lies inside `bytes`.
    fn fits(offset: u64, len: u64, bytes: u64) -> bool {
        offset.checked_add(len).is_some_and(|e| e <= bytes)
    }

    /// memory.copy: bounds-checked, overlapping ranges allowed.
    pub fn copy_within(&self, dst: u64, src: u64, len: u64) -> bool {
        let bytes = self.bytes();
        if !Self::fits(dst, len, bytes) || !Self::fits(src, len, bytes) {
            return false;
        }
        unsafe {
            std::ptr::copy(
                self.base.add(src as usize),
                self.base.add(dst as usize),
                len as usize,
            )
        };
        true
    }

    /// memory.fill: bounds-checked.
    pub fn fill(&self, dst: u64, byte: u8, len: u64) -> bool {
        if !Self::fits(dst, len, self.bytes()) {
            return false;
        }
        unsafe { std::ptr::write_bytes(self.base.add(dst as usize), byte, len as usize) };
        true
    }

    /// Bounds-checked copy out of memory (host functions).
    pub fn read(&self, offset: u64, len: u64) -> Option<Vec<u8>> {
        if !Self::fits(offset, len, self.bytes()) {
            return None;
        }
        let mut v = vec![0u8; len as usize];
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.base.add(offset as usize),
                v.as_mut_ptr(),
                len as usize,
            )
        };
        Some(v)
    }

    /// Bounds-checked copy into memory (data segments).
    pub fn write(&self, offset: u64, bytes: &[u8]) -> bool {
        if !Self::fits(offset, bytes.len() as u64, self.bytes()) {
            return false;
        }
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.base.add(offset as usize),
                bytes.len(),
            )
        };
        true
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        let (s, e) = (self.base as usize, self.base as usize + self.reserved);
        if let Ok(mut h) = crate::signals::HEAPS.write() {
            h.retain(|&r| r != (s, e));
        }
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.reserved) };
    }
}
