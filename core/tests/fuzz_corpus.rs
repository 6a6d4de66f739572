//! The fuzz corpus as a regression suite on stable: every committed seed in
//! `fuzz/corpus/<target>/` and every past crash in `fuzz/regressions/<target>/` goes through the
//! same harness function the fuzz target calls (`wspc::fuzzing`), with the same invariants.
//!
//! The seeds themselves are recorded from real traffic by `wspc::fuzzing::seeds`; to rewrite
//! them: `cargo test -p wspc --test fuzz_corpus -- --ignored record_seeds`.
#![allow(unsafe_code)] // the counting allocator below

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use wspc::fuzzing;

/// Counts the live heap bytes of each thread, for the harnesses' memory bound.
struct Counting;

std::thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count(n: isize) {
    // A const-initialised thread-local without a destructor: no allocation, never torn down.
    let _ = LIVE.try_with(|c| c.set(c.get() + n));
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees hold; the counting touches only a thread-local integer.
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

#[global_allocator]
static ALLOC: Counting = Counting;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The committed inputs of `target`: seeds (at least one is required) and past crashes.
fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(dir).join(target)) else {
            assert_ne!(dir, "corpus", "no seeds for {target}");
            continue;
        };
        files.extend(entries.map(|e| e.expect("a directory entry").path()));
    }
    files.sort();
    files
}

fn harness(target: &str) -> fn(&[u8]) {
    fuzzing::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no harness for {target}"))
}

/// Runs every input, reporting all that fail (by path) rather than only the first.
fn replay(target: &str) {
    fuzzing::set_heap_probe(live);
    let run = harness(target);
    let files = inputs(target);
    assert!(!files.is_empty(), "no seeds for {target}");
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).expect("readable input");
            std::panic::catch_unwind(|| run(&data)).is_err()
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(failed.is_empty(), "{target}: failing inputs {failed:#?}");
}

macro_rules! replay_tests {
    ($($target:ident),*) => {$(
        #[test]
        fn $target() {
            replay(stringify!($target));
        }
    )*};
}

replay_tests!(
    frame_header,
    session_server,
    session_client,
    handshake_request,
    handshake_response,
    utf8_stream,
    capi
);

/// Every target of `fuzz/fuzz_targets/` that has a harness here is replayed above.
#[test]
fn every_target_is_replayed() {
    let dir = fuzz_dir().join("fuzz_targets");
    for entry in std::fs::read_dir(dir).expect("fuzz/fuzz_targets") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_stem().and_then(|s| s.to_str()).expect("a name");
        harness(name);
    }
}

/// The seed generator stays in step with the harnesses (whether or not the files were rewritten).
#[test]
fn recorded_seeds_pass() {
    fuzzing::set_heap_probe(live);
    for (target, name, data) in fuzzing::seeds::all() {
        let run = harness(target);
        let ok = std::panic::catch_unwind(|| run(&data)).is_ok();
        assert!(ok, "seed {target}/{name} fails");
    }
}

/// Writes the recorded seeds to `fuzz/corpus/<target>/seed-<name>`.
#[test]
#[ignore = "writes into the source tree; run by hand to refresh the seeds"]
fn record_seeds() {
    for (target, name, data) in fuzzing::seeds::all() {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        std::fs::write(dir.join(format!("seed-{name}")), data).expect("seed written");
    }
}
