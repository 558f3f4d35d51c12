"""Fixtures: a real migrated database (SQLite file, or PostgreSQL when GRIDAPP_TEST_DATABASE_URL
is set), the app, a client that submits forms with their CSRF token, and login helpers per role.

The schema is migrated once per run into a template (and the demo world seeded once into a second
one). Each test runs in a transaction on its worker's copy, rolled back at its end; a test that
uses several connections (threads, live server, browser, CLI, migrations) is marked
``own_database`` and gets a fresh copy (a file copy on SQLite, CREATE DATABASE … TEMPLATE on
PostgreSQL). Either way tests never see each other.
"""
import copy
import fcntl
import functools
import gc
import hashlib
import importlib.metadata
import itertools
import os
import threading
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Every test runs at a fixed, named time (the suite must pass on any date): GRIDAPP_CLOCK_AT, a local
# time in the community's zone, picks another, e.g. GRIDAPP_CLOCK_AT=2028-02-29T10:00 make test.
# Set before the app is imported, so that subprocesses (gunicorn, CLI) inherit the same clock.
SUITE_CLOCK = os.environ.setdefault("GRIDAPP_CLOCK_AT", "2026-12-16T10:00")

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask import Flask, g  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from itsdangerous import URLSafeTimedSerializer  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from gridapp import clock, create_app  # noqa: E402
from gridapp.config import Config, TestConfig  # noqa: E402
from gridapp.extensions import db, limiter  # noqa: E402

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


NAMED_DAY = "2026-12-16T10:00"


@pytest.fixture
def mid_december(fixed_clock, request):
    """For tests written around one day, whatever GRIDAPP_CLOCK_AT says: a mid-December Wednesday, not a
    month end, not the 1st (``pytestmark = pytest.mark.usefixtures("mid_december")``). A test on the demo
    world keeps the suite's clock: the world was built around it."""
    if request.node.get_closest_marker("demo") is None:
        fixed_clock.start_at(fixed_clock.parse_local(NAMED_DAY))
    return fixed_clock


ZONES = {"Asia/Shanghai": 8, "Asia/Urumqi": 6}  # the default (Beijing time) and Xinjiang time: hours ahead of UTC


@pytest.fixture(params=sorted(ZONES, reverse=True))
def community_zone(request, fixed_clock, monkeypatch):
    """Run the test once in each zone (``GRIDAPP_TIMEZONE``): the suite's clock reads the same local
    time in both; subprocesses inherit the zone. Yields the zone's name; restored afterwards."""
    before = clock.timezone_name()
    monkeypatch.setenv("GRIDAPP_TIMEZONE", request.param)
    clock.set_timezone(request.param)
    clock.start_at(clock.parse_local(SUITE_CLOCK))
    yield request.param
    clock.set_timezone(before)
    clock.start_at(clock.parse_local(SUITE_CLOCK))


WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")  # pytest-xdist runs one process per worker


_cache_home = os.environ.get("GRIDAPP_TEST_TEMPLATE_CACHE") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gridapp-test-templates")
TEMPLATE_CACHE = None if _cache_home == "off" else Path(_cache_home)  # GRIDAPP_TEST_TEMPLATE_CACHE=off: none
KEEP_TEMPLATES = 4  # keys kept (a few branches); older entries are removed


