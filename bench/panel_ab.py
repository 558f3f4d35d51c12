"""An A/B of a change to a page, in one process: the old and the new code run interleaved.

For a change made for speed, the code keeps both ways for the time of the measurement behind a
module attribute (a switch such as ``gridapp.counter.views:PANEL_ROWS``, added for the measurement
and removed after it; False = the old way, True = the new). On a copy of the demo world prepared as page_cpu.py prepares it (today a counter day, the
counter open, the same prepared WSGI environ with a settled login cookie), this script first checks
that both sides answer the same HTML (CSRF and one-time tokens masked), then runs ROUNDS rounds of
BATCH requests per side, the side that goes first alternating per round, with ``/healthz`` as the
control between them, and prints each side's median and p95 CPU ms and the ratio new ÷ old.

    .venv/bin/python bench/panel_ab.py --switch gridapp.counter.views:PANEL_ROWS [--page panel]
        [--instance DIR] [--rounds 16] [--batch 50]

Several ``--switch`` flip together. ``--path`` measures another path as the grid worker (e.g. the
basket fragment: ``--path '/counter/v/{vid}?q1=1' --htmx``). Figures only, nothing asserted.
"""
import argparse
import importlib
import statistics
import sys
import tempfile
from pathlib import Path

import _support
import counter_html_check
import ledger_scale
import page_cpu

ROUNDS = 16
BATCH = 50


def switches(specs):
    found = []
    for spec in specs:
        module, attr = spec.split(":")
        found.append((importlib.import_module(module), attr))
    return found


def set_side(found, new: bool) -> None:
    for module, attr in found:
        setattr(module, attr, new)


def run(env: dict, specs: list[str], page: str, path: str | None, htmx: bool, rounds: int, batch: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gridapp-bench-ab-") as tmp:
        demo_env = page_cpu.copy_instance(env, Path(tmp) / "demo")
        app = ledger_scale.make_app(demo_env)
        page_cpu.open_counter_today(app)
        callers = page_cpu.callers_for(app)
        found = switches(specs)
        if path:
            vid = page_cpu.volunteer_id(app, _support.DEMO_PHONE)
            caller = page_cpu.Caller(app, path.format(vid=vid), callers["panel"].cookie)
            if htmx:
                caller.environ["HTTP_HX_REQUEST"] = "true"
        else:
            caller = callers[page]
        control = callers["/healthz"]
        bodies = {}
        for new in (False, True):
            set_side(found, new)
            for _ in range(page_cpu.WARMUP):
                caller()
            bodies[new] = counter_html_check._masked(caller.body.decode())
        same = bodies[False] == bodies[True]
        print(f"  {caller.path}{' (htmx)' if htmx else ''}: both sides answer the same HTML: {same}")
        if not same:
            import difflib

            print("\n".join(list(difflib.unified_diff(bodies[False].splitlines(), bodies[True].splitlines(),
                                                      "old", "new", lineterm="", n=1))[:40]))
        times = {False: [], True: [], "control": []}
        print(f"  load average before: {page_cpu.load()}")
        for r in range(rounds):
            for new in ((False, True) if r % 2 == 0 else (True, False)):
                set_side(found, new)
                times[new] += [caller() for _ in range(batch)]
                times["control"] += [control() for _ in range(batch // 5)]
        print(f"  load average after:  {page_cpu.load()}")
        old, new = statistics.median(times[False]), statistics.median(times[True])
        print(f"  {', '.join(specs)}: {rounds} rounds × {batch} per side")
        print(f"    old  {old:6.3f} / {page_cpu.p95(times[False]):6.3f} ms (median / p95)")
        print(f"    new  {new:6.3f} / {page_cpu.p95(times[True]):6.3f} ms")
        print(f"    new ÷ old ×{new / old:.3f}   (control /healthz median {statistics.median(times['control']):.3f} ms)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switch", action="append", required=True, help="module:ATTRIBUTE (False old, True new)")
    parser.add_argument("--page", default="panel", choices=("/me", "/me/points", "panel", "lookup"))
    parser.add_argument("--path", help="another path as the grid worker ({vid}: the demo volunteer's id)")
    parser.add_argument("--htmx", action="store_true", help="with HX-Request: true (the fragment)")
    parser.add_argument("--instance", help="an existing demo instance folder to copy (default: build one)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--batch", type=int, default=BATCH)
    args = parser.parse_args(argv)
    run_args = (args.switch, args.page, args.path, args.htmx, args.rounds, args.batch)
    if args.instance:
        run(_support.base_env(Path(args.instance)), *run_args)
        return 0
    with _support.throwaway_instance() as env:
        run(env, *run_args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
