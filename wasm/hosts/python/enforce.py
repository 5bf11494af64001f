"""Decide on every event of JSONL files with the scopecheck plugin; print one decision per line.

    python3 enforce.py --plugin scopecheck_plugin.wasm --bundle mci.bundle fixtures/mci/captures.jsonl
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scopecheck_plugin import ScopecheckPlugin  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--prepare", action="store_true", help="compile every detector regex at start")
    ap.add_argument("events", nargs="+")
    args = ap.parse_args()
    with open(args.bundle, "rb") as f:
        plugin = ScopecheckPlugin(args.plugin, f.read(), prepare=args.prepare)
    out = sys.stdout
    for path in args.events:
        with open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip(b"\r\n")
                if not line.strip():
                    continue
                d = plugin.decide(line)
                out.write(json.dumps({"input": path, "line": n, **d}, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
