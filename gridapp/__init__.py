"""gridapp: volunteer points, the month-end exchange counter, donated goods and snow-clearing notices."""
from pathlib import Path

from babel import Locale
from flask import Flask, has_request_context, request
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

from . import clock
from .config import PROJECT_ROOT, Config
from .database import configure_engine
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .numbers import register_converters
from .web import GridRequest

__all__ = ["create_app"]


# Parsed once: Babel's parse of a locale name scans its whole locale list, twice a request.
LOCALES = {code: Locale.parse(code) for code in Config.LANGUAGES}


def select_locale():
    """The language cookie's choice; Chinese otherwise (and outside requests: CLI, services in tests)."""
    from .home.views import LANGUAGE_COOKIE

    chosen = request.cookies.get(LANGUAGE_COOKIE) if has_request_context() else None
    return LOCALES.get(chosen) or LOCALES["zh_CN"]


def create_app(config=None) -> Flask:
    """Build the app. ``config`` is a Config instance (TestConfig in tests); None reads the environment."""
    config = config or Config()
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=str(Path(config.INSTANCE_PATH).resolve()))
    app.config.from_object(config)
    app.request_class = GridRequest  # WTForms' messages parsed once, not per request
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config.get("PROXY_COUNT"):
        # Behind nginx: the client's address (per-address login throttling), scheme and host come from
        # the X-Forwarded-* headers that exactly PROXY_COUNT proxies add; anything further left is ignored.
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    register_converters(app)  # before any route: <int:…> and <id:…> are bounded
    db.init_app(app)
    configure_engine(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=clock.timezone_name,
                   default_translation_directories="translations")
    limiter.init_app(app)
    _setup_login(app)

    from . import models  # noqa: F401  every table, so that migrations and verify see them all
    from .campaigns import checks as _campaign_checks  # noqa: F401  importing registers the invariant checks
    from .counter import checks as _counter_checks  # noqa: F401
    from .duty import checks as _duty_checks  # noqa: F401
    from .goods import checks as _goods_checks  # noqa: F401
    from .goods import sponsors as _sponsors  # noqa: F401  importing gives auth its sponsor lookups
    from .points import checks as _points_checks  # noqa: F401
    from .reports import checks as _reports_checks  # noqa: F401
    from .auth.manage_views import bp as accounts_bp
    from .auth.views import bp as auth_bp
    from .campaigns.views import bp as campaigns_bp
    from .cli import register_cli
    from .counter.pdf_views import bp as counter_pdfs_bp
    from .counter.shelf_views import bp as shelf_bp
    from .counter.views import bp as counter_bp
    from .duty.views import bp as duty_bp
    from .goods.receipt_views import bp as receipts_bp
    from .goods.sponsor_views import bp as sponsor_portal_bp
    from .goods.stocktake_views import bp as stocktake_bp
    from .goods.views import bp as goods_bp
    from .home.views import bp as home_bp
    from .org.views import bp as org_bp
    from .points.views import bp as points_bp
    from .pdf import check_fonts
    from .publicity.views import bp as publicity_bp
    from .reporting.views import bp as reporting_bp
    from .org.views import register_scope
    from .reports.views import bp as reports_bp
    from .urls import warn_without_public_url
    from .volunteers.views import bp as volunteer_admin_bp
    from .web import register_error_pages, register_response_hooks, register_template_helpers

    for blueprint in (home_bp, auth_bp, accounts_bp, duty_bp, points_bp, goods_bp, sponsor_portal_bp, receipts_bp,
                      stocktake_bp, counter_bp, counter_pdfs_bp, campaigns_bp, shelf_bp, reporting_bp, publicity_bp,
                      reports_bp, volunteer_admin_bp, org_bp):
        app.register_blueprint(blueprint)
    register_scope(app)
    register_error_pages(app)
    register_response_hooks(app)
    register_template_helpers(app)
    register_cli(app)
    warn_without_public_url(app)
    check_fonts(app)

    @app.context_processor
    def template_globals():
        return {"current_locale": lambda: str(get_locale())}

    return app


def _setup_login(app):
    from flask_babel import lazy_gettext as _l

    from .auth.service import load_session_user
    from .auth.views import touch_last_seen

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("请先登录。")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_user)
    app.after_request(touch_last_seen)
