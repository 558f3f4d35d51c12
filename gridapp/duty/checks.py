"""Duty invariants, run by `flask verify` and the tests."""
from sqlalchemy import text

from ..extensions import db
from ..invariants import invariant
from .models import HOLDS_A_PLACE


@invariant
def each_attendance_is_paid_at_most_once():
    """A confirmed attendance has exactly one unreversed award, and it is the one it points at;
    any other attendance has none."""
    rows = db.session.execute(text("""
        SELECT a.id, a.status, a.award_entry_id,
               (SELECT COUNT(*) FROM points_entries e
                WHERE e.reference = 'checkin:' || a.id AND e.kind = 'award'
                  AND NOT EXISTS (SELECT 1 FROM points_entries r WHERE r.reverses_id = e.id)) AS live,
               (SELECT COUNT(*) FROM points_entries r WHERE r.reverses_id = a.award_entry_id) AS pointed_reversed
        FROM attendances a ORDER BY a.id"""))
    for attendance_id, status, award_id, live, pointed_reversed in rows:
        expected = 1 if status == "confirmed" else 0
        if live != expected:
            yield f"attendances id {attendance_id} ({status}): {live} unreversed awards, expected {expected}"
        elif status == "confirmed" and pointed_reversed:
            yield f"attendances id {attendance_id}: points at award {award_id}, which was reversed"


@invariant
def places_taken_match_attendances():
    """A session's ``taken`` equals the attendances holding a place."""
    holders = ", ".join(f"'{status}'" for status in HOLDS_A_PLACE)
    rows = db.session.execute(text(f"""
        SELECT s.id, s.taken, (SELECT COUNT(*) FROM attendances a
                               WHERE a.session_id = s.id AND a.status IN ({holders})) AS held
        FROM duty_sessions s ORDER BY s.id"""))
    for session_id, taken, held in rows:
        if taken != held:
            yield f"duty_sessions id {session_id}: taken {taken} but {held} attendances hold a place"
