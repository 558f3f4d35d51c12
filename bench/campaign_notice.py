"""Campaign notice PDF: render time and size of the A4 notice with 6 zones, and what a cached request costs.

In this process, on a throwaway instance (temp folder, ``flask db upgrade`` and ``flask seed-demo``,
which publishes tomorrow's snow campaign with the six zones of 26 December):

1. the process is warmed up as a gunicorn worker is (``gridapp.pdf.warm_up(app, freeze=True)``:
   WeasyPrint, fontconfig, the stylesheets, the newest notice, then what it loaded frozen out of
   the garbage collector's full collections); inside a GET request context the notice is rendered
   once more (its QR code for this host) and RUNS more times, each a full render without the cache
   (context from the database, HTML, layout, font subsetting, PDF). It prints the median and p95
   wall time, the median CPU time of this process (less disturbed by other load on the 2 cores),
   the time the garbage collector took, the PDF size, its page count and size (pdfinfo) and the
   fonts ``pdffonts`` lists;
2. through the Flask test client, logged in as the demo grid worker: ``GET
   /campaigns/<id>/notice.pdf`` once (renders and fills the cache), then REQUESTS times with
   ``If-None-Match`` (304, nothing rendered) and REQUESTS times without (200, the PDF from the
   cache), counting the renders meanwhile (0: every repeat came from the cache). These are server
   times (routing, login session, the campaign's context and its fingerprint), no network.

With ``--compare`` it first renders the notice 2 x COMPARE_RUNS times, in alternating blocks of
COMPARE_BLOCK: "before" (nothing frozen: as before issue 14) and "after"
(level 6, what the process holds frozen: as now), and prints both sides and their ratio from the
same run. With ``--compare-layout DIR`` the "before" side is instead the notice laid out by DIR's
templates (``DIR/templates/pdf/campaign_notice.html`` and ``.css``: another checkout, e.g. of main), both
sides frozen as now, so only the layout differs.

Targets: render <= 150 ms, size <= 100 KB, cached request <= 5 ms. Figures only, nothing is asserted.

    .venv/bin/python bench/campaign_notice.py [--out notice.pdf] [--compare | --compare-layout DIR]
"""
import argparse
import gc
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
COMPARE_RUNS = 30
COMPARE_BLOCK = 5
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


class GcClock:
    """CPU time the garbage collector takes (gc.callbacks), and how many full collections ran."""

    def __init__(self):
        self.seconds, self.full, self._started = 0.0, 0, 0.0
        gc.callbacks.append(self._tick)

    def _tick(self, phase, info):
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started
            self.full += info["generation"] == 2

    def close(self):
        gc.callbacks.remove(self._tick)


def set_before(before: bool) -> None:
    """Before issue 14: nothing is frozen; after: what the process holds is frozen out of full
    collections (as the worker's warm-up leaves it)."""
    if before:
        gc.unfreeze()
    else:
        gc.freeze()


