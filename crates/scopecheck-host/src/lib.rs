//! Runs the scopecheck wasm plugin (`wasm/plugin`) on wasmtime, sandboxed and capped.
//!
//! - [`PluginModule`]: the compiled module, loaded once (compiled, or precompiled and cached on
//!   disk with [`PluginModule::cached`]), with an [`InstancePre`] so each instance is cheap, on
//!   wasmtime's pooling allocator.
//! - [`Plugin`]: one instance in its own `Store`, with a bundle loaded. Every call gets a fuel
//!   budget; guest memory is capped. A trap, a breached limit or a malformed reply becomes a typed
//!   [`HostError`] and, through [`Plugin::decide`], a `deny`. After a trap the instance is thrown
//!   away and a fresh one (with the same bundle and options) decides the next event.
//! - [`PluginPool`]: a few `Plugin`s shared by many threads.
//!
//! No WASI capability is granted. The module's standard library imports five WASI functions; the
//! host gives it: `random_get` (hash-map seeds, from the host's own `RandomState`; at most 64 KiB
//! a call), an empty environment, `fd_write` to fds 1 and 2 only, that keeps up to 4 KiB of
//! output (a panic message, put in the trap error) and drops the rest, and `proc_exit` as a trap.
//! Any other import (files, sockets, clocks, `poll_oneoff`, arguments...) traps when called. Host
//! calls cannot be interrupted, so each does bounded work whatever the guest asks for
//! (`tests/sandbox.rs`).

use scopecheck::decide::{Decision, ErrorCode};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use wasmtime::{
    Caller, Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Memory, Module, PoolingAllocationConfig,
    ResourceLimiter, Store, Trap, TypedFunc,
};

pub use scopecheck::decide;

/// The plugin ABI version this host speaks, and the replies of `scopecheck_load` and
/// `scopecheck_configure`: the plugin's own types.
pub use scopecheck::abi::{ABI_VERSION, Reply as LoadReply};

/// WASI's errors `EBADF`, `EFAULT` (outside guest memory), `EINVAL`, and success.
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const ESUCCESS: i32 = 0;
/// Most random bytes given per `random_get` call (the standard library asks for 16).
const MAX_RANDOM: usize = 64 << 10;
/// Guest stderr kept per call.
const MAX_STDERR: usize = 4096;

/// Limits and sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostConfig {
    /// Largest guest linear memory (bytes).
    pub max_memory_bytes: usize,
    /// How runaway calls are stopped: wall-clock deadlines (the default, cheap) or fuel
    /// (deterministic, about 1.6× slower decisions).
    pub interrupt: Interrupt,
    /// Time for one decision (with [`Interrupt::Epoch`]).
    pub time_per_decision: Duration,
    /// Time for loading a bundle (with [`Interrupt::Epoch`]).
    pub time_per_load: Duration,
    /// Fuel (roughly, wasm instructions) for one decision (with [`Interrupt::Fuel`]).
    pub fuel_per_decision: u64,
    /// Fuel for loading a bundle (validates the scope, rules and detectors; with [`Interrupt::Fuel`]).
    pub fuel_per_load: u64,
    /// Largest event handed to the guest (bytes); larger ones are denied unread.
    pub max_event_bytes: usize,
    /// Largest reply read back (bytes).
    pub max_reply_bytes: usize,
    /// Instances the pooling allocator has room for (per module).
    pub max_instances: u32,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            max_memory_bytes: 256 << 20,
            interrupt: Interrupt::Epoch,
            time_per_decision: Duration::from_secs(1),
            time_per_load: Duration::from_secs(20),
            fuel_per_decision: 2_000_000_000,
            fuel_per_load: 40_000_000_000,
            max_event_bytes: scopecheck::decide::DEFAULT_MAX_EVENT_BYTES,
            max_reply_bytes: 64 << 20,
            max_instances: 16,
        }
    }
}

/// How a call that runs too long is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// A deadline in wall-clock time, checked at loop heads and calls (wasmtime's epochs, ticked
    /// every millisecond by one thread per module).
    Epoch,
    /// A fuel budget: deterministic, but metering makes a decision about 1.6× slower.
    Fuel,
}

/// Epoch tick.
const TICK: Duration = Duration::from_millis(1);

/// Ticks the engine's epoch while the module or one of its instances lives.
struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Ticker {
    fn start(engine: &Engine) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let engine = engine.clone();
        let _ = std::thread::Builder::new().name("scopecheck-epoch".into()).spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                engine.increment_epoch();
            }
        });
        Ticker { stop }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn ticks(d: Duration) -> u64 {
    u64::try_from(d.as_millis() / TICK.as_millis().max(1)).unwrap_or(u64::MAX).max(1)
}

