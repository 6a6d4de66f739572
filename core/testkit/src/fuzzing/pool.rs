//! Byte buffers reused from one input to the next, so that a harness does not pay for a fresh
//! allocation (and, under AddressSanitizer, fresh pages and shadow poisoning) of up to 128 KiB per
//! input: a [`Pooled`] goes back to this thread's pool when dropped.
//!
//! A pooled buffer is handed out with defined contents (zeros or a fill byte), as a fresh one
//! would be, so every input runs the same way whatever ran before it (libFuzzer needs that to
//! reproduce a finding).

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

/// Buffers kept per thread; more are freed.
const KEEP: usize = 32;
/// Buffers larger than this are freed rather than kept.
const KEEP_BYTES: usize = 1 << 20;

std::thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A `Vec<u8>` that returns to the pool when dropped. It is a [`wspc::Buffer`] (through
/// `AsRef`/`AsMut`) and derefs to `[u8]`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Pooled(Vec<u8>);

impl Pooled {
    /// `len` bytes of `byte`.
    pub(crate) fn filled(len: usize, byte: u8) -> Self {
        let mut v = POOL
            .try_with(|p| p.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_default();
        v.clear();
        v.resize(len, byte);
        Self(v)
    }

    /// A copy of `bytes`.
    pub(crate) fn copy_of(bytes: &[u8]) -> Self {
        let mut b = Self::filled(0, 0);
        b.0.extend_from_slice(bytes);
        b
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        if v.capacity() == 0 || v.capacity() > KEEP_BYTES {
            return;
        }
        let _ = POOL.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < KEEP {
                p.push(v);
            }
        });
    }
}

impl Deref for Pooled {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl AsMut<[u8]> for Pooled {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}
