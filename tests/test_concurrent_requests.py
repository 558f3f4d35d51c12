"""Real concurrent HTTP requests against the live server and a real database (SQLite file or PostgreSQL):
double taps, many staff confirming at once, a crowd at a full session."""
import re

import pytest

from gridapp.auth.models import User
from gridapp.clock import utcnow
from gridapp.duty import service as duty
from gridapp.duty.models import Attendance, DutySession
from gridapp.extensions import db
from gridapp.points.models import PointsEntry

from . import factories
from .concurrency import assert_invariants_hold, at_once, patrol, settle  # noqa: F401 (patrol: a fixture)
from .http_client import Browser

TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')


def test_twenty_simultaneous_posts_of_one_check_in_form_have_one_effect(app, live_server, patrol):
    _, session = patrol
    session_id, token, phone_number = session.id, session.token, factories.make_user().phone
    settle()
    phone = Browser(live_server.host).login(phone_number, factories.PASSWORD)
    _, _, page = phone.get(f"/c/{token}")
    form = {"csrf_token": phone.csrf_token(f"/c/{token}"), "token": TOKEN.search(page).group(1)}

    answers = at_once(20, lambda n: phone.request("POST", f"/duty/{session_id}/check-in", form)[:2])
    assert answers == [(303, f"/duty/{session_id}/check-in/done")] * 20
    settle()
    assert Attendance.query.count() == 1 and db.session.get(DutySession, session_id).taken == 1
    assert_invariants_hold()


def test_fifty_simultaneous_confirms_over_http_write_one_entry(app, live_server, patrol):
    staff, session = patrol
    volunteer = factories.make_user()
    attendance = duty.check_in(volunteer, session, utcnow())
    db.session.flush()
    volunteer_id, staff_phone, session_id = volunteer.id, staff.phone, session.id
    url = f"/staff/duty/{session.id}/attendances/{attendance.id}/confirm"
    settle()
    desk = Browser(live_server.host).login(staff_phone, factories.PASSWORD)
    token = desk.csrf_token(f"/staff/duty/{session_id}")

    answers = at_once(50, lambda n: desk.request("POST", url, {"csrf_token": token}, {"HX-Request": "true"})[0])
    assert answers == [200] * 50
    settle()
    assert PointsEntry.query.count() == 1
    assert db.session.get(User, volunteer_id).points_balance == 10
    assert_invariants_hold()


def test_thirty_volunteers_rushing_a_session_of_ten(app, live_server, patrol):
    _, session = patrol
    session_id = session.id
    numbers = [factories.make_user().phone for _ in range(30)]
    settle()
    phones = []
    for number in numbers:
        phone = Browser(live_server.host).login(number, factories.PASSWORD)
        _, _, page = phone.get(f"/duty/{session_id}")
        phones.append((phone, {"csrf_token": phone.csrf_token(f"/duty/{session_id}"),
                               "token": TOKEN.search(page).group(1)}))

    def check_in(n):
        phone, form = phones[n]
        status, _, html = phone.request("POST", f"/duty/{session_id}/check-in", form)
        return status, ("名额已满" in html)

    answers = at_once(30, check_in)
    assert answers.count((303, False)) == 10
    assert answers.count((422, True)) == 20
    settle()
    assert Attendance.query.count() == 10 and db.session.get(DutySession, session_id).taken == 10
    assert_invariants_hold()
