"""Objects for tests, committed to the test database. Phone numbers are unique per call."""
import itertools

from gridapp.auth.models import User
from gridapp.auth.passwords import hash_password
from gridapp.community.models import Household, Team
from gridapp.extensions import db
from gridapp.goods.models import Sponsor

PASSWORD = "correct-horse-8"
_numbers = itertools.count(1)
_hash_cache: dict[str, str] = {}


def password_hash(password: str = PASSWORD) -> str:
    """The stored hash of ``password`` (the factories' accounts all use PASSWORD)."""
    return _hash(password)


def next_phone() -> str:
    return f"1370000{next(_numbers):04d}"


def _hash(password: str) -> str:
    # Hashing is deliberately slow (argon2id); one hash per password keeps the suite quick.
    if password not in _hash_cache:
        _hash_cache[password] = hash_password(password)
    return _hash_cache[password]


def make_household(building="1", unit="1", room=None) -> Household:
    household = Household(building=building, unit=unit, room=room or f"{next(_numbers)}")
    db.session.add(household)
    db.session.commit()
    return household


def make_team(name=None) -> Team:
    team = Team(name=name or f"服务队{next(_numbers)}")
    db.session.add(team)
    db.session.commit()
    return team


def make_sponsor(name=None, kind="shop") -> Sponsor:
    sponsor = Sponsor(name=name or f"爱心商铺{next(_numbers)}", kind=kind)
    db.session.add(sponsor)
    db.session.commit()
    return sponsor


def make_user(role="volunteer", status="active", password=PASSWORD, **fields) -> User:
    if role == "sponsor" and "sponsor" not in fields:
        fields["sponsor"] = make_sponsor()
    if role == "volunteer" and "household" not in fields:
        fields["household"] = make_household()
    fields.setdefault("name", f"测试{role}{next(_numbers)}")
    user = User(role=role, status=status, phone=fields.pop("phone", None) or next_phone(),
                password_hash=_hash(password), **fields)
    db.session.add(user)
    db.session.commit()
    return user


def make_item(name=None, unit="个", points_price=30, **fields):
    from gridapp.goods.models import Item

    item = Item(name=name or f"物品{next(_numbers)}", unit=unit, points_price=points_price, **fields)
    db.session.add(item)
    db.session.commit()
    return item


def donate(staff, sponsor, *lines, received_on=None):
    """Issue a donation of (item, quantity[, unit value in fen]) lines through the service; committed."""
    from datetime import date

    from gridapp.goods import donations

    donation = donations.issue(staff, sponsor=sponsor, received_on=received_on or date(2026, 11, 1),
                               lines=[donations.Line(*line) for line in lines])
    db.session.commit()
    return donation
