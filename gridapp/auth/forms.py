"""Account forms. Validation messages are Chinese first; values are normalised before validation."""
import re
import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from ..community.service import team_by_id
from .models import ROLE_LABELS

PHONE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")  # ASCII digits: \d would take "１３８…" or Arabic-Indic digits too
NAME_MAX = 40
PASSWORD_MIN = 8


def normalise_phone(value):
    """Digits only, without a +86 prefix: '+86 138-0000-0001' becomes '13800000001'.

    Full-width input from a Chinese keyboard ('１３８００００００01', '＋８６') folds to ASCII first, so one number
    is one account however it was typed."""
    if value is None:
        return value
    digits = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", str(value)))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def normalise_name(value):
    """Trim, fold full-width forms, and write the Uyghur name dot as '·'."""
    if value is None:
        return value
    value = unicodedata.normalize("NFKC", str(value)).strip()
    return re.sub(r"[•・‧∙]", "·", re.sub(r"\s+", " ", value))


def strip(value):
    return value.strip() if isinstance(value, str) else value


def mainland_phone(form, field):
    if not PHONE_PATTERN.match(field.data or ""):
        raise ValidationError(_l("请输入11位手机号，如 13800000000。"))


def printable_name(form, field):
    if any(unicodedata.category(ch).startswith("C") for ch in field.data or ""):
        raise ValidationError(_l("姓名含有无法识别的字符。"))


def phone_field(label=_l("手机号")):
    return StringField(
        label, filters=[normalise_phone],
        validators=[DataRequired(_l("请填写手机号。")), mainland_phone],
        render_kw={"inputmode": "tel", "autocomplete": "tel", "maxlength": 20},
    )


def name_field():
    return StringField(
        _l("姓名"), filters=[normalise_name],
        validators=[DataRequired(_l("请填写姓名。")),
                    Length(max=NAME_MAX, message=_l("姓名不能超过%(max)d个字。")), printable_name],
        render_kw={"autocomplete": "name", "maxlength": NAME_MAX},
    )


def new_password_field(label=_l("密码")):
    return PasswordField(
        label,
        validators=[DataRequired(_l("请设置密码。")),
                    Length(min=PASSWORD_MIN, max=128, message=_l("密码长度需为%(min)d到%(max)d位。"))],
        render_kw={"autocomplete": "new-password"},
    )


def address_field(label, message):
    return StringField(label, filters=[strip],
                       validators=[DataRequired(message), Length(max=16, message=_l("地址过长。"))],
                       render_kw={"maxlength": 16})


class LoginForm(FlaskForm):
    phone = phone_field()
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码。"))],
                             render_kw={"autocomplete": "current-password"})


class VolunteerDetailsForm(FlaskForm):
    """A volunteer's details without a password: staff correct them on the volunteer's page."""

    name = name_field()
    phone = phone_field()
    building = address_field(_l("楼栋"), _l("请填写楼栋号。"))
    unit = address_field(_l("单元"), _l("请填写单元号。"))
    room = address_field(_l("房号"), _l("请填写房号。"))
    team = SelectField(_l("志愿服务队"), coerce=int, validators=[Optional()])

    def set_team_choices(self, teams, current=None):
        teams = list(teams)
        if current is not None and current not in teams:
            teams.append(current)  # a volunteer in a team that was closed keeps it unless staff change it
        self.team.choices = [SelectChoice(0, _l("暂不加入"))] + [SelectChoice(t.id, t.name) for t in teams]

    def fill_from(self, user):
        self.name.data, self.phone.data = user.name, user.phone
        if user.household:
            self.building.data, self.unit.data, self.room.data = (user.household.building, user.household.unit,
                                                                  user.household.room)
        self.team.data = user.team_id or 0

    def details(self) -> dict:
        """The details as the account services take them."""
        return dict(name=self.name.data, phone=self.phone.data, building=self.building.data, unit=self.unit.data,
                    room=self.room.data, team=team_by_id(self.team.data))


class VolunteerForm(VolunteerDetailsForm):
    """A volunteer's details and first password: residents registering themselves and staff at the table."""

    password = new_password_field()
    confirm = PasswordField(_l("再次输入密码"), validators=[EqualTo("password", _l("两次输入的密码不一致。"))],
                            render_kw={"autocomplete": "new-password"})

    def details(self) -> dict:
        """The registration as the account services take it."""
        return dict(super().details(), password=self.password.data)


class AccountForm(FlaskForm):
    """An admin creates a staff, admin, sponsor or division viewer account."""

    role = SelectField(_l("角色"), choices=[SelectChoice(r, ROLE_LABELS[r])
                                            for r in ("staff", "sponsor", "admin", "viewer")],
                       validators=[DataRequired(_l("请选择角色。"))])
    name = name_field()
    phone = phone_field()
    sponsor = SelectField(_l("所属爱心企业"), coerce=int, validators=[Optional()])
    password = new_password_field(_l("初始密码"))

    def set_sponsor_choices(self, sponsors):
        self.sponsor.choices = ([SelectChoice(0, _l("（非爱心企业账号不用选）"))]
                               + [SelectChoice(s.id, s.name) for s in sponsors])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请输入当前密码。"))],
                            render_kw={"autocomplete": "current-password"})
    password = new_password_field(_l("新密码"))
    confirm = PasswordField(_l("再次输入新密码"), validators=[EqualTo("password", _l("两次输入的密码不一致。"))],
                            render_kw={"autocomplete": "new-password"})


class ReviewForm(FlaskForm):
    """Approve (no reason) or reject (reason required) a pending registration."""

    reason = TextAreaField(_l("不通过的原因"), filters=[strip],
                           validators=[Optional(), Length(max=200, message=_l("原因不能超过%(max)d个字。"))])


class ConfirmForm(FlaskForm):
    """A form that carries nothing but its CSRF token (logout, approve)."""
