"""PostgreSQL's own tools, pg_dump and pg_restore, run for the app.

Two things make running them by hand go wrong, and both are handled here:

- the app's URL (``postgresql+psycopg://user:pass@host/db?sslmode=…``) is SQLAlchemy's, not libpq's:
  it is translated into a libpq connection string with the very parameters the app connects with,
  *without* the password, which goes to the tool through ``PGPASSWORD`` (never on the command line,
  where any user of the machine can read it in the process list);
- pg_dump refuses a server newer than itself, and Debian installs one folder per major version
  (``/usr/lib/postgresql/<major>/bin``): the tool of the server's major version is taken, else the
  oldest newer one; none, or only older ones, is a clear error saying what to install.
"""
import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import Engine

from ..errors import DomainError

# Debian and Ubuntu: one folder per installed major version. PATH is searched too.
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


class ToolMissing(DomainError):
    default_message = _l("找不到 %(tool)s：备份和恢复 PostgreSQL 数据库需要它。请安装与数据库服务器同一主版本"
                         "（%(server)s）的客户端，例如：apt-get install postgresql-client-%(server)s")


class ToolTooOld(DomainError):
    default_message = _l("%(tool)s 版本过旧：找到的最新版本是 %(found)s，数据库服务器是 %(server)s，"
                         "旧版本无法备份新版本的服务器。请安装：apt-get install postgresql-client-%(server)s")


class ToolFailed(DomainError):
    default_message = _l("%(tool)s 失败（退出码 %(code)s）：%(detail)s")


@dataclass(frozen=True)
class Connection:
    """How a libpq tool reaches the app's database: a connection string and the environment."""

    conninfo: str
    env: dict


def libpq_connection(engine: Engine) -> Connection:
    """The engine's connection as libpq understands it: every parameter psycopg gets (host, port,
    user, dbname, ``?sslmode=…``, a socket folder in ``?host=``) except the password, which is put in
    ``PGPASSWORD`` of the returned environment."""
    _args, params = engine.dialect.create_connect_args(engine.url)
    params = {key: value for key, value in params.items() if isinstance(value, (str, int)) and value != ""}
    env = dict(os.environ)
    password = params.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return Connection(conninfo=make_conninfo("", **params), env=env)


def server_major(engine: Engine) -> int:
    """The major version of the PostgreSQL server (15 for 15.10)."""
    with engine.connect() as connection:
        number = int(connection.exec_driver_sql("SHOW server_version_num").scalar())
    return number // 10000


def tool_major(path: str) -> int | None:
    """The major version a pg_dump/pg_restore binary reports (9 for 9.6), or None if it does not run."""
    try:
        result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    match = _VERSION.search(result.stdout)
    return int(match.group(1)) if result.returncode == 0 and match else None


def candidates(tool: str) -> list[tuple[int, str]]:
    """(major version, path) of every ``tool`` installed: Debian's versioned folders, then PATH."""
    paths = [str(Path(folder) / tool) for folder in sorted(glob.glob(PG_BIN_GLOB))]
    on_path = shutil.which(tool)
    if on_path:
        paths.append(on_path)
    found = []
    for path in dict.fromkeys(paths):
        if os.access(path, os.X_OK) and (major := tool_major(path)) is not None:
            found.append((major, path))
    return found


def choose(tool: str, server: int, found: list[tuple[int, str]]) -> str:
    """The binary to run against a server of major version ``server``: the same major version,
    else the oldest newer one (pg_dump reads older servers, never newer ones).

    Raises ToolMissing when there is none, ToolTooOld when all are older than the server."""
    if not found:
        raise ToolMissing(tool=tool, server=server)
    usable = [(major, path) for major, path in found if major >= server]
    if not usable:
        raise ToolTooOld(tool=tool, found=max(major for major, _ in found), server=server)
    return min(usable, key=lambda item: (item[0] != server, item[0]))[1]


def find_tool(tool: str, engine: Engine) -> str:
    """The ``tool`` binary that fits the engine's server (see ``choose``)."""
    return choose(tool, server_major(engine), candidates(tool))


def run_tool(tool: str, engine: Engine, arguments: list[str]) -> None:
    """Run pg_dump/pg_restore on the engine's database with ``arguments``; never prompts for a password.

    Raises ToolMissing/ToolTooOld (see ``choose``) or ToolFailed with the tool's own message."""
    binary = find_tool(tool, engine)
    connection = libpq_connection(engine)
    result = subprocess.run([binary, "--no-password", f"--dbname={connection.conninfo}", *arguments],
                            env=connection.env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = "\n".join(result.stderr.strip().splitlines()[-12:]) or "-"
        raise ToolFailed(tool=tool, code=result.returncode, detail=detail)


def other_connections(engine: Engine) -> list[str]:
    """Who else is connected to the engine's database (app servers, psql …), as ``name@address`` lines."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT coalesce(nullif(application_name, ''), '?'), coalesce(host(client_addr), 'local') "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "ORDER BY pid").all()
    return [f"{name}@{address}" for name, address in rows]
