"""CSRF, security headers, static caching and error pages: what every response must get right."""
import re

import pytest

from . import factories


def test_post_without_csrf_token_is_refused_and_writes_nothing(client, app):
    from gridapp.auth.models import User

    response = client.post("/register", data={"name": "张三", "phone": "13912345678", "building": "1",
                                              "unit": "1", "room": "101", "team": "0",
                                              "password": "password-1", "confirm": "password-1"})
    assert response.status_code == 403
    assert "页面已过期" in response.get_data(as_text=True)
    assert User.query.count() == 0


def test_post_with_a_forged_token_is_refused(client):
    user = factories.make_user()
    response = client.post("/login", data={"csrf_token": "forged.token.value", "phone": user.phone,
                                           "password": factories.PASSWORD})
    assert response.status_code == 403


def test_htmx_post_sends_the_token_in_a_header(client):
    """htmx buttons outside forms use the X-CSRFToken header from <body hx-headers>."""
    pending = factories.make_user(status="pending")
    client.login(factories.make_user(role="staff").phone)
    html = client.get("/staff/registrations").get_data(as_text=True)
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html).group(1)
    without = client.post(f"/staff/registrations/{pending.id}/approve", headers={"HX-Request": "true"})
    assert without.status_code == 403
    with_header = client.post(f"/staff/registrations/{pending.id}/approve",
                              headers={"HX-Request": "true", "X-CSRFToken": token})
    assert with_header.status_code == 200


def test_content_security_policy_forbids_inline_and_eval(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


def test_pages_have_no_inline_script_or_style(client, login_as):
    login_as("volunteer")
    for url in ("/login", "/me", "/account"):
        html = client.get(url, follow_redirects=True).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert "<style" not in html and " style=" not in html, url
        assert not re.search(r'(src|href)="(https?:)?//', html), f"third-party reference on {url}"


def test_htmx_is_configured_for_a_strict_policy(client):
    html = client.get("/login").get_data(as_text=True)
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', html).group(1)
    assert '"includeIndicatorStyles":false' in config and '"allowEval":false' in config
    assert '{"code":"422","swap":true}' in config


def test_security_headers(client):
    headers = client.get("/login").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "HX-Request" in headers["Vary"]


def test_static_files_are_fingerprinted_and_cached_for_a_year(client):
    """More in tests/test_static_files.py (encodings, cache busting, the build folder)."""
    html = client.get("/login").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', html).group(1)
    js = re.search(r'src="(/static/js/htmx-2\.0\.\d+\.min\.[0-9a-f]{12}\.js)"', html).group(1)
    for url in (css, js):
        response = client.get(url)
        assert response.status_code == 200
        assert "immutable" in response.headers["Cache-Control"]
        assert int(re.search(r"max-age=(\d+)", response.headers["Cache-Control"]).group(1)) >= 31536000
        assert "no-cache" not in response.headers["Cache-Control"]
        assert "Cookie" not in response.headers.get("Vary", "")
    unversioned = client.get("/static/css/app.css")
    assert "immutable" not in unversioned.headers.get("Cache-Control", "")


def test_pages_with_a_session_are_not_stored_by_caches(client, login_as):
    login_as("volunteer")
    assert client.get("/me").headers["Cache-Control"] == "no-store"


def test_unknown_page_is_a_chinese_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_htmx_request_for_an_error_gets_a_fragment(client):
    response = client.get("/no-such-page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "<html" not in response.get_data(as_text=True)
    boosted = client.get("/no-such-page", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


@pytest.mark.own_app  # adds a route
def test_server_error_is_a_chinese_500_page(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    boom.access = "public"
    response = client.get("/boom")
    assert response.status_code == 500
    assert "服务器出错了" in response.get_data(as_text=True)


def test_healthz_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_language_can_be_switched_to_english(client):
    response = client.get("/lang/en?next=/login")
    assert response.status_code == 302 and response.location == "/login"
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in html
    client.get("/lang/zh_CN")
    assert 'lang="zh-CN"' in client.get("/login").get_data(as_text=True)
