// Embed the scopecheck wasm plugin in Node 20+ (or TypeScript), with node:wasi and WebAssembly.
//
//   import { ScopecheckPlugin } from "./scopecheck_plugin.mjs";
//   const plugin = await ScopecheckPlugin.load("scopecheck_plugin.wasm", fs.readFileSync("mci.bundle"));
//   const d = plugin.decide(eventJsonText);   // {decision, would, findings, event?, error?}
//   if (d.decision === "allow") send(event); else if (d.decision === "redact") send(d.event);
//
// No WASI capability is granted: no preopened folder, no environment, no arguments. Every failure
// (a trap, a malformed reply) is a `deny`, and the next event gets a fresh instance.
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";

export const ABI_VERSION = 2;

const deny = (code, message) => ({
  decision: "deny", would: "deny", mode: "enforce", findings: [], error: { code, message },
});

export class ScopecheckPlugin {
  // prepare: compile every detector regex at start (and after a restart), so no decision pauses.
  static async load(wasmPath, bundle, { maxEventBytes = 4 * 1024 * 1024, prepare = false } = {}) {
    const module = await WebAssembly.compile(readFileSync(wasmPath));
    const p = new ScopecheckPlugin(module, Buffer.from(bundle), maxEventBytes);
    p.prepare = prepare;
    await p.start();
    return p;
  }

  constructor(module, bundle, maxEventBytes) {
    this.module = module;
    this.bundle = bundle;
    this.maxEventBytes = maxEventBytes;
    this.options = null;
  }

  async start() {
    const wasi = new WASI({ version: "preview1", args: [], env: {}, preopens: {}, returnOnExit: true });
    const instance = await WebAssembly.instantiate(this.module, wasi.getImportObject());
    wasi.initialize(instance);
    this.ex = instance.exports;
    const abi = this.ex.scopecheck_abi_version();
    if (abi !== ABI_VERSION) throw new Error(`the plugin speaks ABI ${abi}; this host speaks ABI ${ABI_VERSION}`);
    const reply = this.call(this.ex.scopecheck_load, this.bundle);
    if (!reply.ok) throw new Error(`the bundle was refused: ${reply.error?.message}`);
    this.bundleInfo = reply.bundle;
    if (this.options) this.call(this.ex.scopecheck_configure, Buffer.from(JSON.stringify(this.options)));
    // Optional export: compile now what the bundle would compile on first use.
    if (this.prepare && this.ex.scopecheck_prepare) this.ex.scopecheck_prepare();
  }

  call(fn, bytes) {
    const ptr = this.ex.scopecheck_alloc(bytes.length);
    if (ptr === 0) throw new Error("the plugin is out of memory");
    new Uint8Array(this.ex.memory.buffer, ptr, bytes.length).set(bytes);
    const packed = fn(ptr, bytes.length); // an i64: a BigInt
    this.ex.scopecheck_free(ptr, bytes.length);
    const rptr = Number(packed >> 32n), rlen = Number(packed & 0xffffffffn);
    if (rptr === 0) throw new Error("the plugin is out of memory");
    const text = Buffer.from(new Uint8Array(this.ex.memory.buffer, rptr, rlen)).toString("utf8");
    this.ex.scopecheck_free(rptr, rlen);
    return JSON.parse(text);
  }

  configure(options) {
    this.options = { ...(this.options ?? {}), ...options };
    return this.call(this.ex.scopecheck_configure, Buffer.from(JSON.stringify(this.options)));
  }

  /** Decides on one event (string, Buffer or object). Never throws: failures are a `deny`. */
  async decide(event) {
    const bytes = Buffer.isBuffer(event) ? event : Buffer.from(typeof event === "string" ? event : JSON.stringify(event));
    if (bytes.length > this.maxEventBytes) {
      return deny("too_large", `the event is ${bytes.length} bytes, over the ${this.maxEventBytes} byte limit`);
    }
    try {
      return this.call(this.ex.scopecheck_decide, bytes);
    } catch (e) {
      try { await this.start(); } catch { /* the next call fails and denies too */ }
      return deny("trap", `the plugin failed: ${e.message}`);
    }
  }
}
