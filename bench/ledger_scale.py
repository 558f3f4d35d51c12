"""Ledger scale: the points pages' server time as the ledger grows to 100,000 volunteers and 2,000,000 entries.

A throwaway SQLite database of its own (temp folder, ``flask db upgrade``), grown in steps (SIZES:
10k/200k, 30k/600k, 100k/2M volunteers/entries) by bulk inserts with sqlite3 directly:

- volunteers: active, a valid argon2 hash of PASSWORD (hashed once with
  gridapp.auth.passwords.hash_password in an app context, then reused), ``points_balance`` equal
  to the sum of their entries;
- entries: kind 'award', positive deltas, unique idempotency keys, created by one grid worker,
  spread over the past two years. Each step's entries go to that step's new volunteers, picked
  with weights (1, 1, 1, 2, 3, 6) as in the demo seeding: 20 entries per volunteer on average,
  about 50 for the keenest. INSERT is all the append-only ledger allows, and all this needs.

A copy of the database is kept at each smaller size, and the sizes are measured side by side (one
volunteer of each size in turn), so that a change in the machine's load shifts them alike. At each
size it measures, over SAMPLE random volunteers (after a warm-up), in this process:

- ``points.balance(user)`` (it reads the loaded user's cached ``points_balance``, so also the load
  of the user by id that precedes it on every request), ``points.history(user)`` (page 1, items
  and created_by loaded, with the count the pager needs) and ``points.earned_since(user, start of
  month)`` (本月获得), each inside a GET request context;
- the whole GET /me/points through the Flask test client, logged in (a real login) as that volunteer.

It prints median and p95 (target < 20 ms, growing no faster than log n), the query plans, the
generation time, and at the largest size how long ``flask verify`` takes, plus each check's share.
Figures only.

``.venv/bin/python bench/ledger_scale.py`` runs it on its own (a few minutes); bench/run_all.py
runs it last, unless ``--quick``.
"""
import contextlib
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

import _forms
import _support  # bench/ is on sys.path: these files run as scripts

SIZES = [(10_000, 200_000), (30_000, 600_000), (100_000, 2_000_000)]
SAMPLE = 200
WARMUP = 20
TARGET_MS = 20.0
PASSWORD = "gridapp2026"
SEED = 20260101
WEIGHTS = (1, 1, 1, 2, 3, 6)
DELTAS = (5, 10, 10, 10, 15, 20)
DESCRIPTIONS = ["安全巡逻：南门夜间巡逻", "安全巡逻：北门夜间巡逻", "环境卫生整治：周六环境卫生整治",
                "政策宣传：政策宣传进楼栋", "扫雪除冰：扫雪除冰：主干道和背街小巷"]
STAFF_ID = 1
CHUNK = 100_000


def fmt(ms: float) -> str:
    return f"{ms:.2f}"


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(0.95 * len(ordered)))) - 1]


# --- generation ---------------------------------------------------------------------------

