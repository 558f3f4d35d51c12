"""Dates are formatted by Flask-Babel with a pattern (``format_date``/``format_datetime``), never by hand:
papers print the same Chinese dates whatever the page language, and the template filters take a pattern."""
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from flask import render_template_string

from gridapp.pdf import paper_date

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_papers_print_chinese_dates_on_the_community_clock_whatever_the_page_language(app, language):
    new_years_eve = datetime(2026, 12, 31, 16, 5)  # UTC: 00:05 on 1 January 2027 in Beijing
    with app.test_request_context("/", headers={"Cookie": f"lang={language}"}):
        assert paper_date(date(2026, 12, 26)) == "2026年12月26日"
        assert paper_date(date(2026, 12, 31), "y年M月d日（EEEE）") == "2026年12月31日（星期四）"
        assert paper_date(date(2028, 2, 29), "y年M月d日（EEEE）") == "2028年2月29日（星期二）"
        assert paper_date(new_years_eve, "yyyy-MM-dd HH:mm") == "2027-01-01 00:05"
        assert paper_date(new_years_eve, "HH:mm") == "00:05"


def test_the_date_filters_take_a_pattern_and_keep_their_defaults(app):
    moment = datetime(2026, 12, 25, 23, 30)  # UTC: 07:30 on 26 December in Beijing
    with app.test_request_context("/"):
        page = render_template_string(
            "{{ m|datetime_cn('yyyy年MM月dd日 HH:mm') }}|{{ m|datetime_cn('MM-dd HH:mm') }}|{{ d|date_cn('yyyy年MM月dd日') }}"
            "|{{ d|date_cn('y年M月') }}|{{ d|date_cn }}|{{ none|datetime_cn('HH:mm') }}",
            m=moment, d=date(2026, 12, 1), none=None)
    assert page == "2026年12月26日 07:30|12-26 07:30|2026年12月01日|2026年12月|2026年12月1日星期二|—"


def test_no_template_and_no_module_writes_a_chinese_date_by_hand():
    templates = [f"{path.relative_to(ROOT)}" for path in (ROOT / "templates").rglob("*.html")
                 if "strftime(" in path.read_text(encoding="utf-8")]
    assert templates == []
    by_hand = re.compile(r"strftime\([^)]*[年月日]|WEEKDAYS|星期\{")
    modules = [f"{path.relative_to(ROOT)}" for path in (ROOT / "gridapp").rglob("*.py")
               if by_hand.search(path.read_text(encoding="utf-8"))]
    assert modules == []


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_a_named_datetime_format_prints_what_babel_prints_for_it(app, language, community_zone):
    """datetime_cn applies a named format ("short" …) as one pattern (web.datetime_pattern): the same text
    as Babel's format_datetime in the page's language and the community's zone (both zones), for every named format,
    across midnight, a month end, a year end and 29 February."""
    from babel import dates
    from flask_babel import get_locale, get_timezone

    moments = [datetime(2026, 12, 25, 23, 30), datetime(2026, 12, 31, 16, 5), datetime(2028, 2, 28, 16, 0),
               datetime(2027, 1, 31, 15, 59, 59), datetime(2026, 6, 1, 4, 7)]
    with app.test_request_context("/", headers={"Cookie": f"lang={language}"}):
        for name in ("short", "medium", "long", "full"):
            page = render_template_string("{% for m in moments %}{{ m|datetime_cn(name) }}|{% endfor %}",
                                          moments=moments, name=name)
            expected = "".join(dates.format_datetime(m, name, tzinfo=get_timezone(), locale=get_locale()) + "|"
                               for m in moments)
            assert page == expected, name
        assert render_template_string("{{ m|datetime_cn }}", m=moments[0]) == dates.format_datetime(
            moments[0], "short", tzinfo=get_timezone(), locale=get_locale())


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_a_moment_shown_as_a_date_is_the_day_on_the_community_clock(app, language):
    """date_cn and the short date of a datetime (stocktakes, the echo wall, campaigns keep UTC) read it on the
    community clock: 00:30 in Beijing on 1 January 2027 is still 31 December in UTC."""
    from babel import dates
    from flask_babel import get_locale

    after_midnight = datetime(2026, 12, 31, 16, 30)  # UTC: 00:30 on 1 January 2027 in Beijing
    with app.test_request_context("/", headers={"Cookie": f"lang={language}"}):
        page = render_template_string("{{ m|date_cn('yyyy-MM-dd') }}|{{ m|date_short }}", m=after_midnight)
        assert page == "2027-01-01|" + dates.format_date(date(2027, 1, 1), "medium", locale=get_locale())
