"""The one place that decides whether a view answers with a whole page or a fragment.

A fragment goes only to a real htmx request: ``HX-Request`` set, not a boosted link
(that wants the whole page) and not a history restore (the cache missed, so htmx
wants the whole page too). Every answer says ``Vary: HX-Request`` so that no cache
hands a fragment to a browser that asked for a page.
"""
from flask import render_template, request


def is_fragment_request() -> bool:
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render(page: str, fragment: str, status: int = 200, **context):
    """Render ``fragment`` for an htmx request, else ``page`` (which includes the same fragment)."""
    template = fragment if is_fragment_request() else page
    return render_template(template, **context), status


def add_vary_header(response):
    response.vary.add("HX-Request")
    return response
