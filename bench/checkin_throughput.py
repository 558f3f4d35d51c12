"""Check-in throughput: many real, first check-ins (POST /duty/<id>/check-in) against the real app.

gunicorn with 2 sync workers on the throwaway SQLite instance (127.0.0.1, free port). Before the
timed part, and outside it:

1. bench/checkin_setup.py schedules SESSIONS open sessions (no capacity, no team) through the app's
   own duty service, plus one for the warm-up and one for a 1-connection baseline;
2. the 180 demo volunteers (13909940000..13909940179) log in, and each opens one session's page
   (GET /duty/<id>) to read its check-in form: the csrf_token (one per login session, valid for
   every form of it) and a one-time ``token``. For the other sessions the benchmark makes the
   one-time token itself, as the page would (``secrets.token_urlsafe(24)``: the server keeps no
   token until it is used), so thousands of forms cost 180 page views, not thousands.

So every POST is a volunteer's first check-in to that session. Requests are ordered session by
session (a crowd checking in to the same duty at once). Two timed parts:

- **closed loop**: CONNECTIONS concurrent connections without pause (threads with http.client; the
  sync workers close the connection after each answer, so it reconnects, as wrk does) until
  DURATION seconds have passed or the requests run out. Targets: p95 < 100 ms, max < 300 ms,
  >= 150 check-ins/s. With connections that never pause the latency is queueing (Little's law):
  it measures capacity, not a user's wait;
- **open loop**: check-ins arriving at random (a Poisson process, OPEN_RATE a second, seeded) for
  OPEN_SECONDS, each sent at its own moment whatever the others are doing (a pool of threads; the
  latency counts from the planned moment, so a late sender is not hidden). Target: p95 < 30 ms.

``--compare`` runs the same parts alternately (ABAB, BABA …) on servers that differ only in
the write-lock settings (``GRIDAPP_SQLITE_WRITER_MUTEX``, ``GRIDAPP_SQLITE_LATE_WRITE_LOCK``) or,
with ``--before DIR``, in the code (an export of an earlier commit, run with this venv on the same
instance), and prints each variant's median over the rounds. ``--postgres`` runs on a throwaway
PostgreSQL cluster instead of SQLite (see _support.postgres_instance).

A short baseline, one request at a time (180 check-ins on their own session, at most 5 s), shows
what one check-in costs without queueing.

It prints requests/s, p50/p95/p99 latency of the POST (target p95 < 30 ms), every answer that is
not the 303 to /duty/<id>/check-in/done, the "database is locked" errors in the gunicorn log, the
attendances actually written, and whether ``flask verify`` still passes afterwards. Figures only.

Run on its own (``.venv/bin/python bench/checkin_throughput.py``) it builds its own throwaway
instance; bench/run_all.py calls ``run(env)`` with the instance it made.
"""
import argparse
import concurrent.futures
import contextlib
import http.client
import json
import math
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import _forms
import _support  # bench/ is on sys.path: these files run as scripts

VOLUNTEERS = [f"1390994{i:04d}" for i in range(180)]  # the demo world's other volunteers
SESSIONS = 12           # 180 × 12 = 2,160 first check-ins available to the closed loop
OPEN_RATE = 20.0        # check-ins a second, arriving at random (Poisson), in the open loop
OPEN_SECONDS = 60.0
OPEN_THREADS = 48       # senders: enough that an arrival never waits for a free sender
WARMUP_REQUESTS = 32    # on a session of their own, not counted
CONNECTIONS = 8
DURATION = 10.0         # seconds; the run also ends when the prepared requests run out
SERIAL_DURATION = 5.0   # the 1-connection baseline: at most 180 requests (one session), at most 5 s
PREPARE_THREADS = 4
TARGET_P95_MS = 100.0   # closed loop (8 connections without pause)
TARGET_MAX_MS = 300.0
TARGET_RPS = 150.0
TARGET_OPEN_P95_MS = 30.0
VARIANTS = {  # --compare: the write-lock settings of each server (environment), on the same instance
    "neither": {"GRIDAPP_SQLITE_WRITER_MUTEX": "0", "GRIDAPP_SQLITE_LATE_WRITE_LOCK": "0"},
    "mutex": {"GRIDAPP_SQLITE_WRITER_MUTEX": "1", "GRIDAPP_SQLITE_LATE_WRITE_LOCK": "0"},
    "late": {"GRIDAPP_SQLITE_WRITER_MUTEX": "0", "GRIDAPP_SQLITE_LATE_WRITE_LOCK": "1"},
    "both": {"GRIDAPP_SQLITE_WRITER_MUTEX": "1", "GRIDAPP_SQLITE_LATE_WRITE_LOCK": "1"},
}


