"""Without a Chinese font PDFs would print boxes: the app says so at start, /healthz reports it, and
every PDF view answers a Chinese 503 instead of a useless document."""
import logging

import pytest

from gridapp import create_app, pdf
from gridapp.config import TestConfig as AppTestConfig
from gridapp.counter import service as counter
from gridapp.clock import local_today
from gridapp.extensions import db
from gridapp.points import service as points

from . import factories
from .conftest import FormClient


def no_cjk_font():
    raise LookupError("no font that covers Chinese is installed")


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def fontless_app(database_url, tmp_path, monkeypatch):
    """The app started on a server without fonts-noto-cjk (the font lookup finds nothing)."""
    monkeypatch.setattr(pdf, "find_cjk_font", no_cjk_font)
    logger, collect = logging.getLogger("gridapp"), Collect()
    logger.addHandler(collect)
    try:
        app = create_app(AppTestConfig(database_url, tmp_path / "instance"))
    finally:
        logger.removeHandler(collect)
    app.start_errors = collect.records
    app.test_client_class = FormClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_a_missing_font_is_logged_as_an_error_at_start(fontless_app):
    assert [r.levelname for r in fontless_app.start_errors] == ["ERROR"]
    assert "PDFs cannot print Chinese" in fontless_app.start_errors[0].getMessage()


def test_healthz_reports_degraded_with_the_reason(fontless_app):
    response = fontless_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "degraded" and "Chinese font" in response.json["reason"]


def test_healthz_is_ok_with_the_font(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_pdf_views_answer_a_chinese_503_instead_of_boxes(fontless_app):
    staff = factories.make_user(role="staff")
    admin = factories.make_user(role="admin")
    volunteer = factories.make_user(name="蒋生军")
    kettle = factories.make_item("烧水壶", points_price=20)
    donation = factories.donate(staff, factories.make_sponsor("物业公司"), (kettle, 3))
    points.award(volunteer, 100, reference="test", description="测试积分", key="seed")
    counter.add_redemption_day(admin, local_today(), "测试")
    session = counter.open_session(staff, local_today())
    redemption = counter.redeem(staff, session, volunteer, {kettle.id: 1}, token="t1", now=session.opened_at)
    db.session.commit()
    client = fontless_app.test_client()
    client.login(staff.phone)
    for url in (f"/staff/donations/{donation.id}/receipt.pdf", f"/counter/redemptions/{redemption.id}/receipt.pdf",
                f"/counter/cards.pdf?ids={volunteer.id}"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 503, url
        assert response.mimetype == "text/html" and "服务器上没有中文字体" in html, url
    assert client.get("/healthz").json["status"] == "degraded"
