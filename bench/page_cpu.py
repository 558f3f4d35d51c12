"""Pages' CPU in process: what the volunteer's pages and the counter's volunteer panel cost a worker.

In this process, on a copy of the demo world (so the other benchmarks' instance is untouched): today
is made a counter day (an admin adds it with a reason, unless it is one already) and the grid worker
opens the counter. Then each page is called as a WSGI application, the way gunicorn calls it (one
prepared environ with the login cookie, the whole body read), and the CPU time of each call is taken
with ``time.process_time``:

- ``/me`` (我的, the volunteer home) and ``/me/points`` (我的积分), as the demo volunteer;
- ``/counter/v/<id>`` (the counter's volunteer panel with the basket) and ``/counter?q=<phone>``
  (the lookup: a 302 to the panel), as the demo grid worker, for the demo volunteer;
- ``/healthz`` (the app's own one-query route, no session), and ``/`` of a bare Flask app (the
  floor of a Flask request in this harness: the no-op baseline).

The pages are interleaved: ROUNDS rounds, each page BATCH requests in turn (the order rotates), after
a warm-up, so a change in the machine's load shifts every page alike. It prints the median and p95
of each page's CPU ms (target: ≤ 2.0 ms median for /me, /me/points and the panel), its ratio to
/healthz and to the no-op, and the SQL statements one request sends (SELECTs, others).

``--code DIR`` compares this code with another tree of the app (e.g. ``git archive <commit> | tar -x -C
DIR``) in the same process: DIR's package is imported under another name (gridapp_before) with its own
templates, each side gets its own copy of the same prepared world, and the pages of both are
interleaved; it prints both medians and the ratio after/before (the same load for both sides).

``--scale`` adds target 7: a second copy of the same world grown by 100,000 volunteers and
2,000,000 points entries (bench/ledger_scale.py's generator), measured interleaved with the demo
world: the same pages for the same people, and the growth ratio scale/demo (target ≤ 2×).

``.venv/bin/python bench/page_cpu.py [--scale | --code DIR] [--rounds N]``; bench/run_all.py calls ``run(env)``.
Figures only, nothing asserted.
"""
import argparse
import contextlib
import importlib
import math
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from werkzeug.test import EnvironBuilder

import _forms
import _support  # bench/ is on sys.path: these files run as scripts
import ledger_scale

ROUNDS = 20
BATCH = 50  # ROUNDS × BATCH = 1,000 requests per page
WARMUP = 50
TARGET_MS = 2.0
TARGET_GROWTH = 2.0
SCALE = (100_000, 2_000_000)
STAFF_PHONE, ADMIN_PHONE = "13800000002", "13800000001"
PAGES = ("/me", "/me/points", "panel", "lookup", "/healthz", "no-op")
TARGETED = ("/me", "/me/points", "panel")


def p95(values):
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(0.95 * len(ordered)))) - 1]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- preparation ---------------------------------------------------------------------------------

