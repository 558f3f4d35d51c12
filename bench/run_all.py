"""Run every benchmark against a throwaway instance and print a summary: ``make bench``.

Builds a temp folder as GRIDAPP_INSTANCE_PATH with its own SQLite database (``flask db upgrade``
and ``flask seed-demo``), so the developer's instance/ is never touched, then runs
bench/page_weight.py, bench/throughput.py, bench/checkin_throughput.py and bench/counter.py on it in
that order, with bench/page_cpu.py after the page weight (the pages' CPU in process, on a copy of the
instance; at 100k volunteers / 2M entries too unless ``--quick``) (``--no-counter`` skips the exchange
counter, ``--quick`` shortens it), and last
bench/ledger_scale.py on a database of its own (100,000 volunteers, 2,000,000 entries; a few
minutes), which ``--quick`` skips, and bench/reporting.py (dashboard, monthly report, 积分超市,
exports; its own demo instance and ledger-scale database, a tenth of the size with ``--quick``), then
bench/first_pdf.py and bench/pdf_rush.py (``--no-counter`` skips it) on another demo instance, and
bench/rollups.py (division and community roll-ups, and /me, /me/points, the counter lookup and panel and the
counter confirm at division scale next to a single grid, on a throwaway PostgreSQL cluster; a tenth of the size with ``--quick``). Every server a benchmark starts is stopped (its whole
process group) even when something fails. Figures are printed, never asserted: the exit status
is non-zero only when a benchmark could not run at all.

    .venv/bin/python bench/run_all.py [--quick] [--no-counter]
"""
import argparse
import os
import statistics
import sys
import time
import traceback

import _support  # bench/ is on sys.path: these files run as scripts
import checkin_throughput
import counter
import first_pdf
import ledger_scale
import page_cpu
import page_weight
import pdf_rush
import reporting
import rollups
import throughput


