"""Rules for households and teams."""
import unicodedata

from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .models import Household, Team


def normalise_address_part(value: str) -> str:
    """Fold full-width forms, drop spaces and the 栋/单元/室 suffixes people type, so '3栋', '３栋' and '3' are one
    building (one household each, whatever keyboard typed it, keeps the per-household limits honest)."""
    value = "".join(unicodedata.normalize("NFKC", value or "").split())
    for suffix in ("号楼", "栋", "幢", "单元", "室", "号"):
        if value.endswith(suffix) and len(value) > len(suffix):
            value = value[: -len(suffix)]
    return value.upper()


def find_or_create_household(building: str, unit: str, room: str) -> Household:
    """The household at this address, created if it is new.

    A concurrent insert of the same address is resolved by reading the winner's row.
    """
    key = (normalise_address_part(building), normalise_address_part(unit), normalise_address_part(room))
    existing = Household.query.filter_by(building=key[0], unit=key[1], room=key[2]).one_or_none()
    if existing:
        return existing
    household = Household(building=key[0], unit=key[1], room=key[2])
    try:
        with db.session.begin_nested():
            db.session.add(household)
    except IntegrityError:
        return Household.query.filter_by(building=key[0], unit=key[1], room=key[2]).one()
    return household


def active_teams() -> list[Team]:
    return Team.query.filter_by(active=True).order_by(Team.id).all()


def team_by_id(team_id: int | None) -> Team | None:
    """The team with this id, or None for "no team" (0 or None)."""
    return db.session.get(Team, team_id) if team_id else None
