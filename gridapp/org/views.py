"""The request's grid scope (set once per request, after login), the working-grid switcher, the admin
page that assigns staff to grids and admins to communities, and the organisation tree pages for admins (/admin/org): the tree, add a unit beneath, edit, reorder,
delete (after a confirmation page). Which units an admin may touch is the service's rule.

Also the names every template may print (``page_names``): ``grid`` (the grid the page speaks for,
``org.current_grid()``), ``names`` (its letterhead: community, grid, organiser, counter place …) and
``letterhead_of(record)`` for a document about one record (a receipt, a poster, a stocktake sheet).
"""
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.local import LocalProxy

from ..auth.models import STAFF_ROLES, User
from ..auth.permissions import roles_required
from ..errors import NotFound
from ..extensions import db
from ..formtools import commit_or_explain
from . import service as org
from .forms import (
    AddUnitForm,
    AssignmentForm,
    ConfirmDeleteForm,
    EditUnitForm,
    MoveForm,
    WorkingGridForm,
)
from .models import OrgUnit
from .scope import clear_scope, set_scope

bp = Blueprint("org", __name__)

ADMIN = ("admin",)


def start_scope():
    """Before every request (not static files): the scope of who is asking (org.org.scope_for)."""
    if request.endpoint in (None, "static"):
        return
    login = getattr(current_user, "login_session", None)
    set_scope(org.scope_for(current_user, wanted_grid_id=getattr(login, "grid_id", None),
                                wanted_code=request.args.get("grid", type=str)))


def register_scope(app):
    app.before_request(start_scope)
    app.teardown_request(clear_scope)

    @app.context_processor
    def grid_switcher():
        def working_grids():
            """The grids staff or an admin may switch between (only when there are several)."""
            return org.switchable_grids() if current_user.role in STAFF_ROLES else []

        return {"working_grids": working_grids, "working_grid_form": WorkingGridForm}


def _safe_next(target: str | None) -> str:
    parts = urlsplit(target or "")
    if target and not parts.scheme and not parts.netloc and target.startswith("/"):
        return target
    return url_for("home.index")


@bp.route("/grid/working", methods=["POST"])
@roles_required(*STAFF_ROLES)
def working_grid():
    """Staff or an admin switch the grid they work in (kept on this login)."""
    form = WorkingGridForm()
    if not form.validate_on_submit():
        flash(_("请选择网格。"), "error")
        return redirect(_safe_next(form.next.data), 303)
    ok, grid = commit_or_explain(lambda: org.set_working_grid(current_user.login_session, current_user,
                                                                  form.grid_id.data), [])
    if ok:
        flash(_("现在的工作网格：%(name)s", name=grid.name), "success")
    else:
        flash(_("找不到这个网格。"), "error")
    return redirect(_safe_next(form.next.data), 303)


def _assignment_page(status=200, errors=()):
    people = list(db.session.scalars(select(User).where(User.role.in_((*STAFF_ROLES, "viewer")))
                                     .order_by(User.role, User.name)))
    units = list(db.session.scalars(select(OrgUnit).order_by(OrgUnit.parent_id.is_not(None), OrgUnit.parent_id,
                                                             OrgUnit.position, OrgUnit.id)))
    by_user: dict[int, list] = {}
    for assignment in org.assignments():
        by_user.setdefault(assignment.user_id, []).append(assignment.unit)
    return render_template("org/assignments.html", people=people, units=units, by_user=by_user,
                           form=AssignmentForm(), errors=errors), status


@bp.route("/admin/assignments")
@roles_required("admin")
def assignments():
    return _assignment_page()


@bp.route("/admin/assignments/<any('add', 'remove'):action>", methods=["POST"])
@roles_required("admin")
def change_assignment(action):
    """Assign an account to a unit, or end an assignment."""
    form = AssignmentForm()
    if not form.validate_on_submit():
        return _assignment_page(422, [_("请选择账号和单位。")])
    errors: list = []
    if action == "add":
        user, unit = db.session.get(User, form.user_id.data), db.session.get(OrgUnit, form.unit_id.data)
        if user is None or unit is None:
            raise NotFound()
        ok, _result = commit_or_explain(lambda: org.assign(current_user, user, unit), errors)
    else:
        ok, _result = commit_or_explain(lambda: org.unassign(current_user, form.user_id.data,
                                                                 form.unit_id.data), errors)
    if not ok:
        return _assignment_page(422, errors)
    flash(_("已保存。"), "success")
    return redirect(url_for("org.assignments"), 303)