def row(metric: str, value: str, target: str, verdict: str = "") -> str:
    return f"  {metric:<44} {value:>22}   {target:<20} {verdict}"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def summary(weights: dict | None, speed: dict | None, checkin: dict | None, scale: dict | None,
            scale_skipped: bool, exchange: dict | None = None, exchange_skipped: bool = False,
            pages: dict | None = None) -> None:
    print("\n== summary ==")
    print(row("metric", "value", "target"))
    print(row("-" * 44, "-" * 22, "-" * 20, "-" * 6))
    if weights:
        first = weights.pop(page_weight.FIRST_VISIT_KEY, None)
        for path, m in weights.items():
            print(row(f"{path} HTML+CSS gzip", f"{m['total_gz']:,} B", f"<= {page_weight.BUDGET:,} B",
                      verdict(m["total_gz"] <= page_weight.BUDGET)))
        if first:
            print(row("first visit /login + all it loads (gzip, br)", f"{first['total']:,} B",
                      f"<= {page_weight.FIRST_VISIT_TARGET:,} B", verdict(first["total"] <= page_weight.FIRST_VISIT_TARGET)))
        third = sum(m["third_party"] for m in weights.values())
        print(row("third-party requests (all pages)", str(third), "0", verdict(third == 0)))
        own_only = all(m["own_scripts_only"] for m in weights.values())
        print(row("JavaScript", "htmx + own scripts" if own_only else "other scripts", "htmx + own static scripts",
                  verdict(own_only)))
    else:
        print(row("page weight", "did not run", ""))
    if pages:
        for page in page_cpu.PAGES:
            m = pages["demo"][page]
            targeted = page in page_cpu.TARGETED
            print(row(f"CPU in process {page} median / p95", f"{m['median']:.2f} / {m['p95']:.2f} ms",
                      f"<= {page_cpu.TARGET_MS} ms" if targeted else "",
                      verdict(m["median"] <= page_cpu.TARGET_MS) if targeted else ""))
        selects = pages["queries"]["/me"][0]
        print(row("/me SELECTs (the login's included)", str(selects), "<= 4", verdict(selects <= 4)))
        for page, ratio in pages.get("growth", {}).items():
            print(row(f"growth at 100k/2M: {page}", f"x{ratio:.2f}", f"<= x{page_cpu.TARGET_GROWTH:g}",
                      verdict(ratio <= page_cpu.TARGET_GROWTH)))
    else:
        print(row("page CPU", "did not run", ""))
    if speed:
        app, health, hello = speed["app /me"], speed["app /healthz"], speed["hello /"]
        print(row("app /me req/s", f"{app['rps']:,.1f}", ""))
        print(row("app /healthz req/s", f"{health['rps']:,.1f}", ""))
        print(row("hello / req/s", f"{hello['rps']:,.1f}", ""))
        print(row("ratio /me ÷ /healthz", f"{speed['ratio']:.2f}", f">= {throughput.TARGET_RATIO}",
                  verdict(speed["ratio"] >= throughput.TARGET_RATIO)))
        print(row("ratio empty logged-in page ÷ /healthz", f"{speed['empty_ratio']:.2f}", "(the most a page reaches)"))
        print(row("ratio /healthz ÷ hello (the stack)", f"{speed['floor_ratio']:.2f}", ""))
        print(row("app /me p50 / p99", f"{app['p50']:.1f} / {app['p99']:.1f} ms", ""))
        print(row("hello / p50 / p99", f"{hello['p50']:.1f} / {hello['p99']:.1f} ms", ""))
    else:
        print(row("throughput", "did not run", ""))
    if checkin:
        c, base = checkin, checkin["baseline"]
        print(row(f"check-in POST req/s ({checkin_throughput.CONNECTIONS} conn.)", f"{c['rps']:,.1f}", ""))
        print(row("check-in POST req/s (8 conn.) target", f"{c['rps']:,.1f}",
                  f">= {checkin_throughput.TARGET_RPS:.0f}/s", verdict(c["rps"] >= checkin_throughput.TARGET_RPS)))
        print(row("check-in POST p50 / p95 / p99",
                  f"{c['p50']:.1f} / {c['p95']:.1f} / {c['p99']:.1f} ms",
                  f"p95 < {checkin_throughput.TARGET_P95_MS:.0f} ms", verdict(c["p95"] < checkin_throughput.TARGET_P95_MS)))
        print(row("check-in POST max (8 conn.)", f"{c['max']:.1f} ms", f"< {checkin_throughput.TARGET_MAX_MS:.0f} ms",
                  verdict(c["max"] < checkin_throughput.TARGET_MAX_MS)))
        if c.get("open"):
            o = c["open"]
            print(row(f"check-in open loop {checkin_throughput.OPEN_RATE:.0f}/s: p50 / p95",
                      f"{o['p50']:.1f} / {o['p95']:.1f} ms", f"p95 < {checkin_throughput.TARGET_OPEN_P95_MS:.0f} ms",
                      verdict(o["p95"] < checkin_throughput.TARGET_OPEN_P95_MS)))
        print(row("check-in one at a time: req/s, p50", f"{base['rps']:,.1f}, {base['p50']:.1f} ms", ""))
        print(row("check-in answers other than 303", str(c["non_303"] + base["non_303"]), "0",
                  verdict(c["non_303"] + base["non_303"] == 0)))
        print(row("'database is locked' in the gunicorn log", str(c["locked"]), "0", verdict(c["locked"] == 0)))
        print(row("flask verify after the check-ins", "passes" if c["verify_ok"] else "FAILS", "passes",
                  verdict(c["verify_ok"])))
    else:
        print(row("check-in throughput", "did not run", ""))
    if exchange:
        e, one = exchange, exchange["serial"]
        print(row("counter, one table: whole redemption p50", f"{sum(one[s]['p50'] for s in counter.STEPS):.0f} ms", ""))
        print(row("counter, one table: confirm p50 / p95",
                  f"{one['confirm']['p50']:.1f} / {one['confirm']['p95']:.1f} ms", ""))
        print(row(f"counter, {counter.TABLES} tables at a human pace: confirm p50 / p95",
                  f"{e['paced_confirm']['p50']:.1f} / {e['paced_confirm']['p95']:.1f} ms",
                  f"p95 < {counter.TARGET_CONFIRM_P95_MS:.0f} ms",
                  verdict(e["paced_confirm"]["p95"] < counter.TARGET_CONFIRM_P95_MS)))
        print(row(f"counter, {counter.TABLES} tables without pause: redemptions/s", f"{e['rps']:,.1f}",
                  f">= {counter.TARGET_CAPACITY:.0f}/s", verdict(e["rps"] >= counter.TARGET_CAPACITY)))
        print(row(f"counter, {counter.TABLES} tables without pause: confirm p50 / p95 / p99",
                  f"{e['confirm']['p50']:.0f} / {e['confirm']['p95']:.0f} / {e['confirm']['p99']:.0f} ms", ""))
        print(row("counter: worker CPU per redemption", f"{e['cpu_ms']:.0f} ms", ""))
        print(row("counter: confirms other than 303", str(e["non_303"]), "0", verdict(e["non_303"] == 0)))
        print(row("counter: 'database is locked'", str(e["locked"]), "0", verdict(e["locked"] == 0)))
        print(row("counter: flask verify afterwards", "passes" if e["verify_ok"] else "FAILS", "passes",
                  verdict(e["verify_ok"])))
    else:
        print(row("exchange counter", "skipped (--no-counter)" if exchange_skipped else "did not run", ""))
    if scale:
        target = f"< {ledger_scale.TARGET_MS:.0f} ms"
        for (users, entries), m in ((k, v) for k, v in scale.items() if isinstance(k, tuple)):
            size = f"{users // 1000}k/{entries / 1e6:g}M" if entries >= 1_000_000 else f"{users // 1000}k/{entries // 1000}k"
            for key, label in (("user+balance", "user + balance"), ("history", "history p1"),
                               ("page", "GET /me/points")):
                values = m[key]
                print(row(f"ledger {size}: {label} p50 / p95",
                          f"{statistics.median(values):.2f} / {ledger_scale.p95(values):.2f} ms", target,
                          verdict(ledger_scale.p95(values) < ledger_scale.TARGET_MS)))
        growth = scale["growth"]
        worst = max(growth.values())
        print(row("ledger growth x10 entries (worst median)", f"x{worst:.2f}", f"<= log n: x{scale['log_ratio']:.2f}",
                  verdict(worst <= scale["log_ratio"])))
        print(row("flask verify on 2M entries", f"{scale['verify_s']:.1f} s", "",
                  "passes" if scale["verify_ok"] else "FAILS"))
        print(row("ledger generation", f"{scale['generation_s']:.1f} s", ""))
    else:
        print(row("ledger scale", "skipped (--quick)" if scale_skipped else "did not run", ""))


