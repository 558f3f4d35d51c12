from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..auth.forms import strip


class OnceForm(FlaskForm):
    """A volunteer's action button: the hidden one-time token makes a double tap harmless."""

    token = HiddenField()


class ScheduleForm(OnceForm):
    """A new duty session (or a weekly series); the one-time token makes a double tap one series, not two."""

    duty_type = SelectField(_l("服务类型"), coerce=int, validators=[DataRequired(_l("请选择服务类型。"))])
    title = StringField(_l("名称"), filters=[strip], validators=[
        DataRequired(_l("请填写名称，如：南门夜间巡逻。")), Length(max=80, message=_l("名称不能超过%(max)d个字。"))],
        render_kw={"maxlength": 80})
    place = StringField(_l("集合地点"), filters=[strip], validators=[
        DataRequired(_l("请填写集合地点。")), Length(max=80, message=_l("地点不能超过%(max)d个字。"))],
        render_kw={"maxlength": 80})
    day = DateField(_l("日期"), validators=[DataRequired(_l("请选择日期。"))])
    start = TimeField(_l("开始时间"), validators=[DataRequired(_l("请填写开始时间。"))])
    end = TimeField(_l("结束时间"), validators=[DataRequired(_l("请填写结束时间。"))])
    points = IntegerField(_l("积分（留空用类型默认值）"), validators=[
        Optional(), NumberRange(min=1, max=200, message=_l("积分需在%(min)s到%(max)s之间。"))],
        render_kw={"inputmode": "numeric"})
    capacity = IntegerField(_l("人数上限（留空不限）"), validators=[
        Optional(), NumberRange(min=1, max=1000, message=_l("人数需在%(min)s到%(max)s之间。"))],
        render_kw={"inputmode": "numeric"})
    team = SelectField(_l("限定服务队"), coerce=int, validators=[Optional()])
    opens_before = IntegerField(_l("提前多少分钟开放签到"), default=30, validators=[
        NumberRange(min=0, max=240, message=_l("需在%(min)s到%(max)s分钟之间。"))], render_kw={"inputmode": "numeric"})
    repeat_weeks = IntegerField(_l("每周重复（周数）"), default=1, validators=[
        NumberRange(min=1, max=26, message=_l("需在%(min)s到%(max)s周之间。"))], render_kw={"inputmode": "numeric"})

    def set_choices(self, duty_types, teams):
        self.duty_type.choices = [SelectChoice(t.id, f"{t.name}（{t.default_points}分）") for t in duty_types]
        self.team.choices = [SelectChoice(0, _l("所有志愿者"))] + [SelectChoice(t.id, t.name) for t in teams]


class DutyTypeForm(FlaskForm):
    name = StringField(_l("类型名称"), filters=[strip], validators=[
        DataRequired(_l("请填写类型名称。")), Length(max=40, message=_l("名称不能超过%(max)d个字。"))])
    default_points = IntegerField(_l("默认积分"), validators=[
        DataRequired(_l("请填写默认积分。")), NumberRange(min=1, max=200, message=_l("积分需在%(min)s到%(max)s之间。"))])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("原因"), filters=[strip], validators=[
        DataRequired(_l("请填写原因。")), Length(max=200, message=_l("原因不能超过%(max)d个字。"))])


class CorrectPointsForm(ReasonForm):
    points = IntegerField(_l("正确的积分"), validators=[
        DataRequired(_l("请填写积分。")), NumberRange(min=1, max=200, message=_l("积分需在%(min)s到%(max)s之间。"))])


class MarkPresentForm(FlaskForm):
    volunteer_id = HiddenField(validators=[DataRequired()])
