"""The stocktake (盘点): snapshot, draft counts, review, one confirmation that adjusts the stock ledger once."""
from datetime import date

import pytest

from gridapp.auth.models import User
from gridapp.clock import local_today, utcnow
from gridapp.errors import PermissionDenied
from gridapp.extensions import db
from gridapp.goods import stock
from gridapp.goods import stocktake as stocktakes
from gridapp.goods.models import Stocktake, StocktakeLine, StockMovement

from .. import factories
from ..concurrency import assert_invariants_hold, run_at_once

COUNT_DAY = date(2026, 11, 30)


@pytest.fixture
def staff(app):
    return factories.make_user(role="staff", name="贾亮")


@pytest.fixture
def shelf(staff):
    """Three items on the shelf, each from one donation (one lot): 毛巾 3, 烧水壶 10, 洗衣粉 4."""
    towels = factories.make_item("毛巾", unit="条")
    kettle = factories.make_item("烧水壶", points_price=120)
    soap = factories.make_item("洗衣粉", unit="袋")
    factories.donate(staff, factories.make_sponsor(), (towels, 3), (kettle, 10), (soap, 4))
    return towels, kettle, soap


def line_for(stocktake, item) -> StocktakeLine:
    return StocktakeLine.query.filter_by(stocktake_id=stocktake.id, item_id=item.id).one()


def adjustments(stocktake):
    return (StockMovement.query.filter_by(reference=f"stocktake:{stocktake.id}", kind="adjustment")
            .order_by(StockMovement.id).all())


def started(staff) -> Stocktake:
    stocktake = stocktakes.start(staff, utcnow())
    db.session.commit()
    return stocktake


def counted(staff, stocktake, **by_item):
    """Save counts given as item name -> count or (count, reason), through the service."""
    lines = {line.item.name: line for line in stocktake.lines}
    counts, reasons = {}, {}
    for name, value in by_item.items():
        count, reason = value if isinstance(value, tuple) else (value, "")
        counts[lines[name].id], reasons[lines[name].id] = count, reason
    stocktakes.save_counts(staff, stocktake, counts, reasons)
    db.session.commit()


def form_for(stocktake, **by_item):
    """The count form's fields: item name -> count text or (count text, reason)."""
    lines = {line.item.name: line for line in stocktake.lines}
    data = {}
    for name, value in by_item.items():
        count, reason = value if isinstance(value, tuple) else (value, "")
        data[f"count-{lines[name].id}"], data[f"reason-{lines[name].id}"] = count, reason
    return data


# --- starting ---------------------------------------------------------------------------

def test_start_snapshots_the_stock_of_every_active_item(staff, shelf):
    towels, kettle, soap = shelf
    retired = factories.make_item("旧暖水瓶", unit="个", active=False)
    stocktake = started(staff)
    stock.take(kettle, 2, reference="redemption:1", by=staff)  # after the snapshot: expected stays 10
    db.session.commit()
    assert stocktake.status == "counting" and stocktake.created_by_id == staff.id
    assert {line.item.name: line.expected for line in stocktake.lines} == {"毛巾": 3, "烧水壶": 10, "洗衣粉": 4}
    assert retired.id not in {line.item_id for line in stocktake.lines}
    assert all(line.counted is None for line in stocktake.lines)


def test_only_one_stocktake_is_counting_at_a_time(staff, shelf):
    first = started(staff)
    with pytest.raises(stocktakes.StocktakeInProgress) as caught:
        stocktakes.start(staff, utcnow())
    db.session.rollback()
    assert "已有一次盘点正在进行" in caught.value.message and "贾亮" in caught.value.message
    counted(staff, first, 毛巾=3, 烧水壶=10, 洗衣粉=4)
    assert stocktakes.confirm(staff, first, on=COUNT_DAY, now=utcnow()) is True
    db.session.commit()
    assert started(staff).id != first.id  # once confirmed, the next one may start


def test_starting_a_second_stocktake_through_the_page_is_refused(client, login_as, shelf):
    login_as("staff")
    assert client.submit("/staff/stocktakes/new", page="/staff/stocktakes").status_code == 303
    # The list now offers “continue”, not “start”; a stale page (or a second tab) posts anyway.
    response = client.submit("/staff/stocktakes/new", page="/staff/stocktakes/1")
    assert response.status_code == 422
    assert "已有一次盘点正在进行" in response.get_data(as_text=True)
    assert Stocktake.query.count() == 1


