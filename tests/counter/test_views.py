"""The counter through HTTP, as staff at the table drive it: open, find, basket, confirm, print, void, close."""
import re

import pytest

from gridapp.clock import local_today
from gridapp.counter import service as counter
from gridapp.counter.models import CounterSession, Redemption
from gridapp.extensions import db
from gridapp.points import service as points

from .. import factories

TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')


@pytest.fixture
def staff(app):
    admin = factories.make_user(role="admin")
    counter.add_redemption_day(admin, local_today(), "测试：今天加开")  # so that today is a redemption day
    db.session.commit()
    return factories.make_user(role="staff", name="贾亮")


@pytest.fixture
def kettle(staff):
    kettle = factories.make_item("烧水壶", points_price=120, household_monthly_limit=1)
    factories.donate(staff, factories.make_sponsor("物业公司"), (kettle, 3))
    return kettle


@pytest.fixture
def volunteer(app):
    volunteer = factories.make_user(name="蒋生军")
    points.award(volunteer, 200, reference="test", description="测试积分", key=f"seed:{volunteer.id}")
    db.session.commit()
    return volunteer


def open_counter(client, staff):
    client.login(staff.phone)
    assert client.submit("/counter/open", page="/counter").status_code == 303


def test_a_whole_redemption_at_the_table(client, staff, kettle, volunteer):
    open_counter(client, staff)
    found = client.get(f"/counter?q={volunteer.phone[-4:]}")
    assert found.status_code == 302 and found.location == f"/counter/v/{volunteer.id}"
    page = client.get(f"/counter/v/{volunteer.id}?add={kettle.id}").get_data(as_text=True)
    assert 'value="1"' in page and "兑换后剩余" in page and "<strong class=\"\">80</strong>" in page
    form = {"csrf_token": client.csrf_token(f"/counter/v/{volunteer.id}"), "token": TOKEN.search(page).group(1),
            f"q{kettle.id}": "1"}
    first = client.post(f"/counter/v/{volunteer.id}/confirm", data=form)
    again = client.post(f"/counter/v/{volunteer.id}/confirm", data=form)  # a double tap
    assert first.status_code == again.status_code == 303 and first.location == again.location
    receipt = client.get(first.location).get_data(as_text=True)
    assert "DH-" in receipt and "烧水壶×1" in receipt and "蒋生军" in receipt
    assert Redemption.query.count() == 1
    db.session.refresh(volunteer)
    assert volunteer.points_balance == 80


