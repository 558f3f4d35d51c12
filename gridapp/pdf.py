"""PDFs from Jinja templates with WeasyPrint.

``render_pdf("pdf/donation_receipt.html", **context)`` renders the template (it may use
``url_for('static', ...)``) and returns the PDF bytes. The rules:

- Fonts come from the system (fonts-noto-cjk). ``templates/pdf/_base.css``, the base
  stylesheet of every PDF, asks for "Noto Sans CJK SC". A template's own styles go in a
  stylesheet of the same name (``pdf/x.html`` -> ``pdf/x.css``). The ``FontConfiguration``
  is built once per process and the stylesheets are parsed once per app, never per request.
- The only resources a template can load are the app's own static files, read straight
  from the static folder (and, from memory, the compact fonts below and QR codes: qr_image_url). Any other URL (http,
  file://, data:, a path outside static/) is refused and stops the render: it is a bug in
  a template, never something to fetch.
- WeasyPrint is imported on first use: it costs ~1 s of start-up that pages, CLI
  commands and tests without PDFs should not pay. A gunicorn worker pays it (and the fonts,
  the stylesheets, a first render) before its first request instead: ``warm_up``, called
  from gunicorn_config.py.
- At most PDF_RENDERS renders run at once per server (``render_slot``); a PDF asked for
  while every slot is taken is a Chinese 503 that retries by itself (``PdfBusy``).
- A PDF view serves through ``pdf_response(fingerprint(template, content), render, filename)``:
  the fingerprint of what the PDF shows (and of its layout) is the ETag, a client holding it
  gets 304 unrendered, and rendered PDFs are kept in one in-process cache under it
  (``cached_pdf``), so the same content is never rendered twice.

The compact CJK font: WeasyPrint subsets a font but keeps its glyph ids. Noto Sans CJK has
65,000 glyphs and Chinese punctuation sits near the end, so every PDF carried the metrics
of ~63,000 empty glyphs (780 KB, 150 KB compressed) and subsetting took ~60 ms. Once per
process (~0.3 s) we cut the font down to GB2312 (7,445 characters: what nearly every text
uses) with glyphs renumbered, and hand that to WeasyPrint as "Noto Sans CJK SC GB2312":
a receipt is then ~3x smaller and much faster to make. A character outside GB2312 falls
back to the full system font, glyph by glyph. Without libharfbuzz-subset the system font is
used as it is (slower, bigger, same look).

Without any Chinese font WeasyPrint would fall back to DejaVu and print every Chinese character
as an empty box, silently. So the app looks the font up at start (``check_fonts``: an error in the
log, ``/healthz`` says "degraded" with the reason), and every PDF view answers a Chinese 503
(``FontMissing``) instead of a useless document.
"""
import base64
import contextlib
import ctypes.util
import fcntl
import functools
import gc
import hashlib
import json
import logging
import mimetypes
import os
import subprocess
import threading
import time
from collections import OrderedDict
from datetime import datetime
from urllib.parse import quote, unquote, urlsplit

from flask import Response, current_app, has_request_context, render_template, request
from flask_babel import force_locale, format_date, format_datetime
from flask_babel import lazy_gettext as _l
from werkzeug.security import safe_join

from .clock import to_local
from .errors import DomainError

log = logging.getLogger(__name__)

# The document's base URL. ``url_for('static', ...)`` gives "/static/…", which resolves to
# https://gridapp.invalid/static/…; the fetcher maps that to the static folder. ".invalid"
# never resolves (RFC 2606), should anything ever try.
BASE_URL = "https://gridapp.invalid/"
BASE_STYLESHEET = "pdf/_base.css"
SOURCE_FONT = "Noto Sans CJK SC:style=Regular"
COMPACT_FONT_FAMILY = "Noto Sans CJK SC GB2312"
COMPACT_FONT_URL = f"{BASE_URL}_fonts/noto-sans-cjk-sc-gb2312.otf"
# The serif face of a notice's headings (红头 and title): cut down to exactly the characters of those
# headings (a few dozen glyphs, a few KB; a GB2312 cut would add ~20 KB to every notice). The URL names
# the code points, so the fetcher can make the font from the URL alone (see serif_heading_css()).
SERIF_SOURCE_FONT = "Noto Serif CJK SC:style=Bold"
COMPACT_SERIF_FAMILY = "Noto Serif CJK SC Heading"
SERIF_FONT_PREFIX = f"{BASE_URL}_fonts/serif/"
# A QR code as a PNG made in memory (qr_image_url()): the URL carries the encoded text.
QR_IMAGE_PREFIX = f"{BASE_URL}_qr/"


