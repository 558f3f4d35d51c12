"""Login, logout, self-registration and password change."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..community.service import active_teams
from ..errors import DomainError
from ..extensions import db, limiter
from ..formtools import commit_or_explain
from . import service
from .forms import ChangePasswordForm, ConfirmForm, LoginForm, VolunteerForm, normalise_phone
from .permissions import login_required, public

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Only a path on this site may be a post-login destination (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _login_phone_key() -> str:
    return "phone:" + (normalise_phone(request.form.get("phone", "")) or "")


def _login_failed(response) -> bool:
    # Only failed attempts count towards the limit: a good login answers with a redirect.
    return response.status_code != 303


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
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], deduct_when=_login_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_PHONE"], key_func=_login_phone_key,
               methods=["POST"], deduct_when=_login_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    next_url = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.phone.data, form.password.data)
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            db.session.commit()
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
        logout_user()
        session.clear()
        flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"), 303)


@bp.route("/register", methods=["GET", "POST"])
@public
def register():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = VolunteerForm()
    form.set_team_choices(active_teams())
    if form.validate_on_submit():
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
        try:
            user = service.change_password(current_user, form.current.data, form.password.data)
        except DomainError as exc:
            form.current.errors.append(exc.message)
        else:
            db.session.commit()
            login_user(user)  # the cookie carries the new session nonce
            flash(_("密码已修改。其他设备上的登录已失效。"), "success")
            return redirect(url_for("home.index"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_password.html", form=form), status