def pdf_summary(first: dict | None, rush: dict | None) -> None:
    if first:
        warm, cold = first["warm-up"], first["none"]
        print(row("first PDF in a worker, warm-up / none", f"{warm['first']:.0f} / {cold['first']:.0f} ms",
                  f"<= {first_pdf.TARGET_FIRST_MS:.0f} ms", verdict(warm["first"] <= first_pdf.TARGET_FIRST_MS)))
        for key, label in (("warm", "warm receipt"), ("warm_notice", "warm notice")):
            print(row(f"{label} (worker CPU)", f"{warm[key]:.0f} ms ({warm[key + '_cpu']:.0f})",
                      f"<= {first_pdf.TARGET_WARM_MS:.0f} ms", verdict(warm[key] <= first_pdf.TARGET_WARM_MS)))
    if rush:
        for label, figures in rush.items():
            quiet = max(figures["quiet"]["confirm"]["p95"], figures["quiet again"]["confirm"]["p95"])
            busy = figures["rush"]["confirm"]["p95"]
            print(row(f"confirm p95 rush / quiet ({label})", f"{busy:.0f} / {quiet:.0f} ms", "not raised",
                      verdict(busy <= quiet)))


def rollup_summary(results: dict | None) -> None:
    if not results:
        print(row("roll-ups (PostgreSQL)", "did not run", ""))
        return
    div, one = results["division"], results["single"]
    for key, target in (("division rollup", rollups.DIVISION_TARGET_MS), ("community rollup", rollups.COMMUNITY_TARGET_MS)):
        print(row(f"{key} p95 ({div[key]['queries']} statements)", f"{div[key]['p95']:.0f} ms", f"<= {target:.0f} ms",
                  verdict(div[key]["p95"] <= target)))
    for key in ("/me", "/me/points", "counter lookup", "counter panel", "counter confirm"):
        ratio = div[key]["p50"] / one[key]["p50"]
        print(row(f"{key}: division / single grid p50", f"x{ratio:.2f}", f"<= x{rollups.RATIO_TARGET}",
                  verdict(ratio <= rollups.RATIO_TARGET)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run the gridapp benchmarks (figures only).")
    parser.add_argument("--quick", action="store_true",
                        help="skip the ledger scale benchmark (100,000 volunteers, 2M entries: a few minutes) "
                             "and shorten the exchange counter one (30 redemptions one at a time, 5 s of four tables)")
    parser.add_argument("--no-counter", action="store_true", help="skip the exchange counter benchmark (about 1 minute)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results = {"page weight": None, "page CPU": None, "throughput": None, "check-in": None, "counter": None,
               "ledger scale": None, "reporting": None, "first PDF": None, "PDF rush": None, "roll-ups": None}
    failed = False
    print(f"gridapp benchmarks — {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    def attempt(name, bench, *bench_args):
        nonlocal failed
        try:
            results[name] = bench(*bench_args)
        except Exception:  # report and go on: one broken benchmark should not hide the others
            failed = True
            print(f"\n!! {name} benchmark failed:")
            traceback.print_exc(file=sys.stdout)
        print()

    with _support.throwaway_instance() as env:
        print(f"throwaway instance: {env['GRIDAPP_INSTANCE_PATH']} (migrated, demo data seeded)\n")
        attempt("page weight", page_weight.run, env)
        # On a copy of this instance (it opens today's counter there); at 100k/2M too unless --quick.
        attempt("page CPU", page_cpu.run, env, not args.quick)
        attempt("throughput", throughput.run, env)
        attempt("check-in", checkin_throughput.run, env, 20.0 if args.quick else checkin_throughput.OPEN_SECONDS)
        if not args.no_counter:  # after the check-ins: it adds volunteers, stock and today's counter session
            attempt("counter", counter.run, env, args.quick)
    if not args.quick:
        attempt("ledger scale", ledger_scale.run)
    # Dashboard, monthly report, 积分超市 and exports; --quick at a tenth of the ledger scale.
    attempt("reporting", reporting.run, *((10_000, 200_000) if args.quick else ()))
    # PDFs: a fresh worker's first PDF with and without the warm-up, then the month-end rush beside the counter.
    with _support.throwaway_instance() as env:
        attempt("first PDF", first_pdf.run, env)
        if not args.no_counter:
            attempt("PDF rush", pdf_rush.run, env, args.quick)
    # Roll-ups at division scale on a throwaway PostgreSQL (50 communities × 4 grids; --quick: 10 × 4, a tenth).
    attempt("roll-ups", rollups.run, args.quick)
    summary(results["page weight"], results["throughput"], results["check-in"], results["ledger scale"], args.quick,
            results["counter"], args.no_counter, results["page CPU"])
    pdf_summary(results.get("first PDF"), results.get("PDF rush"))
    rollup_summary(results["roll-ups"])
    print(f"\n(finished in {time.monotonic() - started:.0f} s; figures only, nothing asserted)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
