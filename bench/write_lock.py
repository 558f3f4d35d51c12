"""What a check-in and a counter confirm cost, and how much of it runs under SQLite's write lock.

In process, one request at a time (no queueing, no network), through the Flask test client on a
throwaway instance (SQLite, or ``--postgres``): real logins, then

- check-ins: POST /duty/<id>/check-in, each a volunteer's first check-in to that session;
- confirms: POST /counter/v/<id>/confirm, each a different volunteer's first redemption of the
  month (one of each of an item pair, as bench/counter.py), prepared by bench/counter_setup.py.

For each POST it records the request's wall time, the time the write lock is held (from
``BEGIN IMMEDIATE`` to the end of the COMMIT; SQLite only), the SQL statements sent and how many of
them ran under the lock. It prints medians (and p95) per variant: the capacity of a database that
writes one transaction at a time is at most 1000 ÷ (lock held, ms) requests a second.

Variants run alternately in child processes on the same instance (``--rounds`` rounds, the order
reversed every other round): ``both`` (the defaults), ``neither``/``mutex``/``late`` (the write-lock
settings, as in checkin_throughput.py) and ``before`` (``--before DIR``: an export of an earlier
commit, imported instead of this folder's gridapp). Figures only.

    .venv/bin/python bench/write_lock.py [--postgres] [--compare before,both --before DIR] [--rounds 3]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _support
from checkin_throughput import VARIANTS, VOLUNTEERS, percentile, schedule_sessions

CHECKIN_VOLUNTEERS = 20  # logins per child; each checks in to SESSIONS_PER_CHILD sessions
SESSIONS_PER_CHILD = 4
CONFIRMS_PER_CHILD = 60
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# --- the child: measures in its own process -------------------------------------------------------

def child(sessions: list[int], volunteers: list[list], pair: list[list[int]], staff: str) -> dict:
    import secrets

    from sqlalchemy import event

    from gridapp import create_app
    from gridapp.extensions import db

    app = create_app()
    app.config["RATELIMIT_ENABLED"] = False
    probe = {"statements": 0, "locked_statements": 0, "lock_started": None, "lock_ms": 0.0, "sql": []}

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "before_cursor_execute")
        def count(_conn, _cursor, statement, *_args):
            probe["statements"] += 1
            if statement.startswith("BEGIN IMMEDIATE"):
                probe["lock_started"] = time.perf_counter()
            if probe["lock_started"] is not None:
                probe["locked_statements"] += 1
            mark = "L " if probe["lock_started"] is not None else "  "
            probe["sql"].append(mark + " ".join(statement.split())[:150])

        def ended(_session, transaction):
            # the outermost transaction only (a SAVEPOINT's end is not the lock's), after its COMMIT
            if transaction.parent is None and probe["lock_started"] is not None:
                probe["lock_ms"] += (time.perf_counter() - probe["lock_started"]) * 1000
                probe["lock_started"] = None

        event.listen(db.session, "after_transaction_end", ended)

    def login(client, phone):
        page = client.get("/login")
        token = CSRF.search(page.get_data(as_text=True)).group(1)
        answer = client.post("/login", data={"csrf_token": token, "phone": phone, "password": _support.DEMO_PASSWORD})
        if answer.status_code != 303:
            raise RuntimeError(f"login {phone}: {answer.status_code}")

    def measure(client, path, data, expect):
        for key in ("statements", "locked_statements", "lock_ms"):
            probe[key] = 0
        probe["sql"] = []
        started = time.perf_counter()
        answer = client.post(path, data=data, headers={"User-Agent": _support.USER_AGENT})
        ms = (time.perf_counter() - started) * 1000
        if answer.status_code != 303 or not re.search(expect, answer.headers.get("Location", "")):
            raise RuntimeError(f"POST {path}: {answer.status_code} {answer.headers.get('Location')}")
        if show_sql and not shown.get(path.split("/")[1]):
            shown[path.split("/")[1]] = True
            print(f"-- POST {path}: {len(probe['sql'])} statements (L: under the write lock)", file=sys.stderr)
            print("\n".join(probe["sql"]), file=sys.stderr)
        return {"ms": ms, "lock_ms": probe["lock_ms"], "statements": probe["statements"],
                "locked_statements": probe["locked_statements"]}

    out = {"checkin": [], "confirm": []}
    show_sql, shown = os.environ.get("GRIDAPP_BENCH_SHOW_SQL") == "1", {}
    for phone in VOLUNTEERS[:CHECKIN_VOLUNTEERS]:
        client = app.test_client()
        login(client, phone)
        page = client.get(f"/duty/{sessions[0]}").get_data(as_text=True)
        csrf = CSRF.search(page).group(1)
        for session_id in sessions:
            out["checkin"].append(measure(client, f"/duty/{session_id}/check-in",
                                          {"csrf_token": csrf, "token": secrets.token_urlsafe(24)},
                                          rf"/duty/{session_id}/check-in/done$"))
    client = app.test_client()
    login(client, staff)
    for n, (volunteer_id, _last4) in enumerate(volunteers):
        page = client.get(f"/counter/v/{volunteer_id}").get_data(as_text=True)
        csrf = CSRF.search(page).group(1)
        items = pair[n % len(pair)]
        data = {"csrf_token": csrf, "token": secrets.token_urlsafe(24), **{f"q{i}": "1" for i in items}}
        out["confirm"].append(measure(client, f"/counter/v/{volunteer_id}/confirm", data,
                                      r"/counter/redemptions/\d+$"))
    return out


# --- the parent: instance, preparation, variants in turn ------------------------------------------

def summary(samples: list[dict]) -> dict:
    def med(key):
        return statistics.median(s[key] for s in samples)

    return {"n": len(samples), "ms": med("ms"), "ms_p95": percentile(sorted(s["ms"] for s in samples), 95),
            "lock_ms": med("lock_ms"), "lock_p95": percentile(sorted(s["lock_ms"] for s in samples), 95),
            "statements": med("statements"), "locked_statements": med("locked_statements")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--compare", default="both", help="comma-separated: " + ", ".join(VARIANTS) + ", before")
    parser.add_argument("--before", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one check-in and one confirm")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(**json.loads(Path(args.child).read_text()))))
        return 0

    names = args.compare.split(",")
    instance = _support.postgres_instance() if args.postgres else _support.throwaway_instance()
    with instance as env:
        runs = args.rounds * len(names)
        sessions = schedule_sessions(env, runs * SESSIONS_PER_CHILD)
        setup = subprocess.run([str(_support.BIN / "python"), str(_support.BENCH / "counter_setup.py")],
                               cwd=_support.REPO, env=env, capture_output=True, text=True, timeout=600)
        if setup.returncode:
            raise RuntimeError(setup.stdout + setup.stderr)
        counter = json.loads(setup.stdout.strip().splitlines()[-1])
        volunteers = counter["volunteers"][200:]  # past the demo volunteers: first redemptions of the month
        print(f"== write lock, in process: {', '.join(names)}; {args.rounds} rounds; "
              f"{'PostgreSQL' if args.postgres else 'SQLite'} ==")
        print(f"  load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        results = {name: {"checkin": [], "confirm": []} for name in names}
        run = 0
        spec_file = Path(env["GRIDAPP_INSTANCE_PATH"]) / "write-lock-child.json"
        for number in range(args.rounds):
            for name in (names if number % 2 == 0 else list(reversed(names))):
                spec = {"sessions": sessions[run * SESSIONS_PER_CHILD:(run + 1) * SESSIONS_PER_CHILD],
                        "volunteers": volunteers[run * CONFIRMS_PER_CHILD:(run + 1) * CONFIRMS_PER_CHILD],
                        "pair": counter["pairs"], "staff": counter["tables"][0]}
                spec_file.write_text(json.dumps(spec))
                child_env = dict(env, GRIDAPP_BENCH_SHOW_SQL="1" if args.show_sql else "0")
                code = _support.REPO
                if name == "before":
                    code = args.before.resolve()
                    child_env["PYTHONPATH"] = str(code)
                else:
                    child_env.update(VARIANTS[name])
                result = subprocess.run([str(_support.BIN / "python"), str(Path(__file__).resolve()),
                                         "--child", str(spec_file)], cwd=code, env=child_env,
                                        capture_output=True, text=True, timeout=600)
                if args.show_sql and number == 0:
                    print(f"  {name}: the statements of its first check-in and first confirm\n" + result.stderr)
                if result.returncode:
                    raise RuntimeError(f"{name}: {result.stdout}{result.stderr}")
                measured = json.loads(result.stdout.strip().splitlines()[-1])
                for kind in ("checkin", "confirm"):
                    results[name][kind].append(summary(measured[kind]))
                c, r = results[name]["checkin"][-1], results[name]["confirm"][-1]
                print(f"  round {number + 1} {name:<8} load {os.getloadavg()[0]:4.2f} "
                      f"({_support.fsync_floor(Path(env['GRIDAPP_INSTANCE_PATH']), rounds=20)})  "
                      f"check-in {c['ms']:5.2f} ms (lock {c['lock_ms']:5.2f}, {c['statements']:.0f} statements, "
                      f"{c['locked_statements']:.0f} locked)   confirm {r['ms']:5.2f} ms (lock {r['lock_ms']:5.2f}, "
                      f"{r['statements']:.0f} statements, {r['locked_statements']:.0f} locked)")
                run += 1
        print(f"  medians over {args.rounds} rounds (each round: the median of "
              f"{CHECKIN_VOLUNTEERS * SESSIONS_PER_CHILD} check-ins and {CONFIRMS_PER_CHILD} confirms):")
        print(f"    {'variant':<8} {'':<9} {'request':>8} {'lock held':>9} {'lock p95':>8} {'statements':>10} "
              f"{'under lock':>10} {'lock share':>10}")
        for name in names:
            for kind in ("checkin", "confirm"):
                rows = results[name][kind]
                m = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
                share = m["lock_ms"] / m["ms"] if m["ms"] else float("nan")
                print(f"    {name:<8} {kind:<9} {m['ms']:6.2f}ms {m['lock_ms']:7.2f}ms {m['lock_p95']:6.2f}ms "
                      f"{m['statements']:10.0f} {m['locked_statements']:10.0f} {share:10.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
