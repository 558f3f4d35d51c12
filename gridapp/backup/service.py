"""Backups that restore, on SQLite and on PostgreSQL.

A backup is ONE file, a gzip-compressed tar archive, so that copying, rotating and restoring
it can never separate the database from the uploaded files:

    manifest.json       format, database kind, migration revision, when it was made, whether uploads are in
    database.sqlite3    SQLite: a consistent copy made with SQLite's online backup API, or
    database.dump       PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot)
    uploads/…           the instance's uploads folder, when it exists

The database is copied first and the uploads after it, so every file the copied database names
is in the archive (a file uploaded meanwhile may be there too, named by nothing: harmless).

Nothing is ever left half-written at the backup's path: everything is written in a hidden
working folder beside it and renamed into place only when complete and flushed to disk.
"""
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.engine import Engine

from ..errors import DomainError
from . import postgres

FORMAT = "gridapp-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
UPLOADS = "uploads"
DATABASE_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}
DATABASE_NAME = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# What `flask restore` reports: the accounts, both ledgers and the redemptions.
COUNTED_TABLES = ("users", "points_entries", "stock_movements", "redemptions")
SQLITE_LOCK_WAIT_SECONDS = 30


class BackupExists(DomainError):
    default_message = _l("%(path)s 已经存在：备份不会覆盖已有文件，请换一个文件名。")


class CopyUnsound(DomainError):
    default_message = _l("SQLite 数据库副本未通过完整性检查（%(detail)s），没有写出备份。")


class NotABackup(DomainError):
    default_message = _l("%(path)s 不是 gridapp 备份文件（%(detail)s）。")


class WrongDatabase(DomainError):
    default_message = _l("这份备份来自 %(source)s 数据库，当前配置的是 %(target)s：只能恢复到同一种数据库。")


class TargetHasData(DomainError):
    default_message = _l("当前数据库里已有数据，恢复会覆盖它们。确认要覆盖时加上 --force。")


class DatabaseBusy(DomainError):
    default_message = _l("数据库正被其他程序使用（%(detail)s）：请先停止应用，再恢复。")


class UploadsHaveFiles(DomainError):
    default_message = _l("上传文件夹 %(path)s 里已有文件，恢复会替换它们。确认要替换时加上 --force。")


@dataclass
class BackupResult:
    path: Path
    size: int
    database: str
    revision: list[str]
    uploaded_files: int | None  # None: the instance has no uploads folder


@dataclass
class RestoreResult:
    database: str
    made_at: str
    revision: list[str]
    uploaded_files: int | None  # None: the backup holds no uploads folder, the local one was left alone
    counts: dict[str, int] = field(default_factory=dict)


def uploads_folder(instance_path) -> Path:
    """Where uploaded files live: ``<instance>/uploads``."""
    return Path(instance_path) / UPLOADS


# --- backup -----------------------------------------------------------------------------

