"""The month-end PDF rush while the counter runs: does printing 460 receipts and a notice slow the confirm?

On the demo instance, prepared by bench/counter_setup.py (through bench/counter.py's ``prepare``), one
gunicorn with 2 sync workers and the production settings (``-c gunicorn_config.py``: each worker warms
PDFs up before serving). Four tables (4 staff logins) do whole redemptions (bench/counter.py's ``redeem``:
lookup, volunteer, + item, + item, confirm, receipt page) at a human pace: PAUSE s before every action.

Three phases in one run, each with the tables at work:

1. **quiet** (QUIET s): the counter alone;
2. **rush**: the counter, and at the same time RUSH_CONNECTIONS clients fetch, back to back, the receipt
   PDFs of the RUSH_RECEIPTS redemptions the demo world holds (``/counter/redemptions/<id>/receipt.pdf``,
   each a different receipt, so each is rendered) and a campaign notice at the start and one at the end;
   the phase lasts until the rush is done (at most RUSH_MAX s);
3. **quiet** again (QUIET s), so that a drift of the machine's load shows.

It does this twice, each on a fresh server: with no limit on PDF renders at once (GRIDAPP_PDF_RENDERS=0)
and with the default (1: gridapp/pdf.py render_slot; a PDF asked for while the slot is taken is answered
"busy" at once, and the client asks again after Retry-After, as the page does by itself). It prints, per
phase, the confirm's p50/p95/max at the client and inside the worker (gunicorn's access log), the p95 of
every step, and for the rush receipts/s, the "busy" answers and the PDFs' p50/p95 (retries included). The
figure to read is the confirm p95 in the rush against the quiet phases (target: not raised). Figures
only, nothing asserted.

    .venv/bin/python bench/pdf_rush.py [--quick]
"""
import argparse
import contextlib
import http.client
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import _support  # bench/ is on sys.path: these files run as scripts
from counter import SERIAL_STAFF, STEPS, Failed, PacedTable, Table, prepare, redeem, stats, worker_times

WORKERS = 2
PAUSE = 1.0             # seconds before each action at a table (a person reading, scanning, pressing)
QUIET = 30.0            # seconds of each quiet phase
RUSH_RECEIPTS = 460     # the month-end rush: one receipt per redemption of the demo world
RUSH_CONNECTIONS = 2    # clients fetching PDFs back to back
RUSH_MAX = 150.0        # bound on the rush phase
QUICK_QUIET, QUICK_RECEIPTS = 12.0, 120
RETRY_AFTER = 2.0       # what a 503 "busy" page asks for (Retry-After)
# The server setting compared: GRIDAPP_PDF_RENDERS, PDF renders at once per server (0: no limit).
VARIANTS = (("no limit", "0"), ("1 render at a time", "1"))


