"""Behind nginx: paper carries the public URL (GRIDAPP_PUBLIC_URL), never the internal address the
request came in on, and each client behind the proxy is throttled on its own address (GRIDAPP_PROXY_COUNT)."""
import logging
import shutil
import subprocess
from datetime import timedelta

import pytest
from flask import url_for

from gridapp import clock, create_app
from gridapp.clock import utcnow
from gridapp.config import Config
from gridapp.config import TestConfig as AppTestConfig
from gridapp.duty import service as duty
from gridapp.extensions import db
from gridapp.points import service as points
from gridapp.publicity import service as publicity
from gridapp.reporting.months import Month
from gridapp.urls import public_url

from . import factories
from .conftest import FormClient
from .counter.test_pdfs import text_of

PUBLIC = "https://grid.example.cn"
INTERNAL = "http://127.0.0.1:8000"  # where nginx sends requests: their Host header


def client_behind_nginx(app, user):
    """A logged-in client whose every request arrives with nginx's upstream Host, 127.0.0.1:8000."""
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = "127.0.0.1:8000"
    assert client.login(user.phone).status_code == 303
    return client


def scan_pdf(pdf_bytes: bytes, tmp_path) -> list[str]:
    (tmp_path / "doc.pdf").write_bytes(pdf_bytes)
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-gray", "-f", "1", "-l", "1", "-singlefile",
                    str(tmp_path / "doc.pdf"), str(tmp_path / "page")], check=True, timeout=60)
    return subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "page.png")], capture_output=True, text=True,
                          timeout=60).stdout.split()


