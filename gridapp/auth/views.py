"""Login, logout, self-registration, password change and the account's devices (登录设备)."""
import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy.exc import SQLAlchemyError

from ..clock import utcnow
from ..community.service import active_teams
from ..extensions import db, limiter
from ..formtools import commit_or_explain
from . import service, throttle
from .forms import ChangePasswordForm, ConfirmForm, LoginForm, VolunteerForm, normalise_phone
from .permissions import login_required, public

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Only a path on this site may be a post-login destination (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _phone_key(prefix: str) -> str:
    return f"{prefix}-phone:" + (normalise_phone(request.form.get("phone", "")) or "")[:20]


def _ip_key(prefix: str) -> str:
    return f"{prefix}-ip:{request.remote_addr or '-'}"


def _login_failed(response) -> bool:
    # Only failed attempts count towards the limit: a good login answers with a redirect.
    return response.status_code != 303


def _counted(keys_and_limits: dict) -> None:
    """Count this attempt in the database (committed at once, so every worker sees it), or raise
    TooManyAttempts. With a Flask-Limiter store configured the decorators count instead."""
    if not throttle.uses_database():
        return
    limits = {key: throttle.limit_of(config_key) for key, config_key in keys_and_limits.items()}
    commit_or_explain(lambda: throttle.count_attempt(limits, utcnow()))


# The Flask-Limiter option (GRIDAPP_RATELIMIT_STORAGE_URI=redis://…): the same limits, counted there.
_limit_login_ip = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"],
                                deduct_when=_login_failed, exempt_when=throttle.uses_database)
_limit_login_phone = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_PHONE"],
                                   key_func=lambda: _phone_key("login"), methods=["POST"],
                                   deduct_when=_login_failed, exempt_when=throttle.uses_database)
_limit_register_ip = limiter.limit(lambda: current_app.config["REGISTER_LIMIT_PER_IP"], methods=["POST"],
                                   exempt_when=throttle.uses_database)
_limit_register_phone = limiter.limit(lambda: current_app.config["REGISTER_LIMIT_PER_PHONE"],
                                      key_func=lambda: _phone_key("register"), methods=["POST"],
                                      exempt_when=throttle.uses_database)


# What someone whose password was set by staff may open before choosing their own.
WHILE_PASSWORD_MUST_CHANGE = {"auth.change_password", "auth.logout", "static", "home.set_language", "home.healthz"}


@bp.before_app_request
def require_own_password():
    """A password someone else chose (a staff reset) must be changed before anything else."""
    if (current_user.is_authenticated and current_user.must_change_password
            and request.endpoint not in WHILE_PASSWORD_MUST_CHANGE):
        return redirect(url_for("auth.change_password"), 303)
    return None


@bp.route("/login", methods=["GET", "POST"])
@public
@_limit_login_ip
@_limit_login_phone
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    next_url = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        keys = {_ip_key("login"): "LOGIN_LIMIT_PER_IP", _phone_key("login"): "LOGIN_LIMIT_PER_PHONE"}
        _counted(keys)

        def log_in():
            user = service.authenticate(form.phone.data, form.password.data)
            if throttle.uses_database():
                throttle.give_back(keys, utcnow())
            service.start_session(user, user_agent=request.user_agent.string, now=utcnow())
            return user

        ok, user = commit_or_explain(log_in, form.form_errors)
        if ok:
            session.clear()  # a fresh session on login: nothing from before survives
            login_user(user)
            return redirect(next_url or url_for("home.index"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, next_url=next_url), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = ConfirmForm()
    if form.validate_on_submit():
        # The login ends on the server: a copy of the cookie is worth nothing from now on.
        commit_or_explain(lambda: service.end_session(current_user.login_session, reason="logout"))
        logout_user()
        session.clear()
        flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"), 303)


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    """退出其他设备: every login of this account but this one ends."""
    if ConfirmForm().validate_on_submit():
        _ok, count = commit_or_explain(
            lambda: service.end_other_sessions(current_user, current_user.login_session.id))
        flash(_("已退出其他 %(n)d 台设备。", n=count) if count else _("没有其他设备登录。"), "success")
    return redirect(url_for("home.account"), 303)


@bp.route("/register", methods=["GET", "POST"])
@public
@_limit_register_ip
@_limit_register_phone
def register():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = VolunteerForm()
    form.set_team_choices(active_teams())
    if form.validate_on_submit():
        # Each attempt hashes a password (slow on purpose) under the database's write lock: limit them.
        _counted({_ip_key("register"): "REGISTER_LIMIT_PER_IP", _phone_key("register"): "REGISTER_LIMIT_PER_PHONE"})
        ok, _user = commit_or_explain(lambda: service.register_resident(**form.details()), form.phone.errors)
        if ok:
            return redirect(url_for("auth.registered"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/register/done")
@public
def registered():
    return render_template("auth/registered.html")


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        ok, _user = commit_or_explain(lambda: service.change_password(current_user, form.current.data,
                                                                      form.password.data), form.current.errors)
        if ok:
            flash(_("密码已修改。其他设备上的登录已失效。"), "success")
            return redirect(url_for("home.index"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_password.html", form=form), status


def touch_last_seen(response):
    """After a page (GET) of a logged-in user: write "last seen" if it is a few minutes old.

    On its own connection and transaction — never the request's, which may hold domain writes — and
    best effort: a busy database only means the time is written on a later page.
    """
    user = g.get("_login_user")
    login = getattr(user, "login_session", None)
    if login is None or request.method not in ("GET", "HEAD"):
        return response
    now = utcnow()
    try:
        if service.session_needs_touch(login, now):
            with db.engine.begin() as connection:
                service.touch_session(connection, login.id, now)
    except SQLAlchemyError as exc:
        log.warning("last seen not written: %s", exc)
    return response
