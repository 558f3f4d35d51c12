"""Donated goods coming in: items, donation intake with gap-free receipt numbers, voiding, sponsor totals."""
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..auth.models import STAFF_ROLES
from ..auth.service import require_role
from ..clock import local_today, utcnow
from ..errors import DomainError, NotFound
from ..extensions import db
from ..org.models import OrgUnit
from ..org.service import current_grid
from ..numbering import formatted, next_number
from . import stock
from .models import UNITS, Donation, DonationLine, Item, Lot, Sponsor, StockMovement

RECEIPT_SERIES = "JZ"


def receipt_series(grid) -> str:
    """A grid's donation receipt series: JZ-<grid code> (JZ-DXB-2026-0001). Receipts issued before grids
    existed keep their numbers (JZ-2026-0001); 0015 let the grid's series go on counting from them."""
    return f"{RECEIPT_SERIES}-{grid.code}"
MAX_LINES = 30


class DonationInUse(DomainError):
    default_message = _l("这批物品已有兑换出库（%(item)s），不能作废。如需更正，请联系管理员做盘点调整。")


class ItemNameTaken(DomainError):
    default_message = _l("已有物品“%(name)s”（单位：%(unit)s，%(price)d 分）。如果就是它，请在“物品”一栏选择它；"
                         "如果是另一种物品，请换一个名称（如加上规格）。")

    def __init__(self, item: Item):
        super().__init__(name=item.name, unit=item.unit, price=item.points_price)
        self.item = item


@dataclass(frozen=True)
class Line:
    item: Item
    quantity: int
    unit_value_fen: int | None = None


def create_item(actor, *, name: str, unit: str, points_price: int, category: str = "",
                monthly_limit: int | None = None, household_monthly_limit: int | None = None,
                low_stock_threshold: int = 5, active: bool = True) -> Item:
    """Staff add a kind of goods (also on the spot, in a donation's row). A name already taken is never
    merged silently into the existing item (its unit and price may differ from what was typed):
    ItemNameTaken names the existing item, its unit and price, so staff use it or choose another name.

    ``monthly_limit`` caps what one volunteer takes in a month; ``household_monthly_limit`` what one
    household takes in a month, all its members together (每户每月最多 N 件; the counter enforces both).

    Raises ItemNameTaken, DomainError for a blank name, an unknown unit or a non-positive price.
    """
    require_role(actor, *STAFF_ROLES)
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("请填写物品名称。"))
    if unit not in UNITS:
        raise DomainError(_l("单位需为：%(units)s。"), units="/".join(UNITS))
    if not points_price or points_price <= 0:
        raise DomainError(_l("兑换积分必须大于0。"))
    existing = Item.query.filter_by(name=name).first()
    if existing is not None:
        raise ItemNameTaken(existing)
    item = Item(name=name, unit=unit, category=category, points_price=points_price,
                monthly_limit=monthly_limit or None, household_monthly_limit=household_monthly_limit or None,
                low_stock_threshold=low_stock_threshold, active=active)
    try:
        with db.session.begin_nested():
            db.session.add(item)
    except IntegrityError as exc:  # created a moment ago by another request
        raise ItemNameTaken(Item.query.filter_by(name=name).one()) from exc
    return item


def update_item(actor, item: Item, *, points_price: int, category: str, monthly_limit: int | None,
                low_stock_threshold: int, active: bool, household_monthly_limit: int | None = None) -> Item:
    """Change an item's price, limits (per volunteer and per household, a month), threshold or
    availability. Past redemptions keep the price they were made at (the counter records it on each line)."""
    require_role(actor, *STAFF_ROLES)
    if not points_price or points_price <= 0:
        raise DomainError(_l("兑换积分必须大于0。"))
    item.points_price, item.category = points_price, category
    item.monthly_limit, item.low_stock_threshold, item.active = monthly_limit or None, low_stock_threshold, active
    item.household_monthly_limit = household_monthly_limit or None
    return item


def issue(actor, *, sponsor: Sponsor, received_on: date, lines: list[Line], note: str = "") -> Donation:
    """Staff record a donation: a receipt number JZ-<grid code>-<year>-<seq> (gap-free per grid and year, never reused), one lot and
    one stock-in movement per line. Raises DomainError for no lines, a non-positive quantity, a
    negative value, a date in the future, or too many lines."""
    require_role(actor, *STAFF_ROLES)
    if not lines:
        raise DomainError(_l("请至少填写一行物品。"))
    if len(lines) > MAX_LINES:
        raise DomainError(_l("一张凭证最多 %(n)d 行。"), n=MAX_LINES)
    if received_on > local_today():
        raise DomainError(_l("接收日期不能晚于今天。"))
    for line in lines:
        if line.quantity is None or line.quantity <= 0:
            raise DomainError(_l("%(item)s的数量必须大于0。"), item=line.item.name)
        if line.unit_value_fen is not None and line.unit_value_fen < 0:
            raise DomainError(_l("%(item)s的估价不能为负数。"), item=line.item.name)
    stock.lock_items(line.item.id for line in lines)  # every item's row, in id order, before any moves
    year = received_on.year
    grid = current_grid()  # the working grid: its series, JZ-<grid code>, gap-free per year
    series = receipt_series(grid)
    seq = next_number(series, year)
    donation = Donation(receipt_no=formatted(series, year, seq), receipt_year=year, receipt_seq=seq,
                        grid_id=grid.id, sponsor=sponsor, received_on=received_on, note=note or "", created_by_id=actor.id)
    db.session.add(donation)
    db.session.flush()
    for line in lines:
        donation_line = DonationLine(donation=donation, item=line.item, quantity=line.quantity,
                                     unit_value_fen=line.unit_value_fen)
        db.session.add(donation_line)
        db.session.flush()
        stock.receive(line.item, line.quantity, received_on, reference=f"donation:{donation.id}",
                      donation_line=donation_line, by=actor)
    return donation


