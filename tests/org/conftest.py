"""The tree migration 0014 writes (十二师 → 三坪农场 → 屯坪社区 → 迪祥佳苑B区) and admins assigned to its units."""
import pytest

from gridapp.extensions import db
from gridapp.org.models import OrgUnit, StaffAssignment

from .. import factories


def unit(code: str) -> OrgUnit:
    return db.session.scalars(db.select(OrgUnit).where(OrgUnit.code == code)).one()


def assign(user, *units):
    for each in units:
        db.session.add(StaffAssignment(user_id=user.id, unit_id=each.id))
    db.session.commit()
    return user


@pytest.fixture
def tree(app):
    """The units by level: division, farm, community, grid."""
    class Tree:
        division, farm, community, grid = unit("XJ12"), unit("SPNC"), unit("TPSQ"), unit("DXB")
    return Tree


@pytest.fixture
def community_admin(tree):
    return assign(factories.make_user(role="admin", name="社区管理员"), tree.community)


@pytest.fixture
def division_admin(tree):
    return assign(factories.make_user(role="admin", name="师管理员"), tree.division)
