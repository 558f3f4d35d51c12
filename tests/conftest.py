"""Fixtures: a freshly migrated real database per test (SQLite file, or PostgreSQL when
GRIDAPP_TEST_DATABASE_URL is set), the app, a client that submits forms with their CSRF
token, and login helpers per role.

The schema is migrated once per run into a template; each test gets its own copy (a file
copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL), so tests never see each other.
"""
import itertools
import os
import threading
import re
import shutil
from pathlib import Path

# Every test runs at a fixed, named time (the suite must pass on any date): GRIDAPP_CLOCK_AT, a local
# time in the community's zone, picks another, e.g. GRIDAPP_CLOCK_AT=2028-02-29T10:00 make test.
# Set before the app is imported, so that subprocesses (gunicorn, CLI) inherit the same clock.
SUITE_CLOCK = os.environ.setdefault("GRIDAPP_CLOCK_AT", "2026-12-16T10:00")

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask import g  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from gridapp import clock, create_app  # noqa: E402
from gridapp.config import TestConfig  # noqa: E402
from gridapp.extensions import db  # noqa: E402

from . import factories  # noqa: E402

POSTGRES_URL = os.environ.get("GRIDAPP_TEST_DATABASE_URL")
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_counter = itertools.count()


def pytest_report_header(config):
    return (f"database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite file per test'}; "
            f"clock: {SUITE_CLOCK} {clock.timezone_name()}")


@pytest.fixture(autouse=True)
def fixed_clock():
    """The clock starts at the suite's named time for every test (and runs on at real speed).

    A test about dates moves it: ``fixed_clock.start_at(datetime(...))`` (naive UTC) or
    ``fixed_clock.start_at(fixed_clock.parse_local("2027-12-31T23:59"))``.
    """
    clock.start_at(clock.parse_local(SUITE_CLOCK))
    yield clock
    clock.start_at(clock.parse_local(SUITE_CLOCK))


class Databases:
    """Makes one migrated template, then a fresh database per test from it."""

    def __init__(self, root: Path):
        self.root = root
        self.templates: set[str] = set()

    def _admin_engine(self):
        return sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")

    def _pg_url(self, name):
        return sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def _create(self, name: str, template: str | None = None) -> str:
        if POSTGRES_URL:
            engine = self._admin_engine()
            with engine.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
                conn.execute(sa.text(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else "")))
            engine.dispose()
            return self._pg_url(name)
        path = self.root / f"{name}.sqlite3"
        if template:
            shutil.copy(self.root / f"{template}.sqlite3", path)
        return f"sqlite:///{path}"

    def _prepare(self, url: str, step) -> None:
        app = create_app(TestConfig(url, self.root / "instance"))
        with app.app_context():
            step()
            db.session.commit()
            db.session.remove()
            db.engine.dispose()

    def migrate_template(self):
        self._prepare(self._create("gridapp_template"), upgrade)
        self.templates = {"gridapp_template"}

    def _demo_template(self) -> str:
        """The migrated template plus the demo world, seeded once per run (it takes seconds)."""
        if "gridapp_demo" not in self.templates:
            from gridapp.demo import seed_demo

            self._prepare(self._create("gridapp_demo", "gridapp_template"), seed_demo)
            self.templates.add("gridapp_demo")
        return "gridapp_demo"

    def fresh(self, demo: bool = False) -> str:
        template = self._demo_template() if demo else "gridapp_template"
        return self._create(f"test_{next(_counter)}", template)

    def empty(self) -> str:
        """A new database with nothing in it, not even the schema (``createdb``; a new SQLite file)."""
        return self._create(f"test_{next(_counter)}")

    def drop(self, url: str):
        if POSTGRES_URL:
            name = sa.engine.make_url(url).database
            engine = self._admin_engine()
            with engine.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            engine.dispose()
        else:
            path = Path(sa.engine.make_url(url).database)
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    dbs = Databases(tmp_path_factory.mktemp("db"))
    dbs.migrate_template()
    return dbs


@pytest.fixture
def database_url(databases, request):
    """A fresh database; with ``@pytest.mark.demo`` it holds the demo world (`flask seed-demo`)."""
    url = databases.fresh(demo=request.node.get_closest_marker("demo") is not None)
    yield url
    databases.drop(url)


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(TestConfig(database_url, tmp_path / "instance"))
    app.test_client_class = FormClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class FormClient(FlaskClient):
    """A test client that submits forms the way a browser does: with the page's CSRF token."""

    def open(self, *args, **kwargs):
        # The test holds an app context, which Flask reuses for the client's requests; a real
        # server starts each request with an empty ``g`` (CSRF token, current user), so do the same.
        g.__dict__.clear()
        return super().open(*args, **kwargs)

    def csrf_token(self, page_url: str = "/login") -> str:
        html = self.get(page_url, follow_redirects=True).get_data(as_text=True)
        match = CSRF_INPUT.search(html) or re.search(r'"X-CSRFToken": "([^"]+)"', html)
        assert match, f"no CSRF token on {page_url}"
        return match.group(1)

    def submit(self, url: str, data: dict | None = None, page: str | None = None, **kwargs):
        """POST ``data`` to ``url`` with the CSRF token of ``page`` (default: ``url`` itself)."""
        data = dict(data or {})
        data["csrf_token"] = self.csrf_token(page or url)
        return self.post(url, data=data, **kwargs)

    def login(self, phone: str, password: str = factories.PASSWORD):
        return self.submit("/login", {"phone": phone, "password": password}, page="/login")

    def logout(self):
        return self.submit("/logout", page="/account")


@pytest.fixture
def make_user(app):
    return factories.make_user


@pytest.fixture
def login_as(client):
    """Log the client in as a new user of ``role``; returns the user."""

    def login(role: str, **fields):
        user = factories.make_user(role=role, **fields)
        response = client.login(user.phone)
        assert response.status_code == 303, response.get_data(as_text=True)
        return user

    return login


class LiveServer:
    def __init__(self, app):
        # Port 0: the OS picks a free port; the bound socket is kept, so there is no race.
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.host = f"127.0.0.1:{self.server.server_port}"
        self.url = f"http://{self.host}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server", daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.shutdown()  # ends serve_forever, waits for it
        self.server.server_close()  # closes the socket, joins the request threads
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "live server thread did not stop"


@pytest.fixture
def live_server(app):
    """``app`` served over real HTTP in a background thread; each request gets its own app context.

    Anything the browser should see must be committed before it asks for it.
    """
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()
