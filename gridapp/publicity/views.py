"""积分公示 pages: staff publish a month and resolve objections; volunteers read the posting, object
to their own line and see the outcome; the A4 PDF for the noticeboard; the 光荣榜 opt-out."""

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.models import STAFF_ROLES
from ..auth.permissions import roles_required
from ..clock import local_today, to_local, utcnow
from ..errors import DomainError
from ..extensions import db
from ..formtools import commit_or_explain
from ..numbers import page_number
from ..org.service import letterhead_of
from ..pdf import fingerprint, pdf_response, render_pdf
from ..points.models import PointsEntry
from ..qr import qr_svg
from ..urls import public_url
from ..reporting.months import Month
from . import service as publicity
from .forms import AcceptForm, ObjectionForm, OptOutForm, PublishForm, RejectForm

bp = Blueprint("publicity", __name__)

READERS = ("volunteer",) + STAFF_ROLES
PER_PAGE = 100
PDF_TEMPLATE = "pdf/points_posting.html"


# --- staff -------------------------------------------------------------------------------------

@bp.route("/staff/publicity", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def staff_list():
    now = utcnow()
    form = PublishForm()
    if request.method == "GET":
        form.month.data = publicity.default_month(now).key
    if form.validate_on_submit():
        month = Month.parse(form.month.data)
        if month is None:
            form.month.errors.append(_("请选择月份。"))
        elif form.confirmed.data != "1":  # first the confirmation: a posting is public and cannot be withdrawn
            try:
                listed = publicity.preview(current_user, month, now, form.window_days.data)
            except DomainError as exc:
                form.month.errors.append(exc.message)
            else:
                return render_template("publicity/publish_confirm.html", form=form, month=month, listed=listed,
                                       closes_at=now + timedelta(days=form.window_days.data))
        else:
            ok, posting = commit_or_explain(lambda: publicity.publish(
                current_user, month, now, form.window_days.data, form.note.data), form.month.errors)
            if ok:
                flash(_("已发布%(month)s积分公示。", month=month.display()), "success")
                return redirect(url_for("publicity.staff_posting", posting_id=posting.id), 303)
    status = 422 if request.method == "POST" else 200
    form.confirmed.data = ""  # the form shown again asks again: a refused confirmed post must not skip the question
    return render_template("publicity/staff_list.html", form=form, postings=publicity.postings(), now=now), status


def _staff_page(posting, status=200, forms=None):
    now = utcnow()
    objections = publicity.objections(posting)
    forms = forms or {}
    unanswered = [o for o in objections if o.status == "open" and o.id not in forms]
    entries = publicity.correctable_entries_of(posting, unanswered)  # one query for all the forms
    for objection in unanswered:
        forms[objection.id] = _accept_form(objection, entries=entries[objection.id]), RejectForm(
            prefix=f"r{objection.id}")
    return render_template("publicity/staff_posting.html", posting=posting, now=now, objections=objections,
                           forms=forms, counts=publicity.outcome_counts(posting),
                           total=publicity.line_count(posting)), status


def _accept_form(objection, formdata=None, entries=None):
    form = AcceptForm(formdata=formdata, prefix=f"a{objection.id}")
    entries = publicity.correctable_entries(objection) if entries is None else entries
    form.entry_id.choices = [(e.id, f"{format_datetime(to_local(e.created_at), 'MM-dd', rebase=False)} {e.description}"
                                   f"（{e.delta}分）") for e in entries]
    return form


@bp.route("/staff/publicity/<int:posting_id>")
@roles_required(*STAFF_ROLES)
def staff_posting(posting_id):
    return _staff_page(publicity.get_posting(posting_id))


@bp.route("/staff/objections/<int:objection_id>/accept", methods=["POST"])
@roles_required(*STAFF_ROLES)
def accept(objection_id):
    objection = publicity.get_objection(objection_id)
    form = _accept_form(objection, request.form)
    if form.validate_on_submit():
        entry = db.session.get(PointsEntry, form.entry_id.data)
        ok, _done = commit_or_explain(lambda: publicity.accept(
            current_user, objection, entry, form.correct_points.data, form.note.data, utcnow()), form.note.errors)
        if ok:
            flash(_("已更正%(name)s的积分，并通知本人。", name=objection.volunteer.name), "success")
            return redirect(url_for("publicity.staff_posting", posting_id=objection.posting_id), 303)
    return _staff_page(objection.line.posting, 422,
                       {objection.id: (form, RejectForm(prefix=f"r{objection.id}"))})


@bp.route("/staff/objections/<int:objection_id>/reject", methods=["POST"])
@roles_required(*STAFF_ROLES)
def reject(objection_id):
    objection = publicity.get_objection(objection_id)
    form = RejectForm(prefix=f"r{objection.id}")
    if form.validate_on_submit():
        ok, _done = commit_or_explain(lambda: publicity.reject(current_user, objection, form.reason.data, utcnow()),
                                      form.reason.errors)
        if ok:
            flash(_("已答复%(name)s：不予采纳。", name=objection.volunteer.name), "success")
            return redirect(url_for("publicity.staff_posting", posting_id=objection.posting_id), 303)
    return _staff_page(objection.line.posting, 422, {objection.id: (_accept_form(objection), form)})


# --- volunteers (staff may read too) -------------------------------------------------------------

@bp.route("/gongshi")
@roles_required(*READERS)
def index():
    postings = publicity.postings()
    mine = publicity.my_objections(current_user) if current_user.role == "volunteer" else []
    return render_template("publicity/index.html", postings=postings, now=utcnow(), mine=mine)


def _posting_page(posting, status=200, form=None):
    now = utcnow()
    page = page_number()
    mine = publicity.line_of(posting, current_user) if current_user.role == "volunteer" else None
    return render_template(
        "publicity/posting.html", posting=posting, now=now, page=page, per_page=PER_PAGE,
        rows=publicity.lines(posting, page, PER_PAGE), total=publicity.line_count(posting), mine=mine,
        form=form or ObjectionForm(), counts=publicity.outcome_counts(posting),
        honour=publicity.honour_roll(publicity.month_of(posting)),
        opt_out=OptOutForm(opted_out=publicity.is_opted_out(current_user)) if current_user.role == "volunteer" else None,
        mask=publicity.mask_name, building_unit=publicity.building_unit), status


@bp.route("/gongshi/<int:posting_id>")
@roles_required(*READERS)
def posting(posting_id):
    return _posting_page(publicity.get_posting(posting_id))


@bp.route("/gongshi/<int:posting_id>/objection", methods=["POST"])
@roles_required("volunteer")
def object_to(posting_id):
    """Raise an objection on my own line of this posting."""
    posting = publicity.get_posting(posting_id)
    form = ObjectionForm()
    line = publicity.line_of(posting, current_user)
    if line is None:
        abort(404)
    if form.validate_on_submit():
        ok, _objection = commit_or_explain(lambda: publicity.raise_objection(current_user, line, form.reason.data,
                                                                             utcnow()), form.reason.errors)
        if ok:
            flash(_("异议已提交，网格员处理后会在这里答复您。"), "success")
            return redirect(url_for("publicity.posting", posting_id=posting.id, _anchor="mine"), 303)
    return _posting_page(posting, 422, form)


@bp.route("/gongshi/<int:posting_id>.pdf")
@roles_required(*READERS)
def posting_pdf(posting_id):
    """The posting on A4 for the noticeboard: masked names, 栋/单元, the figures, the window, a QR code
    to the page. Its ETag is a fingerprint of what it shows."""
    posting = publicity.get_posting(posting_id)
    rows = publicity.lines(posting, 1, 100_000)
    honour = publicity.honour_roll(publicity.month_of(posting))
    page_url = public_url("publicity.posting", posting_id=posting.id)  # on paper: the public address, not nginx's
    shown = [(publicity.mask_name(u.name), publicity.building_unit(h), line.earned, line.spent, line.balance)
             for line, u, h in rows]
    roll = [(publicity.mask_name(u.name), n) for u, n in honour]
    made_on = local_today()
    names = letterhead_of(posting)  # the posting's grid signs it
    shows = (posting.id, posting.opens_at, posting.closes_at, posting.note, shown, roll, page_url, made_on,
             names.community, names.organiser)
    etag = fingerprint(PDF_TEMPLATE, shows)
    context = dict(posting=posting, month=publicity.month_of(posting), rows=shown, honour=roll,
                   opens=posting.opens_at, closes=posting.closes_at, qr=qr_svg(page_url, scale=3),
                   page_url=page_url, organisation=names.community, branch=names.organiser, made_on=made_on)
    return pdf_response(etag, lambda: render_pdf(PDF_TEMPLATE, **context),
                        f"points-posting-{posting.month:%Y-%m}.pdf")


@bp.route("/me/honour-roll", methods=["POST"])
@roles_required("volunteer")
def honour_roll_choice():
    form = OptOutForm()
    if form.validate_on_submit():
        ok, opted_out = commit_or_explain(lambda: publicity.set_opt_out(current_user, form.opted_out.data), [])
        if ok:
            flash(_("好的，光荣榜上不再显示您的名字。") if opted_out else _("好的，您的名字会出现在光荣榜上。"), "success")
    return redirect(request.form.get("back") if (request.form.get("back") or "").startswith("/gongshi/")
                    else url_for("publicity.index"), 303)
