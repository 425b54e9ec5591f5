"""NHS numbers: 10 digits, modulus-11 check digit (NHS Data Dictionary).

Synthetic numbers start with 9 (a range never issued to real patients in England: 999 numbers are the
official test range), are a bijection of the person serial (so unique by construction) and always valid.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

_WEIGHTS = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)
_SPACE = 10_000_000  # persons addressable: 9 + 7 scrambled digits + 1 adjustable digit + check digit
_MULT = 7_654_321  # odd and not a multiple of 5: a bijection of Z/10^7


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
    """Valid, unique NHS numbers (int64) for person serials 0..n-1."""
    serial = np.asarray(serial, dtype=np.int64)
    if serial.size and serial.max() >= _SPACE:
        raise ValueError(f"at most {_SPACE:,} synthetic people are addressable")
    offset = (int(seed) * 2_654_435_761) % _SPACE
    scrambled = (serial * _MULT + offset) % _SPACE  # 7 digits, unique per serial
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
