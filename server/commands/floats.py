"""Float increments as Redis computes them (INCRBYFLOAT, HINCRBYFLOAT).

Redis parses with strtold and adds in x87 long double, then prints ``%.17Lf``: 1e20 + 1 stays
1e20 and 12345.678 prints as 12345.67799999999999994. We reproduce the local result exactly,
and ship the *difference* between that result and the exact stored number as the effect's
delta: the counter (assignment + exact sum of contributions) then reads what Redis would
store, and concurrent increments in other regions still add up exactly, in any order.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from crdt.numbers import EXACT, LONG_DOUBLE_MAX, parse_float
from crdt.types.strings import StrValue
from server import errors
from server.resp import Error

# Smallest normal long double: below it strtold reports ERANGE (Redis refuses the input).
LONG_DOUBLE_MIN = Decimal("3.36210314311209350626e-4932")


def long_double(value: Decimal) -> Decimal:
    """``value`` rounded to the nearest x87 long double (64-bit significand, ties to even):
    Redis adds in long double, so 1e20 + 1 is 1e20 there."""
    if not value or not value.is_finite():
        return value
    frac = abs(Fraction(value))
    shift = frac.numerator.bit_length() - frac.denominator.bit_length() - 64
    while frac / _pow2(shift) >= 1 << 64:
        shift += 1
    while frac / _pow2(shift) < 1 << 63:
        shift -= 1
    mantissa = round(frac / _pow2(shift))
    exact = Fraction(mantissa) * _pow2(shift)
    result = EXACT.divide(Decimal(exact.numerator), Decimal(exact.denominator))
    return -result if value < 0 else result


def _pow2(n: int) -> Fraction:
    return Fraction(1 << n) if n >= 0 else Fraction(1, 1 << -n)


def ld_arg(data: bytes) -> Decimal | None:
    """Redis's string2ld: strtold, refusing NaN and out-of-range (ERANGE) inputs; hex floats
    are accepted as strtold accepts them."""
    value = parse_float(data)
    if value is None and data[:1] not in b" \t\r\n\v\f" and b"x" in data.lower():
        try:
            value = Decimal(float.fromhex(data.decode("ascii")))
        except (UnicodeDecodeError, ValueError):
            return None
    if value is None or not value.is_finite():
        return value
    if abs(value) > LONG_DOUBLE_MAX or (value and abs(value) < LONG_DOUBLE_MIN):
        return None
    return long_double(value)


def float_increment(sv: StrValue | None, arg: bytes, not_float: str) -> tuple[Decimal, Decimal]:
    """(delta to ship, new value) for adding ``arg`` to ``sv``; raises Redis's errors."""
    current = ld_arg(sv.value()) if sv is not None else Decimal(0)
    delta = ld_arg(arg)
    if current is None or delta is None:
        raise Error(not_float)
    if not current.is_finite() or not delta.is_finite():
        raise Error(errors.NAN_OR_INF)
    return add_long_double(sv, current, delta)


def add_long_double(sv: StrValue | None, current: Decimal, delta: Decimal) -> tuple[Decimal, Decimal]:
    """(delta to ship, new value): ``current + delta`` as Redis's long double sum, and its
    difference to the exact number ``sv`` stores (``current`` is ``sv``'s value, finite)."""
    new = long_double(EXACT.add(current, delta))
    if abs(new) > LONG_DOUBLE_MAX:
        raise Error(errors.NAN_OR_INF)
    exact = sv.number()[0] if sv is not None else 0
    base = Decimal(exact) if exact is not None else current
    return EXACT.subtract(new, base), new
