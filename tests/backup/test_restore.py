"""`flask restore PATH`: puts the database and the uploads back, refuses to overwrite data unless --force,
then checks the migrations and every invariant and says what it restored."""
import io
import json
import tarfile

import pytest
from sqlalchemy import func, select, text

from gridapp.auth.models import User
from gridapp.backup.service import uploads_folder
from gridapp.extensions import db
from gridapp.points import service as points
from gridapp.points.models import PointsEntry

from .. import factories
from .helpers import invoke, put_upload

pytestmark = pytest.mark.own_database  # the restore replaces a database through other connections


def backed_up(app, tmp_path, name="grid.tar.gz"):
    """A backup of the app's database as it is now (committed)."""
    db.session.commit()
    target = tmp_path / "backups" / name
    result = invoke(app, "backup", str(target))
    assert result.exit_code == 0, result.output
    return target


def a_volunteer_with_points(name="阿依古丽·买买提", points_awarded=15):
    volunteer = factories.make_user(name=name)
    points.award(volunteer, points_awarded, reference="duty:1", description="安全巡逻", key=f"test:{name}")
    db.session.commit()
    return volunteer


def test_restore_into_an_empty_database_brings_back_the_data_and_the_uploads(app, tmp_path, empty_app):
    a_volunteer_with_points()
    photo = put_upload(app, "photos/扫雪前.jpg", b"before the snow was cleared")
    backup = backed_up(app, tmp_path)
    fresh = empty_app()

    result = invoke(fresh, "restore", str(backup))

    assert result.exit_code == 0, result.output
    assert "1 users, 1 points_entries, 0 stock_movements, 0 redemptions" in result.output
    assert "1 uploaded file(s) restored" in result.output
    assert "ok   migrations" in result.output and "All invariants hold" in result.output
    with fresh.app_context():
        volunteer = db.session.scalars(select(User)).one()
        assert (volunteer.name, volunteer.points_balance) == ("阿依古丽·买买提", 15)
        # The restore serves: a new entry gets a fresh id (PostgreSQL's sequences came back too).
        points.award(volunteer, 5, reference="duty:2", description="环境卫生整治", key="after-restore")
        db.session.commit()
        assert db.session.scalar(select(func.sum(PointsEntry.delta))) == 20
        assert (uploads_folder(fresh.instance_path) / "photos" / "扫雪前.jpg").read_bytes() == photo.read_bytes()
        assert invoke(fresh, "verify").exit_code == 0


def test_restore_refuses_a_database_with_data_unless_forced(app, tmp_path):
    a_volunteer_with_points()
    backup = backed_up(app, tmp_path)
    factories.make_user(name="备份之后注册的")  # data the restore would overwrite

    refused = invoke(app, "restore", str(backup))

    assert refused.exit_code != 0
    assert "已有数据" in refused.output and "The database has data" in refused.output and "--force" in refused.output
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(User)) == 2
    db.session.rollback()  # a transaction left open would hold SQLite's write lock (see the next test)

    forced = invoke(app, "restore", "--force", str(backup))

    assert forced.exit_code == 0, forced.output
    assert "1 users, 1 points_entries" in forced.output and "All invariants hold" in forced.output
    db.session.remove()
    assert db.session.scalars(select(User.name)).all() == ["阿依古丽·买买提"]


def test_restore_refuses_to_replace_uploaded_files_unless_forced(app, tmp_path, empty_app):
    put_upload(app, "photos/a.jpg", b"from the backup")
    backup = backed_up(app, tmp_path)
    fresh = empty_app()
    newer = put_upload(fresh, "photos/b.jpg", b"uploaded on the new server")

    refused = invoke(fresh, "restore", str(backup))

    assert refused.exit_code != 0
    assert "上传文件夹" in refused.output and "The uploads folder" in refused.output
    assert newer.exists()
    with fresh.app_context():
        assert db.inspect(db.engine).get_table_names() == []  # the database was not touched either

    forced = invoke(fresh, "restore", "--force", str(backup))

    assert forced.exit_code == 0, forced.output
    folder = uploads_folder(fresh.instance_path)
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == ["a.jpg"]
    assert not any(p.name.startswith(".uploads-restore-") for p in folder.parent.iterdir())