@functools.cache
def template_key(root: Path = Path(__file__).parent.parent) -> str:
    """The hash of everything a SQLite template is made from: every file of the app and the migrations,
    this set-up (this file, the builder, the factories), Python and every installed package's version,
    the suite's clock and zone."""
    digest = hashlib.sha256()
    files = [path for folder in ("gridapp", "migrations") for path in (root / folder).rglob("*")
             if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"]
    files += [root / "tests" / name for name in ("conftest.py", "build_templates.py", "factories.py")]
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    packages = sorted(f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions())
    digest.update("\n".join([sys.version, *packages, SUITE_CLOCK, clock.timezone_name()]).encode())
    return digest.hexdigest()[:24]


class Databases:
    """Migrated templates made once per run, the shared databases of this worker, and fresh copies.

    ``gridapp_template`` (migrated) and ``gridapp_demo`` (plus the demo world) are built once per
    run, by the builder the controller starts (tests/build_templates.py) or whichever worker needs
    them first (a file lock makes the others wait). Each worker copies
    them once into its shared databases, where ordinary tests run in a transaction that is rolled
    back at the end; a test marked ``own_database`` gets a fresh copy of its own instead.
    """

    def __init__(self, root: Path, shared_root: Path):
        self.root = root  # this worker's SQLite files
        self.shared_root = shared_root  # the run's templates and their lock
        self.shared: dict[bool, str] = {}

    def _admin_engine(self):
        return sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")

    def _pg_url(self, name):
        return sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def _path(self, name: str) -> Path:
        return (self.shared_root if name.startswith("gridapp_") else self.root) / f"{name}.sqlite3"

    def _create(self, name: str, template: str | None = None) -> str:
        if POSTGRES_URL:
            engine = self._admin_engine()
            with engine.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
                conn.execute(sa.text(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else "")))
            engine.dispose()
            return self._pg_url(name)
        path = self._path(name)
        if template:
            shutil.copy(self._path(template), path)
        return f"sqlite:///{path}"

    def _prepare(self, url: str, step) -> None:
        # The templates' instance folder (the demo world's photo files) is the run's, beside them.
        app = create_app(TestConfig(url, self.shared_root / "instance"))
        with app.app_context():
            step()
            db.session.commit()
            db.session.remove()
            db.engine.dispose()

    def template(self, demo: bool) -> str:
        """The run's migrated template (with the demo world when ``demo``), built on first use."""
        name = "gridapp_demo" if demo else "gridapp_template"
        done = self.shared_root / f"{name}.done"
        if done.exists():  # built: never queue behind the other worker building the other template
            return name
        base = self.template(False) if demo else None  # before taking the lock: flock is not re-entrant
        with open(self.shared_root / f"{name}.lock", "w") as lock:  # one lock per template
            fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be building it right now
            if not done.exists():
                if not self._from_cache(name):
                    if demo:
                        from gridapp.demo import seed_demo

                        self._prepare(self._create(name, base), seed_demo)
                    else:
                        self._prepare(self._create(name), upgrade)
                    self._to_cache(name)
                done.touch()
        return name

    # A SQLite template is kept between runs in TEMPLATE_CACHE, under the hash of what makes it
    # (template_key): a run whose code, migrations, packages and clock are those of an earlier run
    # copies the file instead of migrating and seeding again (~12 s of CPU). PostgreSQL's live in
    # the throwaway cluster and are built every run.
    def _cached(self, name: str) -> Path | None:
        if POSTGRES_URL or TEMPLATE_CACHE is None:
            return None
        return TEMPLATE_CACHE / template_key() / name

    def _from_cache(self, name: str) -> bool:
        cached = self._cached(name)
        if cached is None or not (cached / "done").exists():
            return False
        shutil.copy(cached / "database.sqlite3", self._path(name))
        if (cached / "uploads").is_dir():  # the demo world's photo files go with its rows
            shutil.copytree(cached / "uploads", self.shared_root / "instance" / "uploads", dirs_exist_ok=True)
        return True

    def _to_cache(self, name: str) -> None:
        cached = self._cached(name)
        if cached is None:
            return
        partial = cached.with_name(f"{name}.{os.getpid()}.partial")
        try:
            partial.mkdir(parents=True, exist_ok=True)
            shutil.copy(self._path(name), partial / "database.sqlite3")
            uploads = self.shared_root / "instance" / "uploads"
            if name == "gridapp_demo" and uploads.is_dir():
                shutil.copytree(uploads, partial / "uploads", dirs_exist_ok=True)
            (partial / "done").touch()
            partial.rename(cached)  # all at once: another run never copies a half-written entry
            for stale in sorted(TEMPLATE_CACHE.iterdir(), key=lambda p: p.stat().st_mtime)[:-KEEP_TEMPLATES]:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)  # another run was first, or no room: nothing lost

    def fresh(self, demo: bool = False) -> str:
        return self._create(f"test_{WORKER}_{next(_counter)}", self.template(demo))

    def shared_database(self, demo: bool) -> str:
        """This worker's long-lived copy, for tests that run inside a rolled-back transaction."""
        if demo not in self.shared:
            self.shared[demo] = self._create(f"shared_{WORKER}_{'demo' if demo else 'plain'}", self.template(demo))
        return self.shared[demo]

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


