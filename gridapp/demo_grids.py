"""The demo's second grid: 迪祥佳苑A区, smaller than B区, with its own staff login, so that the grid
scope can be tried (log in as A区's grid worker and B区's records are not there)."""
from datetime import time, timedelta

from sqlalchemy import select

from .auth.models import User
from .clock import from_local, to_local
from .community.models import Household
from .counter.models import RedemptionDay
from .duty.models import DutySession, DutyType
from .extensions import db
from .goods import donations
from .goods.models import Item, Sponsor
from .org.models import OrgUnit, StaffAssignment
from .org.scope import scoped_to

COMMUNITY_ID, GRID_B_ID = 3, 4
GRID_A = dict(level_name="网格", name="迪祥佳苑A区", code="DXA", is_grid=True, position=1,
              organiser="迪祥佳苑A区网格党支部", counter_place="迪祥佳苑A区物业楼前", counter_hours="15:00—18:00",
              contact="0994-5821002")
GRID_A_STAFF = ("13800000007", "王晓燕")
GRID_A_VOLUNTEERS = [("13909950001", "刘春梅", ("21", "1", "101")), ("13909950002", "阿依古丽·买买提", ("21", "2", "302")),
                     ("13909950003", "孙志强", ("22", "1", "201")), ("13909950004", "马文华", ("23", "1", "502"))]
# Names of A区's own (re-seeding B区 looks its items up by name, outside any grid scope).
GRID_A_ITEMS = [("卷纸", "包", "日用品", 10, 4, 40), ("洗衣液", "瓶", "日用品", 60, 1, 12), ("挂面", "袋", "粮油", 30, 2, 20)]


def seed_second_grid(password_hash: str, now) -> int:
    """Add 迪祥佳苑A区 (a few households and volunteers, a grid worker, tonight's patrol, a counter day next
    week, some stock); B区's staff and the admin are assigned by ``org.demo.seed_assignments``.
    Idempotent: returns 1 when the grid was added, 0 when it was there."""
    if db.session.scalars(select(OrgUnit).where(OrgUnit.code == GRID_A["code"])).first() is not None:
        return 0
    grid = OrgUnit(parent_id=COMMUNITY_ID, **GRID_A)
    db.session.add(grid)
    db.session.flush()
    with scoped_to(grid):
        staff = User(phone=GRID_A_STAFF[0], name=GRID_A_STAFF[1], role="staff", status="active",
                     password_hash=password_hash, reviewed_at=now)
        db.session.add(staff)
        db.session.flush()
        db.session.add(StaffAssignment(user_id=staff.id, unit_id=grid.id))
        volunteers = []
        for phone, name, (building, unit, room) in GRID_A_VOLUNTEERS:
            household = Household(building=building, unit=unit, room=room)
            volunteers.append(User(phone=phone, name=name, role="volunteer", status="active", household=household,
                                   password_hash=password_hash, reviewed_at=now))
        db.session.add_all(volunteers)
        patrol = db.session.scalars(select(DutyType).where(DutyType.name == "安全巡逻")).first() or \
            db.session.scalars(select(DutyType).limit(1)).first()
        today = to_local(now).date()
        starts = from_local(today, time(20, 0))
        db.session.add(DutySession(duty_type=patrol, title="A区夜间巡逻", place="迪祥佳苑A区北门", starts_at=starts,
                                   ends_at=starts + timedelta(hours=2), checkin_opens_at=starts - timedelta(minutes=30),
                                   checkin_closes_at=starts + timedelta(hours=2), points=patrol.default_points,
                                   created_by_id=staff.id))
        db.session.add(RedemptionDay(day=today + timedelta(days=7), reason="A区小型兑换日",
                                     added_by_id=staff.id))
        items = []
        for name, unit, category, price, limit, threshold in GRID_A_ITEMS:
            items.append(Item(name=name, unit=unit, category=category, points_price=price, monthly_limit=limit,
                              low_stock_threshold=threshold // 4))
        db.session.add_all(items)
        db.session.flush()
        sponsor = db.session.scalars(select(Sponsor).order_by(Sponsor.id).limit(1)).first()
        if sponsor is not None:
            donations.issue(staff, sponsor=sponsor, received_on=today - timedelta(days=10),
                            lines=[donations.Line(item, qty, None) for item, (*_, qty) in zip(items, GRID_A_ITEMS)],
                            note="A区积分兑换物资")
    return 1
