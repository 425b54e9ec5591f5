"""NHS numbers: 10 digits, modulus-11 check digit (NHS Data Dictionary).

Synthetic numbers start with 9 (a range never issued to real patients in England: 999 numbers are the
official test range), are a bijection of the person serial (so unique by construction) and always valid.

Layout: 9 | 7 scrambled digits (a bijection of serial mod 10^7) | a free 9th digit | check digit. The free
digit starts at a value derived from the serial and moves on to the next one when the check digit would be
10. Exactly one value of the 9th digit (weight 2) can give 10, so every prefix has at least 9 valid bodies:
serials from 10^7 on (block b = serial // 10^7, b = 1..8) share the prefix of serial mod 10^7 and take the
b-th other valid 9th digit after block 0's. So 90 million serials are addressable, and the numbers of
serials below 10^7 are the ones this module has always made.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

_WEIGHTS = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)
_SPACE = 10_000_000  # one block of serials: the 7 scrambled digits
_MULT = 7_654_321  # odd and not a multiple of 5: a bijection of Z/10^7
_BLOCKS = 9  # valid values of the free 9th digit every prefix has (one of the ten can give check digit 10)
MAX_SERIALS = _BLOCKS * _SPACE  # person serials 0..MAX_SERIALS-1 have an NHS number


def _digits(body9: np.ndarray) -> np.ndarray:
    out = np.empty((body9.size, 9), dtype=np.int64)
    x = body9.copy()
    for i in range(8, -1, -1):
        out[:, i] = x % 10
        x //= 10
    return out


def check_digit(body9: np.ndarray) -> np.ndarray:
    """Modulus-11 check digit of 9-digit bodies; 10 means 'no valid check digit'."""
    r = (_digits(np.asarray(body9, dtype=np.int64)) @ _WEIGHTS) % 11
    c = 11 - r
    return np.where(c == 11, 0, c)


def make_nhs_numbers(serial: np.ndarray, seed: int) -> np.ndarray:
    """Valid, unique NHS numbers (int64) for person serials (0..MAX_SERIALS-1)."""
    serial = np.asarray(serial, dtype=np.int64)
    if serial.size and (serial.min() < 0 or serial.max() >= MAX_SERIALS):
        raise ValueError(f"person serials must be in 0..{MAX_SERIALS - 1:,}: at most {MAX_SERIALS:,} are addressable")
    # both depend on serial mod 10^7 only (10^7 * _MULT = 0 mod 10^7, 7 * 10^7 = 0 mod 10): a serial shares
    # its prefix and starting 9th digit with the serials of the other blocks
    offset = (int(seed) * 2_654_435_761) % _SPACE
    scrambled = (serial * _MULT + offset) % _SPACE  # 7 digits, unique per serial mod 10^7
    free = (serial * 7 + int(seed)) % 10  # the 9th digit: any value, then fixed up below
    body = (9 * _SPACE + scrambled) * 10 + free
    chk = check_digit(body)
    # A check digit of 10 is not allowed: change the 9th digit (weight 2) until the body is valid.
    for _ in range(3):
        bad = chk == 10
        if not bad.any():
            break
        free = np.where(bad, (free + 1) % 10, free)
        body = (9 * _SPACE + scrambled) * 10 + free
        chk = check_digit(body)
    assert not (chk == 10).any()
    high = np.flatnonzero(serial >= _SPACE)
    if high.size:
        # block b >= 1: the b-th valid 9th digit after block 0's, counting on cyclically (at least 8 remain)
        prefix = (9 * _SPACE + scrambled[high]) * 10
        start, block = free[high], serial[high] // _SPACE
        chosen = np.full(high.size, -1, dtype=np.int64)
        seen = np.zeros(high.size, dtype=np.int64)
        for step in range(1, 10):
            digit = (start + step) % 10
            valid = check_digit(prefix + digit) != 10
            seen += valid
            chosen = np.where(valid & (seen == block), digit, chosen)
        assert (chosen >= 0).all()
        body[high] = prefix + chosen
        chk[high] = check_digit(body[high])
    return body * 10 + chk


def is_valid(numbers: Iterable[str | int | None]) -> np.ndarray:
    """True where a string/int is 10 digits with a correct modulus-11 check digit."""
    out = []
    for s in numbers:
        s = "" if s is None else str(s)
        if len(s) != 10 or not s.isdigit():
            out.append(False)
            continue
        body = int(s[:9])
        c = int(check_digit(np.array([body]))[0])
        out.append(c != 10 and c == int(s[9]))
    return np.array(out, dtype=bool)


def invalidate(numbers: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Replace the check digit by a wrong one ((check + shift) mod 10, shift 1..9): always invalid."""
    numbers = np.asarray(numbers, dtype=np.int64)
    return numbers - numbers % 10 + (numbers % 10 + shift) % 10
