"""Campaign pages: the sign-up page the notice's QR code opens, the PDFs, and the staff's planning pages."""

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.models import GRID_ROLES, STAFF_ROLES
from .. import pdf
from ..auth.permissions import roles_required
from ..auth.service import get_user, search_volunteers
from ..clock import local_span, to_local, utcnow
from ..duty.forms import OnceForm
from ..duty.models import DutyType
from ..errors import DomainError, NotFound
from ..extensions import db
from ..formtools import commit_or_explain
from ..htmx import is_fragment_request
from ..numbers import parse_id
from ..once import new_token, run_once
from ..org.service import current_grid
from . import notice
from . import service as campaigns
from .forms import AssignForm, CampaignForm, QuickSnowForm, ZoneForm

bp = Blueprint("campaigns", __name__)


# --- the sign-up page (the notice's QR code) -----------------------------------------------

def _page(campaign, status=200, error=None):
    is_volunteer = current_user.role == "volunteer"
    return render_template(
        "campaigns/page.html", campaign=campaign, error=error, now=utcnow(), is_volunteer=is_volunteer,
        place=campaigns.place_of(current_user, campaign) if is_volunteer else None,
        once_token=new_token()), status


@bp.route("/campaigns/<id:campaign_id>")
@roles_required(*GRID_ROLES)
def page(campaign_id):
    """The campaign and its zones; volunteers sign up here. A draft is shown to staff only."""
    return _page(campaigns.visible_campaign(current_user, campaign_id))


def _volunteer_action(campaign, action):
    form = OnceForm()
    if not form.validate_on_submit():
        return _page(campaign, 422, _("请求无效，请刷新页面后重试。"))
    try:
        return redirect(run_once(form.token.data, current_user, action), 303)
    except DomainError as exc:
        return _page(campaign, 422, exc.message)


@bp.route("/campaigns/<id:campaign_id>/zones/<id:zone_id>/sign-up", methods=["POST"])
@roles_required("volunteer")
def sign_up(campaign_id, zone_id):
    campaign = campaigns.visible_campaign(current_user, campaign_id)
    zone = campaigns.get_zone(campaign, zone_id)

    def do():
        campaigns.sign_up(current_user, zone, utcnow())
        flash(_("报名成功：%(zone)s。请按时到 %(place)s 集合签到。", zone=zone.name, place=campaign.meeting_point),
              "success")
        return url_for("campaigns.page", campaign_id=campaign.id)

    return _volunteer_action(campaign, do)


@bp.route("/campaigns/<id:campaign_id>/cancel", methods=["POST"])
@roles_required("volunteer")
def cancel(campaign_id):
    campaign = campaigns.visible_campaign(current_user, campaign_id)

    def do():
        zone = campaigns.cancel(current_user, campaign, utcnow())
        flash(_("已取消“%(zone)s”的报名。", zone=zone.name), "success")
        return url_for("campaigns.page", campaign_id=campaign.id)

    return _volunteer_action(campaign, do)


# --- PDFs -----------------------------------------------------------------------------------

def pdf_response(template: str, context: dict, filename: str) -> Response:
    """The PDF inline, with its content fingerprint as ETag: a browser that holds this version gets
    304 without any rendering; the same content is rendered once per process (``pdf.pdf_response``)."""
    return pdf.pdf_response(notice.fingerprint(template, context), lambda: notice.RENDERERS[template](context),
                            filename)


