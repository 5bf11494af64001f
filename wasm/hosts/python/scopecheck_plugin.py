"""Embed the scopecheck wasm plugin in Python, with the `wasmtime` package from PyPI.

    from scopecheck_plugin import ScopecheckPlugin
    plugin = ScopecheckPlugin("scopecheck_plugin.wasm", open("mci.bundle", "rb").read())
    decision = plugin.decide(event_json_text)      # a dict: decision, would, findings, event...
    # prepare=True: compile every detector regex at start, so that no decision pauses for one
    if decision["decision"] == "allow":   send(event)
    elif decision["decision"] == "redact": send(decision["event"])
    # "deny": drop it

No WASI capability is granted: no preopened folder, no environment, no arguments; stdout and
stderr are not inherited. Every failure (a trap, fuel exhausted, a malformed reply) is a `deny`.
"""

import json

import wasmtime

ABI_VERSION = 2


def _deny(code, message):
    return {"decision": "deny", "would": "deny", "mode": "enforce", "findings": [],
            "error": {"code": code, "message": message}}


class ScopecheckPlugin:
    """One plugin instance with a bundle loaded. Not thread-safe: use one per thread."""

    def __init__(self, wasm_path, bundle, fuel_per_decision=2_000_000_000, fuel_per_load=40_000_000_000,
                 max_event_bytes=4 * 1024 * 1024, prepare=False):
        config = wasmtime.Config()
        config.consume_fuel = True
        self._engine = wasmtime.Engine(config)
        self._module = wasmtime.Module.from_file(self._engine, wasm_path)
        self._bundle = bytes(bundle)
        self._fuel = fuel_per_decision
        self._load_fuel = fuel_per_load
        self._max_event = max_event_bytes
        self._options = None
        # Also after a restart (a trap): every instance compiles its regexes ahead, none pauses.
        self._prepare = prepare
        self._start()

    def _start(self):
        linker = wasmtime.Linker(self._engine)
        linker.define_wasi()
        self._store = wasmtime.Store(self._engine)
        self._store.set_wasi(wasmtime.WasiConfig())  # nothing granted
        inst = linker.instantiate(self._store, self._module)
        ex = inst.exports(self._store)
        self._memory = ex["memory"]
        self._abi = ex["scopecheck_abi_version"]
        self._alloc = ex["scopecheck_alloc"]
        self._free = ex["scopecheck_free"]
        self._load = ex["scopecheck_load"]
        self._configure = ex["scopecheck_configure"]
        self._decide = ex["scopecheck_decide"]
        self._store.set_fuel(1_000_000)
        abi = self._abi(self._store)
        if abi != ABI_VERSION:
            raise RuntimeError(f"the plugin speaks ABI {abi}; this host speaks ABI {ABI_VERSION}")
        reply = self._call(self._load, self._bundle, self._load_fuel)
        if not reply.get("ok"):
            raise ValueError(f"the bundle was refused: {reply.get('error', {}).get('message')}")
        self.bundle_info = reply.get("bundle")
        if self._options is not None:
            self._call(self._configure, json.dumps(self._options).encode(), self._fuel)
        if self._prepare:
            # Optional export: compile now what the bundle would compile on first use.
            try:
                prepare = ex["scopecheck_prepare"]
            except KeyError:
                prepare = None
            if prepare is not None:
                self._store.set_fuel(self._load_fuel)
                prepare(self._store)

    def _call(self, func, data, fuel):
        self._store.set_fuel(fuel)
        ptr = self._alloc(self._store, len(data))
        if ptr == 0:
            raise MemoryError("the plugin is out of memory")
        self._memory.write(self._store, data, ptr)
        packed = func(self._store, ptr, len(data))
        self._free(self._store, ptr, len(data))
        rptr, rlen = packed >> 32, packed & 0xFFFFFFFF
        if rptr == 0:
            raise MemoryError("the plugin is out of memory")
        reply = self._memory.read(self._store, rptr, rptr + rlen)
        self._free(self._store, rptr, rlen)
        return json.loads(reply)

    def configure(self, **options):
        """mode="enforce"|"monitor", act_on="info".."critical", max_event_bytes=N."""
        self._options = dict(self._options or {}, **options)
        return self._call(self._configure, json.dumps(self._options).encode(), self._fuel)

    def decide(self, event):
        """Decides on one event (str, bytes or dict). Never raises: failures are a `deny`."""
        if isinstance(event, dict):
            event = json.dumps(event)
        data = event.encode() if isinstance(event, str) else bytes(event)
        if len(data) > self._max_event:
            return _deny("too_large", f"the event is {len(data)} bytes, over the {self._max_event} byte limit")
        try:
            return self._call(self._decide, data, self._fuel)
        except Exception as e:  # a trap, out of fuel, a malformed reply: deny, and start afresh
            code = "out_of_fuel" if "fuel" in str(e) else "trap"
            try:
                self._start()
            except Exception:
                pass
            return _deny(code, f"the plugin failed: {e}")
