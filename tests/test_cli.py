"""The operations commands: seed-demo, verify, doctor, create-user (backup and restore: tests/backup/)."""
import sqlite3

import pytest
from sqlalchemy import text

from gridapp.auth.models import User
from gridapp.community.models import Household, Team
from gridapp.extensions import db
from gridapp.goods.models import Sponsor


@pytest.mark.demo
def test_the_demo_world_follows_the_report_and_seeding_again_adds_nothing(runner):
    from gridapp.duty.models import Attendance
    from gridapp.points.models import PointsEntry

    # 迪祥佳苑B区's households are the report's 550 (the second grid, A区, has a few of its own).
    counts = (Sponsor.query.count(), Team.query.count(), Household.query.filter_by(grid_id=4).count(), User.query.count(),
              Attendance.query.count(), PointsEntry.query.count())
    assert counts[:3] == (16, 10, 550)
    assert 1100 <= counts[4] <= 1400  # "1,200+ participations" in the report
    assert User.query.filter(User.name.like("%·%")).count() >= 10  # Uyghur and Kazakh names
    assert {u.role for u in User.query} == {"admin", "staff", "volunteer", "sponsor", "viewer"}
    assert User.query.filter_by(phone="13800000003").one().points_balance > 0
    from gridapp.counter.models import Redemption
    from gridapp.goods.models import DonationLine

    assert 400 <= Redemption.query.count() <= 500  # "460 prizes handed out" in the report
    assert db.session.query(db.func.sum(DonationLine.quantity)).scalar() >= 600  # "600+ donated items"

    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert "13800000003" in again.output and "gridapp2026" in again.output
    assert (Sponsor.query.count(), Team.query.count(), Household.query.filter_by(grid_id=4).count(),
            User.query.count(), Attendance.query.count(), PointsEntry.query.count()) == counts
    assert Household.query.count() == 550 + 4  # and A区's four, not added twice


@pytest.mark.demo
def test_verify_passes_on_the_demo_data(runner):
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 0, result.output
    assert "All invariants hold" in result.output


@pytest.mark.demo
def test_verify_fails_naming_the_broken_row(runner):
    volunteer = User.query.filter_by(phone="13800000003").one()
    db.session.execute(text("UPDATE users SET points_balance = points_balance + 7 WHERE id = :id"),
                       {"id": volunteer.id})
    db.session.commit()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1
    assert "FAIL balances_equal_their_entries" in result.output
    assert f"users id {volunteer.id}: points_balance" in result.output


@pytest.mark.demo
def test_verify_finds_a_dangling_reference_in_sqlite(runner, app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL cannot hold a dangling foreign key; the SQLite check has nothing to find there")
    user_id = User.query.filter_by(phone="13800000003").one().id
    # Simulate a file edited by hand with foreign keys off: the user's household no longer exists.
    path = db.engine.url.database
    db.session.remove()
    db.engine.dispose()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("UPDATE users SET household_id = 99999 WHERE id = ?", (user_id,))
    raw.commit()
    raw.close()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1
    assert "FAIL foreign_keys_hold" in result.output
    assert "users rowid " + str(user_id) in result.output


def test_verify_fails_when_the_schema_is_behind(runner):
    db.session.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    db.session.commit()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1
    assert "FAIL schema_is_migrated" in result.output


def test_doctor_reports_database_and_fonts(runner):
    result = runner.invoke(args=["doctor"])
    assert "database reachable" in result.output
    assert "database migrated" in result.output
    assert ("CJK font" in result.output) and ("harfbuzz-subset" in result.output)


def test_create_user_makes_an_active_admin(runner):
    result = runner.invoke(args=["create-user", "--role", "admin", "--name", "张亚鹏", "--phone", "138 0000 1111"],
                           input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output
    user = User.query.filter_by(phone="13800001111").one()
    assert (user.role, user.status) == ("admin", "active")


def test_create_user_refuses_bad_phone_and_unknown_sponsor(runner):
    bad_phone = runner.invoke(args=["create-user", "--role", "staff", "--name", "王", "--phone", "12345"],
                              input="a-long-password\na-long-password\n")
    assert bad_phone.exit_code != 0 and "11-digit" in bad_phone.output
    no_sponsor = runner.invoke(args=["create-user", "--role", "sponsor", "--name", "王", "--phone", "13800001112",
                                     "--sponsor", "不存在的店"], input="a-long-password\na-long-password\n")
    assert no_sponsor.exit_code != 0 and "no sponsor named" in no_sponsor.output
    assert User.query.count() == 0
