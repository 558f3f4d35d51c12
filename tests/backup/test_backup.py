"""`flask backup PATH`: one archive with the database and the uploads, on SQLite and PostgreSQL; pg_dump chosen
by the server's version and run with the password in its environment; nothing is ever left half-written at PATH."""
import json
import sqlite3
import tarfile

import pytest
import sqlalchemy as sa

from gridapp.backup import postgres
from gridapp.backup.service import DATABASE_MEMBER
from gridapp.extensions import db
from gridapp.invariants import migration_heads

from .. import factories
from .helpers import fake_pg_tool, invoke, members, put_upload

pytestmark = pytest.mark.own_database  # the backup reads the database through its own connection or pg_dump


def only_postgres():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("pg_dump runs only for a PostgreSQL database")


def test_backup_is_one_archive_with_the_database_and_the_uploaded_files(app, tmp_path):
    factories.make_user(name="古丽娜尔·吐尔逊")
    photo = put_upload(app, "photos/门口积雪.jpg", b"\xff\xd8 a photo \xff\xd9")
    target = tmp_path / "backups" / "grid.tar.gz"

    result = invoke(app, "backup", str(target))

    assert result.exit_code == 0, result.output
    assert "1 uploaded file(s)" in result.output
    kind = db.engine.dialect.name
    entries = members(target)
    assert {"manifest.json", DATABASE_MEMBER[kind], "uploads/photos/门口积雪.jpg"} <= set(entries)
    with tarfile.open(target) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert tar.extractfile("uploads/photos/门口积雪.jpg").read() == photo.read_bytes()
        database = tar.extractfile(DATABASE_MEMBER[kind]).read()
    assert (manifest["format"], manifest["database"], manifest["revision"], manifest["uploads"]) == (
        "gridapp-backup", kind, sorted(migration_heads()), True)
    if kind == "sqlite":
        copy_path = tmp_path / "copy.sqlite3"
        copy_path.write_bytes(database)
        copy = sqlite3.connect(copy_path)
        assert copy.execute("SELECT name FROM users").fetchall() == [("古丽娜尔·吐尔逊",)]
        copy.close()
    else:
        assert database.startswith(b"PGDMP")  # pg_dump's custom format
    assert sorted(p.name for p in target.parent.iterdir()) == ["grid.tar.gz"]  # no working files left beside it
    assert target.stat().st_mode & 0o777 == 0o600


def test_backup_without_an_uploads_folder_says_so(app, tmp_path):
    result = invoke(app, "backup", str(tmp_path / "grid.tar.gz"))
    assert result.exit_code == 0, result.output
    assert "no uploads folder" in result.output
    assert not any(name.startswith("uploads") for name in members(tmp_path / "grid.tar.gz"))


def test_backup_never_overwrites_a_file_and_says_so_in_both_languages(app, tmp_path):
    target = tmp_path / "grid.tar.gz"
    target.write_bytes(b"yesterday's backup")
    result = invoke(app, "backup", str(target))
    assert result.exit_code != 0
    assert "已经存在" in result.output and "exists already" in result.output
    assert target.read_bytes() == b"yesterday's backup"


def test_a_backup_that_fails_half_way_leaves_nothing_at_the_path(app, tmp_path, monkeypatch):
    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tarfile.TarFile, "add", disk_full)
    target = tmp_path / "backups" / "grid.tar.gz"
    result = invoke(app, "backup", str(target))
    assert result.exit_code != 0
    assert "nothing written" in result.output and "No space left" in result.output
    assert list(target.parent.iterdir()) == []


def test_a_failing_pg_dump_leaves_no_partial_file(app, tmp_path, monkeypatch):
    only_postgres()
    server = postgres.server_major(db.engine)
    # It writes part of a dump, then fails, as pg_dump does when the connection drops.
    fake_pg_tool(tmp_path / "pg" / str(server) / "bin", "pg_dump", f"{server}.1",
                 'for a in "$@"; do case "$a" in --file=*) echo PGDMP-partial > "${a#--file=}";; esac; done\n'
                 'echo "pg_dump: error: connection to server lost" >&2; exit 1')
    monkeypatch.setattr(postgres, "PG_BIN_GLOB", str(tmp_path / "pg" / "*" / "bin"))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    target = tmp_path / "backups" / "grid.tar.gz"
    result = invoke(app, "backup", str(target))
    assert result.exit_code != 0
    assert "pg_dump 失败" in result.output and "pg_dump failed (exit code 1)" in result.output
    assert "connection to server lost" in result.output
    assert list(target.parent.iterdir()) == []


