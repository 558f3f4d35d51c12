"""Counter invariants (DESIGN.md §5.2), run by `flask verify` and the tests."""
from sqlalchemy import text

from ..extensions import db
from ..invariants import invariant


@invariant
def redemptions_match_their_entry_and_movements():
    """A redemption's points entry is minus the sum of its lines, and the stock it took matches its
    lines item by item; a voided one has had both reversed in full."""
    rows = db.session.execute(text("""
        SELECT r.id, r.total_points, e.delta,
               (SELECT COALESCE(SUM(l.quantity * l.unit_points), 0) FROM redemption_lines l WHERE l.redemption_id = r.id),
               (SELECT COUNT(*) FROM points_entries x WHERE x.reverses_id = e.id),
               r.voided_at IS NOT NULL
        FROM redemptions r LEFT JOIN points_entries e ON e.id = r.points_entry_id ORDER BY r.id"""))
    for redemption_id, total, delta, lines_total, reversed_count, voided in rows:
        if delta is None or delta != -total or total != lines_total:
            yield f"redemptions id {redemption_id}: total {total}, lines {lines_total}, points entry {delta}"
        elif bool(voided) != bool(reversed_count):
            yield f"redemptions id {redemption_id}: voided={bool(voided)} but points reversed={bool(reversed_count)}"
    rows = db.session.execute(text("""
        SELECT r.id, l.item_id, l.quantity,
               (SELECT COALESCE(SUM(-m.delta), 0) FROM stock_movements m
                WHERE m.reference = 'redemption:' || r.id AND m.item_id = l.item_id AND m.kind = 'redemption'),
               (SELECT COALESCE(SUM(m.delta), 0) FROM stock_movements m
                WHERE m.reference = 'redemption:' || r.id AND m.item_id = l.item_id AND m.kind = 'return'),
               r.voided_at IS NOT NULL
        FROM redemptions r JOIN redemption_lines l ON l.redemption_id = r.id ORDER BY r.id, l.item_id"""))
    for redemption_id, item_id, quantity, taken, returned, voided in rows:
        expected_return = quantity if voided else 0
        if taken != quantity or returned != expected_return:
            yield (f"redemptions id {redemption_id} item {item_id}: line {quantity}, stock taken {taken}, "
                   f"returned {returned}")
