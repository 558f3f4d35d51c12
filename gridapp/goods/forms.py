from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_translations
from wtforms import (BooleanField, DateField, DecimalField, FieldList, Form, FormField, HiddenField, IntegerField,
                     SelectField, StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, StopValidation, ValidationError

from .. import money
from ..auth.forms import strip
from .models import SPONSOR_KINDS, UNITS

DEFAULT_LINES = 5
MAX_FORM_LINES = 30
MAX_LINE_QUANTITY = 10000  # per donation line; the database says the same (CHECK quantity <= 10000)
MORE_LINES = 5  # "需要更多行" adds this many
MAX_UNIT_VALUE = 100000  # yuan per piece
UNIT_VALUE_RANGE = _l("估价需在%(min)s到%(max)s元之间。")


def finite_amount(form, field):
    """'NaN', 'sNaN' and 'Infinity' parse as decimals but are no amount (comparing NaN raises): the range's message."""
    if field.data is not None and not field.data.is_finite():
        raise StopValidation(str(UNIT_VALUE_RANGE) % {"min": 0, "max": MAX_UNIT_VALUE})


class DonationLineForm(Form):
    """One row of the intake form: an existing item, or a new one named on the spot.

    A subform (FormField) is a plain Form: its Meta takes WTForms' own messages ("not a valid number") in the
    page's language from Flask-WTF, as the FlaskForm around it does, instead of in English."""

    class Meta:
        def get_translations(self, form):
            return wtforms_translations

    item = SelectField(_l("物品"), coerce=int, validators=[Optional()])
    new_name = StringField(_l("或新物品名称"), filters=[strip], validators=[Optional(), Length(max=40)],
                           render_kw={"maxlength": 40})
    new_unit = SelectField(_l("单位"), choices=[SelectChoice(u, u) for u in UNITS], validators=[Optional()])
    new_price = IntegerField(_l("兑换积分"), validators=[
        Optional(), NumberRange(min=1, max=100000, message=_l("积分需在%(min)s到%(max)s之间。"))],
        render_kw={"inputmode": "numeric"})
    quantity = IntegerField(_l("数量"), validators=[
        Optional(), NumberRange(min=1, max=MAX_LINE_QUANTITY, message=_l("数量需在%(min)s到%(max)s之间。"))],
        render_kw={"inputmode": "numeric"})
    unit_value = DecimalField(_l("估价（元/件）"), places=2, rounding=ROUND_HALF_UP, validators=[
        Optional(), finite_amount, NumberRange(min=0, max=MAX_UNIT_VALUE, message=UNIT_VALUE_RANGE)],
        render_kw={"inputmode": "decimal"})

    @property
    def is_blank(self) -> bool:
        return not (self.item.data or self.new_name.data or self.quantity.data)

    def validate_quantity(self, field):
        if self.is_blank:
            return
        if field.data is None or field.data <= 0:
            raise ValidationError(_l("数量必须是大于0的整数。"))
        if not self.item.data and not self.new_name.data:
            raise ValidationError(_l("请选择物品，或填写新物品名称。"))
        if self.new_name.data and not self.item.data and not self.new_price.data:
            raise ValidationError(_l("新物品请填写兑换积分。"))


class DonationForm(FlaskForm):
    token = HiddenField()  # one receipt per form, however often 保存 is tapped
    sponsor = SelectField(_l("捐赠单位"), coerce=int, validators=[DataRequired(_l("请选择捐赠单位。"))])
    received_on = DateField(_l("接收日期"), validators=[DataRequired(_l("请填写接收日期。"))])
    lines = FieldList(FormField(DonationLineForm), min_entries=DEFAULT_LINES, max_entries=MAX_FORM_LINES)
    note = TextAreaField(_l("备注"), filters=[strip], validators=[Length(max=200, message=_l("备注不能超过%(max)d个字。"))])

    def set_choices(self, sponsors, items):
        self.sponsor.choices = [SelectChoice(0, _l("请选择"))] + [SelectChoice(s.id, s.name) for s in sponsors]
        item_choices = [SelectChoice(0, "—")] + [SelectChoice(i.id, f"{i.name}（{i.unit}）") for i in items]
        for row in self.lines:
            row.item.choices = item_choices

    def validate_lines(self, field):
        if all(row.is_blank for row in field):
            raise ValidationError(_l("请至少填写一行物品。"))


def yuan_to_fen(value: Decimal | None) -> int | None:
    """The form's yuan as whole fen, rounded half up (四舍五入): see ``gridapp.money``."""
    return money.yuan_to_fen(value)


class VoidForm(FlaskForm):
    confirmed = HiddenField()
    reason = TextAreaField(_l("作废原因"), filters=[strip], validators=[
        DataRequired(_l("请填写作废原因。")), Length(max=200, message=_l("原因不能超过%(max)d个字。"))])


class ItemForm(FlaskForm):
    name = StringField(_l("物品名称"), filters=[strip], validators=[
        DataRequired(_l("请填写物品名称。")), Length(max=40, message=_l("名称不能超过%(max)d个字。"))])
    unit = SelectField(_l("单位"), choices=[SelectChoice(u, u) for u in UNITS])
    category = StringField(_l("类别"), filters=[strip], validators=[Length(max=20)], render_kw={"placeholder": "日用品"})
    points_price = IntegerField(_l("兑换积分"), validators=[
        DataRequired(_l("请填写兑换积分。")), NumberRange(min=1, max=100000, message=_l("积分需在%(min)s到%(max)s之间。"))])
    monthly_limit = IntegerField(_l("每人每月限兑（留空不限）"), validators=[
        Optional(), NumberRange(min=1, max=100, message=_l("需在%(min)s到%(max)s之间。"))])
    household_monthly_limit = IntegerField(_l("每户每月限兑（留空不限）"), validators=[
        Optional(), NumberRange(min=1, max=100, message=_l("需在%(min)s到%(max)s之间。"))])
    low_stock_threshold = IntegerField(_l("库存预警数量"), default=5, validators=[
        NumberRange(min=0, max=10000, message=_l("需在%(min)s到%(max)s之间。"))])
    active = BooleanField(_l("可兑换"), default=True)


class SponsorForm(FlaskForm):
    name = StringField(_l("单位名称"), filters=[strip], validators=[
        DataRequired(_l("请填写单位名称。")), Length(max=80, message=_l("名称不能超过%(max)d个字。"))])
    kind = SelectField(_l("类别"), choices=[SelectChoice(k, v) for k, v in SPONSOR_KINDS.items()])
    contact_person = StringField(_l("联系人"), filters=[strip], validators=[Length(max=40)])
    phone = StringField(_l("联系电话"), filters=[strip], validators=[Length(max=20)])
    address = StringField(_l("地址"), filters=[strip], validators=[Length(max=120)])
