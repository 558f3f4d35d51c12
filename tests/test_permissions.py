"""Every route declares who may use it, and answers every other role with 403 (or the login page).

The matrix is built from the app's own URL map, so a route added later is probed too.
"""
import pytest
from werkzeug.routing.converters import AnyConverter, IntegerConverter

from gridapp.auth.models import ROLES
from gridapp.auth.permissions import ANY_ROLE, PUBLIC

from . import factories

SKIP_ENDPOINTS = {"static"}


def sample_value(rule, arg):
    converter = rule._converters[arg]
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return 1 if isinstance(converter, IntegerConverter) else "x"


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        url = rule.build({arg: sample_value(rule, arg) for arg in rule.arguments})[1]
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield rule.endpoint, method, url, app.view_functions[rule.endpoint].access


def test_every_route_declares_its_access(app):
    undeclared = [endpoint for endpoint, view in app.view_functions.items()
                  if endpoint not in SKIP_ENDPOINTS and not hasattr(view, "access")]
    assert undeclared == [], "routes without @public / @roles_required / @login_required"


def request(client, method, url):
    if method == "GET":
        return client.get(url)
    # A valid CSRF token, so that what answers is the permission check, not the CSRF check.
    return client.post(url, data={"csrf_token": client.csrf_token("/account" if client.logged_in else "/login")})


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_where_it_does_not_belong(app, client, role):
    user = factories.make_user(role=role)
    assert client.login(user.phone).status_code == 303
    client.logged_in = True
    checked = 0
    for endpoint, method, url, access in routes(app):
        if access == PUBLIC or endpoint == "auth.logout":  # logout would end the probe; see test_views
            continue
        response = request(client, method, url)
        if access == (ANY_ROLE,) or role in access:
            assert response.status_code not in (401, 403), f"{role} refused at {method} {url}"
            assert "/login" not in (response.location or ""), f"{role} sent to login at {method} {url}"
        else:
            assert response.status_code == 403, f"{role} let through at {method} {url}: {response.status_code}"
            assert "没有权限" in response.get_data(as_text=True)
        checked += 1
    assert checked >= 10


def test_anonymous_visitors_are_sent_to_login(app, client):
    client.logged_in = False
    checked = 0
    for endpoint, method, url, access in routes(app):
        if access == PUBLIC:
            continue
        response = request(client, method, url)
        assert response.status_code == 302 and "/login" in response.location, f"{method} {url}"
        checked += 1
    assert checked >= 10


def test_public_routes_answer_without_login(app, client):
    for endpoint, method, url, access in routes(app):
        if access == PUBLIC and method == "GET" and endpoint != "home.set_language":
            has_made_up_argument = any(rule.endpoint == endpoint and rule.arguments for rule in app.url_map.iter_rules())
            expected = (200, 302, 404) if has_made_up_argument else (200, 302)  # e.g. /v/<a token that is no token>
            assert client.get(url).status_code in expected, url
