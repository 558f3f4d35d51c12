"""Operations commands: flask seed-demo / create-user / verify / doctor / backup / restore."""
import ctypes.util
import shutil
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db


def register_cli(app):
    for command in (seed_demo_command, create_user_command, verify_command, doctor_command, backup_command,
                    restore_command):
        app.cli.add_command(command)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only seed when the database has no users yet (first start).")
def seed_demo_command(if_empty):
    """Load the demo world of the source report (idempotent)."""
    from .auth.models import User
    from .demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo

    if if_empty and db.session.query(User.id).first() is not None:
        click.echo("Demo data: database already has users; not seeding.")
    else:
        click.echo("Loading the demo world: half a year of duty, donations and redemptions (about 20 s)…")
        added = seed_demo()
        db.session.commit()
        click.echo("Demo data added: " + ", ".join(f"{n} {k}" for k, n in added.items()))
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for phone, name, role, _sponsor, note in DEMO_LOGINS:
        click.echo(f"  {role:<9} {phone}  {name}  {note}")


@click.command("create-user")
@click.option("--role", type=click.Choice(["admin", "staff", "sponsor", "volunteer"]), required=True)
@click.option("--name", required=True)
@click.option("--phone", required=True)
@click.option("--sponsor", "sponsor_name", help="The sponsor's exact name (sponsor accounts only).")
@click.password_option()
def create_user_command(role, name, phone, sponsor_name, password):
    """Create an active account (the first admin, or any account from a shell)."""
    from .auth.forms import PASSWORD_MIN, PHONE_PATTERN, normalise_name, normalise_phone
    from .auth.service import create_account
    from .errors import DomainError
    from .goods.models import Sponsor

    phone = normalise_phone(phone)
    if not PHONE_PATTERN.match(phone):
        raise click.BadParameter("an 11-digit mainland mobile number, e.g. 13800000000", param_hint="--phone")
    if len(password) < PASSWORD_MIN:
        raise click.BadParameter(f"at least {PASSWORD_MIN} characters", param_hint="password")
    sponsor = None
    if sponsor_name:
        sponsor = Sponsor.query.filter_by(name=sponsor_name).one_or_none()
        if sponsor is None:
            raise click.BadParameter(f"no sponsor named {sponsor_name!r}", param_hint="--sponsor")
    try:
        user = create_account(None, role=role, name=normalise_name(name), phone=phone, password=password,
                              sponsor=sponsor)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"Created {user.role} account {user.name} ({user.phone}).")


@click.command("verify")
def verify_command():
    """Run every invariant check; exit 1 naming each broken row."""
    if report_invariants():
        sys.exit(1)
    click.echo("All invariants hold.")


def report_invariants() -> int:
    """Run every invariant check, print each one's outcome and broken rows; the number of violations."""
    from .database import reading_only
    from .invariants import run_all

    with reading_only():
        results = run_all()
        db.session.rollback()
    failures = 0
    for name, violations in results.items():
        click.echo(f"{'FAIL' if violations else 'ok  '} {name}")
        for violation in violations:
            click.echo(f"     {violation}")
        failures += len(violations)
    if failures:
        click.echo(f"{failures} violation(s) found.", err=True)
    return failures


def cjk_font_families() -> list[str]:
    """Font families that cover Chinese, as fontconfig sees them."""
    if not shutil.which("fc-list"):
        return []
    result = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return sorted({line.split(",")[0].strip() for line in result.stdout.splitlines() if line.strip()})


def has_harfbuzz_subset() -> bool:
    return ctypes.util.find_library("harfbuzz-subset") is not None


@click.command("doctor")
def doctor_command():
    """Check what the server needs: compiled message catalogs, a CJK font, fast font subsetting, a
    reachable and migrated database (and on PostgreSQL the pg_dump and pg_restore that backups run)."""
    from .invariants import database_revisions, migration_heads

    problems = catalog_problems(translations_dir(), current_app.config["LANGUAGES"],
                                current_app.config["BABEL_DEFAULT_LOCALE"])
    if not problems:
        click.echo("ok   message catalogs compiled: "
                   + ", ".join(lang for lang in current_app.config["LANGUAGES"]
                               if lang != current_app.config["BABEL_DEFAULT_LOCALE"]))
    fonts = cjk_font_families()
    if fonts:
        click.echo(f"ok   CJK font: {', '.join(fonts[:3])}")
    else:
        problems.append("No CJK font: Chinese in PDFs would print as boxes. Install: apt-get install fonts-noto-cjk")
    if has_harfbuzz_subset():
        click.echo("ok   libharfbuzz-subset present (fast PDF font subsetting)")
    else:
        problems.append("libharfbuzz-subset missing: PDFs render ~70x slower. "
                        "Install: apt-get install libharfbuzz-subset0")
    url = db.engine.url.render_as_string(hide_password=True)
    try:
        db.session.execute(text("SELECT 1"))
        click.echo(f"ok   database reachable: {url}")
        heads, current = migration_heads(), database_revisions()
        if heads == current:
            click.echo(f"ok   database migrated (revision {', '.join(sorted(current))})")
        else:
            problems.append(f"database at revision {sorted(current) or 'none'}, code expects {sorted(heads)}: "
                            "run 'flask db upgrade'")
        if db.engine.dialect.name == "postgresql":
            problems += _check_pg_tools()
    except SQLAlchemyError as exc:
        problems.append(f"database not reachable ({url}): {exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}")
    for problem in problems:
        click.echo(f"FAIL {problem}")
    if problems:
        sys.exit(1)
    click.echo("Everything this server needs is in place.")


