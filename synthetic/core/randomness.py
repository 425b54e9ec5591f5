"""Deterministic randomness for the synthetic source systems.

Two kinds of randomness, both a pure function of the generator seed and an absolute key, never of the
extract date or of which rows happen to be in a drop (that is what keeps two drops consistent):

* ``stream_rng(seed, name, *keys)``: a numpy Generator for a whole vector draw, e.g. one calendar year
  of admissions over the whole synthetic universe, keyed by (seed, stream name, year).
* ``Keyed``: counter-based hashing (splitmix64) of (seed, stream, person serial, event index), for
  per-event values whose index is absolute (the k-th BP reading since 1970): the same reading gets the
  same value in every drop that contains it.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11), np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_TO_UNIT = 2.0**-53


def name_id(name: str) -> int:
    """Stable 32-bit id of a stream name (crc32, not Python's salted hash)."""
    return zlib.crc32(name.encode("utf-8"))


def stream_rng(seed: int, name: str, *keys: int) -> np.random.Generator:
    """A PCG64 generator keyed by (seed, stream name, keys...)."""
    entropy = [int(seed) & 0xFFFFFFFF, (int(seed) >> 32) & 0xFFFFFFFF, name_id(name)]
    entropy += [int(k) & 0xFFFFFFFF for k in keys]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def shard_seed(seed: int, shard: int) -> int:
    """The seed every draw of shard `shard` of the world of `seed` is keyed by: the seed itself for shard 0
    (so shard 0 is the unsharded world), else a 63-bit hash of (seed, shard), so each shard has its own people."""
    if shard < 0:
        raise ValueError("shard must be >= 0")
    if shard == 0:
        return int(seed)
    with np.errstate(over="ignore"):
        h = _mix(np.array([int(seed) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
        h = _mix(h ^ np.uint64(name_id("shard")) ^ (np.uint64(shard) << _S32))
    return int(h[0] >> np.uint64(1))


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x + _GOLDEN
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def _u64(a: npt.ArrayLike) -> NDArray[np.uint64]:
    return np.atleast_1d(np.asarray(a)).astype(np.int64, copy=False).view(np.uint64)


class Keyed:
    """Counter-based random numbers for one named stream: f(seed, stream, key1, key2, ...)."""

    def __init__(self, seed: int, name: str) -> None:
        with np.errstate(over="ignore"):
            base = _mix(np.array([int(seed) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
            self._base = _mix(base ^ np.uint64(name_id(name)))[0]

    def bits(self, *keys: npt.ArrayLike) -> NDArray[np.uint64]:
        """64 random bits per key tuple. Keys are folded in pairs (a << 32 | b, both < 2^31 in
        magnitude) so a (person, index) key costs one mixing round."""
        with np.errstate(over="ignore"):
            h = None
            for i in range(0, len(keys), 2):
                k = _u64(keys[i])
                if i + 1 < len(keys):
                    k = (k << _S32) ^ (_u64(keys[i + 1]) & _LOW32)
                h = _mix((self._base if h is None else h) ^ k)
            assert h is not None, "bits() needs at least one key"
            return h

    def uniform(self, *keys: npt.ArrayLike) -> NDArray[np.float64]:
        """Uniform [0, 1) per key tuple (keys broadcast)."""
        return (self.bits(*keys) >> _S11).astype(np.float64) * _TO_UNIT

    def normal(self, *keys: npt.ArrayLike) -> NDArray[np.float64]:
        """Approximately standard normal per key tuple: the sum of the four 16-bit uniforms of one hash,
        centred and scaled (Irwin-Hall; bounded at +-3.5 sd, which suits measurement noise)."""
        h = self.bits(*keys)
        m = np.uint64(0xFFFF)
        total = (h & m).astype(np.float64) + ((h >> np.uint64(16)) & m) + ((h >> _S32) & m) + (h >> np.uint64(48))
        return (total / 65536.0 - 2.0) * np.sqrt(3.0)

    def uniform_pair(self, *keys: npt.ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Two uniforms (32-bit resolution) per key tuple from a single hash."""
        h = self.bits(*keys)
        return (h >> _S32).astype(np.float64) * 2.0**-32, (h & _LOW32).astype(np.float64) * 2.0**-32

    def uniforms(self, n: int, *keys: npt.ArrayLike) -> list[NDArray[np.float64]]:
        """n independent uniforms per key tuple from one hash (cheaper than n full hashes)."""
        h = self.bits(*keys)
        out = []
        with np.errstate(over="ignore"):
            for j in range(n):
                out.append((_mix(h ^ np.uint64(j + 11)) >> _S11).astype(np.float64) * _TO_UNIT)
        return out


def poisson_from_uniform(lam: np.ndarray, u: np.ndarray, kmax: int = 12) -> np.ndarray:
    """Inverse-CDF Poisson counts from given uniforms (vectorised, lam small to moderate)."""
    lam = np.asarray(lam, dtype=np.float64)
    p = np.exp(-lam)
    cdf = p.copy()
    k = np.zeros(lam.shape, dtype=np.int32)
    for i in range(1, kmax + 1):
        more = u >= cdf
        if not more.any():
            break
        k += more
        p = p * lam / i
        cdf = cdf + p
    return k