def pytest_configure(config):
    # The controller (or a run without workers) names one folder for the run's templates; the
    # workers it starts inherit it through the environment. PostgreSQL templates are per cluster.
    if not hasattr(config, "workerinput") and "GRIDAPP_TEST_TEMPLATES" not in os.environ:
        folder = tempfile.mkdtemp(prefix="gridapp-templates-")
        os.environ["GRIDAPP_TEST_TEMPLATES"] = folder
        config._gridapp_templates = folder
        if config.getoption("numprocesses", None) and not config.getoption("collectonly"):
            # While the workers start and run the plain tests, a process of its own migrates the
            # template and seeds the demo world (~15 s on SQLite, ~25 s on PostgreSQL), so no worker
            # waits for it: the demo tests run last (pytest_collection_modifyitems).
            config._gridapp_builder = subprocess.Popen(
                [sys.executable, "-m", "tests.build_templates"], cwd=Path(__file__).parent.parent,
                stdout=subprocess.DEVNULL, stderr=open(Path(folder) / "builder.log", "w"))


def pytest_unconfigure(config):
    gc.unfreeze()  # what was frozen is collected before the interpreter tears its modules down
    gc.collect()
    builder = getattr(config, "_gridapp_builder", None)
    if builder is not None and builder.poll() is None:
        builder.kill()
        builder.wait()
    folder = getattr(config, "_gridapp_templates", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("GRIDAPP_TEST_TEMPLATES", None)


NEEDS_OWN_DATABASE = {"live_server", "runner", "browser"}
SQLITE_PASS_ONLY = {"browser": "browser tests check the UI, not the database: they run in the SQLite pass",
                    "pdf": "PDF tests check WeasyPrint output, not the database: they run in the SQLite pass",
                    "calendar": "the demo's story at many dates depends on the calendar, not the database"}


def pytest_collection_modifyitems(config, items):
    """Tests served over HTTP or run as CLI commands use other connections: they get their own
    database. With PostgreSQL, browser and PDF tests are left to the SQLite pass. Tests on the demo
    world run after the others."""
    kept, dropped = [], []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        # A test that builds its own app on ``database_url`` writes outside any rolled-back transaction.
        if NEEDS_OWN_DATABASE & fixtures or ("database_url" in fixtures and "app" not in fixtures):
            item.add_marker(pytest.mark.own_database)
        if POSTGRES_URL and any(item.get_closest_marker(name) for name in SQLITE_PASS_ONLY):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    # The demo world's tests last: by then the builder has seeded its template (stable sort).
    items[:] = sorted(kept, key=lambda item: item.get_closest_marker("demo") is not None)


def pytest_collection_finish(session):
    """Everything imported by now lives as long as the worker: it is frozen out of the garbage
    collector's full collections, which otherwise walk it again and again (~15 % of a worker's CPU;
    a gunicorn worker does the same after its warm-up, gridapp.pdf.warm_up). What tests make stays
    collectable."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    return Databases(tmp_path_factory.mktemp("db"), Path(os.environ["GRIDAPP_TEST_TEMPLATES"]))


@pytest.fixture
def database_url(databases, request):
    """The test's database: this worker's shared one (the test runs in a transaction rolled back at
    its end), or with ``@pytest.mark.own_database`` a fresh copy. ``@pytest.mark.demo``: it holds
    the demo world (`flask seed-demo`)."""
    demo = request.node.get_closest_marker("demo") is not None
    if request.node.get_closest_marker("own_database") is None:
        yield databases.shared_database(demo)
        return
    url = databases.fresh(demo=demo)
    yield url
    databases.drop(url)


# Sessions join the test's outer transaction through savepoints: a service's commit() releases a
# savepoint, rollback() returns to it, and the test's end rolls the outer transaction back.
db.session.session_factory.configure(join_transaction_mode="create_savepoint")
ROLLED_BACK = {"active": False}  # tests.concurrency refuses threads inside a rolled-back test


def _new_app(database_url, instance):
    app = create_app(TestConfig(database_url, instance))
    app.test_client_class = FormClient
    return app


def _app_shape(app) -> tuple:
    """What a test could add to an app that a config reset would not undo: routes and hooks."""
    return (len(app.url_map._rules), len(app.view_functions),
            sum(len(funcs) for funcs in app.before_request_funcs.values()),
            sum(len(funcs) for funcs in app.after_request_funcs.values()),
            sum(len(funcs) for funcs in app.teardown_request_funcs.values()),
            sum(len(funcs) for funcs in app.url_value_preprocessors.values()),
            len(app.error_handler_spec), len(app.blueprints))


class SharedApp:
    """One app per xdist worker and shared database (plain or demo), reused by every test that runs in a
    rolled-back transaction: ``create_app`` costs ~40 ms (werkzeug compiles every rule), × hundreds of
    tests. What a test may change is put back at its end (``reset``): the config, ``app.extensions``
    (the caches that code fills lazily — closed months, PDF stylesheets and bytes, the photo store —
    start empty again), the instance folder (each test has its own), Flask-Limiter's memory storage.
    A test that changes the app itself (``@app.route``, hooks) is marked ``own_app``; one that does
    so unmarked makes the next test get a new app (``_app_shape``), so nothing leaks either way.
    """

    def __init__(self, database_url: str, instance: Path):
        self.app = _new_app(database_url, instance)
        self.config = copy.deepcopy(dict(self.app.config))
        self.extensions = dict(self.app.extensions)
        self.instance_path = self.app.instance_path
        self.shape = _app_shape(self.app)

    def prepare(self, instance: Path) -> Flask:
        app = self.app
        instance.mkdir(parents=True, exist_ok=True)
        app.instance_path = str(instance.resolve())
        app.config["INSTANCE_PATH"] = str(instance)
        limiter.reset()  # memory:// counters (tests that set THROTTLE_STORAGE to memory:// use them)
        return app

    def reset(self) -> bool:
        """Put the app back as it was built; False if the test changed it beyond that (drop it)."""
        app = self.app
        app.config.clear()
        app.config.update(copy.deepcopy(self.config))
        app.extensions.clear()
        app.extensions.update(self.extensions)
        app.instance_path = self.instance_path
        limiter.reset()
        return _app_shape(app) == self.shape


@pytest.fixture(scope="session")
def shared_apps():
    """This worker's SharedApp per shared database url; engines disposed at the end of the session."""
    apps: dict[str, SharedApp] = {}
    yield apps
    for shared in apps.values():
        with shared.app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(database_url, tmp_path, databases, request, shared_apps):
    """The app on the test's database. Ordinary tests share this worker's app (``SharedApp``) and run in
    a transaction rolled back at their end; ``own_database`` tests (other connections) and ``own_app``
    tests (they add routes or hooks) get an app of their own, built for them."""
    instance = tmp_path / "instance"
    demo_uploads = databases.shared_root / "instance" / "uploads"
    if request.node.get_closest_marker("demo") is not None and demo_uploads.is_dir():
        shutil.copytree(demo_uploads, instance / "uploads")  # the demo world's photo files go with its rows
    real_hashing = request.node.get_closest_marker("real_password_hashing") is not None
    own = request.node.get_closest_marker("own_database") is not None
    if own or request.node.get_closest_marker("own_app") is not None:
        app = _new_app(database_url, instance)
        shared = None
    else:
        shared = shared_apps.get(database_url)
        if shared is None:
            shared = shared_apps[database_url] = SharedApp(database_url, instance)
        app = shared.prepare(instance)
    if real_hashing:
        app.config["PASSWORD_HASH"] = dict(Config.PASSWORD_HASH)
    with app.app_context():
        if own:
            yield app
            db.session.remove()
            db.engine.dispose()
            return
        engine = db.engine
        connection = engine.connect()
        outer = connection.begin()
        engines = db.engines
        engines[None] = connection  # every session of this app now works inside ``outer``
        ROLLED_BACK["active"] = True
        try:
            yield app
        finally:
            ROLLED_BACK["active"] = False
            db.session.remove()
            engines[None] = engine
            outer.rollback()
            connection.close()
            if shared is None:
                engine.dispose()
            elif not shared.reset():
                shared_apps.pop(database_url)  # the test added routes or hooks: the next test gets a new app
                engine.dispose()


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

    def session_csrf_token(self) -> str | None:
        """The token any page of this client's session would carry, made the way Flask-WTF makes it
        (the session's secret, signed with the app's key), without rendering a page; None before the
        session has one. The app still checks it like any other."""
        app = self.application
        cookie = self.get_cookie(app.config["SESSION_COOKIE_NAME"])
        if cookie is None:
            return None
        session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
        raw = session.get(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
        if raw is None:
            return None
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)

    def submit(self, url: str, data: dict | None = None, page: str | None = None, **kwargs):
        """POST ``data`` to ``url`` with the CSRF token of ``page`` (default: ``url`` itself). Once the
        session holds a token, it is made from the session instead of read from a rendered page: same
        token, a page render less per form (hundreds in the suite)."""
        data = dict(data or {})
        data["csrf_token"] = self.session_csrf_token() or self.csrf_token(page or url)
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
        # serve_forever looks for shutdown() every poll_interval (0.5 s by default: half a second per test
        # at teardown).
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       name="live-server", daemon=True)

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


TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


class QueryCounter:
    """The SQL statements sent to the database while counting (transaction control — BEGIN, COMMIT,
    SAVEPOINT, RELEASE, ROLLBACK — left out: they are the test harness's, not the page's)."""

    def __init__(self):
        self.statements: list[str] = []
        self.counting = False

    def record(self, _conn, _cursor, statement, *_args):
        if self.counting and statement.lstrip().split(None, 1)[0].upper() not in TRANSACTION_CONTROL:
            self.statements.append(" ".join(statement.split()))

    def __call__(self):
        """``with count_queries() as queries: ...`` then ``len(queries)``, or ``queries.selects``."""
        return self

    def __enter__(self):
        self.statements, self.counting = [], True
        return self

    def __exit__(self, *_exc):
        self.counting = False

    def __len__(self):
        return len(self.statements)

    @property
    def selects(self) -> list[str]:
        return [s for s in self.statements if s.upper().startswith(("SELECT", "WITH"))]

    def report(self) -> str:
        return f"{len(self)} statements:\n" + "\n".join(f"  {s[:160]}" for s in self.statements)


@pytest.fixture
def count_queries(app):
    """Counts the SQL statements a block sends: ``with count_queries() as queries: client.get(url)``.

    It listens on the app's Engine (inside a rolled-back test ``db.engines[None]`` is the test's
    Connection; ``.engine`` is the Engine either way)."""
    engine = db.engine.engine
    counter = QueryCounter()
    sa.event.listen(engine, "before_cursor_execute", counter.record)
    yield counter
    sa.event.remove(engine, "before_cursor_execute", counter.record)
