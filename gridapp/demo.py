"""The demo world of the source report: Dixiang Jiayuan B District, Tunping Community, Sanping Farm.

``seed_demo()`` is idempotent: it adds what is missing and changes nothing that exists.
"""
import random
from datetime import datetime, timedelta

from sqlalchemy import select

from .auth.models import User
from .auth.passwords import hash_password
from .clock import to_local, utcnow
from .community.models import Household, Team
from .database import savepoint
from .extensions import db
from .goods.models import Sponsor
from .org.demo import seed_assignments
from .reports.demo import seed_reports
from .publicity.demo import seed_postings
from .demo_grids import seed_second_grid
from .reporting.demo import seed_viewer

DEMO_PASSWORD = "gridapp2026"

# (phone, name, role, sponsor name or None, note) — the logins README lists and `make run` prints.
DEMO_LOGINS = [
    ("13800000001", "张亚鹏", "admin", None, "社区党总支书记（管理员）"),
    ("13800000002", "贾亮", "staff", None, "B区网格长（网格员）"),
    ("13800000003", "蒋生军", "volunteer", None, "居民志愿者"),
    ("13800000004", "李海燕", "sponsor", "新疆丝路天山国际食品城", "爱心企业：食品城"),
    ("13800000005", "艾力努尔·拜克力", "sponsor", "迪祥佳苑物业服务中心", "爱心企业：物业公司主管"),
]
DEMO_VOLUNTEER_PHONE = DEMO_LOGINS[2][0]
# The demo volunteer's own story: the weekly patrols he walks and what he takes at each counter day.
DEMO_VOLUNTEER_DUTIES = ("南门夜间巡逻", "北门夜间巡逻")
DEMO_VOLUNTEER_BASKET = (("抽纸", 2), ("牙膏", 1), ("香皂", 1))  # what is left of it on the day
# A resident who registered on her phone and waits for a grid worker's approval.
DEMO_PENDING = ("13800000006", "马静", ("3", "2", "401"))

SPONSORS = [
    ("新疆丝路天山国际食品城", "enterprise", "李海燕", "0994-5821001", "三坪农场食品城大道1号"),
    ("三坪农场医院", "institution", "周建华", "0994-5821120", "三坪农场健康路8号"),
    ("迪祥佳苑物业服务中心", "property", "艾力努尔·拜克力", "0994-5821234", "迪祥佳苑B区物业楼"),
    ("康泰大药房（三坪店）", "shop", "王丽", "13909941001", "屯坪社区商业街12号"),
    ("小雨点理发店", "shop", "陈雨", "13909941002", "屯坪社区商业街20号"),
    ("屯坪便民超市", "shop", "赵德明", "13909941003", "迪祥佳苑B区南门"),
    ("三坪农场供销社", "enterprise", "孙志强", "0994-5821300", "三坪农场团结路3号"),
    ("乌鲁木齐综合保税区服务中心", "institution", "阿依古丽·买买提", "0991-3881000", "乌鲁木齐综合保税区"),
    ("天山日用百货商行", "shop", "刘芳", "13909941004", "屯坪社区商业街5号"),
    ("惠民粮油店", "shop", "马福林", "13909941005", "屯坪社区商业街9号"),
    ("三坪供水有限公司", "enterprise", "吐尔逊·艾买提", "0994-5821400", "三坪农场水厂路1号"),
    ("三坪燃气服务站", "enterprise", "杨军", "0994-5821500", "三坪农场东环路6号"),
    ("三坪供电服务站", "enterprise", "何卫东", "0994-5821600", "三坪农场东环路10号"),
    ("美佳洗化店", "shop", "古丽米拉·艾山", "13909941006", "屯坪社区商业街15号"),
    ("阳光家电维修部", "shop", "黄振宇", "13909941007", "屯坪社区商业街18号"),
    ("丰收农资店", "shop", "韩春生", "13909941008", "三坪农场团结路11号"),
]

TEAMS = [
    ("环保小卫士", "环境卫生整治、垃圾分类宣传"),
    ("小雨点义剪", "为老人和行动不便的居民上门义剪"),
    ("微光义诊", "联合三坪农场医院、药店入户义诊"),
    ("平安巡逻队", "小区夜间安全巡逻、排查安全隐患"),
    ("扫雪除冰突击队", "雪天清扫道路和背街小巷"),
    ("政策宣传队", "政策宣传、普法宣传进楼栋"),
    ("银龄互助队", "低龄老人结对帮扶高龄独居老人"),
    ("代买代购服务队", "为独居老人代买生活用品"),
    ("技能培训服务队", "家电维修、手机使用等技能培训"),
    ("红色管家服务队", "物业、业委会协同解决居民诉求"),
]

