"""Every number people type has an upper bound in its form and a matching CHECK in the database, and what
the database still refuses is a Chinese 422, never a 500."""
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError

from gridapp.extensions import db
from gridapp.goods.models import Donation, Item

from . import factories


def test_a_donation_of_three_billion_kettles_is_refused_by_the_form(client):
    staff = factories.make_user(role="staff")
    sponsor = factories.make_sponsor()
    kettle = factories.make_item("烧水壶")
    client.login(staff.phone)
    response = client.submit("/staff/donations/new", {
        "sponsor": sponsor.id, "received_on": "2026-12-01", "lines-0-item": kettle.id,
        "lines-0-quantity": "3000000000", "lines-0-unit_value": "99999999999"})
    assert response.status_code == 422
    assert "数量需在1到10000之间" in response.get_data(as_text=True)
    assert Donation.query.count() == 0
    assert db.session.get(Item, kettle.id, populate_existing=True).stock == 0


@pytest.mark.parametrize("table, column, value", [
    ("items", "points_price", 100001), ("items", "stock", 10000001), ("items", "monthly_limit", 101),
    ("items", "low_stock_threshold", 10001),
])
def test_the_database_refuses_numbers_beyond_the_bounds(app, table, column, value):
    item = factories.make_item()
    with pytest.raises((IntegrityError, DataError)):
        db.session.execute(sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id"),
                           {"value": value, "id": item.id})
        db.session.flush()
    db.session.rollback()


def test_bounds_on_duty_campaign_and_counter_tables_exist(app):
    inspector = sa.inspect(db.engine)
    names = {table: {c["name"] for c in inspector.get_check_constraints(table)}
             for table in ("duty_sessions", "duty_types", "campaigns", "campaign_zones", "redemption_lines",
                           "donation_lines", "lots", "stocktake_lines")}
    assert "ck_duty_sessions_capacity_bounded" in names["duty_sessions"]
    assert "ck_duty_types_points_bounded" in names["duty_types"]
    assert "ck_campaign_zones_needed_bounded" in names["campaign_zones"]
    assert "ck_redemption_lines_quantity_bounded" in names["redemption_lines"]
    assert "ck_donation_lines_quantity_bounded" in names["donation_lines"]


@pytest.mark.own_app  # adds a route
def test_what_the_database_still_refuses_is_a_chinese_422(app, client):
    item = factories.make_item()

    @app.route("/test-too-big", methods=["POST"])
    def too_big():
        db.session.execute(sa.text("UPDATE items SET stock = 3000000000 WHERE id = :id"), {"id": item.id})
        db.session.commit()
        return "saved"

    too_big.access = "public"
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post("/test-too-big")
    assert response.status_code == 422
    assert "超出了允许的范围" in response.get_data(as_text=True)
    assert db.session.get(Item, item.id, populate_existing=True).stock == 0
