"""Forms of the organisation pages: the working-grid switcher and staff assignments."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import DataRequired, NumberRange


class WorkingGridForm(FlaskForm):
    """The header's switcher: the grid this login works in."""

    grid_id = IntegerField(_l("网格"), validators=[DataRequired(), NumberRange(min=1, max=2**31 - 1)])
    next = HiddenField()


class AssignmentForm(FlaskForm):
    """Assign an account (staff to a grid, an admin to a community) or end an assignment."""

    user_id = IntegerField(_l("账号"), validators=[DataRequired(), NumberRange(min=1, max=2**31 - 1)])
    unit_id = IntegerField(_l("单位"), validators=[DataRequired(), NumberRange(min=1, max=2**31 - 1)])
