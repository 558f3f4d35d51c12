"""The volunteer's 积分超市 page (``/me/goods``): plain HTML, no JavaScript needed."""
from flask import Blueprint, render_template
from flask_login import current_user

from ..auth.permissions import roles_required
from ..clock import local_today, utcnow
from ..org.service import current_grid
from . import shelf as shelf_service

bp = Blueprint("shelf", __name__)


@bp.route("/me/goods")
@roles_required("volunteer")
def shelf():
    return render_template("counter/shelf.html", items=shelf_service.shelf(current_user, utcnow()),
                           balance=current_user.points_balance, day=shelf_service.counter_day(local_today(), current_grid()))
