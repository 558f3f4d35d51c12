"""Donation receipt PDFs (staff: any donation; a sponsor: its own) and the public verification page."""
from flask import Blueprint, Response, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..auth.models import STAFF_ROLES
from ..auth.permissions import public, roles_required
from ..auth.service import require_owner
from .. import pdf
from ..errors import NotFound
from ..org.service import current_grid, letterhead
from . import donations, receipts

bp = Blueprint("receipts", __name__)


class InvalidReceiptLink(NotFound):
    default_message = _l(
        "无法核验：这个凭证二维码或链接无效，可能被改动过。请以纸质凭证上的凭证号向%(organisation)s核实。")


def pdf_response(donation) -> Response:
    """The receipt inline, with an ETag: a request that already holds this version gets 304, unrendered."""
    context = receipts.receipt_context(donation, donation.created_by.name)  # once: the ETag and the render
    return pdf.pdf_response(receipts.receipt_etag(context), lambda: receipts.render_receipt(context),
                            f"{donation.receipt_no}.pdf")


@bp.route("/staff/donations/<id:donation_id>/receipt.pdf")
@roles_required(*STAFF_ROLES)
def staff_receipt(donation_id):
    return pdf_response(donations.get_donation(donation_id))


@bp.route("/sponsor/donations/<id:donation_id>/receipt.pdf")
@roles_required("sponsor")
def sponsor_receipt(donation_id):
    return pdf_response(require_owner(current_user, donations.get_donation(donation_id)))


@bp.route("/v/<token>")
@public
def verify(token):
    """What the receipt's QR code opens: genuine or not, valid or voided. Nothing personal."""
    donation = receipts.verify_token(token)
    if donation is None:
        raise InvalidReceiptLink(organisation=letterhead(current_grid()).community)
    response = Response(render_template("goods/verify.html", receipt=receipts.public_summary(donation)))
    response.headers["X-Robots-Tag"] = "noindex"
    return response
