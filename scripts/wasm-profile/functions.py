"""functions.py NAME MODE [N]: the N costliest functions of a decision (runs of cg.sh NAME MODE),
instructions per decision; wasm functions (named from the perf map) are marked W:."""
import bisect
import collections
import re
import sys


def load_map(path):
    m = []
    try:
        for line in open(path):
            a, s, n = line.rstrip('\n').split(' ', 2)
            m.append((int(a, 16), int(s, 16), n))
    except FileNotFoundError:
        pass
    m.sort()
    return m


def symbol(m, keys, name):
    if name.startswith('0x'):
        a = int(name.split("'")[0], 16)
        i = bisect.bisect_right(keys, a) - 1
        if i >= 0 and m[i][0] <= a < m[i][0] + m[i][1]:
            return 'W:' + m[i][2]
    return name


def parse(path):
    m = load_map(path + '.map')
    keys = [x[0] for x in m]
    names = {}
    cost = collections.Counter()
    cur = None
    skip = False
    for line in open(path):
        if line.startswith(('fn=', 'cfn=')):
            g = re.match(r'c?fn=\((\d+)\)(?: (.*))?', line.strip())
            if g and g.group(2):
                names[g.group(1)] = g.group(2)
            if line.startswith('fn='):
                cur = symbol(m, keys, names[g.group(1)]) if g else symbol(m, keys, line.strip()[3:])
            continue
        if line.startswith('calls='):
            skip = True
            continue
        if line and (line[0].isdigit() or line[0] in '+-*'):
            if skip:
                skip = False
                continue
            parts = line.split()
            if len(parts) >= 2 and cur:
                cost[cur] += int(parts[1])
    return cost


def main():
    name, mode = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    a, b = parse(f'/tmp/cg.{name}.{mode}.100'), parse(f'/tmp/cg.{name}.{mode}.2100')
    d = {k: (b[k] - a.get(k, 0)) / 2000 for k in b}
    print('total per decision', round(sum(d.values())))
    for k, v in sorted(d.items(), key=lambda x: -x[1])[:top]:
        if abs(v) < 20:
            break
        print(f'{v:9.0f} {k[:150]}')


if __name__ == '__main__':
    main()
