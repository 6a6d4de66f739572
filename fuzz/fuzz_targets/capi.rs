#![no_main]

libfuzzer_sys::fuzz_target!(init: wspc_fuzz::init(), |data: &[u8]| wspc::fuzzing::capi(data));