@pytest.mark.own_database
def test_simultaneous_starts_make_one_stocktake(app, staff, shelf):
    staff_id = staff.id  # read here: the threads must not touch this test's session
    results = run_at_once(app, 4, lambda n: stocktakes.start(db.session.get(User, staff_id), utcnow()).id)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert all(isinstance(r, (int, stocktakes.StocktakeInProgress)) for r in results), results
    assert Stocktake.query.filter_by(status="counting").count() == 1


def test_nothing_to_count_is_refused(staff):
    with pytest.raises(stocktakes.DomainError) as caught:
        stocktakes.start(staff, utcnow())
    assert caught.value.message == "还没有可盘点的物品。"


def test_volunteers_cannot_start_or_confirm(app, staff, shelf):
    volunteer = factories.make_user()
    with pytest.raises(PermissionDenied):
        stocktakes.start(volunteer, utcnow())
    stocktake = started(staff)
    with pytest.raises(PermissionDenied):
        stocktakes.confirm(volunteer, stocktake, on=COUNT_DAY, now=utcnow())


def test_a_volunteer_gets_403_on_the_stocktake_pages(client, login_as, staff, shelf):
    stocktake = started(staff)
    login_as("volunteer")
    assert client.get("/staff/stocktakes").status_code == 403
    assert client.get(f"/staff/stocktakes/{stocktake.id}/sheet").status_code == 403
    response = client.submit(f"/staff/stocktakes/{stocktake.id}/confirm", page="/account")
    assert response.status_code == 403 and "没有权限" in response.get_data(as_text=True)
    assert client.submit("/staff/stocktakes/new", page="/account").status_code == 403
    db.session.expire_all()
    assert Stocktake.query.count() == 1 and stocktake.status == "counting"


# --- the sheet and the counts ---------------------------------------------------------------

def test_the_printable_sheet_has_org_items_expected_and_signatures(client, login_as, staff, shelf):
    stocktake = started(staff)
    login_as("staff")
    html = client.get(f"/staff/stocktakes/{stocktake.id}/sheet").get_data(as_text=True)
    assert "屯坪社区 · 迪祥佳苑B区网格党支部" in html and "库存盘点表" in html
    assert "<td>烧水壶</td><td>个</td><td>10</td>" in html and "<td>毛巾</td><td>条</td><td>3</td>" in html
    assert html.count('<td class="box"></td>') == 2 * 3
    assert "盘点人（签字）" in html and "复核人（签字）" in html


def test_counts_are_saved_as_a_draft_again_and_again(client, login_as, staff, shelf):
    stocktake = started(staff)
    login_as("staff")
    url, page = f"/staff/stocktakes/{stocktake.id}/counts", f"/staff/stocktakes/{stocktake.id}"
    first = client.submit(url, form_for(stocktake, 毛巾="2", 烧水壶=""), page=page)
    assert first.status_code == 303 and first.location == page
    second = client.submit(url, form_for(stocktake, 毛巾="３", 烧水壶=("9", "外包装破损，报废1个")), page=page)
    assert second.status_code == 303
    db.session.expire_all()
    towels, kettle, soap = (line_for(stocktake, item) for item in shelf)
    assert (towels.counted, kettle.counted, kettle.reason, soap.counted) == (3, 9, "外包装破损，报废1个", None)
    assert "已保存草稿：2 / 3 项已盘点" in client.get(page).get_data(as_text=True)


@pytest.mark.parametrize("typed, message", [
    ("-1", "盘点数不能小于0。"),
    ("2.5", "请填写整数"),
    ("十", "请填写整数"),
])
def test_a_count_below_zero_or_not_whole_is_refused_with_422_and_nothing_saved(
        client, login_as, staff, shelf, typed, message):
    stocktake = started(staff)
    login_as("staff")
    page = f"/staff/stocktakes/{stocktake.id}"
    response = client.submit(f"{page}/counts", form_for(stocktake, 毛巾="3", 烧水壶=typed), page=page)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and "有 1 行填写有误，没有保存" in html
    assert f'value="{typed}"' in html  # what was typed is shown again, to correct
    db.session.expire_all()
    assert [line.counted for line in stocktake.lines] == [None, None, None]


