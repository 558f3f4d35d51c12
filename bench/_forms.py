"""Reading the app's pages the way a browser would: forms with their hidden fields, and session links.

Shared by page_weight.py (one real check-in of the demo volunteer) and checkin_throughput.py
(preparing thousands of check-in forms). Standard library only.
"""
import re
from html.parser import HTMLParser


class Forms(HTMLParser):
    """Every <form> of a page: its method, action and the name/value of each <input>."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._current = {"method": a.get("method", "get").lower(), "action": a.get("action", ""), "fields": {}}
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and a.get("name"):
            self._current["fields"][a["name"]] = a.get("value", "")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def log_in(client, phone: str, password: str) -> None:
    """Log a Flask test client in through the login form (its CSRF token read from the page)."""
    fields = form_posting_to(client.get("/login").get_data(as_text=True), "/login") or {}
    answer = client.post("/login", data={**fields, "phone": phone, "password": password})
    if answer.status_code != 303:
        raise RuntimeError(f"login of {phone} answered {answer.status_code}")


def form_posting_to(html: str, action: str) -> dict | None:
    """The fields of the first POST form whose action is ``action`` (e.g. /duty/7/check-in), or None."""
    parser = Forms()
    parser.feed(html)
    for form in parser.forms:
        if form["method"] == "post" and form["action"] == action:
            return form["fields"]
    return None


class _SessionLinks(HTMLParser):
    """Every link to a session page (/duty/<id>) with the text inside it, whatever the markup around."""

    def __init__(self):
        super().__init__()
        self.links: list[tuple[int, str]] = []
        self._open: tuple[int, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            match = _SESSION_HREF.fullmatch(dict(attrs).get("href") or "")
            self._open = (int(match.group(1)), []) if match else None

    def handle_data(self, data):
        if self._open is not None:
            self._open[1].append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            self.links.append((self._open[0], " ".join("".join(self._open[1]).split())))
            self._open = None


_SESSION_HREF = re.compile(r"/duty/(\d+)")


def session_id_by_title(html: str, title: str) -> int | None:
    """The id of the first session linked on the page (e.g. the volunteer home /me) whose link text
    contains ``title``, or None."""
    parser = _SessionLinks()
    parser.feed(html)
    for session_id, text in parser.links:
        if title in text:
            return session_id
    return None


def check_in(browser, session_id: int):
    """Check ``browser``'s volunteer in as a person would: open /duty/<id>, press 签到.

    Returns the POST's Response (303 to /duty/<id>/check-in/done when it worked). Raises if the
    page shows no check-in form (already checked in, or the window is closed).
    """
    page = browser.request(f"/duty/{session_id}")
    if page.status != 200:
        raise RuntimeError(f"GET /duty/{session_id} answered {page.status}")
    action = f"/duty/{session_id}/check-in"
    fields = form_posting_to(page.text, action)
    if fields is None or not fields.get("token") or not fields.get("csrf_token"):
        raise RuntimeError(f"GET /duty/{session_id} shows no check-in form with csrf_token and token")
    return browser.request(action, fields)
