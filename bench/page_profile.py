"""Where a page's CPU goes: cProfile of page_cpu.py's pages, and their own time split per layer.

The same preparation as page_cpu.py (a copy of the demo world, today a counter day with the counter
open, the same prepared WSGI environ with a settled login cookie). Each page is called ``--count``
times under cProfile after a warm-up; the script prints, per page, the top functions by own time
(tottime) and by cumulative time, and the own time summed per layer (SQLAlchemy, sqlite3, Jinja
including the compiled templates, Babel, WTForms and CSRF, Flask/Werkzeug/Flask-Login, gridapp's own
code, the rest), in ms per request. cProfile inflates small Python calls: read the layers as shares,
and take absolute figures from page_cpu.py.

``.venv/bin/python bench/page_profile.py [--instance DIR] [--count 300] [--pages /me,panel] [--top 25]``
Figures only.
"""
import argparse
import cProfile
import io
import pstats
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import _support
import ledger_scale
import page_cpu

LAYERS = (  # (layer, substrings of the code's file name), first match wins
    ("sqlite3", ("sqlite3", "<method 'execute' of 'sqlite3", "<method 'fetch")),
    ("SQLAlchemy", ("sqlalchemy",)),
    ("Jinja", ("jinja2", "markupsafe", "templates/")),
    ("Babel", ("babel", "flask_babel")),
    ("WTForms+CSRF", ("wtforms", "flask_wtf", "itsdangerous", "hmac", "hashlib")),
    ("Flask/Werkzeug/Login", ("flask/", "werkzeug", "flask_login", "flask_limiter", "limits/", "flask_sqlalchemy")),
    ("gridapp", ("gridapp/",)),
)


def layer_of(key) -> str:
    filename, _line, name = key
    where = f"{filename}:{name}"
    if filename == "~":  # a builtin: name it by what it belongs to
        where = name
    for layer, marks in LAYERS:
        if any(mark in where for mark in marks):
            return layer
    return "other (stdlib, builtins)"


def profile_page(caller, count: int, top: int) -> None:
    for _ in range(page_cpu.WARMUP):
        caller()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        caller()
    profiler.disable()
    stats = pstats.Stats(profiler)
    per_layer = defaultdict(float)
    total = 0.0
    for key, (_cc, _nc, tt, _ct, _callers) in stats.stats.items():
        per_layer[layer_of(key)] += tt
        total += tt
    print(f"  per layer (own time under cProfile, ms per request; total {total / count * 1000:.2f} ms):")
    for layer, seconds in sorted(per_layer.items(), key=lambda kv: -kv[1]):
        print(f"    {layer:<26} {seconds / count * 1000:6.3f} ms  {seconds / total:5.1%}")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
        lines = out.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
        print(f"  top {top} by {order}:")
        print("\n".join("    " + line for line in lines[start:] if line.strip()))


def run(env: dict, count: int, pages: list[str], top: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gridapp-bench-profile-") as tmp:
        demo_env = page_cpu.copy_instance(env, Path(tmp) / "demo")
        app = ledger_scale.make_app(demo_env)
        page_cpu.open_counter_today(app)
        callers = page_cpu.callers_for(app)
        for page in pages:
            print(f"== {page}: {count} requests under cProfile ==")
            profile_page(callers[page], count, top)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", help="an existing demo instance folder to copy (default: build one)")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--pages", default="/me,/me/points,panel")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    pages = args.pages.split(",")
    if args.instance:
        run(_support.base_env(Path(args.instance)), args.count, pages, args.top)
        return 0
    with _support.throwaway_instance() as env:
        run(env, args.count, pages, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
