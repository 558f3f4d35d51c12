"""Staff pages for figures: the monthly report (page, A4 PDF, its tables as CSV/XLSX), the exports, and the
roll-ups of a community, a farm or the division (admins and division viewers)."""
from datetime import date

from flask import Blueprint, Response, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user

from ..auth.models import STAFF_ROLES
from ..auth.permissions import roles_required
from ..clock import local_today, utcnow
from ..errors import DomainError, NotFound
from ..org.scope import streamed_in_scope
from ..org.service import current_grid, letterhead
from ..pdf import fingerprint, pdf_response, render_pdf
from ..org.forms import WorkingGridForm
from ..org.service import allowed_grid_ids
from . import exports, rollups, service
from .months import Month

bp = Blueprint("reporting", __name__)

REPORT_TEMPLATE = "pdf/monthly_report.html"
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def month_or_404(key: str) -> Month:
    month = Month.parse(key)
    if month is None or month > Month.of(utcnow()):
        raise NotFound()
    return month


@bp.route("/staff/monthly")
@roles_required(*STAFF_ROLES)
def reports():
    """The month picker (a GET form) lands on that month's report; default: this month."""
    month = Month.parse(request.args.get("month", "")) or Month.of(utcnow())
    return redirect(url_for("reporting.report", month=month.key))


@bp.route("/staff/monthly/<month>")
@roles_required(*STAFF_ROLES)
def report(month):
    m = month_or_404(month)
    return render_template("reporting/report.html", r=service.monthly_report(m, utcnow()), this_month=Month.of(utcnow()))


def report_context(report) -> dict:
    """The PDF's context: the report, the names of the grid it is made for, the day it is made."""
    names = letterhead(current_grid())
    return dict(r=report, organisation=names.community, branch=names.organiser, made_on=local_today())


@bp.route("/staff/monthly/<month>.pdf")
@roles_required(*STAFF_ROLES)
def report_pdf(month):
    """The report as an A4 PDF for the farm and the division; its ETag is a fingerprint of the figures
    (and of the day it is made, printed on it), so a repeat request for the same content gets 304."""
    context = report_context(service.monthly_report(month_or_404(month), utcnow()))
    return pdf_response(fingerprint(REPORT_TEMPLATE, context),
                        lambda: render_pdf(REPORT_TEMPLATE, **context), f"report-{month}.pdf")


def download(book: exports.Book, fmt: str) -> Response:
    if fmt == "csv":
        body = (chunk.encode("utf-8") for chunk in exports.csv_chunks(book))
    else:
        body = exports.xlsx_chunks(book)
    response = Response(stream_with_context(streamed_in_scope(body)), content_type=FORMATS[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{book.filename}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/staff/monthly/<month>.<fmt>")
@roles_required(*STAFF_ROLES)
def report_tables(month, fmt):
    if fmt not in FORMATS:
        raise NotFound()
    return download(exports.report_book(month_or_404(month)), fmt)


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/staff/exports")
@roles_required(*STAFF_ROLES)
def exports_page():
    """Every export, with a date range for the ledgers."""
    today = local_today()
    return render_template("reporting/exports.html", datasets=exports.DATASETS, start=today.replace(day=1),
                           end=today, this_month=Month.of(utcnow()))


@bp.route("/staff/exports/<dataset>.<fmt>")
@roles_required(*STAFF_ROLES)
def export(dataset, fmt):
    """Download ``dataset`` (exports.DATASETS) as CSV or XLSX; ranged ones take ``start`` and ``end``
    (local dates, inclusive). A bad range answers 422 with the exports page and the reason."""
    if fmt not in FORMATS or dataset not in exports.DATASETS:
        raise NotFound()
    try:
        book = exports.build(dataset, _date_arg("start"), _date_arg("end"))
    except DomainError as exc:
        today = local_today()
        return render_template("reporting/exports.html", datasets=exports.DATASETS, start=today.replace(day=1),
                               end=today, this_month=Month.of(utcnow()), error=exc.message), 422
    return download(book, fmt)




# --- roll-ups (汇总): a community's grids, a farm's or the division's communities, side by side ---------

def _month_arg() -> Month:
    """``?month=YYYY-MM`` (default: this month); a month to come is 404."""
    key = request.args.get("month")
    return month_or_404(key) if key else Month.of(utcnow())


@bp.route("/rollups")
@roles_required(*rollups.ROLLUP_ROLES)
def rollups_home():
    """Where a community admin or a division viewer lands: the roll-up of the first unit they may see."""
    unit = rollups.home_unit(current_user)
    if unit is None:
        return render_template("reporting/rollup_none.html")
    return redirect(url_for("reporting.rollup", unit_id=unit.id, month=request.args.get("month")))


@bp.route("/rollups/<id:unit_id>")
@roles_required(*rollups.ROLLUP_ROLES)
def rollup(unit_id):
    """A community's grids (or a farm's, the division's communities) for a month, with the total."""
    month = _month_arg()
    return render_template("reporting/rollup.html", r=rollups.rollup(current_user, unit_id, month),
                           labels=rollups.FIGURE_LABELS, this_month=Month.of(utcnow()))


@bp.route("/rollups/<id:unit_id>/<month>.<fmt>")
@roles_required(*rollups.ROLLUP_ROLES)
def rollup_export(unit_id, month, fmt):
    """The roll-up's table as CSV or XLSX (one row per unit and the total)."""
    if fmt not in FORMATS:
        raise NotFound()
    return download(rollups.rollup_book(rollups.rollup(current_user, unit_id, month_or_404(month))), fmt)


@bp.route("/rollups/grids/<id:grid_id>")
@roles_required(*rollups.ROLLUP_ROLES)
def rollup_grid(grid_id):
    """One grid's month, figures only (the drill-down of a community's row); an admin who may work in the
    grid also gets a button to open its monthly report there."""
    month = _month_arg()
    page = rollups.grid_page(current_user, grid_id, month)
    can_work = current_user.role in STAFF_ROLES and grid_id in allowed_grid_ids(current_user)
    return render_template("reporting/rollup_grid.html", p=page, labels=rollups.FIGURE_LABELS,
                           this_month=Month.of(utcnow()), can_work=can_work,
                           switch_form=WorkingGridForm(grid_id=grid_id,
                                                       next=url_for("reporting.report", month=month.key)))