/// What went wrong, typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The module could not be compiled, read or linked.
    #[error("the plugin module could not be loaded: {0}")]
    Module(String),
    /// The module speaks another ABI.
    #[error(
        "the plugin speaks ABI {found}; this host speaks ABI {expected}: rebuild the plugin \
         (`cargo build --profile plugin --target wasm32-wasip1 -p scopecheck-plugin`) and the host from the same scopecheck version"
    )]
    AbiMismatch {
        /// The host's.
        expected: u32,
        /// The plugin's.
        found: u32,
    },
    /// The instance could not be created (pool exhausted, memory).
    #[error("the plugin could not be instantiated: {0}")]
    Instantiate(String),
    /// The bundle was refused.
    #[error("the bundle was refused: {0}")]
    Bundle(String),
    /// The event is over the size limit.
    #[error("the event is {size} bytes, over the {limit} byte limit")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The guest used up its fuel.
    #[error("the plugin ran out of fuel ({fuel} units for this call)")]
    OutOfFuel {
        /// The budget.
        fuel: u64,
    },
    /// The guest ran past its deadline.
    #[error("the plugin ran out of time ({ms} ms for this call)")]
    OutOfTime {
        /// The budget.
        ms: u128,
    },
    /// The guest needed more memory than allowed.
    #[error("the plugin ran out of memory (limit {limit} bytes)")]
    OutOfMemory {
        /// The cap.
        limit: usize,
    },
    /// The guest trapped.
    #[error("the plugin trapped: {0}")]
    Trap(String),
    /// The guest's reply could not be read.
    #[error("the plugin's reply is malformed: {0}")]
    BadReply(String),
}

impl HostError {
    /// The decision error code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            HostError::Module(_) | HostError::Instantiate(_) | HostError::Trap(_) => ErrorCode::Trap,
            HostError::AbiMismatch { .. } | HostError::BadReply(_) => ErrorCode::BadReply,
            HostError::Bundle(_) => ErrorCode::BadBundle,
            HostError::TooLarge { .. } => ErrorCode::TooLarge,
            HostError::OutOfFuel { .. } => ErrorCode::OutOfFuel,
            HostError::OutOfTime { .. } => ErrorCode::OutOfTime,
            HostError::OutOfMemory { .. } => ErrorCode::OutOfMemory,
        }
    }

    /// This error as a `deny`.
    pub fn to_decision(&self) -> Decision {
        Decision::deny(self.code(), self.to_string())
    }
}

/// Per-store host state.
pub struct HostState {
    limits: MemoryCap,
    stderr: Vec<u8>,
    seeds: std::collections::hash_map::RandomState,
    counter: u64,
}

/// The memory cap, remembering whether it refused a growth.
struct MemoryCap {
    max: usize,
    refused: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let ok = desired <= self.max;
        if !ok {
            self.refused = true;
        }
        Ok(ok)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

fn guest_memory(caller: &mut Caller<'_, HostState>) -> Option<Memory> {
    caller.get_export("memory").and_then(|e| e.into_memory())
}

fn write_u32(caller: &mut Caller<'_, HostState>, ptr: i32, value: u32) -> bool {
    let Some(mem) = guest_memory(caller) else { return false };
    let Ok(at) = usize::try_from(ptr) else { return false };
    mem.write(caller, at, &value.to_le_bytes()).is_ok()
}

fn read_u32(mem: &[u8], at: usize) -> Option<u32> {
    let b = mem.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?]))
}

/// The WASI functions Rust's standard library links, without any capability behind them.
fn add_wasi_stubs(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    const W: &str = "wasi_snapshot_preview1";
    linker.func_wrap(W, "random_get", |mut caller: Caller<'_, HostState>, buf: i32, len: i32| -> i32 {
        let (Ok(buf), Ok(len)) = (usize::try_from(buf), usize::try_from(len)) else { return EFAULT };
        // Checked before any work: a host call cannot be interrupted, so a guest asking for 2 GiB
        // must not get the host to allocate and hash 2 GiB.
        if len > MAX_RANDOM {
            return EINVAL;
        }
        let Some(mem) = guest_memory(&mut caller) else { return EFAULT };
        if buf.checked_add(len).is_none_or(|end| end > mem.data_size(&caller)) {
            return EFAULT;
        }
        let mut bytes = Vec::with_capacity(len);
        while bytes.len() < len {
            let state = caller.data_mut();
            state.counter = state.counter.wrapping_add(1);
            let mut h = state.seeds.build_hasher();
            h.write_u64(state.counter);
            bytes.extend_from_slice(&h.finish().to_le_bytes());
        }
        bytes.truncate(len);
        if mem.write(&mut caller, buf, &bytes).is_ok() { ESUCCESS } else { EFAULT }
    })?;
    linker.func_wrap(W, "environ_sizes_get", |mut caller: Caller<'_, HostState>, count: i32, size: i32| -> i32 {
        if write_u32(&mut caller, count, 0) && write_u32(&mut caller, size, 0) { ESUCCESS } else { EBADF }
    })?;
    linker
        .func_wrap(W, "environ_get", |_caller: Caller<'_, HostState>, _environ: i32, _buf: i32| -> i32 { ESUCCESS })?;
    linker.func_wrap(
        W,
        "fd_write",
        |mut caller: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32| -> i32 {
            if fd != 1 && fd != 2 {
                return EBADF;
            }
            let Some(mem) = guest_memory(&mut caller) else { return EBADF };
            let (Ok(iovs), Ok(n)) = (usize::try_from(iovs), usize::try_from(iovs_len)) else { return EBADF };
            // Only what fits in the kept stderr is copied: 64 iovecs each naming the whole
            // memory must not make the host copy 64 times the guest's memory.
            let mut room = MAX_STDERR.saturating_sub(caller.data().stderr.len());
            let mut text = Vec::new();
            let mut total: u32 = 0;
            {
                let data = mem.data(&caller);
                for i in 0..n.min(64) {
                    let at = iovs.saturating_add(i.saturating_mul(8));
                    let (Some(p), Some(l)) = (read_u32(data, at), read_u32(data, at.saturating_add(4))) else {
                        return EBADF;
                    };
                    total = total.saturating_add(l);
                    let start = p as usize;
                    let kept = (l as usize).min(room);
                    if let Some(chunk) = data.get(start..start.saturating_add(kept)) {
                        text.extend_from_slice(chunk);
                        room = room.saturating_sub(kept);
                    }
                }
            }
            caller.data_mut().stderr.extend(text);
            if write_u32(&mut caller, nwritten, total) { ESUCCESS } else { EBADF }
        },
    )?;
    linker.func_wrap(W, "proc_exit", |_caller: Caller<'_, HostState>, code: i32| -> wasmtime::Result<()> {
        Err(wasmtime::format_err!("the plugin called proc_exit({code})"))
    })?;
    // Anything else the module imports traps when called (see `PluginModule::link`).
    Ok(())
}

