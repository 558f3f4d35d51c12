"""Real concurrency for the tests: the same action in many threads at once (with or without an app
context of their own), ending the test's transaction first, and the ledger invariants checked after."""
import threading
from datetime import timedelta

import pytest

from gridapp.clock import utcnow
from gridapp.duty import service as duty
from gridapp.duty.models import DutyType
from gridapp.extensions import db
from gridapp.invariants import run_all

from . import factories


def run_at_once(app, count: int, action, timeout: float = 120) -> list:
    """Start ``count`` threads that call ``action(n)`` together; each commits on success, rolls back
    on an exception. Returns what each returned, or the exception it raised."""
    from .conftest import ROLLED_BACK

    assert not ROLLED_BACK["active"], "threads need committed data: mark the test @pytest.mark.own_database"
    # End the test's own transaction: on SQLite it may hold the write lock the threads queue for.
    db.session.commit()

    def in_own_context(n):
        with app.app_context():
            try:
                result = action(n)
                db.session.commit()
                return result
            except Exception:  # the outcome under test: at_once hands it back
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    return at_once(count, in_own_context, timeout)


def at_once(count, action, timeout: float = 120) -> list:
    """Call ``action(n)`` from ``count`` plain threads released together (e.g. HTTP requests to the
    live server); returns what each returned, or the exception it raised, in order."""
    results, barrier = [None] * count, threading.Barrier(count)

    def run(n):
        barrier.wait(timeout=timeout)
        try:
            results[n] = action(n)
        except Exception as exc:  # collected for the assertions
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


def settle():
    """End the test's transaction so the server's requests see everything and wait for nothing
    (on SQLite even a read here would take the write lock); later reads see what they wrote.
    After this the test uses plain values (ids, phones), not the objects it made before."""
    db.session.commit()
    db.session.close()


def assert_invariants_hold(ignore: tuple[str, ...] = ()):
    """Every rule of DESIGN.md §5 that ``flask verify`` checks holds (except the checks named in ``ignore``)."""
    broken = {name: rows for name, rows in run_all().items() if rows and name not in ignore}
    assert broken == {}


@pytest.fixture
def patrol(app):
    """A grid worker and tonight's patrol (10 places), open for check-in since five minutes ago."""
    staff = factories.make_user(role="staff")
    duty_type = DutyType(name="安全巡逻", default_points=10)
    db.session.add(duty_type)
    start = utcnow() - timedelta(minutes=5)
    [session] = duty.schedule(staff, duty_type=duty_type, title="南门夜间巡逻", place="B区南门岗亭",
                              starts_at=start, ends_at=start + timedelta(hours=2), capacity=10)
    db.session.commit()
    return staff, session