def test_htmx_basket_update_returns_only_the_basket(client, staff, kettle, volunteer):
    open_counter(client, staff)
    response = client.get(f"/counter/v/{volunteer.id}?q{kettle.id}=1&add={kettle.id}", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and 'id="basket"' in html
    assert 'value="1"' in html  # 2 would pass the household limit of 1: clamped


def test_confirm_with_too_few_points_shows_the_shortfall(client, staff, kettle):
    poor = factories.make_user()
    open_counter(client, staff)
    page = client.get(f"/counter/v/{poor.id}").get_data(as_text=True)
    form = {"csrf_token": client.csrf_token(f"/counter/v/{poor.id}"), "token": TOKEN.search(page).group(1),
            f"q{kettle.id}": "1"}
    response = client.post(f"/counter/v/{poor.id}/confirm", data=form)
    assert response.status_code == 422 and "积分不足：需要 120 分，现有 0 分" in response.get_data(as_text=True)
    assert Redemption.query.count() == 0


def test_unknown_volunteer_code_is_a_clear_message(client, staff):
    open_counter(client, staff)
    html = client.get("/counter?q=VDEADBEEF").get_data(as_text=True)
    assert "找不到“VDEADBEEF”" in html


def test_void_with_confirmation_returns_points(client, staff, kettle, volunteer):
    open_counter(client, staff)
    session = CounterSession.query.one()
    redemption = counter.redeem(staff, session, volunteer, {kettle.id: 1}, token="t", now=session.opened_at)
    db.session.commit()
    url = f"/counter/redemptions/{redemption.id}"
    ask = client.submit(f"{url}/void", {"reason": "拿错了"}, page=url)
    assert ask.status_code == 200 and "积分将退回" in ask.get_data(as_text=True)
    done = client.submit(f"{url}/void", {"reason": "拿错了", "confirmed": "1"}, page=url)
    assert done.status_code == 303
    assert "已作废" in client.get(url).get_data(as_text=True)
    db.session.refresh(volunteer)
    assert volunteer.points_balance == 200


def test_close_the_day_and_print_the_summary(client, staff, kettle, volunteer):
    open_counter(client, staff)
    session = CounterSession.query.one()
    response = client.submit(f"/counter/sessions/{session.id}/close", page=f"/counter/sessions/{session.id}")
    assert response.status_code == 303
    summary = client.get(response.location).get_data(as_text=True)
    assert "积分兑换汇总" in summary and "日结：贾亮" in summary
    assert "今天已日结" in client.get("/counter").get_data(as_text=True)


def test_staff_cannot_open_on_an_ordinary_day(client, app):
    if counter.is_redemption_day(local_today()):
        pytest.skip("today is the last day of the month: every staff member may open")
    staff = factories.make_user(role="staff")
    client.login(staff.phone)
    page = client.get("/counter").get_data(as_text=True)
    assert "今天不是兑换日" in page and "临时开台" not in page
    refused = client.submit("/counter/open", page="/counter")
    assert refused.status_code == 303 and CounterSession.query.count() == 0


def test_volunteer_card_and_history(client, staff, kettle, volunteer):
    client.login(volunteer.phone)
    card = client.get("/me/card").get_data(as_text=True)
    db.session.refresh(volunteer)
    assert volunteer.volunteer_code in card and "<svg" in card
    assert "还没有兑换记录" in client.get("/me/redemptions").get_data(as_text=True)


def test_a_volunteer_sees_only_their_own_receipts(client, staff, kettle, volunteer):
    session = counter.open_session(staff, local_today())
    other = factories.make_user()
    points.award(other, 200, reference="test", description="测试积分", key="seed-other")
    theirs = counter.redeem(staff, session, other, {kettle.id: 1}, token="x", now=session.opened_at)
    mine = counter.redeem(staff, session, volunteer, {kettle.id: 1}, token="y", now=session.opened_at)
    db.session.commit()
    client.login(volunteer.phone)
    assert client.get(f"/me/redemptions/{mine.id}").status_code == 200
    assert client.get(f"/me/redemptions/{theirs.id}").status_code == 404
    assert "烧水壶×1" in client.get("/me/redemptions").get_data(as_text=True)


def test_a_long_redemption_history_is_paged_and_every_receipt_can_be_reached(client, staff, volunteer):
    paste = factories.make_item("牙膏", unit="支", points_price=1)
    soap = factories.make_item("香皂", points_price=2)
    factories.donate(staff, factories.make_sponsor("屯坪便民超市"), (paste, 60), (soap, 120))
    points.award(volunteer, 100, reference="test", description="测试积分", key="seed-more")
    session = counter.open_session(staff, local_today())
    receipts = [counter.redeem(staff, session, volunteer, {paste.id: 1, soap.id: 2}, token=f"t{n}",
                               now=session.opened_at)
                for n in range(55)]  # more than the old 50-row cut, and more than two pages
    db.session.commit()
    client.login(volunteer.phone)
    first = client.get("/me/redemptions").get_data(as_text=True)
    last = client.get("/me/redemptions?page=3").get_data(as_text=True)
    newest, oldest = receipts[-1], receipts[0]
    assert newest.receipt_no in first and oldest.receipt_no not in first
    assert "第 1 / 3 页" in first and 'href="/me/redemptions?page=2"' in first
    assert oldest.receipt_no in last and newest.receipt_no not in last and "第 3 / 3 页" in last
    # each receipt shows its number, date, items and points, and links to its page
    assert "牙膏×1 香皂×2" in last and "5 分" in last
    assert f'href="/me/redemptions/{oldest.id}"' in last
    shown = set()
    for page in (1, 2, 3):
        shown |= set(re.findall(r"DH-[A-Z]+-\d{4}-\d+", client.get(f"/me/redemptions?page={page}").get_data(as_text=True)))
    assert shown == {r.receipt_no for r in receipts}


def test_a_lookup_by_the_last_four_digits_reads_the_volunteers_once(client, staff, volunteer, count_queries):
    """No card code (V + 8 hex digits) or phone (11 digits) is 4 digits long: the look-up by the last 4
    digits goes straight to them, without an exact look-up first."""
    open_counter(client, staff)
    last4, volunteer_id = volunteer.phone[-4:], volunteer.id
    with count_queries() as queries:
        found = client.get(f"/counter?q={last4}")
    assert found.status_code == 302 and found.location == f"/counter/v/{volunteer_id}"
    assert len([s for s in queries.statements if s.startswith("SELECT users.")]) == 1, queries.report()


def test_the_basket_fragment_shows_the_items_and_reads_the_month_in_one_statement(client, staff, kettle, volunteer,
                                                                                  count_queries):
    """The limits need this month's use, the panel its redemptions: one statement of rows gives both, so the
    htmx swap of the basket reads the month once (it was one statement for the use alone, and a cheaper one
    than the ORM's aggregate: bench/README, target 1), and the month's list stays on the panel."""
    open_counter(client, staff)
    url = f"/counter/v/{volunteer.id}?add={kettle.id}"
    with count_queries() as queries:
        fragment = client.get(url, headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert html.startswith('<section id="basket"') and "烧水壶" in html and "加一个烧水壶" in html
    assert 'aria-label="减一个烧水壶"' in html and "120 分" in html and "库存 3" in html and "每户每月 1" in html
    assert len([s for s in queries.statements if "FROM redemptions" in s or "JOIN redemptions" in s]) == 1, \
        queries.report()
    assert "本月已兑" not in html


CONFIRM_FORM = re.compile(r'<form method="post" action="/counter/v/\d+/confirm">(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input(?=[^>]*type="hidden")[^>]*name="([^"]+)"[^>]*value="([^"]*)"')


def test_the_panels_confirm_form_posts_as_drawn_with_its_own_csrf_and_one_time_token(client, staff, kettle,
                                                                                    volunteer):
    """The panel draws the confirm form's hidden fields without building the form: posted exactly as drawn
    (nothing else from the page), they confirm the basket; each view of the panel draws a new one-time token."""
    open_counter(client, staff)
    url = f"/counter/v/{volunteer.id}?add={kettle.id}"
    drawn = CONFIRM_FORM.search(client.get(url).get_data(as_text=True)).group(1)
    fields = dict(HIDDEN.findall(drawn))
    assert set(fields) == {"token", "csrf_token", f"q{kettle.id}"} and fields[f"q{kettle.id}"] == "1"
    again = dict(HIDDEN.findall(CONFIRM_FORM.search(client.get(url).get_data(as_text=True)).group(1)))
    assert again["token"] != fields["token"]
    response = client.post(f"/counter/v/{volunteer.id}/confirm", data=fields)
    assert response.status_code == 303 and Redemption.query.count() == 1


def test_a_refused_confirm_draws_the_posted_token_again_so_a_retry_gives_one_receipt(client, staff, kettle):
    """Refused (too few points), the page keeps the one-time token that was posted, as the bound form did:
    once the points are there, confirming from that page and a double tap give one receipt."""
    poor = factories.make_user()
    open_counter(client, staff)
    page = client.get(f"/counter/v/{poor.id}").get_data(as_text=True)
    fields = dict(HIDDEN.findall(CONFIRM_FORM.search(page).group(1))) | {f"q{kettle.id}": "1"}
    refused = client.post(f"/counter/v/{poor.id}/confirm", data=fields)
    assert refused.status_code == 422
    redrawn = dict(HIDDEN.findall(CONFIRM_FORM.search(refused.get_data(as_text=True)).group(1)))
    assert redrawn["token"] == fields["token"] and redrawn[f"q{kettle.id}"] == "1"
    points.award(poor, 150, reference="test", description="测试积分", key=f"seed:{poor.id}")
    db.session.commit()
    first = client.post(f"/counter/v/{poor.id}/confirm", data=redrawn)
    second = client.post(f"/counter/v/{poor.id}/confirm", data=redrawn)
    assert first.status_code == second.status_code == 303 and first.location == second.location
    assert Redemption.query.count() == 1


def test_a_confirm_refused_for_a_missing_token_draws_a_new_one(client, staff, kettle, volunteer):
    open_counter(client, staff)
    page = client.get(f"/counter/v/{volunteer.id}").get_data(as_text=True)
    fields = dict(HIDDEN.findall(CONFIRM_FORM.search(page).group(1)))
    del fields["token"]
    refused = client.post(f"/counter/v/{volunteer.id}/confirm", data=fields | {f"q{kettle.id}": "1"})
    assert refused.status_code == 422 and "页面已过期" in refused.get_data(as_text=True)
    redrawn = dict(HIDDEN.findall(CONFIRM_FORM.search(refused.get_data(as_text=True)).group(1)))
    assert len(redrawn["token"]) >= 24 and Redemption.query.count() == 0


def test_a_quantity_typed_full_width_or_with_a_unit_counts_and_an_unreadable_one_is_named(client, staff, volunteer):
    """At the table a quantity arrives as '２' (a Chinese keyboard) or '2袋': both are 2. '1.5' or '1袋半' is no
    quantity: the basket names the item and shows what was typed (422) instead of quietly taking it as 0, and
    a confirm with such a line redeems nothing."""
    soap = factories.make_item("洗衣粉", unit="袋", points_price=10)
    factories.donate(staff, factories.make_sponsor("超市"), (soap, 9))
    open_counter(client, staff)
    here = f"/counter/v/{volunteer.id}"
    for typed in ("２", "2袋", "２ 袋"):
        page = client.get(here, query_string={f"q{soap.id}": typed}, headers={"HX-Request": "true"})
        assert page.status_code == 200 and f'name="q{soap.id}" value="2"' in page.get_data(as_text=True), typed
    for typed in ("1.5", "1袋半", "3千"):
        refused = client.get(here, query_string={f"q{soap.id}": typed}, headers={"HX-Request": "true"})
        basket = refused.get_data(as_text=True)
        assert refused.status_code == 422 and "洗衣粉的数量没有读懂" in basket, typed
        assert f'name="q{soap.id}" value="{typed}" inputmode="numeric" size="2" aria-invalid="true"' in basket
    page = client.get(here).get_data(as_text=True)
    form = {"csrf_token": client.csrf_token(here), "token": TOKEN.search(page).group(1), f"q{soap.id}": "两"}
    confirm = client.post(f"{here}/confirm", data=form)
    assert confirm.status_code == 422 and "洗衣粉的数量没有读懂" in confirm.get_data(as_text=True)
    assert Redemption.query.count() == 0
