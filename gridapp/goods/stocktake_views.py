"""Staff pages for the stocktake (盘点): start, print the sheet, enter counts, review, confirm, history."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.models import STAFF_ROLES
from ..auth.forms import ConfirmForm
from ..auth.permissions import roles_required
from ..clock import local_today, utcnow
from ..errors import DomainError
from ..formtools import commit_or_explain
from ..numbers import page_number
from . import stocktake as stocktakes
from .stocktake_forms import CountsForm

bp = Blueprint("stocktake", __name__)


def _list_page(status=200, error=None):
    pagination = stocktakes.history(page_number())
    return render_template("goods/stocktakes.html", pagination=pagination, form=ConfirmForm(), error=error,
                           differences=stocktakes.difference_counts(pagination.items),
                           current=stocktakes.counting()), status


@bp.route("/staff/stocktakes")
@roles_required(*STAFF_ROLES)
def stocktake_list():
    return _list_page()


@bp.route("/staff/stocktakes/new", methods=["POST"])
@roles_required(*STAFF_ROLES)
def start():
    if not ConfirmForm().validate_on_submit():
        return _list_page(422, _("请求无效，请刷新页面后重试。"))
    errors = []
    ok, started = commit_or_explain(lambda: stocktakes.start(current_user, utcnow()), errors)
    if not ok:
        return _list_page(422, " ".join(errors))
    flash(_("已开始盘点，共 %(n)d 项物品。可以先打印盘点表。", n=len(started.lines)), "success")
    return redirect(url_for("stocktake.stocktake", stocktake_id=started.id), 303)


def _page(stocktake, *, mode, status=200, error=None, form=None):
    """The one stocktake page: ``count`` (the form), ``review`` (before confirming) or ``history`` (read-only)."""
    if stocktake.status == "confirmed":
        mode = "history"
    return render_template("goods/stocktake.html", stocktake=stocktake, mode=mode, error=error,
                           review=stocktakes.review(stocktake), form=form or CountsForm(),
                           confirm_form=ConfirmForm()), status


@bp.route("/staff/stocktakes/<id:stocktake_id>")
@roles_required(*STAFF_ROLES)
def stocktake(stocktake_id):
    return _page(stocktakes.get_stocktake(stocktake_id), mode="count")


@bp.route("/staff/stocktakes/<id:stocktake_id>/sheet")
@roles_required(*STAFF_ROLES)
def sheet(stocktake_id):
    """The printable count sheet: item, unit, expected, an empty box for the count, signatures."""
    stocktake = stocktakes.get_stocktake(stocktake_id)
    return render_template("goods/stocktake_sheet.html", stocktake=stocktake, lines=stocktakes.lines_of(stocktake))


@bp.route("/staff/stocktakes/<id:stocktake_id>/counts", methods=["POST"])
@roles_required(*STAFF_ROLES)
def save_counts(stocktake_id):
    """Save the counts as a draft; “保存并核对” goes on to the review page."""
    stocktake = stocktakes.get_stocktake(stocktake_id)
    form = CountsForm()
    try:
        stocktakes.check_open(stocktake)
    except DomainError as exc:
        return _page(stocktake, mode="history", status=422, error=exc.message)
    if not form.validate_on_submit():
        return _page(stocktake, mode="count", status=422, error=_("请求无效，请刷新页面后重试。"))
    if not form.read_lines(stocktakes.lines_of(stocktake), request.form):
        return _page(stocktake, mode="count", status=422, form=form,
                     error=_("有 %(n)d 行填写有误，没有保存。请改正标出的行。", n=len(form.errors_by_line)))
    errors = []
    ok, counted = commit_or_explain(lambda: stocktakes.save_counts(current_user, stocktake, form.counts, form.reasons),
                                    errors)
    if not ok:
        return _page(stocktake, mode="count", status=422, form=form, error=" ".join(errors))
    if request.form.get("next") == "review":
        return redirect(url_for("stocktake.review", stocktake_id=stocktake.id), 303)
    flash(_("已保存草稿：%(counted)d / %(total)d 项已盘点。", counted=counted, total=len(stocktake.lines)), "success")
    return redirect(url_for("stocktake.stocktake", stocktake_id=stocktake.id), 303)


@bp.route("/staff/stocktakes/<id:stocktake_id>/review")
@roles_required(*STAFF_ROLES)
def review(stocktake_id):
    """The confirmation step: differences highlighted, missing counts and reasons listed, one button."""
    return _page(stocktakes.get_stocktake(stocktake_id), mode="review")


@bp.route("/staff/stocktakes/<id:stocktake_id>/confirm", methods=["POST"])
@roles_required(*STAFF_ROLES)
def confirm(stocktake_id):
    stocktake = stocktakes.get_stocktake(stocktake_id)
    if not ConfirmForm().validate_on_submit():
        return _page(stocktake, mode="review", status=422, error=_("请求无效，请刷新页面后重试。"))
    errors = []
    ok, confirmed_now = commit_or_explain(lambda: stocktakes.confirm(current_user, stocktake, on=local_today(),
                                                                     now=utcnow()), errors)
    if not ok:
        return _page(stocktake, mode="review", status=422, error=" ".join(errors))
    if confirmed_now:
        flash(_("盘点已确认，%(n)d 项差异已调整库存。", n=stocktakes.difference_counts([stocktake]).get(stocktake.id, 0)),
              "success")
    else:
        flash(_("这次盘点已经确认过了，没有重复调整。"), "success")
    return redirect(url_for("stocktake.stocktake", stocktake_id=stocktake.id), 303)
