"""The first PDF a fresh gunicorn worker makes, with and without the warm-up of gunicorn_config.py.

Each round starts a fresh gunicorn (1 sync worker, 127.0.0.1, free port) on the demo instance twice,
once with ``-c gunicorn_config.py`` (the worker warms PDFs up before its first request: gridapp.pdf.warm_up)
and once with an empty config (no warm-up), in alternating order. In each it logs in as the demo grid
worker and times, from the client:

- the worker's first PDF: a counter receipt ``/counter/redemptions/<id>/receipt.pdf`` (target <= 150 ms);
- the first notice ``/campaigns/<id>/notice.pdf`` (the A4 snow-clearing notice, heading face and QR);
- warm receipts: WARM more receipts of other redemptions (each rendered, none from the cache), median
  (target <= 80 ms); a warm notice: the other campaign's notice;
- how long the worker took to become ready (the warm-up is paid there, once per worker).

Figures only, nothing asserted. ``.venv/bin/python bench/first_pdf.py [--rounds N]`` builds its own
throwaway instance; ``run(env)`` takes one.
"""
import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _support  # bench/ is on sys.path: these files run as scripts

STAFF_PHONE = "13800000002"  # the demo grid worker (贾亮)
ROUNDS = 3
WARM = 10  # warm receipts per worker
TARGET_FIRST_MS, TARGET_WARM_MS = 150.0, 80.0


def pdf_ids(env: dict) -> tuple[list[int], list[int]]:
    path = env["GRIDAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        redemptions = [row[0] for row in con.execute("SELECT id FROM redemptions ORDER BY id LIMIT 200")]
        campaigns = [row[0] for row in con.execute("SELECT id FROM campaigns ORDER BY id LIMIT 2")]
    if len(redemptions) < 1 + WARM * 2 * ROUNDS or len(campaigns) < 2:
        raise RuntimeError("the demo world has too few redemptions or campaigns for this benchmark")
    return redemptions, campaigns


def worker_cpu_ns(master_pid: int) -> int:
    """CPU time used so far by the (one) worker of this gunicorn master: /proc schedstat, in ns."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return sum(int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) for pid in children)


def timed_pdf(browser, path: str, master_pid: int) -> tuple[float, float]:
    """(wall ms at the client, CPU ms of the worker) of one PDF request."""
    cpu = worker_cpu_ns(master_pid)
    started = time.perf_counter()
    response = browser.request(path)
    ms = (time.perf_counter() - started) * 1000
    if response.status != 200 or not response.body.startswith(b"%PDF"):
        raise RuntimeError(f"GET {path} answered {response.status} without a PDF")
    return ms, (worker_cpu_ns(master_pid) - cpu) / 1e6


def one_worker(env: dict, config: str, receipts: list[int], campaigns: list[int]) -> dict:
    server_env = dict(env, GUNICORN_CMD_ARGS=f"-c {config}")
    started = time.perf_counter()
    with _support.servers(("app", "wsgi:app", server_env, {"workers": 1, "ready_path": "/healthz"})) as (app,):
        ready_s = time.perf_counter() - started
        staff = _support.login(app.url, phone=STAFF_PHONE)
        pid = app.proc.pid
        first = timed_pdf(staff, f"/counter/redemptions/{receipts[0]}/receipt.pdf", pid)
        first_notice = timed_pdf(staff, f"/campaigns/{campaigns[0]}/notice.pdf", pid)
        warm = [timed_pdf(staff, f"/counter/redemptions/{rid}/receipt.pdf", pid) for rid in receipts[1:1 + WARM]]
        warm_notice = timed_pdf(staff, f"/campaigns/{campaigns[1]}/notice.pdf", pid)
    return {"ready_s": ready_s, "first": first[0], "first_notice": first_notice[0],
            "warm": statistics.median(w[0] for w in warm), "warm_notice": warm_notice[0],
            "first_cpu": first[1], "first_notice_cpu": first_notice[1],
            "warm_cpu": statistics.median(w[1] for w in warm), "warm_notice_cpu": warm_notice[1]}


def run(env: dict, rounds: int = ROUNDS) -> dict:
    print("== first PDF in a fresh worker ==")
    print("  load average before: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    redemptions, campaigns = pdf_ids(env)
    results = {"warm-up": [], "none": []}
    with tempfile.NamedTemporaryFile("w", prefix="gridapp-bench-empty-", suffix=".py") as empty:
        empty.write("# no settings: no warm-up\n")
        empty.flush()
        configs = {"warm-up": str(_support.REPO / "gunicorn_config.py"), "none": empty.name}
        block = 0
        for n in range(rounds):
            for variant in (("warm-up", "none") if n % 2 == 0 else ("none", "warm-up")):
                receipts = redemptions[block * (1 + WARM):(block + 1) * (1 + WARM)]
                block += 1
                results[variant].append(one_worker(env, configs[variant], receipts, campaigns))
    summary = {}
    print(f"  {rounds} rounds, a fresh 1-worker gunicorn each, medians over rounds (ms unless said):")
    print("    wall ms at the client (the worker's CPU ms in brackets: less disturbed by other load)")
    print(f"    {'':10} {'ready (s)':>10} {'1st receipt':>14} {'1st notice':>14} {'warm receipt':>14} "
          f"{'warm notice':>14}")
    for variant, rows in results.items():
        figures = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
        summary[variant] = figures
        cells = " ".join(f"{figures[k]:>6.0f} ({figures[k + '_cpu']:>4.0f})" for k in
                         ("first", "first_notice", "warm", "warm_notice"))
        print(f"    {variant:10} {figures['ready_s']:>10.2f} {cells}")
    warm, cold = summary["warm-up"], summary["none"]
    print(f"  first receipt with the warm-up / without: {warm['first']:.0f} / {cold['first']:.0f} ms "
          f"= x{warm['first'] / cold['first']:.2f}; CPU {warm['first_cpu']:.0f} / {cold['first_cpu']:.0f} ms   "
          f"(target <= {TARGET_FIRST_MS:.0f} ms: {'met' if warm['first'] <= TARGET_FIRST_MS else 'MISSED'})")
    worst = max(warm["warm"], warm["warm_notice"])
    print(f"  warm receipt {warm['warm']:.0f} ms ({warm['warm_cpu']:.0f} CPU), warm notice {warm['warm_notice']:.0f} ms "
          f"({warm['warm_notice_cpu']:.0f} CPU)   (target <= {TARGET_WARM_MS:.0f} ms: "
          f"{'met' if worst <= TARGET_WARM_MS else 'MISSED'})")
    print(f"  the warm-up's price: a worker is ready {warm['ready_s'] - cold['ready_s']:+.2f} s later")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    with _support.throwaway_instance() as env:
        run(env, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
