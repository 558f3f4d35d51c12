"""Whole numbers from the outside world: URL parts, query strings and form fields, parsed in one place.

Every id column is a 32-bit INTEGER on PostgreSQL, and SQLite refuses anything past 2^63 with an
OverflowError, so a number that does not fit is not an id of anything: the URL converter answers 404,
and the helpers below give the default (or None) instead of handing a huge number to the database.
Only ASCII digits count: ``"²".isdigit()`` is true, but ``int("²")`` fails.
"""
import re
import unicodedata

from flask import request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest INTEGER on PostgreSQL; no id of ours is larger
MAX_PAGE = 10_000  # far beyond any list we page through
_WHOLE = re.compile(r"[0-9]{1,10}")
_TYPED_WHOLE = re.compile(r"([0-9]{1,30})\s*[\u4e00-\u9fff]{0,2}")  # "2", "2个", "3 瓶"


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: 1 to 10 ASCII digits and at most MAX_ID, else the route does not match (404).

    Registered app-wide under the name ``int``, so a route written ``<int:item_id>`` gets it.
    """

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits=0, min=0, max=MAX_ID, signed=False):  # noqa: A002  werkzeug's names
        super().__init__(map, fixed_digits, min, max, False)


def register_converters(app) -> None:
    """Before any route is added: ``<int:…>`` and ``<id:…>`` are the bounded converter."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["id"] = IdConverter


def parse_int(value, *, low: int = 0, high: int = MAX_ID, default=None):
    """``value`` (a str from a query or form, or an int) as an int in ``low..high``; ``default`` otherwise."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        number = value
    else:
        text = (value or "").strip() if isinstance(value, str) else ""
        if not _WHOLE.fullmatch(text):
            return default
        number = int(text)
    return number if low <= number <= high else default


def typed_whole_number(value: str | None) -> int | None:
    """A whole number a person typed, as they type it on a phone or at the counter: full-width digits
    (``２``) fold to ASCII and a unit after it (``2个``, ``3 瓶``) is read past; None when there is no
    whole number to read (``1.5``, ``两``), so the caller can say so rather than take it as 0."""
    match = _TYPED_WHOLE.fullmatch(unicodedata.normalize("NFKC", value or "").strip())
    return int(match.group(1)) if match else None


def parse_id(value):
    """An id typed into a form or a query (``volunteer_id``, ``sponsor``…): a positive int that fits, or None."""
    return parse_int(value, low=1)


def page_number(args=None, name: str = "page") -> int:
    """The ``?page=`` of a paged list: 1 to MAX_PAGE, 1 for anything else (a page past the end is empty)."""
    args = request.args if args is None else args
    return parse_int(args.get(name), low=1, high=MAX_PAGE, default=1)