def make_backup(engine: Engine, path: Path, uploads: Path, now: datetime) -> BackupResult:
    """Write a backup of the engine's database and of the ``uploads`` folder (if it exists) to ``path``.

    The app may keep serving and writing meanwhile: the database copy is one consistent snapshot.
    Raises BackupExists if ``path`` exists (a backup never overwrites), CopyUnsound if the SQLite
    copy fails its integrity check, and postgres.ToolMissing/ToolTooOld/ToolFailed for pg_dump;
    in every case nothing is left at ``path``.
    """
    path = Path(path)
    kind = engine.dialect.name
    if path.exists():
        raise BackupExists(path=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as work:
        work = Path(work)
        database_file = work / DATABASE_MEMBER[kind]
        if kind == "sqlite":
            revision = _sqlite_copy(engine.url.database, database_file)
        else:
            revision = _revision(engine)
            postgres.run_tool("pg_dump", engine, ["--format=custom", f"--file={database_file}"])
        archive = work / "backup.tar.gz"
        has_uploads = uploads.is_dir()
        uploaded = 0

        def plain_only(info):  # regular files and folders only: a link would point outside the backup
            nonlocal uploaded
            uploaded += info.isfile()
            return info if (info.isfile() or info.isdir()) else None

        with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
            manifest = {"format": FORMAT, "version": FORMAT_VERSION, "database": kind, "revision": revision,
                        "made_at": now.isoformat(timespec="seconds") + "Z", "uploads": has_uploads}
            _add_bytes(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode())
            tar.add(database_file, arcname=database_file.name)
            if has_uploads:
                tar.add(uploads, arcname=UPLOADS, filter=plain_only)
        os.chmod(archive, 0o600)  # names, phone numbers and password hashes: for the app's user only
        _fsync(archive)
        if path.exists():  # made meanwhile by someone else: theirs stays
            raise BackupExists(path=str(path))
        os.replace(archive, path)
    _fsync(path.parent)
    return BackupResult(path=path, size=path.stat().st_size, database=kind, revision=revision,
                        uploaded_files=uploaded if has_uploads else None)


def _sqlite_copy(source_path: str, target: Path) -> list[str]:
    """Copy a live SQLite database with the online backup API; check the copy; return its revision."""
    source = sqlite3.connect(source_path)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        result = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise CopyUnsound(detail="; ".join(result[:5]))
        return sorted(row[0] for row in copy.execute("SELECT version_num FROM alembic_version"))
    finally:
        copy.close()
        source.close()


def _revision(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- restore ----------------------------------------------------------------------------

def _manifest(tar: tarfile.TarFile, path: Path) -> dict:
    try:
        manifest = json.load(tar.extractfile(MANIFEST))
    except (KeyError, ValueError, TypeError) as exc:
        raise NotABackup(path=str(path), detail=f"{MANIFEST}: {exc}") from exc
    if manifest.get("format") != FORMAT or manifest.get("database") not in DATABASE_MEMBER:
        raise NotABackup(path=str(path), detail=f"{MANIFEST}: format {manifest.get('format')!r}")
    return manifest


def database_has_data(engine: Engine) -> bool:
    """Whether any table but ``alembic_version`` holds a row (a migrated but empty database has none)."""
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect() as connection:
        for table in sa.inspect(connection).get_table_names():
            if table != "alembic_version" and connection.execute(
                    sa.text(f"SELECT 1 FROM {quote(table)} LIMIT 1")).first() is not None:
                return True
    return False


def restore_backup(engine: Engine, path: Path, uploads: Path, force: bool = False) -> RestoreResult:
    """Put the backup at ``path`` back: the database into the engine's database, and the uploads
    folder (when the backup holds one) in place of ``uploads``.

    Refuses (TargetHasData, UploadsHaveFiles) to overwrite a database that has data or an uploads
    folder that has files, unless ``force``. The database is replaced as a whole or not at all
    (SQLite: the online backup API in one step; PostgreSQL: ``pg_restore --single-transaction``);
    the uploads only after it. Raises NotABackup, WrongDatabase (a SQLite backup cannot go into
    PostgreSQL or back), CopyUnsound, DatabaseBusy (SQLite: another program holds the write lock;
    PostgreSQL: another connection is open), postgres.ToolMissing/ToolTooOld/ToolFailed.
    Close every session on the engine first; its pooled connections are dropped.
    """
    kind = engine.dialect.name
    try:
        tar = tarfile.open(path, "r:*")
    except (OSError, tarfile.TarError) as exc:
        raise NotABackup(path=str(path), detail=str(exc)) from exc
    with tar, tempfile.TemporaryDirectory(prefix=".gridapp-restore-") as work:
        manifest = _manifest(tar, path)
        if manifest["database"] != kind:
            raise WrongDatabase(source=DATABASE_NAME[manifest["database"]], target=DATABASE_NAME.get(kind, kind))
        has_uploads = bool(manifest.get("uploads"))
        if not force:
            if database_has_data(engine):
                raise TargetHasData()
            if has_uploads and uploads.is_dir() and any(uploads.iterdir()):
                raise UploadsHaveFiles(path=str(uploads))
        database_file = Path(work) / DATABASE_MEMBER[kind]
        _extract_file(tar, DATABASE_MEMBER[kind], database_file, path)
        engine.dispose()
        if kind == "sqlite":
            _sqlite_restore(database_file, engine.url.database)
        else:
            # A running app server would keep its tables locked and make pg_restore wait for ever
            # (the dump turns lock_timeout off): refuse while anyone else is connected.
            others = postgres.other_connections(engine)
            engine.dispose()
            if others:
                raise DatabaseBusy(detail=f"{len(others)}: {', '.join(others[:5])}")
            # One transaction: all or nothing.
            postgres.run_tool("pg_restore", engine, ["--clean", "--if-exists", "--no-owner", "--no-privileges",
                                                     "--single-transaction", str(database_file)])
        engine.dispose()
        restored_files = _restore_uploads(tar, uploads, path) if has_uploads else None
    return RestoreResult(database=kind, made_at=manifest.get("made_at", "?"), revision=manifest.get("revision", []),
                         uploaded_files=restored_files, counts=row_counts(engine))


def row_counts(engine: Engine) -> dict[str, int]:
    """How many users, points entries, stock movements and redemptions the database holds."""
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect() as connection:
        present = set(sa.inspect(connection).get_table_names())
        return {table: connection.execute(sa.text(f"SELECT count(*) FROM {quote(table)}")).scalar()
                for table in COUNTED_TABLES if table in present}


def _extract_file(tar: tarfile.TarFile, name: str, target: Path, path: Path) -> None:
    try:
        source = tar.extractfile(name)
    except KeyError as exc:
        raise NotABackup(path=str(path), detail=f"{name} missing") from exc
    if source is None:
        raise NotABackup(path=str(path), detail=f"{name} is not a file")
    with source, open(target, "wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)


def _sqlite_restore(copy_path: Path, target_path: str) -> None:
    """Replace the target database's content with the copy's, in one step (the online backup API
    writes through SQLite's own locking, so the -wal and -shm files stay consistent)."""
    copy = sqlite3.connect(copy_path)
    try:
        result = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise CopyUnsound(detail="; ".join(result[:5]))
        target = sqlite3.connect(target_path, timeout=SQLITE_LOCK_WAIT_SECONDS, isolation_level=None)
        try:
            # The backup API would wait for the write lock for ever; wait a bounded time, say why.
            try:
                target.execute("BEGIN IMMEDIATE")
                target.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                raise DatabaseBusy(detail=str(exc)) from exc
            copy.backup(target)
        finally:
            target.close()
    finally:
        copy.close()


def _restore_uploads(tar: tarfile.TarFile, uploads: Path, path: Path) -> int:
    """Unpack the archive's uploads folder beside ``uploads``, then swap it into place. Only plain
    files and folders inside ``uploads/`` are unpacked; anything else is refused."""
    uploads.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".uploads-restore-", dir=uploads.parent))
    try:
        unpacked = staging / UPLOADS
        unpacked.mkdir()
        count = 0
        for member in tar.getmembers():
            name = PurePosixPath(member.name)
            if name.parts[:1] != (UPLOADS,) or len(name.parts) == 1:
                continue
            if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
                raise NotABackup(path=str(path), detail=f"unsafe entry {member.name!r}")
            target = staging.joinpath(*name.parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            _extract_file(tar, member.name, target, path)
            os.chmod(target, 0o644)
            count += 1
        if uploads.exists():
            os.rename(uploads, staging / "replaced")
        os.rename(unpacked, uploads)
        return count
    finally:
        shutil.rmtree(staging, ignore_errors=True)
