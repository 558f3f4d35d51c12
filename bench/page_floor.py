"""The floor under a page: what every logged-in page pays before it shows anything, layer by layer.

On a copy of the demo world, the bench adds a few routes of its own to the app it builds (a blueprint
that exists only in this process) and calls them, interleaved with the real pages, as page_cpu.py
does (a prepared WSGI environ, the whole body read, ``time.process_time``, median of ROUNDS × BATCH):

- ``no-op``: ``/`` of a bare Flask app (bench/hello_app.py);
- ``anonymous``: a public route of the app that returns a word (every hook of the app; an anonymous
  visitor's grid scope is one query);
- ``logged in``: the same for the demo volunteer (the login cookie, its session row and user: one query);
- ``+ SELECT 1``: and one statement more on the request's database session;
- ``+ base.html``: a logged-in page whose template is base.html with an empty content block (header,
  menu, footer, the CSRF token);
- the real pages ``/me`` and ``/me/points``, and ``/healthz``.

It prints each median, the step from the line above (what that layer costs) and what is left of the
2.0 ms target (issue 14, target 1) for a page's own queries and template once the floor is paid.

With ``--wrk`` it also serves the same app (wsgi.py's, with these routes) under gunicorn -w 2 and
runs wrk as throughput.py does against /healthz, the logged-in layers and /me, one after the
other: each one's requests/sec as a share of /healthz's — what wrk's ratio (target >= 0.5) is for
a page that does nothing of its own — and the server's CPU per request from /proc.

``.venv/bin/python bench/page_floor.py [--instance DIR] [--rounds N] [--wrk]``. Figures only.
"""
import argparse
import contextlib
import statistics
import sys
import tempfile
from pathlib import Path

import _support
import ledger_scale
import page_cpu
import throughput

EMPTY_PAGE = "{% extends 'base.html' %}{% block content %}{% endblock %}"


def add_floor_routes(app) -> None:
    """Routes that exist only in this process, each one layer more than the one before."""
    from flask import Blueprint, render_template
    from flask_login import current_user
    from sqlalchemy import text

    from gridapp.auth.permissions import login_required, public
    from gridapp.extensions import db

    floor = Blueprint("floor", __name__)
    empty_page = app.jinja_env.from_string(EMPTY_PAGE)

    @floor.route("/floor/anonymous")
    @public
    def anonymous():
        return "ok"

    @floor.route("/floor/logged-in")
    @login_required
    def logged_in():
        return current_user.name

    @floor.route("/floor/select")
    @login_required
    def select_one():
        return str(db.session.execute(text("SELECT 1")).scalar())

    @floor.route("/floor/base")
    @login_required
    def base():
        db.session.execute(text("SELECT 1"))
        return render_template(empty_page)

    app.register_blueprint(floor)


def floor_wsgi():
    """gunicorn's app factory for --wrk (``page_floor:floor_wsgi()``): wsgi.py's app with the floor's routes."""
    from gridapp import create_app

    app = create_app()
    add_floor_routes(app)
    return app


LAYERS = (("no-op", None), ("anonymous", "/floor/anonymous"), ("logged in", "/floor/logged-in"),
          ("+ SELECT 1", "/floor/select"), ("+ base.html", "/floor/base"))


