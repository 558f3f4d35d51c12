"""Integers past 2^63 (or past any id we have) in a path, a query or a form field are 404 or 400, never 500.

Each URL below is one that answered 500 (OverflowError from SQLite, DataError from PostgreSQL).
"""
from datetime import timedelta

import pytest

from gridapp.clock import local_today, utcnow
from gridapp.counter import service as counter
from gridapp.duty import service as duty
from gridapp.duty.models import DutyType
from gridapp.extensions import db
from gridapp.numbers import MAX_ID, page_number, parse_id, parse_int, typed_whole_number

from . import factories

HUGE = "99999999999999999999"  # > 2^64
INT64_MAX = "9223372036854775807"
JUST_PAST = str(MAX_ID + 1)


@pytest.fixture
def staff(app):
    admin = factories.make_user(role="admin")
    counter.add_redemption_day(admin, local_today(), "测试：今天加开")
    db.session.commit()
    return factories.make_user(role="staff")


@pytest.fixture
def duty_session(staff):
    duty_type = DutyType(name="安全巡逻", default_points=10)
    db.session.add(duty_type)
    start = utcnow() - timedelta(minutes=10)
    [session] = duty.schedule(staff, duty_type=duty_type, title="南门巡逻", place="南门",
                              starts_at=start, ends_at=start + timedelta(hours=2))
    db.session.commit()
    return session


@pytest.mark.parametrize("path", [
    f"/staff/items/{HUGE}", f"/staff/items/{INT64_MAX}", f"/staff/items/{JUST_PAST}", f"/staff/donations/{HUGE}",
    f"/staff/donations/{HUGE}/receipt.pdf", f"/duty/{HUGE}", f"/staff/duty/{HUGE}", f"/counter/v/{HUGE}",
    f"/counter/redemptions/{HUGE}", f"/staff/campaigns/{HUGE}", f"/staff/sponsors/{HUGE}",
    f"/staff/stocktakes/{HUGE}", f"/staff/items/{'9' * 5000}",
])
def test_a_huge_id_in_a_staff_path_is_404(client, staff, path):
    client.login(staff.phone)
    response = client.get(path)
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_a_huge_id_in_a_sponsor_or_volunteer_path_is_404(client):
    sponsor = factories.make_user(role="sponsor")
    client.login(sponsor.phone)
    assert client.get(f"/sponsor/donations/{HUGE}").status_code == 404
    assert client.get(f"/sponsor/donations/{HUGE}/receipt.pdf").status_code == 404
    client.logout()
    client.login(factories.make_user().phone)
    assert client.get(f"/duty/{HUGE}").status_code == 404
    assert client.get(f"/me/redemptions/{HUGE}").status_code == 404


@pytest.mark.parametrize("url", ["/staff/volunteers", "/staff/duty", "/staff/donations", "/staff/stocktakes",
                                 "/staff/duty?past=1", "/staff/reports"])
@pytest.mark.parametrize("page", [INT64_MAX, HUGE, "-1", "²", "1e9", "0x10"])
def test_a_huge_or_odd_page_number_shows_a_page(client, staff, url, page):
    client.login(staff.phone)
    joiner = "&" if "?" in url else "?"
    response = client.get(f"{url}{joiner}page={page}")
    assert response.status_code == 200


def test_a_huge_page_number_for_a_volunteer_or_sponsor(client):
    client.login(factories.make_user().phone)
    for url in ("/me/points", "/me/redemptions", "/reports/mine", "/huiyin", "/gongshi"):
        for page in (INT64_MAX, HUGE, "-1", "0"):  # each answered 422 "没有保存" (or 500) before page_number
            assert client.get(f"{url}?page={page}").status_code == 200, (url, page)
    client.logout()
    client.login(factories.make_user(role="sponsor").phone)
    assert client.get(f"/sponsor?page={INT64_MAX}").status_code == 200


def test_a_huge_sponsor_filter_on_donations_is_a_404_not_a_500(client, staff):
    client.login(staff.phone)
    assert client.get(f"/staff/donations?sponsor={HUGE}").status_code in (200, 404)
    assert client.get("/staff/donations?sponsor=abc").status_code == 200


