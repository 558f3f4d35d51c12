"""Money at the edges: yuan become fen rounding half up (四舍五入), and fen are shown from integers only."""
from decimal import Decimal

import pytest
from flask import render_template_string

from gridapp.goods.forms import yuan_to_fen
from gridapp.goods.receipts import yuan
from gridapp.money import fen_to_yuan


@pytest.mark.parametrize("yuan_text, fen", [
    ("0.125", 13), ("0.135", 14), ("0.145", 15), ("2.675", 268), ("59.905", 5991), ("0.124", 12),
    ("59.90", 5990), ("0", 0), ("12", 1200),
])
def test_yuan_become_fen_rounding_half_up_not_half_to_even(yuan_text, fen):
    assert yuan_to_fen(Decimal(yuan_text)) == fen


def test_yuan_to_fen_reads_no_number_as_none():
    assert yuan_to_fen(None) is None
    assert yuan_to_fen(Decimal("NaN")) is None
    assert yuan_to_fen(Decimal("Infinity")) is None


def test_fen_are_formatted_from_the_integer_even_beyond_a_floats_precision():
    assert fen_to_yuan(9_007_199_254_740_993) == "90,071,992,547,409.93"  # a float says …409.94
    assert fen_to_yuan(123456) == "1,234.56"
    assert fen_to_yuan(5) == "0.05"
    assert fen_to_yuan(-5) == "-0.05"
    assert fen_to_yuan(None) == "0.00"
    assert fen_to_yuan(Decimal(1234)) == "12.34"  # PostgreSQL's SUM(bigint) is numeric
    assert yuan(-250) == "-2.50"  # the PDF receipt uses the same rule


def test_formatting_refuses_a_float_or_a_fraction_of_a_fen():
    with pytest.raises(TypeError):
        fen_to_yuan(12.5)
    with pytest.raises(TypeError):
        fen_to_yuan(Decimal("12.5"))


def test_the_yuan_template_filter_formats_from_integer_fen(app):
    with app.test_request_context():
        assert render_template_string("{{ 9007199254740993|yuan }}") == "¥90,071,992,547,409.93"
        assert render_template_string("{{ none|yuan }} {{ 5|yuan }}") == "¥0.00 ¥0.05"
