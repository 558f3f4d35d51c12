"""Sponsors (爱心企业/商铺): the businesses and institutions that donate goods."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..auth.service import provide_sponsors, require_role
from ..errors import DomainError, NotFound
from ..extensions import db
from .models import SPONSOR_KINDS, Sponsor

FIELDS = ("name", "kind", "contact_person", "phone", "address")


def all_sponsors() -> list[Sponsor]:
    return list(db.session.scalars(select(Sponsor).order_by(Sponsor.id)))


def find_sponsor(sponsor_id: int) -> Sponsor | None:
    return db.session.get(Sponsor, sponsor_id)


def get_sponsor(sponsor_id: int) -> Sponsor:
    sponsor = find_sponsor(sponsor_id)
    if sponsor is None:
        raise NotFound()
    return sponsor


provide_sponsors(all_sponsors, find_sponsor)  # auth (below goods) lists and finds sponsors through these


def save_sponsor(actor, sponsor: Sponsor | None, **fields) -> Sponsor:
    """Staff add a sponsor (``sponsor`` None) or correct its details.

    Raises PermissionDenied, or DomainError for a blank or taken name or an unknown kind.
    """
    require_role(actor, "staff", "admin")
    name = (fields.get("name") or "").strip()
    if not name:
        raise DomainError(_l("请填写单位名称。"))
    if fields.get("kind") not in SPONSOR_KINDS:
        raise DomainError(_l("请选择单位类别。"))
    taken = Sponsor.query.filter(Sponsor.name == name).first()
    if taken is not None and taken is not sponsor:
        raise DomainError(_l("已有名为“%(name)s”的单位。"), name=name)
    sponsor = sponsor or Sponsor()
    for field in FIELDS:
        setattr(sponsor, field, (fields.get(field) or "").strip())
    db.session.add(sponsor)
    db.session.flush()
    return sponsor
