"""Backup test helpers: the CLI in-process and in a real subprocess, uploads, archives, fake pg tools."""
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from gridapp.backup.service import uploads_folder
from gridapp.config import PROJECT_ROOT


def invoke(app, *args):
    """Run a ``flask`` command in-process against ``app``, in a context of its own (the CLI runner would
    otherwise reuse whichever app context is current: the test's ``app``)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def flask_cli(*args, database_url: str, instance: Path, timeout: float = 300):
    """Run ``flask ARGS`` as an operator would: a separate process configured by the environment."""
    env = {**os.environ, "FLASK_APP": "wsgi.py", "GRIDAPP_DATABASE_URL": database_url,
           "GRIDAPP_INSTANCE_PATH": str(instance), "GRIDAPP_SECRET_KEY": "backup-test-secret"}
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def put_upload(app, relative: str, data: bytes) -> Path:
    """Place a file in the instance's uploads folder, as the photo upload feature does."""
    path = uploads_folder(app.instance_path) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def members(archive: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(archive) as tar:
        return {member.name: member for member in tar.getmembers()}


def fake_pg_tool(folder: Path, name: str, version: str, body: str = "exit 0") -> Path:
    """An executable that answers ``--version`` like PostgreSQL's ``name`` of ``version`` and runs ``body``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo "{name} (PostgreSQL) {version}"; exit 0; fi\n'
                    f"{body}\n")
    path.chmod(0o755)
    return path