def translations_dir() -> Path:
    """Where Flask-Babel looks for the catalogs: ``translations/`` inside the package."""
    return Path(current_app.root_path) / "translations"


def catalog_problems(folder: Path, languages, default: str) -> list[str]:
    """What is wrong with the compiled catalogs (.mo) of every language but the source one: missing,
    unreadable, or behind its .po (the page would silently show Chinese)."""
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    problems = []
    for language in languages:
        if language == default:
            continue
        mo, po = folder / language / "LC_MESSAGES" / "messages.mo", folder / language / "LC_MESSAGES" / "messages.po"
        if not mo.exists():
            problems.append(f"message catalog for '{language}' is not compiled ({mo} missing): the "
                            f"'{language}' pages would show Chinese. Run: pybabel compile -d {folder}")
            continue
        try:
            with mo.open("rb") as compiled:
                translated = {m.id for m in read_mo(compiled) if m.id and m.string}
        except Exception as exc:  # a truncated or foreign file
            problems.append(f"message catalog {mo} cannot be read ({exc})")
            continue
        if po.exists():
            with po.open("rb") as source:
                wanted = {m.id for m in read_po(source) if m.id and m.string and not m.fuzzy}
            if wanted - translated:
                problems.append(f"message catalog {mo} is older than {po} ({len(wanted - translated)} messages "
                                f"missing). Run: pybabel compile -d {folder}")
    return problems


def _check_pg_tools() -> list[str]:
    """pg_dump and pg_restore of the server's version, which `flask backup` and `flask restore` run."""
    from flask_babel import force_locale

    from .backup import postgres
    from .errors import DomainError

    problems = []
    for tool in ("pg_dump", "pg_restore"):
        try:
            click.echo(f"ok   {tool} for backups: {postgres.find_tool(tool, db.engine)}")
        except DomainError as exc:
            with force_locale("en"):
                problems.append(exc.message)
    return problems


def in_both_languages(error) -> str:
    """A domain error's message in Chinese, then in English (operators read either)."""
    from flask_babel import force_locale

    texts = []
    for locale in ("zh_CN", "en"):
        with force_locale(locale):
            texts.append(error.message)
    return "\n".join(dict.fromkeys(texts))


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path):
    """Back up the database and the uploaded files to one new file PATH while the app keeps running.

    SQLite: the online backup API; PostgreSQL: pg_dump of the server's major version. Nothing is left
    at PATH unless the whole backup succeeded.
    """
    from .backup.service import DATABASE_NAME, make_backup, uploads_folder
    from .clock import utcnow
    from .errors import DomainError

    db.session.remove()
    try:
        result = make_backup(db.engine, path, uploads_folder(current_app.instance_path), utcnow())
    except DomainError as exc:
        raise click.ClickException(in_both_languages(exc)) from exc
    except OSError as exc:  # disk full, no permission …: nothing was left at PATH
        raise click.ClickException(f"backup failed, nothing written to {path}: {exc}") from exc
    uploads = ("no uploads folder" if result.uploaded_files is None
               else f"{result.uploaded_files} uploaded file(s)")
    click.echo(f"Backup written to {result.path} ({result.size} bytes): {DATABASE_NAME[result.database]} database "
               f"at revision {', '.join(result.revision) or 'none'}, {uploads}.")
    current_app.logger.info("backup written to %s", result.path)


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite a database that has data (and the uploaded files).")
def restore_command(path, force):
    """Restore a backup made by 'flask backup' into the configured database (and the uploads folder),
    then check the migrations and every invariant. Stop the app first."""
    from .backup.service import DATABASE_NAME, restore_backup, uploads_folder
    from .errors import DomainError
    from .invariants import database_revisions, migration_heads

    db.session.remove()
    try:
        result = restore_backup(db.engine, path, uploads_folder(current_app.instance_path), force=force)
    except DomainError as exc:
        raise click.ClickException(in_both_languages(exc)) from exc
    click.echo(f"Restored {DATABASE_NAME[result.database]} backup made {result.made_at} "
               f"(revision {', '.join(result.revision) or 'none'}).")
    click.echo("  " + ", ".join(f"{count} {table}" for table, count in result.counts.items()))
    click.echo("  " + ("the backup has no uploads folder; the local one was left as it was"
                       if result.uploaded_files is None else f"{result.uploaded_files} uploaded file(s) restored"))
    current_app.logger.info("backup %s restored", path)
    heads, current = migration_heads(), database_revisions()
    db.session.rollback()
    if heads != current:
        click.echo(f"FAIL the restored database is at revision {sorted(current) or 'none'}, this code expects "
                   f"{sorted(heads)}: run 'flask db upgrade', then 'flask verify'.")
        sys.exit(1)
    click.echo(f"ok   migrations: the database is at the code's revision ({', '.join(sorted(current))})")
    if report_invariants():
        sys.exit(1)
    click.echo("All invariants hold: the restore is ready to serve.")
