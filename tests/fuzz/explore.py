"""Run many generated programs outside pytest and sort the failures: `python tests/fuzz/explore.py START COUNT`.

Each program comes from `RandomChooser(seed)` for seed in [START, START + COUNT); failures are
grouped by their first line and written, one file per failing seed, to the folder given by --out.
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import sys
import tempfile
import time
import traceback

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from fuzz.oracle import KnownBugHit, Mismatch, Rejected, check_program, summary  # noqa: E402
from fuzz.programs import RandomChooser, generate  # noqa: E402


def main(argv=None):
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("start", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("--out", default=None, help="folder for failing programs")
    ap.add_argument("-v", action="store_true", help="print each rejection reason and the refusal messages")
    ap.add_argument("--small", action="store_true", help="programs of the size `make test` checks")
    opts = ap.parse_args(argv)
    out = pathlib.Path(opts.out) if opts.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    stats: dict = {}
    kinds = collections.Counter()
    rejects = collections.Counter()
    known = collections.Counter()
    first = {}
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(opts.start, opts.start + opts.count):
            program = None
            try:
                program = generate(RandomChooser(seed), **({"max_depth": 2, "max_stmts": 4} if opts.small else {}))
                check_program(program, seed, pathlib.Path(tmp), stats)
                kinds["ok"] += 1
            except Rejected as exc:
                kinds["rejected"] += 1
                rejects[str(exc).split(":")[0][:60]] += 1
                if opts.v:
                    print(seed, "rejected:", exc)
            except KnownBugHit as exc:
                kinds["known"] += 1
                known[exc.bug.test] += 1
            except Mismatch as exc:
                head = str(exc).splitlines()[0]
                key = head.split(",")[0][:80]
                kinds["mismatch"] += 1
                first.setdefault(key, (seed, head))
                if out:
                    (out / f"seed_{seed}.txt").write_text(str(exc))
            except Exception as exc:  # noqa: BLE001 - generator or oracle bugs, reported
                kinds["error"] += 1
                key = f"{type(exc).__name__}: {str(exc).splitlines()[0][:80] if str(exc) else ''}"
                first.setdefault(key, (seed, traceback.format_exc()))
                if out:
                    (out / f"error_{seed}.txt").write_text(traceback.format_exc() + "\n" + (program.source() if program else ""))
    print(f"{opts.count} programs in {time.time() - t0:.1f} s: {dict(kinds)}")
    print("autograd compared:", stats.get("autograd", 0), "autograd could not run:", stats.get("autograd_error", 0))
    for e in sorted(stats.get("autograd_errors", ()))[:20]:
        print("   autograd:", e)
    print("rejections:", dict(rejects.most_common(10)))
    print("known bugs:", dict(known.most_common()))
    for line in summary(stats):
        print(line)
    if opts.v:
        for key in ("refused_messages", "overcautious_messages"):
            for t, msgs in sorted(stats.get(key, {}).items()):
                for m in sorted(msgs)[:5]:
                    print(f"   {key.split('_')[0]} {t}: {m}")
    for key, (seed, text) in first.items():
        print(f"--- {key}  (first seed {seed})")
        print("   ", text.splitlines()[-1] if text.startswith("Traceback") else text)


if __name__ == "__main__":
    main()
