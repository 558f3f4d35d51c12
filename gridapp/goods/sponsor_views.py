"""The sponsor portal: a sponsor's own donations, receipts and what became of its goods. Nothing else."""
from flask import Blueprint, render_template
from flask_login import current_user

from ..auth.permissions import roles_required
from ..auth.service import require_owner
from ..numbers import page_number
from . import donations

bp = Blueprint("sponsor_portal", __name__)


def own_donation(donation_id: int):
    """The current sponsor's donation with this id; another sponsor's answers 404, as if it did not exist."""
    return require_owner(current_user, donations.get_donation(donation_id))


@bp.route("/sponsor")
@roles_required("sponsor")
def home():
    sponsor = current_user.sponsor
    page = page_number()
    impact = donations.sponsor_impact(sponsor)
    return render_template("goods/sponsor_home.html", sponsor=sponsor,
                           pagination=donations.donations(sponsor, page=page),
                           impact=impact, grids=donations.sponsor_grids(impact))


@bp.route("/sponsor/donations/<id:donation_id>")
@roles_required("sponsor")
def donation(donation_id):
    return render_template("goods/sponsor_donation.html", donation=own_donation(donation_id))
