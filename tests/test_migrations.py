"""The schema comes from migrations: they build an empty database, and they match the models."""
import ast
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from gridapp.extensions import db

pytestmark = pytest.mark.own_database  # migrations and engine settings need a database of their own


def test_migrations_build_exactly_the_models_schema(app):
    # The per-test database was upgraded from empty by the migrations; compare it with the models.
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_downgrade_to_empty_and_upgrade_again(app):
    downgrade(revision="base")
    db.session.remove()
    tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()
    assert {"users", "households", "teams", "sponsors"} <= set(sa.inspect(db.engine).get_table_names())


def test_no_migration_imports_the_app_so_editing_it_never_rewrites_history():
    """A revision is history: SQL it needs (the ledgers' triggers) is frozen in it, never imported."""
    versions = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    importing = []
    for path in sorted(versions.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            importing += [f"{path.name}: {name}" for name in names if name.split(".")[0] == "gridapp"]
    assert len(list(versions.glob("*.py"))) > 10
    assert importing == []


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(app):
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") >= 5000
        assert pragma("synchronous") == 2  # FULL


def test_a_long_read_does_not_hold_up_writers(app):
    """`flask verify` reads inside ``reading_only()``: a writer must not queue behind it."""
    import threading
    import time

    from gridapp.database import reading_only

    from . import factories

    volunteer_id = factories.make_user().id
    db.session.commit()  # reading the id began a (writing) transaction; end it before the test proper
    outcome = {}

    def write():
        with app.app_context():
            started = time.monotonic()
            db.session.execute(sa.text("UPDATE users SET name = '改名' WHERE id = :id"), {"id": volunteer_id})
            db.session.commit()
            outcome["seconds"] = time.monotonic() - started
            db.session.remove()

    with reading_only():
        db.session.execute(sa.text("SELECT COUNT(*) FROM users")).scalar()  # a read transaction is open
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=30)
        db.session.rollback()
    assert outcome["seconds"] < 2


@pytest.mark.own_database
def test_hardening_migration_rebuilds_tables_with_data_and_foreign_keys(app, runner):
    """0008 rebuilds referenced tables on SQLite (items, lots, duty_sessions …): with rows pointing at them
    and foreign keys on in the app, down to 0006 and up again keeps every row and every invariant."""

    from gridapp.goods.models import Lot, StockMovement

    from . import factories

    staff = factories.make_user(role="staff")
    item = factories.make_item("烧水壶")
    factories.donate(staff, factories.make_sponsor(), (item, 3, 2000))
    item_id = item.id
    before = (Lot.query.count(), StockMovement.query.count())
    db.session.commit()
    db.session.remove()
    downgrade(revision="0006")
    upgrade()
    db.session.remove()
    assert (Lot.query.count(), StockMovement.query.count()) == before
    from gridapp.goods.models import Item

    assert db.session.get(Item, item_id).stock == 3
    db.session.rollback()
    assert runner.invoke(args=["verify"]).exit_code == 0
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_upgrading_gives_accounts_from_before_the_cards_a_code(app):
    """Accounts made before volunteer cards had no code; the card pages made one on GET. The 0009
    migration gives every such account a code, so that showing and printing cards never writes."""
    from . import factories

    old, carded = factories.make_user(name="古丽"), factories.make_user(name="买买提")
    old_id, carded_id, kept = old.id, carded.id, carded.volunteer_code
    db.session.execute(sa.text("UPDATE users SET volunteer_code = NULL WHERE id = :id"), {"id": old_id})
    db.session.commit()
    db.session.remove()
    downgrade(revision="0008_hardening")
    upgrade()
    db.session.remove()
    codes = dict(db.session.execute(sa.text("SELECT id, volunteer_code FROM users")).all())
    assert codes[carded_id] == kept  # a printed code never changes
    assert codes[old_id] and codes[old_id] != kept and codes[old_id].startswith("V") and len(codes[old_id]) == 9


@pytest.mark.own_database
def test_grid_scope_migration_keeps_the_demo_world_and_every_invariant(app, runner, monkeypatch):
    """0015 on a database holding the demo world (one grid, as before grids): `flask verify` passes before
    and after, every row is kept, belongs to grid 4 (迪祥佳苑B区), and receipts keep their numbers."""
    from gridapp import demo

    monkeypatch.setattr(demo, "seed_second_grid", lambda *args, **kwargs: 0)  # the one-grid world of before
    monkeypatch.setattr(demo, "seed_viewer", lambda *args, **kwargs: 0)  # a role that came after (0016)
    demo.seed_demo(crowd=0.05)  # every kind of row; the migration's work does not depend on how many
    db.session.commit()
    assert runner.invoke(args=["verify"]).exit_code == 0
    tables = ("households", "users", "duty_sessions", "campaigns", "counter_sessions", "redemptions", "items",
              "donations", "postings", "reports", "points_entries", "stock_movements", "teams")

    def snapshot():
        with db.engine.connect() as connection:
            counts = {t: connection.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar() for t in tables}
            receipts = sorted(connection.exec_driver_sql(
                "SELECT receipt_no FROM donations UNION ALL SELECT receipt_no FROM redemptions").scalars())
        return counts, receipts

    before = snapshot()
    db.session.remove()
    downgrade(revision="0014_org_tree")
    upgrade()
    db.session.remove()
    assert snapshot() == before
    with db.engine.connect() as connection:
        for table in (t for t in tables[:10] if t != "users"):
            grids = set(connection.exec_driver_sql(f"SELECT DISTINCT grid_id FROM {table}").scalars())
            assert grids <= {4}, table
        assert set(connection.exec_driver_sql(
            "SELECT DISTINCT grid_id FROM users WHERE household_id IS NOT NULL").scalars()) == {4}
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM team_grids").scalar() == before[0]["teams"]
        assert set(connection.exec_driver_sql("SELECT series FROM number_sequences").scalars()) <= {"JZ-DXB", "DH-DXB"}
    assert runner.invoke(args=["verify"]).exit_code == 0
