"""Bit-field helpers in the spirit of linux/bitfield.h and linux/bits.h."""


def bit(n: int) -> int:
    """BIT(n)."""
    return 1 << n


def genmask(high: int, low: int) -> int:
    """GENMASK(high, low): bits high..low set."""
    return ((1 << (high - low + 1)) - 1) << low


def field_get(mask: int, value: int) -> int:
    """FIELD_GET(mask, value)."""
    return (value & mask) >> _lowest_set(mask)


def field_prep(mask: int, value: int) -> int:
    """FIELD_PREP(mask, value)."""
    return (value << _lowest_set(mask)) & mask


def _lowest_set(mask: int) -> int:
    return (mask & -mask).bit_length() - 1
