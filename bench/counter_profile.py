"""The exchange counter's steps in process: CPU per step of a whole redemption, and where it goes.

A throwaway instance prepared by counter_setup.py (as counter.py), then, in a child process, the
app called through the Flask test client (no gunicorn, no network): the demo grid worker serves
``--count`` volunteers, each redemption the six steps of counter.py (lookup, volunteer panel, two
+ presses as htmx sends them, confirm, receipt), after ``--warmup`` redemptions not counted. It
prints each step's median CPU time (``time.process_time``) and wall time, and the SQL statements
each sends; ``--profile STEP`` also prints cProfile's top functions of that step (cumulative and
own time), ``--show-sql`` the statements of each step's first request. The child freezes what it
loaded after the warm-up (``gc.freeze``, as a gunicorn worker does after gunicorn_config.py's warm-up;
``--gc``), and prints the garbage collector's time per redemption. ``--code DIR --rounds N``: this
code and an export of another commit alternately (the order reversed every other round), each run on
volunteers of its own; ``--compare-gc 'freeze;freeze,threshold=7000'``: this code under each setting.
Figures only.

    .venv/bin/python bench/counter_profile.py [--count 200] [--profile confirm] [--code DIR --rounds 2]
"""
import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import time

import _support
import counter


class ClientTable:
    """counter.Table's interface over the Flask test client: (status, location path, text, ms)."""

    def __init__(self, client, profiler=None, profile_step=None):
        self.client = client
        self.cpu = {step: [] for step in counter.STEPS}
        self.statements = {step: [] for step in counter.STEPS}
        self.profiler, self.profile_step = profiler, profile_step
        self.probe = None
        self.n = 0
        self.show_sql = False
        self.sql = {}

    def request(self, method, path, fields=None, htmx=False):
        step = _step_of(method, path, self.n)
        headers = {"User-Agent": _support.USER_AGENT}
        if htmx:
            headers["HX-Request"] = "true"
        self.probe["statements"] = 0
        if self.show_sql and self.n < len(counter.STEPS):
            self.probe["sql"] = []
        profiling = self.profiler is not None and step == self.profile_step
        cpu, started = time.process_time(), time.perf_counter()
        if profiling:
            self.profiler.enable()
        answer = (self.client.post(path, data=fields, headers=headers) if method == "POST"
                  else self.client.get(path, headers=headers))
        text = answer.get_data(as_text=True)
        if profiling:
            self.profiler.disable()
        ms = (time.perf_counter() - started) * 1000
        self.cpu[step].append((time.process_time() - cpu) * 1000)
        self.statements[step].append(self.probe["statements"])
        if self.probe.get("sql") is not None:
            self.sql[step] = self.probe.pop("sql")
        self.n += 1
        location = answer.headers.get("Location", "")
        return answer.status_code, location.split("?")[0].replace("http://localhost", ""), text, ms


def _step_of(method, path, n):
    return counter.STEPS[n % len(counter.STEPS)]