def ts(moment) -> str:
    """A naive UTC datetime as SQLAlchemy stores it in SQLite."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def grow(con: sqlite3.Connection, rng: random.Random, password_hash: str, now,
         users_from: int, users_to: int, entries_from: int, entries_to: int) -> None:
    """Add volunteers with ids users_from..users_to-1 (user id = index + 2) and their entries."""
    first_id, last_id = users_from + 2, users_to + 2  # id 1 is the grid worker
    ids = range(first_id, last_id)
    cum, total = [], 0
    for _ in ids:
        total += rng.choice(WEIGHTS)
        cum.append(total)
    count = entries_to - entries_from
    owners = rng.choices(ids, cum_weights=cum, k=count)
    deltas = rng.choices(DELTAS, k=count)
    balances = dict.fromkeys(ids, 0)
    for owner, delta in zip(owners, deltas):
        balances[owner] += delta
    created = ts(now)
    con.executemany(
        "INSERT INTO users (id, name, phone, password_hash, role, status, created_at, reviewed_at, "
        "points_balance) VALUES (?, ?, ?, ?, 'volunteer', 'active', ?, ?, ?)",
        ((uid, f"志愿者{uid}", f"15{uid:09d}", password_hash, created, created,
          balances[uid]) for uid in ids))
    span = timedelta(days=730)
    start = now - span
    for chunk_start in range(0, count, CHUNK):
        rows = []
        for j in range(chunk_start, min(count, chunk_start + CHUNK)):
            entry_id = entries_from + j + 1
            rows.append((entry_id, owners[j], deltas[j], f"bench:{entry_id}", DESCRIPTIONS[entry_id % len(DESCRIPTIONS)],
                         f"bench:{entry_id}:award:after:0", STAFF_ID, ts(start + span * (j / count))))
        con.executemany(
            "INSERT INTO points_entries (id, volunteer_id, delta, kind, reference, description, idempotency_key, "
            "created_by_id, created_at) VALUES (?, ?, ?, 'award', ?, ?, ?, ?, ?)", rows)


# --- measurement -------------------------------------------------------------------------

def make_app(env: dict):
    from gridapp import create_app
    from gridapp.config import Config

    config = Config(Path(env["GRIDAPP_INSTANCE_PATH"]))
    config.SQLALCHEMY_DATABASE_URI = env["GRIDAPP_DATABASE_URL"]
    config.SESSION_COOKIE_SECURE = config.REMEMBER_COOKIE_SECURE = False  # the test client speaks http
    config.PREFERRED_URL_SCHEME = "http"
    return create_app(config)


def time_services(app, user_ids: list[int]) -> dict[str, list[float]]:
    from gridapp.auth.models import User
    from gridapp.clock import start_of_local_month, utcnow
    from gridapp.extensions import db
    from gridapp.points import service as points

    times = {"user+balance": [], "balance": [], "history": [], "earned_since": []}
    for uid in user_ids:
        with app.test_request_context("/me/points"):  # a GET: a deferred (read) transaction, as on the page
            since = start_of_local_month(utcnow())
            db.session.execute(text("SELECT 1"))  # the transaction begins outside the timings
            t0 = time.perf_counter()
            user = db.session.get(User, uid)  # by primary key, as every request's user loader does
            t1 = time.perf_counter()
            value = points.balance(user)
            t2 = time.perf_counter()
            page = points.history(user)
            for entry in page.items:
                _ = entry.created_by
            _ = page.total, page.pages
            t3 = time.perf_counter()
            points.earned_since(user, since)
            t4 = time.perf_counter()
            if not page.items or sum(e.delta for e in page.items) > value:
                raise RuntimeError(f"user {uid}: balance {value}, {len(page.items)} entries on page 1")
        times["user+balance"].append((t2 - t0) * 1000)
        times["balance"].append((t2 - t1) * 1000)
        times["history"].append((t3 - t2) * 1000)
        times["earned_since"].append((t4 - t3) * 1000)
    return times


def time_pages(app, user_ids: list[int]) -> list[float]:
    """GET /me/points through the test client, each volunteer really logged in first (not timed)."""
    times = []
    for uid in user_ids:
        client = app.test_client()
        login_page = client.get("/login")
        fields = _forms.form_posting_to(login_page.get_data(as_text=True), "/login") or {}
        answer = client.post("/login", data={**fields, "phone": f"15{uid:09d}", "password": PASSWORD})
        if answer.status_code != 303:
            raise RuntimeError(f"login of generated volunteer {uid} answered {answer.status_code}")
        t0 = time.perf_counter()
        page = client.get("/me/points")
        times.append((time.perf_counter() - t0) * 1000)
        if page.status_code != 200:
            raise RuntimeError(f"GET /me/points as volunteer {uid} answered {page.status_code}")
    return times


def query_plans(app, uid: int) -> list[str]:
    """EXPLAIN QUERY PLAN of the page's ledger queries, as SQLAlchemy sends them."""
    from sqlalchemy import event

    from gridapp.auth.models import User
    from gridapp.clock import start_of_local_month, utcnow
    from gridapp.extensions import db
    from gridapp.points import service as points

    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "points_entries" in statement or "points_balance" in statement.split("FROM")[0]:
            seen.append((statement, parameters))

    with app.test_request_context("/me/points"):
        user = db.session.get(User, uid)
        engine = db.engine
        event.listen(engine, "before_cursor_execute", capture)
        try:
            points.balance(user)
            page = points.history(user)
            _ = page.total
            points.earned_since(user, start_of_local_month(utcnow()))
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        lines = []
        raw = db.session.connection().connection.dbapi_connection
        for statement, parameters in seen:
            plan = raw.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            first = " ".join(statement.split())[:90]
            lines.append(f"{first}…\n        " + "; ".join(row[-1] for row in plan))
    return lines


