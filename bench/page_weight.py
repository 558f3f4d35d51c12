"""Page weight: what the login page and the volunteer's pages cost on the wire.

Pages: /login (anonymous), and as the demo volunteer /me, the check-in confirmation
/duty/<id>/check-in/done (after really checking in to the demo's patrol, 今晚夜间巡逻 or 今日白天巡逻, whose
window is open right after seeding) and 我的积分 /me/points. For each page: bytes of HTML and of the stylesheets it links, raw and gzipped (level 6, what a
server would send), the HTML+CSS gzipped total against the 14 KB first-round-trip budget, and
every script/stylesheet/image URL the page references, flagging any on another host.

First visit on a phone: /login and everything it loads (stylesheets, icon, scripts, images) on a cold
cache, as bytes on the wire (status line, headers and body) with ``Accept-Encoding: gzip, br`` as a
phone's browser sends it, against the 30 KB target; and the same with ``identity`` for comparison
(what was sent before static files were precompressed: every byte of htmx).

Run on its own (``.venv/bin/python bench/page_weight.py``) it builds its own throwaway instance;
bench/run_all.py calls ``run(env)`` with the instance it made.
"""
import gzip
import http.client
import sqlite3
import sys
import urllib.parse
from html.parser import HTMLParser

import _forms
import _support  # bench/ is on sys.path: these files run as scripts
from gridapp.demo import SOON_PATROL_TITLES

BUDGET = 14 * 1024  # 14,336 bytes: what fits in the first TCP round trip (initcwnd 10 × ~1460 B)
FIRST_VISIT_TARGET = 30 * 1024  # /login and everything it loads, bytes transferred on a cold cache
PHONE_ENCODINGS = "gzip, deflate, br"
FIRST_VISIT_KEY = "first visit /login"
PAGES = [("/login", "login (anonymous)", False), ("/me", "volunteer home /me", True)]
DONE_KEY = "/duty/<id>/check-in/done"  # the key of the confirmation page in the results
FULL_POINTS_KEY = "/me/points (full page)"  # the busiest demo volunteer: a full first page and the pager


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


class Assets(HTMLParser):
    """Collects every subresource URL: stylesheets, other <link>s with href, scripts, images."""

    def __init__(self):
        super().__init__()
        self.stylesheets: list[str] = []
        self.refs: list[tuple[str, str]] = []  # (kind, url)

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "link" and a.get("href"):
            rels = a.get("rel", "").lower().split()
            if "stylesheet" in rels:
                self.stylesheets.append(a["href"])
                self.refs.append(("stylesheet", a["href"]))
            elif rels and set(rels) & {"icon", "preload", "modulepreload", "prefetch", "manifest",
                                       "apple-touch-icon", "preconnect", "dns-prefetch"}:
                self.refs.append(("link " + " ".join(rels), a["href"]))
        elif tag == "script":
            self.refs.append(("script", a.get("src") or "(inline)"))
        elif tag in ("img", "source", "video", "audio", "iframe", "embed") and (a.get("src") or a.get("srcset")):
            self.refs.append((tag, a.get("src") or a.get("srcset")))
        elif tag == "object" and a.get("data"):
            self.refs.append(("object", a["data"]))

    handle_startendtag = handle_starttag


def third_party(url: str, own_host: str) -> bool:
    netloc = urllib.parse.urlsplit(url).netloc
    return bool(netloc) and netloc != own_host


