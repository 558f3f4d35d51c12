"""Exchange counter (积分兑换): whole redemptions at the table, one at a time and four tables at once.

gunicorn with 2 sync workers on the throwaway SQLite instance (127.0.0.1, free port). Before the
timed part, and outside it, bench/counter_setup.py makes today a redemption day and opens the
counter session, creates four staff logins (one per table), registers enough volunteers that each
redemption is a different person's first of the month, gives them points and donates stock, all
through the app's own services.

One redemption is what a browser at the table sends (every request a real one, checked):

1. lookup       GET /counter?q=<last 4 digits>          302 to /counter/v/<id> (one match)
2. volunteer    GET /counter/v/<id>                     200, the volunteer panel and the basket
3. add item 1   GET /counter/v/<id>?q…=0…&add=<item>    200, the basket fragment (HX-Request: true,
4. add item 2   GET /counter/v/<id>?q…=1…&add=<item>    as htmx sends the basket form with its + button)
5. confirm      POST /counter/v/<id>/confirm            303 to /counter/redemptions/<rid>; csrf_token,
                                                        the one-time token and the q<item> quantities
                                                        from the confirm form of the last basket
6. receipt      GET /counter/redemptions/<rid>          200, the receipt

Timed parts:

- **one table** (the demo grid worker 13800000002): after a warm-up of WARMUP redemptions,
  SERIAL redemptions one after the other, each for a different volunteer: median and p95 of each
  step. Measured by a client on 127.0.0.1 (http.client) against gunicorn, so a figure includes the
  loopback round trip and, because gunicorn's sync workers close the connection after every answer
  (no keep-alive), a TCP connect. The time inside the worker (gunicorn's access log, %(L)s) is
  printed next to it.
- **four tables at a human pace**: TABLES threads, each logged in as its own staff account, each
  looping whole redemptions (steps 1–6) for the next volunteer in a shared queue with PACE s between
  one action and the next, for PACED_DURATION s: the confirm's p50/p95/max (target p95 < 30 ms);
- **four tables at once, without pause** (saturation): the same for DURATION seconds.
  Redemptions/s (target: a capacity of >= 40/s), p50/p95/p99 of the confirm, every confirm that is not the 303
  to a receipt, "database is locked" and tracebacks in the gunicorn log, redemptions actually
  written, and whether ``flask verify`` passes afterwards.

Figures only, nothing asserted. Run on its own (``.venv/bin/python bench/counter.py [--quick]``) it
builds its own throwaway instance; bench/run_all.py calls ``run(env, quick)`` with the instance it
made. ``--quick``: QUICK_SERIAL redemptions one at a time and QUICK_DURATION s of four tables.
"""
import argparse
import contextlib
import http.client
import http.cookies
import json
import os
import re
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
from checkin_throughput import flask_verify, percentile

SERIAL_STAFF = "13800000002"  # the demo grid worker (贾亮)
WARMUP = 8                     # redemptions before the one-table run, not counted
SERIAL = 100                   # redemptions one after the other, each a different volunteer
SERIAL_MAX_SECONDS = 60.0      # bound on the one-table run
TABLES = 4
WORKERS = 2                    # gunicorn sync workers
DURATION = 15.0                # seconds of four tables at once
QUICK_SERIAL, QUICK_DURATION = 30, 5.0  # --quick
PACE = 1.0                     # seconds between one action and the next at a table, at a human pace
PACED_DURATION, QUICK_PACED_DURATION = 60.0, 20.0
TARGET_CONFIRM_P95_MS = 30.0   # four tables at a human pace
TARGET_CAPACITY = 40.0         # redemptions/s, four tables without pause (saturation)
STEPS = ("lookup", "volunteer", "add 1", "add 2", "confirm", "receipt")
_RECEIPT = re.compile(r"/counter/redemptions/(\d+)$")