/// The compiled plugin, shared by its instances.
pub struct PluginModule {
    engine: Engine,
    pre: InstancePre<HostState>,
    config: HostConfig,
    ticker: Option<Arc<Ticker>>,
    /// For a pre-initialized module: the sha256 (hex) of the bundle its instances start with.
    preloaded: Option<String>,
}

impl std::fmt::Debug for PluginModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginModule").field("config", &self.config).finish_non_exhaustive()
    }
}

fn module_err(e: impl std::fmt::Display) -> HostError {
    HostError::Module(e.to_string())
}

fn engine_for(config: &HostConfig) -> Result<Engine, HostError> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(config.max_instances)
        .total_memories(config.max_instances)
        .total_tables(config.max_instances)
        .max_memory_size(config.max_memory_bytes)
        .table_elements(100_000);
    let mut c = Config::new();
    c.consume_fuel(config.interrupt == Interrupt::Fuel)
        .epoch_interruption(config.interrupt == Interrupt::Epoch)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .max_wasm_stack(1 << 20)
        .memory_init_cow(true);
    Engine::new(&c).map_err(module_err)
}

impl PluginModule {
    /// Compiles the plugin (a `.wasm` file's bytes). Slow (about a second): prefer
    /// [`PluginModule::cached`] in programs that start often.
    pub fn compile(wasm: &[u8], config: HostConfig) -> Result<PluginModule, HostError> {
        let engine = engine_for(&config)?;
        let module = Module::new(&engine, wasm).map_err(module_err)?;
        PluginModule::link(engine, module, config)
    }

    /// Loads the plugin from a `.wasm` file, through a cache of precompiled modules in
    /// `cache_dir` (created if needed). A cache entry is named by the `.wasm` file's identity
    /// (canonical path, size, modification time), wasmtime's version and the memory cap, so a hit
    /// costs no read of the `.wasm`; a stale or unreadable entry is recompiled and replaced. The
    /// cache folder must be as trusted as the plugin itself.
    pub fn cached(wasm_path: &Path, cache_dir: &Path, config: HostConfig) -> Result<PluginModule, HostError> {
        PluginModule::through_cache(wasm_path, None, cache_dir, config)
    }

    /// Like [`PluginModule::cached`], for one bundle: the cache holds the plugin *pre-initialized*
    /// with `bundle` (a snapshot of an instance that has loaded it, made with wasmtime's Wizer), so
    /// a [`Plugin`] on this bundle starts without loading it again: no scope, Cedar or detector
    /// compilation at start, only a copy-on-write map of the snapshot. The cache entry is named by
    /// the `.wasm` file's identity and the bundle's sha256. A [`Plugin`] given another bundle
    /// loads that one as usual.
    ///
    /// A miss costs a bundle load and a second compilation (seconds); a bundle the plugin refuses
    /// is an error here, as it would be in [`Plugin::new`]. Hash-map seeds are fixed in the
    /// snapshot, shared by every instance started from it.
    pub fn cached_with_bundle(
        wasm_path: &Path,
        bundle: &[u8],
        cache_dir: &Path,
        config: HostConfig,
    ) -> Result<PluginModule, HostError> {
        PluginModule::through_cache(wasm_path, Some(bundle), cache_dir, config)
    }

    /// [`PluginModule::cached`] (no bundle) and [`PluginModule::cached_with_bundle`]: a hit is
    /// deserialized; a miss compiles the plugin, or its snapshot with the bundle, and stores it.
    fn through_cache(
        wasm_path: &Path,
        bundle: Option<&[u8]>,
        cache_dir: &Path,
        config: HostConfig,
    ) -> Result<PluginModule, HostError> {
        let meta = std::fs::metadata(wasm_path).map_err(|e| module_err(format!("{}: {e}", wasm_path.display())))?;
        let digest = bundle.map(scopecheck::bundle::sha256_hex);
        let engine = engine_for(&config)?;
        let entry = cache_entry(cache_dir, wasm_path, &meta, &config, digest.as_deref().unwrap_or(""));
        let module = match deserialize_trusted(&engine, &entry) {
            Ok(module) => module,
            Err(_) => {
                let wasm = std::fs::read(wasm_path).map_err(|e| module_err(format!("{}: {e}", wasm_path.display())))?;
                let module = match bundle {
                    Some(b) => Module::new(&engine, &PluginModule::preinitialize(&wasm, b, config)?),
                    None => Module::new(&engine, &wasm),
                }
                .map_err(module_err)?;
                store_in_cache(&module, cache_dir, &entry);
                module
            }
        };
        let mut m = PluginModule::link(engine, module, config)?;
        m.preloaded = digest;
        Ok(m)
    }

