"""Report invariants, run by `flask verify` and the tests: photo files match their rows, and a
report is paid at most once."""
from sqlalchemy import select, text

from ..extensions import db
from ..invariants import invariant
from . import photos
from .models import ReportPhoto


@invariant
def report_photo_files_match_rows():
    """Every photo row has both its files in the store, and every file in the store has its row."""
    store = photos.store()
    on_disk = store.names()
    expected = set()
    for photo_id, key in db.session.execute(select(ReportPhoto.id, ReportPhoto.key).order_by(ReportPhoto.id)):
        for name in photos.file_names(key):
            expected.add(name)
            if name not in on_disk:
                yield f"report_photos id {photo_id}: file {name} is missing"
    for name in sorted(on_disk - expected):
        if not name.startswith(".incoming-"):
            yield f"uploads/reports/{name}: no report_photos row (orphaned file)"


@invariant
def each_report_is_paid_at_most_once():
    """A report has at most one unreversed award; a declined or new report has none, and a paid
    report points at its unreversed award."""
    rows = db.session.execute(text("""
        SELECT r.id, r.status, r.points_entry_id,
               (SELECT COUNT(*) FROM points_entries e
                WHERE e.reference = 'report:' || r.id AND e.kind = 'award'
                  AND NOT EXISTS (SELECT 1 FROM points_entries x WHERE x.reverses_id = e.id)) AS live
        FROM reports r ORDER BY r.id"""))
    for report_id, status, entry_id, live in rows:
        if live > 1:
            yield f"reports id {report_id}: {live} unreversed awards"
        elif live and status in ("new", "declined"):
            yield f"reports id {report_id} ({status}): holds an unreversed award"
        elif live and entry_id is None:
            yield f"reports id {report_id}: paid, but points at no award"
