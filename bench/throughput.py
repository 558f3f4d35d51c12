"""Throughput: the volunteer home /me against the app's own floor, /healthz, under the same gunicorn.

Two servers run at once (2 sync workers each, 127.0.0.1, free ports): the real app and a bare Flask
"hello". They are measured one after the other with ``wrk -t2 -c8 -d10s --latency``: the app's
``/me`` (with a logged-in demo volunteer's cookie), the app's ``/healthz`` (its one-query route, no
session) and hello's ``/``. Prints requests/sec of each, p50/p99 latency, and the ratio
/me ÷ /healthz (target >= 0.5); /healthz ÷ hello is printed for information (what the stack costs).
The app is served with page_floor.py's routes added, and wrk also runs against its empty logged-in
page (the login, one statement and base.html, nothing of its own): the ratio that page ÷ /healthz
is the most any logged-in page could reach.

The machine's 2 cores are shared by wrk, gunicorn and whatever else runs, so the absolute figures
are a property of this machine at that moment; the ratios are the figures to watch. So that other
load does not pass for the app's cost, it also prints the CPU the server (master and workers, from
/proc) spent per request during each run, and the ratio of those: what wrk's ratio would be if
gunicorn had the cores to itself and nothing but CPU limited it.

Run on its own (``.venv/bin/python bench/throughput.py``) it builds its own throwaway instance;
bench/run_all.py calls ``run(env)`` with the instance it made.
"""
import os
import re
import shutil
import subprocess
import sys

import _support  # bench/ is on sys.path: these files run as scripts

WRK_ARGS = ["-t2", "-c8", "-d10s", "--latency"]
WARMUP_ARGS = ["-t1", "-c2", "-d2s"]
TARGET_RATIO = 0.5
EMPTY_PAGE = "/floor/base"  # page_floor.py's logged-in page with nothing of its own
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk_path() -> str:
    path = shutil.which("wrk") or shutil.which("wrk", path="/usr/bin")
    if not path:
        raise RuntimeError("wrk is not installed: sudo apt-get install -y wrk (make bench does this)")
    return path


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * UNITS[unit]


def parse_wrk(output: str) -> dict:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not rps:
        raise RuntimeError("could not read wrk's output:\n" + output)
    percentiles = {int(p): to_ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.M)}
    total = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:\s+(.*)$", output, re.M)
    return {
        "rps": float(rps.group(1)),
        "p50": percentiles.get(50), "p75": percentiles.get(75),
        "p90": percentiles.get(90), "p99": percentiles.get(99),
        "requests": int(total.group(1)) if total else None,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


def wrk(url: str, args: list[str], headers: dict[str, str]) -> str:
    command = [wrk_path(), *args]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run([*command, url], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def check_logged_in(browser) -> list[str]:
    """/me must answer 200 with the page itself; a repeat view must not set a cookie again.

    The first view after login may set one (the CSRF token joins the fresh session); the jar takes
    it, so wrk sends the settled cookie. Returns the Set-Cookie headers of the repeat view.
    """
    for _view in ("first", "repeat"):
        page = browser.request("/me")
        if page.status != 200:
            raise RuntimeError(f"GET /me with the session cookie answered {page.status}, expected 200")
    set_cookie = page.headers.get_all("Set-Cookie") or []
    if set_cookie:
        print(f"  note: a repeat GET /me still sets a cookie on every view: {[c[:60] for c in set_cookie]}")
    return set_cookie


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fmt_ms(value) -> str:
    return "n/a" if value is None else f"{value:.2f} ms"


def run(env: dict) -> dict:
    print("== throughput ==")
    specs = [
        # wsgi.py's app with page_floor's routes (they exist only in this server).
        ("app", "page_floor:floor_wsgi()", env, {"workers": 2, "chdir": _support.BENCH, "ready_path": "/healthz"}),
        ("hello", "hello_app:app", env, {"workers": 2, "chdir": _support.BENCH, "ready_path": "/"}),
    ]
    with _support.servers(*specs) as (app, hello):
        volunteer = _support.login(app.url)
        check_logged_in(volunteer)
        print(f"  load average before the runs: {load()}  (other work on the 2 cores skews every figure)")
        app_headers = {"Cookie": volunteer.cookie_header(), "User-Agent": _support.USER_AGENT}
        plain_headers = {"User-Agent": _support.USER_AGENT}
        targets = [("app /me", app.url + "/me", app_headers), ("app /healthz", app.url + "/healthz", plain_headers),
                   ("app empty page", app.url + EMPTY_PAGE, app_headers), ("hello /", hello.url + "/", plain_headers)]

        results = {}
        servers = {"app": app, "hello": hello}
        for label, url, headers in targets:
            server = servers[label.split()[0]]
            wrk(url, WARMUP_ARGS, headers)
            cpu_before = _support.server_cpu(server.proc.pid)
            output = wrk(url, WRK_ARGS, headers)
            results[label] = figures = parse_wrk(output)
            figures["server_cpu_ms"] = (_support.server_cpu(server.proc.pid) - cpu_before) * 1000 / figures["requests"]
            print(f"  {label:<12} {figures['rps']:>9,.1f} req/s   p50 {fmt_ms(figures['p50'])}   "
                  f"p99 {fmt_ms(figures['p99'])}   server CPU {figures['server_cpu_ms']:.2f} ms a request"
                  f"   ({figures['requests']:,} requests"
                  f"{', %d non-2xx/3xx' % figures['non_2xx'] if figures['non_2xx'] else ''}"
                  f"{', socket errors: ' + figures['socket_errors'] if figures['socket_errors'] else ''})")

    ratio = results["app /me"]["rps"] / results["app /healthz"]["rps"]
    results["ratio"] = ratio
    results["floor_ratio"] = results["app /healthz"]["rps"] / results["hello /"]["rps"]
    results["empty_ratio"] = results["app empty page"]["rps"] / results["app /healthz"]["rps"]
    results["cpu_ratio"] = results["app /healthz"]["server_cpu_ms"] / results["app /me"]["server_cpu_ms"]
    print(f"  ratio /me ÷ /healthz: {ratio:.2f}  (target >= {TARGET_RATIO}: "
          f"{'met' if ratio >= TARGET_RATIO else 'MISSED'})   /healthz ÷ hello: {results['floor_ratio']:.2f}"
          f"   wrk {' '.join(WRK_ARGS)}")
    print(f"  ratio empty logged-in page ÷ /healthz: {results['empty_ratio']:.2f}  (the login, one statement and "
          f"base.html: the most any logged-in page could reach)")
    print(f"  server CPU per request, /healthz ÷ /me: {results['cpu_ratio']:.2f}  (the ratio wrk would give with the "
          f"cores to gunicorn alone)   load average after: {load()}")
    return results


def main() -> int:
    with _support.throwaway_instance() as env:
        run(env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
