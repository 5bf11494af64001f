//! The scopecheck plugin: the library compiled to a core `wasm32-wasip1` module with a small
//! JSON-in / JSON-out ABI (see `wasm/README.md`, "ABI").
//!
//! Exports (all integers are wasm `i32` unless noted):
//!
//! | export | does |
//! |---|---|
//! | `scopecheck_abi_version() -> i32` | the ABI version ([`ABI_VERSION`]) |
//! | `scopecheck_alloc(len) -> ptr` | `len` bytes of guest memory for the host to write into (0 when out of memory) |
//! | `scopecheck_free(ptr, len)` | gives back a buffer from `scopecheck_alloc` or a reply |
//! | `scopecheck_load(ptr, len) -> i64` | loads a bundle; reply `{"ok", "bundle"}` or `{"ok": false, "error"}` |
//! | `scopecheck_configure(ptr, len) -> i64` | sets `{"mode", "act_on", "max_event_bytes"}` (each optional) |
//! | `scopecheck_decide(ptr, len) -> i64` | decides on one event (its JSON text); reply: a decision |
//! | `scopecheck_prepare() -> i32` | optional: compiles now what the loaded bundle would compile on first use (1; 0 without a bundle) |
//! | `memcmp`, `bcmp` | not ABI: the plugin's own C functions ([`mem`]), exported by the linker |
//!
//! An `i64` reply is `(ptr << 32) | len` of a UTF-8 JSON text in guest memory, which the host frees
//! with `scopecheck_free(ptr, len)`. Input buffers stay the host's: the guest only reads them.
//!
//! The module imports nothing it uses: Rust's standard library links a few WASI functions
//! (random seeds for hash maps, stderr for panics), which a host may stub out. The plugin reads no
//! file, clock, environment or network: every time it needs is in the event.

#![allow(unsafe_code)]

use scopecheck::bundle::Bundle;
use scopecheck::decide::{Decider, Decision, ErrorCode};

pub use scopecheck::abi::{ABI_VERSION, LoadedInfo, OptionsReply, Reply};

pub mod alloc;
pub mod mem;

/// Small blocks from size classes, large ones from wasi-libc's `malloc` (see [`alloc`]).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: alloc::SmallAlloc<std::alloc::System> = alloc::SmallAlloc::new(std::alloc::System);

/// The plugin's state: one decider, kept across calls (its caches make repeated shapes cheap).
#[derive(Default)]
pub struct Plugin {
    decider: Option<Decider>,
    loaded: Option<LoadedInfo>,
}

fn error_reply(code: ErrorCode, message: String) -> Reply {
    Reply {
        ok: false,
        abi: ABI_VERSION,
        bundle: None,
        options: None,
        error: Some(scopecheck::decide::DecideError { code, message }),
    }
}

impl Plugin {
    /// Loads a bundle (its file's bytes). On failure the previous bundle is dropped too: a plugin
    /// whose load failed denies everything until a bundle loads.
    pub fn load(&mut self, bytes: &[u8]) -> Reply {
        self.decider = None;
        self.loaded = None;
        let bundle = match Bundle::from_bytes(bytes, "<bundle>") {
            Ok(b) => b,
            Err(e) => return error_reply(ErrorCode::BadBundle, with_help(&e)),
        };
        let decider = match Decider::from_bundle(&bundle) {
            Ok(d) => d,
            Err(e) => return error_reply(ErrorCode::BadBundle, with_help(&e)),
        };
        let info = LoadedInfo {
            digest: bundle.digest.clone(),
            scopecheck_version: bundle.scopecheck_version.clone(),
            program: decider.evaluator().engine().scope.raw.program.clone(),
        };
        let options = OptionsReply::of(decider.options());
        self.decider = Some(decider);
        self.loaded = Some(info.clone());
        Reply { ok: true, abi: ABI_VERSION, bundle: Some(info), options: Some(options), error: None }
    }

    /// Changes the decision options (JSON `{"mode", "act_on", "max_event_bytes"}`, each optional).
    pub fn configure(&mut self, bytes: &[u8]) -> Reply {
        let Some(decider) = self.decider.as_mut() else {
            return error_reply(ErrorCode::NotLoaded, "no bundle is loaded; call scopecheck_load first".into());
        };
        let asked: OptionsReply = match serde_json::from_slice(bytes) {
            Ok(o) => o,
            Err(e) => return error_reply(ErrorCode::InvalidEvent, format!("not valid options: {e}")),
        };
        let mut o = decider.options();
        if let Some(m) = asked.mode {
            o.mode = m;
        }
        if let Some(a) = asked.act_on {
            o.act_on = a;
        }
        if let Some(n) = asked.max_event_bytes {
            o.max_event_bytes = n;
        }
        decider.set_options(o);
        Reply {
            ok: true,
            abi: ABI_VERSION,
            bundle: self.loaded.clone(),
            options: Some(OptionsReply::of(o)),
            error: None,
        }
    }

    /// Compiles now what the loaded bundle's detectors otherwise compile on first use (their own
    /// regexes, the prefilters for long texts), so that no decision pauses for it: for a host
    /// that snapshots the instance after loading (pre-initialization). `false` without a bundle.
    pub fn prepare(&self) -> bool {
        let Some(decider) = self.decider.as_ref() else {
            return false;
        };
        decider.evaluator().engine().detectors.prepare();
        true
    }