def test_backup_says_in_both_languages_when_pg_dump_is_missing(app, tmp_path, monkeypatch):
    only_postgres()
    monkeypatch.setattr(postgres, "PG_BIN_GLOB", str(tmp_path / "pg" / "*" / "bin"))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    target = tmp_path / "grid.tar.gz"
    result = invoke(app, "backup", str(target))
    assert result.exit_code != 0
    assert "找不到 pg_dump" in result.output and "pg_dump not found" in result.output
    assert "apt-get install postgresql-client-" in result.output
    assert not target.exists()


def test_backup_says_in_both_languages_when_pg_dump_is_older_than_the_server(app, tmp_path, monkeypatch):
    only_postgres()
    server = postgres.server_major(db.engine)
    fake_pg_tool(tmp_path / "pg" / "9.6" / "bin", "pg_dump", "9.6.24")
    fake_pg_tool(tmp_path / "pg" / str(server - 1) / "bin", "pg_dump", f"{server - 1}.3")
    monkeypatch.setattr(postgres, "PG_BIN_GLOB", str(tmp_path / "pg" / "*" / "bin"))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    target = tmp_path / "grid.tar.gz"
    result = invoke(app, "backup", str(target))
    assert result.exit_code != 0
    assert "版本过旧" in result.output and "too old" in result.output
    assert f"version {server - 1}, the database server is {server}" in result.output
    assert not target.exists()


def test_the_tool_of_the_servers_major_version_is_chosen_else_the_oldest_newer_one():
    installed = [(13, "/13/pg_dump"), (15, "/15/pg_dump"), (16, "/16/pg_dump"), (17, "/17/pg_dump")]
    assert postgres.choose("pg_dump", 15, installed) == "/15/pg_dump"
    assert postgres.choose("pg_dump", 14, installed) == "/15/pg_dump"
    with pytest.raises(postgres.ToolTooOld) as too_old:
        postgres.choose("pg_dump", 18, installed)
    assert too_old.value.params == {"tool": "pg_dump", "found": 17, "server": 18}
    with pytest.raises(postgres.ToolMissing):
        postgres.choose("pg_restore", 15, [])


def test_installed_tools_are_found_with_their_versions_in_debian_folders_and_on_the_path(tmp_path, monkeypatch):
    old = fake_pg_tool(tmp_path / "pg" / "13" / "bin", "pg_dump", "13.16 (Debian 13.16-0+deb11u1)")
    new = fake_pg_tool(tmp_path / "pg" / "16" / "bin", "pg_dump", "16.4")
    on_path = fake_pg_tool(tmp_path / "local" / "bin", "pg_dump", "17.0")
    fake_pg_tool(tmp_path / "pg" / "16" / "bin", "pg_restore", "16.4")
    monkeypatch.setattr(postgres, "PG_BIN_GLOB", str(tmp_path / "pg" / "*" / "bin"))
    monkeypatch.setenv("PATH", str(tmp_path / "local" / "bin"))
    assert postgres.candidates("pg_dump") == [(13, str(old)), (16, str(new)), (17, str(on_path))]


def test_pg_dump_gets_the_apps_connection_with_the_password_only_in_its_environment(tmp_path, monkeypatch):
    record = tmp_path / "record"
    tool = fake_pg_tool(tmp_path / "bin", "pg_dump", "15.10",
                        f'printf "%s\\n" "$@" > {record}.args; printf "%s" "$PGPASSWORD" > {record}.password')
    monkeypatch.setattr(postgres, "server_major", lambda engine: 15)
    monkeypatch.setattr(postgres, "candidates", lambda name: [(15, str(tool))])
    # The URL form the README and the issue use, with a password needing %-escapes and an sslmode.
    engine = sa.create_engine("postgresql+psycopg://gridapp:s3cr%40t%20pw@db.example:5433/gridapp?sslmode=require")

    postgres.run_tool("pg_dump", engine, ["--format=custom", "--file=x.dump"])

    arguments = (tmp_path / "record.args").read_text().splitlines()
    assert "s3cr" not in " ".join(arguments)
    assert arguments[0] == "--no-password"  # never waits for a prompt under cron
    conninfo = arguments[1].removeprefix("--dbname=")
    assert "+psycopg" not in conninfo
    assert set(conninfo.split()) == {"host=db.example", "port=5433", "user=gridapp", "dbname=gridapp",
                                     "sslmode=require"}
    assert arguments[2:] == ["--format=custom", "--file=x.dump"]
    assert (tmp_path / "record.password").read_text() == "s3cr@t pw"


def test_doctor_checks_the_pg_tools_backups_need(app, tmp_path, monkeypatch):
    only_postgres()
    found = invoke(app, "doctor")
    assert "ok   pg_dump for backups" in found.output and "ok   pg_restore for backups" in found.output
    monkeypatch.setattr(postgres, "PG_BIN_GLOB", str(tmp_path / "pg" / "*" / "bin"))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    missing = invoke(app, "doctor")
    assert missing.exit_code == 1
    assert "FAIL pg_dump not found" in missing.output and "FAIL pg_restore not found" in missing.output
