"""annotate.py NAME REGEX: the compiled code of the wasm function whose name matches REGEX, each
instruction with how often it ran per decision (runs of instr.sh NAME: 2,100 decisions less 100,
over 2,000)."""
import collections
import re
import subprocess
import sys


def costs(path):
    """Instructions run at each address, from a callgrind file written with --dump-instr=yes."""
    c = collections.Counter()
    skip = False
    last = 0
    for line in open(path):
        if line.startswith('calls='):
            skip = True  # the next cost line is the call's inclusive cost
            continue
        if not line or line[0] not in '0123456789+-*':
            continue
        parts = line.split()
        a = parts[0]
        if a.startswith('0x'):
            addr = int(a, 16)
        elif a.startswith('+'):
            addr = last + int(a[1:], 0)
        elif a.startswith('-'):
            addr = last - int(a[1:], 0)
        elif a == '*':
            addr = last
        else:
            addr = int(a)
        last = addr
        if skip:
            skip = False
            continue
        if len(parts) >= 3:
            c[addr] += int(parts[2])
    return c


def perf_map(path):
    """Function name -> (runtime address, size), from a perf map."""
    d = {}
    for line in open(path):
        a, s, n = line.rstrip('\n').split(' ', 2)
        d[n] = (int(a, 16), int(s, 16))
    return d


def per_decision(name):
    """(maps, costs) of the two runs, for per-decision differences."""
    m1, m2 = perf_map(f'/tmp/pi.{name}.100.map'), perf_map(f'/tmp/pi.{name}.2100.map')
    c1, c2 = costs(f'/tmp/pi.{name}.100'), costs(f'/tmp/pi.{name}.2100')
    return m1, m2, c1, c2


def disassemble(name, symbol=None):
    args = ['objdump', '-d', '--no-show-raw-insn', '-M', 'intel', f'/tmp/pi.{name}.cwasm']
    if symbol:
        args.append(f'--disassemble={symbol}')
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def main():
    name, rx = sys.argv[1], sys.argv[2]
    m1, m2, c1, c2 = per_decision(name)
    target = next(n for n in m2 if re.search(rx, n))
    nm = subprocess.run(['nm', f'/tmp/pi.{name}.cwasm'], capture_output=True, text=True, check=True).stdout
    addr, sym = next((int(l.split()[0], 16), l.split()[2]) for l in nm.splitlines() if l.endswith(target))
    total = 0.0
    for line in disassemble(name, sym).splitlines():
        g = re.match(r'\s+([0-9a-f]+):\s+(.*)', line)
        if not g:
            continue
        off = int(g.group(1), 16) - addr
        v = (c2.get(m2[target][0] + off, 0) - c1.get(m1[target][0] + off, 0)) / 2000
        total += v
        print(f'{v:7.1f} {off:5x} {g.group(2)[:90]}')
    print('total', total)


if __name__ == '__main__':
    main()
