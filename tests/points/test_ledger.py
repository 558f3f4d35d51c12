"""The points ledger (DESIGN.md §5): entries, cached balance, idempotency, reversal, append-only."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.invariants import run_all
from gridapp.points import service as points
from gridapp.points.models import PointsEntry

from .. import factories


def award(volunteer, n=10, key="k1", **kw):
    return points.award(volunteer, n, reference="test:1", description="测试奖励", key=key, **kw)


def test_award_adds_an_entry_and_moves_the_balance(app):
    volunteer = factories.make_user()
    award(volunteer, 10)
    db.session.commit()
    assert points.balance(volunteer) == 10
    assert [e.delta for e in PointsEntry.query] == [10]


def test_the_same_key_has_one_effect(app):
    volunteer = factories.make_user()
    first = award(volunteer, 10, key="same")
    second = award(volunteer, 10, key="same")
    db.session.commit()
    assert first.id == second.id
    assert points.balance(volunteer) == 10 and PointsEntry.query.count() == 1


def test_spend_refuses_more_than_the_balance_and_changes_nothing(app):
    volunteer = factories.make_user()
    award(volunteer, 10)
    db.session.commit()
    with pytest.raises(points.InsufficientPoints) as caught:
        points.spend(volunteer, 11, reference="redemption:1", description="烧水壶", key="spend-1")
    db.session.rollback()
    assert "需要 11 分，现有 10 分" in caught.value.message
    assert points.balance(volunteer) == 10 and PointsEntry.query.count() == 1


def test_reversal_is_a_new_entry_of_opposite_sign_and_happens_once(app):
    volunteer = factories.make_user()
    entry = award(volunteer, 10)
    first = points.reverse(entry, reason="记错了")
    again = points.reverse(entry, reason="又点了一次")
    db.session.commit()
    assert first.id == again.id and first.delta == -10 and first.reverses_id == entry.id
    assert points.balance(volunteer) == 0
    with pytest.raises(points.NotReversible):
        points.reverse(first, reason="冲正的冲正")


def test_reversing_spent_points_is_refused(app):
    volunteer = factories.make_user()
    entry = award(volunteer, 10)
    points.spend(volunteer, 8, reference="redemption:1", description="床单", key="spend-1")
    db.session.commit()
    with pytest.raises(points.InsufficientPoints):
        points.reverse(entry, reason="发错了")
    db.session.rollback()
    assert points.balance(volunteer) == 2


@pytest.mark.parametrize("statement", [
    "UPDATE points_entries SET delta = 1000",
    "DELETE FROM points_entries",
])
def test_the_database_refuses_to_edit_or_delete_entries(app, statement):
    volunteer = factories.make_user()
    award(volunteer, 10)
    db.session.commit()
    with pytest.raises((IntegrityError, DBAPIError)) as caught:
        db.session.execute(text(statement))
    assert "append-only" in str(caught.value)
    db.session.rollback()
    assert [e.delta for e in PointsEntry.query] == [10]


def test_the_database_refuses_a_negative_balance(app):
    volunteer = factories.make_user()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE users SET points_balance = -1 WHERE id = :id"), {"id": volunteer.id})
    db.session.rollback()


def test_the_database_refuses_a_reused_idempotency_key(app):
    volunteer = factories.make_user()
    award(volunteer, 10, key="only-once")
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.add(PointsEntry(volunteer_id=volunteer.id, delta=5, kind="award", reference="x",
                                   description="x", idempotency_key="only-once"))
        db.session.flush()
    db.session.rollback()


def test_verify_names_a_balance_that_drifted_from_its_entries(app):
    volunteer = factories.make_user()
    award(volunteer, 10)
    db.session.commit()
    assert run_all()["balances_equal_their_entries"] == []
    db.session.execute(text("UPDATE users SET points_balance = 50 WHERE id = :id"), {"id": volunteer.id})
    db.session.commit()
    assert run_all()["balances_equal_their_entries"] == [
        f"users id {volunteer.id}: points_balance 50 but its entries sum to 10"]


def test_history_is_newest_first_and_paged(app):
    volunteer = factories.make_user()
    for n in range(25):
        award(volunteer, n + 1, key=f"k{n}")
    db.session.commit()
    page = points.history(volunteer, page=1)
    assert [e.delta for e in page.items][:3] == [25, 24, 23] and len(page.items) == 20 and page.has_next
    assert [e.delta for e in points.history(volunteer, page=2).items] == [5, 4, 3, 2, 1]


def test_earned_this_month_counts_awards_less_reversed_awards(app):
    from datetime import datetime

    volunteer = factories.make_user()
    kept = award(volunteer, 10, key="a")
    taken_back = award(volunteer, 5, key="b")
    points.reverse(taken_back, reason="重复")
    points.spend(volunteer, 3, reference="redemption:1", description="牙膏", key="s")
    db.session.commit()
    assert points.earned_since(volunteer, datetime(2000, 1, 1)) == 10
    assert points.balance(volunteer) == 7
    assert kept.volunteer_id == volunteer.id and db.session.get(User, volunteer.id).points_balance == 7
