"""The restore drill, on whichever database the suite runs (SQLite, and PostgreSQL under with_postgres.sh):
the demo world, a backup taken by `flask backup` in its own process while a writer keeps committing points,
`flask restore` into a new empty database, and every write acknowledged before the backup started is there."""
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from gridapp.auth.models import User
from gridapp.backup.service import uploads_folder
from gridapp.extensions import db
from gridapp.points import service as points

from .helpers import flask_cli, put_upload

WRITER_SECONDS_AT_MOST = 120


class Writer:
    """A thread that awards 1 point after another (keys ``drill:0``, ``drill:1`` …), each in its own
    committed transaction, and records a key only once its commit returned (acknowledged)."""

    def __init__(self, app, volunteer_ids):
        self.app, self.volunteer_ids = app, volunteer_ids
        self.acknowledged: list[str] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="drill-writer", daemon=True)

    def run(self):
        deadline = time.monotonic() + WRITER_SECONDS_AT_MOST
        with self.app.app_context():
            try:
                n = 0
                while not self.stop.is_set() and time.monotonic() < deadline:
                    volunteer = db.session.get(User, self.volunteer_ids[n % len(self.volunteer_ids)])
                    points.award(volunteer, 1, reference="drill", description="恢复演练", key=f"drill:{n}")
                    db.session.commit()
                    self.acknowledged.append(f"drill:{n}")
                    n += 1
                    time.sleep(0.005)
            except BaseException as exc:  # reported by the test
                self.errors.append(exc)
            finally:
                db.session.remove()

    def wait_for(self, count, seconds=60):
        deadline = time.monotonic() + seconds
        while len(self.acknowledged) < count and time.monotonic() < deadline and self.thread.is_alive():
            time.sleep(0.01)
        assert len(self.acknowledged) >= count, f"the writer did not get going: {self.errors}"

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the writer thread hung"
        assert not self.errors, self.errors


@pytest.mark.demo
@pytest.mark.own_database
def test_restore_drill_every_write_acknowledged_before_the_backup_is_restored_and_verify_passes(
        app, database_url, databases, tmp_path):
    volunteer_ids = db.session.scalars(
        select(User.id).where(User.role == "volunteer", User.status == "active").order_by(User.id).limit(25)).all()
    db.session.commit()  # end the test's own transaction: on SQLite it would hold the write lock
    photo = put_upload(app, "echo-wall/水管抢修后.jpg", b"after the burst pipe was fixed")
    backup = tmp_path / "backups" / "drill.tar.gz"
    writer = Writer(app, volunteer_ids)
    writer.thread.start()
    fresh_url = databases.empty()
    try:
        writer.wait_for(10)
        acknowledged_before = list(writer.acknowledged)

        made = flask_cli("backup", str(backup), database_url=database_url, instance=app.instance_path)

        written_during = len(writer.acknowledged) - len(acknowledged_before)
        writer.wait_for(len(writer.acknowledged) + 5)  # and it goes on committing after the backup
        writer.finish()
        assert made.returncode == 0, made.stdout + made.stderr
        assert written_during > 0, "no write was committed while the backup ran"

        restored_instance = tmp_path / "restored-instance"
        restored = flask_cli("restore", str(backup), database_url=fresh_url, instance=restored_instance)

        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert "ok   migrations" in restored.stdout
        assert "All invariants hold" in restored.stdout
        engine = sa.create_engine(fresh_url)
        try:
            with engine.connect() as connection:
                keys = set(connection.execute(sa.text(
                    "SELECT idempotency_key FROM points_entries WHERE idempotency_key LIKE 'drill:%'")).scalars())
                households = connection.execute(sa.text("SELECT count(*) FROM households WHERE grid_id = 4")).scalar()
        finally:
            engine.dispose()
        assert set(acknowledged_before) <= keys
        # One consistent moment: the writer's first k commits, none missing in between.
        assert keys == {f"drill:{n}" for n in range(len(keys))}
        assert households == 550
        assert (uploads_folder(restored_instance) / "echo-wall" / "水管抢修后.jpg").read_bytes() == photo.read_bytes()
        verified = flask_cli("verify", database_url=fresh_url, instance=restored_instance)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "All invariants hold." in verified.stdout
    finally:
        writer.stop.set()
        writer.thread.join(timeout=30)
        databases.drop(fresh_url)
