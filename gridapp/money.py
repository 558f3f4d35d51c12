"""Money (估价 of donated goods) is kept in whole fen (分), as integers.

Two rules, in one place:
- yuan become fen rounding half up, as Chinese bookkeeping does (四舍五入): ¥0.125 is 13 fen, never
  the half-to-even 12 that ``Decimal``'s default context gives;
- fen are shown from the integer alone (never through a float, which loses fen on large sums).
"""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from numbers import Integral

HUNDRED = Decimal(100)


def yuan_to_fen(value) -> int | None:
    """Yuan (a Decimal, an int or a decimal string) as whole fen, rounded half up (四舍五入).

    ``Decimal("0.125")`` -> 13, ``Decimal("-0.125")`` -> -13 (half away from zero). A float is read
    through its shortest text, so ``0.115`` -> 12 as written. None or not a number -> None.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        if not amount.is_finite():
            return None
        return int((amount * HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        return None


def fen_to_yuan(fen) -> str:
    """Fen as yuan with two decimals and thousands separators, from integers only: 123456 -> "1,234.56",
    -5 -> "-0.05", None -> "0.00". Raises TypeError for a float or a fractional amount (a bug upstream)."""
    if fen is None:
        fen = 0
    if isinstance(fen, Decimal) and fen.is_finite() and fen == fen.to_integral_value():
        fen = int(fen)  # PostgreSQL returns SUM(bigint) as numeric
    if not isinstance(fen, Integral) or isinstance(fen, bool):
        raise TypeError(f"money is formatted from whole fen (an integer), not {fen!r}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"
