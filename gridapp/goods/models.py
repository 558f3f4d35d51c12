from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint

from ..clock import utcnow
from ..extensions import db

SPONSOR_KINDS = {
    "enterprise": _l("企业"),
    "shop": _l("商铺"),
    "property": _l("物业公司"),
    "institution": _l("事业单位"),
}


class Sponsor(db.Model):
    """A business or institution that donates goods; sponsor users belong to one."""

    __tablename__ = "sponsors"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('enterprise', 'shop', 'property', 'institution')", name="kind_known"
        ),
    )

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(80), nullable=False, unique=True)
    kind = db.Column(db.String(16), nullable=False)
    contact_person = db.Column(db.String(40), nullable=False, default="")
    phone = db.Column(db.String(20), nullable=False, default="")
    address = db.Column(db.String(120), nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    @property
    def kind_label(self) -> str:
        return SPONSOR_KINDS.get(self.kind, self.kind)

    def __repr__(self):
        return f"<Sponsor {self.name}>"
