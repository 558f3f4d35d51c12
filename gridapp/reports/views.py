"""Report pages: the phone form, my reports, a report's page (with the staff's actions), the staff
queue and settings, photos behind an access check, and the public echo wall (回音壁)."""
from datetime import timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth.models import STAFF_ROLES
from ..auth.permissions import public, roles_required
from ..auth.service import get_user
from ..clock import local_today, utcnow
from ..community.models import Household
from ..errors import DomainError
from ..extensions import db
from ..formtools import commit_or_explain
from ..numbers import page_number
from ..once import new_token, run_once
from ..web import too_large_page
from . import photos
from . import service as reports
from .forms import AcceptForm, DeclineForm, NoteForm, PartnerForm, PointsForm, ReportForm, SolveForm, WallForm
from .models import CATEGORIES
from .oversize import leading_text_fields

bp = Blueprint("reports", __name__)

REPORTERS = reports.REPORTERS
PRIVATE_PHOTO_CACHE = "private, max-age=3600"
PUBLIC_PHOTO_CACHE = "public, max-age=600"


def _uploaded(name: str) -> list[bytes]:
    """The bytes of each file chosen in the inputs called ``name``; an input left empty sends nothing."""
    files = []
    for storage in request.files.getlist(name):
        data = storage.read()
        if data or storage.filename:
            files.append(data)
    return files


def _buildings() -> list[str]:
    values = db.session.scalars(select(Household.building).distinct())
    return sorted(values, key=lambda b: (len(b), b))


# --- reporting -------------------------------------------------------------------------------

def _report_form_page(form, status=200, error=None, photo_error=None):
    patrol = reports.current_patrol(current_user, utcnow())
    return render_template("reports/new.html", form=form, patrol=patrol, error=error, photo_error=photo_error,
                           max_photos=photos.MAX_PHOTOS), status


@bp.route("/reports/new", methods=["GET", "POST"])
@roles_required(*REPORTERS)
def new():
    """隐患上报 · 微心愿: a plain multipart form; the one-time token makes a double tap one report."""
    form = ReportForm()
    form.set_choices(_buildings())
    if request.method == "GET":
        form.token.data = new_token()
        if request.args.get("category") in CATEGORIES:
            form.category.data = request.args["category"]
        return _report_form_page(form)
    if not form.validate_on_submit():
        return _report_form_page(form, 422)
    patrol = reports.current_patrol(current_user, utcnow()) if form.from_patrol.data else None

    def do():
        report = reports.submit(
            current_user, category=form.category.data, description=form.description.data,
            building=form.building.data, unit=form.unit.data, place=form.place.data,
            photos=_uploaded("photos"), wall_consent=form.wall_consent.data, attendance=patrol, now=utcnow())
        flash(_("已提交，网格员会尽快处理。您可以在“我的上报”里看到进展。"), "success")
        return url_for("reports.detail", report_id=report.id)

    try:
        return redirect(run_once(form.token.data, current_user, do), 303)
    except photos.BadPhoto as exc:
        return _report_form_page(form, 422, photo_error=exc.message)
    except DomainError as exc:
        return _report_form_page(form, exc.status if exc.status != 403 else 422, error=exc.message)


@too_large_page("reports.new")
def new_too_large():
    """Over the upload limit: the form again with the text typed, asking for smaller or fewer photos."""
    form = ReportForm(formdata=leading_text_fields(), meta={"csrf": False})
    form.set_choices(_buildings())
    form.token.data = form.token.data or new_token()
    return _report_form_page(form, 413, photo_error=_too_large_text())


def _too_large_text() -> str:
    return _("照片太大：一次上传合计不能超过 %(mb)d MB。文字已保留，请重新选择较小或较少的照片。",
             mb=photos.max_upload_mb())


@bp.route("/reports/mine")
@roles_required(*REPORTERS)
def mine():
    page = page_number()
    return render_template("reports/mine.html", pagination=reports.my_reports(current_user, page))


# --- a report's page -------------------------------------------------------------------------