BUILDINGS, UNITS, FLOORS, ROOMS_PER_FLOOR = 11, 5, 5, 2  # 11 × 5 × 10 = 550 households

HAN_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢祁"
HAN_GIVEN = ["建国", "秀英", "桂兰", "志强", "海燕", "玉梅", "建华", "红梅", "春生", "丽娟", "国庆", "淑珍",
             "文军", "晓燕", "德明", "凤英", "振华", "小红", "金花", "永福", "卫东", "静", "娟", "勇", "磊",
             "军", "芳", "敏", "霞", "刚", "平", "伟", "婷", "生勇", "秀琴", "立明", "亚军", "新疆", "兵团"]
UYGHUR_NAMES = ["阿依古丽·买买提", "买买提·吐尔逊", "古丽米拉·艾山", "热依拉·阿不都", "阿不都热合曼·托合提",
                "努尔艾力·吾守尔", "迪丽娜尔·艾则孜", "帕尔哈提·伊敏", "祖丽皮耶·热合曼", "艾克拜尔·米吉提",
                "阿迪力·吐尔洪", "麦尔哈巴·阿不力孜", "依明江·肉孜", "再努尔·买合木提", "米热古丽·库尔班",
                "吐尔洪·司马义", "阿力木江·艾海提", "努尔比耶·阿布力米提"]
KAZAKH_HUI_NAMES = ["哈力木拉提·努尔兰", "阿依达娜·叶尔兰", "马占福", "马秀兰", "海丽且姆·哈力克"]
VOLUNTEER_COUNT = 180


def household_addresses():
    for building in range(1, BUILDINGS + 1):
        for unit in range(1, UNITS + 1):
            for floor in range(1, FLOORS + 1):
                for room in range(1, ROOMS_PER_FLOOR + 1):
                    yield str(building), str(unit), f"{floor}0{room}"


def volunteer_names(rng: random.Random, count: int) -> list[str]:
    names, seen = [], set()
    minority = UYGHUR_NAMES + KAZAKH_HUI_NAMES
    while len(names) < count:
        if rng.random() < 0.25:
            name = rng.choice(minority)
            if name in seen:
                name = f"{name.split('·')[0]}·{rng.choice(minority).split('·')[-1]}"
        else:
            name = rng.choice(HAN_SURNAMES) + rng.choice(HAN_GIVEN)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _get_or_add(model, defaults: dict, **key):
    row = model.query.filter_by(**key).one_or_none()
    if row is None:
        row = model(**key, **defaults)
        db.session.add(row)
    return row


DUTY_TYPES = [("安全巡逻", 10), ("环境卫生整治", 10), ("政策宣传", 5), ("扫雪除冰", 15)]
HISTORY_WEEKS = 26
# (type, title, place, weekday (Mon=0), local start hour:minute, hours, capacity)
WEEKLY_DUTIES = [
    ("安全巡逻", "南门夜间巡逻", "B区南门岗亭", 1, (19, 30), 1.5, 12),
    ("安全巡逻", "北门夜间巡逻", "B区北门岗亭", 4, (19, 30), 1.5, 12),
    ("环境卫生整治", "周六环境卫生整治", "B区中心广场", 5, (9, 0), 2, 30),
]
MONTHLY_PUBLICITY = ("政策宣传", "政策宣传进楼栋", "网格党支部活动室")
SNOW_DAYS_AGO = (20, 13, 6)  # recent snowfalls


def _local_time(day, hour_minute):
    from datetime import time

    from .clock import from_local

    return from_local(day, time(*hour_minute))


SOON_PATROL_TITLES = ("今晚夜间巡逻", "今日白天巡逻")  # at night, by day


def soon_patrol_title(now: datetime) -> str:
    """The title of the patrol the demo starts 20 minutes after ``now``: a night patrol in the evening and
    at night, a daytime one otherwise (a "tonight" patrol at ten in the morning would read oddly)."""
    hour = to_local(now + timedelta(minutes=20)).hour
    return SOON_PATROL_TITLES[0] if hour >= 18 or hour < 6 else SOON_PATROL_TITLES[1]


