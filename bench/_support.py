"""Shared plumbing for the benchmarks: a throwaway instance, gunicorn servers, a stdlib login.

Everything binds to 127.0.0.1 and every wait is bounded. Nothing here asserts a figure.
"""
import contextlib
import http.cookiejar
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
BIN = REPO / ".venv" / "bin"
HOST = "127.0.0.1"

DEMO_PHONE = "13800000003"
DEMO_PASSWORD = "gridapp2026"
# Flask-Login (session_protection="basic") ties the session to IP + User-Agent; wrk must send the
# same agent as the login, or every benchmarked request would be served from a "non-fresh" session.
USER_AGENT = "gridapp-bench/1"

SERVER_START_TIMEOUT = 30
HTTP_TIMEOUT = 10


def base_env(instance: Path) -> dict:
    """The environment for flask/gunicorn: the throwaway instance, never the developer's instance/."""
    env = dict(os.environ)
    for name in ("GRIDAPP_DATABASE_URL", "GRIDAPP_SECRET_KEY", "GRIDAPP_HTTPS"):
        env.pop(name, None)
    env["GRIDAPP_INSTANCE_PATH"] = str(instance)
    env["GRIDAPP_DATABASE_URL"] = f"sqlite:///{instance / 'gridapp.sqlite3'}"
    env["FLASK_APP"] = "wsgi.py"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def flask(env: dict, *args: str, timeout: int = 120) -> str:
    result = subprocess.run([str(BIN / "flask"), *args], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise RuntimeError(f"flask {' '.join(args)} failed (exit {result.returncode})")
    return result.stdout


@contextlib.contextmanager
def throwaway_instance():
    """Yield the env of a fresh temp instance: SQLite database migrated and seeded with the demo world."""
    with tempfile.TemporaryDirectory(prefix="gridapp-bench-") as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir()
        env = base_env(instance)
        flask(env, "db", "upgrade")
        flask(env, "seed-demo")
        yield env


PG_START_TIMEOUT = 60


@contextlib.contextmanager
def postgres_instance():
    """Yield the env of a fresh temp instance on a throwaway PostgreSQL cluster (initdb in a temp
    folder, 127.0.0.1 on a free port, durable commits as in production: fsync on), migrated and
    seeded with the demo world; the cluster is stopped (immediate) and removed at the end."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not bins or not (bins[-1] / "initdb").exists():
        raise RuntimeError("PostgreSQL server not found (apt-get install postgresql)")
    pgbin = bins[-1]
    with tempfile.TemporaryDirectory(prefix="gridapp-bench-pg-") as tmp:
        as_owner = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            os.chmod(tmp, 0o755)
            subprocess.run(["chown", "postgres", tmp], check=True)
            as_owner = ["runuser", "-u", "postgres", "--"]
        data, port = Path(tmp) / "data", free_port()
        subprocess.run([*as_owner, str(pgbin / "initdb"), "-D", str(data), "-U", "gridapp", "--auth=trust",
                        "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True, timeout=120)
        subprocess.run([*as_owner, str(pgbin / "pg_ctl"), "-D", str(data), "-l", f"{tmp}/server.log", "-w",
                        "-t", str(PG_START_TIMEOUT), "-o",
                        f"-p {port} -k {tmp} -c listen_addresses={HOST} -c max_connections=100", "start"],
                       check=True, capture_output=True, timeout=PG_START_TIMEOUT + 10)
        try:
            instance = Path(tmp) / "instance"
            instance.mkdir()
            env = base_env(instance)
            env["GRIDAPP_DATABASE_URL"] = f"postgresql+psycopg://gridapp@{HOST}:{port}/postgres"
            flask(env, "db", "upgrade", timeout=600)
            flask(env, "seed-demo", timeout=600)  # durable commits on a busy machine: minutes, not seconds
            yield env
        finally:
            subprocess.run([*as_owner, str(pgbin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)


def fsync_floor(folder: Path, rounds: int = 50) -> str:
    """What one fsync costs in ``folder`` now (4 KB appended, then fsync; p50 / p95 in ms): every commit
    under synchronous=FULL waits for one, so it is the floor of a write transaction."""
    fd, name = tempfile.mkstemp(prefix="fsync-", dir=folder)
    times = []
    try:
        for _ in range(rounds):
            os.write(fd, b"x" * 4096)
            started = time.perf_counter()
            os.fsync(fd)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        os.unlink(name)
    times.sort()
    return f"fsync p50 {times[len(times) // 2]:.2f} ms, p95 {times[int(len(times) * 0.95) - 1]:.2f} ms"


def query_one(env: dict, sql: str) -> tuple:
    """The first row of ``sql`` on ``env``'s database (SQLite or PostgreSQL)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(env["GRIDAPP_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return tuple(conn.exec_driver_sql(sql).one())
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_cpu(master_pid: int) -> float:
    """Seconds of CPU used so far by a gunicorn master and its workers (utime + stime from /proc)."""
    total, pending = 0, [master_pid]
    tick = os.sysconf("SC_CLK_TCK")
    while pending:
        pid = pending.pop()
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
            pending += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return total / tick


class Server:
    """A gunicorn started in its own process group, so that stop() ends master and workers together."""

    def __init__(self, name: str, app: str, env: dict, workers: int = 2, chdir: Path = REPO,
                 ready_path: str = "/"):
        self.name = name
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.ready_path = ready_path
        self.log = tempfile.NamedTemporaryFile(prefix=f"gridapp-bench-{name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"{HOST}:{self.port}",
             "--chdir", str(chdir), "--log-level", "warning", app],
            cwd=chdir, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout: float = SERVER_START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} server exited early (exit {self.proc.returncode}):\n{self.logs()}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} server not ready after {timeout}s:\n{self.logs()}")

    def logs(self) -> str:
        try:
            return Path(self.log.name).read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        # Workers could outlive a master killed hard; sweep the group once more.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)


@contextlib.contextmanager
def servers(*specs):
    """Start every (name, app, env, kwargs) server, wait until each answers, stop them all on exit."""
    started = []
    try:
        for name, app, env, kwargs in specs:
            started.append(Server(name, app, env, **kwargs))
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in reversed(started):
            server.stop()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Response:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Browser:
    """A stdlib client with a cookie jar that does not follow redirects (so a login's 303 is visible)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, path: str, data: dict | None = None) -> Response:
        url = urllib.parse.urljoin(self.base_url + "/", path)
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(url, data=body, headers={"User-Agent": USER_AGENT,
                                                              "Accept-Encoding": "identity"})
        try:
            with self.opener.open(req, timeout=HTTP_TIMEOUT) as response:
                return Response(response.status, response.headers, response.read())
        except urllib.error.HTTPError as exc:  # 3xx (not followed), 4xx, 5xx
            return Response(exc.code, exc.headers, exc.read())

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


class _CsrfFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.token = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") == "csrf_token" and self.token is None:
            self.token = a.get("value")


def login(base_url: str, phone: str = DEMO_PHONE, password: str = DEMO_PASSWORD) -> Browser:
    """A Browser logged in as ``phone``; raises unless the login answers 303."""
    browser = Browser(base_url)
    page = browser.request("/login")
    finder = _CsrfFinder()
    finder.feed(page.text)
    if page.status != 200 or not finder.token:
        raise RuntimeError(f"GET /login answered {page.status} without a csrf_token input")
    answer = browser.request("/login", {"csrf_token": finder.token, "phone": phone, "password": password})
    if answer.status != 303:
        raise RuntimeError(f"login as {phone} answered {answer.status}, expected 303")
    return browser
