"""The stock ledger's rules (DESIGN.md §5).

Every change of stock is an append-only ``StockMovement`` on one lot, plus conditional
UPDATEs of ``lots.remaining`` and the cached ``items.stock`` in the same transaction; the
database refuses negative stock or remaining (CHECK) and any UPDATE/DELETE of a movement
(trigger). ``take`` consumes lots first-in-first-out; ``put_back`` reverses exactly what a
reference took. Functions flush but never commit: the caller's transaction is the unit.
"""
from dataclasses import dataclass
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import DomainError
from ..extensions import db
from .models import Donation, DonationLine, Item, Lot, StockMovement


class OutOfStock(DomainError):
    default_message = _l("%(item)s库存不足：需要 %(needed)d%(unit)s，只剩 %(stock)d%(unit)s。")


@dataclass(frozen=True)
class Taken:
    """What ``take`` used: ``quantity`` units from ``lot``."""

    lot: Lot
    quantity: int


def lock_items(item_ids) -> list[int]:
    """Lock the rows of these items, in id order, before any of them moves; returns the ids in that order.

    The one global lock order (DESIGN.md §6): every operation that moves the stock of several items
    (a basket at the counter and its void, a donation and its void, a stocktake's adjustments) calls
    this first, inside its transaction. Two such operations over the same items then queue for one
    another instead of each holding one item the other needs (a deadlock, which PostgreSQL ends by
    failing one of them). Rows are locked in the ORDER BY order. On SQLite, where a write transaction
    holds the whole database, the SELECT is a plain read.
    """
    ids = sorted({int(item_id) for item_id in item_ids})
    if ids:
        db.session.execute(select(Item.id).where(Item.id.in_(ids)).order_by(Item.id).with_for_update())
    return ids


def lock_and_load_items(item_ids) -> dict[int, Item]:
    """``lock_items`` and the items themselves, fresh from the database, in one statement: the rows
    are locked (PostgreSQL) and read in id order. Returns {id: Item} in that order (a missing id is
    left out)."""
    ids = sorted({int(item_id) for item_id in item_ids})
    if not ids:
        return {}
    return {item.id: item for item in db.session.scalars(_items_in_id_order_statement(), {"ids": ids})}


# The statements a redemption sends for each item are built once (on first use), with bound parameters:
# SQLAlchemy finds the compiled SQL of a statement it has seen without building and walking it again.
@cache
def _move_item_statement():
    delta = bindparam("delta")
    return (update(Item).where(Item.id == bindparam("item_id"), Item.stock + delta >= 0)
            .values(stock=Item.stock + delta).execution_options(synchronize_session=False))


@cache
def _move_lot_statement():
    delta = bindparam("delta")
    return (update(Lot).where(Lot.id == bindparam("lot_id"), Lot.remaining + delta >= 0,
                              Lot.remaining + delta <= Lot.quantity)
            .values(remaining=Lot.remaining + delta).execution_options(synchronize_session=False))


@cache
def _open_lots_statement():
    # populate_existing: a lot already in the session is read again (locked) here, not trusted as it was.
    return (select(Lot).where(Lot.item_id == bindparam("item_id"), Lot.remaining > 0)
            .order_by(Lot.received_on, Lot.id).with_for_update().execution_options(populate_existing=True))


@cache
def _items_in_id_order_statement():
    return (select(Item).where(Item.id.in_(bindparam("ids", expanding=True))).order_by(Item.id)
            .with_for_update().execution_options(populate_existing=True))


def _move_item(item: Item, delta: int) -> bool:
    """Move the cached stock, only if it stays >= 0."""
    moved = db.session.execute(_move_item_statement(), {"item_id": item.id, "delta": delta}).rowcount
    db.session.expire(item, ["stock"])
    return moved == 1


def _move_lot(lot: Lot, delta: int) -> bool:
    moved = db.session.execute(_move_lot_statement(), {"lot_id": lot.id, "delta": delta}).rowcount
    db.session.expire(lot, ["remaining"])
    return moved == 1


def _movement_row(lot: Lot, delta: int, kind: str, reference: str, reason: str = "", by=None, recipient_id=None,
                  reverses: StockMovement | None = None) -> dict:
    """The stock ledger's row for moving ``delta`` units of ``lot``."""
    return {"item_id": lot.item_id, "lot_id": lot.id, "delta": delta, "kind": kind, "reference": reference,
            "reason": reason[:200], "created_by_id": by.id if by else None, "recipient_id": recipient_id,
            "reverses_id": reverses.id if reverses else None}


def _record(lot: Lot, delta: int, kind: str, reference: str, reason: str = "", by=None, recipient_id=None,
            reverses: StockMovement | None = None) -> StockMovement:
    movement = StockMovement(**_movement_row(lot, delta, kind, reference, reason, by, recipient_id, reverses))
    db.session.add(movement)
    return movement


def receive(item: Item, quantity: int, received_on, *, reference: str, donation_line=None, by=None,
            kind: str = "donation", reason: str = "") -> Lot:
    """Put ``quantity`` new units on the shelf as a new lot (a donation line, or units found at a stocktake)."""
    if quantity <= 0:
        raise DomainError(_l("数量必须大于0。"))
    lot = Lot(item_id=item.id, donation_line=donation_line, received_on=received_on, quantity=quantity,
              remaining=quantity)
    db.session.add(lot)
    db.session.flush()
    _record(lot, quantity, kind, reference, reason, by)
    _move_item(item, quantity)
    return lot