@pytest.mark.skipif(not shutil.which("zbarimg") or not shutil.which("pdftoppm"), reason="needs zbar-tools, poppler")
def test_a_receipt_rendered_behind_a_proxy_encodes_the_public_url(app, tmp_path):
    app.config["PUBLIC_URL"] = PUBLIC
    staff = factories.make_user(role="staff")
    donation = factories.donate(staff, factories.make_sponsor("物业公司"), (factories.make_item("烧水壶"), 3))
    client = client_behind_nginx(app, staff)
    response = client.get(f"/staff/donations/{donation.id}/receipt.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    scanned = scan_pdf(response.data, tmp_path)
    assert len(scanned) == 1 and scanned[0].startswith(f"{PUBLIC}/v/")
    assert "127.0.0.1" not in scanned[0]
    assert "真实有效" in client.get(scanned[0].removeprefix(PUBLIC)).get_data(as_text=True)  # the page it opens


@pytest.mark.skipif(not shutil.which("zbarimg") or not shutil.which("pdftoppm"), reason="needs zbar-tools, poppler")
def test_the_points_posting_pdf_encodes_the_public_url_and_prints_its_window_in_local_time(app, tmp_path):
    app.config["PUBLIC_URL"] = PUBLIC
    staff = factories.make_user(role="staff")
    volunteer = factories.make_user(name="张建军")
    points.award(volunteer, 20, reference="bonus:1", description="奖励", key="b1", by=staff,
                 at=clock.parse_local("2026-11-20T19:00"))
    posting = publicity.publish(staff, Month(2026, 11), clock.parse_local("2026-12-02T09:00"), 5)
    db.session.commit()
    client = client_behind_nginx(app, staff)
    response = client.get(f"/gongshi/{posting.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert scan_pdf(response.data, tmp_path) == [f"{PUBLIC}/gongshi/{posting.id}"]
    text = "".join(text_of(response.data).split())
    # The window as the posting page and the objection refusal state it, on the community's clock.
    assert "公示期：2026年12月02日09:00至2026年12月07日09:00" in text


def test_posters_and_notices_take_the_public_url_whatever_the_host(app):
    app.config["PUBLIC_URL"] = PUBLIC + "/grid"  # mounted under a path: kept
    staff = factories.make_user(role="staff")
    duty_type = duty.add_duty_type(staff, "安全巡逻", 10)
    session = duty.schedule(staff, duty_type=duty_type, title="南门夜间巡逻", place="南门",
                            starts_at=utcnow() + timedelta(hours=2), ends_at=utcnow() + timedelta(hours=4))[0]
    db.session.commit()
    client = client_behind_nginx(app, staff)
    poster = client.get(f"/staff/duty/{session.id}/poster").get_data(as_text=True)
    assert f"{PUBLIC}/grid/c/{session.token}" in poster and "127.0.0.1" not in poster
    with app.test_request_context("/", base_url="http://10.0.0.5:8000/ignored"):
        assert public_url("campaigns.page", campaign_id=7) == f"{PUBLIC}/grid/campaigns/7"


def test_without_a_public_url_development_uses_the_request_host(app):
    app.config["PUBLIC_URL"] = ""
    with app.test_request_context("/", base_url="http://192.168.1.20:5000"):
        assert public_url("campaigns.page", campaign_id=7) == "http://192.168.1.20:5000/campaigns/7"


def test_the_app_warns_at_start_when_the_public_url_is_unset(database_url, tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("GRIDAPP_PUBLIC_URL", raising=False)
    config = AppTestConfig(database_url, tmp_path / "instance")
    config.TESTING = False  # as in production
    with caplog.at_level(logging.WARNING):
        create_app(config)
    assert "GRIDAPP_PUBLIC_URL is not set" in caplog.text
    caplog.clear()
    config.PUBLIC_URL = PUBLIC
    with caplog.at_level(logging.WARNING):
        create_app(config)
    assert "GRIDAPP_PUBLIC_URL" not in caplog.text


def test_public_url_and_proxy_count_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDAPP_PUBLIC_URL", "https://grid.example.cn/")
    monkeypatch.setenv("GRIDAPP_PROXY_COUNT", "1")
    config = Config(tmp_path)
    assert config.PUBLIC_URL == PUBLIC and config.PROXY_COUNT == 1
    monkeypatch.setenv("GRIDAPP_PUBLIC_URL", "grid.example.cn")
    with pytest.raises(ValueError, match="https://"):
        Config(tmp_path)
    monkeypatch.setenv("GRIDAPP_PUBLIC_URL", "")
    monkeypatch.setenv("GRIDAPP_PROXY_COUNT", "yes")
    with pytest.raises(ValueError, match="GRIDAPP_PROXY_COUNT"):
        Config(tmp_path)


def proxied_app(database_url, tmp_path, proxies: int):
    config = AppTestConfig(database_url, tmp_path / "instance")
    config.PROXY_COUNT = proxies
    config.LOGIN_LIMIT_PER_IP = "3 per 10 minutes"
    app = create_app(config)
    app.test_client_class = FormClient
    return app


def fail_logins(client, address: str, times: int) -> list[int]:
    """``times`` failed logins (each with another phone, so only the per-address limit counts) from a
    client whose address nginx put in X-Forwarded-For; the connection itself comes from 127.0.0.1."""
    statuses = []
    for n in range(times):
        token = client.csrf_token("/login")
        response = client.post("/login", data={"csrf_token": token, "phone": f"1390{address[-3:]}{n:04d}",
                                               "password": "guess-guess"},
                               headers={"X-Forwarded-For": address}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
        statuses.append(response.status_code)
    return statuses


def test_two_clients_behind_one_proxy_are_throttled_separately(database_url, tmp_path):
    app = proxied_app(database_url, tmp_path, 1)
    with app.app_context():
        first, second = app.test_client(), app.test_client()
        assert fail_logins(first, "10.1.1.101", 4) == [422, 422, 422, 429]
        # Another phone in the community, behind the same nginx: still allowed to try.
        assert fail_logins(second, "10.1.1.202", 2) == [422, 422]
        user = factories.make_user()
        token = second.csrf_token("/login")
        good = second.post("/login", data={"csrf_token": token, "phone": user.phone, "password": factories.PASSWORD},
                           headers={"X-Forwarded-For": "10.1.1.202"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert good.status_code == 303
        db.session.remove()


def test_without_a_proxy_count_forwarded_headers_are_not_trusted(database_url, tmp_path):
    """Directly exposed (no proxy), a client cannot dodge the limit by sending X-Forwarded-For itself."""
    app = proxied_app(database_url, tmp_path, 0)
    with app.app_context():
        client = app.test_client()
        assert fail_logins(client, "10.1.1.101", 3) == [422, 422, 422]
        assert fail_logins(client, "10.1.1.202", 1) == [429]
        db.session.remove()


def test_the_readme_lets_a_too_large_photo_post_through_nginx_to_the_app(app):
    """nginx's own 413 is an English page and loses the report's text: in the README's site, each route that
    answers a too-large post itself (``too_large_page``: the photo forms) has a client_max_body_size above the
    app's MAX_CONTENT_LENGTH and within what the app reads of a refused post (oversize.DRAIN_LIMIT); the rest
    of the site keeps the app's limit."""
    import re
    from pathlib import Path

    from gridapp.reports.oversize import DRAIN_LIMIT

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    server_wide = re.search(r"ssl_certificate_key[^\n]*\n\s*client_max_body_size\s+(\d+)m;", readme)
    assert server_wide and int(server_wide.group(1)) * 1024 * 1024 == Config.MAX_CONTENT_LENGTH
    photo_location, size = re.search(r"location ~ (\S+) \{[^}]*client_max_body_size\s+(\d+)m;", readme).groups()
    assert Config.MAX_CONTENT_LENGTH < int(size) * 1024 * 1024 <= DRAIN_LIMIT
    from gridapp.web import TOO_LARGE_PAGES

    with app.test_request_context():
        photo_forms = [url_for(endpoint, **dict.fromkeys(app.url_map._rules_by_endpoint[endpoint][0].arguments, 7))
                       for endpoint in TOO_LARGE_PAGES]
    assert len(photo_forms) == 2 and all(re.search(photo_location, url) for url in photo_forms), photo_forms
    assert not re.search(photo_location, "/login")