def test_the_service_refuses_a_negative_count_too(staff, shelf):
    stocktake = started(staff)
    line = stocktake.lines[0]
    with pytest.raises(stocktakes.BadCount) as caught:
        stocktakes.save_counts(staff, stocktake, {line.id: -4}, {})
    assert "必须是0或正整数" in caught.value.message


# --- review and confirmation --------------------------------------------------------------

def test_review_highlights_differences_and_lists_the_missing(client, login_as, staff, shelf):
    stocktake = started(staff)
    counted(staff, stocktake, 毛巾=5, 烧水壶=(10, ""))
    login_as("staff")
    html = client.get(f"/staff/stocktakes/{stocktake.id}/review").get_data(as_text=True)
    assert '<tr class="diff">' in html and '<span class="delta plus">+2</span>' in html
    assert "还有 1 项没有填写盘点数" in html and "洗衣粉" in html
    assert "以下物品有差异，请填写原因" in html
    assert "确认盘点，调整库存" not in html  # no button until every line is counted and explained


def test_confirm_needs_every_line_counted_and_every_difference_explained(staff, shelf):
    stocktake = started(staff)
    counted(staff, stocktake, 毛巾=5, 烧水壶=10)
    with pytest.raises(stocktakes.StocktakeIncomplete) as caught:
        stocktakes.confirm(staff, stocktake, on=COUNT_DAY, now=utcnow())
    db.session.rollback()
    assert "洗衣粉" in caught.value.message and "全部盘点后才能确认" in caught.value.message
    counted(staff, stocktake, 洗衣粉=4)
    with pytest.raises(stocktakes.ReasonMissing) as caught:
        stocktakes.confirm(staff, stocktake, on=COUNT_DAY, now=utcnow())
    db.session.rollback()
    assert "毛巾" in caught.value.message
    db.session.expire_all()
    assert stocktake.status == "counting" and adjustments(stocktake) == []


def test_confirm_writes_one_adjustment_per_difference_with_its_reason(client, login_as, staff, shelf):
    towels, kettle, soap = shelf
    stocktake = started(staff)
    counted(staff, stocktake, 毛巾=(5, "储物间角落找到2条"), 烧水壶=(8, "运输破损2个"), 洗衣粉=4)
    worker = login_as("staff", name="阿依古丽·买买提")
    review = f"/staff/stocktakes/{stocktake.id}/review"
    page = client.get(review).get_data(as_text=True)
    assert "确认盘点，调整库存" in page and 'hx-confirm=' in page
    response = client.submit(f"/staff/stocktakes/{stocktake.id}/confirm", page=review)
    assert response.status_code == 303
    db.session.expire_all()
    assert [(m.item_id, m.delta, m.reason, m.created_by_id) for m in adjustments(stocktake)] == [
        (towels.id, 2, "储物间角落找到2条", worker.id), (kettle.id, -2, "运输破损2个", worker.id)]
    assert (towels.stock, kettle.stock, soap.stock) == (5, 8, 4)
    found = adjustments(stocktake)[0].lot
    assert found.donation_line_id is None and found.received_on == local_today()  # units found: a new lot
    assert stocktake.status == "confirmed" and stocktake.confirmed_by_id == worker.id
    assert stocktake.confirmed_at is not None
    assert_invariants_hold()
    html = client.get(response.location).get_data(as_text=True)
    assert "盘点已确认，2 项差异已调整库存" in html


