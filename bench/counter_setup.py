"""Prepare the exchange counter for bench/counter.py, through the app's own services.

Run with the venv's python against the benchmark's throwaway instance (GRIDAPP_INSTANCE_PATH and
GRIDAPP_DATABASE_URL in the environment); never against a real instance. It:

1. makes today a redemption day (``counter.add_redemption_day`` as the demo admin, reason "bench")
   unless it is one already, and opens today's counter session as the demo grid worker
   (``counter.open_session``);
2. creates STAFF_TABLES staff accounts (``auth.create_account`` as the demo admin; password
   gridapp2026), one per table;
3. registers EXTRA_VOLUNTEERS volunteers at the table (``auth.register_at_table``), each in a
   household of their own, so that every redemption of the run can be a different person's first
   of the month. Their password hash is computed once and shared (argon2 takes ~50 ms a hash);
4. awards every active volunteer whose last 4 phone digits are unique (so ``/counter?q=<last4>``
   finds exactly one person) POINTS with ``points.award``;
5. donates STOCK units of each item of PAIRS with ``goods.donations.issue`` (sponsor 食品城).

It commits once and prints JSON: the session id, the table logins, the volunteers (id and last 4
digits, demo volunteers first) and the item pairs (ids) a redemption takes one of each.

    GRIDAPP_INSTANCE_PATH=... GRIDAPP_DATABASE_URL=sqlite:///... .venv/bin/python bench/counter_setup.py
"""
import json
import sys
from collections import Counter

from gridapp import create_app
from gridapp.auth import service as auth
from gridapp.auth.models import User
from gridapp.auth.passwords import hash_password
from gridapp.clock import local_today
from gridapp.counter import service as counter
from gridapp.extensions import db
from gridapp.goods import donations
from gridapp.goods.models import Item, Sponsor
from gridapp.points import service as points

ADMIN_PHONE = "13800000001"   # the demo admin (张亚鹏)
STAFF_PHONE = "13800000002"   # the demo grid worker (贾亮)
PASSWORD = "gridapp2026"
SPONSOR = "新疆丝路天山国际食品城"
STAFF_TABLES = 4
TABLE_PHONES = [f"1380000{101 + n:04d}" for n in range(STAFF_TABLES)]       # 13800000101..
EXTRA_VOLUNTEERS = 1200
EXTRA_PHONES = [f"1377700{2000 + n:04d}" for n in range(EXTRA_VOLUNTEERS)]  # last 4 digits 2000..3199
POINTS = 500
STOCK = 3000
# One of each per redemption, pairs in turn: everyday items, each with a per-volunteer monthly limit.
PAIRS = [("抽纸", "洗衣粉"), ("牙膏", "香皂"), ("毛巾", "食用油")]


def main() -> int:
    app = create_app()
    with app.app_context():
        admin = User.query.filter_by(phone=ADMIN_PHONE).one()
        staff = User.query.filter_by(phone=STAFF_PHONE).one()
        today = local_today()
        if not counter.is_redemption_day(today):
            counter.add_redemption_day(admin, today, "bench")
        session = counter.open_session(staff, today)

        tables = []
        for number, phone in enumerate(TABLE_PHONES, start=1):
            user = User.query.filter_by(phone=phone).one_or_none() or auth.create_account(
                admin, role="staff", name=f"压测兑换台{number}", phone=phone, password=PASSWORD)
            tables.append(user.phone)

        shared_hash = hash_password(PASSWORD)
        auth.hash_password = lambda _password: shared_hash  # this process only: one hash for all
        taken = {phone for (phone,) in db.session.query(User.phone)}
        for number, phone in enumerate(EXTRA_PHONES):
            if phone not in taken:
                auth.register_at_table(staff, name=f"压测志愿者{number + 1}", phone=phone, password=PASSWORD,
                                       building="30", unit=str(1 + number // 200), room=str(101 + number % 200))
        db.session.flush()

        active = User.query.filter_by(role="volunteer", status="active").order_by(User.id).all()
        endings = Counter(v.phone[-4:] for v in active)
        volunteers = [v for v in active if endings[v.phone[-4:]] == 1]
        for volunteer in volunteers:
            points.award(volunteer, POINTS, reference="bench:counter", description="压测：兑换台积分",
                         key=f"bench-counter:{volunteer.id}", by=staff)

        sponsor = Sponsor.query.filter_by(name=SPONSOR).one()
        pairs = [tuple(Item.query.filter_by(name=name).one() for name in pair) for pair in PAIRS]
        lines = [donations.Line(item, STOCK, None) for pair in pairs for item in pair]
        donations.issue(staff, sponsor=sponsor, received_on=today, lines=lines, note="压测：兑换台")
        db.session.commit()

        result = {
            "session": session.id,
            "tables": tables,
            # demo volunteers (with their history) first, then the ones registered above
            "volunteers": [[v.id, v.phone[-4:]] for v in volunteers],
            "pairs": [[a.id, b.id] for a, b in pairs],
            "skipped_same_last4": sum(1 for v in active if endings[v.phone[-4:]] > 1),
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
