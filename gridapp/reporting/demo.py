"""The demo's division viewer (上级查看): an officer of 第十二师 who sees the roll-ups of the division, its farms
and communities (figures only), and no operational page."""
from sqlalchemy import select

from ..auth.models import User
from ..extensions import db
from ..org.models import OrgUnit, StaffAssignment

VIEWER = ("13800000008", "周文斌")
DIVISION_CODE = "XJ12"


def seed_viewer(password_hash: str, now) -> int:
    """Add the viewer login, assigned to the division (the first unit of the tree without a parent when
    its code is not 第十二师's). Idempotent: returns 1 when added, 0 when it was there."""
    if db.session.scalars(select(User).where(User.phone == VIEWER[0])).first() is not None:
        return 0
    division = db.session.scalars(select(OrgUnit).where(OrgUnit.code == DIVISION_CODE)).first() or \
        db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.id)).first()
    viewer = User(phone=VIEWER[0], name=VIEWER[1], role="viewer", status="active", password_hash=password_hash,
                  reviewed_at=now)
    db.session.add(viewer)
    db.session.flush()
    if division is not None:
        db.session.add(StaffAssignment(user_id=viewer.id, unit_id=division.id))
    return 1