def line(label: str, values: list[float]) -> str:
    verdict = "met" if p95(values) < TARGET_MS else "MISSED"
    return (f"    {label:<34} median {fmt(statistics.median(values)):>7} ms   p95 {fmt(p95(values)):>7} ms   "
            f"(target < {TARGET_MS:.0f} ms: {verdict})")


def verify_checks(app) -> list[tuple[str, float, int]]:
    """Each invariant check's time in this process: which one dominates ``flask verify``."""
    from gridapp import invariants
    from gridapp.extensions import db

    out = []  # create_app registered every check
    with app.app_context():
        for name, check in invariants.CHECKS.items():
            t0 = time.perf_counter()
            violations = list(check())
            out.append((name, time.perf_counter() - t0, len(violations)))
            db.session.rollback()
    return out


def run(sizes=SIZES, sample: int = SAMPLE) -> dict:
    print("== ledger scale ==")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  (other work on the 2 cores skews every figure)")
    rng = random.Random(SEED)
    results = {}
    with tempfile.TemporaryDirectory(prefix="gridapp-bench-ledger-") as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir()
        env = _support.base_env(instance)
        _support.flask(env, "db", "upgrade")
        app = make_app(env)
        with app.app_context():
            from gridapp.auth.passwords import hash_password
            from gridapp.clock import utcnow
            password_hash = hash_password(PASSWORD)
            now = utcnow()
        path = env["GRIDAPP_DATABASE_URL"].removeprefix("sqlite:///")
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA cache_size=-400000")  # 400 MB while loading; the app's own connections use the default
        con.execute("PRAGMA synchronous=OFF")      # a throwaway file: no need to survive a power cut while loading
        con.execute("INSERT INTO users (id, name, phone, password_hash, role, status, created_at, "
                    "reviewed_at) VALUES (?, '贾亮', '13800000002', ?, 'staff', 'active', ?, ?)",
                    (STAFF_ID, password_hash, ts(now), ts(now)))

        # Grow the database step by step; a copy of each smaller size is kept, so that all sizes can be
        # measured side by side: a change in the machine's load then shifts every size alike.
        users_done = entries_done = 0
        generation_total = 0.0
        files = {}
        for size in sizes:
            users, entries = size
            t0 = time.monotonic()
            con.execute("BEGIN")
            grow(con, rng, password_hash, now, users_done, users, entries_done, entries)
            con.execute("COMMIT")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            took = time.monotonic() - t0
            generation_total += took
            users_done, entries_done = users, entries
            if size == sizes[-1]:
                files[size] = Path(path)
            else:
                files[size] = Path(tmp) / f"ledger-{users}-{entries}.sqlite3"
                shutil.copyfile(path, files[size])
            results[size] = {"generation_s": took, "size_mb": files[size].stat().st_size / 1e6}
            print(f"  {users:>7,} volunteers / {entries:>9,} entries: generated in {took:5.1f} s, "
                  f"database {results[size]['size_mb']:,.0f} MB")
        con.close()
        print(f"  generation: {generation_total:.1f} s in all")

        apps = {size: make_app(dict(env, GRIDAPP_DATABASE_URL=f"sqlite:///{files[size]}")) for size in sizes}
        chosen, counts, busiest = {}, {}, {}
        for users, entries in sizes:
            volunteers = range(2, users + 2)
            warm = rng.sample(volunteers, WARMUP)
            time_services(apps[(users, entries)], warm)
            time_pages(apps[(users, entries)], warm)
            chosen[(users, entries)] = rng.sample(volunteers, sample)
        # Interleaved: one volunteer of each size in turn.
        services = {size: {"user+balance": [], "balance": [], "history": [], "earned_since": []} for size in sizes}
        pages = {size: [] for size in sizes}
        for i in range(sample):
            for size in sizes:
                for key, values in time_services(apps[size], [chosen[size][i]]).items():
                    services[size][key] += values
                pages[size] += time_pages(apps[size], [chosen[size][i]])
        for size in sizes:
            with sqlite3.connect(f"file:{files[size]}?mode=ro", uri=True) as ro:
                ids = chosen[size]
                counts[size] = sorted(n for (n,) in ro.execute(
                    f"SELECT COUNT(*) FROM points_entries WHERE volunteer_id IN ({','.join('?' * len(ids))}) "
                    "GROUP BY volunteer_id", ids))
                busiest[size] = ro.execute("SELECT volunteer_id, COUNT(*) AS n FROM points_entries "
                                           "GROUP BY volunteer_id ORDER BY n DESC LIMIT 1").fetchone()

        for size in sizes:
            users, entries = size
            heavy = time_services(apps[size], [busiest[size][0]] * 20)
            print(f"\n  {users:,} volunteers / {entries:,} entries: {sample} random volunteers, "
                  f"{statistics.median(counts[size]):.0f} entries each (median; most {counts[size][-1]})")
            print(line("balance(user)", services[size]["balance"]))
            print(line("load user by id + balance(user)", services[size]["user+balance"]))
            print(line("history(user) page 1 (+ count)", services[size]["history"]))
            print(line("earned_since(user, month) 本月获得", services[size]["earned_since"]))
            print(line("GET /me/points (whole request)", pages[size]))
            print(f"    busiest volunteer ({busiest[size][1]} entries): history page 1 median "
                  f"{fmt(statistics.median(heavy['history']))} ms, earned_since "
                  f"{fmt(statistics.median(heavy['earned_since']))} ms")
            results[size].update(services[size], page=pages[size])

        print("\n  query plans (the ledger queries of /me/points):")
        for plan in query_plans(apps[sizes[-1]], chosen[sizes[-1]][0]):
            print("      " + plan)

        # Growth: the largest size against the smallest, next to how log n grows.
        small, big = results[sizes[0]], results[sizes[-1]]
        log_ratio = math.log(sizes[-1][1]) / math.log(sizes[0][1])
        print(f"\n  growth {sizes[0][1]:,} -> {sizes[-1][1]:,} entries (x{sizes[-1][1] / sizes[0][1]:.0f}); "
              f"log n grows x{log_ratio:.2f}:")
        growth = {}
        for key, label in (("user+balance", "user + balance"), ("history", "history page 1"),
                           ("earned_since", "earned_since"), ("page", "GET /me/points")):
            ratio = statistics.median(big[key]) / statistics.median(small[key])
            growth[key] = ratio
            print(f"    {label:<18} median x{ratio:.2f}")
        results["growth"] = growth
        results["log_ratio"] = log_ratio

        t0 = time.monotonic()
        verify = subprocess.run([str(_support.BIN / "flask"), "verify"], cwd=_support.REPO, env=env,
                                capture_output=True, text=True, timeout=1800)
        verify_s = time.monotonic() - t0
        passed = verify.returncode == 0
        print(f"\n  flask verify on {sizes[-1][0]:,} volunteers / {sizes[-1][1]:,} entries: "
              f"{'passes' if passed else 'FAILS'} in {verify_s:.1f} s (wall time of the command)")
        if not passed:
            print("    " + (verify.stdout + verify.stderr).strip().replace("\n", "\n    ")[:3000])
        print("    each check again, in this process:")
        for name, seconds, violations in verify_checks(apps[sizes[-1]]):
            print(f"    {name:<44} {seconds:6.2f} s{'   %d violations' % violations if violations else ''}")
        results["verify_s"] = verify_s
        results["verify_ok"] = passed
        results["generation_s"] = generation_total
        from gridapp.extensions import db
        for each in (app, *apps.values()):
            with contextlib.suppress(Exception), each.app_context():
                db.engine.dispose()
    return results


def main() -> int:
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