def pdf_ready(template: str, context: dict, pdf_url: str, label: str):
    """Make the PDF now (htmx shows "正在生成…" meanwhile) and answer with a link to it, which then
    opens at once from the cache. Without JavaScript nobody comes here but by typing: go to the PDF."""
    pdf = notice.cached_pdf(template, context)
    if not is_fragment_request():
        return redirect(pdf_url, 303)
    return render_template("campaigns/_pdf_ready.html", pdf_url=pdf_url, label=label, size_kb=len(pdf) // 1024 + 1)


@bp.route("/campaigns/<id:campaign_id>/notice.pdf")
@roles_required(*GRID_ROLES)
def notice_pdf(campaign_id):
    """The A4 notice for noticeboards and stairwells (a draft: staff only, marked 草稿)."""
    campaign = campaigns.visible_campaign(current_user, campaign_id)
    return pdf_response(notice.NOTICE_TEMPLATE, notice.notice_context(campaign),
                        f"{campaign.duty_type.name}通知-{campaign.id}.pdf")


@bp.route("/campaigns/<id:campaign_id>/notice/ready")
@roles_required(*GRID_ROLES)
def notice_ready(campaign_id):
    campaign = campaigns.visible_campaign(current_user, campaign_id)
    return pdf_ready(notice.NOTICE_TEMPLATE, notice.notice_context(campaign),
                     url_for("campaigns.notice_pdf", campaign_id=campaign.id), _("打开通知"))


@bp.route("/staff/campaigns/<id:campaign_id>/zones/<id:zone_id>/sheet.pdf")
@roles_required(*STAFF_ROLES)
def sheet_pdf(campaign_id, zone_id):
    """The zone's paper sign-in sheet: names and last 4 phone digits, signatures, blank rows."""
    zone = campaigns.get_zone(campaigns.get_campaign(campaign_id), zone_id)
    return pdf_response(notice.SHEET_TEMPLATE, notice.sheet_context(zone), f"签到表-{zone.name}.pdf")


@bp.route("/staff/campaigns/<id:campaign_id>/zones/<id:zone_id>/sheet/ready")
@roles_required(*STAFF_ROLES)
def sheet_ready(campaign_id, zone_id):
    zone = campaigns.get_zone(campaigns.get_campaign(campaign_id), zone_id)
    return pdf_ready(notice.SHEET_TEMPLATE, notice.sheet_context(zone),
                     url_for("campaigns.sheet_pdf", campaign_id=campaign_id, zone_id=zone.id), _("打开签到表"))


# --- staff: the list, quick start, new and edit -----------------------------------------------

def _quick_form():
    form = QuickSnowForm(token=new_token())
    if not form.is_submitted():
        form.day.data = campaigns.default_quick_day(utcnow())
    return form


def _list_page(quick_form=None, status=200):
    return render_template("campaigns/list.html", campaigns=campaigns.staff_campaigns(),
                           quick_form=quick_form or _quick_form(), source=campaigns.last_snow_campaign()), status


@bp.route("/staff/campaigns")
@roles_required(*STAFF_ROLES)
def staff_list():
    return _list_page()


@bp.route("/staff/campaigns/quick-snow", methods=["POST"])
@roles_required(*STAFF_ROLES)
def quick_snow():
    """一键发起扫雪: a draft copied from the last snow campaign, on the chosen day."""
    form = QuickSnowForm()
    if not form.validate_on_submit():
        return _list_page(form, 422)

    def do():
        campaign = campaigns.quick_snow(current_user, form.day.data, utcnow())
        db.session.flush()
        flash(_("已生成草稿：%(n)d 个区域已照上次分好。请检查后发布。", n=len(campaign.zones)) if campaign.zones
              else _("已生成草稿。请添加区域后发布。"), "success")
        return url_for("campaigns.detail", campaign_id=campaign.id)

    try:
        return redirect(run_once(form.token.data, current_user, do), 303)
    except DomainError as exc:
        form.day.errors.append(exc.message)
        return _list_page(form, 422)


NEW_SNOW_TYPE = 0  # the choice that adds the 扫雪除冰 duty type on saving, while the community has none


def _details(form) -> campaigns.Details:
    duty_type = (campaigns.snow_duty_type(current_user) if form.duty_type.data == NEW_SNOW_TYPE
                 else db.session.get(DutyType, form.duty_type.data))
    starts_at, ends_at = local_span(form.day.data, form.start.data, form.end.data)  # an earlier end: the next day
    return campaigns.Details(
        title=form.title.data, duty_type=duty_type, starts_at=starts_at, ends_at=ends_at,
        meeting_point=form.meeting_point.data, organiser=form.organiser.data, contact_name=form.contact_name.data or "",
        contact_phone=form.contact_phone.data or "", body=form.body.data or "", tools=form.tools.data or "",
        safety=form.safety.data or "", points=form.points.data)


def _campaign_form(campaign=None):
    form = CampaignForm(obj=campaign)
    duty_types = DutyType.query.filter_by(active=True).order_by(DutyType.id).all()
    snow = next((t for t in duty_types if t.name == campaigns.SNOW), None)
    form.set_choices(duty_types, NEW_SNOW_TYPE if snow is None else None)
    if not form.is_submitted():
        if campaign is not None:
            start, end = to_local(campaign.starts_at), to_local(campaign.ends_at)
            form.duty_type.data, form.day.data = campaign.duty_type_id, start.date()
            form.start.data, form.end.data = start.time(), end.time()
        else:  # a new campaign starts from the 26 December texts
            template = campaigns.snow_template(current_grid())
            form.duty_type.data = snow.id if snow else NEW_SNOW_TYPE
            form.day.data = campaigns.default_quick_day(utcnow())
            form.start.data = template["start"]
            form.end.data = template["start"].replace(hour=template["start"].hour + template["hours"])
            for name in ("meeting_point", "organiser", "body", "tools", "safety", "points"):
                getattr(form, name).data = template[name]
            form.title.data = campaigns.default_title(campaigns.SNOW, form.day.data)
            form.contact_name.data, form.contact_phone.data = current_user.name, current_user.phone
    return form


@bp.route("/staff/campaigns/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def new():
    form = _campaign_form()
    if form.validate_on_submit():
        ok, campaign = commit_or_explain(lambda: campaigns.create_campaign(current_user, _details(form), utcnow()),
                                         form.end.errors)
        if ok:
            flash(_("已保存草稿。请添加区域后发布。"), "success")
            return redirect(url_for("campaigns.detail", campaign_id=campaign.id), 303)
    return render_template("campaigns/edit.html", form=form, campaign=None), 422 if request.method == "POST" else 200


@bp.route("/staff/campaigns/<id:campaign_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def edit(campaign_id):
    campaign = campaigns.get_campaign(campaign_id)
    form = _campaign_form(campaign)
    if form.validate_on_submit():
        try:
            commit_or_explain(lambda: campaigns.update_campaign(current_user, campaign, _details(form), utcnow()))
        except DomainError as exc:
            (form.end if isinstance(exc, campaigns.BadTimes) else form.day).errors.append(exc.message)
        else:
            flash(_("已保存。通知已随之更新，请重新打印。") if not campaign.is_draft else _("已保存。"), "success")
            return redirect(url_for("campaigns.detail", campaign_id=campaign.id), 303)
    return render_template("campaigns/edit.html", form=form, campaign=campaign), (
        422 if request.method == "POST" else 200)


# --- staff: one campaign ------------------------------------------------------------------------

def _detail_page(campaign, status=200, error=None, zone_form=None):
    return render_template("campaigns/detail.html", campaign=campaign, error=error, now=utcnow(),
                           zone_form=zone_form or ZoneForm(formdata=None), taken=campaigns.taken), status


@bp.route("/staff/campaigns/<id:campaign_id>")
@roles_required(*STAFF_ROLES)
def detail(campaign_id):
    return _detail_page(campaigns.get_campaign(campaign_id))


def _campaign_action(campaign_id, action, success):
    """A staff button on the campaign page (CSRFProtect has checked the token): one service call,
    committed; a refusal shows the page again with the message (422) and changes nothing."""
    campaign = campaigns.get_campaign(campaign_id)
    errors = []
    ok, result = commit_or_explain(lambda: action(campaign), errors)
    if not ok:
        return _detail_page(campaign, 422, " ".join(errors))
    flash(success(result), "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id), 303)


@bp.route("/staff/campaigns/<id:campaign_id>/publish", methods=["POST"])
@roles_required(*STAFF_ROLES)
def publish(campaign_id):
    return _campaign_action(campaign_id, lambda c: campaigns.publish(current_user, c, utcnow()),
                            lambda c: _("已发布：%(n)d 个区域的签到已安排，志愿者现在可以报名。", n=len(c.zones)))


@bp.route("/staff/campaigns/<id:campaign_id>/finish", methods=["POST"])
@roles_required(*STAFF_ROLES)
def finish(campaign_id):
    return _campaign_action(campaign_id, lambda c: campaigns.finish(current_user, c, utcnow()),
                            lambda c: _("活动已结束。纸质签到表上的出勤请在各区域的名单中登记确认。"))


@bp.route("/staff/campaigns/<id:campaign_id>/delete", methods=["POST"])
@roles_required(*STAFF_ROLES)
def delete(campaign_id):
    campaign = campaigns.get_campaign(campaign_id)
    errors = []
    ok, _none = commit_or_explain(lambda: campaigns.delete_draft(current_user, campaign), errors)
    if not ok:
        return _detail_page(campaign, 422, " ".join(errors))
    flash(_("草稿已删除。"), "success")
    return redirect(url_for("campaigns.staff_list"), 303)


def _zone_details(form) -> campaigns.ZoneDetails:
    return campaigns.ZoneDetails(name=form.name.data, needed=form.needed.data, description=form.description.data or "",
                                 team=form.team.data or "", leader_name=form.leader_name.data or "",
                                 leader_phone=form.leader_phone.data or "")


@bp.route("/staff/campaigns/<id:campaign_id>/zones", methods=["POST"])
@roles_required(*STAFF_ROLES)
def add_zone(campaign_id):
    campaign = campaigns.get_campaign(campaign_id)
    form = ZoneForm()
    if not form.validate_on_submit():
        return _detail_page(campaign, 422, zone_form=form)
    ok, zone = commit_or_explain(lambda: campaigns.add_zone(current_user, campaign, _zone_details(form)),
                                 form.name.errors)
    if not ok:
        return _detail_page(campaign, 422, zone_form=form)
    flash(_("已添加区域：%(zone)s。", zone=zone.name), "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id) + "#zones", 303)


# --- staff: one zone -----------------------------------------------------------------------------

def _zone_page(zone, status=200, error=None, query=""):
    return render_template(
        "campaigns/zone.html", zone=zone, campaign=zone.campaign, error=error, query=query,
        people=campaigns.people_in(zone), taken=campaigns.taken(zone),
        candidates=search_volunteers(query).limit(10).all() if query else [], assign_form=AssignForm()), status


@bp.route("/staff/campaigns/<id:campaign_id>/zones/<id:zone_id>")
@roles_required(*STAFF_ROLES)
def zone(campaign_id, zone_id):
    zone = campaigns.get_zone(campaigns.get_campaign(campaign_id), zone_id)
    return _zone_page(zone, query=request.args.get("q", "").strip()[:40])


@bp.route("/staff/campaigns/<id:campaign_id>/zones/<id:zone_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def edit_zone(campaign_id, zone_id):
    zone = campaigns.get_zone(campaigns.get_campaign(campaign_id), zone_id)
    form = ZoneForm(obj=zone)
    if form.validate_on_submit():
        try:
            commit_or_explain(lambda: campaigns.update_zone(current_user, zone, _zone_details(form)))
        except DomainError as exc:
            (form.name if isinstance(exc, campaigns.DuplicateZone) else form.needed).errors.append(exc.message)
        else:
            flash(_("已保存区域：%(zone)s。", zone=zone.name), "success")
            return redirect(url_for("campaigns.detail", campaign_id=campaign_id) + "#zones", 303)
    return render_template("campaigns/edit_zone.html", form=form, zone=zone, campaign=zone.campaign), (
        422 if request.method == "POST" else 200)


@bp.route("/staff/campaigns/<id:campaign_id>/zones/<id:zone_id>/delete", methods=["POST"])
@roles_required(*STAFF_ROLES)
def delete_zone(campaign_id, zone_id):
    campaign = campaigns.get_campaign(campaign_id)
    zone = campaigns.get_zone(campaign, zone_id)
    name = zone.name
    errors = []
    ok, _none = commit_or_explain(lambda: campaigns.delete_zone(current_user, zone), errors)
    if not ok:
        return _detail_page(campaign, 422, " ".join(errors))
    flash(_("已删除区域：%(zone)s。", zone=name), "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id) + "#zones", 303)


def _person_action(campaign_id, zone_id, volunteer_id, action, success):
    zone = campaigns.get_zone(campaigns.get_campaign(campaign_id), zone_id)
    volunteer = get_user(volunteer_id)
    errors = []
    ok, _none = commit_or_explain(lambda: action(zone, volunteer), errors)
    if not ok:
        return _zone_page(zone, 422, " ".join(errors))
    flash(success(zone, volunteer), "success")
    return redirect(url_for("campaigns.zone", campaign_id=campaign_id, zone_id=zone.id), 303)


@bp.route("/staff/campaigns/<id:campaign_id>/zones/<id:zone_id>/assign", methods=["POST"])
@roles_required(*STAFF_ROLES)
def assign(campaign_id, zone_id):
    """Staff put a volunteer in this zone (the same rules as signing up)."""
    form = AssignForm()
    volunteer_id = parse_id(form.volunteer_id.data)
    if not form.validate_on_submit() or volunteer_id is None:
        raise NotFound()
    return _person_action(campaign_id, zone_id, volunteer_id,
                          lambda z, v: campaigns.assign(current_user, z, v, utcnow()),
                          lambda z, v: _("已把 %(name)s 分配到%(zone)s。", name=v.name, zone=z.name))


@bp.route("/staff/campaigns/<id:campaign_id>/zones/<id:zone_id>/people/<id:volunteer_id>/cancel",
          methods=["POST"])
@roles_required(*STAFF_ROLES)
def unassign(campaign_id, zone_id, volunteer_id):
    return _person_action(campaign_id, zone_id, volunteer_id,
                          lambda z, v: campaigns.unassign(current_user, z, v, utcnow()),
                          lambda z, v: _("已取消 %(name)s 在%(zone)s的报名。", name=v.name, zone=z.name))