def measure(browser, path: str) -> dict:
    page = browser.request(path)
    if page.status != 200:
        raise RuntimeError(f"GET {path} answered {page.status}")
    assets = Assets()
    assets.feed(page.text)
    own_host = urllib.parse.urlsplit(browser.base_url).netloc
    css = []
    for href in assets.stylesheets:
        sheet = browser.request(urllib.parse.urljoin(browser.base_url + path, href))
        css.append({"url": href, "status": sheet.status, "raw": len(sheet.body), "gz": gz(sheet.body)})
    js = []
    for r in assets.refs:
        kind, url = r
        if kind == "script" and url != "(inline)" and not third_party(url, own_host):
            script = browser.request(urllib.parse.urljoin(browser.base_url + path, url))
            js.append({"url": url, "status": script.status, "raw": len(script.body), "gz": gz(script.body)})
    refs = [{"kind": kind, "url": url, "third_party": third_party(url, own_host)} for kind, url in assets.refs]
    scripts = [r["url"] for r in refs if r["kind"] == "script"]
    return {
        "path": path,
        "html_raw": len(page.body),
        "html_gz": gz(page.body),
        "css": css,
        "css_raw": sum(c["raw"] for c in css),
        "css_gz": sum(c["gz"] for c in css),
        "total_gz": gz(page.body) + sum(c["gz"] for c in css),
        "refs": refs,
        "third_party": sum(r["third_party"] for r in refs),
        "scripts": scripts,
        "js": js,
        # The vendored htmx and the app's own deferred scripts (the failed-request note), nothing from elsewhere.
        "own_scripts_only": bool(scripts) and any("/static/js/htmx-" in s for s in scripts)
        and all(s.startswith("/static/js/") and not third_party(s, own_host) for s in scripts),
    }


def report(label: str, m: dict) -> None:
    verdict = "within" if m["total_gz"] <= BUDGET else "OVER"
    print(f"\n  {label}  GET {m['path']}")
    print(f"    HTML          {m['html_raw']:>8,} B raw  {m['html_gz']:>7,} B gzip")
    for c in m["css"]:
        print(f"    CSS           {c['raw']:>8,} B raw  {c['gz']:>7,} B gzip   {c['url']} ({c['status']})")
    print(f"    HTML+CSS gzip {m['total_gz']:>8,} B  vs budget {BUDGET:,} B: {verdict} "
          f"({m['total_gz'] / BUDGET:.0%} of budget)")
    for j in m["js"]:
        print(f"    JS (deferred, outside the budget) {j['raw']:,} B raw  {j['gz']:,} B gzip   {j['url']} ({j['status']})")
    print("    referenced:")
    for r in m["refs"]:
        print(f"      {r['kind']:<12} {r['url']}{'   <-- THIRD PARTY' if r['third_party'] else ''}")
    print(f"    third-party requests: {m['third_party']}   "
          f"JavaScript: {', '.join(m['scripts']) or 'none'}"
          + ("  (htmx and the app's own static scripts only)" if m["own_scripts_only"] else "   <-- NOT ONLY OUR OWN"))


def wire_get(base_url: str, path: str, accept_encoding: str) -> tuple[int, int, bytes, dict]:
    """(status, bytes on the wire, body, headers) of one cold GET: no cookie, no cache, one connection."""
    parts = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=_support.HTTP_TIMEOUT)
    try:
        conn.request("GET", path, headers={"User-Agent": _support.USER_AGENT, "Accept-Encoding": accept_encoding})
        response = conn.getresponse()
        body = response.read()
        head = len(f"HTTP/1.1 {response.status} {response.reason}\r\n") + sum(
            len(f"{k}: {v}\r\n") for k, v in response.getheaders()) + 2
        return response.status, head + len(body), body, dict(response.getheaders())
    finally:
        conn.close()


def first_visit(base_url: str, accept_encoding: str, path: str = "/login") -> dict:
    """Bytes transferred for ``path`` and every same-host resource it loads, on a cold cache."""
    status, wire, body, headers = wire_get(base_url, path, accept_encoding)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}")
    assets = Assets()
    assets.feed(body.decode("utf-8", errors="replace"))
    own_host = urllib.parse.urlsplit(base_url).netloc
    rows = [{"url": path, "status": status, "wire": wire, "encoding": headers.get("Content-Encoding", "-")}]
    for _kind, url in assets.refs:
        if url == "(inline)" or third_party(url, own_host):
            continue
        target = urllib.parse.urlsplit(urllib.parse.urljoin(base_url + path, url))
        status, wire, _, headers = wire_get(base_url, target.path + (f"?{target.query}" if target.query else ""),
                                            accept_encoding)
        rows.append({"url": url, "status": status, "wire": wire, "encoding": headers.get("Content-Encoding", "-"),
                     "cache": headers.get("Cache-Control", "-")})
    return {"rows": rows, "total": sum(r["wire"] for r in rows)}


