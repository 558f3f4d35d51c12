"""Gap-free document numbers (donation receipts JZ-2026-0001, redemption receipts …).

The counter row is moved by an UPDATE inside the caller's transaction: concurrent issuers
queue on the row lock, and a rolled-back transaction takes its number back with it, so
numbers have no gaps and are never reused.
"""
from functools import cache

from sqlalchemy import PrimaryKeyConstraint, bindparam, update
from sqlalchemy.exc import IntegrityError

from .extensions import db


class NumberSequence(db.Model):
    __tablename__ = "number_sequences"
    __table_args__ = (PrimaryKeyConstraint("series", "year"),)

    series = db.Column(db.String(16), nullable=False)  # JZ-DXB: the kind and the grid
    year = db.Column(db.Integer, nullable=False)
    last = db.Column(db.Integer, nullable=False, default=0)


def next_number(series: str, year: int) -> int:
    """The next number of ``series`` in ``year`` (1, 2, 3 …), taken in the current transaction.

    The counter row stays locked until the transaction ends (that is what keeps the numbers gap-free),
    so a caller that does more work takes its number last, just before it commits."""
    number = _move(series, year)
    if number is None:  # the year's first number: make its counter (one statement more, once a year)
        try:
            with db.session.begin_nested():
                db.session.add(NumberSequence(series=series, year=year, last=0))
        except IntegrityError:
            pass  # another transaction created this year's counter first
        number = _move(series, year)
    return number


@cache
def _move_statement():
    """Built once: SQLAlchemy finds its compiled SQL without building and walking it again."""
    return (update(NumberSequence)
            .where(NumberSequence.series == bindparam("b_series"), NumberSequence.year == bindparam("b_year"))
            .values(last=NumberSequence.last + 1).returning(NumberSequence.last)
            .execution_options(synchronize_session=False))


def _move(series: str, year: int) -> int | None:
    return db.session.execute(_move_statement(), {"b_series": series, "b_year": year}).scalar_one_or_none()


def formatted(series: str, year: int, number: int) -> str:
    return f"{series}-{year}-{number:04d}"