def run(env: dict, rounds: int = page_cpu.ROUNDS, batch: int = page_cpu.BATCH) -> dict:
    print("== the floor under a page (in process) ==")
    with tempfile.TemporaryDirectory(prefix="gridapp-bench-floor-") as tmp:
        app = ledger_scale.make_app(page_cpu.copy_instance(env, Path(tmp) / "demo"))
        add_floor_routes(app)
        page_cpu.open_counter_today(app)
        cookie = page_cpu.login_cookie(app, _support.DEMO_PHONE, settle="/me")
        callers = {"no-op": page_cpu.hello_caller()}
        for name, path in LAYERS[1:]:
            callers[name] = page_cpu.Caller(app, path, "" if name == "anonymous" else cookie)
        for path in ("/me", "/me/points"):
            callers[path] = page_cpu.Caller(app, path, cookie)
        callers["/healthz"] = page_cpu.Caller(app, "/healthz")
        print(f"  load average before: {page_cpu.load()}")
        times = page_cpu.measure({"floor": callers}, rounds, batch)
        print(f"  load average after:  {page_cpu.load()}")
    medians = {name: statistics.median(times[("floor", name)]) for name in callers}
    print(f"  CPU ms per request, median of {rounds * batch:,}; the step is what the layer adds to the one above")
    previous = None
    for name, _path in LAYERS:
        step = "" if previous is None else f"   step {medians[name] - medians[previous]:+.3f}"
        print(f"    {name:<12} {medians[name]:6.3f}{step}")
        previous = name
    floor = medians["+ base.html"]
    for page in ("/me", "/me/points", "/healthz"):
        print(f"    {page:<12} {medians[page]:6.3f}   its own queries and template: {medians[page] - floor:+.3f}"
              if page != "/healthz" else f"    {page:<12} {medians[page]:6.3f}")
    print(f"  left of the {page_cpu.TARGET_MS} ms target for a page's own queries and template once the floor "
          f"is paid: {page_cpu.TARGET_MS - floor:.3f} ms")
    return medians


WRK_PAGES = (("/healthz", "/healthz"), ("logged in", "/floor/logged-in"), ("+ base.html", "/floor/base"),
             ("/me", "/me"))


def run_wrk(env: dict) -> dict:
    """wrk against each of WRK_PAGES on one gunicorn -w 2; requests/sec and the share of /healthz's."""
    print("== the floor under a page (gunicorn -w 2, wrk) ==")
    results = {}
    with tempfile.TemporaryDirectory(prefix="gridapp-bench-floor-wrk-") as tmp:
        served = page_cpu.copy_instance(env, Path(tmp) / "demo")
        spec = ("floor", "page_floor:floor_wsgi()", served, {"workers": 2, "chdir": _support.BENCH,
                                                               "ready_path": "/healthz"})
        with _support.servers(spec) as (server,):
            volunteer = _support.login(server.url)
            throughput.check_logged_in(volunteer)
            logged_in = {"Cookie": volunteer.cookie_header(), "User-Agent": _support.USER_AGENT}
            print(f"  load average before: {page_cpu.load()}")
            for label, path in WRK_PAGES:
                headers = {"User-Agent": _support.USER_AGENT} if label == "/healthz" else logged_in
                throughput.wrk(server.url + path, throughput.WARMUP_ARGS, headers)
                cpu_before = _support.server_cpu(server.proc.pid)
                figures = throughput.parse_wrk(throughput.wrk(server.url + path, throughput.WRK_ARGS, headers))
                if figures["non_2xx"] or figures["socket_errors"]:
                    raise RuntimeError(f"{path}: {figures['non_2xx']} non-2xx answers, socket errors "
                                       f"{figures['socket_errors'] or 'none'}")
                figures["server_cpu_ms"] = (_support.server_cpu(server.proc.pid) - cpu_before) * 1000 / figures["requests"]
                results[label] = figures
            print(f"  load average after:  {page_cpu.load()}")
    healthz = results["/healthz"]
    print(f"  wrk {' '.join(throughput.WRK_ARGS)}; share of /healthz = its req/s ÷ /healthz's (target for /me >= "
          f"{throughput.TARGET_RATIO})")
    for label, figures in results.items():
        print(f"    {label:<12} {figures['rps']:>9,.1f} req/s   share {figures['rps'] / healthz['rps']:.2f}   "
              f"p50 {throughput.fmt_ms(figures['p50'])}   server CPU {figures['server_cpu_ms']:.2f} ms a request")
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=page_cpu.ROUNDS)
    parser.add_argument("--instance", help="an existing demo instance folder to copy (default: build one)")
    parser.add_argument("--wrk", action="store_true", help="also wrk each layer under gunicorn -w 2")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        env = (_support.base_env(Path(args.instance)) if args.instance
               else stack.enter_context(_support.throwaway_instance()))
        run(env, args.rounds)
        if args.wrk:
            run_wrk(env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
