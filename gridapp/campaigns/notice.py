"""The campaign's printed papers: the A4 notice (通知) and each zone's sign-in sheet (签到表).

Both PDFs are made from plain-value contexts (what the paper shows, nothing else). The context's
fingerprint, with a hash of the template and its stylesheets, is the response's ETag and
the key of the PDF cache (``gridapp.pdf``): the same campaign text gives the same PDF without
rendering it again; any change to what the paper shows gives a new one.

The notice shows only the campaign's own text (not how many signed up), so sign-ups do not
change it. The sign-in sheet lists the people, so each sign-up gives a new sheet.
"""
from .. import pdf
from ..extensions import db
from ..clock import to_local, utcnow
from ..pdf import paper_date, render_pdf
from ..urls import public_url
from . import service
from .models import Campaign, CampaignZone

NOTICE_TEMPLATE = "pdf/campaign_notice.html"
SHEET_TEMPLATE = "pdf/sign_in_sheet.html"
SHEET_MIN_ROWS = 16  # a sheet has at least this many rows (one A4 page); blank ones are for walk-ins
SHEET_BLANK_ROWS = 6  # and at least this many blank rows


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _when(campaign: Campaign) -> dict:
    start, end = to_local(campaign.starts_at), to_local(campaign.ends_at)
    same_day = start.date() == end.date()
    return {
        "date": paper_date(start.date(), "y年M月d日（EEEE）"),
        "time": (f"{paper_date(campaign.starts_at, 'HH:mm')}—{'' if same_day else paper_date(end.date()) + ' '}"
                 f"{paper_date(campaign.ends_at, 'HH:mm')}"),
    }


def signup_url(campaign: Campaign) -> str:
    """What the notice's QR code opens: the campaign's sign-up page (after login)."""
    return public_url("campaigns.page", campaign_id=campaign.id)


def notice_context(campaign: Campaign) -> dict:
    """Everything the notice shows, as plain values (also what its fingerprint is made of)."""
    context = {
        "title": service.notice_heading(campaign.title),
        "kind": campaign.duty_type.name,
        "paragraphs": _lines(campaign.body),
        **_when(campaign),
        "meeting_point": campaign.meeting_point,
        "contact": " ".join(filter(None, [campaign.contact_name, campaign.contact_phone])),
        "points": campaign.points,
        "zones": [{
            "no": number, "name": zone.name, "description": zone.description, "team": zone.team,
            "leader": zone.leader_name, "leader_phone": zone.leader_phone, "needed": zone.needed,
        } for number, zone in enumerate(campaign.zones, 1)],
        "tools": campaign.tools,
        "safety": _lines(campaign.safety),
        "organiser": campaign.organiser,
        "issued_on": paper_date(campaign.issued_on),
        "draft": campaign.is_draft,
        "signup_url": signup_url(campaign),
    }
    return context


def sheet_context(zone: CampaignZone) -> dict:
    """The zone's sign-in sheet: who holds a place (name, last 4 phone digits), then blank rows."""
    campaign = zone.campaign
    people = [{"no": n, "name": a.volunteer.name, "phone_tail": a.volunteer.phone_tail,
               "checked_in": paper_date(a.checked_in_at, "HH:mm") if a.checked_in_at else ""}
              for n, a in enumerate(service.people_in(zone), 1)]
    blank = max(SHEET_BLANK_ROWS, SHEET_MIN_ROWS - len(people))
    return {
        "title": f"{campaign.duty_type.name}志愿服务签到表",
        "campaign": campaign.title,
        **_when(campaign),
        "meeting_point": campaign.meeting_point,
        "zone": zone.name,
        "description": zone.description,
        "team": zone.team,
        "leader": " ".join(filter(None, [zone.leader_name, zone.leader_phone])),
        "needed": zone.needed,
        "points": campaign.points,
        "people": people,
        "blank_rows": list(range(len(people) + 1, len(people) + blank + 1)),
        "organiser": campaign.organiser,
        "draft": campaign.is_draft,
        "printed_on": paper_date(to_local(utcnow()).date()),
    }


# --- fingerprints and the PDF cache (both in gridapp.pdf) ------------------------------------

DENSITIES = ("", "dense", "tight")  # body classes of the notice, from the ordinary size to the smallest


def fingerprint(template: str, context: dict) -> str:
    """The ETag of the PDF ``template`` makes from ``context``: changes exactly when either does."""
    return pdf.fingerprint(template, context)


def render_notice(context: dict, template: str = NOTICE_TEMPLATE) -> bytes:
    """Render the notice PDF for a notice_context() (no cache), on one A4 page whenever it can.
    (``template``: another layout of the same context, for a benchmark comparing layouts.)

    It is laid out in the ordinary size first; if that takes more than one page (long texts,
    many zones), again in the "dense" and then the "tight" size, and the first layout that fits
    (or the tightest) is written. Ordinary notices are laid out once.

    Laid out by ``pdf.layout`` (the base stylesheet, the heading face, then the notice's own
    stylesheet, parsed once per app: parsing it on every render cost a third of the render time). The
    QR code of the sign-up URL is a PNG made once per process and decoded once per app (pdf.image_cache):
    an inline SVG's path was parsed and drawn anew on every render (~5 ms).
    """
    # The masthead and title are set in a serif face cut down to their characters (a small sheet of its own).
    heading = pdf.heading_stylesheet(context["organiser"] + context["title"])
    for density in DENSITIES:
        document = pdf.layout(template, extra_stylesheets=[heading], n=context, density=density,
                              qr_src=pdf.qr_image_url(context["signup_url"]), images=pdf.image_cache())
        if len(document.pages) == 1:
            break
    return document.write_pdf()


def render_sheet(context: dict) -> bytes:
    return render_pdf(SHEET_TEMPLATE, s=context)


RENDERERS = {NOTICE_TEMPLATE: render_notice, SHEET_TEMPLATE: render_sheet}


def cached_pdf(template: str, context: dict, key: str | None = None) -> bytes:
    """The PDF for ``context``: from the PDF cache when this content was rendered before, else rendered now."""
    return pdf.cached_pdf(key or fingerprint(template, context), lambda: RENDERERS[template](context))


@pdf.warm_up_render
def warm_up_newest_notice():
    """A worker starting (pdf.warm_up) renders the newest published campaign's notice into the PDF cache
    (the notice being printed and scanned these days; with GRIDAPP_PUBLIC_URL set its fingerprint is
    the one requests ask for)."""
    from sqlalchemy import select

    newest = db.session.scalar(select(Campaign).where(Campaign.status != "draft")
                               .order_by(Campaign.published_at.desc(), Campaign.id.desc()).limit(1))
    if newest is not None:
        context = notice_context(newest)
        pdf.cached_pdf(fingerprint(NOTICE_TEMPLATE, context), lambda: render_notice(context), block=True)
