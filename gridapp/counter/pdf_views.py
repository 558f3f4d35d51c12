"""Counter PDFs: the redemption receipt on 58 mm thermal paper (staff: any; a volunteer: only
their own) and volunteer cards, eight to an A4 sheet with cut lines, for volunteers without a
phone to show their QR code on.

The receipt is served like the donation receipt (gridapp/goods/receipt_views.py): what it shows
is fixed once issued except for a void, so the PDF is keyed by a fingerprint of exactly what it
shows plus the layout's version. The fingerprint is the ETag (a request holding it gets 304,
unrendered), and rendered PDFs are kept in the PDF cache under it (``gridapp.pdf.pdf_response``).

Which cards ``/counter/cards.pdf`` prints (the counter index page has the form), the first given wins:

- ``?ids=3,5,8``             these volunteers by account id, in this order (links: the receipt page
                             links the card of the volunteer it names);
- ``?phones=139…,138…``      these volunteers by phone number, in this order (what staff type);
- ``?team=<id>`` / ``all``   the active volunteers of a team, or all of them, by household and name;
  ``&unused=1``              … only those who have never logged in (most likely without a smartphone).

Unknown or inactive volunteers: 404 naming them, nothing printed. At most MAX_CARDS a PDF.

Always Chinese, whatever the page language: documents the community hands out.
"""
import math
import unicodedata

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..auth.forms import ConfirmForm
from ..auth.models import STAFF_ROLES, User
from ..auth.permissions import roles_required
from ..auth.service import require_owner
from ..clock import local_today
from ..community.models import Team
from ..community.service import active_teams
from ..errors import DomainError, NotFound
from ..extensions import db
from ..formtools import commit_or_explain
from ..org.service import current_grid, letterhead, letterhead_of
from ..numbers import parse_id
from ..pdf import cached_pdf, fingerprint, paper_date, pdf_response, render_pdf, warm_up_render
from ..qr import qr_svg
from . import service as counter

bp = Blueprint("counter_pdfs", __name__)

RECEIPT_TEMPLATE = "pdf/redemption_receipt.html"
CARDS_TEMPLATE = "pdf/volunteer_cards.html"
MAX_CARDS = 200  # 25 A4 sheets, ~5 s of rendering (~25 ms a card); more is a job for batches
CARDS_PER_SHEET = 8  # 2 × 4, each 85.6 × 54 mm (bank-card size, fits a card sleeve)


# --- the receipt ---------------------------------------------------------------------------

# The 58 mm roll: a thermal head prints 48 mm (384 dots), so 5 mm each side. WeasyPrint has no
# "height: as long as the content", so the page height is worked out from what the receipt holds:
# rows of text at 8.5 pt (4.1 mm a row with the line height), 16 full-width characters a row, 12
# beside a label, 11 in the item column. Measured on the template (3–6 mm to spare: paper the tear
# bar needs anyway); tests/counter/test_pdfs.py checks that a long, voided receipt stays one page.
ROW_MM = 4.1
FULL_ROW_CHARS = 16
FACT_ROW_CHARS = 12
ITEM_ROW_CHARS = 11
FIXED_MM = 96  # margins, title, facts, rules, total, balance after, served by, signature line, closing note
VOID_FIXED_MM = 16  # the VOID box and who voided it, besides the reason's rows


def text_rows(text: str, chars_per_row: int) -> int:
    """Rows ``text`` takes where a row holds ``chars_per_row`` Chinese characters (Latin counts half)."""
    halves = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text or "")
    return max(1, math.ceil(halves / (2 * chars_per_row)))


def receipt_height_mm(context: dict) -> int:
    """The page height that holds the receipt: fixed parts, plus rows for names and lines that wrap."""
    height = FIXED_MM
    height += ROW_MM * (text_rows(context["volunteer"], FACT_ROW_CHARS) - 1)
    height += ROW_MM * (text_rows(context["household"] or "", FACT_ROW_CHARS) - 1)
    for line in context["lines"]:
        height += ROW_MM * (text_rows(f'{line["item"]} × {line["quantity"]}', ITEM_ROW_CHARS) + 1) + 1
    if context["voided"]:
        height += VOID_FIXED_MM + ROW_MM * text_rows("作废原因：" + context["void_reason"], FULL_ROW_CHARS)
    return math.ceil(height)


