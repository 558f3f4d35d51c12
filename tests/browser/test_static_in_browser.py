"""A phone's first visit: htmx and the stylesheet arrive compressed from their hashed URLs, htmx runs under
the strict CSP, and the next page takes them from the browser's cache without asking the server."""
import pytest

from .conftest import open_phone

pytestmark = pytest.mark.browser
# (url, bytes over the network, body bytes as sent, body bytes decoded) of each static file the page loaded
RESOURCES = """performance.getEntriesByType('resource').filter(e => e.name.includes('/static/'))
    .map(e => [e.name, e.transferSize, e.encodedBodySize, e.decodedBodySize])"""
# Chromium asks for the page's icon after the page's "load": wait for it, or it may or may not be listed yet.
ICON_LOADED = """() => [...document.querySelectorAll("link[rel~=icon]")]
    .every(link => performance.getEntriesByName(link.href).length > 0)"""


def test_the_first_visit_gets_compressed_static_files_and_the_next_page_asks_for_none(live_server, browser):
    context, page, _requests, errors = open_phone(browser)
    encodings = {}
    page.on("response", lambda response: encodings.__setitem__(response.url, response.headers.get("content-encoding"))
            if "/static/" in response.url else None)
    try:
        page.goto(f"{live_server.url}/login")
        page.wait_for_function("window.htmx !== undefined")
        page.wait_for_function(ICON_LOADED)
        static = {url: encoding for url, encoding in encodings.items()}
        assert any("/static/js/htmx-" in url for url in static), static
        assert all(encoding == "br" for encoding in static.values()), static  # Chromium sends gzip, deflate, br
        first = page.evaluate(RESOURCES)
        assert first and all(encoded < decoded for _, _, encoded, decoded in first), first  # compressed
        page.goto(f"{live_server.url}/register")
        page.wait_for_function("window.htmx !== undefined")
        page.wait_for_function(ICON_LOADED)
        again = page.evaluate(RESOURCES)
        assert {name for name, *_ in again} == {name for name, *_ in first}
        assert all(transferred == 0 for _, transferred, *_ in again), again  # from the cache, not even revalidated
        assert not errors
    finally:
        context.close()
