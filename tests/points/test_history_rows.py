"""The history pages' plain rows show what the ledger's entities hold, and name a confirmer of any grid."""
from datetime import datetime

from sqlalchemy import event, select

from gridapp.extensions import db
from gridapp.org.models import OrgUnit
from gridapp.org.scope import scoped_to
from gridapp.points import service as points
from gridapp.points.models import PointsEntry

from .. import factories
from ..org.test_grid_scope import grid_b  # noqa: F401 (a fixture: a second grid of the community)


def _ledger(grid_b):
    staff = factories.make_user(role="staff", name="网格员甲")
    volunteer = factories.make_user(name="志愿者甲")
    with scoped_to(grid_b):
        other_grid = factories.make_user(name="乙网格志愿者")  # a volunteer of grid B as the confirmer
    at = datetime(2026, 11, 20, 2, 0)
    points.award(volunteer, 5, reference="t:1", description="巡逻", key="h1", by=staff, at=at)
    points.award(volunteer, 7, reference="t:2", description="扫雪", key="h2", at=at)
    points.award(volunteer, 3, reference="t:3", description="宣传", key="h3", by=other_grid, at=at)
    db.session.commit()
    return volunteer


def _shown(lines):
    return [(e.id, e.kind, e.delta, e.description, e.created_at, e.created_by.name if e.created_by else None)
            for e in lines]


def test_history_rows_show_the_same_lines_as_the_ledgers_entities(app, grid_b):
    volunteer = _ledger(grid_b)
    entities = db.session.scalars(select(PointsEntry).where(PointsEntry.volunteer_id == volunteer.id)
                                  .order_by(PointsEntry.id.desc())).all()
    assert _shown(points.history(volunteer, page=1, per_page=10).items) == _shown(entities)
    assert [(line[2], line[5]) for line in _shown(points.history(volunteer, page=1, per_page=10).items)] == [
        (3, "乙网格志愿者"), (7, None), (5, "网格员甲")]


def test_history_rows_under_a_scope_name_a_confirmer_of_another_grid(app, grid_b):
    """Under the volunteer's grid scope the page still names who confirmed each line, a user of another
    grid too (what an entry points at is followed freely), and it takes two statements: lines and count."""
    volunteer = _ledger(grid_b)
    sent = []

    def record(_conn, _cursor, statement, *_args):
        if "points_entries" in statement:
            sent.append(statement)

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with scoped_to(db.session.get(OrgUnit, volunteer.grid_id)):
            page = points.history(volunteer, page=1, per_page=10)
            lines = _shown(page.items)
            total = page.total
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert [(line[2], line[5]) for line in lines] == [(3, "乙网格志愿者"), (7, None), (5, "网格员甲")]
    assert total == 3 and len(sent) == 2