def seed_duty(rng: random.Random, staff: User, volunteers: list[User], now, crowd: float = 1.0) -> int:
    """Duty types, half a year of past sessions with ~1,200 confirmed participations, and this week's sessions.

    Everything goes through the duty and points services, so the ledger is built as in real use.
    Returns the number of participations added (0 when duty data exists already).
    """

    from .clock import to_local
    from .duty import service as duty
    from .duty.models import DutySession, DutyType

    types = {name: _get_or_add(DutyType, dict(default_points=pts), name=name) for name, pts in DUTY_TYPES}
    db.session.flush()
    if DutySession.query.first() is not None:
        return 0
    today = to_local(now).date()
    plans = []  # (type, title, place, starts_at, hours, capacity)
    for week in range(HISTORY_WEEKS, -2, -1):
        monday = today - timedelta(days=today.weekday(), weeks=week)
        for type_name, title, place, weekday, at, hours, capacity in WEEKLY_DUTIES:
            plans.append((type_name, title, place, _local_time(monday + timedelta(days=weekday), at), hours, capacity))
        if monday.day <= 7:
            plans.append((*MONTHLY_PUBLICITY, _local_time(monday + timedelta(days=2), (15, 0)), 2, 20))
    for days_ago in SNOW_DAYS_AGO:
        plans.append(("扫雪除冰", "扫雪除冰：主干道和背街小巷", "B区南门集合", _local_time(
            today - timedelta(days=days_ago), (8, 0)), 3, None))
    # A patrol opens for check-in within the hour, so the demo can be tried at once.
    plans.append(("安全巡逻", soon_patrol_title(now), "B区南门岗亭", now + timedelta(minutes=20), 2, 15))

    # Some volunteers come often, most now and then: weights make the history look lived in.
    # The README's volunteer is not left to chance: he walks both weekly patrols and clears snow,
    # so on any date he has half a year of history and hundreds of points.
    demo_volunteer = next((v for v in volunteers if v.phone == DEMO_VOLUNTEER_PHONE), None)
    others = [v for v in volunteers if v is not demo_volunteer]
    weights = [rng.choice((1, 1, 1, 2, 3, 6)) for _ in others]
    participations = 0
    for type_name, title, place, starts_at, hours, capacity in sorted(plans, key=lambda p: p[3]):
        [session] = duty.schedule(staff, duty_type=types[type_name], title=title, place=place, starts_at=starts_at,
                                  ends_at=starts_at + timedelta(hours=hours), capacity=capacity)
        if session.ends_at >= now:
            continue
        wanted = min(capacity or 35, rng.randint(9, 22) if type_name != "扫雪除冰" else rng.randint(22, 35))
        wanted = max(2, round(wanted * crowd))
        chosen = list({id(v): v for v in rng.choices(others, weights=weights, k=wanted)}.values())
        if demo_volunteer is not None and (title in DEMO_VOLUNTEER_DUTIES or type_name == "扫雪除冰"):
            chosen = [demo_volunteer] + chosen[:wanted - 1]
        for volunteer in chosen:
            arrived = session.starts_at - timedelta(minutes=rng.randint(0, 25))
            attendance = duty.check_in(volunteer, session, arrived)
            if rng.random() < 0.8:
                duty.check_out(volunteer, session, session.ends_at - timedelta(minutes=rng.randint(0, 10)))
            duty.confirm(staff, attendance, session.ends_at + timedelta(hours=1))
            participations += 1
    db.session.flush()
    return participations