def test_a_backup_without_uploads_leaves_the_local_uploads_alone(app, tmp_path, empty_app):
    backup = backed_up(app, tmp_path)
    fresh = empty_app()
    kept = put_upload(fresh, "photos/kept.jpg", b"local")
    result = invoke(fresh, "restore", str(backup))
    assert result.exit_code == 0, result.output
    assert "the backup has no uploads folder" in result.output
    assert kept.read_bytes() == b"local"


def test_restore_gives_up_and_changes_nothing_while_the_app_still_uses_the_database(app, tmp_path, monkeypatch):
    from gridapp.backup import service

    a_volunteer_with_points()
    backup = backed_up(app, tmp_path)
    monkeypatch.setattr(service, "SQLITE_LOCK_WAIT_SECONDS", 0.2)
    factories.make_user(name="还在服务的应用")
    # A transaction the "running app" keeps open: SQLite's write lock, a PostgreSQL connection.
    db.session.execute(text("UPDATE users SET name = name"))

    result = invoke(app, "restore", "--force", str(backup))

    db.session.rollback()
    assert result.exit_code != 0
    assert "请先停止应用" in result.output and "stop the app first" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 2


def a_fake_archive(path, manifest: dict):
    with tarfile.open(path, "w:gz") as tar:
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_restore_refuses_a_backup_of_the_other_kind_of_database(app, tmp_path):
    other = "postgresql" if db.engine.dialect.name == "sqlite" else "sqlite"
    backup = a_fake_archive(tmp_path / "other.tar.gz", {"format": "gridapp-backup", "database": other})
    result = invoke(app, "restore", "--force", str(backup))
    assert result.exit_code != 0
    assert "只能恢复到同一种数据库" in result.output and "only into the same kind of database" in result.output


def test_restore_refuses_a_file_that_is_not_a_backup(app, tmp_path):
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("扫雪除冰分工表")
    result = invoke(app, "restore", "--force", str(not_a_backup))
    assert result.exit_code != 0
    assert "不是 gridapp 备份文件" in result.output and "is not a gridapp backup" in result.output


def test_restore_refuses_an_archive_that_reaches_outside_the_uploads_folder(app, tmp_path, empty_app):
    backup = backed_up(app, tmp_path)
    # The same backup, with one more entry that climbs out of the uploads folder.
    crafted = tmp_path / "crafted.tar.gz"
    with tarfile.open(backup) as source, tarfile.open(crafted, "w:gz") as tar:
        for member in source.getmembers():
            tar.addfile(member, source.extractfile(member))
        manifest = json.load(source.extractfile("manifest.json"))
        evil = tarfile.TarInfo("uploads/../../escaped.txt")
        evil.size = 3
        tar.addfile(evil, io.BytesIO(b"bad"))
    assert manifest["uploads"] is False
    # Mark it as holding uploads (rewrite the manifest) so the restore looks at them.
    with tarfile.open(crafted) as source, tarfile.open(tmp_path / "evil.tar.gz", "w:gz") as tar:
        for member in source.getmembers():
            if member.name == "manifest.json":
                data = json.dumps({**manifest, "uploads": True}).encode()
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
            else:
                tar.addfile(member, source.extractfile(member))
    fresh = empty_app()
    result = invoke(fresh, "restore", str(tmp_path / "evil.tar.gz"))
    assert result.exit_code != 0 and "unsafe entry" in result.output
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()


def test_restoring_a_backup_older_than_the_code_says_to_upgrade(app, tmp_path, empty_app):
    db.session.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    backup = backed_up(app, tmp_path)
    fresh = empty_app()
    result = invoke(fresh, "restore", str(backup))
    assert result.exit_code == 1
    assert "at revision ['0005']" in result.output and "run 'flask db upgrade'" in result.output
