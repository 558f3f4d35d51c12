from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..auth.forms import strip


class OpenSessionForm(FlaskForm):
    reason = StringField(_l("非兑换日开台原因（仅管理员）"), filters=[strip], validators=[Optional(), Length(max=200)])


class ConfirmRedemptionForm(FlaskForm):
    """The basket as shown, plus a one-time token: a double tap or a retry gives the same receipt."""

    token = HiddenField(validators=[DataRequired()])


class VoidRedemptionForm(FlaskForm):
    confirmed = HiddenField()
    reason = TextAreaField(_l("作废原因"), filters=[strip], validators=[
        DataRequired(_l("请填写作废原因。")), Length(max=200, message=_l("原因不能超过%(max)d个字。"))])


class ExtraDayForm(FlaskForm):
    day = StringField(_l("日期"), validators=[DataRequired(_l("请选择日期。"))], render_kw={"type": "date"})
    reason = StringField(_l("原因"), filters=[strip], validators=[DataRequired(_l("请填写原因。")), Length(max=200)])