def test_a_basket_field_with_a_huge_item_id_or_quantity_is_ignored(client, staff):
    item = factories.make_item("牙膏", points_price=10)
    factories.donate(staff, factories.make_sponsor(), (item, 5))
    volunteer = factories.make_user()
    client.login(staff.phone)
    response = client.get(f"/counter/v/{volunteer.id}?q{HUGE}=1&q{item.id}={HUGE}&add={HUGE}&q²=1")
    assert response.status_code == 200
    assert client.submit("/counter/open", page="/counter").status_code == 303
    token = client.csrf_token(f"/counter/v/{volunteer.id}")
    response = client.post(f"/counter/v/{volunteer.id}/confirm",
                           data={"csrf_token": token, "token": "x", f"q{HUGE}": "1", f"q{item.id}": HUGE})
    assert response.status_code in (303, 422)


def test_mark_present_with_a_huge_volunteer_id_is_404(client, staff, duty_session):
    client.login(staff.phone)
    url = f"/staff/duty/{duty_session.id}/mark-present"
    for value in (HUGE, JUST_PAST, "²", "-3"):
        response = client.submit(url, {"volunteer_id": value}, page=f"/staff/duty/{duty_session.id}")
        assert response.status_code == 404, value


def test_cards_for_odd_team_or_id_lists_are_refused_cleanly(client, staff):
    client.login(staff.phone)
    for query in (f"team={HUGE}", "team=²", f"ids={HUGE}", "ids=²", "phones=²²²²²²²²²²²"):
        response = client.get(f"/counter/cards.pdf?{query}")
        assert response.status_code in (400, 404, 422), query


def test_parse_helpers_take_only_ascii_digits_that_fit():
    assert parse_int("42") == 42 and parse_int(" 7 ") == 7
    assert parse_int("²") is None and parse_int("٣") is None and parse_int("-1") is None
    assert parse_int(HUGE) is None and parse_int("1" * 5000) is None and parse_int(None) is None
    assert parse_id("0") is None and parse_id(str(MAX_ID)) == MAX_ID and parse_id(JUST_PAST) is None
    assert page_number({"page": INT64_MAX}) == 1 and page_number({"page": "3"}) == 3 and page_number({}) == 1


def test_a_typed_whole_number_reads_full_width_digits_and_a_unit_and_nothing_else():
    units = ("个", "瓶")
    assert typed_whole_number("２") == 2 and typed_whole_number("2个", units) == 2
    assert typed_whole_number(" ３ 瓶 ", units) == 3 and typed_whole_number(HUGE) == int(HUGE)
    assert typed_whole_number("0") == 0 and typed_whole_number("2个") is None  # a unit only where one is named
    for unreadable in ("1.5", "两", "-1", "", None, "2 3", "1" * 5000, "abc", "1个半", "3千", "2袋"):
        assert typed_whole_number(unreadable, units) is None, unreadable


def test_a_huge_page_number_on_a_volunteers_staff_page(client, staff):
    volunteer = factories.make_user()
    client.login(staff.phone)
    for page in (INT64_MAX, HUGE, "-1"):
        assert client.get(f"/staff/volunteers/{volunteer.id}?page={page}").status_code == 200, page


def test_every_paged_list_reads_its_page_through_page_number():
    """``request.args.get("page", type=int)`` takes 2^63 and hands it to OFFSET: one place reads a page number."""
    from pathlib import Path

    import re

    package = Path(__file__).resolve().parent.parent / "gridapp"
    # by hand: args.get("page" …) / args['page'], or Flask-SQLAlchemy's paginate() left to read ?page= itself
    by_hand = re.compile(r"""args(?:\.get\(\s*["']page["']|\[\s*["']page["']\s*\](?!\s*=[^=]))"""
                         r"""|\.paginate\((?![^)]*\bpage=)""")  # (args["page"] = n writes a pager's link)
    found = [str(path.relative_to(package)) for path in package.rglob("*.py")
             if by_hand.search(path.read_text(encoding="utf-8"))]
    assert found == []
    assert by_hand.search('request.args.get("page", 1, type=int)') and by_hand.search("query.paginate(per_page=20)")
    assert by_hand.search("n = request.args['page']") and not by_hand.search('args["page"] = page')
    assert not by_hand.search("query.paginate(page=page, per_page=20)")
