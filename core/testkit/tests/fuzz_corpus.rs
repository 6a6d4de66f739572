//! The fuzz corpus as a regression suite on stable: every committed seed in
//! `fuzz/corpus/<target>/` and every past crash in `fuzz/regressions/<target>/` goes through the
//! same harness function the fuzz target calls (`wspc_testkit::fuzzing`), with the same invariants.
//!
//! The seeds themselves are recorded from real traffic by `wspc_testkit::fuzzing::seeds`; to rewrite
//! them: `cargo test -p wspc-testkit --test fuzz_corpus -- --ignored record_seeds`.
use std::path::{Path, PathBuf};
use wspc_testkit::fuzzing;

#[global_allocator]
static ALLOC: wspc_testkit::alloc::Counting = wspc_testkit::alloc::Counting;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
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
    capi,
    http_head,
    driver,
    deflate
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