def household_label(household) -> str | None:
    # Not Household.label: that one follows the page language, and the receipt is always Chinese.
    return f"{household.building}栋{household.unit}单元{household.room}室" if household else None


def local_time(moment) -> str | None:
    return paper_date(moment, "yyyy-MM-dd HH:mm") if moment else None


def receipt_context(redemption) -> dict:
    """Everything the receipt shows, as plain values (also what its fingerprint is made of); the
    community and organiser are those of the redemption's grid."""
    names = letterhead_of(redemption)
    context = {
        "receipt_no": redemption.receipt_no,
        "created_at": local_time(redemption.created_at),
        "volunteer": redemption.volunteer.name,
        "household": household_label(redemption.household),
        "lines": [{"item": line.item.name, "unit": line.item.unit, "quantity": line.quantity,
                   "unit_points": line.unit_points, "points": line.points} for line in redemption.lines],
        "total_points": redemption.total_points,
        "total_quantity": sum(line.quantity for line in redemption.lines),
        "balance_after": counter.balance_after(redemption),
        "served_by": redemption.served_by.name,
        "organisation": names.community,
        "branch": names.organiser,
        "voided": redemption.voided_at is not None,
        "voided_at": local_time(redemption.voided_at),
        "voided_by": redemption.voided_by.name if redemption.voided_by else None,
        "void_reason": redemption.void_reason,
    }
    context["height_mm"] = receipt_height_mm(context)
    return context


PRINT_STEP_MM = 10  # static/css/receipt-print.css has a named page every 10 mm
PRINT_MAX_MM = 400


def print_height_mm(redemption) -> int:
    """The page length for printing the receipt page on the 58 mm roll from the browser: the PDF's
    length, rounded up to the next named page of receipt-print.css (CSS has no "as long as the
    content" for paper, and the CSP allows no per-page inline style)."""
    height = receipt_height_mm({  # the facts the height depends on, not the whole receipt (no balance, no letterhead)
        "volunteer": redemption.volunteer.name, "household": household_label(redemption.household),
        "lines": [{"item": line.item.name, "quantity": line.quantity} for line in redemption.lines],
        "voided": redemption.voided_at is not None, "void_reason": redemption.void_reason})
    return min(PRINT_MAX_MM, math.ceil(height / PRINT_STEP_MM) * PRINT_STEP_MM)


def receipt_response(redemption) -> Response:
    """The receipt inline, with an ETag: a request that already holds this version gets 304, unrendered."""
    context = receipt_context(redemption)
    return pdf_response(fingerprint(RECEIPT_TEMPLATE, context), lambda: render_pdf(RECEIPT_TEMPLATE, r=context),
                        f"{redemption.receipt_no}.pdf")


@warm_up_render
def warm_up_newest_receipt():
    """A worker starting (pdf.warm_up) renders the newest redemption's receipt into the PDF cache: the
    receipt template, its stylesheet and its queries have then run once before the first real one."""
    from sqlalchemy import select

    from .models import Redemption

    newest = db.session.scalar(select(Redemption).order_by(Redemption.id.desc()).limit(1))
    if newest is not None:
        context = receipt_context(newest)
        cached_pdf(fingerprint(RECEIPT_TEMPLATE, context), lambda: render_pdf(RECEIPT_TEMPLATE, r=context),
                   block=True)


@bp.route("/counter/redemptions/<id:redemption_id>/receipt.pdf")
@roles_required(*STAFF_ROLES)
def staff_receipt(redemption_id):
    return receipt_response(counter.get_redemption(redemption_id))


@bp.route("/me/redemptions/<id:redemption_id>/receipt.pdf")
@roles_required("volunteer")
def my_receipt(redemption_id):
    return receipt_response(require_owner(current_user, counter.get_redemption(redemption_id)))


# --- volunteer cards -----------------------------------------------------------------------

class BadCardSelection(DomainError):
    status = 400
    default_message = _l("请选择要打印哪些志愿者的卡：服务队，或手机号（多个用逗号或空格分开）。")


class UnknownVolunteers(NotFound):
    default_message = _l("找不到这些志愿者：%(which)s。他们不是在册的志愿者，或账号已停用。没有打印任何卡。")


class NoVolunteersSelected(NotFound):
    default_message = _l("没有符合条件的志愿者，没有可打印的卡。")


