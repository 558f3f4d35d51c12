"""Duty pages: the volunteer's session page and QR check-in, and the grid worker's sessions and roster."""
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.models import STAFF_ROLES
from ..auth.forms import ConfirmForm, LoginForm
from ..auth.permissions import public, roles_required
from ..auth.service import get_user, search_volunteers
from ..clock import local_span, utcnow
from ..community.service import active_teams, team_by_id
from ..database import writes_in_unit_of_work
from ..errors import DomainError, NotFound
from ..extensions import db
from ..formtools import commit_or_explain, error_text
from ..htmx import is_fragment_request
from ..numbers import page_number, parse_id
from ..once import new_token, run_once
from ..qr import qr_svg
from ..urls import public_url
from . import service as duty
from .forms import CorrectPointsForm, DutyTypeForm, MarkPresentForm, OnceForm, ReasonForm, ScheduleForm
from .models import DutyType

bp = Blueprint("duty", __name__)


# --- volunteers ------------------------------------------------------------------------

def _session_page(session, status=200, error=None):
    return render_template("duty/session.html", session=session, once_token=new_token(), error=error, now=utcnow(),
                           attendance=duty.attendance_of(current_user, session)), status


@bp.route("/duty/<id:session_id>")
@roles_required("volunteer")
def session(session_id):
    return _session_page(duty.get_session(session_id))


@bp.route("/c/<token>")
@public
def scan(token):
    """The printed QR code's address. Logged out: what is being checked into (title, time, place) above the
    login form, which comes back here; logged in as a volunteer: the check-in button."""
    session = duty.session_by_token(token)
    if not current_user.is_authenticated:
        return render_template("auth/login.html", form=LoginForm(), next_url=request.path, checking_into=session)
    if current_user.role != "volunteer":
        abort(403)
    duty.require_home_grid(current_user, session)  # another grid's code: refused, naming its grid
    return _session_page(session)


VOLUNTEER_ACTIONS = {
    "sign-up": lambda v, s, now: duty.sign_up(v, s, now),
    "cancel": lambda v, s, now: duty.cancel_sign_up(v, s),
    "check-in": lambda v, s, now: duty.check_in(v, s, now),
    "check-out": lambda v, s, now: duty.check_out(v, s, now),
}


@bp.route("/duty/<id:session_id>/<any('sign-up', 'cancel', 'check-in', 'check-out'):action>", methods=["POST"])
@roles_required("volunteer")
@writes_in_unit_of_work
def act(session_id, action):
    """签到/签退/报名/取消报名. A retried form (same token) lands on the first result, with no second effect."""
    session = duty.get_session(session_id)
    form = OnceForm()
    if not form.validate_on_submit():
        return _session_page(session, 422, _("请求无效，请刷新页面后重试。"))

    def do():
        attendance = VOLUNTEER_ACTIONS[action](current_user, session, utcnow())
        for note in getattr(attendance, "notes", ()):  # e.g. moved here from another zone of the campaign
            flash(note, "info")
        return url_for("duty.done", session_id=session.id, action=action)

    try:
        return redirect(run_once(form.token.data, current_user, do), 303)
    except DomainError as exc:
        return _session_page(session, 422, exc.message)


@bp.route("/duty/<id:session_id>/<any('sign-up', 'cancel', 'check-in', 'check-out'):action>/done")
@roles_required("volunteer")
def done(session_id, action):
    """The confirmation after an action: what happened, when, and what comes next."""
    session = duty.get_session(session_id)
    attendance = duty.attendance_of(current_user, session)
    if attendance is None:  # an old or shared link: show the session instead
        return redirect(url_for("duty.session", session_id=session.id))
    return render_template("duty/done.html", session=session, action=action, attendance=attendance)


# --- staff: duty types and sessions ---------------------------------------------------------

@bp.route("/staff/duty")
@roles_required(*STAFF_ROLES)
def sessions():
    past = request.args.get("past") == "1"
    page = page_number()
    return render_template("duty/sessions.html", pagination=duty.staff_sessions(utcnow(), past, page), past=past)