def page_grid():
    """The grid the current request's pages speak for (``org.current_grid``, read once per request)."""
    return org.current_grid()


def page_letterhead() -> org.Letterhead:
    """The letterhead of ``page_grid()``, made once per request; a division viewer's pages are headed by
    the unit they look at from above (第十二师), not by some grid they have no part in."""
    if "page_letterhead" not in g:
        if current_user.is_authenticated and current_user.role == "viewer":
            units = org.assigned_units(current_user)
            g.page_letterhead = org.Letterhead(community=units[0].name if units else "")
        else:
            g.page_letterhead = org.letterhead(page_grid())
    return g.page_letterhead


@bp.app_context_processor
def page_names():
    # Lazy: a fragment that prints no name sends no query for it.
    return {"grid": LocalProxy(page_grid), "names": LocalProxy(page_letterhead), "letterhead_of": org.letterhead_of}


@bp.route("/admin/org")
@roles_required(*ADMIN)
def tree():
    return render_template("org/tree.html", roots=org.tree_for(current_user), move_form=MoveForm(formdata=None))


@bp.route("/admin/org/<int:unit_id>/new", methods=["GET", "POST"])
@roles_required(*ADMIN)
def add(unit_id):
    parent = org.parent_to_add_beneath(current_user, unit_id)
    form = AddUnitForm()
    status = 200
    if form.validate_on_submit():
        errors = []
        ok, unit = commit_or_explain(lambda: org.add_unit(
            current_user, parent, level_name=form.level_name.data, name=form.name.data, code=form.code.data,
            is_grid=form.is_grid.data), errors)
        if ok:
            flash(_("已添加：%(name)s。", name=unit.name), "success")
            return redirect(url_for("org.tree"), 303)
        form.form_errors.extend(errors)
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template("org/new.html", parent=parent, form=form), status


@bp.route("/admin/org/<int:unit_id>/edit", methods=["GET", "POST"])
@roles_required(*ADMIN)
def edit(unit_id):
    unit = org.unit_to_manage(current_user, unit_id)
    form = EditUnitForm(obj=unit)
    status = 200
    if form.validate_on_submit():
        ok, _unit = commit_or_explain(lambda: org.update_unit(
            current_user, unit, name=form.name.data, organiser=form.organiser.data,
            counter_place=form.counter_place.data, counter_hours=form.counter_hours.data,
            contact=form.contact.data, points_anywhere=form.points_anywhere.data), form.name.errors)
        if ok:
            flash(_("已保存：%(name)s。", name=unit.name), "success")
            return redirect(url_for("org.tree"), 303)
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template("org/edit.html", unit=unit, form=form), status


@bp.route("/admin/org/<int:unit_id>/move", methods=["POST"])
@roles_required(*ADMIN)
def move(unit_id):
    unit = org.unit_to_manage(current_user, unit_id)
    form = MoveForm()
    if form.validate_on_submit():
        commit_or_explain(lambda: org.move_unit(current_user, unit, -1 if form.step.data == "up" else 1))
    return redirect(url_for("org.tree", _anchor=f"unit-{unit_id}"), 303)


@bp.route("/admin/org/<int:unit_id>/delete", methods=["GET", "POST"])
@roles_required(*ADMIN)
def delete(unit_id):
    unit = org.unit_to_manage(current_user, unit_id)
    form = ConfirmDeleteForm()
    errors = []
    if form.validate_on_submit():
        ok, name = commit_or_explain(lambda: org.delete_unit(current_user, unit), errors)
        if ok:
            flash(_("已删除：%(name)s。", name=name), "success")
            return redirect(url_for("org.tree"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("org/delete.html", unit=unit, form=form, errors=errors), status
