"""The roster's "全部确认出勤（N 人）": the current count after each single confirm, gone when nobody
waits, and a confirmation before points go to everyone."""
import re

from gridapp.clock import utcnow
from gridapp.duty import service as duty
from gridapp.extensions import db

from .. import factories
from .test_views import open_session, staff  # noqa: F401  (fixtures)

CONFIRM_ALL = re.compile(r'<div id="confirm-all"( hx-swap-oob="outerHTML")?>(.*?)</div>', re.S)


def three_checked_in(session):
    people = [factories.make_user(name=name) for name in ("蒋生军", "马静", "祁生勇")]
    attendances = [duty.check_in(person, session, utcnow()) for person in people]
    db.session.commit()
    return people, attendances


def test_single_confirm_updates_the_count_out_of_band_and_the_last_one_removes_the_button(
        client, open_session, staff):
    people, attendances = three_checked_in(open_session)
    client.login(staff.phone)
    roster = f"/staff/duty/{open_session.id}"
    assert "全部确认出勤（3 人）" in client.get(roster).get_data(as_text=True)

    answer = client.submit(f"{roster}/attendances/{attendances[0].id}/confirm", page=roster,
                           headers={"HX-Request": "true"})
    oob, inside = CONFIRM_ALL.search(answer.get_data(as_text=True)).groups()
    assert oob and "全部确认出勤（2 人）" in inside and "确认 2 人出勤" in inside

    client.submit(f"{roster}/attendances/{attendances[1].id}/confirm", page=roster, headers={"HX-Request": "true"})
    last = client.submit(f"{roster}/attendances/{attendances[2].id}/reject", {"reason": "没来"}, page=roster,
                         headers={"HX-Request": "true"})
    oob, inside = CONFIRM_ALL.search(last.get_data(as_text=True)).groups()
    assert oob and "全部确认" not in inside and "<form" not in inside
    assert "全部确认出勤" not in client.get(roster).get_data(as_text=True)


def test_confirm_all_without_javascript_asks_on_a_page_first(client, open_session, staff):
    people, _ = three_checked_in(open_session)
    client.login(staff.phone)
    roster = f"/staff/duty/{open_session.id}"
    asked = client.submit(f"{roster}/confirm-all", page=roster)
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert "确认 3 人出勤并各发放 10 积分？" in page and all(p.name in page for p in people)
    for person in people:
        db.session.refresh(person)
        assert person.points_balance == 0  # nothing awarded yet
    done = client.submit(f"{roster}/confirm-all", {"confirmed": "1"}, page=roster)
    assert done.status_code == 303
    for person in people:
        db.session.refresh(person)
        assert person.points_balance == 10


def test_confirm_all_is_an_htmx_form_that_asks_and_then_reloads_the_roster(client, open_session, staff):
    people, _ = three_checked_in(open_session)
    client.login(staff.phone)
    roster = f"/staff/duty/{open_session.id}"
    form = CONFIRM_ALL.search(client.get(roster).get_data(as_text=True)).group(2)
    assert f'hx-post="{roster}/confirm-all"' in form and "hx-confirm=" in form and '"confirmed": "1"' in form
    answer = client.submit(f"{roster}/confirm-all", {"confirmed": "1"}, page=roster, headers={"HX-Request": "true"})
    assert answer.status_code == 204 and answer.headers["HX-Redirect"] == roster
    db.session.refresh(people[0])
    assert people[0].points_balance == 10
