"""epochs.py NAME: wasmtime epoch checks run per decision, by function (runs of instr.sh NAME).

A check is a compare and a conditional jump to a block that calls wasmtime_builtin_new_epoch
(after a second compare against the deadline reloaded); the jumps counted are those."""
import collections
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from annotate import disassemble, per_decision  # noqa: E402


def main():
    name = sys.argv[1]
    m1, m2, c1, c2 = per_decision(name)
    funcs = {}
    cur = None
    for line in disassemble(name).splitlines():
        g = re.match(r'([0-9a-f]+) <(.*)>:', line)
        if g:
            cur = g.group(2)
            funcs[cur] = (int(g.group(1), 16), [])
            continue
        g = re.match(r'\s+([0-9a-f]+):\s+(\S+)\s*(.*)', line)
        if g and cur:
            funcs[cur][1].append((int(g.group(1), 16), g.group(2), g.group(3)))
    checks = collections.Counter()
    for f, (base, ins) in funcs.items():
        short = f.split('::', 2)[-1] if f.startswith('wasm[0]::function') else None
        if not short or short not in m2:
            continue
        at = {a: k for k, (a, _, _) in enumerate(ins)}
        for a, op, arg in ins:
            t = re.match(r'([0-9a-f]+)', arg)
            if op not in ('jae', 'jb', 'jbe', 'ja') or not t or int(t.group(1), 16) not in at:
                continue
            j = at[int(t.group(1), 16)]
            if any('new_epoch' in x[2] for x in ins[j:j + 10]):
                off = a - base
                checks[short] += (c2.get(m2[short][0] + off, 0) - c1.get(m1[short][0] + off, 0)) / 2000
    print('epoch checks per decision', round(sum(checks.values())))
    for k, v in checks.most_common(25):
        print(f'{v:8.0f} {k[:120]}')


if __name__ == '__main__':
    main()