def schedule_sessions(env: dict, count: int) -> list[int]:
    result = subprocess.run([str(_support.BIN / "python"), str(_support.BENCH / "checkin_setup.py"), str(count)],
                            cwd=_support.REPO, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"checkin_setup.py failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])["sessions"]


def prepare_volunteer(base_url: str, phone: str, session_ids: list[int]) -> list[dict]:
    """Log ``phone`` in and read the first session's check-in form; one ready-to-send POST per
    session (the same csrf_token, a new one-time token each, as each session's page would give)."""
    browser = _support.login(base_url, phone=phone)
    first = session_ids[0]
    page = browser.request(f"/duty/{first}")
    fields = _forms.form_posting_to(page.text, f"/duty/{first}/check-in") if page.status == 200 else None
    if not fields or not fields.get("token") or not fields.get("csrf_token"):
        raise RuntimeError(f"{phone}: GET /duty/{first} answered {page.status} without a check-in form")
    prepared = []
    for session_id in session_ids:
        form = dict(fields, token=fields["token"] if session_id == first else secrets.token_urlsafe(24))
        prepared.append({"phone": phone, "session_id": session_id, "path": f"/duty/{session_id}/check-in",
                         "done": f"/duty/{session_id}/check-in/done",
                         "body": urllib.parse.urlencode(form).encode()})
    cookie = browser.cookie_header()  # after the GETs: the session holds the CSRF secret by now
    for item in prepared:
        item["cookie"] = cookie
    return prepared


def prepare(base_url: str, session_ids: list[int]) -> list[dict]:
    with concurrent.futures.ThreadPoolExecutor(PREPARE_THREADS) as pool:
        per_volunteer = list(pool.map(lambda phone: prepare_volunteer(base_url, phone, session_ids), VOLUNTEERS))
    # Session by session, volunteer by volunteer: concurrent requests are different people, same duty.
    by_session = {sid: [] for sid in session_ids}
    for items in per_volunteer:
        for item in items:
            by_session[item["session_id"]].append(item)
    return [item for sid in session_ids for item in by_session[sid]]


def fire(port: int, requests: list[dict], connections: int, duration: float | None) -> dict:
    """Send ``requests`` over ``connections`` threads until they run out or ``duration`` has passed."""
    feed = iter(requests)
    lock = threading.Lock()
    results = []  # (start, end, status, location, item, error)
    started = time.monotonic()
    deadline = started + duration if duration else None

    def worker():
        conn = http.client.HTTPConnection(_support.HOST, port, timeout=_support.HTTP_TIMEOUT)
        mine = []
        while True:
            with lock:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                item = next(feed, None)
            if item is None:
                break
            t0 = time.perf_counter()
            status, location, error = post(conn, item)
            t1 = time.perf_counter()
            mine.append((t0, t1, status, location, item, error))
        conn.close()
        with lock:
            results.extend(mine)

    run_threads(connections, worker, duration or 0)
    return {"results": results, "unsent": sum(1 for _ in feed)}


def run_threads(count: int, worker, duration: float) -> None:
    """``count`` threads running ``worker`` at once, each waited for until the run's end and its last answer."""
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 2 * _support.HTTP_TIMEOUT + 5)


