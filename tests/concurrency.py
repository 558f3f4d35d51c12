"""Run the same action in many real threads at once, each with its own app context and database session."""
import threading

from gridapp.extensions import db


def run_at_once(app, count: int, action, timeout: float = 120) -> list:
    """Start ``count`` threads that call ``action(n)`` together; each commits on success, rolls back
    on an exception. Returns what each returned, or the exception it raised."""
    from .conftest import ROLLED_BACK

    assert not ROLLED_BACK["active"], "threads need committed data: mark the test @pytest.mark.own_database"
    results: list = [None] * count
    # End the test's own transaction: on SQLite it may hold the write lock the threads queue for.
    db.session.commit()
    barrier = threading.Barrier(count)

    def worker(n):
        with app.app_context():
            try:
                barrier.wait(timeout=timeout)
                results[n] = action(n)
                db.session.commit()
            except Exception as exc:  # the outcome under test, collected for the assertions
                db.session.rollback()
                results[n] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results
