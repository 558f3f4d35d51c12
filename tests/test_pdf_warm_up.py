"""A gunicorn worker warms PDFs up before its first request (gunicorn_config.py -> pdf.warm_up), and a
warm-up that cannot run (no Chinese font, any error) never stops a worker from starting.

How much quicker the first PDF is, is bench/first_pdf.py's business: a benchmark, not a test."""
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gridapp import pdf
from gridapp.clock import local_today
from gridapp.counter import pdf_views
from gridapp.counter import service as counter
from gridapp.extensions import db
from gridapp.points import service as points

from . import factories
from .http_client import Browser
from .test_fonts import fontless_app  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.pdf


@pytest.fixture(autouse=True)
def empty_pdf_cache(app):
    app.extensions.pop(pdf.CACHE_KEY, None)
    yield
    app.extensions.pop(pdf.CACHE_KEY, None)


def a_redemption():
    staff = factories.make_user(role="staff")
    admin = factories.make_user(role="admin")
    volunteer = factories.make_user(name="蒋生军")
    kettle = factories.make_item("烧水壶", points_price=20)
    factories.donate(staff, factories.make_sponsor("物业公司"), (kettle, 3))
    points.award(volunteer, 100, reference="test", description="测试积分", key="seed")
    counter.add_redemption_day(admin, local_today(), "测试")
    session = counter.open_session(staff, local_today())
    redemption = counter.redeem(staff, session, volunteer, {kettle.id: 1}, token="t1", now=session.opened_at)
    db.session.commit()
    return redemption


def test_the_warm_up_parses_every_pdf_stylesheet_and_renders_the_newest_receipt(app):
    redemption = a_redemption()
    result = pdf.warm_up(app)
    assert result["warmed"] is True and result["reason"] is None
    parsed = app.extensions["gridapp.pdf"]
    assert {"pdf/_base.css", "pdf/redemption_receipt.css", "pdf/campaign_notice.css"} <= set(parsed)
    with app.test_request_context("/"):
        context = pdf_views.receipt_context(redemption)
        key = pdf.fingerprint(pdf_views.RECEIPT_TEMPLATE, context)
    cached = app.extensions[pdf.CACHE_KEY]["pdfs"]
    assert key in cached and cached[key].startswith(b"%PDF")
    assert app.extensions[pdf.WARM_UP_KEY] is result


def test_the_warm_up_reads_but_never_writes(app):
    a_redemption()
    with pytest.MonkeyPatch.context() as patch:
        writes = []
        patch.setattr(db.session, "commit", lambda: writes.append("commit"))
        pdf.warm_up(app)
    assert not writes
    assert not db.session.new and not db.session.dirty and not db.session.deleted


def test_without_a_chinese_font_the_warm_up_does_nothing_and_the_app_stays_degraded(fontless_app):
    result = pdf.warm_up(fontless_app)
    assert result["warmed"] is False and "Chinese font" in result["reason"]
    assert pdf.CACHE_KEY not in fontless_app.extensions or not fontless_app.extensions[pdf.CACHE_KEY]["pdfs"]
    health = fontless_app.test_client().get("/healthz")
    assert health.status_code == 200 and health.json["status"] == "degraded"


def test_a_worker_freezes_what_the_warm_up_loaded_out_of_full_collections_only_when_asked(app):
    import gc

    a_redemption()
    gc.unfreeze()  # the suite froze what its imports loaded (tests/conftest.py)
    try:
        pdf.warm_up(app)
        assert gc.get_freeze_count() == 0
        pdf.warm_up(app, freeze=True)
        assert gc.get_freeze_count() > 10_000  # the app, WeasyPrint, the fonts, the caches
        assert gc.get_count()[2] == 0
    finally:
        gc.unfreeze()
        gc.freeze()  # frozen again, as the suite keeps its workers


def test_gunicorn_workers_warm_up_with_freeze(monkeypatch):
    import gunicorn_config

    calls = []
    monkeypatch.setattr(pdf, "warm_up", lambda app, **options: calls.append((app, options)) or {
        "warmed": True, "seconds": 0.1, "reason": None})
    worker = type("Worker", (), {"wsgi": "the app", "log": logging.getLogger("gunicorn-test")})()
    gunicorn_config.post_worker_init(worker)
    assert calls == [("the app", {"freeze": True})]


def test_a_warm_up_that_fails_is_logged_and_the_app_serves_on(app, client, monkeypatch, caplog):
    def broken():
        raise RuntimeError("fontconfig exploded")

    monkeypatch.setattr(pdf, "font_config", broken)
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        result = pdf.warm_up(app)
    assert result["warmed"] is False and "fontconfig exploded" in result["reason"]
    assert "PDF warm-up failed" in caplog.text
    assert client.get("/healthz").json == {"status": "ok"}


def test_one_kind_of_document_failing_leaves_the_warm_up_done(app, monkeypatch, caplog):
    def broken_kind():
        raise LookupError("no such template")

    monkeypatch.setattr(pdf, "WARM_UP_RENDERS", [broken_kind, *pdf.WARM_UP_RENDERS])
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        result = pdf.warm_up(app)
    assert result["warmed"] is True
    assert "broken_kind failed" in caplog.text


def start_gunicorn(database_url: str, folder: Path, **env) -> tuple[subprocess.Popen, Path]:
    errors = folder / "error.log"
    environment = dict(os.environ, GRIDAPP_DATABASE_URL=database_url, GRIDAPP_INSTANCE_PATH=str(folder / "instance"),
                       GRIDAPP_SECRET_KEY="gunicorn-test-secret", **env)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn_config.py", "--workers", "1",
         "--bind", "127.0.0.1:0", "--log-level", "info", "--error-logfile", str(errors), "wsgi:app"],
        cwd=ROOT, env=environment)
    return process, errors


def wait_for(errors: Path, process: subprocess.Popen, pattern: str, timeout: float = 60) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = errors.read_text() if errors.exists() else ""
        match = re.search(pattern, text)
        if match:
            return match
        assert process.poll() is None, f"gunicorn exited:\n{text}"
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} in the gunicorn log:\n{errors.read_text() if errors.exists() else ''}")


@pytest.mark.own_database
@pytest.mark.parametrize(("fonts", "logged", "health"), [
    ("installed", r"PDFs warmed up in \d+\.\d\d s", "ok"),
    ("missing", r"PDFs not warmed up: no Chinese font", "degraded"),
])
def test_each_gunicorn_worker_warms_up_before_serving_and_starts_without_fonts_too(
        database_url, tmp_path, fonts, logged, health):
    env = {}
    if fonts == "missing":
        empty = tmp_path / "fonts.conf"
        empty.write_text('<?xml version="1.0"?>\n<fontconfig></fontconfig>\n')
        env["FONTCONFIG_FILE"] = str(empty)
    process, errors = start_gunicorn(database_url, tmp_path, **env)
    try:
        host = wait_for(errors, process, r"Listening at: http://(127\.0\.0\.1:\d+)").group(1)
        wait_for(errors, process, logged)
        status, _, body = Browser(host).get("/healthz")
        assert status == 200 and f'"status":"{health}"' in body.replace(" ", "")
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