    /// The plugin (a `.wasm` file's bytes) pre-initialized with `bundle`: a new `.wasm` module whose
    /// instances start with the bundle loaded. Any host can run it (Python, Node...) and skip
    /// `scopecheck_load`.
    pub fn preinitialize(wasm: &[u8], bundle: &[u8], config: HostConfig) -> Result<Vec<u8>, HostError> {
        let wizer = wasmtime_wizer::Wizer::new();
        let (cx, instrumented) =
            wizer.instrument(wasm).map_err(|e| module_err(format!("pre-initialization: {e:#}")))?;
        let engine = engine_for(&config)?;
        let module = Module::new(&engine, &instrumented).map_err(module_err)?;
        let m = PluginModule::link(engine, module, config)?;
        let mut inst = m.instantiate()?;
        inst.load_bundle(bundle)?;
        inst.prepare()?;
        inst.release_input()?;
        let mut state = Snapshot { store: &mut inst.store, instance: inst.handle, failed: None };
        let snapshot = block_on(wizer.snapshot(&cx, &mut state))
            .ok_or_else(|| module_err("pre-initialization did not finish"))?
            .map_err(|e| module_err(format!("pre-initialization: {e:#}")))?;
        if let Some(why) = state.failed {
            return Err(module_err(format!("pre-initialization: {why}")));
        }
        Ok(snapshot)
    }

    /// For a module made by [`PluginModule::cached_with_bundle`]: the sha256 (hex) of the bundle
    /// its instances start with.
    pub fn preloaded_bundle(&self) -> Option<&str> {
        self.preloaded.as_deref()
    }

    fn link(engine: Engine, module: Module, config: HostConfig) -> Result<PluginModule, HostError> {
        let mut linker: Linker<HostState> = Linker::new(&engine);
        add_wasi_stubs(&mut linker).map_err(module_err)?;
        linker.define_unknown_imports_as_traps(&module).map_err(module_err)?;
        let pre = linker.instantiate_pre(&module).map_err(module_err)?;
        let ticker = (config.interrupt == Interrupt::Epoch).then(|| Arc::new(Ticker::start(&engine)));
        let m = PluginModule { engine, pre, config, ticker, preloaded: None };
        // Check the ABI once, on a throwaway instance.
        let mut p = m.instantiate()?;
        let found = p.abi_version()?;
        if found != ABI_VERSION {
            return Err(HostError::AbiMismatch { expected: ABI_VERSION, found });
        }
        Ok(m)
    }

    /// The limits in force.
    pub fn config(&self) -> HostConfig {
        self.config
    }

    /// The precompiled module's bytes (what [`PluginModule::cached`] stores).
    pub fn serialize(&self) -> Result<Vec<u8>, HostError> {
        self.pre.module().serialize().map_err(module_err)
    }

    /// A fresh instance with no bundle loaded.
    pub fn instantiate(&self) -> Result<Instance, HostError> {
        let state = HostState {
            limits: MemoryCap { max: self.config.max_memory_bytes, refused: false },
            stderr: Vec::new(),
            seeds: std::collections::hash_map::RandomState::new(),
            counter: 0,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        match self.config.interrupt {
            Interrupt::Fuel => {
                store.set_fuel(self.config.fuel_per_load).map_err(|e| HostError::Instantiate(e.to_string()))?
            }
            Interrupt::Epoch => {
                store.epoch_deadline_trap();
                store.set_epoch_deadline(ticks(self.config.time_per_load));
            }
        }
        let instance = self.pre.instantiate(&mut store).map_err(|e| HostError::Instantiate(e.to_string()))?;
        let missing = |what: &str, e: wasmtime::Error| HostError::Module(format!("`{what}`: {e}"));
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| HostError::Module("the plugin exports no `memory`".into()))?;
        Ok(Instance {
            abi: instance
                .get_typed_func(&mut store, "scopecheck_abi_version")
                .map_err(|e| missing("scopecheck_abi_version", e))?,
            alloc: instance
                .get_typed_func(&mut store, "scopecheck_alloc")
                .map_err(|e| missing("scopecheck_alloc", e))?,
            free: instance.get_typed_func(&mut store, "scopecheck_free").map_err(|e| missing("scopecheck_free", e))?,
            load: instance.get_typed_func(&mut store, "scopecheck_load").map_err(|e| missing("scopecheck_load", e))?,
            configure: instance
                .get_typed_func(&mut store, "scopecheck_configure")
                .map_err(|e| missing("scopecheck_configure", e))?,
            decide: instance
                .get_typed_func(&mut store, "scopecheck_decide")
                .map_err(|e| missing("scopecheck_decide", e))?,
            prepare: match instance.get_export(&mut store, "scopecheck_prepare") {
                Some(_) => Some(
                    instance
                        .get_typed_func(&mut store, "scopecheck_prepare")
                        .map_err(|e| missing("scopecheck_prepare", e))?,
                ),
                None => None,
            },
            memory,
            handle: instance,
            store,
            config: self.config,
            input: None,
            _ticker: self.ticker.clone(),
        })
    }
}

