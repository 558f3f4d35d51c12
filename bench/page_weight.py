"""Page weight: what the login page and the volunteer's pages cost on the wire.

Pages: /login (anonymous), and as the demo volunteer /me, the check-in confirmation
/duty/<id>/check-in/done (after really checking in to tonight's patrol, "今晚夜间巡逻", whose
window is open right after seeding) and 我的积分 /me/points. For each page: bytes of HTML and of the stylesheets it links, raw and gzipped (level 6, what a
server would send), the HTML+CSS gzipped total against the 14 KB first-round-trip budget, and
every script/stylesheet/image URL the page references, flagging any on another host.

Run on its own (``.venv/bin/python bench/page_weight.py``) it builds its own throwaway instance;
bench/run_all.py calls ``run(env)`` with the instance it made.
"""
import gzip
import sqlite3
import sys
import urllib.parse
from html.parser import HTMLParser

import _forms
import _support  # bench/ is on sys.path: these files run as scripts

BUDGET = 14 * 1024  # 14,336 bytes: what fits in the first TCP round trip (initcwnd 10 × ~1460 B)
PAGES = [("/login", "login (anonymous)", False), ("/me", "volunteer home /me", True)]
# The demo session whose check-in window is open right after `flask seed-demo`.
OPEN_SESSION_TITLE = "今晚夜间巡逻"
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
        "htmx_only": bool(scripts) and all("/static/js/htmx-" in s and not third_party(s, own_host) for s in scripts),
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
          f"JavaScript: {'htmx only' if m['htmx_only'] else ', '.join(m['scripts']) or 'none'}")


def check_in_demo_volunteer(volunteer) -> str:
    """Really check the demo volunteer in to tonight's patrol, as on the phone; returns the done page's path."""
    home = volunteer.request("/me")
    session_id = _forms.session_id_by_title(home.text, OPEN_SESSION_TITLE)
    if session_id is None:
        raise RuntimeError(f"/me lists no session titled {OPEN_SESSION_TITLE!r} (is the demo world seeded?)")
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
        volunteer = _support.login(app.url)
        for path, label, logged_in in PAGES:
            m = measure(volunteer if logged_in else anonymous, path)
            report(label, m)
            results[path] = m
        done = check_in_demo_volunteer(volunteer)
        m = measure(volunteer, done)
        report(f"check-in confirmation (demo volunteer checked in to {OPEN_SESSION_TITLE})", m)
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
