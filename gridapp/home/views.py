from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..auth.models import User
from ..auth.permissions import login_required, public, roles_required
from ..auth.views import safe_next
from ..clock import local_today, utcnow
from ..counter.schedule import next_redemption_day
from ..duty.forms import OnceForm
from ..extensions import db
from ..once import new_token
from ..points import service as points
from .service import volunteer_home

bp = Blueprint("home", __name__)

ROLE_HOMES = {"volunteer": "home.volunteer", "staff": "home.staff", "admin": "home.staff",
              "sponsor": "sponsor_portal.home"}
LANGUAGE_COOKIE = "lang"


@bp.route("/")
@public
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(ROLE_HOMES[current_user.role]))


def _counter_day(today):
    """The one place the home pages ask when the exchange counter opens next."""
    return next_redemption_day(today)


@bp.route("/me")
@roles_required("volunteer")
def volunteer():
    now, today = utcnow(), local_today()
    home = volunteer_home(current_user, now, today, _counter_day(today),
                          place=current_app.config["COUNTER_PLACE"], hours=current_app.config["COUNTER_HOURS"])
    return render_template("home/volunteer.html", home=home, now=now, balance=points.balance(current_user),
                           form=OnceForm(token=new_token()))


@bp.route("/staff")
@roles_required("staff", "admin")
def staff():
    return render_template(
        "home/staff.html",
        pending_count=User.query.filter_by(status="pending").count(),
        volunteer_count=User.query.filter_by(role="volunteer", status="active").count(),
        redemption_day=_counter_day(local_today()),
    )


@bp.route("/account")
@login_required
def account():
    return render_template("home/account.html")


@bp.route("/lang/<code>")
@public
def set_language(code):
    """Remember the chosen language in a cookie (a preference, not account data) and go back."""
    response = redirect(safe_next(request.args.get("next")) or url_for("home.index"))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True, secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.route("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "database unavailable"}, 503
    return {"status": "ok"}
