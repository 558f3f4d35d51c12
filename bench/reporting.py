"""Transparency and reporting: server time of the staff dashboard and the monthly report (page and
PDF), the 积分超市 page's weight and speed next to the volunteer home, and a streamed export of
1,000,000 ledger rows (time, and the worker's peak memory above idle).

Two databases, both throwaway:

- the demo world (``flask seed-demo``): GET /staff, GET /staff/monthly/<last month>, the report PDF,
  and /me/goods next to /me (bytes raw and gzipped with the stylesheet; requests per second through
  the Flask test client in this process, one after another: a relative figure, not a server's);
- the ledger-scale fixture of bench/ledger_scale.py (its ``grow``: volunteers with award entries
  spread over two years) at SCALE volunteers / entries, to time the same pages there, then an export
  of the ledger rows of the most recent year (about half of them) as CSV in a separate worker
  process, which reports its resident memory before (idle, app loaded) and its peak after
  (VmHWM), and, smaller (XLSX_ROWS), as XLSX. Those rows hold only award entries: participations,
  redemptions and donations are empty there, so the page times are the ledger's share.

Timings are in this process through the test client, logged in as the grid worker; p95 over
SAMPLE requests after a warm-up. Figures only, nothing asserted.

``.venv/bin/python bench/reporting.py [--volunteers N --entries M] [--only demo|scale] [--keep DIR]
[--no-exports]``
(defaults: 100,000 / 2,000,000; generation takes ~1–2 minutes on a quiet machine, more on a busy one;
``--keep DIR`` keeps the fixture in DIR and reuses it on the next run of the same size).
"""
import argparse
import contextlib
import gzip
import json
import math
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import _forms
import _support
import ledger_scale

SAMPLE = 40
WARMUP = 5
PDF_SAMPLE = 10
PAGE_TARGET_DEMO_MS, PAGE_TARGET_SCALE_MS, PDF_TARGET_MS = 50.0, 300.0, 300.0
GOODS_BUDGET = 14 * 1024
XLSX_ROWS_DAYS = 20  # about 55,000 rows at 2M entries over two years
STAFF_PHONE, PASSWORD = "13800000002", "gridapp2026"


def p95(values):
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(0.95 * len(ordered)))) - 1]


def logged_in(app, phone):
    client = app.test_client()
    fields = _forms.form_posting_to(client.get("/login").get_data(as_text=True), "/login") or {}
    answer = client.post("/login", data={**fields, "phone": phone, "password": PASSWORD})
    if answer.status_code != 303:
        raise RuntimeError(f"login of {phone} answered {answer.status_code}")
    return client


def timed(client, url, n, warmup=WARMUP, status=200):
    for _ in range(warmup):
        client.get(url)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        times.append((time.perf_counter() - t0) * 1000)
        if response.status_code != status:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
    return times, body


def line(label, times, target):
    verdict = "met" if p95(times) <= target else "MISSED"
    return (f"    {label:<44} median {statistics.median(times):8.1f} ms   p95 {p95(times):8.1f} ms   "
            f"(target <= {target:.0f} ms: {verdict})")


def last_month_key(app):
    with app.app_context():
        from gridapp.clock import utcnow
        from gridapp.reporting.months import Month
        return Month.of(utcnow()).previous().key


def pages(app, label, target, with_pdf=True) -> dict:
    client = logged_in(app, STAFF_PHONE)
    key = last_month_key(app)
    out = {}
    out["dashboard"], _ = timed(client, "/staff", SAMPLE)
    out["report"], _ = timed(client, f"/staff/monthly/{key}", SAMPLE)
    print(line(f"GET /staff ({label})", out["dashboard"], target))
    print(line(f"GET /staff/monthly/{key} ({label})", out["report"], target))
    if with_pdf:
        out["pdf"], pdf = timed(client, f"/staff/monthly/{key}.pdf", PDF_SAMPLE, warmup=2)
        print(line(f"GET /staff/monthly/{key}.pdf ({label}, rendered)", out["pdf"], PDF_TARGET_MS)
              + f"   {len(pdf) / 1024:.0f} KB")
    return out


