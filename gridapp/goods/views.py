"""Staff pages for goods: the stock list, items and their history, donation intake, sponsors."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.models import STAFF_ROLES
from ..auth.permissions import roles_required
from ..clock import local_today
from ..errors import DomainError, NotFound
from ..extensions import db
from ..formtools import commit_or_explain
from ..numbers import page_number, parse_id, parse_int
from ..once import new_token, run_once
from . import donations, sponsors, stock
from .forms import (DEFAULT_LINES, MAX_FORM_LINES, MORE_LINES, DonationForm, ItemForm, SponsorForm, VoidForm,
                    yuan_to_fen)
from .models import Item

bp = Blueprint("goods", __name__)


def get_item(item_id: int) -> Item:
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound()
    return item


@bp.route("/staff/stock")
@roles_required(*STAFF_ROLES)
def stock_list():
    items = Item.query.order_by(Item.active.desc(), Item.category, Item.name).all()
    return render_template("goods/stock.html", items=items, low=[i for i in items if i.active and i.is_low])


@bp.route("/staff/items/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def new_item():
    form = ItemForm()
    if form.validate_on_submit():
        ok, item = commit_or_explain(lambda: donations.create_item(
            current_user, name=form.name.data, unit=form.unit.data, category=form.category.data,
            points_price=form.points_price.data, monthly_limit=form.monthly_limit.data,
            household_monthly_limit=form.household_monthly_limit.data, low_stock_threshold=form.low_stock_threshold.data, active=form.active.data), form.name.errors)
        if ok:
            flash(_("已添加物品：%(name)s。", name=item.name), "success")
            return redirect(url_for("goods.item", item_id=item.id), 303)
    return render_template("goods/new_item.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/staff/items/<id:item_id>", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def item(item_id):
    """An item's details (editable: price, limit, threshold, availability) and every movement, newest first."""
    item = get_item(item_id)
    form = ItemForm(obj=item)
    if form.validate_on_submit():
        ok, _item = commit_or_explain(lambda: donations.update_item(
            current_user, item, points_price=form.points_price.data, category=form.category.data,
            monthly_limit=form.monthly_limit.data, household_monthly_limit=form.household_monthly_limit.data,
            low_stock_threshold=form.low_stock_threshold.data, active=form.active.data), form.points_price.errors)
        if ok:
            flash(_("已保存。以前的兑换记录仍按当时的积分计算。"), "success")
            return redirect(url_for("goods.item", item_id=item.id), 303)
    page = page_number()
    return render_template("goods/item.html", item=item, form=form, pagination=stock.history(item, page)), (
        422 if request.method == "POST" else 200)


@bp.route("/staff/donations")
@roles_required(*STAFF_ROLES)
def donation_list():
    sponsor_id = parse_id(request.args.get("sponsor"))
    month = request.args.get("month", "")
    if month and not (len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit()
                      and 1 <= int(month[5:]) <= 12):
        month = ""
    sponsor = sponsors.get_sponsor(sponsor_id) if sponsor_id else None
    pagination = donations.donations(sponsor, month, page_number())
    return render_template("goods/donations.html", pagination=pagination, sponsors=sponsors.all_sponsors(),
                           sponsor=sponsor, month=month)


def _donation_lines(form: DonationForm) -> list[donations.Line]:
    """The filled rows as service lines; an item named on the spot is created first (a name that exists
    is the service's ItemNameTaken, shown on its row)."""
    lines = []
    for row in form.lines:
        if row.is_blank:
            continue
        if row.item.data:
            item = get_item(row.item.data)
        else:
            try:
                item = donations.create_item(current_user, name=row.new_name.data, unit=row.new_unit.data,
                                             points_price=row.new_price.data)
            except donations.ItemNameTaken as exc:
                row.new_name.errors = [*row.new_name.errors, exc.message]
                raise
        lines.append(donations.Line(item, row.quantity.data, yuan_to_fen(row.unit_value.data)))
    return lines


