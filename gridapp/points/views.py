"""我的积分: the volunteer's balance, this month's earnings and history."""
from flask import Blueprint, render_template
from flask_login import current_user

from ..auth.permissions import roles_required
from ..clock import start_of_local_month, utcnow
from ..numbers import page_number
from . import service as points

bp = Blueprint("points", __name__)


@bp.route("/me/points")
@roles_required("volunteer")
def mine():
    page = page_number()
    return render_template(
        "points/mine.html",
        balance=points.balance(current_user),
        this_month=points.earned_since(current_user, start_of_local_month(utcnow())),
        pagination=points.history(current_user, page=max(page, 1)),
    )