def compare(render, before_render=None) -> dict:
    """Render as before and as now, COMPARE_RUNS times each, in blocks of COMPARE_BLOCK (before, after,
    after, before, …: the garbage collector runs as it would, between renders too); wall and CPU ms.
    With ``before_render`` the before side calls it (another layout) and both sides stay frozen."""
    sides = {name: {"wall": [], "cpu": [], "gc": 0.0, "full": 0} for name in ("before", "after")}
    for n in range(2 * COMPARE_RUNS):
        block = n // COMPARE_BLOCK
        name = ("before", "after")[(block + block // 2) % 2]  # before, after, after, before, …
        side = sides[name]
        if n % COMPARE_BLOCK == 0 and before_render is None:
            set_before(name == "before")
        clock = GcClock()
        started, started_cpu = time.perf_counter(), time.process_time()
        (before_render if name == "before" and before_render else render)()
        side["wall"].append((time.perf_counter() - started) * 1000)
        side["cpu"].append((time.process_time() - started_cpu) * 1000)
        clock.close()
        side["gc"] += clock.seconds * 1000
        side["full"] += clock.full
    set_before(False)
    print(f"  before / after, alternating, {COMPARE_RUNS} renders each:")
    for name, side in sides.items():
        print(f"    {name:6}  wall median {statistics.median(side['wall']):6.1f} ms, "
              f"p95 {percentile(side['wall'], 0.95):6.1f}, mean {statistics.mean(side['wall']):6.1f}; "
              f"CPU median {statistics.median(side['cpu']):6.1f}, mean {statistics.mean(side['cpu']):6.1f}; "
              f"garbage collector {side['gc'] / COMPARE_RUNS:5.1f} ms a render ({side['full']} full collections)")
    b, a = sides["before"], sides["after"]
    print(f"    after / before: wall median x{statistics.median(a['wall']) / statistics.median(b['wall']):.2f}, "
          f"mean x{statistics.mean(a['wall']) / statistics.mean(b['wall']):.2f}; CPU median "
          f"x{statistics.median(a['cpu']) / statistics.median(b['cpu']):.2f}, mean "
          f"x{statistics.mean(a['cpu']) / statistics.mean(b['cpu']):.2f}")
    return {name: {"wall_median_ms": statistics.median(side["wall"]), "wall_p95_ms": percentile(side["wall"], 0.95),
                   "wall_mean_ms": statistics.mean(side["wall"]), "cpu_median_ms": statistics.median(side["cpu"]),
                   "cpu_mean_ms": statistics.mean(side["cpu"]), "gc_ms": side["gc"] / COMPARE_RUNS,
                   "full_collections": side["full"]} for name, side in sides.items()}


BEFORE_PREFIX = "before"


def add_before_layout(app, folder: Path, signup_url: str) -> str:
    """Let ``app`` find the templates of another checkout under "before/" (the notice's template and its
    stylesheet, which pdf.stylesheet() looks up by the template's name); returns the notice's name there.
    A notice template from before issue 14 drew the QR code from an inline SVG ``qr`` (now a PNG by URL,
    ``qr_src``): it is given as a Jinja global, which only a template not passed a ``qr`` of its own sees."""
    from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader
    from markupsafe import Markup

    from gridapp.qr import qr_svg

    templates = folder / "templates"
    if not (templates / "pdf" / "campaign_notice.html").is_file():
        raise RuntimeError(f"{templates}/pdf/campaign_notice.html not found")
    app.jinja_env.loader = ChoiceLoader([app.jinja_env.loader,
                                         PrefixLoader({BEFORE_PREFIX: FileSystemLoader(str(templates))})])
    app.jinja_env.globals["qr"] = Markup(qr_svg(signup_url, scale=4))
    return f"{BEFORE_PREFIX}/pdf/campaign_notice.html"


def run(env: dict, out: Path | None = None, compare_sides: bool = False, before_layout: Path | None = None) -> dict:
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

    from gridapp.pdf import warm_up

    warmed = warm_up(app, freeze=True)  # as every gunicorn worker does before its first request
    print(f"  warm-up as a worker: {warmed['seconds']:.2f} s, {gc.get_freeze_count()} objects frozen")
    with app.test_request_context("/", base_url=BASE_URL):
        from weasyprint.text.ffi import harfbuzz_subset

        campaign = db.session.get(Campaign, campaign_id)
        started = time.perf_counter()
        pdf = notice.render_notice(notice.notice_context(campaign))
        first_ms = (time.perf_counter() - started) * 1000
        compared = None
        if before_layout:
            before_template = add_before_layout(app, before_layout, notice.signup_url(campaign))
            compared = compare(lambda: notice.render_notice(notice.notice_context(campaign)),
                               lambda: notice.render_notice(notice.notice_context(campaign), before_template))
        elif compare_sides:
            compared = compare(lambda: notice.render_notice(notice.notice_context(campaign)))
        times, cpu = [], []
        clock = GcClock()
        for _ in range(RUNS):
            started, started_cpu = time.perf_counter(), time.process_time()
            pdf = notice.render_notice(notice.notice_context(campaign))
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        clock.close()

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
    statuses, renders = set(), []
    real_render = notice.RENDERERS[notice.NOTICE_TEMPLATE]
    notice.RENDERERS[notice.NOTICE_TEMPLATE] = lambda context: renders.append(1) or real_render(context)
    try:
        not_modified = timed(lambda: statuses.add(client.get(url, headers={"If-None-Match": etag}).status_code),
                             REQUESTS)
        repeat = timed(lambda: statuses.add(client.get(url).status_code), REQUESTS)
        repeat_cpu = []
        for _ in range(REQUESTS):
            started_cpu = time.process_time()
            statuses.add(client.get(url).status_code)
            repeat_cpu.append((time.process_time() - started_cpu) * 1000)
    finally:
        notice.RENDERERS[notice.NOTICE_TEMPLATE] = real_render

    info = poppler("pdfinfo", pdf)
    fonts = poppler("pdffonts", pdf).splitlines()[2:]
    result = {
        "first_ms": first_ms,
        "median_ms": statistics.median(times),
        "p95_ms": percentile(times, 0.95),
        "cpu_median_ms": statistics.median(cpu),
        "gc_ms": clock.seconds * 1000 / RUNS,
        "full_collections": clock.full,
        "kb": len(pdf) / 1024,
        "pages": (re.search(r"Pages:\s+(\d+)", info) or [None, "?"])[1],
        "page_size": (re.search(r"Page size:\s+(.+)", info) or [None, "?"])[1],
        "fonts": fonts,
        "harfbuzz_subset": harfbuzz_subset is not None,
        "304_median_ms": statistics.median(not_modified),
        "304_p95_ms": percentile(not_modified, 0.95),
        "cached_200_median_ms": statistics.median(repeat),
        "cached_200_p95_ms": percentile(repeat, 0.95),
        "cached_200_cpu_median_ms": statistics.median(repeat_cpu),
        "renders_while_cached": len(renders),
        "statuses": sorted(statuses),
        "compare": compared,
    }
    print(f"  first render (cold: import, fontconfig, stylesheets)     {result['first_ms']:8.1f} ms")
    print(f"  warm render, 6 zones, {RUNS} runs: median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms"
          f"   (target <= {TARGET_MS:.0f} ms)")
    print(f"  CPU time of this process per render: median {result['cpu_median_ms']:.1f} ms; of it the garbage "
          f"collector {result['gc_ms']:.1f} ms a render ({result['full_collections']} full collections)")
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
    print(f"  the same 200 again, CPU median {result['cached_200_cpu_median_ms']:.2f} ms; notices rendered during the "
          f"{3 * REQUESTS} repeated requests: {result['renders_while_cached']} (expected 0: all from the PDF cache)")
    print(f"  answers: {result['statuses']} (expected [200, 304])")
    if out:
        out.write_bytes(pdf)
        print(f"  written to {out}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the rendered PDF here")
    parser.add_argument("--compare", action="store_true", help="also render as before issue 14 and as now, alternating")
    parser.add_argument("--compare-layout", type=Path, metavar="DIR",
                        help="also render with DIR's notice template (before) and this one (after), alternating")
    args = parser.parse_args()
    try:
        with _support.throwaway_instance() as env:
            run(env, args.out, args.compare, args.compare_layout)
    except Exception as exc:  # noqa: BLE001  a benchmark that could not run says why and exits 1
        print(f"campaign notice benchmark could not run: {exc}", file=sys.stderr)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
