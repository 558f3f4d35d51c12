"""Donation receipts (捐赠接收凭证): the PDF, and the signed link that its QR code carries.

The QR code opens ``/v/<token>``, a public page that confirms the receipt is genuine and
says whether it was voided. The token is the donation id signed with the app's secret key
(its own salt), so it cannot be guessed or altered.

A receipt's content is fixed once issued, except that it may be voided (and the sponsor
renamed). The PDF is therefore keyed by a fingerprint of exactly what it shows, plus the
layout's version: the fingerprint is the response's ETag, and rendered PDFs are kept in the
PDF cache under it (``gridapp.pdf``), so a repeated request is never rendered twice.
"""
from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from ..org.scope import unscoped
from ..clock import to_local
from ..money import fen_to_yuan
from ..extensions import db
from ..org.service import letterhead_of
from ..pdf import cached_pdf, fingerprint, paper_date, render_pdf
from ..qr import qr_svg
from ..urls import public_url
from .models import Donation

TOKEN_SALT = "gridapp.goods.receipt-verification"
MAX_TOKEN_LENGTH = 100
TEMPLATE = "pdf/donation_receipt.html"


# --- the verification token -----------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def make_token(donation: Donation) -> str:
    """The URL-safe token for ``/v/<token>``: the donation id, signed. Deterministic."""
    return _serializer().dumps(donation.id)


def verify_token(token: str) -> Donation | None:
    """The donation that ``token`` names, or None if it was altered, signed with another key, or
    names no donation. Only the exact token we issue is accepted: base64 ignores the spare low
    bits of the last character, so without the final comparison a changed last character could
    still pass."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    serializer = _serializer()
    try:
        donation_id = serializer.loads(token)
    except BadData:
        return None
    if type(donation_id) is not int or serializer.dumps(donation_id) != token:
        return None
    with unscoped():  # the signed token names the donation, whichever grid it belongs to
        return db.session.get(Donation, donation_id)


def verify_url(donation: Donation) -> str:
    """The absolute URL of the donation's verification page (what the QR code encodes)."""
    return public_url("receipts.verify", token=make_token(donation))


# --- what the receipt shows -----------------------------------------------------------

def yuan(fen: int) -> str:
    """Fen as yuan with two decimals and thousands separators: 123456 -> "1,234.56" (``money.fen_to_yuan``)."""
    return fen_to_yuan(fen)


def public_summary(donation: Donation) -> dict:
    """What the public verification page may show: no people, no phone numbers, no void reason.
    The receiving community and organiser are those of the donation's grid (``org.grid_of``)."""
    names = letterhead_of(donation)
    return {
        "receipt_no": donation.receipt_no,
        "sponsor_name": donation.sponsor.name,
        "received_on": donation.received_on,
        "total_quantity": donation.total_quantity,
        "total_value_fen": donation.total_value_fen,
        "voided": donation.voided_at is not None,
        "organisation": names.community,
        "branch": names.organiser,
    }


def receipt_context(donation: Donation, staff_name: str) -> dict:
    """Everything the PDF shows, as plain values (also what its fingerprint is made of). The receiving
    community and organiser are those of the donation's grid (``org.grid_of``), as the tree names them now."""
    names = letterhead_of(donation)
    lines = [{
        "no": number,
        "item": line.item.name,
        "unit": line.item.unit,
        "quantity": line.quantity,
        "unit_value": yuan(line.unit_value_fen) if line.unit_value_fen is not None else None,
        "value": yuan(line.value_fen) if line.unit_value_fen is not None else None,
    } for number, line in enumerate(donation.lines, 1)]
    voided_at = to_local(donation.voided_at)
    return {
        "receipt_no": donation.receipt_no,
        "sponsor_name": donation.sponsor.name,
        "received_on": paper_date(donation.received_on),
        "lines": lines,
        "total_quantity": donation.total_quantity,
        "total_value": yuan(donation.total_value_fen),
        "some_unvalued": any(line["value"] is None for line in lines),
        "note": donation.note,
        "organisation": names.community,
        "branch": names.organiser,
        "staff_name": staff_name,
        "verify_url": verify_url(donation),
        "voided": voided_at is not None,
        "voided_on": paper_date(voided_at.date()) if voided_at else None,
        "void_reason": donation.void_reason,
    }


# --- the PDF -------------------------------------------------------------------------

def receipt_etag(context: dict) -> str:
    """The ETag of a receipt_context(): changes exactly when what the PDF shows (or its layout) changes."""
    return fingerprint(TEMPLATE, context)


def render_receipt(context: dict) -> bytes:
    """Render the PDF for a receipt_context() (no cache: receipt_pdf() is what views call)."""
    return render_pdf(TEMPLATE, r=context, qr=qr_svg(context["verify_url"]))


def receipt_pdf(donation: Donation, staff_name: str) -> bytes:
    """The receipt as an A5 PDF (rendered once per content; later calls come from the PDF cache)."""
    context = receipt_context(donation, staff_name)
    return cached_pdf(receipt_etag(context), lambda: render_receipt(context))
