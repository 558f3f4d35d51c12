from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..auth.models import STAFF_ROLES
from ..auth.permissions import login_required, public, roles_required
from ..auth.views import safe_next
from ..clock import local_today, utcnow
from ..counter import shelf
from ..counter.schedule import next_counter_day
from ..extensions import db
from ..once import new_token
from ..pdf import font_problem
from ..org.service import current_grid
from ..points import service as points
from ..reports import service as reports
from .service import volunteer_home

bp = Blueprint("home", __name__)

ROLE_HOMES = {"volunteer": "home.volunteer", "staff": "home.staff", "admin": "home.staff",
              "sponsor": "sponsor_portal.home", "viewer": "reporting.rollups_home"}
LANGUAGE_COOKIE = "lang"


@bp.route("/")
@public
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(ROLE_HOMES[current_user.role]))


@bp.route("/me")
@roles_required("volunteer")
def volunteer():
    now, today = utcnow(), local_today()
    # The next counter day with its grid's hours and place, as the shelf shows it, and what the points buy.
    counter = shelf.counter_card(today, current_user.points_balance, current_grid())
    home = volunteer_home(current_user, now, today, counter.day, place=counter.place, hours=counter.hours,
                          affordable=(counter.affordable_count, counter.affordable))
    return render_template("home/volunteer.html", home=home, now=now, balance=points.balance(current_user),
                           once_token=new_token())


@bp.route("/staff")
@roles_required(*STAFF_ROLES)
def staff():
    """工作台: this month next to last month, the 12-month trends as SVG charts, since-start totals."""
    from ..reporting import charts, service as reporting

    figures = reporting.dashboard(utcnow())
    return render_template("home/staff.html", d=figures, charts=charts.trend_charts(figures.trend),
                           counter_day=next_counter_day(local_today()), open_reports=reports.open_count())


@bp.route("/account")
@login_required
def account():
    from ..auth.forms import ConfirmForm
    from ..auth.service import open_sessions

    return render_template("home/account.html", sessions=open_sessions(current_user),
                           current_session=current_user.login_session, form=ConfirmForm())


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
    """200 ``ok``; 200 ``degraded`` with the reason while the app serves but cannot do everything
    (no Chinese font: PDFs are refused); 503 when the database does not answer."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "database unavailable"}, 503
    problem = font_problem()
    if problem:
        return {"status": "degraded", "reason": problem}
    return {"status": "ok"}
