"""The organisation tree pages for admins (/admin/org): the tree, add a unit beneath, edit, reorder,
delete (after a confirmation page). Which units an admin may touch is the service's rule.

Also the names every template may print (``page_names``): ``grid`` (the grid the page speaks for,
``org.current_grid()``), ``names`` (its letterhead: community, grid, organiser, counter place …) and
``letterhead_of(record)`` for a document about one record (a receipt, a poster, a stocktake sheet).
"""
from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.local import LocalProxy

from ..auth.permissions import roles_required
from ..formtools import commit_or_explain
from . import service as org
from .forms import AddUnitForm, ConfirmDeleteForm, EditUnitForm, MoveForm

bp = Blueprint("org", __name__)

ADMIN = ("admin",)


def page_grid():
    """The grid the current request's pages speak for (``org.current_grid``, read once per request)."""
    return org.current_grid()


def page_letterhead() -> org.Letterhead:
    """The letterhead of ``page_grid()``, made once per request."""
    if "page_letterhead" not in g:
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
