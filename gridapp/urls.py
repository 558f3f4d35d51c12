"""Absolute URLs for what leaves the screen: printed QR codes, PDFs, the receipt's verification link.

Behind nginx the request's Host is the app server's own address (127.0.0.1:8000), so an URL built
from the request would print a code no phone can open. ``GRIDAPP_PUBLIC_URL`` (config ``PUBLIC_URL``,
e.g. ``https://grid.example.cn``, with a path if the app is mounted under one) is the base of every
such URL. Unset, the request's own scheme and host are used: fine on a laptop, and the app warns at
start outside development and tests (``warn_without_public_url``).
"""
from flask import current_app, url_for

PUBLIC_HOST_PLACEHOLDER = "gridapp.invalid"


def public_url(endpoint: str, **values) -> str:
    """The absolute public URL of ``endpoint`` (as ``url_for``), never taken from the request's Host."""
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        return url_for(endpoint, _external=True, **values)
    # Built from the URL map alone: neither the request's host nor its script root takes part.
    path = current_app.url_map.bind(PUBLIC_HOST_PLACEHOLDER, script_name="/").build(endpoint, values)
    return base + path


def warn_without_public_url(app) -> None:
    """Log a warning at start when printed URLs would follow the request's Host (not in development or tests)."""
    if not app.config.get("PUBLIC_URL") and not (app.debug or app.testing):
        app.logger.warning(
            "GRIDAPP_PUBLIC_URL is not set: QR codes and links on receipts, notices, posters and sign-in sheets "
            "will carry whatever host the request came in on (behind nginx: the internal address). "
            "Set it to the address residents use, e.g. GRIDAPP_PUBLIC_URL=https://grid.example.cn")