# (name, unit, category, points price, monthly limit per volunteer, low-stock threshold)
ITEMS = [
    ("烧水壶", "个", "家电", 120, 1, 3),
    ("床单", "条", "床品", 80, 1, 5),
    ("抽纸", "包", "日用品", 10, 6, 20),
    ("洗衣粉", "袋", "日用品", 20, 3, 10),
    ("牙膏", "支", "日用品", 10, 4, 10),
    ("碗筷套装", "套", "厨具", 40, 1, 5),
    ("香皂", "个", "日用品", 8, 4, 10),
    ("毛巾", "条", "日用品", 15, 2, 10),
    ("食用油", "瓶", "粮油", 50, 1, 5),
]
# Per household a month, all its members together (a kettle per household): the table's rule.
HOUSEHOLD_LIMITS = {"烧水壶": 1, "碗筷套装": 1, "食用油": 2}
# Which sponsor gives what: (sponsor, [(item, quantity, estimated unit value in yuan)], months ago)
DONATIONS = [
    ("新疆丝路天山国际食品城", [("食用油", 40, 45), ("抽纸", 80, 3)], 5),
    ("迪祥佳苑物业服务中心", [("烧水壶", 25, 60), ("床单", 15, 50)], 5),
    ("屯坪便民超市", [("牙膏", 40, 8), ("香皂", 30, 4)], 4),
    ("三坪农场供销社", [("洗衣粉", 40, 12)], 4),
    ("天山日用百货商行", [("碗筷套装", 25, 25), ("毛巾", 30, 10)], 3),
    ("美佳洗化店", [("洗衣粉", 20, 12), ("香皂", 20, 4)], 3),
    ("康泰大药房（三坪店）", [("牙膏", 30, 9)], 3),
    ("惠民粮油店", [("食用油", 15, 48)], 2),
    ("三坪农场医院", [("毛巾", 20, 10)], 2),
    ("小雨点理发店", [("毛巾", 10, 10)], 2),
    ("三坪供水有限公司", [("烧水壶", 10, 65)], 2),
    ("三坪燃气服务站", [("碗筷套装", 15, 25)], 1),
    ("三坪供电服务站", [("抽纸", 60, 3)], 1),
    ("阳光家电维修部", [("烧水壶", 6, 70)], 1),
    ("乌鲁木齐综合保税区服务中心", [("床单", 15, 55)], 1),
    ("丰收农资店", [("洗衣粉", 20, 12), ("抽纸", 30, 3)], 0),
]


def seed_goods(staff: User, today) -> int:
    """Items of the report and ~600 donated items from the 16 sponsors; returns items donated (0 if done before)."""

    from .goods import donations
    from .goods.models import Donation, Item

    items = {}
    for name, unit, category, price, limit, threshold in ITEMS:
        items[name] = _get_or_add(Item, dict(unit=unit, category=category, points_price=price, monthly_limit=limit,
                                             household_monthly_limit=HOUSEHOLD_LIMITS.get(name),
                                             low_stock_threshold=threshold), name=name)
    db.session.flush()
    if Donation.query.first() is not None:
        return 0
    total = 0
    for sponsor_name, lines, months_ago in DONATIONS:
        sponsor = Sponsor.query.filter_by(name=sponsor_name).one()
        donations.issue(staff, sponsor=sponsor, received_on=today - timedelta(days=30 * months_ago + 3),
                        lines=[donations.Line(items[name], qty, value * 100) for name, qty, value in lines],
                        note="积分兑换爱心物资")
        total += sum(qty for _, qty, _ in lines)
    return total


# This month's restock, received after the past counter days emptied the cheap shelves.
RESTOCK = ("新疆丝路天山国际食品城", [("抽纸", 40, 3), ("洗衣粉", 20, 12), ("牙膏", 30, 8), ("香皂", 20, 4),
                                   ("毛巾", 15, 10)])
REDEMPTION_MONTHS = 5
REDEMPTIONS_PER_DAY = 92  # ~460 in all, as in the report


def seed_counter(rng: random.Random, staff: User, volunteers: list[User], now, crowd: float = 1.0) -> int:
    """Past month-end counter days with ~460 redemptions through the counter service (a few voided).

    Returns the number of redemptions added (0 when counter data exists already).
    """
    from datetime import time

    from .clock import from_local
    from .counter import service as counter
    from .counter.models import CounterSession
    from .counter.schedule import last_day_of_month
    from .goods.models import Item

    if CounterSession.query.first() is not None:
        return 0
    demo_volunteer = User.query.filter_by(phone=DEMO_VOLUNTEER_PHONE).one_or_none()
    today = to_local(now).date()
    month_end = last_day_of_month(today)
    days = []
    for _ in range(REDEMPTION_MONTHS):
        month_end = last_day_of_month(month_end.replace(day=1) - timedelta(days=1))
        days.append(month_end)
    made = 0
    # Duty moved everybody's balance (each award expires the user's cached balance): read them all in one
    # query instead of one per person at the first "who has points to spend" below.
    db.session.scalars(select(User).where(User.id.in_([v.id for v in volunteers]))).all()
    for day in sorted(days):
        session = counter.open_session(staff, day)
        opened = from_local(day, time(9, 30))
        if demo_volunteer is not None:  # first in the queue every month
            at = opened - timedelta(minutes=5)
            wanted = {Item.query.filter_by(name=name).one().id: qty for name, qty in DEMO_VOLUNTEER_BASKET}
            lines = {s.item.id: s.quantity for s in counter.basket(demo_volunteer, wanted, at).lines}
            if lines:
                counter.redeem(staff, session, demo_volunteer, lines, token=f"demo-{day}-first", now=at)
                made += 1
        for n in range(round(REDEMPTIONS_PER_DAY * crowd)):
            # Those who come to the counter are those with points to spend.
            volunteer = rng.choice([v for v in volunteers if v.points_balance >= 10] or volunteers)
            at = opened + timedelta(minutes=2 * n)
            basket = counter.basket(volunteer, {}, at)
            choices = [s for s in basket.states if s.can_take_more and s.item.points_price <= volunteer.points_balance]
            if not choices:
                continue
            wanted, budget = {}, volunteer.points_balance
            for state in rng.sample(choices, k=min(len(choices), rng.choice((1, 1, 1, 1, 2)))):
                if state.item.points_price <= budget:
                    wanted[state.item.id] = 1
                    budget -= state.item.points_price
            redemption = counter.redeem(staff, session, volunteer, wanted, token=f"demo-{day}-{n}", now=at)
            if rng.random() < 0.02:
                counter.void(staff, redemption, "志愿者改换其他物品", at + timedelta(minutes=1))
            made += 1
        counter.close_session(staff, session, from_local(day, time(17, 0)))
    from .goods import donations

    sponsor_name, lines = RESTOCK
    donations.issue(staff, sponsor=Sponsor.query.filter_by(name=sponsor_name).one(), received_on=today,
                    lines=[donations.Line(Item.query.filter_by(name=name).one(), qty, value * 100)
                           for name, qty, value in lines], note="本月补货")
    return made