def take(item: Item, quantity: int, *, reference: str, kind: str = "redemption", reason: str = "", by=None,
         recipient=None) -> list[Taken]:
    """Take ``quantity`` units of ``item``, oldest lots first; returns the lots used.

    A caller taking several items locks them first (``lock_items``). Raises OutOfStock (naming the item and what is left) and changes nothing if the stock is short.
    The conditional UPDATE of ``items.stock`` comes first: concurrent takers of one item queue on
    that row, so the lots below are consumed by one taker at a time.
    """
    if quantity <= 0:
        raise DomainError(_l("数量必须大于0。"))
    if not _move_item(item, -quantity):
        db.session.refresh(item, ["stock"])
        raise OutOfStock(item=item.name, needed=quantity, unit=item.unit, stock=item.stock)
    taken, wanted, movements = [], quantity, []
    lots = db.session.scalars(_open_lots_statement(), {"item_id": item.id}).all()
    for lot in lots:
        if wanted == 0:
            break
        portion = min(lot.remaining, wanted)
        if portion and _move_lot(lot, -portion):
            movements.append(_movement_row(lot, -portion, kind, reference, reason, by,
                                           recipient.id if recipient else None))
            taken.append(Taken(lot, portion))
            wanted -= portion
    if wanted:
        # The lots disagree with the cached stock: refuse rather than write a half-taken line.
        raise DomainError(_l("%(item)s的批次数量与库存不符，请先盘点。"), item=item.name)
    # The movements as rows, in one statement: no StockMovement objects (and no flush) for what nobody reads
    # back here; the ledger is append-only, so there is nothing to keep in step.
    db.session.execute(_insert_movements_statement(), movements)
    return taken


@cache
def _insert_movements_statement():
    return insert(StockMovement.__table__)


def put_back(reference: str, *, reason: str = "", by=None) -> list[StockMovement]:
    """Return to their very lots all units that ``reference`` took and has not returned yet
    (the items locked first, in id order)."""
    returned = []
    outs = (StockMovement.query.filter(StockMovement.reference == reference, StockMovement.delta < 0,
                                       StockMovement.kind.in_(("redemption", "adjustment")))
            .order_by(StockMovement.item_id, StockMovement.id).all())
    lock_items(out.item_id for out in outs)
    for out in outs:
        if StockMovement.query.filter_by(reverses_id=out.id).first() is not None:
            continue
        try:
            with db.session.begin_nested():
                movement = _record(out.lot, -out.delta, "return", reference, reason, by, out.recipient_id, reverses=out)
                db.session.flush()
        except IntegrityError:
            continue  # returned by a concurrent request a moment ago
        _move_lot(out.lot, -out.delta)
        _move_item(out.item, -out.delta)
        returned.append(movement)
    return returned


def remove_lot(lot: Lot, *, reference: str, reason: str, by=None) -> bool:
    """Take a whole untouched lot off the shelf (voiding its donation). False if any unit has left it."""
    moved = db.session.execute(
        update(Lot).where(Lot.id == lot.id, Lot.remaining == Lot.quantity).values(remaining=0)
        .execution_options(synchronize_session=False)).rowcount
    db.session.expire(lot, ["remaining"])
    if moved != 1:
        return False
    if not _move_item(lot.item, -lot.quantity):
        return False
    _record(lot, -lot.quantity, "void", reference, reason, by)
    return True


def adjust(item: Item, delta: int, *, reference: str, reason: str, by=None, on=None) -> None:
    """Correct the stock by ``delta`` after a count: units found become a new lot; units missing leave
    the oldest lots first. Raises OutOfStock if more are missing than the books hold."""
    if delta > 0:
        receive(item, delta, on, reference=reference, by=by, kind="adjustment", reason=reason)
    elif delta < 0:
        take(item, -delta, reference=reference, kind="adjustment", reason=reason, by=by)


def history(item: Item, page: int = 1, per_page: int = 30):
    """Every movement of ``item``, newest first, with who and why (and the sponsor of its lot, in the
    same query)."""
    return (StockMovement.query.filter_by(item_id=item.id)
            .options(db.joinedload(StockMovement.created_by),
                     db.joinedload(StockMovement.lot).joinedload(Lot.donation_line)
                     .joinedload(DonationLine.donation).joinedload(Donation.sponsor))
            .order_by(StockMovement.id.desc()).paginate(page=page, per_page=per_page, error_out=False))


def within_points_select(limit: int):
    """The select behind ``within_points`` (parameter ``points``): the ``limit`` dearest active, in-stock
    items that cost no more, each with the count of all such kinds (``kinds``: a window function counts
    before LIMIT applies)."""
    return (select(Item, func.count().over().label("kinds"))
            .where(Item.active.is_(True), Item.stock > 0, Item.points_price <= bindparam("points"))
            .order_by(Item.points_price.desc(), Item.id).limit(limit))


# Built once per limit (see auth.service._session_user_query).
_within_points_query = cache(within_points_select)


def within_points(points: int, limit: int = 3) -> tuple[int, list[Item]]:
    """What ``points`` can buy at the counter: how many kinds of active, in-stock goods cost no more,
    and the ``limit`` dearest of them (a volunteer's "what I can get")."""
    # One query: the count of all such kinds rides along on each of the first rows.
    rows = db.session.execute(_within_points_query(limit), {"points": points}).all()
    return (rows[0].kinds if rows else 0), [row.Item for row in rows]