    /// Decides on one event (its JSON text).
    pub fn decide(&mut self, bytes: &[u8]) -> Decision {
        let Some(decider) = self.decider.as_mut() else {
            return Decision::deny(ErrorCode::NotLoaded, "no bundle is loaded; call scopecheck_load first");
        };
        let max = decider.options().max_event_bytes;
        if bytes.len() > max {
            return Decision::failure(
                decider.options().mode,
                ErrorCode::TooLarge,
                format!("the event is {} bytes, over the {max} byte limit", bytes.len()),
            );
        }
        // A vector check first (under wasm, `std`'s runs four bytes a loop turn); `std`'s own
        // for the error it reports.
        let text = match simdutf8::basic::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => match std::str::from_utf8(bytes) {
                Ok(text) => text,
                Err(e) => {
                    return Decision::failure(
                        decider.options().mode,
                        ErrorCode::InvalidEvent,
                        format!("not UTF-8: {e}"),
                    );
                }
            },
        };
        decider.decide_line(text)
    }
}

fn with_help(e: &scopecheck::Error) -> String {
    match &e.help {
        Some(h) => format!("{e} (help: {h})"),
        None => e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// The ABI. Only compiled for wasm32: natively the plugin is a library (`Plugin`) for tests.

#[cfg(target_arch = "wasm32")]
mod abi {
    use super::{ABI_VERSION, Plugin};
    use std::alloc::{Layout, alloc, dealloc};
    use std::cell::RefCell;

    thread_local! {
        static PLUGIN: RefCell<Plugin> = RefCell::new(Plugin::default());
    }

    /// Allocates `len` bytes (at least one) with alignment 1; 0 when out of memory.
    fn raw_alloc(len: usize) -> *mut u8 {
        let Ok(layout) = Layout::from_size_align(len.max(1), 1) else { return std::ptr::null_mut() };
        // SAFETY: the layout has a non-zero size. A null result (out of memory) is returned as 0.
        unsafe { alloc(layout) }
    }

    /// Copies a reply into a fresh buffer and packs `(ptr << 32) | len`; 0 when out of memory.
    fn reply(bytes: &[u8]) -> u64 {
        let ptr = raw_alloc(bytes.len());
        if ptr.is_null() {
            return 0;
        }
        // SAFETY: `ptr` was just allocated with room for `bytes.len()` bytes and does not overlap `bytes`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len()) };
        ((ptr as usize as u64) << 32) | (bytes.len() as u64)
    }

    fn json_reply<T: serde::Serialize>(value: &T) -> u64 {
        match serde_json::to_vec(value) {
            Ok(b) if !b.is_empty() => {
                // The text's own buffer is the reply: exactly `len` bytes with alignment 1, the
                // layout `scopecheck_free(ptr, len)` gives back.
                let b = b.into_boxed_slice();
                let len = b.len();
                let ptr = Box::into_raw(b).cast::<u8>();
                ((ptr as usize as u64) << 32) | (len as u64)
            }
            Ok(b) => reply(&b),
            // Serializing our own types does not fail; if it did, the host sees an empty reply
            // and denies.
            Err(_) => reply(b""),
        }
    }

    /// Reads the host's input buffer.
    fn input<'a>(ptr: u32, len: u32) -> &'a [u8] {
        if len == 0 || ptr == 0 {
            return &[];
        }
        // SAFETY: the ABI requires `ptr..ptr+len` to be a buffer the host got from
        // `scopecheck_alloc` and filled; the guest only reads it during this call. Wasm memory is
        // bounds-checked, so a wrong pointer traps instead of reading outside the sandbox.
        unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len as usize) }
    }

    /// The ABI version.
    #[unsafe(no_mangle)]
    pub extern "C" fn scopecheck_abi_version() -> u32 {
        ABI_VERSION
    }

    /// `len` bytes of guest memory for the host to write into; 0 when out of memory.
    #[unsafe(no_mangle)]
    pub extern "C" fn scopecheck_alloc(len: u32) -> u32 {
        raw_alloc(len as usize) as usize as u32
    }

    /// Gives back a buffer from `scopecheck_alloc`, or a reply.
    #[unsafe(no_mangle)]
    pub extern "C" fn scopecheck_free(ptr: u32, len: u32) {
        if ptr == 0 {
            return;
        }
        let Ok(layout) = Layout::from_size_align((len as usize).max(1), 1) else { return };
        // SAFETY: the ABI requires `ptr` and `len` to be exactly those of a live buffer from
        // `scopecheck_alloc(len)` or of a reply of `len` bytes, both allocated by `raw_alloc` with
        // this layout, and freed once.
        unsafe { dealloc(ptr as usize as *mut u8, layout) }
    }

    /// Loads a bundle.
    #[unsafe(no_mangle)]
    pub extern "C" fn scopecheck_load(ptr: u32, len: u32) -> u64 {
        let bytes = input(ptr, len);
        let r = PLUGIN.with(|p| p.borrow_mut().load(bytes));
        json_reply(&r)
    }

    /// Changes the decision options.
    #[unsafe(no_mangle)]
    pub extern "C" fn scopecheck_configure(ptr: u32, len: u32) -> u64 {
        let bytes = input(ptr, len);
        let r = PLUGIN.with(|p| p.borrow_mut().configure(bytes));
        json_reply(&r)
    }

    /// Compiles what the bundle would compile on first use; 1, or 0 without a bundle.
    #[unsafe(no_mangle)]
    pub extern "C" fn scopecheck_prepare() -> u32 {
        PLUGIN.with(|p| u32::from(p.borrow().prepare()))
    }

    /// Decides on one event.
    #[unsafe(no_mangle)]
    pub extern "C" fn scopecheck_decide(ptr: u32, len: u32) -> u64 {
        let bytes = input(ptr, len);
        let d = PLUGIN.with(|p| p.borrow_mut().decide(bytes));
        // Most decisions are plain (a verdict, no findings): their text is a constant.
        match d.plain_json() {
            Some(text) => reply(text.as_bytes()),
            None => json_reply(&d),
        }
    }
}
