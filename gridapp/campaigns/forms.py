"""Campaign forms. Lengths match what one A4 notice can hold (six zones on one page)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..auth.forms import normalise_name, strip


def _text(label, max_length, required=None, **render_kw):
    validators = [DataRequired(required)] if required else [Optional()]
    validators.append(Length(max=max_length, message=_l("不能超过%(max)d个字。")))
    return StringField(label, filters=[strip], validators=validators, render_kw={"maxlength": max_length, **render_kw})


def _area(label, max_length, rows=4):
    return TextAreaField(label, filters=[strip], validators=[
        Optional(), Length(max=max_length, message=_l("不能超过%(max)d个字。"))],
        render_kw={"maxlength": max_length, "rows": rows})


def _name(value):
    return normalise_name(value) if value else value


class CampaignForm(FlaskForm):
    title = _text(_l("通知标题"), 60, _l("请填写通知标题。"))
    duty_type = SelectField(_l("活动类型"), coerce=int, validators=[InputRequired(_l("请选择活动类型。"))])
    day = DateField(_l("日期"), validators=[DataRequired(_l("请选择日期。"))])
    start = TimeField(_l("开始时间"), validators=[DataRequired(_l("请填写开始时间。"))])
    end = TimeField(_l("结束时间"), validators=[DataRequired(_l("请填写结束时间。"))])
    meeting_point = _text(_l("集合地点"), 80, _l("请填写集合地点。"))
    organiser = _text(_l("发布单位"), 60, _l("请填写发布单位。"))
    contact_name = StringField(_l("联系人"), filters=[_name], validators=[
        Optional(), Length(max=40, message=_l("不能超过%(max)d个字。"))], render_kw={"maxlength": 40})
    contact_phone = _text(_l("联系电话"), 20, inputmode="tel")
    body = _area(_l("通知正文"), 500, rows=6)
    tools = _text(_l("携带工具"), 100)
    safety = _area(_l("安全提示（每行一条）"), 240)
    points = IntegerField(_l("每人积分"), validators=[
        DataRequired(_l("请填写积分。")), NumberRange(min=1, max=200, message=_l("积分需在%(min)s到%(max)s之间。"))],
        render_kw={"inputmode": "numeric"})

    def set_choices(self, duty_types, new_snow_type=None):
        """The community's duty types; ``new_snow_type`` (a value) offers 扫雪除冰 while it has none."""
        self.duty_type.choices = [SelectChoice(t.id, t.name) for t in duty_types]
        if new_snow_type is not None:
            self.duty_type.choices.insert(0, SelectChoice(new_snow_type, _l("扫雪除冰")))


class ZoneForm(FlaskForm):
    name = _text(_l("区域名称"), 30, _l("请填写区域名称，如：南门片区。"))
    description = _text(_l("清扫范围"), 60)
    team = _text(_l("责任队伍/单位"), 30)
    leader_name = StringField(_l("区域负责人"), filters=[_name], validators=[
        Optional(), Length(max=40, message=_l("不能超过%(max)d个字。"))], render_kw={"maxlength": 40})
    leader_phone = _text(_l("负责人电话"), 20, inputmode="tel")
    needed = IntegerField(_l("需要人数"), validators=[
        DataRequired(_l("请填写需要人数。")), NumberRange(min=1, max=200, message=_l("人数需在%(min)s到%(max)s之间。"))],
        render_kw={"inputmode": "numeric"})


class QuickSnowForm(FlaskForm):
    """一键发起扫雪: only the date; the one-time token makes a double tap create one draft."""

    day = DateField(_l("扫雪日期"), validators=[DataRequired(_l("请选择日期。"))])
    token = HiddenField()


class AssignForm(FlaskForm):
    volunteer_id = HiddenField(validators=[DataRequired()])