def prepare(env: dict) -> dict:
    result = subprocess.run([str(_support.BIN / "python"), str(_support.BENCH / "counter_setup.py")],
                            cwd=_support.REPO, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"counter_setup.py failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


class Table:
    """One staff member's browser at the counter: http.client on 127.0.0.1, the session cookie kept
    up to date from Set-Cookie, redirects not followed (so the 302/303 are seen and timed)."""

    def __init__(self, port: int, cookie_header: str):
        self.conn = http.client.HTTPConnection(_support.HOST, port, timeout=_support.HTTP_TIMEOUT)
        self.cookies = http.cookies.SimpleCookie()
        self.cookies.load(cookie_header)

    def request(self, method: str, path: str, fields: dict | None = None, htmx: bool = False):
        """(status, location path, body text, milliseconds) of one request."""
        headers = {"User-Agent": _support.USER_AGENT, "Accept-Encoding": "identity",
                   "Cookie": "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if htmx:
            headers["HX-Request"] = "true"
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise
        ms = (time.perf_counter() - started) * 1000
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.load(header)
        location = urllib.parse.urlsplit(response.getheader("Location", "")).path
        return response.status, location, text, ms

    def close(self):
        self.conn.close()


class Failed(Exception):
    """A step answered something else than a working counter would."""

    def __init__(self, step: str, what: str):
        super().__init__(f"{step}: {what}")
        self.step, self.what = step, what


def _basket_fields(html: str, volunteer_id: int) -> dict:
    """The inputs of the basket's GET form (every q<item id>), as the browser would send them."""
    parser = _forms.Forms()
    parser.feed(html)
    action = f"/counter/v/{volunteer_id}"
    for form in parser.forms:
        if form["method"] == "get" and form["action"] == action:
            return form["fields"]
    return {}


class PacedTable(Table):
    """A table at a human pace: ``pause`` seconds before every request (not counted in its time)."""

    def __init__(self, port: int, cookie_header: str, pause: float):
        super().__init__(port, cookie_header)
        self.pause = pause

    def request(self, *args, **kwargs):
        time.sleep(self.pause)
        return super().request(*args, **kwargs)


def redeem(table: Table, volunteer_id: int, last4: str, pair: list[int], times: dict) -> int:
    """One whole redemption as a browser at the table does it; appends each step's ms to ``times``
    (a PacedTable adds a person's pause before each step).

    Returns the redemption id; raises Failed at the first unexpected answer (the rest is skipped).
    """
    page = f"/counter/v/{volunteer_id}"
    status, location, _, ms = table.request("GET", f"/counter?q={last4}")
    times["lookup"].append(ms)
    if status != 302 or location != page:
        raise Failed("lookup", f"{status} {location or ''}".strip())

    status, _, html, ms = table.request("GET", page)
    times["volunteer"].append(ms)
    if status != 200:
        raise Failed("volunteer", str(status))

    for step, item_id in (("add 1", pair[0]), ("add 2", pair[1])):
        query = urllib.parse.urlencode({**_basket_fields(html, volunteer_id), "add": item_id})
        status, _, html, ms = table.request("GET", f"{page}?{query}", htmx=True)
        times[step].append(ms)
        if status != 200:
            raise Failed(step, str(status))

    fields = _forms.form_posting_to(html, f"{page}/confirm")
    if not fields or not fields.get("csrf_token") or not fields.get("token"):
        raise Failed("add 2", "the basket shows no confirm form with csrf_token and token")
    if any(fields.get(f"q{item_id}") != "1" for item_id in pair):
        raise Failed("add 2", f"the basket does not hold one of each of items {pair}")
    status, location, _, ms = table.request("POST", f"{page}/confirm", fields)
    times["confirm"].append(ms)
    match = _RECEIPT.fullmatch(location or "")
    if status != 303 or not match:
        raise Failed("confirm", f"{status} {location or ''}".strip())

    status, _, html, ms = table.request("GET", location)
    times["receipt"].append(ms)
    if status != 200 or "DH-" not in html:
        raise Failed("receipt", str(status))
    return int(match.group(1))


def _new_times() -> dict:
    return {step: [] for step in STEPS}


def one_table(port: int, cookie: str, volunteers, pairs, count: int, deadline: float) -> dict:
    table = Table(port, cookie)
    times, failures, redeemed = _new_times(), {}, []
    started = time.monotonic()
    try:
        for n in range(count):
            if time.monotonic() >= deadline:
                break
            volunteer_id, last4 = next(volunteers)
            try:
                redeemed.append(redeem(table, volunteer_id, last4, pairs[n % len(pairs)], times))
            except Failed as exc:
                failures[str(exc)] = failures.get(str(exc), 0) + 1
    finally:
        table.close()
    return {"times": times, "failures": failures, "redeemed": redeemed,
            "seconds": time.monotonic() - started}


def four_tables(port: int, cookies: list[str], volunteers, pairs, duration: float, pause: float = 0.0) -> dict:
    """TABLES threads, each a table looping whole redemptions for the next volunteer, for ``duration``;
    ``pause``: seconds between one action (request) and the next at a table (0: none, saturation)."""
    lock = threading.Lock()
    times, failures, redeemed, errors = _new_times(), {}, [], []
    deadline = time.monotonic() + duration

    def serve(cookie: str, offset: int):
        table = PacedTable(port, cookie, pause) if pause else Table(port, cookie)
        mine, my_failures, my_redeemed = _new_times(), {}, []
        n = offset
        try:
            while time.monotonic() < deadline:
                with lock:
                    volunteer = next(volunteers, None)
                if volunteer is None:
                    break
                try:
                    if pause and n == offset:  # tables start staggered; then each request waits ``pause``
                        time.sleep(pause * offset / len(cookies))
                    my_redeemed.append(redeem(table, *volunteer, pairs[n % len(pairs)], mine))
                except Failed as exc:
                    my_failures[str(exc)] = my_failures.get(str(exc), 0) + 1
                except (OSError, http.client.HTTPException) as exc:
                    key = f"{exc.__class__.__name__}: {exc}"
                    my_failures[key] = my_failures.get(key, 0) + 1
                n += 1
        except Exception as exc:  # noqa: BLE001  reported, never silently lost
            errors.append(f"{exc.__class__.__name__}: {exc}")
        finally:
            table.close()
            with lock:
                for step in STEPS:
                    times[step].extend(mine[step])
                for key, value in my_failures.items():
                    failures[key] = failures.get(key, 0) + value
                redeemed.extend(my_redeemed)

    threads = [threading.Thread(target=serve, args=(cookie, n), daemon=True) for n, cookie in enumerate(cookies)]
    started, cpu = time.monotonic(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 6 * _support.HTTP_TIMEOUT + 5)
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu
    if errors:
        raise RuntimeError("a table thread failed: " + "; ".join(errors))
    return {"times": times, "failures": failures, "redeemed": redeemed, "seconds": seconds, "client_cpu": cpu}


def worker_times(access_log: str) -> dict:
    """Milliseconds inside a worker per step: gunicorn's %(L)s, in access log lines '%(L)s %(s)s %(m)s %(U)s %(q)s'."""
    out = _new_times()
    for line in access_log.splitlines():
        parts = line.split(" ", 4)
        if len(parts) < 4:
            continue
        seconds, _status, method, path = parts[:4]
        query = parts[4] if len(parts) > 4 else ""
        if method == "POST" and re.fullmatch(r"/counter/v/\d+/confirm", path):
            step = "confirm"
        elif method != "GET":
            continue
        elif path == "/counter" and query.startswith("q="):
            step = "lookup"
        elif re.fullmatch(r"/counter/v/\d+", path):
            fields = urllib.parse.parse_qs(query)
            if "add" not in fields:
                step = "volunteer"
            else:  # the second + press is sent with one item already in the basket
                step = "add 2" if any(k.startswith("q") and v != ["0"] for k, v in fields.items()) else "add 1"
        elif _RECEIPT.fullmatch(path):
            step = "receipt"
        else:
            continue
        out[step].append(float(seconds) * 1000)
    return out


def stats(values: list[float]) -> dict:
    values = sorted(values)
    return {"n": len(values), "p50": statistics.median(values) if values else float("nan"),
            "p95": percentile(values, 95), "p99": percentile(values, 99),
            "max": values[-1] if values else float("nan")}


def database_counts(env: dict, session_id: int) -> dict:
    session_id = int(session_id)
    redemptions, points = _support.query_one(env, "SELECT COUNT(*), COALESCE(SUM(total_points), 0) FROM redemptions "
                                                  f"WHERE session_id = {session_id}")
    lines, = _support.query_one(env, "SELECT COALESCE(SUM(l.quantity), 0) FROM redemption_lines l JOIN redemptions r "
                                     f"ON r.id = l.redemption_id WHERE r.session_id = {session_id}")
    return {"redemptions": redemptions, "points": points, "units": lines}


def _print_steps(client: dict, inside: dict) -> None:
    print(f"    {'step':<12} {'n':>4}  {'client p50':>10} {'p95':>8}   {'in worker p50':>13} {'p95':>8}")
    total_client = total_inside = 0.0
    for step in STEPS:
        c, w = stats(client[step]), stats(inside[step])
        total_client += c["p50"]
        total_inside += w["p50"]
        print(f"    {step:<12} {c['n']:>4}  {c['p50']:>7.1f} ms {c['p95']:>5.1f} ms   "
              f"{w['p50']:>10.1f} ms {w['p95']:>5.1f} ms")
    print(f"    {'sum of p50':<12} {'':>4}  {total_client:>7.1f} ms {'':>8}   {total_inside:>10.1f} ms")


def trace_summary(trace: str, title: str) -> None:
    """What happened inside the worker (trace_gunicorn.py lines): full collections, checkpoints, slowest confirms."""
    rows = []
    for line in trace.splitlines():
        parts = line.split()
        if len(parts) == 7:
            rows.append((parts[1], parts[2], float(parts[3]), int(parts[4]), float(parts[5]), int(parts[6])))
    if not rows:
        return
    gcs = [r for r in rows if r[3]]
    cps = [r for r in rows if r[5]]
    confirms = sorted((r for r in rows if r[0] == "POST"), key=lambda r: -r[2])
    print(f"    inside the workers ({title}, {len(rows)} requests): {len(gcs)} with a full collection "
          f"({sum(r[4] for r in gcs):.0f} ms of it in all, max {max((r[4] for r in gcs), default=0):.1f}), "
          f"{len(cps)} with a WAL checkpoint (their time: "
          f"{', '.join(f'{r[2]:.1f}' for r in cps[:8]) or '-'} ms)")
    print("    slowest confirms in the worker: " + ", ".join(
        f"{r[2]:.1f} ms" + (f" (full gc {r[4]:.1f})" if r[3] else "") + (" (checkpoint)" if r[5] else "")
        for r in confirms[:6]))


def run(env: dict, quick: bool = False, code: Path | None = None, paced_seconds: float | None = None,
        trace: bool = False, warm: bool = True) -> dict:
    """The whole benchmark on ``env``'s instance; ``quick``: QUICK_SERIAL redemptions and QUICK_DURATION s.
    ``paced_seconds``: the human pace's length; ``trace``: trace_gunicorn.py's per-request lines;
    ``warm``: the workers run gunicorn_config.py's post_worker_init, as ``make run`` does."""
    serial_count, duration = (QUICK_SERIAL, QUICK_DURATION) if quick else (SERIAL, DURATION)
    paced_duration = paced_seconds or (QUICK_PACED_DURATION if quick else PACED_DURATION)
    print("== exchange counter ==" + (" (quick)" if quick else ""))
    began = time.monotonic()
    setup = prepare(env)
    volunteers = [tuple(v) for v in setup["volunteers"]]
    pairs = setup["pairs"]
    print(f"  counter_setup.py: session {setup['session']} open today, {len(setup['tables'])} table logins, "
          f"{len(volunteers):,} volunteers with points and a unique last-4 ({setup['skipped_same_last4']} left out: "
          f"last 4 digits shared), stock for item pairs {pairs} ({time.monotonic() - began:.1f} s, not timed)")
    access = tempfile.NamedTemporaryFile(prefix="gridapp-bench-access-", suffix=".log", delete=False)
    access.close()
    server_env = dict(env, GUNICORN_CMD_ARGS=f"--access-logfile {access.name} "
                                             "--access-logformat '%(L)s %(s)s %(m)s %(U)s %(q)s'")
    trace_file = Path(tempfile.mkstemp(prefix="gridapp-bench-trace-", suffix=".log")[1])
    if trace or warm:
        config = _support.BENCH / "trace_gunicorn.py" if trace else "gunicorn_config.py"
        server_env["GUNICORN_CMD_ARGS"] += f" --config {config}"
        server_env["GRIDAPP_BENCH_TRACE"] = str(trace_file)
        server_env["GRIDAPP_BENCH_TRACE_WARM"] = "1" if warm else "0"
    queue = iter(volunteers)
    try:
        spec = ("app", "wsgi:app", server_env, {"workers": WORKERS, "ready_path": "/healthz"})
        if code is not None:  # --code: serve another export of the app (same schema) for a before/after
            spec = ("app", "wsgi:app", dict(server_env, PYTHONPATH=str(code)),
                    {"workers": WORKERS, "ready_path": "/healthz", "chdir": code})
        with _support.servers(spec) as (app,):
            serial_cookie = _support.login(app.url, phone=SERIAL_STAFF).cookie_header()
            table_cookies = [_support.login(app.url, phone=phone).cookie_header() for phone in setup["tables"]]
            warm = one_table(app.port, serial_cookie, queue, pairs, WARMUP, time.monotonic() + SERIAL_MAX_SECONDS)
            if warm["failures"]:
                raise RuntimeError(f"the warm-up redemptions failed: {warm['failures']}")
            load = os.getloadavg()
            print(f"  load average before the runs: {' '.join(f'{x:.2f}' for x in load)}  "
                  "(other work on the 2 cores skews every figure)")

            mark, cpu = Path(access.name).stat().st_size, _support.server_cpu(app.proc.pid)
            serial = one_table(app.port, serial_cookie, queue, pairs, serial_count,
                               time.monotonic() + SERIAL_MAX_SECONDS)
            serial_log = Path(access.name).read_text(errors="replace")[mark:]
            serial["server_cpu"] = _support.server_cpu(app.proc.pid) - cpu
            done = len(serial["redeemed"])
            print(f"  one table, {done} redemptions one after the other ({done / serial['seconds']:.1f}/s, "
                  f"{serial['seconds']:.1f} s), each a different volunteer; client on 127.0.0.1 over HTTP "
                  "(a new TCP connection per request: gunicorn's sync workers do not keep alive):")
            _print_steps(serial["times"], worker_times(serial_log))
            per = 1000 * serial["server_cpu"] / max(done, 1)
            print(f"    CPU of the gunicorn workers per redemption: {per:.0f} ms "
                  "(from /proc; less affected by other work on the machine than the times above)")
            if serial["failures"]:
                print(f"    failed: {serial['failures']}")

            mark, tmark = Path(access.name).stat().st_size, trace_file.stat().st_size
            paced = four_tables(app.port, table_cookies, queue, pairs, paced_duration, pause=PACE)
            paced_log = Path(access.name).read_text(errors="replace")[mark:]
            paced_confirm, paced_all = stats(paced["times"]["confirm"]), stats(
                [ms for step in STEPS for ms in paced["times"][step]])
            paced_inside = stats(worker_times(paced_log)["confirm"])
            print(f"  {TABLES} tables at a human pace ({PACE:.0f} s between actions) for {paced_duration:.0f} s: "
                  f"{len(paced['redeemed'])} redemptions ({len(paced['redeemed']) / paced['seconds']:.2f}/s)")
            print(f"    confirm: p50 {paced_confirm['p50']:.1f} ms   p95 {paced_confirm['p95']:.1f} ms   "
                  f"max {paced_confirm['max']:.1f} ms   (in worker p95 {paced_inside['p95']:.1f} ms); every step: "
                  f"p50 {paced_all['p50']:.1f} ms   p95 {paced_all['p95']:.1f} ms   max {paced_all['max']:.1f} ms")
            print(f"    target p95 confirm < {TARGET_CONFIRM_P95_MS:.0f} ms at a human pace: "
                  f"{'met' if paced_confirm['p95'] < TARGET_CONFIRM_P95_MS else 'MISSED'}"
                  + (f"; failed: {paced['failures']}" if paced["failures"] else "")
                  + (f"  (of {len(paced['times']['confirm'])} confirms p95 is the slowest one: one stall decides it;"
                     f" --paced-seconds 150 gives ~100)" if len(paced["times"]["confirm"]) < 20 else ""))
            trace_summary(trace_file.read_text()[tmark:], "human pace")

            mark, cpu = Path(access.name).stat().st_size, _support.server_cpu(app.proc.pid)
            busy = four_tables(app.port, table_cookies, queue, pairs, duration)
            busy_log = Path(access.name).read_text(errors="replace")[mark:]
            busy["server_cpu"] = _support.server_cpu(app.proc.pid) - cpu
            log = Path(app.log.name).read_text(errors="replace")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(access.name)
        with contextlib.suppress(OSError):
            trace_file.unlink()

    redeemed = len(busy["redeemed"])
    confirm = stats(busy["times"]["confirm"])
    inside = worker_times(busy_log)
    confirm_inside = stats(inside["confirm"])
    non_303 = sum(v for k, v in busy["failures"].items() if k.startswith("confirm"))
    other_failures = {k: v for k, v in busy["failures"].items() if not k.startswith("confirm")}
    print(f"  {TABLES} tables at once for {duration:.0f} s ({TABLES} staff logins, {WORKERS} workers): "
          f"{redeemed} redemptions in {busy['seconds']:.1f} s = {redeemed / busy['seconds']:.1f} redemptions/s "
          f"({sum(len(v) for v in busy['times'].values()):,} requests)")
    print(f"    CPU of the gunicorn workers per redemption: {1000 * busy['server_cpu'] / max(redeemed, 1):.0f} ms; "
          f"the workers used {busy['server_cpu'] / busy['seconds']:.0%} of one core")
    print(f"    the {TABLES} client threads used {busy['client_cpu']:.1f} s of CPU "
          f"({busy['client_cpu'] / busy['seconds']:.0%} of one core) on the same 2 cores as the server")
    _print_steps(busy["times"], inside)
    print(f"    confirm: p50 {confirm['p50']:.1f} ms   p95 {confirm['p95']:.1f} ms   p99 {confirm['p99']:.1f} ms   "
          f"max {confirm['max']:.1f} ms   (in worker p95 {confirm_inside['p95']:.1f} ms; the rest is waiting "
          f"for a worker and loopback)")
    rps = redeemed / busy["seconds"]
    print(f"    target capacity >= {TARGET_CAPACITY:.0f} redemptions/s without pause: "
          f"{'met' if rps >= TARGET_CAPACITY else 'MISSED'} ({rps:.1f}/s); the confirm's latency here is queueing")
    print(f"    confirms other than the 303 to a receipt: {non_303}"
          + (f"  {busy['failures']}" if busy["failures"] else "")
          + (f"; other failed steps: {sum(other_failures.values())}" if other_failures else ""))
    locked = log.count("database is locked")
    tracebacks = log.count("Traceback (most recent call last)")
    print(f"  gunicorn log: {locked} 'database is locked', {tracebacks} tracebacks")
    counts = database_counts(env, setup["session"])
    answered = len(warm["redeemed"]) + len(serial["redeemed"]) + len(paced["redeemed"]) + redeemed
    distinct = len(set(warm["redeemed"]) | set(serial["redeemed"]) | set(paced["redeemed"]) | set(busy["redeemed"]))
    print(f"  database: {counts['redemptions']:,} redemptions in today's session ({counts['points']:,} points, "
          f"{counts['units']:,} items out); 303s to a receipt: {answered:,} ({distinct:,} distinct receipts): "
          + ("they match" if counts["redemptions"] == answered == distinct else "MISMATCH"))
    verify = flask_verify(env)
    print(f"  flask verify afterwards: {'passes' if verify['ok'] else 'FAILS'} ({verify['seconds']:.1f} s)")
    if not verify["ok"] or tracebacks:
        print("    " + verify["output"].replace("\n", "\n    "))
    if tracebacks:
        first = log.index("Traceback (most recent call last)")
        print("  first traceback in the gunicorn log:\n    " + log[first:first + 3000].replace("\n", "\n    "))
    return {
        "serial": {step: stats(serial["times"][step]) for step in STEPS},
        "serial_inside": {step: stats(v) for step, v in worker_times(serial_log).items()},
        "serial_count": len(serial["redeemed"]), "serial_failed": sum(serial["failures"].values()),
        "serial_cpu_ms": 1000 * serial["server_cpu"] / max(len(serial["redeemed"]), 1),
        "cpu_ms": 1000 * busy["server_cpu"] / max(redeemed, 1),
        "rps": redeemed / busy["seconds"], "redeemed": redeemed, "seconds": busy["seconds"], "confirm": confirm,
        "confirm_inside": confirm_inside, "non_303": non_303, "failed_steps": sum(busy["failures"].values()),
        "locked": locked, "tracebacks": tracebacks, "verify_ok": verify["ok"], "load": load,
        "db_redemptions": counts["redemptions"], "answered_303": answered,
        "paced_confirm": paced_confirm, "paced_all": paced_all, "paced_count": len(paced["redeemed"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="The exchange counter benchmark (figures only).")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_SERIAL} redemptions one at a time and {QUICK_DURATION:.0f} s of four tables")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL cluster instead of SQLite")
    parser.add_argument("--code", type=Path, help="serve the app from this folder (an export of another commit, "
                        "same schema) instead of this one: the 'before' of a before/after")
    parser.add_argument("--paced-seconds", type=float, help="length of the human-pace run (default "
                        f"{PACED_DURATION:.0f} s, {QUICK_PACED_DURATION:.0f} s with --quick; 150 s give ~100 confirms)")
    parser.add_argument("--trace", action="store_true", help="per request in the worker: full garbage "
                        "collections and WAL checkpoints (bench/trace_gunicorn.py)")
    parser.add_argument("--no-warm", dest="warm", action="store_false", help="serve without gunicorn_config.py "
                        "(no PDF warm-up, no gc.freeze in the workers); by default the workers start as in make run")
    args = parser.parse_args()
    with (_support.postgres_instance() if args.postgres else _support.throwaway_instance()) as env:
        run(env, quick=args.quick, code=args.code.resolve() if args.code else None,
            paced_seconds=args.paced_seconds, trace=args.trace, warm=args.warm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