FONTS_KEY = "gridapp.pdf_fonts"


class FontMissing(DomainError):
    status = 503
    default_message = _l("现在无法生成PDF：服务器上没有中文字体，打印出来的中文会是一个个方框。"
                         "请联系系统管理员安装中文字体（fonts-noto-cjk）后再试。")


@functools.cache
def find_cjk_font() -> str:
    """The font PDFs print Chinese with, as fontconfig resolves it (looked up once per process).

    "Noto Sans CJK SC" (what _base.css asks for), else any installed font that covers Chinese.
    Raises LookupError when there is none: Chinese would print as boxes.
    """
    try:
        path, _index = system_font_file(SOURCE_FONT)
        return path
    except (LookupError, OSError, ValueError, subprocess.SubprocessError):
        pass
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=10,
                             check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise LookupError(f"fontconfig cannot be asked for fonts ({exc})") from exc
    families = sorted({line.split(",")[0].strip() for line in out.splitlines() if line.strip()})
    if not families:
        raise LookupError("no font that covers Chinese is installed (Debian: apt-get install fonts-noto-cjk)")
    return families[0]


def check_fonts(app) -> str | None:
    """At start: find the Chinese font; log an error and remember the reason if there is none."""
    try:
        find_cjk_font()
        problem = None
    except LookupError as exc:
        problem = f"no Chinese font for PDFs: {exc}"
        app.logger.error("PDFs cannot print Chinese (it would come out as empty boxes): %s. "
                         "Every PDF view answers 503 until a CJK font is installed.", exc)
    app.extensions[FONTS_KEY] = problem
    return problem


def font_problem() -> str | None:
    """Why this app cannot make PDFs with Chinese in them, or None (what /healthz reports)."""
    app = current_app._get_current_object()
    if FONTS_KEY not in app.extensions:
        check_fonts(app)
    return app.extensions[FONTS_KEY]


def require_cjk_font() -> None:
    """Raise FontMissing (a Chinese 503) rather than make a PDF whose Chinese prints as boxes."""
    if font_problem():
        raise FontMissing()


@functools.cache
def font_config():
    """The process's one FontConfiguration (fontconfig's view of the system fonts)."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


PAPER_LOCALE = "zh_CN"  # the papers the community hands out are Chinese, whatever the page language


def paper_date(value, pattern: str = "y年M月d日") -> str:
    """A date, or a moment on the community clock, as the papers print it: Flask-Babel's
    ``format_date``/``format_datetime`` with a CLDR ``pattern``, always in Chinese.

    "y年M月d日" -> 2026年12月26日; "y年M月d日（EEEE）" -> 2026年12月26日（星期六）; a datetime (UTC, as
    stored) with "yyyy-MM-dd HH:mm" -> 2026-12-26 07:30 (local)."""
    with force_locale(PAPER_LOCALE):
        if isinstance(value, datetime):
            return format_datetime(to_local(value), pattern, rebase=False)
        return format_date(value, pattern)


def template_stylesheet(template_name: str) -> str:
    """The stylesheet that goes with a PDF template: pdf/notice.html -> pdf/notice.css (optional)."""
    return template_name.rsplit(".", 1)[0] + ".css"


def stylesheet(name: str):
    """``templates/<name>`` as a parsed WeasyPrint stylesheet, once per app (re-read on every render
    in debug); None if there is no such file. A ``<style>`` in a template works too, but is parsed
    on every render (for the receipt, a tenth of the render time)."""
    from jinja2 import TemplateNotFound
    from weasyprint import CSS

    app = current_app._get_current_object()
    cache = app.extensions.setdefault("gridapp.pdf", {})
    if name not in cache or app.debug:
        try:
            source = app.jinja_env.loader.get_source(app.jinja_env, name)[0]
        except TemplateNotFound:
            cache[name] = None
            return None
        if name == BASE_STYLESHEET and compact_cjk_font():
            source = f'@font-face {{ font-family: "{COMPACT_FONT_FAMILY}"; src: url("{COMPACT_FONT_URL}"); }}\n{source}'
        cache[name] = CSS(string=source, base_url=BASE_URL, url_fetcher=static_fetcher(),
                          font_config=font_config())
    return cache[name]


def base_stylesheet():
    """_base.css, parsed once per app (with the compact font declared): every PDF's first stylesheet."""
    return stylesheet(BASE_STYLESHEET)