def seed_demo(now: datetime | None = None, crowd: float = 1.0) -> dict[str, int]:
    """Add the demo world where missing; returns how many rows of each kind were added.

    The world is built around ``now`` (default: the clock) and is the same for the same ``now``:
    on any date the README's volunteer has half a year of duty, past redemptions, hundreds of
    points and a patrol to check in to within the hour.

    ``crowd`` scales everybody else's duty and redemptions (1: the report's figures); the tests that
    seed the world at many dates use less, since the demo volunteer's story does not depend on it.

    The whole seeding is one atomic operation (one SAVEPOINT): the services it calls share it instead
    of each opening and releasing a savepoint of its own (thousands of statements and flushes), and it
    stays all or nothing — an error leaves none of it behind, as an error in any one service would.
    """
    with savepoint():
        return _seed_demo(now or utcnow(), crowd)


def _seed_demo(now: datetime, crowd: float) -> dict[str, int]:
    before = {m.__tablename__: m.query.count() for m in (Sponsor, Team, Household, User)}
    rng = random.Random(20261226)  # the snow-clearing day of the report; fixed so reruns agree
    password_hash = hash_password(DEMO_PASSWORD)  # one hash for every demo account keeps seeding quick

    sponsors = {}
    for name, kind, contact, phone, address in SPONSORS:
        sponsors[name] = _get_or_add(Sponsor, dict(kind=kind, contact_person=contact, phone=phone,
                                                   address=address), name=name)
    teams = [_get_or_add(Team, dict(description=desc), name=name) for name, desc in TEAMS]
    existing = {(h.building, h.unit, h.room): h for h in Household.query}
    households = []
    for address in household_addresses():
        if address not in existing:
            existing[address] = Household(building=address[0], unit=address[1], room=address[2])
            db.session.add(existing[address])
        households.append(existing[address])
    db.session.flush()

    phones = {phone for (phone,) in db.session.query(User.phone)}

    def add_user(phone, **fields):
        if phone not in phones:
            phones.add(phone)
            fields.setdefault("reviewed_at", now)
            db.session.add(User(phone=phone, password_hash=password_hash, **fields))

    for phone, name, role, sponsor_name, _note in DEMO_LOGINS:
        extra = {}
        if role == "volunteer":
            extra = dict(household=existing[("2", "1", "301")], team=teams[3])
        add_user(phone, name=name, role=role, status="active", sponsor=sponsors.get(sponsor_name), **extra)
    phone, name, address = DEMO_PENDING
    add_user(phone, name=name, role="volunteer", status="pending", household=existing[address],
             team=teams[0], reviewed_at=None)
    for index, name in enumerate(volunteer_names(rng, VOLUNTEER_COUNT)):
        add_user(f"1390994{index:04d}", name=name,
                 role="volunteer", status="active", household=rng.choice(households),
                 team=rng.choice(teams) if rng.random() < 0.8 else None)
    db.session.flush()
    added = {name: model.query.count() - before[name]
             for name, model in (("sponsors", Sponsor), ("teams", Team), ("households", Household),
                                 ("users", User))}
    staff = User.query.filter_by(phone=DEMO_LOGINS[1][0]).one()
    volunteers = User.query.filter_by(role="volunteer", status="active").order_by(User.id).all()
    added["participations"] = seed_duty(rng, staff, volunteers, now, crowd)
    added["donated items"] = seed_goods(staff, to_local(now).date())
    # 蒋生军, the demo volunteer, redeems the same small basket each month and keeps most of his points.
    regulars = [v for v in volunteers if v.phone != DEMO_VOLUNTEER_PHONE]
    added["redemptions"] = seed_counter(rng, staff, regulars, now, crowd)
    added["snow campaigns"] = seed_campaigns(rng, staff, regulars, now)
    added["reports"] = seed_reports(rng, staff, volunteers, now)
    added["points postings"] = seed_postings(rng, staff, regulars, now)
    added["unit assignments"] = seed_assignments(User.query.filter(User.role.in_(("staff", "admin"))).all())
    added["second grid"] = seed_second_grid(password_hash, now)
    added["division viewer"] = seed_viewer(password_hash, now)
    return added


