"""The stocktake (盘点): a sheet of what the books expect, the counts typed in, then one confirmation.

``start`` snapshots every active item's stock as the line's ``expected``; counts are saved as a
draft any number of times while the stocktake is ``counting``; ``confirm`` writes one adjustment
movement per difference through the stock ledger and closes the stocktake, in the caller's
transaction. The status moves by a conditional UPDATE, so a double submit finds nothing left to
confirm and adjusts nothing twice. Functions flush but never commit.
"""
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..auth.models import STAFF_ROLES
from ..auth.service import require_role
from ..clock import to_local
from ..errors import DomainError, NotFound
from ..extensions import db
from . import stock
from .models import Item, Stocktake, StocktakeLine

MAX_COUNT = 1_000_000
REASON_MAX = 200


class StocktakeInProgress(DomainError):
    default_message = _l("已有一次盘点正在进行（%(name)s 于 %(date)s 开始），请先完成确认后再开始新的盘点。")


class StocktakeClosed(DomainError):
    default_message = _l("这次盘点已于 %(date)s 确认，只能查看，不能再修改。")


class StocktakeIncomplete(DomainError):
    default_message = _l("还有 %(n)d 项没有填写盘点数：%(names)s。全部盘点后才能确认。")


class ReasonMissing(DomainError):
    default_message = _l("盘点数与账面不符的物品需要填写原因：%(names)s。")


class StockChanged(DomainError):
    default_message = _l("“%(item)s”的库存在盘点表生成后有变动（当时账面 %(expected)d%(unit)s，现在 %(stock)d%(unit)s），"
                         "按盘点差异 %(difference)d%(unit)s 调整会使库存小于0。没有做任何调整，请核实后重新开始盘点。")


class BadCount(DomainError):
    default_message = _l("“%(item)s”的盘点数必须是0或正整数。")


def _names(lines) -> str:
    names = [line.item.name for line in lines]
    return "、".join(names[:10]) + ("……" if len(names) > 10 else "")


def _local_date(moment: datetime) -> str:
    return format_datetime(to_local(moment), "yyyy-MM-dd", rebase=False)


# --- reading ---------------------------------------------------------------------------

def get_stocktake(stocktake_id: int) -> Stocktake:
    """The stocktake with this id; raises NotFound."""
    stocktake = db.session.get(Stocktake, stocktake_id)
    if stocktake is None:
        raise NotFound()
    return stocktake


def counting() -> Stocktake | None:
    """The stocktake being counted now, if any (there is at most one)."""
    return Stocktake.query.filter_by(status="counting").order_by(Stocktake.id).first()


def lines_of(stocktake: Stocktake) -> list[StocktakeLine]:
    """The sheet's lines in print order (category, then name), each with its item loaded."""
    return (StocktakeLine.query.filter_by(stocktake_id=stocktake.id).join(StocktakeLine.item)
            .options(db.contains_eager(StocktakeLine.item)).order_by(Item.category, Item.name, StocktakeLine.id)
            .populate_existing().all())


def difference_counts(stocktakes) -> dict[int, int]:
    """How many lines of each stocktake were counted different from the books, by stocktake id."""
    ids = [s.id for s in stocktakes]
    if not ids:
        return {}
    rows = db.session.execute(
        select(StocktakeLine.stocktake_id, func.count())
        .where(StocktakeLine.stocktake_id.in_(ids), StocktakeLine.counted.is_not(None),
               StocktakeLine.counted != StocktakeLine.expected)
        .group_by(StocktakeLine.stocktake_id))
    return dict(rows.all())


def history(page: int = 1, per_page: int = 30):
    """Every stocktake, newest first, with who started and who confirmed it."""
    return (Stocktake.query.options(db.joinedload(Stocktake.created_by), db.joinedload(Stocktake.confirmed_by))
            .order_by(Stocktake.id.desc()).paginate(page=page, per_page=per_page, error_out=False))


@dataclass
class Review:
    """What confirming would do: the differences, the lines not counted yet, the reasons still missing,
    and the lines whose stock has moved since the sheet was made (a warning, not a refusal)."""

    lines: list[StocktakeLine]
    differences: list[StocktakeLine] = field(default_factory=list)
    missing: list[StocktakeLine] = field(default_factory=list)
    no_reason: list[StocktakeLine] = field(default_factory=list)
    moved: list[StocktakeLine] = field(default_factory=list)

    @property
    def can_confirm(self) -> bool:
        return not self.missing and not self.no_reason


def review(stocktake: Stocktake) -> Review:
    """Sort the lines into differences, missing counts and missing reasons, for the review page."""
    result = Review(lines_of(stocktake))
    for line in result.lines:
        if line.counted is None:
            result.missing.append(line)
        elif line.difference:
            result.differences.append(line)
            if not line.reason.strip():
                result.no_reason.append(line)
        if stocktake.status == "counting" and line.item.stock != line.expected:
            result.moved.append(line)
    return result


# --- changing --------------------------------------------------------------------------