def stylesheets(template_name: str, *extra) -> list:
    """What a template's PDF is laid out with: _base.css, then ``extra`` (parsed stylesheets; None is
    left out), then the template's own stylesheet if it has one."""
    own = stylesheet(template_stylesheet(template_name))
    return [base_stylesheet(), *(sheet for sheet in extra if sheet is not None)] + ([own] if own is not None else [])


def parse_css(source: str):
    """CSS text as a WeasyPrint stylesheet with the app's fetcher and fonts. Not cached: for text made
    per document (a notice's heading font); files go through ``stylesheet()``."""
    from weasyprint import CSS

    return CSS(string=source, base_url=BASE_URL, url_fetcher=static_fetcher(), font_config=font_config())


def heading_stylesheet(text: str, selector: str = ".masthead, h1"):
    """The parsed stylesheet that sets a notice's headings (``selector``) in the serif face cut down to
    ``text`` (``serif_heading_css``)."""
    return parse_css(serif_heading_css(text, selector))


def static_prefix() -> str:
    """The URL path under which ``url_for('static', …)`` puts static files ("/static/")."""
    root = request.script_root if has_request_context() else ""
    return f"{root}{current_app.static_url_path}/"


@functools.cache
def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def __init__(self, folder: str, prefix: str, source_name):
            # fail_on_errors: a refused or missing resource stops the render instead of being left out.
            super().__init__(fail_on_errors=True)
            self.folder, self.prefix, self.source_name = folder, prefix, source_name

        def fetch(self, url, headers=None):
            if url == COMPACT_FONT_URL and compact_cjk_font():
                return URLFetcherResponse(url, compact_cjk_font(), {"Content-Type": "font/otf"})
            if url.startswith(QR_IMAGE_PREFIX):
                return URLFetcherResponse(url, _qr_png(_qr_data_of(url)), {"Content-Type": "image/png"})
            if url.startswith(SERIF_FONT_PREFIX):
                font = heading_font(_code_points_of(url))
                if font:
                    return URLFetcherResponse(url, font, {"Content-Type": "font/otf"})
            parts = urlsplit(url)
            if f"{parts.scheme}://{parts.netloc}/" != BASE_URL or not parts.path.startswith(self.prefix):
                raise ValueError(f"PDF templates may only load the app's static files, not {url}")
            name = unquote(parts.path[len(self.prefix):])
            path = safe_join(self.folder, self.source_name(name))
            if path is None or not os.path.isfile(path):
                raise ValueError(f"no such static file: {url}")
            with open(path, "rb") as f:
                body = f.read()
            mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body, {"Content-Type": mime})

    return StaticOnlyFetcher


def static_fetcher():
    """A WeasyPrint URL fetcher that serves the app's static folder and refuses everything else."""
    from .static_files import KEY

    static_files = current_app.extensions.get(KEY)  # url_for gives hashed names: read their source
    source_name = static_files.source_name if static_files else (lambda name: name)
    return _fetcher_class()(current_app.static_folder, static_prefix(), source_name)