def shelf(app) -> dict:
    client = logged_in(app, _support.DEMO_PHONE)
    result = {}
    css = None
    for url in ("/me/goods", "/me"):
        times, body = timed(client, url, SAMPLE * 2)
        if css is None:
            css_url = re.search(r'href="(/static/css/app\.[^"]*css)"', body.decode()).group(1)
            css = client.get(css_url).get_data()
        html_gz, css_gz = len(gzip.compress(body, 9)), len(gzip.compress(css, 9))
        rps = 1000 / statistics.mean(times)
        result[url] = dict(html=len(body), html_gz=html_gz, css_gz=css_gz, total_gz=html_gz + css_gz, rps=rps,
                           p95=p95(times))
        verdict = "met" if html_gz + css_gz <= GOODS_BUDGET else "MISSED"
        print(f"    {url:<10} HTML {len(body):>6,} B ({html_gz:,} B gz) + CSS {css_gz:,} B gz = "
              f"{html_gz + css_gz:,} B gz (<= {GOODS_BUDGET:,}: {verdict});  {rps:6.1f} req/s in-process, "
              f"p95 {p95(times):.1f} ms")
    return result


WORKER = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, {bench!r})
    from ledger_scale import make_app
    def rss(field):
        for row in open("/proc/self/status"):
            if row.startswith(field):
                return int(row.split()[1]) * 1024
    app = make_app({env!r})
    import _forms
    client = app.test_client()
    fields = _forms.form_posting_to(client.get("/login").get_data(as_text=True), "/login") or {{}}
    client.post("/login", data={{**fields, "phone": {phone!r}, "password": {password!r}}})
    client.get("/staff/exports")  # warm: templates, first queries
    import xlsxwriter, csv  # noqa: F401  loaded before the idle reading
    idle = rss("VmRSS:")
    t0 = time.perf_counter()
    response = client.get({url!r})
    size = 0
    rows = 0
    first_chunk_ms = None
    for chunk in response.response:
        if first_chunk_ms is None:
            first_chunk_ms = (time.perf_counter() - t0) * 1000
        size += len(chunk)
        if {count_rows!r}:
            rows += chunk.count(b"\\r\\n")
    took = time.perf_counter() - t0
    response.close()
    print(json.dumps(dict(status=response.status_code, bytes=size, rows=rows - 1, seconds=took,
                          first_chunk_ms=first_chunk_ms, idle=idle, peak=rss("VmHWM:"))))
""")


def export_in_worker(env, url, count_rows) -> dict:
    code = WORKER.format(bench=str(_support.BENCH), env=env, phone=STAFF_PHONE, password=PASSWORD, url=url,
                         count_rows=count_rows)
    out = subprocess.run([sys.executable, "-c", code], cwd=_support.REPO, env=env, capture_output=True, text=True,
                         timeout=900)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def build_fixture(env: dict, volunteers: int, entries: int) -> None:
    """The ledger-scale database in ``env``'s instance: the grid worker, then ledger_scale.grow."""
    rng = random.Random(ledger_scale.SEED)
    app = ledger_scale.make_app(env)
    with app.app_context():
        from gridapp.auth.passwords import hash_password
        from gridapp.clock import utcnow
        password_hash, now = hash_password(PASSWORD), utcnow()
    path = env["GRIDAPP_DATABASE_URL"].removeprefix("sqlite:///")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA cache_size=-400000")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("INSERT INTO users (id, name, phone, password_hash, role, status, created_at, "
                "reviewed_at) VALUES (1, '贾亮', ?, ?, 'staff', 'active', ?, ?)",
                (STAFF_PHONE, password_hash, ledger_scale.ts(now), ledger_scale.ts(now)))
    t0 = time.monotonic()
    con.execute("BEGIN")
    ledger_scale.grow(con, rng, password_hash, now, 0, volunteers, 0, entries)
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    print(f"    generated in {time.monotonic() - t0:.1f} s, database {Path(path).stat().st_size / 1e6:,.0f} MB")