def child(volunteers, pairs, warmup, count, profile_step):
    from sqlalchemy import event

    from gridapp import create_app
    from gridapp.extensions import db

    app = create_app()
    app.config["RATELIMIT_ENABLED"] = False
    probe = {"statements": 0}
    with app.app_context():
        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(_conn, _cursor, statement, *_args):
            probe["statements"] += 1
            if probe.get("sql") is not None:
                probe["sql"].append(" ".join(statement.split())[:160])

    client = app.test_client()
    counter._forms.log_in(client, counter.SERIAL_STAFF, _support.DEMO_PASSWORD)
    queue = iter(volunteers)
    warm = ClientTable(client)
    warm.probe = probe
    times = counter._new_times()
    for n in range(warmup):
        volunteer_id, last4 = next(queue)
        counter.redeem(warm, volunteer_id, last4, pairs[n % len(pairs)], times)
    import gc

    gc_setting = os.environ.get("GRIDAPP_BENCH_GC", "")
    if "freeze" in gc_setting:  # as a gunicorn worker after gunicorn_config.py's warm-up
        gc.collect()
        gc.freeze()
    if "threshold=" in gc_setting:
        gc.set_threshold(int(gc_setting.split("threshold=")[1].split(",")[0]), *gc.get_threshold()[1:])
    gc_time = {"ms": 0.0, "started": 0.0, "collections": [0, 0, 0]}

    def on_gc(phase, info):
        if phase == "start":
            gc_time["started"] = time.perf_counter()
        else:
            gc_time["ms"] += (time.perf_counter() - gc_time["started"]) * 1000
            gc_time["collections"][info["generation"]] += 1

    gc.callbacks.append(on_gc)
    profiler = cProfile.Profile() if profile_step else None
    table = ClientTable(client, profiler, profile_step)
    table.probe = probe
    table.show_sql = os.environ.get("GRIDAPP_BENCH_SHOW_SQL") == "1"
    times = counter._new_times()
    for n in range(count):
        volunteer_id, last4 = next(queue)
        counter.redeem(table, volunteer_id, last4, pairs[n % len(pairs)], times)
    import gridapp

    gc.callbacks.remove(on_gc)
    out = {"gc": {"ms_per_redemption": gc_time["ms"] / count, "collections": gc_time["collections"]},
           "app": os.path.dirname(gridapp.__file__), "cpu": table.cpu, "wall": times,
           "statements": table.statements, "sql": table.sql}
    if profiler is not None:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        out["profile"] = text.getvalue()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--profile", choices=counter.STEPS, help="cProfile this step")
    parser.add_argument("--gc", default="freeze", help="freeze (as a worker after its warm-up; the default), "
                        "'' (nothing), or threshold=N (generation 0's threshold), comma-separated")
    parser.add_argument("--compare-gc", help="run this code with each of these --gc settings, ';'-separated")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each variant, alternately")
    parser.add_argument("--show-sql", action="store_true", help="the SQL of each step's first request")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--code", help="import the app from this folder (an export of another commit)")
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.child)
        result = child(spec["volunteers"], spec["pairs"], args.warmup, args.count, args.profile)
        print(json.dumps(result))
        return 0
    with _support.throwaway_instance() as env:
        setup = counter.prepare(env)
        runs = [("this", None, args.gc)] + ([("code", args.code, args.gc)] if args.code else [])
        if args.compare_gc:
            runs = [(f"gc {setting or 'untouched'}", None, setting) for setting in args.compare_gc.split(";")]
        variants = len(runs)
        runs = [run for n in range(args.rounds) for run in (runs if n % 2 == 0 else runs[::-1])]
        offset, summary = 0, {}
        for name, code, gc_setting in runs:
            # each volunteer redeems once: every run takes the next ones (their first of the month)
            spec = json.dumps({"volunteers": setup["volunteers"][offset:], "pairs": setup["pairs"]})
            offset += args.warmup + args.count
            child_env = dict(env, PYTHONPATH=code) if code else dict(env)
            child_env["GRIDAPP_BENCH_SHOW_SQL"] = "1" if args.show_sql else "0"
            child_env["GRIDAPP_BENCH_GC"] = gc_setting
            command = [str(_support.BIN / "python"), __file__, "--child", spec, "--count", str(args.count),
                       "--warmup", str(args.warmup)] + (["--profile", args.profile] if args.profile else [])
            done = subprocess.run(command, env=child_env, cwd=code or _support.REPO, capture_output=True,
                                  text=True, timeout=600)
            if done.returncode != 0:
                print(done.stdout[-3000:], done.stderr[-5000:])
                return 1
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"== {name} ({result['app']}): {args.count} redemptions in process, "
                  f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            total = 0.0
            for step in counter.STEPS:
                cpu = statistics.median(result["cpu"][step])
                total += cpu
                summary.setdefault((name, step), []).append(cpu)
                print(f"  {step:<10} CPU {cpu:5.2f} ms   wall {statistics.median(result['wall'][step]):5.2f} ms   "
                      f"statements {statistics.median(result['statements'][step]):.0f}")
            summary.setdefault((name, "sum"), []).append(total)
            print(f"  sum of medians: CPU {total:.2f} ms; garbage collector {result['gc']['ms_per_redemption']:.2f} ms "
                  f"per redemption (collections per generation: {result['gc']['collections']})")
            for step, sql in result["sql"].items():
                print(f"  -- {step}: {len(sql)} statements\n    " + "\n    ".join(sql))
            if result.get("profile"):
                print(result["profile"])
        if len(runs) > 1:
            print("== median CPU over the rounds (ms): " + "; ".join(
                f"{step} " + " / ".join(f"{name} {statistics.median(summary[(name, step)]):.2f}"
                                        for name, *_ in runs[:variants])
                for step in (*counter.STEPS, "sum")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