def qr_image_url(data: str) -> str:
    """The URL of ``data``'s QR code as a PNG (``qr.qr_png``), for an ``<img>`` in a PDF template laid out
    with ``layout(..., images=image_cache())``: made once per process, decoded once per cache."""
    return f"{QR_IMAGE_PREFIX}{base64.urlsafe_b64encode(data.encode()).decode()}.png"


def _qr_data_of(url: str) -> str:
    return base64.urlsafe_b64decode(url[len(QR_IMAGE_PREFIX):].removesuffix(".png")).decode()


@functools.lru_cache(maxsize=64)
def _qr_png(data: str) -> bytes:
    from .qr import qr_png

    return qr_png(data)


IMAGE_CACHE_KEY = "gridapp.pdf_images"
IMAGE_CACHE_IMAGES = 64  # images kept between renders (a notice's QR code: a PNG of ~1 KB)


def image_cache() -> dict:
    """WeasyPrint's image cache, kept between renders in this app: an image (by URL) is fetched and decoded
    once, not on every render. Emptied when it holds more than IMAGE_CACHE_IMAGES images. Only for images
    whose URL names their content (qr_image_url): a changed static file would not be read again."""
    cache = current_app.extensions.setdefault(IMAGE_CACHE_KEY, {})
    if sum(1 for key in list(cache) if key.startswith(BASE_URL)) > IMAGE_CACHE_IMAGES:
        cache.clear()
    return cache


def layout(template_name: str, *, extra_stylesheets=(), images: dict | None = None, **context):
    """Lay out ``templates/<template_name>`` as a WeasyPrint document (its ``pages``; ``write_pdf()``),
    styled by ``stylesheets(template_name, *extra_stylesheets)``; ``images``: an image cache to use
    (``image_cache()``), else the images are decoded for this document. For a document that tries several
    layouts (a notice that must fit one page); everything else calls ``render_pdf``."""
    from weasyprint import HTML

    require_cjk_font()
    html = render_template(template_name, **context)
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=static_fetcher())
    return document.render(stylesheets=stylesheets(template_name, *extra_stylesheets), font_config=font_config(),
                           cache=images)


def render_pdf(template_name: str, **context) -> bytes:
    """Render ``templates/<template_name>`` to PDF bytes, styled by templates/pdf/_base.css and the
    template's own stylesheet (``pdf/x.html`` -> ``pdf/x.css``) when there is one."""
    return layout(template_name, **context).write_pdf()


# --- warming a worker up (gunicorn_config.py) ----------------------------------------------------