@contextlib.contextmanager
def fixture_folder(keep: Path | None, volunteers: int, entries: int):
    """A temp folder removed afterwards, or ``keep`` (made once, reused by later runs of the same size:
    the fixture is dated when it is built, so reuse it the same day only)."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="gridapp-bench-reporting-") as tmp:
            yield Path(tmp), False
        return
    keep.mkdir(parents=True, exist_ok=True)
    stamp = keep / "fixture.json"
    wanted = dict(volunteers=volunteers, entries=entries)
    reuse = stamp.exists() and json.loads(stamp.read_text()) == wanted
    yield keep, reuse
    stamp.write_text(json.dumps(wanted))


def scale(volunteers: int, entries: int, keep: Path | None = None, exports: bool = True) -> dict:
    print(f"  ledger-scale fixture: {volunteers:,} volunteers / {entries:,} entries")
    with fixture_folder(keep, volunteers, entries) as (tmp, reuse):
        instance = Path(tmp) / "instance"
        if instance.exists() and not reuse:
            shutil.rmtree(instance)  # a kept fixture of another size, or one whose build was cut short
        instance.mkdir(exist_ok=True)
        env = _support.base_env(instance)
        _support.flask(env, "db", "upgrade")  # a kept fixture gets any newer migration
        if reuse:
            print(f"    reusing the fixture kept in {tmp}")
        else:
            build_fixture(env, volunteers, entries)
        app = ledger_scale.make_app(env)
        with app.app_context():
            from gridapp.clock import utcnow
            now = utcnow()
        result = pages(app, f"{volunteers // 1000}k / {entries / 1e6:g}M", PAGE_TARGET_SCALE_MS)
        if not exports:
            from gridapp.extensions import db
            with app.app_context():
                db.engine.dispose()
            return result
        with app.app_context():
            from datetime import timedelta

            from gridapp.clock import to_local
            today = to_local(now).date()
        start = today - timedelta(days=364)
        csv_run = export_in_worker(env, f"/staff/exports/points.csv?start={start}&end={today}", True)
        above = (csv_run["peak"] - csv_run["idle"]) / 2**20
        print(f"    CSV export of {csv_run['rows']:,} ledger rows: {csv_run['seconds']:.1f} s "
              f"({csv_run['rows'] / csv_run['seconds']:,.0f} rows/s), {csv_run['bytes'] / 2**20:,.0f} MB, first bytes "
              f"after {csv_run['first_chunk_ms']:.0f} ms; worker idle {csv_run['idle'] / 2**20:.0f} MB, peak "
              f"{csv_run['peak'] / 2**20:.0f} MB: {above:.0f} MB above idle (target <= 100 MB: "
              f"{'met' if above <= 100 else 'MISSED'})")
        xstart = today - timedelta(days=XLSX_ROWS_DAYS - 1)
        xlsx_run = export_in_worker(env, f"/staff/exports/points.xlsx?start={xstart}&end={today}", False)
        xabove = (xlsx_run["peak"] - xlsx_run["idle"]) / 2**20
        print(f"    XLSX export of the last {XLSX_ROWS_DAYS} days: {xlsx_run['seconds']:.1f} s, "
              f"{xlsx_run['bytes'] / 2**20:,.1f} MB, peak {xabove:.0f} MB above idle")
        result.update(csv=csv_run, csv_above_mb=above, xlsx=xlsx_run)
        from gridapp.extensions import db
        with app.app_context():
            db.engine.dispose()
    return result


def run(volunteers: int = 100_000, entries: int = 2_000_000, keep: Path | None = None, only: str | None = None,
        exports: bool = True) -> dict:
    print("== reporting: dashboard, monthly report, 积分超市, exports ==")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  (other work on the 2 cores skews every figure)")
    results = {}
    if only == "scale":
        results["scale"] = scale(volunteers, entries, keep, exports)
        return results
    with _support.throwaway_instance() as env:
        app = ledger_scale.make_app(env)
        print("  demo world:")
        results["demo"] = pages(app, "demo", PAGE_TARGET_DEMO_MS)
        results["shelf"] = shelf(app)
        from gridapp.extensions import db
        with app.app_context():
            db.engine.dispose()
    if only != "demo":
        results["scale"] = scale(volunteers, entries, keep, exports)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=2_000_000)
    parser.add_argument("--only", choices=("demo", "scale"), help="run one part only")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="build the ledger-scale fixture in DIR and keep it; a later run with the same "
                             "sizes reuses it (same day only: its entries are dated when it is built)")
    parser.add_argument("--no-exports", action="store_true", help="time the pages only, not the exports")
    args = parser.parse_args(argv)
    started = time.monotonic()
    run(args.volunteers, args.entries, args.keep, args.only, not args.no_exports)
    print(f"\n(finished in {time.monotonic() - started:.0f} s; figures only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
