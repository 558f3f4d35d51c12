"""The exchange counter's pages: open the day, find the volunteer, fill the basket, confirm, print, void,
close the day; and the volunteer's card and redemption history on the phone."""
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.models import STAFF_ROLES
from ..goods.models import UNITS
from ..auth.forms import ConfirmForm
from ..auth.permissions import roles_required
from ..auth.service import require_owner
from ..clock import local_today, utcnow
from ..database import writes_in_unit_of_work
from ..errors import DomainError
from ..formtools import commit_or_explain
from ..htmx import render
from ..numbers import page_number, parse_id, typed_whole_number
from ..once import new_token, run_once
from ..qr import qr_svg
from . import service as counter
from .forms import ConfirmRedemptionForm, ExtraDayForm, OpenSessionForm, VoidRedemptionForm
from .pdf_views import print_height_mm
from .schedule import next_counter_day

bp = Blueprint("counter", __name__)
MAX_LINE_QUANTITY = 999  # more than any stock or monthly limit; keeps points × quantity far from overflow


def quantities_from(args) -> tuple[dict[int, int], dict[int, str]]:
    """Basket quantities from ``q<item id>=n`` fields, with one +/− button press (``add``/``remove``), and
    what was typed for each item whose quantity could not be read as a whole number
    (``numbers.typed_whole_number``: ``２`` and ``2个`` are 2; ``1.5`` is not), which the page names and
    shows again instead of taking it as 0.

    A blank quantity is 0 and a key that is no item id is ignored; the basket clamps quantities to what
    stock and limits allow.
    """
    quantities, unreadable = {}, {}
    for key, value in args.items():
        item_id = parse_id(key[1:]) if key.startswith("q") else None
        if item_id is None:
            continue
        number = typed_whole_number(value, UNITS) if value.strip() else 0
        if number is None:
            unreadable[item_id] = value.strip()[:12]
        quantities[item_id] = min(number or 0, MAX_LINE_QUANTITY)
    for key, step in (("add", 1), ("remove", -1)):
        item_id = parse_id(args.get(key))
        if item_id is not None:
            quantities[item_id] = max(quantities.get(item_id, 0) + step, 0)
    return quantities, unreadable


@bp.route("/counter")
@roles_required(*STAFF_ROLES)
def index():
    session = counter.todays_session(local_today())
    query = request.args.get("q", "").strip()[:40]
    matches = counter.find_volunteers(query) if query and session else []
    if len(matches) == 1:
        return redirect(url_for("counter.volunteer", volunteer_id=matches[0].id))
    recent = counter.recent_redemptions(session) if session else []
    return render_template("counter/index.html", session=session, query=query, matches=matches, recent=recent,
                           is_redemption_day=counter.is_redemption_day(local_today()), today=local_today(),
                           counter_day=next_counter_day(local_today()),
                           open_form=OpenSessionForm(), day_form=ExtraDayForm())


@bp.route("/counter/open", methods=["POST"])
@roles_required(*STAFF_ROLES)
def open_session():
    form = OpenSessionForm()
    if form.validate_on_submit():
        errors = []
        ok, _session = commit_or_explain(lambda: counter.open_session(current_user, local_today(),
                                                                      form.reason.data or ""), errors)
        if ok:
            flash(_("已开台，可以开始兑换。"), "success")
        for error in errors:
            flash(error, "error")
    return redirect(url_for("counter.index"), 303)


@bp.route("/counter/days", methods=["POST"])
@roles_required("admin")
def add_day():
    form = ExtraDayForm()
    try:
        day = date.fromisoformat(form.day.data or "")
    except ValueError:
        day = None
    if form.validate_on_submit() and day:
        errors = []
        ok, _day = commit_or_explain(lambda: counter.add_redemption_day(current_user, day, form.reason.data), errors)
        if ok:
            flash(_("已增加兑换日：%(day)s。", day=day.isoformat()), "success")
        for error in errors:
            flash(error, "error")
    else:
        flash(_("请填写日期和原因。"), "error")
    return redirect(url_for("counter.index"), 303)


def _basket_texts() -> dict:
    """The basket's texts for each item, translated once per render instead of once per item: plain format
    strings (gettext without arguments), filled in the template with numbers and the item's name (which
    the page escapes with the rest of the text)."""
    return {"price": _("%(n)d 分"), "stock": _("库存 %(n)d"), "per_person": _("每人每月 %(n)d"),
            "per_household": _("每户每月 %(n)d"), "remove": _("减一个%(name)s"), "add": _("加一个%(name)s")}


def _volunteer_page(volunteer, quantities, status=200, error=None, token=None, unreadable=None):
    """The panel (or, for htmx, the basket). The confirm form's fields are drawn from ``token`` (a new one-time
    token unless a refused confirm posted one) and the CSRF token, without building ConfirmRedemptionForm:
    the panel is viewed far more often than it is confirmed, and the POST still validates the form.
    ``unreadable``: what was typed for items whose quantity is no whole number, named in the error and
    shown again in their fields."""
    session = counter.todays_session(local_today())
    now = utcnow()
    # This month's redemptions and use in one statement of plain rows; the basket's limits count the same use.
    month = counter.panel_month(volunteer, now)
    basket = counter.basket(volunteer, quantities, now, month)
    if unreadable:
        names = "、".join(s.item.name for s in basket.states if s.item.id in unreadable)
        error = _("%(items)s的数量没有读懂：请填整数，如 2。没读懂的先按 0 算。", items=names or _("物品"))
    return render("counter/volunteer.html", "counter/_basket.html", status=status, volunteer=volunteer,
                  basket=basket, session=session, error=error, month=month.redemptions, texts=_basket_texts(),
                  confirm_token=new_token() if token is None else token, unreadable=unreadable or {})