def void(actor, donation: Donation, reason: str) -> Donation:
    """Void a donation with a reason: its stock leaves the shelf, its number stays used (shown VOID).

    Only while every lot is untouched; raises DonationInUse naming the item otherwise (nothing changes).
    """
    require_role(actor, *STAFF_ROLES)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("请填写作废原因。"))
    if donation.voided_at is not None:
        return donation
    stock.lock_items(line.item_id for line in donation.lines)
    for line in sorted(donation.lines, key=lambda line: (line.item_id, line.id)):
        if not stock.remove_lot(line.lot, reference=f"donation:{donation.id}", reason=f"作废：{reason}", by=actor):
            raise DonationInUse(item=line.item.name)
    donation.voided_at, donation.voided_by_id, donation.void_reason = utcnow(), actor.id, reason
    db.session.flush()
    return donation


def get_donation(donation_id: int) -> Donation:
    """The donation with its sponsor and its lines' items (one query each, however many lines).
    Raises NotFound."""
    donation = db.session.get(Donation, donation_id, options=[
        db.joinedload(Donation.sponsor), db.selectinload(Donation.lines).joinedload(DonationLine.item)])
    if donation is None:
        raise NotFound()
    return donation


def donations(sponsor: Sponsor | None = None, month: str | None = None, page: int = 1):
    """Donations newest first, optionally of one sponsor and one month ('2026-11'); with their sponsor
    and lines (the list shows both), loaded in one query each for the whole page."""
    query = Donation.query.options(db.joinedload(Donation.sponsor), db.selectinload(Donation.lines))
    if sponsor is not None:  # a sponsor's list says which grid each went to: loaded with it
        query = query.filter(Donation.sponsor_id == sponsor.id).options(db.joinedload(Donation.grid))
    if month:
        year, mon = (int(part) for part in month.split("-"))
        start = date(year, mon, 1)
        end = date(year + (mon == 12), mon % 12 + 1, 1)
        query = query.filter(Donation.received_on >= start, Donation.received_on < end)
    return query.order_by(Donation.received_on.desc(), Donation.id.desc()).paginate(
        page=page, per_page=30, error_out=False)


def sponsor_totals() -> list[tuple[Sponsor, int, int, int]]:
    """Per sponsor: (sponsor, donations, items donated, estimated value in fen), voided donations left out."""
    rows = (db.session.query(Sponsor, func.count(func.distinct(Donation.id)),
                             func.coalesce(func.sum(DonationLine.quantity), 0),
                             func.coalesce(func.sum(DonationLine.quantity * func.coalesce(DonationLine.unit_value_fen, 0)), 0))
            .outerjoin(Donation, (Donation.sponsor_id == Sponsor.id) & Donation.voided_at.is_(None))
            .outerjoin(DonationLine, DonationLine.donation_id == Donation.id)
            .group_by(Sponsor.id).order_by(Sponsor.id).all())
    return [(sponsor, count, int(quantity), int(value)) for sponsor, count, quantity, value in rows]


def sponsor_grids(impact: list[dict]) -> list[OrgUnit]:
    """The grids a sponsor has given to (voided donations left out), in tree order, from its
    ``sponsor_impact`` rows (each item's grid, loaded with it): its portal thanks on behalf of each of them.
    No statement of its own."""
    grids = {row["item"].grid for row in impact}
    return sorted(grids, key=lambda grid: (grid.position, grid.id))


def sponsor_impact(sponsor: Sponsor) -> list[dict]:
    """Per item, what became of this sponsor's goods: donated, redeemed, still on the shelf, and how
    many volunteers received them (a count only: no names, no phones). Two queries however many items
    and lots: the lots with their items (and the items' grids), then the units per item and recipient summed by the database."""
    own_lots = (select(Lot.id).join(DonationLine, Lot.donation_line_id == DonationLine.id)
                .join(Donation, DonationLine.donation_id == Donation.id)
                .where(Donation.sponsor_id == sponsor.id, Donation.voided_at.is_(None)))
    lots = db.session.scalars(select(Lot).where(Lot.id.in_(own_lots)).options(
        db.joinedload(Lot.item).joinedload(Item.grid))).all()
    by_item: dict[int, dict] = {}
    for lot in lots:
        row = by_item.setdefault(lot.item_id, {"item": lot.item, "donated": 0, "on_shelf": 0,
                                               "redeemed": 0, "volunteers": 0})
        row["donated"] += lot.quantity
        row["on_shelf"] += lot.remaining
    # Net units per recipient: a voided redemption's return cancels its units and its volunteer.
    per_recipient = db.session.execute(
        select(Lot.item_id, StockMovement.recipient_id, func.sum(-StockMovement.delta))
        .join(Lot, StockMovement.lot_id == Lot.id)
        .where(StockMovement.lot_id.in_(own_lots), StockMovement.kind.in_(("redemption", "return")),
               StockMovement.recipient_id.isnot(None))
        .group_by(Lot.item_id, StockMovement.recipient_id))
    for item_id, _recipient, units in per_recipient:
        row = by_item[item_id]
        row["redeemed"] += int(units)
        row["volunteers"] += 1 if units > 0 else 0
    return sorted(by_item.values(), key=lambda r: r["item"].name)
