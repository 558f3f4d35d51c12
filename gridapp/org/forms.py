"""Forms of the organisation pages: the tree, the working-grid switcher, staff assignments. The rules
(code format and uniqueness, no unit beneath a grid) are the service's; the forms only parse and bound lengths."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..auth.forms import strip
from .service import (
    CODE_MAX,
    CONTACT_MAX,
    HOURS_MAX,
    LEVEL_MAX,
    NAME_MAX,
    ORGANISER_MAX,
    PLACE_MAX,
)


def _upper(value):
    return value.strip().upper() if isinstance(value, str) else value


def _text(label, max_length, required=None, filters=(strip,), **render_kw):
    validators = [DataRequired(required)] if required else [Optional()]
    validators.append(Length(max=max_length, message=_l("不能超过%(max)d个字。")))
    return StringField(label, filters=list(filters), validators=validators,
                       render_kw={"maxlength": max_length, **render_kw})


class AddUnitForm(FlaskForm):
    level_name = _text(_l("层级名称"), LEVEL_MAX, _l("请填写层级名称（如：网格、社区）。"), placeholder=_l("如：网格"))
    name = _text(_l("单位名称"), NAME_MAX, _l("请填写单位名称。"))
    code = _text(_l("代码（2–8位大写字母或数字，用于凭证编号）"), CODE_MAX, _l("请填写代码。"), filters=(_upper,),
                 autocapitalize="characters", placeholder="DXA")
    is_grid = BooleanField(_l("这是网格（最末一级，住户、活动、物品都属于网格）"))


class EditUnitForm(FlaskForm):
    name = _text(_l("单位名称"), NAME_MAX, _l("请填写单位名称。"))
    organiser = _text(_l("落款单位（通知、凭证的署名，如党支部）"), ORGANISER_MAX)
    counter_place = _text(_l("兑换地点"), PLACE_MAX)
    counter_hours = _text(_l("默认兑换时间"), HOURS_MAX, placeholder="10:00—17:00")
    contact = _text(_l("联系方式"), CONTACT_MAX)
    points_anywhere = BooleanField(_l("积分可在本社区其他网格使用"))


class MoveForm(FlaskForm):
    step = HiddenField()


class ConfirmDeleteForm(FlaskForm):
    """Carries nothing but its CSRF token: the delete page's button."""


class WorkingGridForm(FlaskForm):
    """The header's switcher: the grid this login works in."""

    grid_id = IntegerField(_l("网格"), validators=[DataRequired(), NumberRange(min=1, max=2**31 - 1)])
    next = HiddenField()


class AssignmentForm(FlaskForm):
    """Assign an account (staff to a grid, an admin to a community) or end an assignment."""

    user_id = IntegerField(_l("账号"), validators=[DataRequired(), NumberRange(min=1, max=2**31 - 1)])
    unit_id = IntegerField(_l("单位"), validators=[DataRequired(), NumberRange(min=1, max=2**31 - 1)])