fn cache_entry(dir: &Path, wasm_path: &Path, meta: &std::fs::Metadata, config: &HostConfig, bundle: &str) -> PathBuf {
    let path = wasm_path.canonicalize().unwrap_or_else(|_| wasm_path.to_path_buf());
    let modified =
        meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    let key = format!(
        "{}\0{}\0{modified}\0wasmtime-48\0{}\0{}\0{:?}\0{bundle}",
        path.display(),
        meta.len(),
        std::env::consts::ARCH,
        config.max_memory_bytes,
        config.interrupt
    );
    let hex = scopecheck::bundle::sha256_hex(key.as_bytes());
    let kind = if bundle.is_empty() { "plugin" } else { "preinit" };
    dir.join(format!("scopecheck-{kind}-{}.cwasm", hex.get(..32).unwrap_or(&hex)))
}

fn store_in_cache(module: &Module, cache_dir: &Path, entry: &Path) {
    if let Ok(bytes) = module.serialize() {
        let _ = std::fs::create_dir_all(cache_dir);
        let tmp = entry.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, entry);
        }
    }
}

/// Wizer's view of an instance: its globals and memory, read after the bundle is loaded.
struct Snapshot<'a> {
    store: &'a mut Store<HostState>,
    instance: wasmtime::Instance,
    failed: Option<String>,
}

impl wasmtime_wizer::InstanceState for Snapshot<'_> {
    fn global_get(
        &mut self,
        name: &str,
        _type_hint: wasmtime_wizer::ValType,
    ) -> impl Future<Output = wasmtime_wizer::SnapshotVal> + Send {
        use wasmtime_wizer::SnapshotVal;
        let value = self.instance.get_global(&mut *self.store, name).map(|g| g.get(&mut *self.store));
        let out = match value {
            Some(wasmtime::Val::I32(x)) => SnapshotVal::I32(x),
            Some(wasmtime::Val::I64(x)) => SnapshotVal::I64(x),
            Some(wasmtime::Val::F32(x)) => SnapshotVal::F32(x),
            Some(wasmtime::Val::F64(x)) => SnapshotVal::F64(x),
            Some(wasmtime::Val::V128(x)) => SnapshotVal::V128(x.as_u128()),
            other => {
                self.failed = Some(format!("global `{name}` cannot be snapshotted ({other:?})"));
                SnapshotVal::I32(0)
            }
        };
        std::future::ready(out)
    }

    fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) -> impl Future<Output = ()> + Send {
        match self.instance.get_memory(&mut *self.store, name) {
            Some(m) => contents(m.data(&*self.store)),
            None => {
                self.failed = Some(format!("memory `{name}` is not exported"));
                contents(&[]);
            }
        }
        std::future::ready(())
    }
}

/// Runs a future whose awaits are all immediately ready (Wizer's snapshot over [`Snapshot`]).
/// None if it is still pending after many polls.
fn block_on<F: Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..1_000_000 {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return Some(v);
        }
        std::thread::yield_now();
    }
    None
}

/// Loads a precompiled module from the cache.
#[allow(unsafe_code)]
fn deserialize_trusted(engine: &Engine, path: &Path) -> Result<Module, HostError> {
    if !path.is_file() {
        return Err(HostError::Module("not cached".into()));
    }
    // SAFETY: wasmtime requires the bytes to be a module this version serialized (they are
    // machine code run as is). The file is in the cache folder the embedder trusts, named by the
    // identity of the `.wasm` it came from, and written by `PluginModule::cached` (atomically, by
    // rename); wasmtime itself refuses files from another version or configuration.
    unsafe { Module::deserialize_file(engine, path) }.map_err(module_err)
}

/// One plugin instance in its own store. Not shared: see [`PluginPool`] for threads.
pub struct Instance {
    store: Store<HostState>,
    handle: wasmtime::Instance,
    memory: Memory,
    abi: TypedFunc<(), u32>,
    alloc: TypedFunc<u32, u32>,
    free: TypedFunc<(u32, u32), ()>,
    load: TypedFunc<(u32, u32), u64>,
    configure: TypedFunc<(u32, u32), u64>,
    decide: TypedFunc<(u32, u32), u64>,
    /// `scopecheck_prepare`, optional (plugins before it do not export it).
    prepare: Option<TypedFunc<(), u32>>,
    config: HostConfig,
    /// A guest buffer kept for inputs up to [`KEPT_INPUT_BYTES`]: (ptr, capacity).
    input: Option<(u32, u32)>,
    _ticker: Option<Arc<Ticker>>,
}

/// Inputs up to this size reuse one guest buffer; larger ones get their own, freed after the call.
const KEPT_INPUT_BYTES: u32 = 64 << 10;