def test_confirming_twice_adjusts_once(client, login_as, staff, shelf):
    stocktake = started(staff)
    counted(staff, stocktake, 毛巾=3, 烧水壶=(7, "丢失"), 洗衣粉=4)
    login_as("staff")
    review = f"/staff/stocktakes/{stocktake.id}/review"
    token = client.csrf_token(review)
    first = client.post(f"/staff/stocktakes/{stocktake.id}/confirm", data={"csrf_token": token})
    second = client.post(f"/staff/stocktakes/{stocktake.id}/confirm", data={"csrf_token": token})  # a double tap
    assert first.status_code == second.status_code == 303
    assert "已经确认过了，没有重复调整" in client.get(second.location).get_data(as_text=True)
    db.session.expire_all()
    assert [m.delta for m in adjustments(stocktake)] == [-3]
    assert stocktakes.confirm(staff, stocktake, on=COUNT_DAY, now=utcnow()) is False
    assert shelf[1].stock == 7
    assert_invariants_hold()


@pytest.mark.own_database
def test_simultaneous_confirms_adjust_once(app, staff, shelf):
    stocktake = started(staff)
    counted(staff, stocktake, 毛巾=(1, "破损"), 烧水壶=(12, "找到"), 洗衣粉=4)
    staff_id, stocktake_id = staff.id, stocktake.id  # read here: the threads must not touch this test's session

    def confirm(n):
        return stocktakes.confirm(db.session.get(User, staff_id), db.session.get(Stocktake, stocktake_id),
                                  on=COUNT_DAY, now=utcnow())

    results = run_at_once(app, 4, confirm)
    assert sorted(results) == [False, False, False, True]
    assert sorted(m.delta for m in adjustments(stocktake)) == [-2, 2]
    assert_invariants_hold()


def test_confirm_refuses_when_stock_moved_and_would_go_negative(client, login_as, staff, shelf):
    towels, kettle, soap = shelf
    stocktake = started(staff)
    counted(staff, stocktake, 毛巾=(4, "找到1条"), 烧水壶=(1, "丢失9个"), 洗衣粉=4)
    stock.take(kettle, 5, reference="redemption:9", by=staff)  # redeemed after the sheet was made: 5 left
    db.session.commit()
    login_as("staff")
    review = f"/staff/stocktakes/{stocktake.id}/review"
    assert "在盘点表生成后有出入库" in client.get(review).get_data(as_text=True)
    response = client.submit(f"/staff/stocktakes/{stocktake.id}/confirm", page=review)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "“烧水壶”的库存在盘点表生成后有变动" in html and "现在 5个" in html
    db.session.expire_all()
    assert (towels.stock, kettle.stock) == (3, 5)  # 毛巾 (adjusted first) was rolled back too
    assert adjustments(stocktake) == [] and stocktake.status == "counting"
    assert_invariants_hold()


def test_a_confirmed_stocktake_is_read_only(client, login_as, staff, shelf):
    stocktake = started(staff)
    counted(staff, stocktake, 毛巾=3, 烧水壶=(9, "破损"), 洗衣粉=4)
    stocktakes.confirm(staff, stocktake, on=COUNT_DAY, now=utcnow())
    db.session.commit()
    login_as("staff")
    page = f"/staff/stocktakes/{stocktake.id}"
    html = client.get(page).get_data(as_text=True)
    assert 'name="count-' not in html and "破损" in html and "已确认" in html
    response = client.submit(f"{page}/counts", form_for(stocktake, 毛巾="0", 烧水壶="0"), page=page)
    assert response.status_code == 422 and "只能查看，不能再修改" in response.get_data(as_text=True)
    with pytest.raises(stocktakes.StocktakeClosed):
        stocktakes.save_counts(staff, stocktake, {stocktake.lines[0].id: 0}, {})
    db.session.rollback()
    db.session.expire_all()
    assert sorted(line.counted for line in stocktake.lines) == [3, 4, 9]


def test_the_list_shows_past_stocktakes_with_who_and_how_many_differences(client, login_as, staff, shelf):
    stocktake = started(staff)
    counted(staff, stocktake, 毛巾=(2, "破损"), 烧水壶=(9, "破损"), 洗衣粉=4)
    stocktakes.confirm(staff, stocktake, on=COUNT_DAY, now=utcnow())
    db.session.commit()
    login_as("staff")
    html = client.get("/staff/stocktakes").get_data(as_text=True)
    assert f'href="/staff/stocktakes/{stocktake.id}"' in html
    assert "<td>贾亮</td>" in html and "<td>2 项</td>" in html and "已确认" in html
    assert "开始盘点</button>" in html
