"""Receipt PDF: how long a typical donation receipt (6 lines) takes to render, and its size.

In this process, on a throwaway instance (temp folder, ``flask db upgrade`` and ``flask seed-demo``):
one donation of 6 demo items is issued, then inside a GET request context its receipt is rendered
once to warm up (the compact CJK font, fontconfig, the stylesheets) and RUNS more times, each a
full render without the cache (context, QR code, HTML, layout, font subsetting, PDF). It prints
median and p95 render time (target <= 150 ms) with the CPU time this process used (other load on
the machine shows in the first, less in the second; the load average is printed too), the PDF
size (target <= 100 KB), the fonts ``pdffonts`` lists (the compact "Noto Sans CJK SC GB2312" that
gridapp/pdf.py makes, or the full system font without it), whether WeasyPrint found
libharfbuzz-subset, and what a cached repeat costs. Figures only, nothing is asserted.

    .venv/bin/python bench/receipt_pdf.py [--out receipt.pdf]

bench/run_all.py can call ``run(env)`` with the instance it made.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import _support  # bench/ is on sys.path: these files run as scripts

RUNS = 10
TARGET_MS = 150.0
TARGET_KB = 100.0
STAFF_PHONE = "13800000002"  # the demo grid worker (贾亮)
SPONSOR = "新疆丝路天山国际食品城"
# (demo item, quantity, estimated unit value in fen)
LINES = [("食用油", 20, 4500), ("抽纸", 60, 300), ("洗衣粉", 30, 1200), ("牙膏", 40, 800),
         ("毛巾", 25, 1000), ("碗筷套装", 10, 2500)]


def make_app(env: dict):
    from gridapp import create_app
    from gridapp.config import Config

    config = Config(Path(env["GRIDAPP_INSTANCE_PATH"]))
    config.SQLALCHEMY_DATABASE_URI = env["GRIDAPP_DATABASE_URL"]
    return create_app(config)


def pdffonts(pdf: bytes) -> list[str]:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        try:
            out = subprocess.run(["pdffonts", f.name], capture_output=True, text=True, timeout=30).stdout
        except FileNotFoundError:
            return ["(pdffonts not installed: apt-get install poppler-utils)"]
    return out.splitlines()[2:]


def run(env: dict, out: Path | None = None) -> dict:
    from gridapp.auth.models import User
    from gridapp.clock import local_today
    from gridapp.extensions import db
    from gridapp.goods import donations, receipts
    from gridapp.goods.models import Item, Sponsor

    print("== receipt PDF ==")
    print("  load average before: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    app = make_app(env)
    with app.app_context():
        staff = User.query.filter_by(phone=STAFF_PHONE).one()
        sponsor = Sponsor.query.filter_by(name=SPONSOR).one()
        lines = [donations.Line(Item.query.filter_by(name=name).one(), qty, fen) for name, qty, fen in LINES]
        donation = donations.issue(staff, sponsor=sponsor, received_on=local_today() - timedelta(days=1),
                                   lines=lines, note="积分兑换爱心物资")
        db.session.commit()
        donation_id = donation.id

    with app.test_request_context("/", base_url="https://grid.example.cn"):
        from weasyprint.text.ffi import harfbuzz_subset

        donation = donations.get_donation(donation_id)
        staff_name = donation.created_by.name
        started = time.perf_counter()
        pdf = receipts.render_receipt(receipts.receipt_context(donation, staff_name))
        first_ms = (time.perf_counter() - started) * 1000
        times, cpu = [], []
        for _ in range(RUNS):
            started, started_cpu = time.perf_counter(), time.process_time()
            pdf = receipts.render_receipt(receipts.receipt_context(donation, staff_name))
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        receipts.receipt_pdf(donation, staff_name)  # fills the cache
        started = time.perf_counter()
        receipts.receipt_pdf(donation, staff_name)
        cached_ms = (time.perf_counter() - started) * 1000

    times.sort()
    result = {
        "cpu_median_ms": statistics.median(cpu),
        "first_ms": first_ms,
        "median_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "cached_ms": cached_ms,
        "kb": len(pdf) / 1024,
        "harfbuzz_subset": harfbuzz_subset is not None,
        "fonts": pdffonts(pdf),
    }
    print(f"  first render (cold: compact font, stylesheets)     {result['first_ms']:8.1f} ms")
    print(f"  warm render, {RUNS} runs: median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms"
          f"   (target <= {TARGET_MS:.0f} ms)")
    print(f"  CPU time of this process per render: median {result['cpu_median_ms']:.1f} ms"
          "   (less disturbed by other load on the machine)")
    print(f"  cached repeat (same content)                        {result['cached_ms']:8.2f} ms")
    print(f"  PDF size {result['kb']:.1f} KB   (target <= {TARGET_KB:.0f} KB)")
    print(f"  libharfbuzz-subset: {'yes' if result['harfbuzz_subset'] else 'NO (fontTools fallback, slow)'}")
    print("  fonts (pdffonts):")
    for line in result["fonts"]:
        print("    " + line)
    if out:
        out.write_bytes(pdf)
        print(f"  written to {out}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the rendered PDF here")
    args = parser.parse_args()
    try:
        with _support.throwaway_instance() as env:
            run(env, args.out)
    except Exception as exc:  # noqa: BLE001  a benchmark that could not run says why and exits 1
        print(f"receipt PDF benchmark could not run: {exc}", file=sys.stderr)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