# 按区域分工 as on 26 December: (name, description, team, leader, leader phone, people needed)
SNOW_ZONES = [
    ("南门片区", "南门至奋进路人行道", "网格党支部", "贾亮", "13800000002", 8),
    ("北门片区", "北门至团结路人行道及地面停车场", "三坪农场医院在职党员", "艾力努尔·拜克力", "13909941234", 8),
    ("中心广场", "中心广场、健身区及周边道路", "环保小卫士", "阿不都热合曼·托合提", "13909940011", 6),
    ("1—4号楼", "1至4号楼楼前道路、单元门口台阶", "扫雪除冰突击队", "古丽米拉·艾山", "13909941006", 6),
    ("5—8号楼", "5至8号楼楼前道路、单元门口台阶", "业委会、物业服务中心", "王建国", "13909940012", 6),
    ("9—11号楼及背街小巷", "9至11号楼楼前道路及东侧背街小巷", "在职党员（双报到）", "哈力木拉提·努尔兰", "13909940013", 8),
]
SNOW_CAMPAIGN_DAYS_AGO = 27


def seed_campaigns(rng: random.Random, staff: User, volunteers: list[User], now) -> int:
    """A past snow campaign with six zones (published, cleared, points confirmed, finished), and
    tomorrow's, started with "一键发起扫雪" from it and published, for volunteers to sign up.
    Everything goes through the campaign and duty services. Returns the campaigns added."""

    from .campaigns import service as campaigns
    from .campaigns.models import Campaign
    from .duty import service as duty
    from .org.service import current_grid

    if Campaign.query.first() is not None:
        return 0
    template = campaigns.snow_template(current_grid())
    day = to_local(now).date() - timedelta(days=SNOW_CAMPAIGN_DAYS_AGO)
    starts_at = _local_time(day, (template["start"].hour, template["start"].minute))
    called = starts_at - timedelta(hours=14)  # the evening before, when the snow fell
    past = campaigns.create_campaign(staff, campaigns.Details(
        title=template["title"], duty_type=campaigns.snow_duty_type(staff), starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=template["hours"]), meeting_point=template["meeting_point"],
        organiser=template["organiser"], contact_name=staff.name, contact_phone=staff.phone, body=template["body"],
        tools=template["tools"], safety=template["safety"], points=template["points"]), called)
    for name, description, team, leader, phone, needed in SNOW_ZONES:
        campaigns.add_zone(staff, past, campaigns.ZoneDetails(name=name, description=description, team=team,
                                                              leader_name=leader, leader_phone=phone, needed=needed))
    campaigns.publish(staff, past, called)
    people = iter(rng.sample(volunteers, sum(z.needed for z in past.zones)))
    for zone in past.zones:
        for _ in range(zone.needed - rng.randint(1, 3)):
            volunteer = next(people)
            campaigns.sign_up(volunteer, zone, called + timedelta(hours=1))
            attendance = duty.check_in(volunteer, zone.session, starts_at - timedelta(minutes=rng.randint(0, 20)))
            duty.confirm(staff, attendance, past.ends_at + timedelta(hours=1))
    campaigns.finish(staff, past, past.ends_at + timedelta(hours=1))
    upcoming = campaigns.quick_snow(staff, to_local(now).date() + timedelta(days=1), now)
    campaigns.publish(staff, upcoming, now)
    db.session.flush()
    return 2