WARM_UP_KEY = "gridapp.pdf_warm_up"
WARM_UP_HEADING = "社区网格扫雪除冰通知"
WARM_UP_HTML = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>预热</title></head>
<body><h1 class="warm-up-heading">{heading}</h1>
<table><tr><th>单号</th><td>DH-2026-000001</td></tr><tr><th>志愿者</th><td>张*军（1栋2单元）</td></tr>
<tr><td>食用油 × 1</td><td class="num">20</td></tr></table>
<p class="small">积分兑换凭条：凭此领取物品，请妥善保管。Grid 0123456789？！：；，</p><div>{qr}</div></body></html>"""


WARM_UP_RENDERS = []  # functions that render one real document each (see warm_up_render)


def warm_up_render(func):
    """Register ``func()`` with ``warm_up``: it renders one real document of its kind into the PDF cache
    (the newest receipt, the newest notice), so the worker has also run that template, its stylesheet
    and its queries once. Runs in an app and request context; it reads, never writes."""
    WARM_UP_RENDERS.append(func)
    return func


def warm_up(app, *, freeze: bool = False) -> dict:
    """Make a worker's first PDF as quick as its next ones, before it takes requests.

    The first PDF in a process pays for importing WeasyPrint, fontconfig's font list, cutting the
    compact font (~0.3 s), loading the fonts into Pango, parsing the stylesheets and the first QR
    code: ~0.6 s against ~60 ms warm. gunicorn_config.py calls this once per worker (its
    ``post_worker_init``), never the ``flask`` CLI or the tests. It parses every PDF template's
    stylesheet, renders one small receipt-like page (Chinese text, the serif heading face, a QR
    code) and keeps nothing of it, then runs each ``warm_up_render`` (the newest redemption receipt
    and campaign notice, into the PDF cache: the first real request of a kind still compiles its
    queries and lays out its template for the first time, ~40 ms more without these).

    It never stops a worker from starting: without a Chinese font it does nothing (PDF views answer
    503 and /healthz says "degraded" as before), and any error is logged and the worker serves on,
    its first PDF merely slower. With ``freeze`` (a worker, not a test) what it loaded is then left out
    of the garbage collector's full collections (``gc.freeze``). Returns (and keeps in
    ``app.extensions``) what it did: ``{"warmed": bool, "seconds": float, "reason": str | None}``.
    """
    started = time.perf_counter()
    result = {"warmed": False, "seconds": 0.0, "reason": None}
    try:
        with app.test_request_context("/"):
            result["reason"] = font_problem()
            if result["reason"] is None:
                from .qr import qr_svg

                names = app.jinja_env.list_templates(filter_func=lambda name: name.startswith("pdf/")
                                                     and name.endswith(".html"))
                for name in names:
                    stylesheet(template_stylesheet(name))
                extra = heading_stylesheet(WARM_UP_HEADING, ".warm-up-heading")
                html = WARM_UP_HTML.format(heading=WARM_UP_HEADING, qr=qr_svg("https://gridapp.invalid/warm-up"))
                from weasyprint import HTML

                document = HTML(string=html, base_url=BASE_URL, url_fetcher=static_fetcher())
                document.render(stylesheets=[base_stylesheet(), extra], font_config=font_config()).write_pdf()
                result["warmed"] = True
                for render in WARM_UP_RENDERS:
                    try:
                        render()
                    except Exception:  # noqa: BLE001  one kind that cannot warm up leaves the others warm
                        app.logger.exception("PDF warm-up: %s failed (the worker serves on)", render.__name__)
    except Exception as exc:  # noqa: BLE001  a worker that cannot warm up still serves
        result["reason"] = f"{exc.__class__.__name__}: {exc}"
        app.logger.exception("PDF warm-up failed (the worker serves on; its first PDF will be slower)")
    # What the warm-up loaded stays for the worker's life: a full collection now, or the first request
    # pays for one that walks it all (~0.1 s: a third of the first receipt's time).
    gc.collect()
    if freeze:
        # ... and then set aside for good (gc.freeze): a full collection walks every tracked object, and
        # the app, WeasyPrint, the fonts and the caches are ~190,000 of them. Renders allocate enough to
        # set one off every 10–15 notices: the collector took ~14 ms a notice on average, most of it in
        # those unlucky requests; ~4 ms once frozen. Frozen objects are never walked again (nor freed:
        # they live as long as the worker).
        gc.freeze()
    result["seconds"] = time.perf_counter() - started
    app.extensions[WARM_UP_KEY] = result
    return result


# --- the compact CJK font (see the module docstring) --------------------------------------

_HARFBUZZ_SUBSET = """
typedef struct hb_blob_t hb_blob_t;
typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t;
typedef uint32_t hb_codepoint_t;
typedef uint32_t hb_tag_t;
hb_blob_t *hb_blob_create_from_file_or_fail (const char *file_name);
void hb_blob_destroy (hb_blob_t *blob);
const char *hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
hb_face_t *hb_face_create (hb_blob_t *blob, unsigned int index);
void hb_face_destroy (hb_face_t *face);
hb_blob_t *hb_face_reference_blob (hb_face_t *face);
hb_tag_t hb_tag_from_string (const char *str, int len);
void hb_set_add (hb_set_t *set, hb_codepoint_t codepoint);
hb_subset_input_t *hb_subset_input_create_or_fail (void);
void hb_subset_input_destroy (hb_subset_input_t *input);
hb_set_t *hb_subset_input_unicode_set (hb_subset_input_t *input);
hb_set_t *hb_subset_input_set (hb_subset_input_t *input, int set_type);
hb_face_t *hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
"""
HB_SUBSET_SETS_DROP_TABLE_TAG = 3
# Layout tables would pull thousands of variant glyphs in; vertical metrics are never used.
DROPPED_TABLES = (b"GSUB", b"GPOS", b"vhea", b"vmtx", b"VORG")


def gb2312_characters() -> list[int]:
    """Code points of ASCII, GB2312, and signs Chinese text uses (¥ · — “” … and the ideographic space)."""
    chars = set(range(0x20, 0x7F)) | {0xA5, 0xB7, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026, 0x3000}
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    return sorted(chars)


def system_font_file(pattern: str) -> tuple[str, int]:
    """(path, index in the collection) of the installed font matching a fontconfig ``pattern``."""
    out = subprocess.run(["fc-match", "-f", "%{file}|%{index}|%{family}", pattern], capture_output=True,
                         text=True, timeout=10, check=True).stdout
    path, index, families = out.split("|", 2)
    if pattern.split(":")[0] not in [family.strip() for family in families.split(",")]:
        raise LookupError(f"{pattern} is not installed (fontconfig offers {families})")
    return path, int(index)


def compact_cjk_font() -> bytes | None:
    """Noto Sans CJK SC cut down to gb2312_characters(), glyphs renumbered; None if it cannot be made."""
    return compact_font(SOURCE_FONT)


@functools.lru_cache(maxsize=64)
def heading_font(code_points: tuple[int, ...]) -> bytes | None:
    """Noto Serif CJK SC (bold) cut down to ``code_points`` (a notice's masthead and title); None if it
    cannot be made (the stylesheet then falls back to the system serif font)."""
    return _subset(SERIF_SOURCE_FONT, code_points)


def _code_points_of(url: str) -> tuple[int, ...]:
    name = url[len(SERIF_FONT_PREFIX):].removesuffix(".otf")
    try:
        return tuple(int(part, 16) for part in name.split("-") if part)
    except ValueError:
        return ()


# Always in a heading's cut, whatever its text: what a date changes in a title (digits, 年月日) and the rest
# of ASCII. A campaign copied with a new date ("12月26日扫雪除冰" after "12月2日扫雪除冰") then has the same
# cut as the one before it: no new face to register, which costs a worker ~20 ms once per cut (fontconfig
# is told its configuration changed, and Pango drops every font it had loaded). ~100 glyphs: ~0.2 KB a PDF.
HEADING_ALWAYS = frozenset(range(0x21, 0x7F)) | {ord(c) for c in "年月日"}


def serif_heading_css(text: str, selector: str) -> str:
    """CSS that sets ``selector`` in the serif heading face cut down to the characters of ``text`` (and
    HEADING_ALWAYS), or in the system serif font when that cannot be made (no libharfbuzz-subset or no
    Noto Serif CJK SC).

    Each cut is declared under a family name of its own: fontconfig keeps every face a process was
    given, and under one shared name a later notice's title was drawn with an earlier cut — whose
    glyphs are numbered for other characters, so the heading printed the wrong characters."""
    characters = {ord(c) for c in text if not c.isspace()}
    code_points = tuple(sorted(characters | HEADING_ALWAYS))
    fallback = '"Noto Serif CJK SC", serif'
    if not characters or not heading_font(code_points):
        return f"{selector} {{ font-family: {fallback}; }}\n"
    name = "-".join(f"{c:x}" for c in code_points)
    family = f"{COMPACT_SERIF_FAMILY} {hashlib.sha256(name.encode()).hexdigest()[:16]}"
    return (f'@font-face {{ font-family: "{family}"; src: url("{SERIF_FONT_PREFIX}{name}.otf"); }}\n'
            f'{selector} {{ font-family: "{family}", {fallback}; }}\n')


def compact_font(pattern: str) -> bytes | None:
    """The installed font matching ``pattern`` cut down to gb2312_characters(), once per process."""
    return _subset(pattern, tuple(gb2312_characters()))


@functools.lru_cache(maxsize=8)
def _subset(pattern: str, code_points: tuple[int, ...]) -> bytes | None:
    """The installed font matching ``pattern`` cut down to ``code_points``, glyphs renumbered; None if it
    cannot be made."""
    try:
        import cffi

        library = ctypes.util.find_library("harfbuzz-subset")
        if library is None:
            raise OSError("libharfbuzz-subset not found (apt-get install libharfbuzz-subset0)")
        path, index = system_font_file(pattern)
        ffi = cffi.FFI()
        ffi.cdef(_HARFBUZZ_SUBSET)
        hb = ffi.dlopen(library)
        blob = ffi.gc(hb.hb_blob_create_from_file_or_fail(path.encode()), hb.hb_blob_destroy)
        if blob == ffi.NULL:
            raise OSError(f"cannot read {path}")
        face = ffi.gc(hb.hb_face_create(blob, index), hb.hb_face_destroy)
        plan = ffi.gc(hb.hb_subset_input_create_or_fail(), hb.hb_subset_input_destroy)
        unicodes = hb.hb_subset_input_unicode_set(plan)
        for code_point in code_points:
            hb.hb_set_add(unicodes, code_point)
        dropped = hb.hb_subset_input_set(plan, HB_SUBSET_SETS_DROP_TABLE_TAG)
        for tag in DROPPED_TABLES:
            hb.hb_set_add(dropped, hb.hb_tag_from_string(tag, -1))
        subset = ffi.gc(hb.hb_subset_or_fail(face, plan), hb.hb_face_destroy)
        if subset == ffi.NULL:
            raise OSError(f"harfbuzz could not subset {path}")
        data = ffi.gc(hb.hb_face_reference_blob(subset), hb.hb_blob_destroy)
        length = ffi.new("unsigned int *")
        font = ffi.unpack(hb.hb_blob_get_data(data, length), length[0])
    except (ImportError, OSError, LookupError, ValueError, subprocess.SubprocessError) as exc:
        log.warning("PDFs use the full system CJK font (bigger, slower): %s", exc)
        return None
    return font or None


# --- fingerprints, the cache of rendered PDFs, and the response ------------------------------
#
# A PDF shows plain values. A fingerprint of those values and of the layout (the template and its
# stylesheets) is its ETag, and the key under which the rendered bytes are kept: the same content is
# never rendered twice in a process, and a browser that holds it gets 304 without any rendering.

CACHE_BYTES = 16 * 1024 * 1024  # rendered PDFs kept per process (receipts ~30 KB, notices ~90 KB)
CACHE_KEY = "gridapp.pdf_cache"


def _cache() -> dict:
    return current_app.extensions.setdefault(
        CACHE_KEY, {"pdfs": OrderedDict(), "bytes": 0, "lock": threading.Lock(), "layouts": {}})


def layout_version(template_name: str) -> str:
    """A hash of the template, its own stylesheet and _base.css (once per app; re-read in debug):
    a new layout means new fingerprints."""
    app, cache = current_app._get_current_object(), _cache()
    if template_name not in cache["layouts"] or app.debug:
        from jinja2 import TemplateNotFound

        sources = []
        for name in (template_name, template_stylesheet(template_name), BASE_STYLESHEET):
            try:
                sources.append(app.jinja_env.loader.get_source(app.jinja_env, name)[0])
            except TemplateNotFound:
                sources.append("")
        cache["layouts"][template_name] = hashlib.sha256("\0".join(sources).encode()).hexdigest()[:16]
    return cache["layouts"][template_name]


def fingerprint(template_name: str, content) -> str:
    """The ETag of the PDF ``template_name`` makes showing ``content``: plain values (JSON; anything
    else by its repr, which must not depend on memory addresses). Changes exactly when what the PDF
    shows, or its layout, changes; so everything printed on it (even the day it is made) belongs in
    ``content``."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(f"{template_name}\0{layout_version(template_name)}\0{text}".encode()).hexdigest()[:32]


# --- at most PDF_RENDERS renders at once per server ----------------------------------------------
#
# A render takes a worker and a core for 50–150 ms. gunicorn's sync workers take one request each: with
# 2 workers and PDFs asked for back to back (the month-end rush: hundreds of receipts, a notice), both
# would be rendering and the counter's confirm would wait behind them. So a render first takes one of
# PDF_RENDERS slots (default 1: with 2 workers, one is always free for the counter); when every slot is
# taken the request is answered at once with a Chinese 503 that retries by itself (Retry-After and a
# refresh), never kept waiting in a worker. A PDF already made comes from the cache without a slot.
# A slot is an flock on instance/pdf-render-<n>.lock: the kernel releases it when its holder ends,
# however it ends, so a crashed worker never keeps a slot.

RETRY_AFTER_SECONDS = 2


class PdfBusy(DomainError):
    status = 503
    default_message = _l("系统正在生成别的PDF文件，请稍等几秒，页面会自动重试。")


@contextlib.contextmanager
def render_slot(block: bool = False):
    """Hold one of the server's PDF_RENDERS render slots while rendering (0: no limit). Raises PdfBusy
    when all are taken, or with ``block`` waits for the last one (the warm-up, before a worker serves)."""
    app = current_app._get_current_object()
    limit = app.config.get("PDF_RENDERS", 1)
    if not limit:
        yield
        return
    for n in range(limit):
        fd = os.open(os.path.join(app.instance_path, f"pdf-render-{n}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if block and n == limit - 1 else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    raise PdfBusy()


def cached_pdf(key: str, render, *, block: bool = False) -> bytes:
    """The PDF fingerprinted ``key``: from the cache if it was made before, else ``render()`` now, in a
    render slot (PdfBusy when none is free, unless ``block``), and kept (least recently used ones go
    first, at most CACHE_BYTES per process)."""
    cache = _cache()
    with cache["lock"]:
        if key in cache["pdfs"]:
            cache["pdfs"].move_to_end(key)
            return cache["pdfs"][key]
    with render_slot(block):
        pdf = render()
    with cache["lock"]:
        if key in cache["pdfs"]:  # another thread made it meanwhile: keep theirs
            cache["pdfs"].move_to_end(key)
        else:
            cache["pdfs"][key] = pdf
            cache["bytes"] += len(pdf)
        while cache["bytes"] > CACHE_BYTES and len(cache["pdfs"]) > 1:
            cache["bytes"] -= len(cache["pdfs"].popitem(last=False)[1])
        return cache["pdfs"][key]


def pdf_response(etag: str, render, filename: str) -> Response:
    """A PDF shown inline with ``etag`` (its ``fingerprint``): a client that already holds this
    version gets 304 and ``render()`` is not called; else the bytes come from ``cached_pdf(etag,
    render)``. Private (PDFs name people), revalidated each time (a void or an edit changes the
    fingerprint). Without a Chinese font: FontMissing (503)."""
    require_cjk_font()
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        try:
            pdf = cached_pdf(etag, render)
        except PdfBusy as busy:
            return busy_response(busy)
        response = Response(pdf, mimetype="application/pdf")
        response.headers["Content-Disposition"] = (
            f'inline; filename="{filename}"' if filename.isascii() else f"inline; filename*=UTF-8''{quote(filename)}")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def busy_response(busy: PdfBusy) -> Response:
    """The Chinese 503 for a PDF asked for while every render slot is taken: the browser asks again by
    itself after RETRY_AFTER_SECONDS (Retry-After, and a refresh, which needs no JavaScript)."""
    from .web import error_page

    body, status = error_page(busy.status, busy.message)
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Refresh"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response