def _detail_page(report, status=200, error=None, forms=None):
    is_staff = current_user.role in STAFF_ROLES
    context = dict(report=report, error=error, is_staff=is_staff, today=local_today(),
                   overdue=reports.is_overdue(report, local_today()))
    if is_staff:
        accept = AcceptForm(formdata=None) if not forms or "accept" not in forms else forms["accept"]
        accept.set_choices(reports.staff_members(), reports.partners())
        if accept.due_on.data is None:
            accept.due_on.data = local_today() + timedelta(days=3)
        context.update(
            accept_form=accept, note_form=(forms or {}).get("note") or NoteForm(formdata=None),
            solve_form=(forms or {}).get("solve") or SolveForm(formdata=None),
            decline_form=(forms or {}).get("decline") or DeclineForm(formdata=None),
            wall_form=WallForm(formdata=None), max_photos=photos.MAX_PHOTOS,
            points=reports.hazard_points().get(report.category))
    return render_template("reports/detail.html", **context), status


@bp.route("/reports/<int:report_id>")
@roles_required(*REPORTERS)
def detail(report_id):
    """The report, its photos and timeline: for its reporter and staff only (others: 404)."""
    return _detail_page(reports.visible_report(current_user, report_id))


def _staff_action(report_id, name, form, action):
    """Validate ``form``, run ``action()`` and commit; the page again (422) with the reason otherwise."""
    report = reports.get_report(report_id)
    if not form.validate_on_submit():
        return _detail_page(report, 422, forms={name: form})
    errors = []
    ok, _result = commit_or_explain(action, errors)
    if not ok:
        return _detail_page(reports.get_report(report_id), 422, error=" ".join(errors), forms={name: form})
    return redirect(url_for("reports.detail", report_id=report_id), 303)


@bp.route("/staff/reports/<int:report_id>/accept", methods=["POST"])
@roles_required(*STAFF_ROLES)
def accept(report_id):
    form = AcceptForm()
    form.set_choices(reports.staff_members(), reports.partners())
    return _staff_action(report_id, "accept", form, lambda: reports.accept(
        current_user, reports.get_report(report_id),
        assignee=get_user(form.assignee.data) if form.assignee.data else None,
        partner=reports.get_partner(form.partner.data), due_on=form.due_on.data, note=form.note.data,
        today=local_today(), now=utcnow()))


@bp.route("/staff/reports/<int:report_id>/start", methods=["POST"])
@roles_required(*STAFF_ROLES)
def start(report_id):
    form = NoteForm()
    return _staff_action(report_id, "note", form, lambda: reports.start(
        current_user, reports.get_report(report_id), form.note.data, utcnow()))


@bp.route("/staff/reports/<int:report_id>/solve", methods=["POST"])
@roles_required(*STAFF_ROLES)
def solve(report_id):
    form = SolveForm()
    report = reports.get_report(report_id)
    if not form.validate_on_submit():
        return _detail_page(report, 422, forms={"solve": form})
    errors = []
    ok, _result = commit_or_explain(lambda: reports.solve(
        current_user, report, resolution=form.resolution.data, photos=_uploaded("photos"),
        on_wall=form.on_wall.data, now=utcnow()), errors)
    if not ok:
        return _detail_page(reports.get_report(report_id), 422, error=" ".join(errors), forms={"solve": form})
    return redirect(url_for("reports.detail", report_id=report_id), 303)


@too_large_page("reports.solve")
def solve_too_large():
    form = SolveForm(formdata=leading_text_fields(), meta={"csrf": False})
    report = reports.get_report(request.view_args["report_id"])
    return _detail_page(report, 413, error=_too_large_text(), forms={"solve": form})


@bp.route("/staff/reports/<int:report_id>/decline", methods=["POST"])
@roles_required(*STAFF_ROLES)
def decline(report_id):
    form = DeclineForm()
    return _staff_action(report_id, "decline", form, lambda: reports.decline(
        current_user, reports.get_report(report_id), form.reason.data, utcnow()))


@bp.route("/staff/reports/<int:report_id>/wall", methods=["POST"])
@roles_required(*STAFF_ROLES)
def wall_choice(report_id):
    form = WallForm()
    return _staff_action(report_id, "wall", form, lambda: reports.set_on_wall(
        current_user, reports.get_report(report_id), form.show.data == "1"))


