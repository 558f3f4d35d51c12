"""Campaign notice PDF: render time and size of the A4 notice with 6 zones, and what a cached request costs.

In this process, on a throwaway instance (temp folder, ``flask db upgrade`` and ``flask seed-demo``,
which publishes tomorrow's snow campaign with the six zones of 26 December):

1. inside a GET request context, the notice is rendered once to warm up (WeasyPrint import,
   fontconfig, the stylesheets) and RUNS more times, each a full render without the cache
   (context from the database, HTML, layout, font subsetting, PDF). It prints the median and p95
   wall time, the median CPU time of this process (less disturbed by other load on the 2 cores),
   the PDF size, its page count and size (pdfinfo) and the fonts ``pdffonts`` lists;
2. through the Flask test client, logged in as the demo grid worker: ``GET
   /campaigns/<id>/notice.pdf`` once (renders and fills the cache), then REQUESTS times with
   ``If-None-Match`` (304, nothing rendered) and REQUESTS times without (200, the PDF from the
   cache). These are server times (routing, login session, the campaign's context and its
   fingerprint), no network.

Targets: render <= 150 ms, size <= 100 KB, cached request <= 5 ms. Figures only, nothing is asserted.

    .venv/bin/python bench/campaign_notice.py [--out notice.pdf]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _support  # bench/ is on sys.path: these files run as scripts

RUNS = 10
REQUESTS = 200
TARGET_MS = 150.0
TARGET_KB = 100.0
TARGET_CACHED_MS = 5.0
STAFF_PHONE = "13800000002"  # the demo grid worker (贾亮)
BASE_URL = "https://grid.example.cn"


def make_app(env: dict):
    from gridapp import create_app
    from gridapp.config import Config

    config = Config(Path(env["GRIDAPP_INSTANCE_PATH"]))
    config.SQLALCHEMY_DATABASE_URI = env["GRIDAPP_DATABASE_URL"]
    return create_app(config)


def poppler(tool: str, pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        try:
            return subprocess.run([tool, f.name], capture_output=True, text=True, timeout=30).stdout
        except FileNotFoundError:
            return f"({tool} not installed: apt-get install poppler-utils)"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(call, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def run(env: dict, out: Path | None = None) -> dict:
    from gridapp.campaigns import notice
    from gridapp.campaigns.models import Campaign
    from gridapp.extensions import db

    print("== campaign notice PDF ==")
    print(f"  load average {os.getloadavg()[0]:.2f} (2 cores; other work shifts every figure)")
    app = make_app(env)
    with app.app_context():
        campaign = Campaign.query.filter_by(status="published").order_by(Campaign.starts_at.desc()).first()
        if campaign is None or len(campaign.zones) != 6:
            raise RuntimeError("the demo world has no published campaign with 6 zones (flask seed-demo)")
        campaign_id = campaign.id

    with app.test_request_context("/", base_url=BASE_URL):
        from weasyprint.text.ffi import harfbuzz_subset

        campaign = db.session.get(Campaign, campaign_id)
        started = time.perf_counter()
        pdf = notice.render_notice(notice.notice_context(campaign))
        first_ms = (time.perf_counter() - started) * 1000
        times, cpu = [], []
        for _ in range(RUNS):
            started, started_cpu = time.perf_counter(), time.process_time()
            pdf = notice.render_notice(notice.notice_context(campaign))
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    login = client.post("/login", data={"csrf_token": token, "phone": STAFF_PHONE, "password": _support.DEMO_PASSWORD})
    if login.status_code != 303:
        raise RuntimeError(f"login as {STAFF_PHONE} answered {login.status_code}")
    url = f"/campaigns/{campaign_id}/notice.pdf"
    first = client.get(url)
    if first.status_code != 200 or first.mimetype != "application/pdf":
        raise RuntimeError(f"GET {url} answered {first.status_code} {first.mimetype}")
    etag = first.headers["ETag"]
    statuses = set()
    not_modified = timed(lambda: statuses.add(client.get(url, headers={"If-None-Match": etag}).status_code), REQUESTS)
    repeat = timed(lambda: statuses.add(client.get(url).status_code), REQUESTS)

    info = poppler("pdfinfo", pdf)
    fonts = poppler("pdffonts", pdf).splitlines()[2:]
    result = {
        "first_ms": first_ms,
        "median_ms": statistics.median(times),
        "p95_ms": percentile(times, 0.95),
        "cpu_median_ms": statistics.median(cpu),
        "kb": len(pdf) / 1024,
        "pages": (re.search(r"Pages:\s+(\d+)", info) or [None, "?"])[1],
        "page_size": (re.search(r"Page size:\s+(.+)", info) or [None, "?"])[1],
        "fonts": fonts,
        "harfbuzz_subset": harfbuzz_subset is not None,
        "304_median_ms": statistics.median(not_modified),
        "304_p95_ms": percentile(not_modified, 0.95),
        "cached_200_median_ms": statistics.median(repeat),
        "cached_200_p95_ms": percentile(repeat, 0.95),
        "statuses": sorted(statuses),
    }
    print(f"  first render (cold: import, fontconfig, stylesheets)     {result['first_ms']:8.1f} ms")
    print(f"  warm render, 6 zones, {RUNS} runs: median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms"
          f"   (target <= {TARGET_MS:.0f} ms)")
    print(f"  CPU time of this process per render: median {result['cpu_median_ms']:.1f} ms")
    print(f"  PDF size {result['kb']:.1f} KB   (target <= {TARGET_KB:.0f} KB); "
          f"{result['pages']} page(s), {result['page_size'].strip()}")
    print(f"  libharfbuzz-subset: {'yes' if result['harfbuzz_subset'] else 'NO (fontTools fallback, slow)'}")
    print("  fonts (pdffonts):")
    for line in fonts:
        print("    " + line)
    print(f"  GET notice.pdf with If-None-Match, {REQUESTS}x: median {result['304_median_ms']:.2f} ms, "
          f"p95 {result['304_p95_ms']:.2f} ms   (target <= {TARGET_CACHED_MS:.0f} ms)")
    print(f"  GET notice.pdf again (200 from the cache), {REQUESTS}x: median {result['cached_200_median_ms']:.2f} ms, "
          f"p95 {result['cached_200_p95_ms']:.2f} ms   (target <= {TARGET_CACHED_MS:.0f} ms)")
    print(f"  answers: {result['statuses']} (expected [200, 304])")
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
        print(f"campaign notice benchmark could not run: {exc}", file=sys.stderr)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
