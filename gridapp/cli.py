"""Operations commands: flask seed-demo / create-user / verify / doctor / backup."""
import ctypes.util
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db


def register_cli(app):
    for command in (seed_demo_command, create_user_command, verify_command, doctor_command, backup_command):
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
        sys.exit(1)
    click.echo("All invariants hold.")


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
    reachable and migrated database."""
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


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def backup_command(path):
    """Copy the SQLite database to PATH while the app keeps running (online backup API)."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        raise click.ClickException(
            "This database is PostgreSQL: back it up with pg_dump, e.g.\n"
            "  pg_dump --format=custom --file=gridapp.dump \"$GRIDAPP_DATABASE_URL\"\n"
            "and restore with: pg_restore --clean --dbname=\"$GRIDAPP_DATABASE_URL\" gridapp.dump"
        )
    if path.exists():
        raise click.ClickException(f"{path} exists already; choose a new file name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(engine.url.database)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    check = sqlite3.connect(path)
    try:
        ok = check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        check.close()
    if not ok:
        raise click.ClickException(f"backup written to {path} failed its integrity check")
    click.echo(f"Backup written to {path} ({path.stat().st_size} bytes, integrity ok).")
    current_app.logger.info("backup written to %s", path)
