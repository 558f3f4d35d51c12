"""Report forms. Photos are not WTForms fields: the view hands the uploaded bytes to the service,
which decides what a photo is (photos.py)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..auth.forms import strip
from .models import CATEGORIES, KIND_LABELS, PARTNER_KIND_LABELS
from .service import DESCRIPTION_MAX, NOTE_MAX, PLACE_MAX, REASON_MAX


def _area(label, limit, required=None, rows=4):
    validators = [DataRequired(required)] if required else [Optional()]
    validators.append(Length(max=limit, message=_l("不能超过%(max)d个字。")))
    return TextAreaField(label, filters=[strip], validators=validators, render_kw={"maxlength": limit, "rows": rows})


class ReportForm(FlaskForm):
    token = HiddenField()  # one report per form, however often the button is tapped
    category = SelectField(_l("类别"), validators=[DataRequired(_l("请选择类别。"))])
    description = _area(_l("情况说明"), DESCRIPTION_MAX, _l("请写一下是什么问题或需要什么帮助。"))
    building = SelectField(_l("楼栋"), validators=[Optional()])
    unit = StringField(_l("单元（可不填）"), filters=[strip], validators=[
        Optional(), Length(max=16, message=_l("不能超过%(max)d个字。"))], render_kw={"maxlength": 16})
    place = StringField(_l("具体位置"), filters=[strip], validators=[
        Optional(), Length(max=PLACE_MAX, message=_l("不能超过%(max)d个字。"))],
        render_kw={"maxlength": PLACE_MAX, "placeholder": _l("如：南门岗亭东侧")})
    wall_consent = BooleanField(_l("微心愿解决后，同意在回音壁公开（不显示姓名和门牌号）"))
    from_patrol = BooleanField(_l("在本次志愿服务中发现"), default=True)

    def set_choices(self, buildings):
        self.category.choices = [SelectChoice("", _l("请选择类别"))] + [
            SelectChoice(value, label, optgroup=str(KIND_LABELS[kind])) for value, (kind, label) in CATEGORIES.items()]
        self.building.choices = ([SelectChoice("", _l("（不在楼内）"))]
                                 + [SelectChoice(b, _l("%(b)s栋", b=b)) for b in buildings])


class AcceptForm(FlaskForm):
    assignee = SelectField(_l("负责网格员"), coerce=int, validators=[Optional()])
    partner = SelectField(_l("合作单位"), coerce=int, validators=[Optional()])
    due_on = DateField(_l("处理期限"), validators=[DataRequired(_l("请选择处理期限。"))])
    note = _area(_l("备注（可不填）"), NOTE_MAX, rows=2)

    def set_choices(self, staff, partners):
        self.assignee.choices = [SelectChoice(0, _l("（不指定）"))] + [SelectChoice(u.id, u.name) for u in staff]
        self.partner.choices = [SelectChoice(0, _l("（不指定）"))] + [
            SelectChoice(p.id, f"{p.name}（{p.kind_label}）") for p in partners]


class NoteForm(FlaskForm):
    note = _area(_l("进展说明（可不填）"), NOTE_MAX, rows=2)


class SolveForm(FlaskForm):
    resolution = _area(_l("做了什么"), DESCRIPTION_MAX, _l("请写明做了什么。"))
    on_wall = BooleanField(_l("上回音壁"), default=True)


class DeclineForm(FlaskForm):
    reason = _area(_l("不予处理的原因"), REASON_MAX, _l("请填写不予处理的原因。"), rows=2)


class WallForm(FlaskForm):
    show = HiddenField()


class PartnerForm(FlaskForm):
    name = StringField(_l("单位名称"), filters=[strip], validators=[
        DataRequired(_l("请填写单位名称。")), Length(max=40, message=_l("不能超过%(max)d个字。"))],
        render_kw={"maxlength": 40})
    kind = SelectField(_l("类型"), choices=[SelectChoice(k, v) for k, v in PARTNER_KIND_LABELS.items()])
    contact_name = StringField(_l("联系人"), filters=[strip], validators=[
        Optional(), Length(max=40, message=_l("不能超过%(max)d个字。"))], render_kw={"maxlength": 40})
    phone = StringField(_l("电话"), filters=[strip], validators=[
        Optional(), Length(max=20, message=_l("不能超过%(max)d个字。"))], render_kw={"maxlength": 20, "inputmode": "tel"})


class PointsForm(FlaskForm):
    category = HiddenField()
    points = IntegerField(_l("积分"), validators=[
        NumberRange(min=0, max=200, message=_l("积分需在%(min)s到%(max)s之间。"))], render_kw={"inputmode": "numeric"})
