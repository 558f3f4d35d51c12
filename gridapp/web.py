"""What every response gets: security headers, hashed and precompressed static files, Chinese error pages."""
from datetime import datetime
from functools import lru_cache

from babel import dates as babel_dates
from babel import support
from flask import Request, current_app, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy.exc import DataError, IntegrityError
from wtforms.i18n import messages_path

from .clock import days_after, to_local
from .errors import DomainError
from .extensions import db
from .htmx import add_vary_header, is_fragment_request
from .money import fen_to_yuan
from .static_files import register_static_files

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "object-src 'none'",
])


@lru_cache(maxsize=8)
def _wtforms_catalog(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class GridRequest(Request):
    """The app's request: WTForms' own messages (a field's "not a valid number" …) come from a catalog
    parsed once per process and language. Flask-WTF asks the request for ``wtforms_translations`` and, finding
    none, reads and parses the catalog from disk, on every request that builds a form."""

    @property
    def wtforms_translations(self) -> support.Translations:
        return _wtforms_catalog(str(get_locale()))


def static_security_headers(headers):
    """The headers every response carries, static files too (WhiteNoise adds them to each file's)."""
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")


def security_headers(response):
    headers = response.headers
    static_security_headers(headers)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint != "static" and "Cache-Control" not in headers:
        # Pages carry personal data and CSRF tokens: never store them in a shared cache.
        headers["Cache-Control"] = "no-store" if request.cookies.get("session") else "no-cache"
    return response


ERROR_TEXTS = {
    400: lambda: (_("请求无效"), _("提交的内容无法识别，请返回重试。")),
    403: lambda: (_("没有权限"), _("您没有权限查看此页面。如需帮助，请联系网格员。")),
    404: lambda: (_("页面不存在"), _("您要找的页面不存在，可能已被删除或链接有误。")),
    405: lambda: (_("请求方式不对"), _("此页面不能这样打开，请从菜单进入。")),
    413: lambda: (_("上传的内容太大"), _("上传的内容超过了大小限制，请缩小照片或减少张数后重试。")),
    422: lambda: (_("内容有误"), _("提交的内容有误，请检查后重试。")),
    429: lambda: (_("操作太频繁"), _("尝试次数过多，为保护账号安全，请稍等几分钟再试。")),
    500: lambda: (_("服务器出错了"), _("抱歉，系统出了点问题，请稍后重试。如果一直这样，请联系网格员。")),
    503: lambda: (_("暂时无法服务"), _("系统正在维护，请稍后重试。")),
}


def error_page(status: int, message: str | None = None):
    title, text = ERROR_TEXTS.get(status, ERROR_TEXTS[500])()
    template = "errors/_error.html" if is_fragment_request() else "errors/error.html"
    return render_template(template, status=status, title=title, text=message or text), status


# endpoint -> a view that answers an over-large post itself (e.g. a form shown again with its text kept)
TOO_LARGE_PAGES = {}


def too_large_page(endpoint: str):
    """Register the function that answers 413 for ``endpoint`` instead of the plain error page."""

    def register(view):
        TOO_LARGE_PAGES[endpoint] = view
        return view

    return register


def register_error_pages(app):
    def handle_http(exc):
        return error_page(exc.code)

    for code in ERROR_TEXTS:
        if code not in (413, 500):
            app.register_error_handler(code, handle_http)

    @app.errorhandler(413)
    def too_large(exc):
        page = TOO_LARGE_PAGES.get(request.endpoint)
        return page() if page is not None else error_page(413)

    @app.errorhandler(CSRFError)
    def csrf_failed(exc):
        return error_page(403, _("页面已过期或来源不明，请刷新页面后重新提交。"))

    @app.errorhandler(DomainError)
    def domain_error(exc):
        db.session.rollback()
        return error_page(exc.status, exc.message)

    @app.errorhandler(DataError)
    @app.errorhandler(IntegrityError)
    @app.errorhandler(OverflowError)
    def refused_by_the_database(exc):
        # A form or service should have said no first; the database's constraints (CHECK, UNIQUE,
        # foreign keys, column sizes) are the last line of defence. Nothing was saved: say so clearly.
        app.logger.warning("refused by the database at %s %s: %s", request.method, request.path, exc)
        db.session.rollback()
        return error_page(422, _("提交的内容超出了允许的范围（如数量或数字太大），没有保存。请检查后重试。"))

    @app.errorhandler(500)
    def server_error(exc):
        db.session.rollback()
        return error_page(500)


class NoSessionForStaticFiles(SecureCookieSessionInterface):
    """Static files never touch the session: no Set-Cookie and no ``Vary: Cookie``,
    so one cached copy of the stylesheet serves before and after login."""

    def save_session(self, app, session, response):
        if request.endpoint == "static":
            return
        super().save_session(app, session, response)


def register_response_hooks(app):
    app.session_interface = NoSessionForStaticFiles()
    app.after_request(security_headers)
    app.after_request(add_vary_header)
    register_static_files(app)


MENUS_KEY = "gridapp.menus"
MENUS_KEPT = 2000  # roles × languages × pages: a few hundred in practice


@pass_context
def main_menu(context, role: str) -> Markup:
    """The menu bar of a logged-in page (templates/_nav.html). It is the same for everyone of a role on a
    page, so it is drawn once per role, page, language and URL root and kept in the app: a staff page's
    menu has 13 links, each a macro call, a URL and a translation, on every view (bench/README: the
    counter panel ×0.90–0.95)."""
    endpoint = request.endpoint
    key = (role, endpoint, _page_locale(context), request.script_root)
    menus = current_app.extensions.setdefault(MENUS_KEY, {})
    menu = menus.get(key)
    if menu is None:
        if len(menus) >= MENUS_KEPT:
            menus.clear()
        menu = menus[key] = Markup(render_template("_nav.html", role=role, endpoint=endpoint))
    return menu


def page_url(page: int) -> str:
    """The current page's URL with ``page`` replaced (the pager's links keep the search)."""
    args = request.args.to_dict()
    args["page"] = page
    return url_for(request.endpoint, **(request.view_args or {}), **args)


@pass_context
def until_cn(context, end, start) -> str:
    """The end of a span that began at ``start``: "02:00" the same day, "次日 02:00" the next (a night
    patrol), the full date and time beyond."""
    if not end:
        return "—"
    days = days_after(end, start) if start else 0
    if days == 0:
        return _datetime_filter(context, end, "HH:mm")
    if days == 1:
        return _("次日 %(time)s", time=_datetime_filter(context, end, "HH:mm"))
    return _datetime_filter(context, end, "short")


def _catalogue(context):
    """The catalogue of the page being rendered: put in its context once per render (below), where
    Flask-Babel's own template callables look it up through the request context for every string
    (a page has dozens). A template rendered without the context processor asks Flask-Babel."""
    translations = context.get("_translations")
    return translations if translations is not None else get_translations()


@pass_context
def _template_gettext(context, string):
    return _catalogue(context).ugettext(string)


@pass_context
def _template_underscore(context, string, **variables):
    """A template's ``{{ _('…', name=value) }}`` in one call, as Jinja's i18n extension does it in three
    (its ``_`` resolves ``gettext``, whose newstyle wrapper calls ``_template_gettext``; ~35 strings on
    /me): the page's catalogue, Markup in an autoescaped template so that the values are escaped, and
    the string always a %-format (newstyle: ``%%`` prints %)."""
    translated = _catalogue(context).ugettext(string)
    if context.eval_ctx.autoescape:
        translated = Markup(translated)
    return translated % variables


@pass_context
def _template_ngettext(context, singular, plural, n):
    return _catalogue(context).ungettext(singular, plural, n)


@pass_context
def _template_pgettext(context, string_context, string):
    return _catalogue(context).upgettext(string_context, string)


@pass_context
def _template_npgettext(context, string_context, singular, plural, n):
    return _catalogue(context).unpgettext(string_context, singular, plural, n)


def _page_locale(context):
    """The page's locale: put in its context once per render, as the catalogue is; a template rendered
    without the context processor asks Flask-Babel."""
    found = context.get("_locale")
    return found if found is not None else get_locale()


@pass_context
def _date_filter(context, day, pattern="full"):
    """A date in the page's locale; a datetime (stored in UTC) is first read on the community clock, or a
    stocktake made at 07:00 in Beijing would show the day before."""
    if isinstance(day, datetime):
        day = to_local(day).date()
    return babel_dates.format_date(day, pattern, locale=_page_locale(context))


NAMED_FORMATS = ("short", "medium", "long", "full")


@lru_cache(maxsize=32)
def datetime_pattern(name: str, locale) -> str:
    """The CLDR pattern a named date-time format ("short" …) stands for in ``locale``: the locale's
    date and time patterns of that name inside its glue ("{1} {0}"), the way Babel's format_datetime
    puts them together — but as one pattern, applied once, where Babel formats the date and the time
    apart and converts the zone each time (a list page formats dozens)."""
    glue = babel_dates.get_datetime_format(name, locale=locale)
    return (glue.replace("{0}", babel_dates.get_time_format(name, locale=locale).pattern)
            .replace("{1}", babel_dates.get_date_format(name, locale=locale).pattern))


@pass_context
def _datetime_filter(context, moment, pattern="short"):
    """Babel's format_datetime of the moment (stored in UTC) on the community clock (``clock.to_local``),
    with the page's locale looked up once per render; a named format is applied as its one pattern
    (``datetime_pattern``). tests/test_dates.py holds it to Babel's own output for every named format."""
    if not moment:
        return "—"
    locale = _page_locale(context)
    if pattern in NAMED_FORMATS:
        pattern = datetime_pattern(pattern, locale)
    return babel_dates.format_datetime(to_local(moment), pattern, locale=locale)


@pass_context
def _time_filter(context, moment):
    return _datetime_filter(context, moment, "HH:mm")


@pass_context
def _short_date_filter(context, day):
    return _date_filter(context, day, "medium") if day else "—"


def register_template_helpers(app):
    """Every template filter of the app is here. Dates and times are Babel's, in Flask-Babel's locale looked
    up once per render (the page's language; a datetime, stored in UTC, on the community clock,
    ``clock.to_local``): ``date_cn`` and ``datetime_cn`` take an optional CLDR pattern, ``{{ made_on|date_cn('yyyy年MM月dd日') }}`` (never ``strftime``)."""
    app.add_template_global(page_url)
    app.add_template_global(main_menu)
    app.add_template_filter(_date_filter, "date_cn")
    app.add_template_filter(_datetime_filter, "datetime_cn")
    app.add_template_filter(_time_filter, "time_cn")
    app.add_template_filter(until_cn, "until_cn")
    # Jinja's {{ _('…') }} (Flask-Babel's newstyle gettext), with the catalogue looked up once per render.
    app.context_processor(lambda: {"_translations": get_translations(), "_locale": get_locale()})
    app.jinja_env.install_gettext_callables(gettext=_template_gettext, ngettext=_template_ngettext,
                                            pgettext=_template_pgettext, npgettext=_template_npgettext,
                                            newstyle=True)
    app.jinja_env.globals["_"] = _template_underscore
    app.add_template_filter(_short_date_filter, "date_short")
    app.add_template_filter(lambda fen: f"¥{fen_to_yuan(fen)}", "yuan")  # from integer fen only
