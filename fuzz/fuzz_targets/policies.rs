#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| scopecheck_fuzz::policies(data));
