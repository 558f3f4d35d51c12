"""The volunteer's page for staff (/staff/volunteers/<id>): one place to answer "who is this, what have they
done, what have they spent" and to fix their account. Thin: each action is one service call."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import service as accounts
from ..auth.forms import ConfirmForm, VolunteerDetailsForm
from ..auth.models import STAFF_ROLES
from ..auth.permissions import roles_required
from ..clock import utcnow
from ..community.service import active_teams
from ..counter import service as counter
from ..duty import service as duty
from ..errors import NotFound
from ..formtools import commit_or_explain
from ..numbers import page_number
from ..points import service as points

bp = Blueprint("volunteer_admin", __name__)
TABS = ("points", "attendance", "redemptions")
PAGE_SIZE = 15


def _volunteer(user_id: int):
    user = accounts.get_user(user_id)
    if user.role != "volunteer":
        raise NotFound()
    return user


@bp.route("/staff/volunteers/<int:user_id>")
@roles_required(*STAFF_ROLES)
def detail(user_id):
    user = _volunteer(user_id)
    tab = request.args.get("tab", "points")
    tab = tab if tab in TABS else "points"
    page = page_number()
    pagination = {"points": points.history, "attendance": duty.attendance_history,
                  "redemptions": counter.redemptions_of}[tab](user, page=page, per_page=PAGE_SIZE)
    return render_template("volunteers/detail.html", user=user, tab=tab, pagination=pagination,
                           resets=accounts.password_resets(user), form=ConfirmForm())


@bp.route("/staff/volunteers/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def edit(user_id):
    user = _volunteer(user_id)
    form = VolunteerDetailsForm()
    form.set_team_choices(active_teams(), user.team)
    if request.method == "GET":
        form.fill_from(user)
    if form.validate_on_submit():
        ok, _user = commit_or_explain(lambda: accounts.update_volunteer(current_user, user, **form.details()),
                                      form.phone.errors)
        if ok:
            flash(_("已保存 %(name)s 的资料。", name=user.name), "success")
            return redirect(url_for("volunteer_admin.detail", user_id=user.id), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("volunteers/edit.html", user=user, form=form), status


@bp.route("/staff/volunteers/<int:user_id>/<any('deactivate', 'reactivate'):action>", methods=["POST"])
@roles_required(*STAFF_ROLES)
def set_status(user_id, action):
    user = _volunteer(user_id)
    form = ConfirmForm()
    errors = []
    if form.validate_on_submit() and commit_or_explain(
            lambda: accounts.set_volunteer_active(current_user, user, action == "reactivate"), errors)[0]:
        flash(_("已启用 %(name)s 的账号。", name=user.name) if action == "reactivate"
              else _("已停用 %(name)s 的账号，其所有登录已失效。", name=user.name), "success")
    else:
        flash(" ".join(map(str, errors)) or _("页面已过期，请重试。"), "error")
    return redirect(url_for("volunteer_admin.detail", user_id=user.id), 303)


@bp.route("/staff/volunteers/<int:user_id>/reset-password", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def reset_password(user_id):
    """GET asks to confirm; POST resets and shows the temporary password once (it is never stored)."""
    user = _volunteer(user_id)
    form = ConfirmForm()
    temporary, errors = None, []
    if form.validate_on_submit():
        ok, temporary = commit_or_explain(lambda: accounts.reset_password(current_user, user, utcnow()), errors)
    status = 422 if request.method == "POST" and not temporary else 200
    return render_template("volunteers/reset_password.html", user=user, form=form, temporary=temporary,
                           errors=errors), status
