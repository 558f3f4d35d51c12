"""Stock invariants (DESIGN.md §5), run by `flask verify` and the tests."""
from sqlalchemy import text

from ..extensions import db
from ..invariants import invariant


@invariant
def stock_equals_its_movements():
    """Every item's cached stock equals the sum of its movements (and the CHECK keeps it >= 0)."""
    rows = db.session.execute(text("""
        SELECT i.id, i.name, i.stock, COALESCE(SUM(m.delta), 0)
        FROM items i LEFT JOIN stock_movements m ON m.item_id = i.id
        GROUP BY i.id, i.name, i.stock HAVING i.stock <> COALESCE(SUM(m.delta), 0) ORDER BY i.id"""))
    for item_id, name, cached, total in rows:
        yield f"items id {item_id} ({name}): stock {cached} but its movements sum to {total}"


@invariant
def lots_equal_their_movements():
    """Every lot's remaining equals the sum of its movements, and the lots of an item add up to its stock."""
    rows = db.session.execute(text("""
        SELECT l.id, l.remaining, COALESCE(SUM(m.delta), 0)
        FROM lots l LEFT JOIN stock_movements m ON m.lot_id = l.id
        GROUP BY l.id, l.remaining HAVING l.remaining <> COALESCE(SUM(m.delta), 0) ORDER BY l.id"""))
    for lot_id, remaining, total in rows:
        yield f"lots id {lot_id}: remaining {remaining} but its movements sum to {total}"
    rows = db.session.execute(text("""
        SELECT i.id, i.stock, COALESCE((SELECT SUM(l.remaining) FROM lots l WHERE l.item_id = i.id), 0)
        FROM items i ORDER BY i.id"""))
    for item_id, cached, in_lots in rows:
        if cached != in_lots:
            yield f"items id {item_id}: stock {cached} but its lots hold {in_lots}"


@invariant
def returns_mirror_what_they_return():
    """A return puts back exactly the units of the movement it reverses, into the same lot."""
    rows = db.session.execute(text("""
        SELECT r.id, r.reverses_id FROM stock_movements r JOIN stock_movements o ON o.id = r.reverses_id
        WHERE r.lot_id <> o.lot_id OR r.delta <> -o.delta OR o.delta > 0 ORDER BY r.id"""))
    for return_id, original_id in rows:
        yield f"stock_movements id {return_id}: does not mirror movement {original_id} it returns"


@invariant
def receipt_numbers_have_no_gaps():
    """Donation receipt numbers run 1, 2, 3 … within each grid's series and year, with none missing."""
    rows = db.session.execute(text("""
        SELECT o.code, d.receipt_year, COUNT(*), MAX(d.receipt_seq) FROM donations d
        JOIN org_units o ON o.id = d.grid_id
        GROUP BY o.code, d.receipt_year ORDER BY o.code, d.receipt_year"""))
    for code, year, count, highest in rows:
        if count != highest:
            yield f"donations {code} {year}: {count} receipts but numbers run up to {highest}"