def start(actor, now: datetime) -> Stocktake:
    """Staff start a stocktake: one line per active item, ``expected`` = its stock at this moment.

    Only one stocktake may be counting at a time: raises StocktakeInProgress (naming who started
    it and when) if one is; DomainError if there is no active item to count; PermissionDenied.
    """
    require_role(actor, *STAFF_ROLES)
    current = counting()
    if current is not None:
        raise StocktakeInProgress(name=current.created_by.name, date=_local_date(current.created_at))
    items = Item.query.filter_by(active=True).order_by(Item.category, Item.name).populate_existing().all()
    if not items:
        raise DomainError(_l("还没有可盘点的物品。"))
    stocktake = Stocktake(status="counting", created_by_id=actor.id, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(stocktake)  # a partial UNIQUE index allows one 'counting' row
    except IntegrityError:
        # Two staff pressed "start" together: the other one's stocktake is the one.
        current = counting()
        raise StocktakeInProgress(name=current.created_by.name, date=_local_date(current.created_at)) from None
    db.session.add_all(StocktakeLine(stocktake_id=stocktake.id, item_id=item.id, expected=item.stock)
                       for item in items)
    db.session.flush()
    return stocktake


def check_open(stocktake: Stocktake) -> None:
    """Raise StocktakeClosed (with its confirmation date) unless the stocktake is still counting."""
    if stocktake.status != "counting":
        raise StocktakeClosed(date=_local_date(stocktake.confirmed_at or stocktake.created_at))


def _hold_open(stocktake: Stocktake) -> None:
    """Lock the stocktake row and make sure it is still counting; raises StocktakeClosed.

    A concurrent confirm holds the same row lock (its conditional UPDATE), so counts are never
    changed under a confirmation, nor after it.
    """
    status = db.session.execute(select(Stocktake.status).where(Stocktake.id == stocktake.id)
                                .with_for_update()).scalar_one()
    if status != "counting":
        db.session.refresh(stocktake)
        check_open(stocktake)


def save_counts(actor, stocktake: Stocktake, counts: dict[int, int | None], reasons: dict[int, str]) -> int:
    """Save counted quantities and reasons as a draft (any number of times while counting).

    ``counts`` and ``reasons`` are keyed by line id; a line left out is unchanged, a count of None
    means “not counted yet”. Raises StocktakeClosed once confirmed, BadCount for a count that is not
    a whole number from 0 up (nothing is saved then), NotFound for a line of another stocktake.
    Returns how many lines are counted.
    """
    require_role(actor, *STAFF_ROLES)
    _hold_open(stocktake)
    lines = {line.id: line for line in lines_of(stocktake)}
    if any(line_id not in lines for line_id in [*counts, *reasons]):
        raise NotFound()
    for line_id, value in counts.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 0 <= value <= MAX_COUNT):
            raise BadCount(item=lines[line_id].item.name)
    for line_id, reason in reasons.items():
        if len((reason or "").strip()) > REASON_MAX:
            raise DomainError(_l("“%(item)s”的原因不能超过%(max)d个字。"), item=lines[line_id].item.name,
                              max=REASON_MAX)
    for line_id, value in counts.items():
        lines[line_id].counted = value
    for line_id, reason in reasons.items():
        lines[line_id].reason = (reason or "").strip()
    db.session.flush()
    return sum(line.counted is not None for line in lines.values())


def confirm(actor, stocktake: Stocktake, *, on: date, now: datetime) -> bool:
    """Confirm a stocktake: one adjustment movement per difference (counted − expected), referenced
    ``stocktake:<id>`` with the line's reason; then the stocktake is read-only history.

    All or nothing. Every line must be counted (StocktakeIncomplete) and every difference needs a
    reason (ReasonMissing). If an adjustment would make stock negative because the stock moved
    since the sheet was made, raises StockChanged naming the item, and nothing is changed.
    Confirming a confirmed stocktake (a double submit) changes nothing and returns False; True when
    this call confirmed it. Raises PermissionDenied for non-staff.
    """
    require_role(actor, *STAFF_ROLES)
    if stocktake.status == "confirmed":
        return False
    with db.session.begin_nested():
        moved = db.session.execute(
            update(Stocktake).where(Stocktake.id == stocktake.id, Stocktake.status == "counting")
            .values(status="confirmed", confirmed_by_id=actor.id, confirmed_at=now)
            .execution_options(synchronize_session=False)).rowcount
        if moved != 1:  # confirmed a moment ago by another request: nothing left to do
            db.session.refresh(stocktake)
            return False
        # Read the lines after taking the row: a draft saved just before is included, none can follow.
        checked = review(stocktake)
        if checked.missing:
            raise StocktakeIncomplete(n=len(checked.missing), names=_names(checked.missing))
        if checked.no_reason:
            raise ReasonMissing(names=_names(checked.no_reason))
        reference = f"stocktake:{stocktake.id}"
        stock.lock_items(line.item.id for line in checked.differences)  # id order, before any moves
        for line in sorted(checked.differences, key=lambda line: line.item.id):
            try:
                stock.adjust(line.item, line.difference, reference=reference, reason=line.reason, by=actor, on=on)
            except stock.OutOfStock as exc:
                db.session.refresh(line.item, ["stock"])
                raise StockChanged(item=line.item.name, unit=line.item.unit, expected=line.expected,
                                   stock=line.item.stock, difference=line.difference) from exc
    db.session.refresh(stocktake)
    return True
