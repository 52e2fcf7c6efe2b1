"""HINCRBY on a hash field whose merged counter sum left 64 bits (SEMANTICS "merged value not
representable"): it reads as its exact decimal and the next local HINCRBY is an overflow error,
while an assigned out-of-range value is Redis's "hash value is not an integer"."""

from __future__ import annotations

from tests.unit.test_types_effects import Region

MAX = 9223372036854775807


def test_merged_hash_counter_past_64_bits_then_hincrby_overflows() -> None:
    us, eu = Region("us"), Region("eu")
    assert us("HINCRBY", "h", "n", str(MAX)) == MAX
    assert eu("HINCRBY", "h", "n", str(MAX)) == MAX
    us.receive(eu.sink.batches)
    assert us("HGET", "h", "n") == str(2 * MAX).encode()
    err = us("HINCRBY", "h", "n", "1")
    assert err.message == "ERR increment or decrement would overflow"
    err = us("HINCRBY", "h", "n", "0")
    assert err.message == "ERR increment or decrement would overflow"


def test_assigned_value_past_64_bits_is_not_an_integer() -> None:
    us = Region("us")
    assert us("HSET", "h", "n", str(2 * MAX)) == 1
    assert us("HINCRBY", "h", "n", "1").message == "ERR hash value is not an integer"
