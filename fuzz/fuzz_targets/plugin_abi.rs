#![no_main]
libfuzzer_sys::fuzz_target!(
    // The wasm module is compiled (and cached) on first use, which can take longer than the
    // per-input timeout on a loaded machine: do it before fuzzing, not inside the first input.
    init: scopecheck_fuzz::plugin_abi(b"{}"),
    |data: &[u8]| scopecheck_fuzz::plugin_abi(data)
);
