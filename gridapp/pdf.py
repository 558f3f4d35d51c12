"""PDFs from Jinja templates with WeasyPrint.

``render_pdf("pdf/donation_receipt.html", **context)`` renders the template (it may use
``url_for('static', ...)``) and returns the PDF bytes. Three rules:

- Fonts come from the system (fonts-noto-cjk): ``templates/pdf/_base.css``, the base
  stylesheet of every PDF, asks for "Noto Sans CJK SC". The ``FontConfiguration`` is built
  once per process and the parsed base stylesheet once per app, not per request.
- The only resources a template can load are the app's own static files, read straight
  from the static folder. Any other URL (http, file://, data:, a path outside static/)
  is refused and stops the render: it is a bug in a template, never something to fetch.
- WeasyPrint is imported on first use: it costs ~1 s of start-up that pages, CLI
  commands and tests without PDFs should not pay.
"""
import functools
import mimetypes
import os
from urllib.parse import unquote, urlsplit

from flask import current_app, has_request_context, render_template, request
from werkzeug.security import safe_join

# The document's base URL. ``url_for('static', ...)`` gives "/static/…", which resolves to
# https://gridapp.invalid/static/…; the fetcher maps that to the static folder. ".invalid"
# never resolves (RFC 2606), should anything ever try.
BASE_URL = "https://gridapp.invalid/"
BASE_STYLESHEET = "pdf/_base.css"


@functools.cache
def font_config():
    """The process's one FontConfiguration (fontconfig's view of the system fonts)."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def _base_stylesheet():
    """``templates/pdf/_base.css`` parsed once per app (re-read on every render in debug)."""
    app = current_app._get_current_object()
    cache = app.extensions.setdefault("gridapp.pdf", {})
    if "base_css" not in cache or app.debug:
        from weasyprint import CSS

        source = app.jinja_env.loader.get_source(app.jinja_env, BASE_STYLESHEET)[0]
        cache["base_css"] = CSS(string=source, base_url=BASE_URL, url_fetcher=static_fetcher(),
                                font_config=font_config())
    return cache["base_css"]


def static_prefix() -> str:
    """The URL path under which ``url_for('static', …)`` puts static files ("/static/")."""
    root = request.script_root if has_request_context() else ""
    return f"{root}{current_app.static_url_path}/"


@functools.cache
def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def __init__(self, folder: str, prefix: str):
            # fail_on_errors: a refused or missing resource stops the render instead of being left out.
            super().__init__(fail_on_errors=True)
            self.folder, self.prefix = folder, prefix

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if f"{parts.scheme}://{parts.netloc}/" != BASE_URL or not parts.path.startswith(self.prefix):
                raise ValueError(f"PDF templates may only load the app's static files, not {url}")
            path = safe_join(self.folder, unquote(parts.path[len(self.prefix):]))
            if path is None or not os.path.isfile(path):
                raise ValueError(f"no such static file: {url}")
            with open(path, "rb") as f:
                body = f.read()
            mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body, {"Content-Type": mime})

    return StaticOnlyFetcher


def static_fetcher():
    """A WeasyPrint URL fetcher that serves the app's static folder and refuses everything else."""
    return _fetcher_class()(current_app.static_folder, static_prefix())


def render_pdf(template_name: str, **context) -> bytes:
    """Render ``templates/<template_name>`` to PDF bytes (base stylesheet: templates/pdf/_base.css)."""
    from weasyprint import HTML

    html = render_template(template_name, **context)
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=static_fetcher())
    return document.write_pdf(stylesheets=[_base_stylesheet()], font_config=font_config())