def copy_instance(env: dict, folder: Path) -> dict:
    """A copy of ``env``'s SQLite database in ``folder`` (WAL checkpointed first), and its env."""
    source = env["GRIDAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(source)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, folder / "gridapp.sqlite3")
    secret = Path(env["GRIDAPP_INSTANCE_PATH"]) / "secret_key"
    if secret.exists():
        shutil.copyfile(secret, folder / "secret_key")
    return _support.base_env(folder)


def open_counter_today(app) -> None:
    """Today a counter day (added by the demo admin with a reason unless it is one) and the counter open."""
    from sqlalchemy import select

    from gridapp.auth.models import User
    from gridapp.clock import local_today
    from gridapp.counter import service as counter
    from gridapp.extensions import db

    with app.app_context():
        admin = db.session.scalars(select(User).where(User.phone == ADMIN_PHONE)).one()
        staff = db.session.scalars(select(User).where(User.phone == STAFF_PHONE)).one()
        today = local_today()
        if not counter.is_redemption_day(today):
            counter.add_redemption_day(admin, today, "bench")
        counter.open_session(staff, today)
        db.session.commit()


def volunteer_id(app, phone: str) -> int:
    """Read from the app's SQLite file directly, so that it works for either side of ``--code``."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as con:
        return con.execute("SELECT id FROM users WHERE phone = ?", (phone,)).fetchone()[0]


BEFORE_PACKAGE = "gridapp_before"


def import_other_code(code: Path, into: Path) -> str:
    """DIR's gridapp importable as ``gridapp_before`` (its templates, static files and migrations beside it,
    where its app factory looks for them); the app's modules import one another relatively."""
    shutil.copytree(code / "gridapp", into / BEFORE_PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("templates", "static", "migrations"):
        shutil.copytree(code / folder, into / folder)
    sys.path.insert(0, str(into))
    return BEFORE_PACKAGE


def make_app_of(package: str, env: dict):
    """ledger_scale.make_app for the app of ``package`` (gridapp or the other tree's)."""
    config = importlib.import_module(f"{package}.config").Config(Path(env["GRIDAPP_INSTANCE_PATH"]))
    config.SQLALCHEMY_DATABASE_URI = env["GRIDAPP_DATABASE_URL"]
    config.SESSION_COOKIE_SECURE = config.REMEMBER_COOKIE_SECURE = False
    config.PREFERRED_URL_SCHEME = "http"
    return importlib.import_module(package).create_app(config)


def grow_to_scale(env: dict, users: int, entries: int) -> float:
    """Add ``users`` volunteers and ``entries`` award entries (ledger_scale's generator) after the demo's rows."""
    path = env["GRIDAPP_DATABASE_URL"].removeprefix("sqlite:///")
    app = ledger_scale.make_app(env)
    with app.app_context():
        from gridapp.auth.passwords import hash_password
        from gridapp.clock import utcnow
        password_hash, now = hash_password(ledger_scale.PASSWORD), utcnow()
    t0 = time.monotonic()
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as con:
        con.execute("PRAGMA cache_size=-400000")
        con.execute("PRAGMA synchronous=OFF")  # a throwaway file
        max_user = con.execute("SELECT MAX(id) FROM users").fetchone()[0]
        max_entry = con.execute("SELECT COALESCE(MAX(id), 0) FROM points_entries").fetchone()[0]
        con.execute("BEGIN")
        # grow() numbers users from users_from + 2 and entries from entries_from + 1.
        ledger_scale.grow(con, random.Random(ledger_scale.SEED), password_hash, now,
                          max_user - 1, max_user - 1 + users, max_entry, max_entry + entries)
        con.execute("COMMIT")  # no ANALYZE: the app's databases have no planner statistics either
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.monotonic() - t0


# --- calling the app ----------------------------------------------------------------------------

class Caller:
    """One page of one app, called as gunicorn calls it: a prepared environ, the whole body read."""

    def __init__(self, app, path: str, cookie: str = "", status: int = 200):
        headers = {"User-Agent": _support.USER_AGENT}
        if cookie:
            headers["Cookie"] = cookie
        self.app, self.path, self.status, self.cookie, self.checked = app, path, status, cookie, False
        self.environ = EnvironBuilder(path=path, base_url="http://127.0.0.1", headers=headers,
                                      environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
        self.body = b""

    def __call__(self) -> float:
        """One request; its CPU time in ms."""
        answer = []

        def start_response(status, headers, exc_info=None):
            answer[:] = [status, headers]

        environ = dict(self.environ)
        t0 = time.process_time()
        iterable = self.app(environ, start_response)
        try:
            body = b"".join(iterable)
        finally:
            if hasattr(iterable, "close"):
                iterable.close()
        took = (time.process_time() - t0) * 1000
        if self.cookie and not self.checked:  # as throughput.check_logged_in: a settled session is not written again
            self.checked = True
            if any(name.lower() == "set-cookie" for name, _value in answer[1]):
                print(f"  note: GET {self.path} sets a cookie on every view (the session is written each time)")
        if int(answer[0].split()[0]) != self.status:
            raise RuntimeError(f"GET {self.path} answered {answer[0]}, expected {self.status}")
        self.body = body
        return took


def login_cookie(app, phone: str, settle: str, password: str = _support.DEMO_PASSWORD) -> str:
    """The Cookie header of a real login (the same User-Agent and address as the calls), settled as a
    browser's is: ``settle``, a page with a form, is viewed once first (the CSRF token joins the
    session), so that the measured views do not write the session again."""
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": _support.USER_AGENT, "REMOTE_ADDR": "127.0.0.1"})
    fields = _forms.form_posting_to(client.get("/login").get_data(as_text=True), "/login") or {}
    answer = client.post("/login", data={**fields, "phone": phone, "password": password})
    if answer.status_code != 303:
        raise RuntimeError(f"login of {phone} answered {answer.status_code}")
    if client.get(settle).status_code != 200:
        raise RuntimeError(f"GET {settle} as {phone} did not answer 200")
    return "; ".join(f"{c.key}={c.value}" for c in client._cookies.values())


def statements(app, caller: Caller) -> tuple[int, int]:
    """(SELECTs, other statements) one request sends (transaction control left out)."""
    from sqlalchemy import event

    db = app.extensions["sqlalchemy"]  # this app's own (either side of --code)
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        caller()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    selects = sum(1 for s in seen if s in ("SELECT", "WITH"))
    others = sum(1 for s in seen if s not in ("SELECT", "WITH", "BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT",
                                             "RELEASE"))
    return selects, others


def callers_for(app) -> dict:
    vid = volunteer_id(app, _support.DEMO_PHONE)
    volunteer = login_cookie(app, _support.DEMO_PHONE, settle="/me")
    staff = login_cookie(app, STAFF_PHONE, settle=f"/counter/v/{vid}")
    return {
        "/me": Caller(app, "/me", volunteer),
        "/me/points": Caller(app, "/me/points", volunteer),
        "panel": Caller(app, f"/counter/v/{vid}", staff),
        "lookup": Caller(app, f"/counter?q={_support.DEMO_PHONE}", staff, status=302),
        "/healthz": Caller(app, "/healthz"),
    }


def hello_caller() -> Caller:
    sys.path.insert(0, str(_support.BENCH))
    import hello_app

    return Caller(hello_app.app, "/")


def measure(worlds: dict[str, dict], rounds: int, batch: int) -> dict:
    """Interleaved: each round every (world, page) runs ``batch`` requests, in a rotating order."""
    pairs = [(world, page) for world, callers in worlds.items() for page in callers]
    for world, page in pairs:
        for _ in range(WARMUP):
            worlds[world][page]()
    times = {pair: [] for pair in pairs}
    for r in range(rounds):
        shift = r % len(pairs)
        for world, page in pairs[shift:] + pairs[:shift]:
            call = worlds[world][page]
            times[(world, page)] += [call() for _ in range(batch)]
    return times


def report(label: str, times: dict, world: str, queries: dict) -> dict:
    out = {}
    noop = statistics.median(times[("noop", "no-op")]) if ("noop", "no-op") in times else None
    health = statistics.median(times[(world, "/healthz")])
    print(f"  {label}: CPU ms per request (median / p95 over {len(times[(world, '/healthz')]):,}), "
          f"×/healthz, ×no-op, statements")
    for page in PAGES:
        key = ("noop", "no-op") if page == "no-op" else (world, page)
        if key not in times:
            continue
        med, high = statistics.median(times[key]), p95(times[key])
        out[page] = {"median": med, "p95": high}
        target = ""
        if page in TARGETED:
            target = f"   target <= {TARGET_MS} ms: {'met' if med <= TARGET_MS else 'MISSED'}"
        q = queries.get(key)
        sql = f"   {q[0]} SELECT{'s' if q[0] != 1 else ''}{f' + {q[1]} other' if q[1] else ''}" if q else ""
        ratios = f"×{med / health:5.2f} ×{med / noop:6.1f}" if noop else f"×{med / health:5.2f}"
        print(f"    {page:<11} {med:6.3f} / {high:6.3f} ms   {ratios}{sql}{target}")
    return out


def compare(worlds: dict, times: dict) -> None:
    """Both sides of --code, page by page, and the ratio after/before."""
    print("  this code (after) against --code (before), the same pages interleaved in one process:")
    for page in worlds["demo"]:
        before = statistics.median(times[("before", page)])
        after = statistics.median(times[("demo", page)])
        print(f"    {page:<11} before {before:6.3f}  after {after:6.3f} ms   ×{after / before:.3f}")


def run(env: dict, scale: bool = False, rounds: int = ROUNDS, batch: int = BATCH, code: Path | None = None) -> dict:
    print("== page CPU (in process) ==")
    results = {}
    with tempfile.TemporaryDirectory(prefix="gridapp-bench-pages-") as tmp:
        demo_env = copy_instance(env, Path(tmp) / "demo")
        demo = ledger_scale.make_app(demo_env)
        open_counter_today(demo)
        worlds = {"demo": callers_for(demo)}
        if code is not None:  # the same prepared world, copied for the other side
            package = import_other_code(code, Path(tmp) / "code")
            worlds["before"] = callers_for(make_app_of(package, copy_instance(demo_env, Path(tmp) / "before")))
        if scale:
            scale_env = copy_instance(demo_env, Path(tmp) / "scale")
            took = grow_to_scale(scale_env, *SCALE)
            print(f"  scale world: the demo world + {SCALE[0]:,} volunteers / {SCALE[1]:,} entries "
                  f"(generated in {took:.0f} s)")
            worlds["scale"] = callers_for(ledger_scale.make_app(scale_env))
        worlds["noop"] = {"no-op": hello_caller()}
        queries = {}
        for world, callers in worlds.items():
            for page, caller in callers.items():
                if world != "noop":
                    queries[(world, page)] = statements(caller.app, caller)
        print(f"  load average before: {load()}  (2 cores shared: compare ratios within this run)")
        times = measure(worlds, rounds, batch)
        print(f"  load average after:  {load()}")
        results["demo"] = report("demo world", times, "demo", queries)
        if code is not None:
            results["before"] = report("demo world, --code (before)", times, "before", queries)
            compare(worlds, times)
        results["queries"] = {page: queries[("demo", page)] for page in worlds["demo"]}
        if scale:
            results["scale"] = report(f"{SCALE[0] // 1000}k volunteers / {SCALE[1] / 1e6:g}M entries",
                                      times, "scale", queries)
            results["growth"] = {}
            print("  growth scale/demo (median CPU):")
            for page in ("/me", "/me/points", "lookup", "panel"):
                ratio = results["scale"][page]["median"] / results["demo"][page]["median"]
                results["growth"][page] = ratio
                print(f"    {page:<11} ×{ratio:.2f}   (target <= ×{TARGET_GROWTH:g}: "
                      f"{'met' if ratio <= TARGET_GROWTH else 'MISSED'})")
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", action="store_true", help="also at 100,000 volunteers / 2M entries (target 7)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--instance", help="an existing demo instance folder to copy (default: build one)")
    parser.add_argument("--code", type=Path, help="another tree of the app to compare with, in one process")
    args = parser.parse_args(argv)
    if args.instance:
        run(_support.base_env(Path(args.instance)), args.scale, args.rounds, args.batch, args.code)
        return 0
    with _support.throwaway_instance() as env:
        run(env, args.scale, args.rounds, args.batch, args.code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