impl Instance {
    fn classify(&mut self, e: wasmtime::Error, budget: Budget) -> HostError {
        let stderr = String::from_utf8_lossy(&self.store.data().stderr).trim().to_string();
        if self.store.data().limits.refused {
            return HostError::OutOfMemory { limit: self.config.max_memory_bytes };
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => HostError::OutOfFuel { fuel: budget.fuel },
            Some(Trap::Interrupt) => HostError::OutOfTime { ms: budget.time.as_millis() },
            Some(t) if stderr.is_empty() => HostError::Trap(t.to_string()),
            Some(t) => HostError::Trap(format!("{t} ({stderr})")),
            // A host function's error (`proc_exit`, an import the host does not give): its own
            // message, not the wasm backtrace wrapped around it.
            None if stderr.is_empty() => HostError::Trap(e.root_cause().to_string()),
            None => HostError::Trap(format!("{} ({stderr})", e.root_cause())),
        }
    }

    /// Sets the budget of the next call.
    fn arm(&mut self, budget: Budget) -> Result<(), HostError> {
        self.store.data_mut().stderr.clear();
        self.store.data_mut().limits.refused = false;
        match self.config.interrupt {
            Interrupt::Fuel => self.store.set_fuel(budget.fuel).map_err(|e| HostError::Trap(e.to_string())),
            Interrupt::Epoch => {
                self.store.set_epoch_deadline(ticks(budget.time));
                Ok(())
            }
        }
    }

    fn budget(&self, which: Call) -> Budget {
        match which {
            Call::Load => Budget { fuel: self.config.fuel_per_load, time: self.config.time_per_load },
            Call::Configure | Call::Decide => {
                Budget { fuel: self.config.fuel_per_decision, time: self.config.time_per_decision }
            }
        }
    }

    /// The plugin's ABI version.
    pub fn abi_version(&mut self) -> Result<u32, HostError> {
        let budget = Budget { fuel: 1_000_000, time: Duration::from_secs(1) };
        self.arm(budget)?;
        self.abi.call(&mut self.store, ()).map_err(|e| self.classify(e, budget))
    }

    /// Has the plugin compile now what its bundle would compile on first use (each detector's
    /// regexes, the prefilters for long texts; `scopecheck_prepare`), with a load's budget:
    /// done before a pre-initialization snapshot, or by a host that must never pause a decision.
    /// `false` if no bundle is loaded or the plugin predates the export.
    pub fn prepare(&mut self) -> Result<bool, HostError> {
        let Some(f) = self.prepare.clone() else {
            return Ok(false);
        };
        let budget = self.budget(Call::Load);
        self.arm(budget)?;
        f.call(&mut self.store, ()).map(|r| r == 1).map_err(|e| self.classify(e, budget))
    }

    /// Current guest memory size (bytes).
    pub fn memory_bytes(&self) -> usize {
        self.memory.data_size(&self.store)
    }

    /// Copies `bytes` into the guest, calls `f(ptr, len)`, reads and frees the reply.
    fn call(&mut self, which: Call, bytes: &[u8]) -> Result<Vec<u8>, HostError> {
        self.call_with(which, bytes, <[u8]>::to_vec)
    }

    /// [`Instance::call`], reading the reply in guest memory with `read` (no copy) before it is freed.
    fn call_with<T>(&mut self, which: Call, bytes: &[u8], read: impl FnOnce(&[u8]) -> T) -> Result<T, HostError> {
        let fuel = self.budget(which);
        self.arm(fuel)?;
        let len = u32::try_from(bytes.len())
            .map_err(|_| HostError::TooLarge { size: bytes.len(), limit: u32::MAX as usize })?;
        // Small inputs go to one kept buffer (grown as needed), so a decision costs no
        // allocation calls into the guest for its input.
        let keep = len <= KEPT_INPUT_BYTES;
        let (ptr, cap) = match self.input {
            Some((p, cap)) if keep && len <= cap => (p, cap),
            kept => {
                if keep && let Some((p, cap)) = kept {
                    self.input = None;
                    self.free.call(&mut self.store, (p, cap)).map_err(|e| self.classify(e, fuel))?;
                }
                let cap = if keep { len.next_power_of_two().clamp(4096, KEPT_INPUT_BYTES) } else { len };
                let p = self.alloc.call(&mut self.store, cap).map_err(|e| self.classify(e, fuel))?;
                if p == 0 {
                    return Err(HostError::OutOfMemory { limit: self.config.max_memory_bytes });
                }
                if keep {
                    self.input = Some((p, cap));
                }
                (p, cap)
            }
        };
        self.memory
            .write(&mut self.store, ptr as usize, bytes)
            .map_err(|e| HostError::BadReply(format!("scopecheck_alloc gave a buffer outside memory: {e}")))?;
        let f = match which {
            Call::Load => &self.load,
            Call::Configure => &self.configure,
            Call::Decide => &self.decide,
        };
        let packed = f.call(&mut self.store, (ptr, len)).map_err(|e| self.classify(e, fuel))?;
        if !keep {
            self.free.call(&mut self.store, (ptr, cap)).map_err(|e| self.classify(e, fuel))?;
        }
        let rptr = (packed >> 32) as usize;
        let rlen = (packed & 0xffff_ffff) as usize;
        if rptr == 0 {
            return Err(HostError::OutOfMemory { limit: self.config.max_memory_bytes });
        }
        if rlen > self.config.max_reply_bytes {
            return Err(HostError::BadReply(format!("a reply of {rlen} bytes")));
        }
        let reply = self
            .memory
            .data(&self.store)
            .get(rptr..rptr.saturating_add(rlen))
            .map(read)
            .ok_or_else(|| HostError::BadReply(format!("the reply ({rptr}+{rlen}) is outside guest memory")))?;
        let (rp, rl) = (u32::try_from(rptr).unwrap_or(0), u32::try_from(rlen).unwrap_or(0));
        self.free.call(&mut self.store, (rp, rl)).map_err(|e| self.classify(e, fuel))?;
        Ok(reply)
    }

