"""Throttling holds across workers: failed logins and registrations are counted in the database.

The first test runs real gunicorn with two workers on 127.0.0.1 against the test database: five failed
logins spread over both workers (one worker held on a request still being sent while the other answers),
and the sixth is refused.
"""
import os
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from gridapp.auth.models import ThrottleCounter
from gridapp.extensions import db

from .. import factories
from ..http_client import Browser

ROOT = Path(__file__).resolve().parents[2]


class Gunicorn:
    """``gunicorn --workers 2`` on a port the OS picks, logging each answer with the worker's pid."""

    def __init__(self, database_url: str, folder: Path):
        self.log = folder / "access.log"
        self.errors = folder / "error.log"
        env = dict(os.environ, GRIDAPP_DATABASE_URL=database_url, GRIDAPP_INSTANCE_PATH=str(folder / "instance"),
                   GRIDAPP_SECRET_KEY="gunicorn-test-secret")
        env.pop("GRIDAPP_RATELIMIT_STORAGE_URI", None)  # the default: counted in the database
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--bind", "127.0.0.1:0",
             "--access-logfile", str(self.log), "--access-logformat", "%(p)s %(s)s %(m)s %(U)s",
             "--error-logfile", str(self.errors), "wsgi:app"], cwd=ROOT, env=env)
        self.host = self._wait_until_listening()

    def _wait_until_listening(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.errors.read_text()
            text = self.errors.read_text() if self.errors.exists() else ""
            match = re.search(r"Listening at: http://(127\.0\.0\.1:\d+)", text)
            if match and text.count("Booting worker") >= 2:
                return match.group(1)
            time.sleep(0.1)
        raise AssertionError("gunicorn did not start: " + (self.errors.read_text() if self.errors.exists() else ""))

    def pids_of_posts(self, path: str) -> list[str]:
        return self.pids_of("POST", path)

    def pids_of(self, method: str, path: str) -> list[str]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [line.split()[0] for line in lines if f" {method} {path}" in line]

    def wait_until_both_workers_answer(self, timeout: float = 30) -> None:
        """"Booting worker" is logged before a worker has imported the app: on a busy machine the first one
        up would answer everything. Ask in pairs until each of the two has answered once."""
        deadline = time.monotonic() + timeout
        while len(set(self.pids_of("GET", "/healthz"))) < 2:
            assert time.monotonic() < deadline, "the second gunicorn worker never answered"
            threads = [threading.Thread(target=lambda: Browser(self.host).request("GET", "/healthz"))
                       for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=10)
            time.sleep(0.2)  # the access log is written after the answer

    def _last_pid_of(self, method: str, path: str, count_before: int, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout  # the access log is written after the answer
        while len(self.pids_of(method, path)) <= count_before:
            assert time.monotonic() < deadline, f"no answer to {method} {path} in the access log"
            time.sleep(0.02)
        return self.pids_of(method, path)[-1]

    @contextmanager
    def one_worker_held(self, free_not: str | None = None, tries: int = 20):
        """Hold one of the two sync workers on a request still being sent — it waits for the rest — so that
        the other answers everything meanwhile; yields that free worker's pid. With ``free_not``, until the
        free worker is not that one. (Requests sent in pairs may still all reach one worker on a busy
        machine: a sync worker takes the next connection as soon as it is done with one.)"""
        host, port = self.host.split(":")
        for _ in range(tries):
            held = socket.create_connection((host, int(port)), timeout=30)
            held.sendall(b"GET /healthz HTTP/1.1\r\nHost: held\r\n")  # no blank line yet: still being sent
            before = len(self.pids_of("GET", "/healthz"))
            Browser(self.host).request("GET", "/healthz")  # queued behind the held connection: the other worker
            free = self._last_pid_of("GET", "/healthz", before)
            try:
                if free != free_not:
                    yield free
                    return
            finally:
                held.sendall(b"\r\n")  # the held request ends; its worker answers it
                held.recv(4096)
                held.close()
        raise AssertionError(f"the worker other than {free_not} was never left free")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@pytest.mark.own_database
def test_the_sixth_failed_login_is_refused_across_two_gunicorn_workers(app, database_url, tmp_path):
    phone = factories.make_user().phone
    db.session.commit()
    server = Gunicorn(database_url, tmp_path)
    try:
        server.wait_until_both_workers_answer()

        def fail(results, n):
            browser = Browser(server.host)
            token = browser.csrf_token("/login")
            results[n] = browser.request("POST", "/login", {"csrf_token": token, "phone": phone,
                                                             "password": "a-wrong-guess"})[0]

        statuses = [None] * 5
        with server.one_worker_held() as first:  # two failures on one worker …
            for n in (0, 1):
                fail(statuses, n)
        with server.one_worker_held(free_not=first):  # … three on the other
            for n in (2, 3, 4):
                fail(statuses, n)
        assert statuses == [422] * 5
        sixth = [None]
        fail(sixth, 0)
        assert sixth == [429]
        browser = Browser(server.host)
        right_password = browser.request("POST", "/login", {"csrf_token": browser.csrf_token("/login"),
                                                            "phone": phone, "password": factories.PASSWORD})
        assert right_password[0] == 429  # the phone waits, whatever is typed
        deadline = time.monotonic() + 10  # the access log is written after the answer
        while len(server.pids_of_posts("/login")) < 7 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(set(server.pids_of_posts("/login"))) == 2, "both workers should have answered"
    finally:
        server.stop()


def test_failures_are_counted_in_the_database(client):
    user = factories.make_user()
    for _ in range(2):
        assert client.login(user.phone, "guess-guess").status_code == 422
    counters = {row.key: row.attempts for row in ThrottleCounter.query}
    assert counters[f"login-phone:{user.phone}"] == 2
    assert counters["login-ip:127.0.0.1"] == 2
    assert client.login(user.phone).status_code == 303
    assert db.session.get(ThrottleCounter, f"login-phone:{user.phone}", populate_existing=True).attempts == 2


def test_a_window_that_has_run_out_starts_again(client, fixed_clock):
    user = factories.make_user()
    for _ in range(5):
        client.login(user.phone, "guess-guess")
    assert client.login(user.phone).status_code == 429
    fixed_clock.start_at(fixed_clock.utcnow() + timedelta(minutes=11))  # the window is 10 minutes
    assert client.login(user.phone).status_code == 303


def registration(phone, n=0):
    return {"name": f"居民{n}", "phone": phone, "building": "3", "unit": "2", "room": f"{100 + n}", "team": "0",
            "password": "password-1", "confirm": "password-1"}


def test_registration_is_limited_per_phone(client):
    phone = "13912345678"
    for n in range(5):
        assert client.submit("/register", registration(phone, n)).status_code in (303, 422)
    refused = client.submit("/register", registration(phone, 9))
    assert refused.status_code == 429
    assert "尝试次数过多" in refused.get_data(as_text=True)
    assert client.submit("/register", registration("13912345679")).status_code == 303  # another phone


def test_registration_is_limited_per_client(client, app):
    app.config["REGISTER_LIMIT_PER_IP"] = "3 per hour"
    for n in range(3):
        assert client.submit("/register", registration(f"1391234560{n}", n)).status_code == 303
    assert client.submit("/register", registration("13912345609", 9)).status_code == 429


def test_flask_limiter_stays_the_option_for_a_shared_store(client, app):
    """GRIDAPP_RATELIMIT_STORAGE_URI=redis://… counts with Flask-Limiter (memory:// stands in here)."""
    app.config["THROTTLE_STORAGE"] = "memory://"
    user = factories.make_user()
    for _ in range(5):
        assert client.login(user.phone, "guess-guess").status_code == 422
    assert client.login(user.phone).status_code == 429
    assert ThrottleCounter.query.count() == 0  # nothing counted in the database


def test_config_reads_the_store_from_the_environment(monkeypatch, tmp_path):
    from gridapp.config import Config

    monkeypatch.delenv("GRIDAPP_RATELIMIT_STORAGE_URI", raising=False)
    assert Config(tmp_path).THROTTLE_STORAGE == "database"
    monkeypatch.setenv("GRIDAPP_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379")
    config = Config(tmp_path)
    assert config.THROTTLE_STORAGE == config.RATELIMIT_STORAGE_URI == "redis://127.0.0.1:6379"


def test_a_first_attempt_whose_row_another_worker_made_meanwhile_is_counted_not_refused(app, fixed_clock):
    """Two first attempts for one key at once, on PostgreSQL: ours finds no row to count on, the other
    worker inserts it and commits, then ours sees the row. It has attempts left: ours counts on it
    (it used to be refused with 429, as if the attempts were used up)."""
    from sqlalchemy import event, insert

    from gridapp.auth import throttle

    now = fixed_clock.utcnow()
    made = []

    def the_other_worker_is_first(conn, cursor, statement, parameters, context, executemany):
        if not made and statement.lstrip().upper().startswith("UPDATE THROTTLE_COUNTERS SET ATTEMPTS"):
            made.append(cursor.rowcount)
            conn.execute(insert(ThrottleCounter).values(key="login:phone:13900000001", window_started_at=now,
                                                        attempts=1))

    event.listen(db.engine, "after_cursor_execute", the_other_worker_is_first)
    try:
        throttle.count_attempt({"login:phone:13900000001": (5, timedelta(minutes=10))}, now)
    finally:
        event.remove(db.engine, "after_cursor_execute", the_other_worker_is_first)
    assert made == [0]  # ours found no row to count on
    assert db.session.get(ThrottleCounter, "login:phone:13900000001").attempts == 2


def test_a_key_whose_attempts_are_used_up_is_refused(app, fixed_clock):
    from gridapp.auth import throttle

    now = fixed_clock.utcnow()
    limits = {"login:phone:13900000002": (2, timedelta(minutes=10))}
    throttle.count_attempt(limits, now)
    throttle.count_attempt(limits, now)
    with pytest.raises(throttle.TooManyAttempts):
        throttle.count_attempt(limits, now)
    assert db.session.get(ThrottleCounter, "login:phone:13900000002").attempts == 2
