"""The ledger's invariants (DESIGN.md §5), run by `flask verify` and the tests."""
from sqlalchemy import text

from ..extensions import db
from ..invariants import invariant


@invariant
def balances_equal_their_entries():
    """Every cached balance equals the sum of the volunteer's entries (and the CHECK keeps it >= 0)."""
    rows = db.session.execute(text("""
        SELECT u.id, u.points_balance, COALESCE(SUM(e.delta), 0) AS total
        FROM users u LEFT JOIN points_entries e ON e.volunteer_id = u.id
        GROUP BY u.id, u.points_balance
        HAVING u.points_balance <> COALESCE(SUM(e.delta), 0) OR COALESCE(SUM(e.delta), 0) < 0
        ORDER BY u.id"""))
    for user_id, cached, total in rows:
        yield f"users id {user_id}: points_balance {cached} but its entries sum to {total}"


@invariant
def reversals_mirror_their_entries():
    """A reversal belongs to the same volunteer as the entry it reverses and has the opposite delta."""
    rows = db.session.execute(text("""
        SELECT r.id, r.reverses_id FROM points_entries r JOIN points_entries o ON o.id = r.reverses_id
        WHERE r.volunteer_id <> o.volunteer_id OR r.delta <> -o.delta OR o.kind = 'reversal'
        ORDER BY r.id"""))
    for reversal_id, original_id in rows:
        yield f"points_entries id {reversal_id}: does not mirror entry {original_id} it reverses"
