//! Shared by the fuzz targets: each installs the test kit's counting allocator (so the session and
//! C ABI harnesses check their memory bounds while fuzzing) and calls one harness of
//! `wspc_testkit::fuzzing`.

pub use libfuzzer_sys;
pub use wspc_testkit;

/// A fuzz target calling the harness `wspc_testkit::fuzzing::$harness`, with the counting
/// allocator installed.
#[macro_export]
macro_rules! target {
    ($harness:ident) => {
        #[global_allocator]
        static ALLOC: $crate::wspc_testkit::alloc::Counting = $crate::wspc_testkit::alloc::Counting;

        $crate::libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            $crate::wspc_testkit::fuzzing::$harness(data)
        });
    };
}
