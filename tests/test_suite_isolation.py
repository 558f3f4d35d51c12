"""The suite's own isolation: tests share one app per worker (tests/conftest.py ``SharedApp``), so what a
test changes on it — config, lazily filled caches in ``app.extensions``, the instance folder, routes —
must be gone before the next test starts."""
from pathlib import Path

import pytest
from flask import Flask

from gridapp import create_app
from gridapp.config import TestConfig as AppTestConfig
from gridapp.reporting.service import CLOSED_MONTHS_KEY, closed_months_cache

from . import factories
from .conftest import SharedApp


def fresh_config(database_url, tmp_path) -> dict:
    config = dict(create_app(AppTestConfig(database_url, tmp_path / "fresh")).config)
    config.pop("INSTANCE_PATH")
    return config


def test_every_test_starts_with_the_config_and_extensions_of_a_new_app(app, database_url, tmp_path):
    """Whatever ran before on this worker, the shared app looks like one just built for this test."""
    config = dict(app.config)
    assert Path(config.pop("INSTANCE_PATH")) == tmp_path / "instance"
    assert Path(app.instance_path) == (tmp_path / "instance").resolve()
    assert config == fresh_config(database_url, tmp_path)
    assert set(app.extensions) == set(create_app(AppTestConfig(database_url, tmp_path / "other")).extensions)


@pytest.mark.real_password_hashing
def test_a_marker_that_changes_the_config_changes_it_for_its_test_only(app):
    assert app.config["PASSWORD_HASH"]["memory_cost"] == 19 * 1024


def test_the_reset_undoes_config_caches_limiter_and_instance(databases, tmp_path):
    shared = SharedApp(databases.shared_database(False), tmp_path / "first")
    app = shared.prepare(tmp_path / "second")
    built_config = dict(shared.config)
    app.config["PUBLIC_URL"] = "https://grid.example.cn"
    app.config["PASSWORD_HASH"] = {"time_cost": 9}
    app.config["NEW_SETTING"] = 1
    with app.app_context():
        closed_months_cache()["a month"] = (1, 2)
        app.extensions.pop("migrate")
    assert Path(app.instance_path) == (tmp_path / "second").resolve()

    assert shared.reset() is True
    assert dict(app.config) == built_config
    assert CLOSED_MONTHS_KEY not in app.extensions and "migrate" in app.extensions
    with app.app_context():
        assert closed_months_cache() == {}
    assert Path(app.instance_path) == (tmp_path / "first").resolve()


def test_an_app_that_got_a_new_route_is_not_shared_again(databases, tmp_path):
    shared = SharedApp(databases.shared_database(False), tmp_path / "instance")
    app: Flask = shared.prepare(tmp_path / "instance")
    app.add_url_rule("/added-by-a-test", "added", lambda: "x")
    assert shared.reset() is False  # the app fixture then drops it and builds a new one for the next test


def test_the_client_s_session_token_is_checked_like_a_page_s(app, client):
    """FormClient.submit makes the CSRF token from the session instead of rendering a page: it is
    accepted for its own session only."""
    other = app.test_client()
    assert client.session_csrf_token() is None  # no session yet: submit reads the page
    client.get("/login")
    other.get("/login")
    token = client.session_csrf_token()
    assert token and token != other.session_csrf_token()
    user = factories.make_user()
    refused = other.post("/login", data={"csrf_token": token, "phone": user.phone, "password": factories.PASSWORD})
    assert refused.status_code == 403
    accepted = client.post("/login", data={"csrf_token": token, "phone": user.phone, "password": factories.PASSWORD})
    assert accepted.status_code == 303


def test_a_cached_template_is_found_only_under_the_hash_of_everything_it_is_made_from(tmp_path):
    """The SQLite templates kept between runs (conftest ``TEMPLATE_CACHE``) are keyed by every file of the
    app and the migrations and the set-up that builds them: a change to any of them is a new key; bytecode is not."""
    from .conftest import template_key

    def tree(root: Path, migration: str) -> Path:
        for name, text in {"gridapp/demo.py": "SEED = 1\n", "migrations/versions/0001.py": migration,
                           "tests/conftest.py": "", "tests/build_templates.py": "", "tests/factories.py": ""}.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        return root

    first = tree(tmp_path / "a", "op.create_table('users')\n")
    same = tree(tmp_path / "b", "op.create_table('users')\n")
    (same / "gridapp" / "__pycache__").mkdir()
    (same / "gridapp" / "__pycache__" / "demo.cpython-311.pyc").write_bytes(b"compiled")
    edited = tree(tmp_path / "c", "op.create_table('users')  # edited\n")
    seeded = tree(tmp_path / "d", "op.create_table('users')\n")
    (seeded / "gridapp" / "demo.py").write_text("SEED = 2\n")
    assert template_key(first) == template_key(same)
    assert len({template_key(first), template_key(edited), template_key(seeded)}) == 3
