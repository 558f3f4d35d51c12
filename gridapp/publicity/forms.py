from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from ..auth.forms import strip
from .service import DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS


class PublishForm(FlaskForm):
    month = StringField(_l("公示月份"), validators=[DataRequired(_l("请选择月份。")),
                                                Regexp(r"^\d{4}-\d{2}$", message=_l("请选择月份。"))],
                        render_kw={"type": "month"})
    window_days = IntegerField(_l("公示期（天）"), default=DEFAULT_WINDOW_DAYS, validators=[
        DataRequired(_l("请填写公示天数。")),
        NumberRange(1, MAX_WINDOW_DAYS, message=_l("公示期应为 1 至 %(max)d 天。") % {"max": MAX_WINDOW_DAYS})])
    note = StringField(_l("说明（可选）"), filters=[strip], validators=[Optional(), Length(max=200)])
    confirmed = HiddenField()  # "1" from the confirmation page: a posting cannot be withdrawn


class ObjectionForm(FlaskForm):
    reason = TextAreaField(_l("异议理由"), filters=[strip], validators=[
        DataRequired(_l("请写明异议的理由。")), Length(max=300, message=_l("理由不能超过%(max)d个字。"))])


class AcceptForm(FlaskForm):
    entry_id = SelectField(_l("要更正的积分记录"), coerce=int, validators=[DataRequired(_l("请选择积分记录。"))])
    correct_points = IntegerField(_l("更正后的积分"), validators=[
        DataRequired(_l("请填写更正后的积分。")), NumberRange(min=1, message=_l("更正后的积分必须大于0。"))])
    note = StringField(_l("更正说明"), filters=[strip], validators=[
        DataRequired(_l("请填写更正说明。")), Length(max=300)])


class RejectForm(FlaskForm):
    reason = StringField(_l("不予采纳的理由"), filters=[strip], validators=[
        DataRequired(_l("请填写不予采纳的理由。")), Length(max=300)])


class OptOutForm(FlaskForm):
    opted_out = BooleanField(_l("不在光荣榜上显示我的名字"))