    /// Gives the kept input buffer back to the guest.
    fn release_input(&mut self) -> Result<(), HostError> {
        if let Some((p, cap)) = self.input.take() {
            let budget = self.budget(Call::Configure);
            self.free.call(&mut self.store, (p, cap)).map_err(|e| self.classify(e, budget))?;
        }
        Ok(())
    }

    /// Loads a bundle (the file's bytes).
    pub fn load_bundle(&mut self, bundle: &[u8]) -> Result<LoadReply, HostError> {
        let reply = self.call(Call::Load, bundle)?;
        let r: LoadReply = serde_json::from_slice(&reply).map_err(|e| HostError::BadReply(e.to_string()))?;
        if r.ok {
            Ok(r)
        } else {
            Err(HostError::Bundle(r.error.map(|e| e.message).unwrap_or_else(|| "no reason given".into())))
        }
    }

    /// Sets decision options (JSON `{"mode", "act_on", "max_event_bytes"}`).
    pub fn configure(&mut self, options: &serde_json::Value) -> Result<LoadReply, HostError> {
        let text = serde_json::to_vec(options).map_err(|e| HostError::BadReply(e.to_string()))?;
        let reply = self.call(Call::Configure, &text)?;
        let r: LoadReply = serde_json::from_slice(&reply).map_err(|e| HostError::BadReply(e.to_string()))?;
        if r.ok {
            Ok(r)
        } else {
            Err(HostError::BadReply(r.error.map(|e| e.message).unwrap_or_else(|| "configure failed".into())))
        }
    }

    /// Decides on one event; errors are typed.
    pub fn try_decide(&mut self, event: &[u8]) -> Result<Decision, HostError> {
        if event.len() > self.config.max_event_bytes {
            return Err(HostError::TooLarge { size: event.len(), limit: self.config.max_event_bytes });
        }
        // A plain decision's text (most replies) is recognized in place, without parsing it.
        // Any other reply is copied out and parsed after the call: parsing a long one (a
        // redacted event) must not spend the guest's time budget, which still runs until the
        // reply is freed.
        let reply = self
            .call_with(Call::Decide, event, |reply| Decision::from_plain_json(reply).ok_or_else(|| reply.to_vec()))?;
        reply.or_else(|text| serde_json::from_slice(&text).map_err(|e| HostError::BadReply(e.to_string())))
    }

    /// Changes the limits of later calls: fuel (with [`Interrupt::Fuel`]) and the largest event.
    pub fn set_limits(&mut self, fuel_per_decision: u64, max_event_bytes: usize) {
        self.config.fuel_per_decision = fuel_per_decision;
        self.config.max_event_bytes = max_event_bytes;
    }

    /// Changes the time budget of later decisions (with [`Interrupt::Epoch`]).
    pub fn set_time_per_decision(&mut self, time: Duration) {
        self.config.time_per_decision = time;
    }
}

/// The limit of one call.
#[derive(Clone, Copy)]
struct Budget {
    fuel: u64,
    time: Duration,
}

#[derive(Clone, Copy)]
enum Call {
    Load,
    Configure,
    Decide,
}

/// An instance with a bundle loaded, that recovers from traps.
pub struct Plugin {
    module: Arc<PluginModule>,
    bundle: Arc<[u8]>,
    /// The module's instances start with this bundle loaded.
    preloaded: bool,
    options: Option<serde_json::Value>,
    instance: Option<Instance>,
    limits: Option<(u64, usize)>,
    time: Option<Duration>,
    /// Instances replaced after a trap.
    pub restarts: u64,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin").field("restarts", &self.restarts).finish_non_exhaustive()
    }
}

impl Plugin {
    /// Instantiates the module and loads the bundle. A bundle the plugin refuses is an error.
    pub fn new(module: Arc<PluginModule>, bundle: Arc<[u8]>) -> Result<Plugin, HostError> {
        let preloaded = module.preloaded.as_deref().is_some_and(|d| d == scopecheck::bundle::sha256_hex(&bundle));
        let mut p =
            Plugin { module, bundle, preloaded, options: None, instance: None, limits: None, time: None, restarts: 0 };
        p.ensure()?;
        Ok(p)
    }

    /// Sets decision options (`{"mode": "monitor", "act_on": "high", "max_event_bytes": N}`);
    /// kept across restarts.
    pub fn configure(&mut self, options: serde_json::Value) -> Result<(), HostError> {
        self.ensure()?.configure(&options)?;
        self.options = Some(options);
        Ok(())
    }