def post(conn: http.client.HTTPConnection, item: dict):
    """(status, location, error) of one check-in POST on ``conn``."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": item["cookie"],
               "User-Agent": _support.USER_AGENT, "Accept-Encoding": "identity"}
    try:
        conn.request("POST", item["path"], body=item["body"], headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Location", ""), None
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        return None, None, f"{exc.__class__.__name__}: {exc}"


def fire_open(port: int, requests: list[dict], rate: float, duration: float, seed: int = 14) -> dict:
    """Open loop: arrivals at random (exponential gaps, mean 1/``rate`` s) for ``duration`` s, each
    sent at its planned moment by the next free thread of a pool; the latency of a request counts
    from its planned moment (a late start is the server's doing, or the machine's, never hidden)."""
    rng = random.Random(seed)
    moments, t = [], 0.0
    while True:
        t += rng.expovariate(rate)
        if t >= duration:
            break
        moments.append(t)
    plan = list(zip(moments, requests))
    lock = threading.Lock()
    feed = iter(plan)
    results = []
    late = []
    started = time.perf_counter() + 0.2

    def worker():
        conn = http.client.HTTPConnection(_support.HOST, port, timeout=_support.HTTP_TIMEOUT)
        mine = []
        while True:
            with lock:
                planned = next(feed, None)
            if planned is None:
                break
            at, item = planned
            when = started + at
            delay = when - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                late.append(-delay)
            status, location, error = post(conn, item)
            mine.append((when, time.perf_counter(), status, location, item, error))
        conn.close()
        with lock:
            results.extend(mine)

    run_threads(OPEN_THREADS, worker, duration)
    return {"results": results, "unsent": max(len(moments) - len(requests), 0),
            "late_senders": sum(1 for x in late if x > 0.005)}


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(p / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def server_times(access_log: str, session_ids: list[int]) -> list[float]:
    """Milliseconds each check-in POST to ``session_ids`` spent inside a worker (gunicorn's %(L)s)."""
    wanted = {str(sid) for sid in session_ids}
    times = []
    for seconds, method, session_id in re.findall(r"^([\d.]+) \d+ (\w+) /duty/(\d+)/check-in$", access_log, re.M):
        if method == "POST" and session_id in wanted:
            times.append(float(seconds) * 1000)
    return sorted(times)


def database_counts(env: dict, session_ids: list[int]) -> dict:
    ids = ",".join(str(int(sid)) for sid in session_ids)
    attendances, = _support.query_one(env, f"SELECT COUNT(*) FROM attendances WHERE session_id IN ({ids}) "
                                           "AND status = 'checked_in'")
    taken, = _support.query_one(env, f"SELECT COALESCE(SUM(taken), 0) FROM duty_sessions WHERE id IN ({ids})")
    return {"attendances": attendances, "taken": taken}


def flask_verify(env: dict) -> dict:
    started = time.monotonic()
    result = subprocess.run([str(_support.BIN / "flask"), "verify"], cwd=_support.REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    return {"ok": result.returncode == 0, "seconds": time.monotonic() - started,
            "output": (result.stdout + result.stderr).strip()}


def summarise(sent: dict) -> dict:
    """Requests/s, latency percentiles and the answers that were not the 303 to the done page."""
    results = sent["results"]
    if not results:
        raise RuntimeError("no check-in was sent")
    elapsed = max(r[1] for r in results) - min(r[0] for r in results)
    latencies = sorted((r[1] - r[0]) * 1000 for r in results)
    good, bad = [], []
    for r in results:
        (good if r[2] == 303 and (r[3] or "").endswith(r[4]["done"]) else bad).append(r)
    statuses = {}
    for r in bad:
        key = r[5] or f"{r[2]} {r[3] or ''}".strip()
        statuses[key] = statuses.get(key, 0) + 1
    return {"requests": len(results), "seconds": elapsed, "rps": len(results) / elapsed if elapsed else float("nan"),
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
            "max": latencies[-1], "ok": len(good), "non_303": len(bad), "statuses": statuses,
            "unsent": sent["unsent"]}


def report(label: str, f: dict, connections: int) -> None:
    ended_by = "time limit" if f["unsent"] else "prepared requests used up"
    print(f"  {label}: {f['rps']:,.1f} req/s   {f['requests']:,} requests in {f['seconds']:.2f} s "
          f"({connections} connection{'s' if connections > 1 else ''}; ended by {ended_by}"
          f"{', %d left unsent' % f['unsent'] if f['unsent'] else ''})")
    print(f"    latency p50 {f['p50']:.1f} ms   p95 {f['p95']:.1f} ms   p99 {f['p99']:.1f} ms   max {f['max']:.1f} ms")
    print(f"    answers other than 303 -> .../check-in/done: {f['non_303']}"
          + (f"  {f['statuses']}" if f["statuses"] else ""))


def report_open(f: dict, rate: float, duration: float) -> None:
    print(f"  open loop, {rate:.0f} check-ins/s arriving at random for {duration:.0f} s: {f['requests']:,} sent "
          f"({f['rps']:,.1f}/s){', %d planned arrivals had no form left' % f['unsent'] if f['unsent'] else ''}"
          f"{', %d sent over 5 ms late (no free sender)' % f['late_senders'] if f.get('late_senders') else ''}")
    print(f"    latency from the planned moment: p50 {f['p50']:.1f} ms   p95 {f['p95']:.1f} ms   "
          f"p99 {f['p99']:.1f} ms   max {f['max']:.1f} ms")
    print(f"    answers other than 303 -> .../check-in/done: {f['non_303']}"
          + (f"  {f['statuses']}" if f["statuses"] else ""))


def verdicts(closed: dict, opened: dict | None) -> None:
    def mark(ok):
        return "met" if ok else "MISSED"

    print(f"    targets: closed loop p95 < {TARGET_P95_MS:.0f} ms {mark(closed['p95'] < TARGET_P95_MS)}, "
          f"max < {TARGET_MAX_MS:.0f} ms {mark(closed['max'] < TARGET_MAX_MS)}, "
          f">= {TARGET_RPS:.0f}/s {mark(closed['rps'] >= TARGET_RPS)}"
          + (f"; open loop p95 < {TARGET_OPEN_P95_MS:.0f} ms {mark(opened['p95'] < TARGET_OPEN_P95_MS)}"
             if opened else ""))


def open_sessions_needed(rate: float, duration: float) -> int:
    return math.ceil(rate * duration * 1.3 / len(VOLUNTEERS)) + 1  # Poisson: room for a busy minute


def access_logged(env: dict) -> tuple[dict, str]:
    """``env`` with gunicorn's access log (time inside the worker, %(L)s) into a new temp file."""
    access = tempfile.NamedTemporaryFile(prefix="gridapp-bench-access-", suffix=".log", delete=False)
    access.close()
    return dict(env, GUNICORN_CMD_ARGS=f"--access-logfile {access.name} "
                                       "--access-logformat '%(L)s %(s)s %(m)s %(U)s'"), access.name


def run(env: dict, open_seconds: float = OPEN_SECONDS, open_rate: float = OPEN_RATE) -> dict:
    print("== check-in throughput ==")
    open_count = open_sessions_needed(open_rate, open_seconds) if open_seconds else 0
    *all_ids, warmup_session, serial_session = schedule_sessions(env, SESSIONS + open_count + 2)
    session_ids, open_ids = all_ids[:SESSIONS], all_ids[SESSIONS:]
    print(f"  scheduled {SESSIONS} open sessions for the closed loop, {open_count} for the open loop (+1 for the "
          "warm-up, +1 for the 1-connection baseline) through gridapp.duty.service.schedule")
    server_env, access = access_logged(env)
    opened = None
    try:
        with _support.servers(("app", "wsgi:app", server_env, {"workers": 2, "ready_path": "/healthz"})) as (app,):
            began = time.monotonic()
            everything = prepare(app.url, session_ids + open_ids + [warmup_session, serial_session])
            warmup = [r for r in everything if r["session_id"] == warmup_session][:WARMUP_REQUESTS]
            serial = [r for r in everything if r["session_id"] == serial_session]
            requests = [r for r in everything if r["session_id"] in set(session_ids)]
            arrivals = [r for r in everything if r["session_id"] in set(open_ids)]
            print(f"  prepared {len(everything):,} check-in forms: {len(VOLUNTEERS)} logins and page views "
                  f"in {time.monotonic() - began:.1f} s (not timed)")
            warm = summarise(fire(app.port, warmup, CONNECTIONS, None))
            load = os.getloadavg()
            print(f"  load average before the runs: {' '.join(f'{x:.2f}' for x in load)}  "
                  "(other work on the 2 cores skews every figure); "
                  + _support.fsync_floor(Path(env["GRIDAPP_INSTANCE_PATH"])))
            baseline = summarise(fire(app.port, serial, 1, SERIAL_DURATION))
            report("baseline, one at a time", baseline, 1)
            if open_seconds:
                opened = summarise(fire_open(app.port, arrivals, open_rate, open_seconds))
                report_open(opened, open_rate, open_seconds)
            figures = summarise(fire(app.port, requests, CONNECTIONS, DURATION))
            report("closed loop, POST /duty/<id>/check-in", figures, CONNECTIONS)
            log = Path(app.log.name).read_text(errors="replace")
        access_log = Path(access).read_text(errors="replace")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(access)

    for phase, sessions in ((baseline, [serial_session]), (figures, session_ids), (opened, open_ids)):
        if phase is not None:
            inside = server_times(access_log, sessions)
            phase["server_p50"] = percentile(inside, 50)
            phase["server_p95"] = percentile(inside, 95)
    print(f"    time inside a worker (gunicorn access log): closed loop p50 {figures['server_p50']:.1f} ms   "
          f"p95 {figures['server_p95']:.1f} ms; "
          + (f"open loop p50 {opened['server_p50']:.1f} ms   p95 {opened['server_p95']:.1f} ms; " if opened else "")
          + f"one at a time p50 {baseline['server_p50']:.1f} ms   p95 {baseline['server_p95']:.1f} ms; "
          "the rest of the latency is waiting for a worker")
    verdicts(figures, opened)
    locked = log.count("database is locked")
    tracebacks = log.count("Traceback (most recent call last)")
    counts = database_counts(env, all_ids + [warmup_session, serial_session])
    verify = flask_verify(env)
    answered_303 = warm["ok"] + baseline["ok"] + figures["ok"] + (opened["ok"] if opened else 0)
    figures.update(locked=locked, tracebacks=tracebacks, verify_ok=verify["ok"], verify_seconds=verify["seconds"],
                   baseline=baseline, open=opened, answered_303=answered_303, load=load, **counts)
    print(f"  gunicorn log: {locked} 'database is locked', {tracebacks} tracebacks")
    print(f"  database: {counts['attendances']:,} check-ins written to the benchmark sessions, "
          f"sum of taken {counts['taken']:,}; 303 answers (all parts): {answered_303:,}"
          + ("" if counts["attendances"] == answered_303 == counts["taken"] else "  MISMATCH"))
    print(f"  flask verify afterwards: {'passes' if verify['ok'] else 'FAILS'} ({verify['seconds']:.1f} s)")
    if not verify["ok"] or tracebacks:
        print("    " + verify["output"].replace("\n", "\n    "))
    if tracebacks:
        first = log.index("Traceback (most recent call last)")
        print("  first traceback in the gunicorn log:\n    " + log[first:first + 3000].replace("\n", "\n    "))
    return figures


def compare(env: dict, variants: dict, rounds: int, closed_seconds: float, open_seconds: float,
            open_rate: float) -> dict:
    """Interleaved A/B: each round runs every variant once (the order reversed every other round),
    each on its own gunicorn (2 workers) on the same instance: warm-up, closed loop, open loop.
    Variants: name -> (environment overrides, code folder)."""
    print(f"== check-in, compared: {', '.join(variants)}; {rounds} rounds ==")
    per_run_closed = int(closed_seconds * 400) + WARMUP_REQUESTS  # never the limit below ~400/s
    per_run_open = math.ceil(open_rate * open_seconds * 1.3) + 20
    runs = rounds * len(variants)
    sessions = math.ceil(runs * (per_run_closed + per_run_open) / len(VOLUNTEERS)) + 1
    session_ids = schedule_sessions(env, sessions)
    with _support.servers(("prepare", "wsgi:app", env, {"workers": 2, "ready_path": "/healthz"})) as (app,):
        began = time.monotonic()
        everything = prepare(app.url, session_ids)
    print(f"  {sessions} sessions, {len(everything):,} check-in forms prepared in {time.monotonic() - began:.1f} s")
    pool = iter(everything)

    def take(n):
        return [next(pool) for _ in range(n)]

    results = {name: [] for name in variants}
    answered = 0
    locked = tracebacks = 0
    for number in range(rounds):
        order = list(variants) if number % 2 == 0 else list(reversed(variants))
        for name in order:
            overrides, folder = variants[name]
            server_env = dict(env, **overrides)
            if folder != _support.REPO:
                server_env["PYTHONPATH"] = str(folder)
            spec = (name, "wsgi:app", server_env, {"workers": 2, "ready_path": "/healthz", "chdir": folder})
            with _support.servers(spec) as (app,):
                warm = summarise(fire(app.port, take(WARMUP_REQUESTS), CONNECTIONS, None))
                load = os.getloadavg()[0]
                floor = _support.fsync_floor(Path(env["GRIDAPP_INSTANCE_PATH"]), rounds=20)
                closed = summarise(fire(app.port, take(per_run_closed - WARMUP_REQUESTS), CONNECTIONS,
                                        closed_seconds))
                opened = summarise(fire_open(app.port, take(per_run_open), open_rate, open_seconds)) \
                    if open_seconds else None
                log = Path(app.log.name).read_text(errors="replace")
            locked += log.count("database is locked")
            tracebacks += log.count("Traceback (most recent call last)")
            answered += warm["ok"] + closed["ok"] + (opened["ok"] if opened else 0)
            results[name].append({"closed": closed, "open": opened, "load": load})
            print(f"  round {number + 1} {name:<8} load {load:4.2f} ({floor})  closed: {closed['rps']:6.1f}/s "
                  f"p95 {closed['p95']:6.1f} ms max {closed['max']:6.1f} ms"
                  + (f"   open {open_rate:.0f}/s: p50 {opened['p50']:5.1f} ms p95 {opened['p95']:6.1f} ms "
                     f"max {opened['max']:6.1f} ms" if opened else "")
                  + (f"   NON-303: {closed['non_303'] + (opened['non_303'] if opened else 0)}"
                     if closed["non_303"] or (opened and opened["non_303"]) else ""))
    print(f"  medians over {rounds} rounds (load average {min(r['load'] for v in results.values() for r in v):.1f}–"
          f"{max(r['load'] for v in results.values() for r in v):.1f}):")
    print(f"    {'variant':<8} {'closed/s':>9} {'p95':>8} {'max':>8}   {'open p50':>8} {'p95':>8} {'max':>8}")
    medians = {}
    for name, runs_ in results.items():
        def med(part, key):
            values = [r[part][key] for r in runs_ if r[part]]
            return statistics.median(values) if values else float("nan")
        medians[name] = {k: med(*k.split(".")) for k in ("closed.rps", "closed.p95", "closed.max", "open.p50",
                                                         "open.p95", "open.max")}
        m = medians[name]
        print(f"    {name:<8} {m['closed.rps']:9.1f} {m['closed.p95']:8.1f} {m['closed.max']:8.1f}   "
              f"{m['open.p50']:8.1f} {m['open.p95']:8.1f} {m['open.max']:8.1f}")
    counts = database_counts(env, session_ids)
    verify = flask_verify(env)
    print(f"  gunicorn logs: {locked} 'database is locked', {tracebacks} tracebacks; database: "
          f"{counts['attendances']:,} check-ins, 303 answers {answered:,}"
          + ("" if counts["attendances"] == answered == counts["taken"] else "  MISMATCH")
          + f"; flask verify {'passes' if verify['ok'] else 'FAILS'}")
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(description="Check-in benchmark (figures only).")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL cluster instead of SQLite")
    parser.add_argument("--open-seconds", type=float, default=OPEN_SECONDS)
    parser.add_argument("--open-rate", type=float, default=OPEN_RATE)
    parser.add_argument("--compare", help="comma-separated variants to alternate: "
                        + ", ".join(VARIANTS) + ", and 'before' (needs --before)")
    parser.add_argument("--before", type=Path, help="folder with an export of the code to compare against")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--closed-seconds", type=float, default=5.0, help="closed loop per run with --compare")
    args = parser.parse_args()
    instance = _support.postgres_instance() if args.postgres else _support.throwaway_instance()
    with instance as env:
        if args.compare:
            variants = {}
            for name in args.compare.split(","):
                if name == "before":
                    if not args.before:
                        parser.error("'before' needs --before DIR")
                    variants[name] = ({}, args.before.resolve())
                else:
                    variants[name] = (VARIANTS[name], _support.REPO)
            compare(env, variants, args.rounds, args.closed_seconds, args.open_seconds, args.open_rate)
        else:
            run(env, args.open_seconds, args.open_rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
