"""The request's grid scope (set once per request, after login), the working-grid switcher, and the
admin page that assigns staff to grids and admins to communities."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth.models import STAFF_ROLES, User
from ..auth.permissions import roles_required
from ..errors import NotFound
from ..extensions import db
from ..formtools import commit_or_explain
from . import service
from .forms import AssignmentForm, WorkingGridForm
from .models import OrgUnit
from .scope import clear_scope, current_scope, set_scope

bp = Blueprint("org", __name__)


def start_scope():
    """Before every request (not static files): the scope of who is asking (org.service.scope_for)."""
    if request.endpoint in (None, "static"):
        return
    login = getattr(current_user, "login_session", None)
    set_scope(service.scope_for(current_user, wanted_grid_id=getattr(login, "grid_id", None),
                                wanted_code=request.args.get("grid", type=str)))


def register_scope(app):
    app.before_request(start_scope)
    app.teardown_request(clear_scope)

    @app.context_processor
    def grid_switcher():
        def working_grids():
            """The grids staff or an admin may switch between (only when there are several)."""
            scope = current_scope()
            if scope is None or len(scope.choices) < 2 or current_user.role not in STAFF_ROLES:
                return []
            return list(db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(scope.choices))
                                           .order_by(OrgUnit.position, OrgUnit.id)))

        return {"working_grids": working_grids, "working_grid_form": WorkingGridForm,
                "current_grid": service.current_grid}


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
    ok, grid = commit_or_explain(lambda: service.set_working_grid(current_user.login_session, current_user,
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
    for assignment in service.assignments():
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
        ok, _result = commit_or_explain(lambda: service.assign(current_user, user, unit), errors)
    else:
        ok, _result = commit_or_explain(lambda: service.unassign(current_user, form.user_id.data,
                                                                 form.unit_id.data), errors)
    if not ok:
        return _assignment_page(422, errors)
    flash(_("已保存。"), "success")
    return redirect(url_for("org.assignments"), 303)
