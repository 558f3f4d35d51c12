"""Check-in throughput: many real, first check-ins (POST /duty/<id>/check-in) against the real app.

gunicorn with 2 sync workers on the throwaway SQLite instance (127.0.0.1, free port). Before the
timed part, and outside it:

1. bench/checkin_setup.py schedules SESSIONS open sessions (no capacity, no team) through the app's
   own duty service, plus one for the warm-up and one for a 1-connection baseline;
2. the 180 demo volunteers (13909940000..13909940179) log in, and each opens every session's page
   (GET /duty/<id>) to get what a phone would post: the csrf_token and a fresh one-time ``token``.

So every POST is a volunteer's first check-in to that session. Requests are ordered session by
session (a crowd checking in to the same duty at once). The timed part sends them over CONNECTIONS
concurrent connections (threads with http.client; the sync workers close the connection after each
answer, so it reconnects, as wrk does) until DURATION seconds have passed or the requests run out.

A short baseline, one request at a time (180 check-ins on their own session, at most 5 s), shows
what one check-in costs without queueing.

It prints requests/s, p50/p95/p99 latency of the POST (target p95 < 30 ms), every answer that is
not the 303 to /duty/<id>/check-in/done, the "database is locked" errors in the gunicorn log, the
attendances actually written, and whether ``flask verify`` still passes afterwards. Figures only.

Run on its own (``.venv/bin/python bench/checkin_throughput.py``) it builds its own throwaway
instance; bench/run_all.py calls ``run(env)`` with the instance it made.
"""
import concurrent.futures
import http.client
import json
import math
import os
import sqlite3
import contextlib
import re
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
SESSIONS = 12           # 180 × 12 = 2,160 first check-ins available to the timed part
WARMUP_REQUESTS = 32    # on a session of their own, not counted
CONNECTIONS = 8
DURATION = 10.0         # seconds; the run also ends when the prepared requests run out
SERIAL_DURATION = 5.0   # the 1-connection baseline: at most 180 requests (one session), at most 5 s
PREPARE_THREADS = 4
TARGET_P95_MS = 30.0


def schedule_sessions(env: dict, count: int) -> list[int]:
    result = subprocess.run([str(_support.BIN / "python"), str(_support.BENCH / "checkin_setup.py"), str(count)],
                            cwd=_support.REPO, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"checkin_setup.py failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])["sessions"]


def prepare_volunteer(base_url: str, phone: str, session_ids: list[int]) -> list[dict]:
    """Log ``phone`` in and read each session's check-in form: one ready-to-send POST per session."""
    browser = _support.login(base_url, phone=phone)
    prepared = []
    for session_id in session_ids:
        page = browser.request(f"/duty/{session_id}")
        action = f"/duty/{session_id}/check-in"
        fields = _forms.form_posting_to(page.text, action) if page.status == 200 else None
        if not fields or not fields.get("token") or not fields.get("csrf_token"):
            raise RuntimeError(f"{phone}: GET /duty/{session_id} answered {page.status} without a check-in form")
        prepared.append({"phone": phone, "session_id": session_id, "path": action,
                         "done": f"/duty/{session_id}/check-in/done",
                         "body": urllib.parse.urlencode(fields).encode()})
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
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": item["cookie"],
                       "User-Agent": _support.USER_AGENT, "Accept-Encoding": "identity"}
            status = location = error = None
            t0 = time.perf_counter()
            try:
                conn.request("POST", item["path"], body=item["body"], headers=headers)
                response = conn.getresponse()
                response.read()
                status, location = response.status, response.getheader("Location", "")
            except (OSError, http.client.HTTPException) as exc:
                error = f"{exc.__class__.__name__}: {exc}"
                conn.close()
            t1 = time.perf_counter()
            mine.append((t0, t1, status, location, item, error))
        conn.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=(duration or 0) + 2 * _support.HTTP_TIMEOUT + 5)
    return {"results": results, "unsent": sum(1 for _ in feed)}


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
    path = env["GRIDAPP_DATABASE_URL"].removeprefix("sqlite:///")
    marks = ",".join("?" * len(session_ids))
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        attendances = con.execute(f"SELECT COUNT(*) FROM attendances WHERE session_id IN ({marks}) "
                                  "AND status = 'checked_in'", session_ids).fetchone()[0]
        taken = con.execute(f"SELECT COALESCE(SUM(taken), 0) FROM duty_sessions WHERE id IN ({marks})",
                            session_ids).fetchone()[0]
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


