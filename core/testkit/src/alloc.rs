//! A counting global allocator, the one the fuzz targets and the corpus replay install:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: wspc_testkit::alloc::Counting = wspc_testkit::alloc::Counting;
//! ```
//!
//! It forwards to [`System`] and keeps, per thread, the live total of the bytes it handed out, so
//! the harnesses can check the engine's memory bound ([`live`]). A binary that does not install it
//! gets `None` from [`live`], and the bound is not checked.
#![allow(unsafe_code)] // a global allocator is `unsafe impl GlobalAlloc`

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// The counting allocator: [`System`] plus a per-thread live-bytes counter.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counting;

std::thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The highest `LIVE` since [`measure`] last reset it.
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Set on the first allocation through [`Counting`]: the binary installed it.
static INSTALLED: AtomicBool = AtomicBool::new(false);

fn count(n: isize) {
    INSTALLED.store(true, Ordering::Relaxed);
    // A const-initialised thread-local without a destructor: no allocation, never torn down.
    let _ = LIVE.try_with(|c| {
        let now = c.get() + n;
        c.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

/// Runs `f` on this thread and returns its result, the bytes it left allocated, and the peak of
/// the bytes allocated above the start while it ran (both 0 if [`Counting`] is not installed).
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, isize, isize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let r = f();
    let live = LIVE.with(Cell::get) - start;
    let peak = PEAK.with(Cell::get) - start;
    (r, live, peak)
}

/// The bytes currently allocated by this thread through [`Counting`] (`None` if the binary did not
/// install it as its global allocator).
pub fn live() -> Option<isize> {
    INSTALLED
        .load(Ordering::Relaxed)
        .then(|| LIVE.with(Cell::get))
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees hold; the counting touches only a thread-local integer and an atomic flag.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is (the caller upholds `alloc`'s contract).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is (`ptr` came from this allocator, that is from `System`).
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}
