#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| scopecheck_fuzz::plugin_abi(data));