@bp.route("/staff/donations/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def new_donation():
    rows = parse_int(request.args.get("rows"), low=DEFAULT_LINES, high=MAX_FORM_LINES, default=DEFAULT_LINES)
    form = DonationForm()
    # "需要更多行" is a submit button of this form: what was typed comes back with five more empty rows.
    more_rows = request.method == "POST" and "more_rows" in request.form
    if more_rows:
        rows = min(len(form.lines) + MORE_LINES, MAX_FORM_LINES)
    while len(form.lines) < rows:
        form.lines.append_entry()
    form.set_choices(sponsors.all_sponsors(), Item.query.filter_by(active=True).order_by(Item.name).all())
    if request.method == "GET":
        form.received_on.data = local_today()
        form.token.data = new_token()
    if not more_rows and form.validate_on_submit():
        def issue():
            donation = donations.issue(
                current_user, sponsor=sponsors.get_sponsor(form.sponsor.data), received_on=form.received_on.data,
                lines=_donation_lines(form), note=form.note.data)
            return url_for("goods.donation", donation_id=donation.id)

        try:  # a double tap on 保存 (or a retry over a bad network) shows the first receipt, not a second
            receipt_url = run_once(form.token.data, current_user, issue)
        except DomainError as exc:
            if not any(exc.message in row.new_name.errors for row in form.lines):
                form.form_errors.append(exc.message)
        else:
            # no number here: a tap that lost the race to the first had drawn (and rolled back) the next one
            flash(_("已开具捐赠接收凭证。"), "success")
            return redirect(receipt_url, 303)
    return render_template("goods/new_donation.html", form=form, rows=len(form.lines), max_rows=MAX_FORM_LINES), (
        422 if request.method == "POST" and not more_rows else 200)


@bp.route("/staff/donations/<id:donation_id>")
@roles_required(*STAFF_ROLES)
def donation(donation_id):
    return render_template("goods/donation.html", donation=donations.get_donation(donation_id), form=VoidForm())


@bp.route("/staff/donations/<id:donation_id>/void", methods=["POST"])
@roles_required(*STAFF_ROLES)
def void_donation(donation_id):
    donation = donations.get_donation(donation_id)
    form = VoidForm()
    if form.validate_on_submit() and not form.confirmed.data:
        # Irreversible: show what will happen and ask once more (works without JavaScript).
        return render_template("goods/void_confirm.html", donation=donation, form=form)
    if form.validate_on_submit():
        ok, _donation = commit_or_explain(lambda: donations.void(current_user, donation, form.reason.data),
                                          form.reason.errors)
        if ok:
            flash(_("凭证 %(no)s 已作废，物品已从库存中扣除。", no=donation.receipt_no), "success")
            return redirect(url_for("goods.donation", donation_id=donation.id), 303)
    return render_template("goods/donation.html", donation=donation, form=form), 422


@bp.route("/staff/sponsors")
@roles_required(*STAFF_ROLES)
def sponsor_list():
    return render_template("goods/sponsors.html", totals=donations.sponsor_totals())


def _sponsor_form_page(sponsor=None):
    form = SponsorForm(obj=sponsor)
    if form.validate_on_submit():
        ok, saved = commit_or_explain(lambda: sponsors.save_sponsor(
            current_user, sponsor, **{f: getattr(form, f).data for f in sponsors.FIELDS}), form.name.errors)
        if ok:
            flash(_("已保存：%(name)s。", name=saved.name), "success")
            return redirect(url_for("goods.sponsor_list"), 303)
    return render_template("goods/sponsor_form.html", form=form, sponsor=sponsor), (
        422 if request.method == "POST" else 200)


@bp.route("/staff/sponsors/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def new_sponsor():
    return _sponsor_form_page()


@bp.route("/staff/sponsors/<id:sponsor_id>", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def edit_sponsor(sponsor_id):
    return _sponsor_form_page(sponsors.get_sponsor(sponsor_id))
