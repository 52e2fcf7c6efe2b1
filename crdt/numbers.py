"""Redis's number rules, shared by the CRDT values and the command handlers.

* ``parse_int`` is Redis's ``string2ll``: optional '-', no '+', no spaces, no leading zeros,
  within signed 64 bits.
* ``parse_float`` is ``string2ld`` as INCRBYFLOAT uses it, kept exact as a ``Decimal`` so that
  counter sums are the same in every region whatever order they were added in.
* ``format_float`` is ``ld2string(..., LD_STR_HUMAN)``: ``%.17Lf`` with trailing zeros and
  a trailing '.' removed.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, InvalidOperation

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
INT32_MIN = -(1 << 31)  # C int: Redis's counts, indexes and config limits
INT32_MAX = (1 << 31) - 1
# An exact context: counter sums must not round, whatever their order.
EXACT = Context(prec=20000, Emax=100000, Emin=-100000)
_INT_RE = re.compile(rb"-?(0|[1-9][0-9]*)\Z")
# Long double range, the limit past which Redis answers "would produce NaN or Infinity".
LONG_DOUBLE_MAX = Decimal("1.18973149535723176502e+4932")
_QUANTUM = Decimal("1e-17")


def parse_int(data: bytes | bytearray) -> int | None:
    if len(data) > 20 or not _INT_RE.match(data) or data == b"-0":
        return None
    value = int(data)
    if value < INT64_MIN or value > INT64_MAX:
        return None
    return value


def parse_float(data: bytes) -> Decimal | None:
    """A decimal as strtold reads it, or None (Redis: "value is not a valid float").

    Infinities are returned (Redis accepts "inf" and then refuses the result); NaN is not.
    """
    if not data or data[:1].isspace() or data[-1:].isspace() or len(data) >= 5 * 1024:
        return None
    try:
        text = data.decode("ascii")
        if "_" in text:
            return None
        value = Decimal(text)
    except (InvalidOperation, UnicodeDecodeError, ValueError):
        return None
    if value.is_nan():
        return None
    return value


def format_float(value: Decimal) -> bytes:
    text = format(value.quantize(_QUANTUM, context=EXACT), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.encode()


def format_number(value: int | Decimal) -> bytes:
    if type(value) is int:
        return b"%d" % value
    return format_float(value)  # type: ignore[arg-type]
