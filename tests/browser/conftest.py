"""Real-browser fixtures: the test ``app`` served over HTTP on 127.0.0.1, and Debian's Chromium.

Playwright drives the system Chromium at /usr/bin/chromium (never a downloaded one); the tests
are skipped when it is not installed. ``open_phone``/``open_laptop`` make a browser context shaped
like the device, recording every request and every console error, uncaught exception and CSP
violation (any of which fails the test: ``no_console_errors``); ``throttle`` slows a page down to a
weak mobile connection.

What each step costs decides how a test is written (a page over the throttled network takes 0.5–1.5 s,
a login through the form on it 1–3 s):

- a test logs in through the login page only where the login is what it checks (the QR scan that
  returns after the login, the login on a slow phone); elsewhere ``sign_in`` gives the context its
  session cookie over plain HTTP, the way the login form would;
- ``throttle`` is on only for the steps about a slow network (a phone's first visit and the login on
  it, a QR scan and the login and check-in it leads to, the photo upload), ``unthrottle`` after them;
  the setup steps around them and flows about something else run at full speed;
- waits are on events (a response, a selector, a function in the page), never fixed sleeps;
- screenshots are for people to look at: ``snap`` takes them only when ``GRIDAPP_SCREENSHOTS`` names a
  folder (nothing asserts on them, and a full-page one costs 0.1–0.3 s).
"""
import http.cookiejar
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000  # upper bound for any single browser action or navigation

PHONE = dict(
    viewport={"width": 360, "height": 640},
    device_scale_factor=2,
    is_mobile=True,
    has_touch=True,
    locale="zh-CN",
)
LAPTOP = dict(viewport={"width": 1280, "height": 800}, locale="zh-CN")
# ~400 kbps each way with 400 ms round trips: a weak 3G/edge-of-coverage connection.
SLOW_NETWORK = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 // 8,
    "uploadThroughput": 400_000 // 8,
}
# Runs in every page before its own scripts; CSP does not apply to it. Violations are also logged
# to the console by Chromium, but the event names the directive and what was blocked.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = event.sourceFile ? ` at ${event.sourceFile}:${event.lineNumber}:${event.columnNumber}` : "";
  const what = `${event.violatedDirective} blocked ${event.blockedURI || "inline"}${where}`;
  window.reportCspViolation(`CSP violation on ${location.pathname}: ${what}`);
});
"""


# Every context a test opens registers its error list here; ``no_console_errors`` fails the test
# on any of them, whether or not the test looked.
_OPENED: list[list[str]] = []


@pytest.fixture(autouse=True)
def no_console_errors():
    """Every browser test fails on any console error, uncaught exception or CSP violation in any page
    it opened (collected by ``open_context``), after the test's own assertions."""
    _OPENED.clear()
    yield
    errors = [error for collected in _OPENED for error in collected]
    _OPENED.clear()
    assert not errors, f"browser console errors: {errors}"


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests need it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=TIMEOUT_MS
        )
        yield chromium
        chromium.close()


def open_context(browser, device: dict, **options):
    """A context shaped like ``device``; returns (context, page, requests, errors).

    ``requests`` collects every URL asked for; ``errors`` every console error, uncaught exception
    and CSP violation, in any page of the context.
    """
    context = browser.new_context(**device, **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    requests, errors = [], []
    context.on("request", lambda request: requests.append(request.url))
    context.on("weberror", lambda web_error: errors.append(str(web_error.error)))
    context.on("console", lambda message: errors.append(f"{message.text} ({message.location.get('url', '')})")
               if message.type == "error" else None)
    _OPENED.append(errors)
    context.expose_function("reportCspViolation", lambda text: errors.append(text))
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    return context, context.new_page(), requests, errors


def open_phone(browser, live_server=None, **options):
    """A cheap phone: 360×640, touch, zh-CN (throttle it with ``throttle``)."""
    return open_context(browser, PHONE, **options)


def open_laptop(browser, live_server=None, **options):
    """The grid worker's laptop in the office: 1280×800, zh-CN, full speed."""
    return open_context(browser, LAPTOP, **options)


SCREENSHOTS = os.environ.get("GRIDAPP_SCREENSHOTS")


@pytest.fixture
def shots(tmp_path, request):
    """Where screenshots go: $GRIDAPP_SCREENSHOTS/<test name>/ if set, else the test's tmp_path."""
    folder = Path(SCREENSHOTS) / request.node.name if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def snap(page, path):
    """A full-page screenshot to ``path`` (in ``shots``), taken only when GRIDAPP_SCREENSHOTS is set."""
    if SCREENSHOTS:
        # caret="initial": hiding the caret leaves style="" on every input, which htmx then copies
        # onto a swapped element (attributesToSettle) and the CSP rightly blocks.
        page.screenshot(path=path, full_page=True, caret="initial")


def throttle(context, page):
    """Slow ``page`` to SLOW_NETWORK (latency and bandwidth, both ways) until ``unthrottle``; returns the
    CDP session that does it."""
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_NETWORK)
    return cdp


def unthrottle(cdp):
    """Back to full speed (``cdp``: what ``throttle`` returned)."""
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the login's 303 is the answer: its session cookie is what we want


def sign_in(context, live_server, phone, password):
    """Log ``context`` in as ``phone`` the way the login form does (GET /login for its CSRF token, POST
    /login) over plain HTTP at full speed, and give the context the session cookie it answered with: the
    context's pages start logged in. For tests where the login is not what they check (a real login
    through the form costs a page and a redirect chain, seconds on the throttled network)."""
    cookies = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies), _NoRedirect)
    login = f"{live_server.url}/login"
    with opener.open(login, timeout=TIMEOUT_MS / 1000) as page:
        token = CSRF_INPUT.search(page.read().decode())
    assert token, "no CSRF token on /login"
    form = urllib.parse.urlencode({"csrf_token": token.group(1), "phone": phone, "password": password}).encode()
    try:
        opener.open(login, data=form, timeout=TIMEOUT_MS / 1000)
        status = 200
    except urllib.error.HTTPError as answer:  # urllib raises on the 303 it is told not to follow
        status = answer.code
        answer.close()
    assert status == 303, f"login as {phone} failed ({status})"
    context.add_cookies([{"name": cookie.name, "value": cookie.value, "url": live_server.url, "httpOnly": True,
                          "sameSite": "Lax"} for cookie in cookies])


def until_reported(page):
    """Wait until what the page has done so far has been reported: a CSP violation's event (queued as a
    task when the violation happens) and console messages. The page runs its queued tasks and an
    animation frame, then answers; reports it sent before the answer have reached their lists."""
    page.evaluate("""() => new Promise((done) => setTimeout(() => requestAnimationFrame(() => setTimeout(done))))""")


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