# --- the staff's queue and settings ------------------------------------------------------------

@bp.route("/staff/reports")
@roles_required(*STAFF_ROLES)
def queue():
    which = request.args.get("status", "new")
    if which not in reports.QUEUE_FILTERS:
        abort(404)
    today = local_today()
    page = page_number()
    return render_template("reports/queue.html", which=which, today=today, counts=reports.queue_counts(today),
                           pagination=reports.queue(which, today, page), is_overdue=reports.is_overdue)


def _settings_page(status=200, partner_form=None, error=None):
    return render_template("reports/settings.html", partners=reports.partners(active_only=False),
                           partner_form=partner_form or PartnerForm(formdata=None), points=reports.hazard_points(),
                           points_form=PointsForm(formdata=None), categories=CATEGORIES, error=error,
                           toggle_form=WallForm(formdata=None)), status


@bp.route("/staff/reports/settings")
@roles_required(*STAFF_ROLES)
def settings():
    return _settings_page()


@bp.route("/staff/reports/partners", methods=["POST"])
@roles_required(*STAFF_ROLES)
def add_partner():
    form = PartnerForm()
    if form.validate_on_submit():
        ok, partner = commit_or_explain(lambda: reports.add_partner(
            current_user, name=form.name.data, kind=form.kind.data, contact_name=form.contact_name.data,
            phone=form.phone.data), form.name.errors)
        if ok:
            flash(_("已添加合作单位：%(name)s。", name=partner.name), "success")
            return redirect(url_for("reports.settings"), 303)
    return _settings_page(422, partner_form=form)


@bp.route("/staff/reports/partners/<int:partner_id>/active", methods=["POST"])
@roles_required(*STAFF_ROLES)
def partner_active(partner_id):
    form = WallForm()
    if not form.validate_on_submit():
        return _settings_page(422, error=_("请求无效，请刷新页面后重试。"))
    errors = []
    ok, _partner = commit_or_explain(lambda: reports.set_partner_active(
        current_user, reports.get_partner(partner_id), form.show.data == "1"), errors)
    return redirect(url_for("reports.settings"), 303) if ok else _settings_page(422, error=" ".join(errors))


@bp.route("/staff/reports/points", methods=["POST"])
@roles_required(*STAFF_ROLES)
def set_points():
    form = PointsForm()
    if not form.validate_on_submit():
        return _settings_page(422, error=" ".join(str(m) for ms in form.errors.values() for m in ms))
    errors = []
    ok, _none = commit_or_explain(lambda: reports.set_hazard_points(
        current_user, form.category.data, form.points.data, utcnow()), errors)
    if not ok:
        return _settings_page(422, error=" ".join(errors))
    flash(_("已保存：%(category)s %(n)d 分。", category=CATEGORIES[form.category.data][1], n=form.points.data),
          "success")
    return redirect(url_for("reports.settings"), 303)


# --- photos ----------------------------------------------------------------------------------

@bp.route("/photos/<key>/<any(full, thumb):size>.jpg")
@public
def photo(key, size):
    """A report's photo: for its reporter and staff, and for everyone once on the echo wall (else 404)."""
    if not photos.KEY_PATTERN.match(key):
        abort(404)
    viewer = current_user if current_user.is_authenticated else None
    _photo, for_everyone = reports.photo_for(viewer, key)
    etag = f"{key}-{size}"
    cache = PUBLIC_PHOTO_CACHE if for_everyone else PRIVATE_PHOTO_CACHE
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        data = photos.store().read(key + photos.SUFFIXES[size])
        if data is None:
            abort(404)
        response = Response(data, mimetype="image/jpeg")
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache
    if not for_everyone:
        response.vary.add("Cookie")
    return response


# --- the echo wall ---------------------------------------------------------------------------

@bp.route("/huiyin")
@public
def wall():
    """回音壁: solved problems, what was done, before and after, how long it took. Nobody is named."""
    page = page_number()
    return render_template("reports/wall.html", pagination=reports.wall(page), months=reports.wall_months(utcnow()),
                           hours_taken=reports.hours_taken)