    fn ensure(&mut self) -> Result<&mut Instance, HostError> {
        if self.instance.is_none() {
            let mut inst = self.module.instantiate()?;
            if !self.preloaded {
                inst.load_bundle(&self.bundle)?;
            }
            if let Some(o) = &self.options {
                inst.configure(o)?;
            }
            if let Some((fuel, max)) = self.limits {
                inst.set_limits(fuel, max);
            }
            if let Some(t) = self.time {
                inst.set_time_per_decision(t);
            }
            self.instance = Some(inst);
        }
        self.instance.as_mut().ok_or_else(|| HostError::Instantiate("no instance".into()))
    }

    /// Changes the fuel per decision and the largest event, for this plugin (kept across restarts).
    pub fn set_limits(&mut self, fuel_per_decision: u64, max_event_bytes: usize) {
        self.limits = Some((fuel_per_decision, max_event_bytes));
        if let Some(i) = self.instance.as_mut() {
            i.set_limits(fuel_per_decision, max_event_bytes);
        }
    }

    /// Changes the time budget of later decisions (with [`Interrupt::Epoch`]; kept across restarts).
    pub fn set_time_per_decision(&mut self, time: Duration) {
        self.time = Some(time);
        if let Some(i) = self.instance.as_mut() {
            i.set_time_per_decision(time);
        }
    }

    /// The live instance (for limits and measurements).
    pub fn instance(&mut self) -> Result<&mut Instance, HostError> {
        self.ensure()
    }

    /// Decides on one event; errors are typed. After a trap or breached limit the instance is
    /// dropped; the next call starts a fresh one.
    pub fn try_decide(&mut self, event: &[u8]) -> Result<Decision, HostError> {
        let inst = self.ensure()?;
        match inst.try_decide(event) {
            Ok(d) => Ok(d),
            Err(e @ HostError::TooLarge { .. }) => Err(e),
            Err(e) => {
                // The guest's state is unknown after a trap: never reuse it.
                self.instance = None;
                self.restarts += 1;
                Err(e)
            }
        }
    }

    /// Decides on one event. Never fails: every error is a `deny` with its reason.
    pub fn decide(&mut self, event: &[u8]) -> Decision {
        self.try_decide(event).unwrap_or_else(|e| e.to_decision())
    }
}

/// A few plugins for many threads. `decide` takes an idle plugin (or starts one, up to `size`),
/// decides, and puts it back.
pub struct PluginPool {
    module: Arc<PluginModule>,
    bundle: Arc<[u8]>,
    options: Option<serde_json::Value>,
    size: usize,
    state: Mutex<PoolState>,
    ready: Condvar,
}

struct PoolState {
    idle: Vec<Plugin>,
    live: usize,
}

impl PluginPool {
    /// A pool of up to `size` plugins (at least one; at most the module's `max_instances` less one,
    /// which is kept for restarts). Starts one plugin now, so a bad bundle is refused here.
    pub fn new(module: Arc<PluginModule>, bundle: Arc<[u8]>, size: usize) -> Result<PluginPool, HostError> {
        let cap = (module.config.max_instances as usize).saturating_sub(1).max(1);
        let first = Plugin::new(Arc::clone(&module), Arc::clone(&bundle))?;
        Ok(PluginPool {
            module,
            bundle,
            options: None,
            size: size.clamp(1, cap),
            state: Mutex::new(PoolState { idle: vec![first], live: 1 }),
            ready: Condvar::new(),
        })
    }

    /// Sets decision options on every plugin, present and future.
    pub fn configure(&mut self, options: serde_json::Value) -> Result<(), HostError> {
        let mut st = self.state.lock().map_err(|_| HostError::Instantiate("pool lock poisoned".into()))?;
        for p in st.idle.iter_mut() {
            p.configure(options.clone())?;
        }
        drop(st);
        self.options = Some(options);
        Ok(())
    }

    fn take(&self) -> Result<Plugin, HostError> {
        let mut st = self.state.lock().map_err(|_| HostError::Instantiate("pool lock poisoned".into()))?;
        loop {
            if let Some(p) = st.idle.pop() {
                return Ok(p);
            }
            if st.live < self.size {
                st.live += 1;
                drop(st);
                let made = Plugin::new(Arc::clone(&self.module), Arc::clone(&self.bundle)).and_then(|mut p| {
                    if let Some(o) = &self.options {
                        p.configure(o.clone())?;
                    }
                    Ok(p)
                });
                if made.is_err()
                    && let Ok(mut st) = self.state.lock()
                {
                    st.live = st.live.saturating_sub(1);
                }
                return made;
            }
            st = self.ready.wait(st).map_err(|_| HostError::Instantiate("pool lock poisoned".into()))?;
        }
    }

    /// Decides on one event; errors are typed.
    pub fn try_decide(&self, event: &[u8]) -> Result<Decision, HostError> {
        let mut p = self.take()?;
        let d = p.try_decide(event);
        if let Ok(mut st) = self.state.lock() {
            st.idle.push(p);
        }
        self.ready.notify_one();
        d
    }

    /// Decides on one event. Never fails: every error is a `deny` with its reason.
    pub fn decide(&self, event: &[u8]) -> Decision {
        self.try_decide(event).unwrap_or_else(|e| e.to_decision())
    }
}