def _posted_token(form) -> str | None:
    """The one-time token a refused confirm posted: its page draws it again, as the bound form did (a retry
    of the same basket gives the same receipt); None (a new token) when none was posted."""
    return form.token.data if "token" in request.form else None


@bp.route("/counter/v/<id:volunteer_id>")
@roles_required(*STAFF_ROLES)
def volunteer(volunteer_id):
    """The volunteer panel and the basket. Quantities travel in the query string (nothing is stored
    until confirmation), so +/− works as plain links and form submits without JavaScript."""
    quantities, unreadable = quantities_from(request.args)
    return _volunteer_page(counter.get_volunteer(volunteer_id), quantities, 422 if unreadable else 200,
                           unreadable=unreadable)


@bp.route("/counter/v/<id:volunteer_id>/confirm", methods=["POST"])
@roles_required(*STAFF_ROLES)
@writes_in_unit_of_work
def confirm(volunteer_id):
    volunteer = counter.get_volunteer(volunteer_id)
    quantities, unreadable = quantities_from(request.form)
    form = ConfirmRedemptionForm()
    session = counter.todays_session(local_today())
    if not form.validate_on_submit() or session is None:
        return _volunteer_page(volunteer, quantities, 422, _("今天还没有开台，或页面已过期，请刷新后重试。"),
                               _posted_token(form))
    if unreadable:  # never redeem the rest of a basket with a line silently dropped
        return _volunteer_page(volunteer, quantities, 422, token=_posted_token(form), unreadable=unreadable)

    def redeem():
        redemption = counter.redeem(current_user, session, volunteer, quantities, token=form.token.data, now=utcnow())
        return url_for("counter.receipt", redemption_id=redemption.id)

    try:
        return redirect(run_once(form.token.data, current_user, redeem), 303)
    except DomainError as exc:
        return _volunteer_page(volunteer, quantities, 422, exc.message, _posted_token(form))


@bp.route("/counter/redemptions/<id:redemption_id>")
@roles_required(*STAFF_ROLES)
def receipt(redemption_id):
    redemption = counter.get_redemption(redemption_id)
    return render_template("counter/receipt.html", redemption=redemption, form=VoidRedemptionForm(),
                           balance_after=counter.balance_after(redemption),
                           print_height_mm=print_height_mm(redemption))


@bp.route("/counter/redemptions/<id:redemption_id>/void", methods=["POST"])
@roles_required(*STAFF_ROLES)
def void(redemption_id):
    redemption = counter.get_redemption(redemption_id)
    form = VoidRedemptionForm()
    if form.validate_on_submit() and not form.confirmed.data:
        return render_template("counter/void_confirm.html", redemption=redemption, form=form,
                               balance_after=counter.balance_after(redemption))
    if form.validate_on_submit():
        ok, _voided = commit_or_explain(lambda: counter.void(current_user, redemption, form.reason.data, utcnow()),
                                        form.reason.errors)
        if ok:
            flash(_("%(no)s 已作废：积分已退回，物品已回到原批次。", no=redemption.receipt_no), "success")
            return redirect(url_for("counter.receipt", redemption_id=redemption.id), 303)
    return render_template("counter/receipt.html", redemption=redemption, form=form,
                           balance_after=counter.balance_after(redemption)), 422


@bp.route("/counter/sessions/<id:session_id>")
@roles_required(*STAFF_ROLES)
def summary(session_id):
    session = counter.get_session(session_id)
    return render_template("counter/summary.html", session=session, summary=counter.day_summary(session))


@bp.route("/counter/sessions/<id:session_id>/close", methods=["POST"])
@roles_required(*STAFF_ROLES)
def close(session_id):
    session = counter.get_session(session_id)
    if ConfirmForm().validate_on_submit():
        commit_or_explain(lambda: counter.close_session(current_user, session, utcnow()))
        flash(_("已日结。下面是今天的汇总，可以打印留存。"), "success")
    return redirect(url_for("counter.summary", session_id=session.id), 303)


# --- the volunteer's phone ---------------------------------------------------------------------

@bp.route("/me/card", methods=["GET", "POST"])
@roles_required("volunteer")
def card():
    """The volunteer's QR card. Showing it never writes: an account without a code yet (made before
    cards existed) gets a button that makes one (POST)."""
    form = ConfirmForm()
    if form.validate_on_submit():
        commit_or_explain(lambda: counter.give_codes([current_user]))
        return redirect(url_for("counter.card"), 303)
    code = current_user.volunteer_code
    return render_template("counter/card.html", code=code, qr=qr_svg(code, scale=8) if code else None, form=form)


@bp.route("/me/redemptions")
@roles_required("volunteer")
def my_redemptions():
    page = page_number()
    return render_template("counter/my_redemptions.html", counter_day=next_counter_day(local_today()),
                           pagination=counter.redemption_history(current_user, page=page))


@bp.route("/me/redemptions/<id:redemption_id>")
@roles_required("volunteer")
def my_redemption(redemption_id):
    redemption = require_owner(current_user, counter.get_redemption(redemption_id))
    return render_template("counter/my_redemption.html", redemption=redemption,
                           balance_after=counter.balance_after(redemption))