class TooManyCards(DomainError):
    default_message = _l("一次最多打印 %(max)d 张卡，这次选中了 %(n)d 位志愿者。请按服务队分批打印，或只打印从未登录过的。")


def active_volunteers():
    return User.query.filter_by(role="volunteer", status="active")


def split_list(text: str) -> list[str]:
    """"3,5 8、9，10" -> ["3", "5", "8", "9", "10"] (commas, Chinese commas, 、 or spaces), repeats dropped."""
    for separator in ("，", "、", ";", "；", "\n", "\r", "\t", " "):
        text = text.replace(separator, ",")
    return list(dict.fromkeys(part for part in text.split(",") if part))


def listed_volunteers(values: list[str], column, *, digits: int | None) -> list[User]:
    """Active volunteers whose ``column`` is one of ``values``, in the order given; all or nothing."""
    def well_formed(value: str) -> bool:
        if digits is None:  # an account id
            return parse_id(value) is not None
        return len(value) == digits and value.isascii() and value.isdigit()  # a phone number

    if not values or not all(well_formed(v) for v in values):
        raise BadCardSelection()
    if len(values) > MAX_CARDS:
        raise TooManyCards(max=MAX_CARDS, n=len(values))
    keys = [int(v) for v in values] if digits is None else values
    found = {getattr(user, column.key): user for user in active_volunteers().filter(column.in_(keys))}
    missing = [str(key) for key in keys if key not in found]
    if missing:
        label = "编号 " if digits is None else "手机号 "
        raise UnknownVolunteers(which=label + "、".join(missing[:20]) + ("……" if len(missing) > 20 else ""))
    return [found[key] for key in keys]


def selected_volunteers(args) -> list[User]:
    """The volunteers whose cards ``args`` asks for (see the module docstring), or a DomainError."""
    if args.get("ids", "").strip():
        return listed_volunteers(split_list(args["ids"]), User.id, digits=None)
    if args.get("phones", "").strip():
        return listed_volunteers(split_list(args["phones"]), User.phone, digits=11)
    team = args.get("team", "").strip()
    if not team:
        raise BadCardSelection()
    query = active_volunteers()
    if team != "all":
        team_id = parse_id(team)
        if team_id is None or db.session.get(Team, team_id) is None:
            raise NotFound(_l("找不到这个服务队。"))
        query = query.filter(User.team_id == team_id)
    if args.get("unused"):
        query = query.filter(User.last_login_at.is_(None))
    count = query.count()
    if count > MAX_CARDS:
        raise TooManyCards(max=MAX_CARDS, n=count)
    volunteers = query.order_by(User.household_id, User.name, User.id).all()
    if not volunteers:
        raise NoVolunteersSelected()
    return volunteers


@bp.app_template_global("card_printing")
def card_printing() -> dict:
    """What the counter page's card form offers: the teams, and the cap (a template global, so that
    the page's own view need not know about cards)."""
    return {"teams": active_teams(), "max_cards": MAX_CARDS}


@bp.route("/counter/cards.pdf", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def cards():
    """Volunteer cards to print and cut: name, household, the code large, and its QR code.

    Printing (GET) never writes. If some of the volunteers have no code yet (accounts from before
    cards existed), the answer is a page naming them with a button that gives them codes (POST, the
    same selection) and then prints.
    """
    args = request.form if request.method == "POST" else request.args
    volunteers = selected_volunteers(args)
    selection = {key: args[key] for key in ("ids", "phones", "team", "unused") if args.get(key)}
    if request.method == "POST":
        if ConfirmForm().validate_on_submit():
            commit_or_explain(lambda: counter.give_codes(volunteers))
        return redirect(url_for("counter_pdfs.cards", **selection), 303)
    missing = counter.without_code(volunteers)
    if missing:
        return render_template("counter/cards_codes.html", missing=missing, selection=selection,
                               form=ConfirmForm()), 409
    cards = [{"name": v.name, "household": household_label(v.household), "code": v.volunteer_code,
              "qr": qr_svg(v.volunteer_code)} for v in volunteers]
    sheets = [cards[i:i + CARDS_PER_SHEET] for i in range(0, len(cards), CARDS_PER_SHEET)]
    pdf = render_pdf(CARDS_TEMPLATE, sheets=sheets, organisation=letterhead(current_grid()).community, count=len(cards),
                     printed_on=local_today().isoformat())
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="volunteer-cards-{local_today():%Y%m%d}.pdf"'
    return response