def redemption_ids(env: dict, count: int) -> list[int]:
    path = env["GRIDAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        return [row[0] for row in con.execute("SELECT id FROM redemptions ORDER BY id LIMIT ?", (count,))]


def campaign_ids(env: dict) -> list[int]:
    path = env["GRIDAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        return [row[0] for row in con.execute("SELECT id FROM campaigns ORDER BY id LIMIT 2")]


def tables_at_work(port: int, cookies: list[str], volunteers, pairs, stop: threading.Event) -> dict:
    """Each table loops whole redemptions at a human pace until ``stop`` is set."""
    lock = threading.Lock()
    times, failures, errors = {step: [] for step in STEPS}, {}, []

    def serve(cookie: str, offset: int):
        table = PacedTable(port, cookie, PAUSE)
        mine = {step: [] for step in STEPS}
        n = offset
        try:
            while not stop.is_set():
                with lock:
                    volunteer = next(volunteers, None)
                if volunteer is None:
                    break
                try:
                    redeem(table, *volunteer, pairs[n % len(pairs)], mine)
                except Failed as exc:
                    with lock:
                        failures[str(exc)] = failures.get(str(exc), 0) + 1
                except (OSError, http.client.HTTPException) as exc:  # a timeout counts, as at the counter
                    key = f"{exc.__class__.__name__}: {exc}"
                    with lock:
                        failures[key] = failures.get(key, 0) + 1
                n += 1
        except Exception as exc:  # noqa: BLE001  reported, never silently lost
            errors.append(f"{exc.__class__.__name__}: {exc}")
        finally:
            table.close()
            with lock:
                for step in STEPS:
                    times[step].extend(mine[step])

    threads = [threading.Thread(target=serve, args=(cookie, n), daemon=True) for n, cookie in enumerate(cookies)]
    for thread in threads:
        thread.start()
    return {"times": times, "failures": failures, "errors": errors, "threads": threads}


def finish(work: dict) -> dict:
    for thread in work["threads"]:
        thread.join(timeout=8 * PAUSE + 6 * _support.HTTP_TIMEOUT)
    if work["errors"]:
        raise RuntimeError("a table thread failed: " + "; ".join(work["errors"]))
    return work


def rush(port: int, cookie: str, receipts: list[int], campaigns: list[int], deadline: float) -> dict:
    """RUSH_CONNECTIONS clients fetching the notice, the receipts, then the other notice, back to back."""
    paths = ([f"/campaigns/{campaigns[0]}/notice.pdf"] + [f"/counter/redemptions/{rid}/receipt.pdf" for rid in receipts]
             + [f"/campaigns/{campaigns[-1]}/notice.pdf"])
    queue, lock = iter(paths), threading.Lock()
    times, notices, failed, retries = [], [], [], []

    def fetch():
        client = Table(port, cookie)
        try:
            while time.monotonic() < deadline:
                with lock:
                    path = next(queue, None)
                if path is None:
                    return
                started = time.perf_counter()
                status, _, body, ms = client.request("GET", path)
                while status == 503 and time.monotonic() < deadline:  # busy: ask again, as the page does
                    with lock:
                        retries.append(path)
                    time.sleep(RETRY_AFTER)
                    status, _, body, ms = client.request("GET", path)
                waited = (time.perf_counter() - started) * 1000
                with lock:
                    if status != 200 or not body.startswith("%PDF"):
                        failed.append(f"{status} {path}")
                    (notices if "notice" in path else times).append(waited)
        finally:
            client.close()

    started = time.monotonic()
    threads = [threading.Thread(target=fetch, daemon=True) for _ in range(RUSH_CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic()) + 2 * _support.HTTP_TIMEOUT)
    return {"receipts": sorted(times), "notices": notices, "failed": failed, "retries": len(retries),
            "seconds": time.monotonic() - started}


def phase_figures(work: dict, log_text: str) -> dict:
    inside = worker_times(log_text)
    every = [ms for step in STEPS for ms in work["times"][step]]
    return {"confirm": stats(work["times"]["confirm"]), "confirm_inside": stats(inside["confirm"]),
            "all": stats(every), "failures": sum(work["failures"].values())}


def one_server(env: dict, setup: dict, volunteers, receipts: list[int], campaigns: list[int], quiet: float,
               renders: str) -> dict:
    """The three phases on a fresh gunicorn with GRIDAPP_PDF_RENDERS=``renders``."""
    access = tempfile.NamedTemporaryFile(prefix="gridapp-bench-access-", suffix=".log", delete=False)
    access.close()
    server_env = dict(env, GRIDAPP_PDF_RENDERS=renders,
                      GUNICORN_CMD_ARGS=f"-c {_support.REPO / 'gunicorn_config.py'} --access-logfile "
                                        f"{access.name} --access-logformat '%(L)s %(s)s %(m)s %(U)s %(q)s'")
    results = {}
    try:
        spec = ("app", "wsgi:app", server_env, {"workers": WORKERS, "ready_path": "/healthz"})
        with _support.servers(spec) as (app,):
            cookies = [_support.login(app.url, phone=phone).cookie_header() for phone in setup["tables"]]
            printer = _support.login(app.url, phone=SERIAL_STAFF).cookie_header()
            for name in ("quiet", "rush", "quiet again"):
                mark = Path(access.name).stat().st_size
                stop = threading.Event()
                work = tables_at_work(app.port, cookies, volunteers, setup["pairs"], stop)
                if name == "rush":
                    results["rush_pdfs"] = rush(app.port, printer, receipts, campaigns, time.monotonic() + RUSH_MAX)
                else:
                    time.sleep(quiet)
                stop.set()
                finish(work)
                results[name] = phase_figures(work, Path(access.name).read_text(errors="replace")[mark:])
                results[name]["load"] = os.getloadavg()[0]
    finally:
        with contextlib.suppress(OSError):
            os.unlink(access.name)
    return results


def report(label: str, results: dict) -> None:
    pdfs = results["rush_pdfs"]
    print(f"  {label}:")
    print(f"    {'phase':<12} {'confirms':>8} {'p50':>7} {'p95':>7} {'max':>7}   {'in worker p95':>13}   "
          f"{'all steps p95':>13}  {'failed':>6}  load")
    for name in ("quiet", "rush", "quiet again"):
        f = results[name]
        print(f"    {name:<12} {f['confirm']['n']:>8} {f['confirm']['p50']:>7.1f} {f['confirm']['p95']:>7.1f} "
              f"{f['confirm']['max']:>7.1f}   {f['confirm_inside']['p95']:>13.1f}   {f['all']['p95']:>13.1f}  "
              f"{f['failures']:>6}  {f['load']:.2f}")
    done = pdfs["receipts"]
    print(f"    the rush: {len(done)} receipts and {len(pdfs['notices'])} notices in {pdfs['seconds']:.1f} s "
          f"({len(done) / pdfs['seconds']:.1f} receipts/s over {RUSH_CONNECTIONS} connections, "
          f"{pdfs['retries']} answers 'busy, retry'); receipt p50 {statistics.median(done):.0f} ms, "
          f"p95 {stats(done)['p95']:.0f} ms (with retries); notices "
          + ", ".join(f"{ms:.0f} ms" for ms in pdfs["notices"])
          + (f"; FAILED: {pdfs['failed'][:5]}" if pdfs["failed"] else ""))
    quiet_p95 = max(results["quiet"]["confirm"]["p95"], results["quiet again"]["confirm"]["p95"])
    rush_p95 = results["rush"]["confirm"]["p95"]
    print(f"    confirm p95 in the rush / the worse quiet phase: {rush_p95:.1f} / {quiet_p95:.1f} ms = "
          f"x{rush_p95 / quiet_p95:.2f}")


def run(env: dict, quick: bool = False) -> dict:
    quiet, count = (QUICK_QUIET, QUICK_RECEIPTS) if quick else (QUIET, RUSH_RECEIPTS)
    print("== PDF rush while the counter runs ==" + (" (quick)" if quick else ""))
    receipts, campaigns = redemption_ids(env, count), campaign_ids(env)
    setup = prepare(env)
    volunteers = iter([tuple(v) for v in setup["volunteers"]])
    print("  load average before: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
          + "  (other work on the 2 cores skews every figure)")
    print(f"  {len(setup['tables'])} tables, {PAUSE:.0f} s before every action; {WORKERS} workers (warmed up); "
          f"a fresh server per setting, the same receipts rendered in each")
    results = {}
    for label, renders in VARIANTS:
        results[label] = one_server(env, setup, volunteers, receipts, campaigns, quiet, renders)
        report(f"GRIDAPP_PDF_RENDERS={renders} ({label})", results[label])
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_QUIET:.0f} s quiet phases and a rush of {QUICK_RECEIPTS} receipts")
    args = parser.parse_args()
    with _support.throwaway_instance() as env:
        run(env, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
