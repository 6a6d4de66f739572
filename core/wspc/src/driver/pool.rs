//! Buffers kept per thread for reuse by the connections driven on it: the read stages
//! (`conn::stages`) and the message buffers (`message::buffers`). Each kind has a pool of its
//! own; both keep the last buffers given back, at most [`KEPT`], so a buffer taken is the one
//! most recently used, still in the CPU's caches. A buffer taken on one thread may be given
//! back on another.

use std::cell::RefCell;
use std::thread::LocalKey;

/// At most this many buffers wait in a pool; more are freed.
pub(crate) const KEPT: usize = 4;

/// The buffers of one kind kept by a thread (declared with `thread_local!`).
#[derive(Debug, Default)]
pub(crate) struct Pool(RefCell<Vec<Vec<u8>>>);

impl Pool {
    pub(crate) const fn new() -> Self {
        Self(RefCell::new(Vec::new()))
    }

    /// The buffer given back last to this thread's `pool`, if `fits` accepts it.
    pub(crate) fn take(
        pool: &'static LocalKey<Self>,
        fits: impl FnOnce(&Vec<u8>) -> bool,
    ) -> Option<Vec<u8>> {
        pool.try_with(|p| {
            let mut kept = p.0.borrow_mut();
            kept.last().is_some_and(fits).then(|| kept.pop()).flatten()
        })
        .ok()
        .flatten()
    }

    /// Keep `buffer` in this thread's `pool` if there is room.
    pub(crate) fn give_back(pool: &'static LocalKey<Self>, buffer: Vec<u8>) {
        // During thread teardown the pool may be gone: the buffer is then simply freed.
        let _ = pool.try_with(|p| {
            let mut kept = p.0.borrow_mut();
            if kept.len() < KEPT {
                kept.push(buffer);
            }
        });
    }

    /// How many buffers this thread's `pool` keeps now.
    #[cfg(test)]
    pub(crate) fn kept(pool: &'static LocalKey<Self>) -> usize {
        pool.with(|p| p.0.borrow().len())
    }
}