@bp.route("/staff/duty/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def new_session():
    form = ScheduleForm()
    form.set_choices(DutyType.query.filter_by(active=True).order_by(DutyType.id).all(), active_teams())
    if request.method == "GET":
        form.token.data = new_token()
    if form.validate_on_submit():
        duty_type = db.session.get(DutyType, form.duty_type.data)
        starts_at, ends_at = local_span(form.day.data, form.start.data, form.end.data)

        def schedule():
            created = duty.schedule(
                current_user, duty_type=duty_type, title=form.title.data, place=form.place.data,
                starts_at=starts_at, ends_at=ends_at, points=form.points.data, capacity=form.capacity.data,
                team=team_by_id(form.team.data), opens_before=timedelta(minutes=form.opens_before.data),
                repeat_weeks=form.repeat_weeks.data)
            flash(_("已安排 %(n)d 场：%(title)s。", n=len(created), title=created[0].title), "success")
            return url_for("duty.roster", session_id=created[0].id)

        try:
            return redirect(run_once(form.token.data, current_user, schedule), 303)
        except DomainError as exc:
            form.end.errors.append(exc.message)
    return render_template("duty/new_session.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/staff/duty/types", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def types():
    form = DutyTypeForm()
    if form.validate_on_submit():
        ok, _type = commit_or_explain(lambda: duty.add_duty_type(current_user, form.name.data,
                                                                form.default_points.data), form.name.errors)
        if ok:
            flash(_("已添加服务类型：%(name)s。", name=form.name.data), "success")
            return redirect(url_for("duty.types"), 303)
    return render_template("duty/types.html", form=form, duty_types=DutyType.query.order_by(DutyType.id).all()), (
        422 if request.method == "POST" else 200)


@bp.route("/staff/duty/<id:session_id>/poster")
@roles_required(*STAFF_ROLES)
def poster(session_id):
    session = duty.get_session(session_id)
    link = public_url("duty.scan", token=session.token)
    return render_template("duty/poster.html", session=session, link=link, qr=qr_svg(link))


# --- staff: the roster -------------------------------------------------------------------

def _roster_page(session, status=200, error=None, query="", failed=None):
    """The roster; ``error`` is the page's banner, ``failed`` a row's refused action (``_failed_row``)."""
    return render_template(
        "duty/roster.html", session=session, rows=duty.roster(session), now=utcnow(), error=error, query=query,
        candidates=search_volunteers(query).limit(10).all() if query else [], failed=failed,
        reason_form=ReasonForm(), correct_form=CorrectPointsForm(), mark_form=MarkPresentForm(),
        placed_count=duty.place_holders(session), waiting=duty.awaiting_confirmation(session)), status


@bp.route("/staff/duty/<id:session_id>")
@roles_required(*STAFF_ROLES)
def roster(session_id):
    return _roster_page(duty.get_session(session_id), query=request.args.get("q", "").strip()[:40])


def _failed_row(attendance, action: str, error: str) -> dict:
    """A row's refused action with what was typed (the reason, the points), so its form is drawn again open
    and filled in: a reason typed on a phone is not lost to one empty field."""
    return {"id": attendance.id, "action": action, "error": error,
            "reason": request.form.get("reason", "")[:200], "points": request.form.get("points", "")[:10]}


def _row_answer(session, attendance, failed=None):
    """htmx swaps the one row (and, out of band, the "confirm all" button with the count that waits now);
    without JavaScript the roster is shown again: after a refusal with the row's message and what was typed (422)."""
    if is_fragment_request():
        return render_template("duty/_attendance_answer.html", session=session, row=attendance, now=utcnow(),
                               failed=failed, reason_form=ReasonForm(), correct_form=CorrectPointsForm(),
                               waiting=duty.awaiting_confirmation(session)), 422 if failed else 200
    if failed:
        return _roster_page(session, 422, failed=failed)
    return redirect(url_for("duty.roster", session_id=session.id), 303)


def _row_action(session_id, attendance_id, form, action, name):
    session = duty.get_session(session_id)
    attendance = duty.get_attendance(session, attendance_id)
    if not form.validate_on_submit():
        return _row_answer(session, attendance, _failed_row(attendance, name, error_text(form)))
    errors = []
    commit_or_explain(lambda: action(attendance), errors)
    return _row_answer(session, attendance, _failed_row(attendance, name, " ".join(errors)) if errors else None)


@bp.route("/staff/duty/<id:session_id>/attendances/<id:attendance_id>/confirm", methods=["POST"])
@roles_required(*STAFF_ROLES)
def confirm(session_id, attendance_id):
    return _row_action(session_id, attendance_id, ConfirmForm(), lambda a: duty.confirm(current_user, a, utcnow()),
                       "confirm")


@bp.route("/staff/duty/<id:session_id>/attendances/<id:attendance_id>/reject", methods=["POST"])
@roles_required(*STAFF_ROLES)
def reject(session_id, attendance_id):
    form = ReasonForm()
    return _row_action(session_id, attendance_id, form,
                       lambda a: duty.reject(current_user, a, form.reason.data, utcnow()), "reject")


@bp.route("/staff/duty/<id:session_id>/attendances/<id:attendance_id>/correct", methods=["POST"])
@roles_required(*STAFF_ROLES)
def correct(session_id, attendance_id):
    form = CorrectPointsForm()
    return _row_action(session_id, attendance_id, form,
                       lambda a: duty.correct_points(current_user, a, form.points.data, form.reason.data, utcnow()),
                       "correct")


@bp.route("/staff/duty/<id:session_id>/confirm-all", methods=["POST"])
@roles_required(*STAFF_ROLES)
def confirm_all(session_id):
    """Awarding points to everyone waiting takes a confirmation: a page listing them (without JavaScript),
    or the browser's dialog (htmx sends ``confirmed``) — then one service call, and back to the roster."""
    session = duty.get_session(session_id)
    form = ConfirmForm()
    if form.validate_on_submit() and request.form.get("confirmed") != "1":
        return render_template("duty/confirm_all.html", session=session,
                               waiting=duty.awaiting_confirmation(session))
    if form.validate_on_submit():
        errors = []  # all or nothing: one refused award (a campaign pays once) stops the batch
        ok, count = commit_or_explain(lambda: duty.confirm_all_present(current_user, session, utcnow()), errors)
        for error in errors:
            flash(error, "error")
        if ok:
            flash(_("已确认 %(n)d 人的出勤，积分已发放。", n=count) if count else _("没有待确认的出勤。"), "success")
    roster_url = url_for("duty.roster", session_id=session.id)
    if is_fragment_request():
        return "", 204, {"HX-Redirect": roster_url}
    return redirect(roster_url, 303)


@bp.route("/staff/duty/<id:session_id>/mark-present", methods=["POST"])
@roles_required(*STAFF_ROLES)
def mark_present(session_id):
    session = duty.get_session(session_id)
    form = MarkPresentForm()
    volunteer_id = parse_id(form.volunteer_id.data)
    if not form.validate_on_submit() or volunteer_id is None:
        raise NotFound()
    volunteer = get_user(volunteer_id)
    errors = []
    ok, attendance = commit_or_explain(lambda: duty.mark_present(current_user, session, volunteer, utcnow()), errors)
    if not ok:
        return _roster_page(session, 422, " ".join(errors))
    flash(" ".join([_("已为 %(name)s 签到。", name=volunteer.name), *attendance.notes]), "success")
    return redirect(url_for("duty.roster", session_id=session.id), 303)
