// Decide on every event of JSONL files with the scopecheck plugin; print one decision per line.
//   node enforce.mjs --plugin scopecheck_plugin.wasm --bundle mci.bundle [--prepare] fixtures/mci/captures.jsonl
import { readFileSync } from "node:fs";
import { ScopecheckPlugin } from "./scopecheck_plugin.mjs";

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  if (i < 0 || i + 1 >= args.length) throw new Error(`missing ${name}`);
  return args.splice(i, 2)[1];
};
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 && args.splice(i, 1).length === 1;
};
const prepare = flag("--prepare");
const plugin = await ScopecheckPlugin.load(opt("--plugin"), readFileSync(opt("--bundle")), { prepare });
const out = [];
for (const path of args) {
  const lines = readFileSync(path).toString("utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    if (line.trim() === "") continue;
    const d = await plugin.decide(line);
    out.push(JSON.stringify({ input: path, line: i + 1, ...d }));
  }
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