def report_first_visit(compressed: dict, plain: dict) -> None:
    verdict = "met" if compressed["total"] <= FIRST_VISIT_TARGET else "MISSED"
    print(f"\n  first visit on a phone: GET /login and everything it loads, cold cache, bytes on the wire "
          f"(headers + body)")
    for row, plain_row in zip(compressed["rows"], plain["rows"]):
        print(f"    {row['wire']:>7,} B  ({plain_row['wire']:>7,} B uncompressed)  {row['encoding']:<5} "
              f"{row['url']}  {row.get('cache', '')}")
    print(f"    total with Accept-Encoding: {PHONE_ENCODINGS}: {compressed['total']:,} B "
          f"vs target {FIRST_VISIT_TARGET:,} B: {verdict};  with identity (as before): {plain['total']:,} B "
          f"(x{compressed['total'] / plain['total']:.2f})")


def check_in_demo_volunteer(volunteer) -> str:
    """Really check the demo volunteer in to tonight's patrol, as on the phone; returns the done page's path."""
    home = volunteer.request("/me")
    # The demo's patrol whose check-in opens right after `flask seed-demo` (a night or a daytime one).
    session_id = next(filter(None, (_forms.session_id_by_title(home.text, title) for title in SOON_PATROL_TITLES)), None)
    if session_id is None:
        raise RuntimeError(f"/me lists none of the sessions {SOON_PATROL_TITLES} (is the demo world seeded?)")
    answer = _forms.check_in(volunteer, session_id)
    done = f"/duty/{session_id}/check-in/done"
    location = answer.headers.get("Location", "")
    if answer.status != 303 or not location.endswith(done):
        raise RuntimeError(f"POST /duty/{session_id}/check-in answered {answer.status} {location!r}, "
                           f"expected 303 to {done}")
    return done


def busiest_volunteer(env: dict) -> tuple[str, int]:
    """Phone and entry count of the volunteer with the most points entries (read-only look at the database)."""
    path = env["GRIDAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        return con.execute("""
            SELECT u.phone, COUNT(*) AS n FROM points_entries e JOIN users u ON u.id = e.volunteer_id
            WHERE u.role = 'volunteer' AND u.status = 'active'
            GROUP BY u.id ORDER BY n DESC, u.id LIMIT 1""").fetchone()


def run(env: dict) -> dict:
    """Measure every page against a 1-worker gunicorn on ``env``'s instance; returns figures per page.

    Checks the demo volunteer in to the open demo session on the way (the instance keeps that check-in).
    """
    print("== page weight ==")
    results = {}
    with _support.servers(("app", "wsgi:app", env, {"workers": 1, "ready_path": "/healthz"})) as (app,):
        anonymous = _support.Browser(app.url)
        compressed, plain = first_visit(app.url, PHONE_ENCODINGS), first_visit(app.url, "identity")
        report_first_visit(compressed, plain)
        results[FIRST_VISIT_KEY] = {"total": compressed["total"], "identity_total": plain["total"]}
        volunteer = _support.login(app.url)
        for path, label, logged_in in PAGES:
            m = measure(volunteer if logged_in else anonymous, path)
            report(label, m)
            results[path] = m
        done = check_in_demo_volunteer(volunteer)
        m = measure(volunteer, done)
        report("check-in confirmation (demo volunteer checked in to the demo's patrol)", m)
        results[DONE_KEY] = m
        m = measure(volunteer, "/me/points")
        report("我的积分 /me/points (demo volunteer: first page of the history)", m)
        results["/me/points"] = m
        # The demo volunteer has only a few entries; the busiest one shows a full page (20) and the pager.
        phone, entries = busiest_volunteer(env)
        busiest = _support.login(app.url, phone=phone)
        m = measure(busiest, "/me/points")
        report(f"我的积分 /me/points (busiest demo volunteer {phone}: {entries} entries, full first page)", m)
        results[FULL_POINTS_KEY] = m
    return results


def main() -> int:
    with _support.throwaway_instance() as env:
        run(env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
