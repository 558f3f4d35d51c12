"""Run every benchmark against a throwaway instance and print a summary: ``make bench``.

Builds a temp folder as GRIDAPP_INSTANCE_PATH with its own SQLite database (``flask db upgrade``
and ``flask seed-demo``), so the developer's instance/ is never touched, then runs
bench/page_weight.py and bench/throughput.py in that order. Every server a benchmark starts is
stopped (its whole process group) even when something fails. Figures are printed, never asserted:
the exit status is non-zero only when a benchmark could not run at all.
"""
import os
import sys
import time
import traceback

import _support  # bench/ is on sys.path: these files run as scripts
import page_weight
import throughput


def row(metric: str, value: str, target: str, verdict: str) -> str:
    return f"  {metric:<36} {value:>16}   {target:<18} {verdict}"


def summary(weights: dict | None, speed: dict | None) -> None:
    print("\n== summary ==")
    print(row("metric", "value", "target", ""))
    print(row("-" * 36, "-" * 16, "-" * 18, "-" * 6))
    if weights:
        for path, m in weights.items():
            print(row(f"{path} HTML+CSS gzip", f"{m['total_gz']:,} B", f"<= {page_weight.BUDGET:,} B",
                      "met" if m["total_gz"] <= page_weight.BUDGET else "MISSED"))
        third = sum(m["third_party"] for m in weights.values())
        print(row("third-party requests (both pages)", str(third), "0", "met" if third == 0 else "MISSED"))
        htmx_only = all(m["htmx_only"] for m in weights.values())
        print(row("JavaScript", "htmx only" if htmx_only else "other scripts", "htmx only",
                  "met" if htmx_only else "MISSED"))
    else:
        print(row("page weight", "did not run", "", ""))
    if speed:
        app, hello = speed["app /me"], speed["hello /"]
        print(row("app /me req/s", f"{app['rps']:,.1f}", "", ""))
        print(row("hello / req/s", f"{hello['rps']:,.1f}", "", ""))
        print(row("ratio app/hello", f"{speed['ratio']:.2f}", f">= {throughput.TARGET_RATIO}",
                  "met" if speed["ratio"] >= throughput.TARGET_RATIO else "MISSED"))
        print(row("app /me p50 / p99", f"{app['p50']:.1f} / {app['p99']:.1f} ms", "", ""))
        print(row("hello / p50 / p99", f"{hello['p50']:.1f} / {hello['p99']:.1f} ms", "", ""))
    else:
        print(row("throughput", "did not run", "", ""))


def main() -> int:
    started = time.monotonic()
    weights = speed = None
    failed = False
    print(f"gridapp benchmarks — {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with _support.throwaway_instance() as env:
        print(f"throwaway instance: {env['GRIDAPP_INSTANCE_PATH']} (migrated, demo data seeded)\n")
        for name, bench in (("page weight", page_weight.run), ("throughput", throughput.run)):
            try:
                result = bench(env)
            except Exception:  # report and go on: one broken benchmark should not hide the other
                failed = True
                print(f"\n!! {name} benchmark failed:")
                traceback.print_exc(file=sys.stdout)
                continue
            if bench is page_weight.run:
                weights = result
            else:
                speed = result
            print()
    summary(weights, speed)
    print(f"\n(finished in {time.monotonic() - started:.0f} s; figures only, nothing asserted)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