def run(env: dict) -> dict:
    print("== check-in throughput ==")
    *session_ids, warmup_session, serial_session = schedule_sessions(env, SESSIONS + 2)
    print(f"  scheduled {SESSIONS} open sessions (+1 for the warm-up, +1 for the 1-connection baseline) "
          "through gridapp.duty.service.schedule")
    # gunicorn's access log gives each request's time inside the worker (%(L)s), apart from queueing.
    access = tempfile.NamedTemporaryFile(prefix="gridapp-bench-access-", suffix=".log", delete=False)
    access.close()
    server_env = dict(env, GUNICORN_CMD_ARGS=f"--access-logfile {access.name} "
                                             "--access-logformat '%(L)s %(s)s %(m)s %(U)s'")
    try:
        with _support.servers(("app", "wsgi:app", server_env, {"workers": 2, "ready_path": "/healthz"})) as (app,):
            began = time.monotonic()
            everything = prepare(app.url, session_ids + [warmup_session, serial_session])
            warmup = [r for r in everything if r["session_id"] == warmup_session][:WARMUP_REQUESTS]
            serial = [r for r in everything if r["session_id"] == serial_session]
            requests = [r for r in everything if r["session_id"] in set(session_ids)]
            print(f"  prepared {len(everything):,} check-in forms: {len(VOLUNTEERS)} logins + {len(everything):,} "
                  f"GET /duty/<id> in {time.monotonic() - began:.1f} s (not timed)")
            warm = summarise(fire(app.port, warmup, CONNECTIONS, None))
            print(f"  load average before the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  "
                  "(other work on the 2 cores skews every figure)")
            baseline = summarise(fire(app.port, serial, 1, SERIAL_DURATION))
            report("baseline, one at a time", baseline, 1)
            figures = summarise(fire(app.port, requests, CONNECTIONS, DURATION))
            report("POST /duty/<id>/check-in", figures, CONNECTIONS)
            log = Path(app.log.name).read_text(errors="replace")
        access_log = Path(access.name).read_text(errors="replace")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(access.name)

    for label, phase, sessions in (("baseline", baseline, [serial_session]), ("run", figures, session_ids)):
        inside = server_times(access_log, sessions)
        phase["server_p50"] = percentile(inside, 50)
        phase["server_p95"] = percentile(inside, 95)
    print(f"    time inside a worker (gunicorn access log): p50 {figures['server_p50']:.1f} ms   "
          f"p95 {figures['server_p95']:.1f} ms   (one at a time: p50 {baseline['server_p50']:.1f} ms   "
          f"p95 {baseline['server_p95']:.1f} ms); the rest of the latency is waiting for a worker")
    locked = log.count("database is locked")
    tracebacks = log.count("Traceback (most recent call last)")
    counts = database_counts(env, session_ids + [warmup_session, serial_session])
    verify = flask_verify(env)
    answered_303 = warm["ok"] + baseline["ok"] + figures["ok"]
    figures.update(locked=locked, tracebacks=tracebacks, verify_ok=verify["ok"], verify_seconds=verify["seconds"],
                   baseline=baseline, answered_303=answered_303, **counts)
    print(f"    target p95 < {TARGET_P95_MS:.0f} ms at {CONNECTIONS} connections: "
          f"{'met' if figures['p95'] < TARGET_P95_MS else 'MISSED'}")
    print(f"  gunicorn log: {locked} 'database is locked', {tracebacks} tracebacks")
    print(f"  database: {counts['attendances']:,} check-ins written to the benchmark sessions, "
          f"sum of taken {counts['taken']:,}; 303 answers (warm-up + baseline + run): {answered_303:,}")
    print(f"  flask verify afterwards: {'passes' if verify['ok'] else 'FAILS'} ({verify['seconds']:.1f} s)")
    if not verify["ok"] or tracebacks:
        print("    " + verify["output"].replace("\n", "\n    "))
    if tracebacks:
        first = log.index("Traceback (most recent call last)")
        print("  first traceback in the gunicorn log:\n    " + log[first:first + 3000].replace("\n", "\n    "))
    return figures


def main() -> int:
    with _support.throwaway_instance() as env:
        run(env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
