"""Staff and admin account management: approve residents, register volunteers at the table, create accounts."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..community.service import active_teams
from ..formtools import commit_or_explain, error_text
from ..htmx import is_fragment_request
from ..numbers import page_number
from . import service
from .forms import AccountForm, ConfirmForm, ReviewForm, VolunteerForm
from .models import STAFF_ROLES, User
from .permissions import roles_required

bp = Blueprint("accounts", __name__)
PAGE_SIZE = 30


@bp.route("/staff/volunteers")
@roles_required(*STAFF_ROLES)
def volunteers():
    query = request.args.get("q", "").strip()[:40]
    page = page_number()
    pagination = service.roster(query).paginate(page=page, per_page=PAGE_SIZE, error_out=False)
    return render_template("accounts/volunteers.html", pagination=pagination, query=query,
                           pending_count=User.query.filter_by(status="pending").count(),
                           end_sessions_form=ConfirmForm())


@bp.route("/staff/volunteers/<id:user_id>/sessions/end", methods=["POST"])
@roles_required(*STAFF_ROLES)
def end_sessions(user_id):
    """Staff log a volunteer out on every device (a lost or shared phone)."""
    user = service.get_user(user_id)
    errors = []
    if ConfirmForm().validate_on_submit():
        ok, count = commit_or_explain(lambda: service.end_sessions_by_staff(current_user, user), errors)
        if ok:
            flash(_("已让 %(name)s 在 %(n)d 台设备上退出登录。", name=user.name, n=count), "success")
    for error in errors:
        flash(error, "error")
    return redirect(url_for("accounts.volunteers"), 303)


@bp.route("/staff/volunteers/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def new_volunteer():
    form = VolunteerForm()
    form.set_team_choices(active_teams())
    if form.validate_on_submit():
        ok, user = commit_or_explain(lambda: service.register_at_table(current_user, **form.details()),
                                     form.phone.errors)
        if ok:
            flash(_("已登记志愿者 %(name)s，可用手机号 %(phone)s 登录。", name=user.name, phone=user.phone), "success")
            return redirect(url_for("accounts.new_volunteer"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/new_volunteer.html", form=form), status


@bp.route("/staff/registrations")
@roles_required(*STAFF_ROLES)
def registrations():
    return render_template("accounts/registrations.html", pending=service.pending_registrations(),
                           form=ReviewForm())


def _review(user_id: int, approve: bool):
    """Approve or reject; htmx swaps the row in place, without JS the list is shown again with a message."""
    user = service.get_user(user_id)
    form = ReviewForm()
    error = None
    if not form.validate_on_submit():
        error = error_text(form)
    else:
        errors = []
        commit_or_explain(lambda: service.approve_registration(current_user, user) if approve
                          else service.reject_registration(current_user, user, form.reason.data), errors)
        error = " ".join(errors) or None
    if is_fragment_request():
        return render_template("accounts/_registration.html", user=user, error=error, form=ReviewForm()), (
            422 if error else 200)
    if error:
        flash(error, "error")
    else:
        flash(_("已通过 %(name)s 的注册。", name=user.name) if approve
              else _("已退回 %(name)s 的注册。", name=user.name), "success")
    return redirect(url_for("accounts.registrations"), 303)


@bp.route("/staff/registrations/<id:user_id>/approve", methods=["POST"])
@roles_required(*STAFF_ROLES)
def approve(user_id):
    return _review(user_id, approve=True)


@bp.route("/staff/registrations/<id:user_id>/reject", methods=["POST"])
@roles_required(*STAFF_ROLES)
def reject(user_id):
    return _review(user_id, approve=False)


@bp.route("/admin/accounts")
@roles_required("admin")
def accounts():
    users = (User.query.filter(User.role.in_(("staff", "admin", "sponsor", "viewer")))
             .options(joinedload(User.sponsor))  # each sponsor account shows its sponsor
             .order_by(User.role, User.name).all())
    return render_template("accounts/accounts.html", users=users)


@bp.route("/admin/accounts/new", methods=["GET", "POST"])
@roles_required("admin")
def new_account():
    form = AccountForm()
    form.set_sponsor_choices(service.sponsors())
    if form.validate_on_submit():
        sponsor = service.sponsor_by_id(form.sponsor.data) if form.sponsor.data else None
        ok, user = commit_or_explain(lambda: service.create_account(
            current_user, role=form.role.data, name=form.name.data, phone=form.phone.data,
            password=form.password.data, sponsor=sponsor), form.form_errors)
        if ok:
            flash(_("已创建%(role)s账号：%(name)s（%(phone)s）。", role=user.role_label, name=user.name,
                    phone=user.phone), "success")
            return redirect(url_for("accounts.accounts"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/new_account.html", form=form), status
