"""The generator beyond 10 million person serials: NHS numbers and event ids of larger serials, and shards
(several processes' worlds forming one population). Serials below 10^7 must keep today's numbers and ids,
which every existing drop, calibration and golden figure is made of: the functions as they were before the
extension are copied here and compared."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import polars as pl
import pytest

from synthetic import generate_drop
from synthetic.core.nhs_number import MAX_SERIALS, check_digit, make_nhs_numbers
from synthetic.core.randomness import shard_seed
from synthetic.feeds.community import CSDS_TEAMS, MHSDS_SERVICES, contact_seq_limit
from synthetic.feeds.drop import FEED_ORDER, max_serials
from synthetic.feeds.hospital import _ids, id_blocks
from synthetic.model.population import universe_size
from tests.helpers.golden import ID_COLUMNS

BLOCK = 10**7
INT64_MAX = int(np.iinfo(np.int64).max)
CSDS_LIMIT = contact_seq_limit(CSDS_TEAMS)
MHSDS_LIMIT = contact_seq_limit(MHSDS_SERVICES)
# (kind, seq_digits, seq_limit) of every _ids call in synthetic/feeds
LAYOUTS = [(k, 3, None) for k in range(1, 10)] + [(3, 4, None), (4, 4, None), (7, 6, CSDS_LIMIT), (8, 6, MHSDS_LIMIT)]


# ---------------------------------------------------------------------------------------------------
# the functions as they were (10 million serials at most)
def _old_make_nhs_numbers(serial: np.ndarray, seed: int) -> np.ndarray:
    space, mult = 10_000_000, 7_654_321
    serial = np.asarray(serial, dtype=np.int64)
    assert serial.max() < space
    offset = (int(seed) * 2_654_435_761) % space
    scrambled = (serial * mult + offset) % space
    free = (serial * 7 + int(seed)) % 10
    body = (9 * space + scrambled) * 10 + free
    chk = check_digit(body)
    for _ in range(3):
        bad = chk == 10
        if not bad.any():
            break
        free = np.where(bad, (free + 1) % 10, free)
        body = (9 * space + scrambled) * 10 + free
        chk = check_digit(body)
    return body * 10 + chk


def _old_ids(kind, person, day, seq, seq_digits: int = 3) -> np.ndarray:
    kind = np.asarray(kind, dtype=np.int64)
    width = 10**seq_digits
    seq = np.asarray(seq, dtype=np.int64)
    return (
        (kind * 10_000_000 + np.asarray(person, dtype=np.int64)) * 100_000 + np.asarray(day, dtype=np.int64)
    ) * width + seq


def _valid(numbers: np.ndarray) -> np.ndarray:
    numbers = np.asarray(numbers, dtype=np.int64)
    return (numbers // 10**9 == 9) & (check_digit(numbers // 10) == numbers % 10)


# ---------------------------------------------------------------------------------------------------
# NHS numbers
@pytest.mark.parametrize("seed", [42, 3, 7, 2**40 + 5])
def test_nhs_numbers_below_ten_million_are_unchanged(seed):
    rng = np.random.default_rng(seed % 1000)
    serials = np.concatenate([np.arange(200_000), rng.integers(0, BLOCK, 300_000), [BLOCK - 1]])
    assert np.array_equal(make_nhs_numbers(serials, seed), _old_make_nhs_numbers(serials, seed))


def test_nhs_numbers_hard_values():
    """Values the generator made before the extension (seed 42 and 7)."""
    serials = np.array([0, 1, 2, 9_999_999, 1_234_567, 5_000_000])
    assert make_nhs_numbers(serials, 42).tolist() == [
        9630196220,
        9395628391,
        9161060461,
        9864764152,
        9841596911,
        9130196221,
    ]
    assert make_nhs_numbers(serials, 7).tolist() == [
        9105032776,
        9870464858,
        9635896913,
        9339600606,
        9316433460,
        9605032775,
    ]


def test_every_prefix_has_nine_valid_bodies():
    """Validity of a body depends on its first 8 digits only through their weighted sum mod 11; for every
    residue at least 9 of the 10 values of the 9th digit (weight 2) give a check digit other than 10."""
    for residue in range(11):
        valid = [(residue + 2 * f) % 11 != 1 for f in range(10)]
        assert sum(valid) >= 9, residue
    # and on real prefixes 9xxxxxxx (a sample; the full 10^7 was checked once, min 9, max 10)
    prefixes = 90_000_000 + np.random.default_rng(1).integers(0, BLOCK, 200_000)
    counts = sum((check_digit(prefixes * 10 + f) != 10).astype(int) for f in range(10))
    assert counts.min() >= 9
    assert MAX_SERIALS == 9 * BLOCK


@pytest.mark.parametrize("seed", [42, 11])
def test_nhs_numbers_are_valid_and_unique_across_blocks(seed):
    """Two serials can only share an NHS number if they share serial mod 10^7 (the 7 scrambled digits are a
    bijection of it), so every block of each sampled remainder is compared: a collision cannot hide."""
    rng = np.random.default_rng(seed)
    remainders = np.unique(
        np.concatenate([rng.integers(0, BLOCK, 80_000), np.arange(2_000), BLOCK - 1 - np.arange(2_000)])
    )
    serials = (np.arange(MAX_SERIALS // BLOCK)[:, None] * BLOCK + remainders[None, :]).ravel()
    numbers = make_nhs_numbers(serials, seed)
    assert _valid(numbers).all()
    assert np.unique(numbers).size == numbers.size
    # block edges and the last serial, in one call with serials below 10^7 (those stay as they were)
    edges = np.concatenate([b * BLOCK + np.arange(-50, 50) for b in range(1, 9)] + [MAX_SERIALS - 1 - np.arange(50)])
    mixed = np.concatenate([np.arange(1_000), edges])
    out = make_nhs_numbers(mixed, seed)
    assert _valid(out).all() and np.unique(out).size == out.size
    assert np.array_equal(out[:1_000], _old_make_nhs_numbers(np.arange(1_000), seed))


def test_nhs_numbers_out_of_range():
    with pytest.raises(ValueError, match="addressable"):
        make_nhs_numbers(np.array([MAX_SERIALS]), 42)
    with pytest.raises(ValueError):
        make_nhs_numbers(np.array([-1]), 42)


# ---------------------------------------------------------------------------------------------------
# event ids
def _sample(rng, size: int, seq_digits: int, seq_limit: int | None, day_hi: int = 100_000):
    limit = 10**seq_digits if seq_limit is None else seq_limit
    day_hi = day_hi if seq_limit is None else min(day_hi, 50_000)
    day = np.concatenate([rng.integers(0, day_hi, size - 4), [0, day_hi - 1, 16_801, 22_644]])
    seq = np.concatenate([rng.integers(0, limit, size - 4), [limit - 1, 0, limit - 1, 0]])
    return day, seq


@pytest.mark.parametrize(("kind", "seq_digits", "seq_limit"), LAYOUTS)
def test_ids_below_ten_million_are_unchanged(kind, seq_digits, seq_limit):
    rng = np.random.default_rng(kind * 10 + seq_digits)
    person = np.concatenate([rng.integers(0, BLOCK, 50_000), [0, BLOCK - 1]])
    day, seq = _sample(rng, person.size, seq_digits, seq_limit)
    new = _ids(np.full(person.size, kind), person, day, seq, seq_digits, seq_limit)
    assert np.array_equal(new, _old_ids(kind, person, day, seq, seq_digits))


def test_ids_hard_values():
    """Values the generator made before the extension."""
    got = _ids([1, 9, 3, 7, 8], [0, 9_999_999, 123, 4567, 89], [20000, 16000, 22644, 1, 99999], [0, 999, 99, 999, 5])
    assert got.tolist() == [1000000020000000, 9999999916000999, 3000012322644099, 7000456700001999, 8000008999999005]
    assert int(_ids(7, 9_999_999, 22644, 119_999, 6, CSDS_LIMIT)) == 7999999922644119999
    assert int(_ids(4, 9_999_999, 22644, 9999, 4)) == 49999999226449999


@pytest.mark.parametrize(
    ("kinds", "seq_digits", "seq_limit"),
    [((1, 9), 3, None), ((3, 4), 4, None), ((7, 8), 6, CSDS_LIMIT), ((7, 8), 6, MHSDS_LIMIT)],
)
def test_ids_are_unique_across_blocks(kinds, seq_digits, seq_limit):
    """Every block up to the layout's last, for the same (kind, serial mod 10^7, day, seq) tuples and their
    edges: each tuple must give as many distinct ids as there are (kind, block) pairs, none wrapped."""
    largest = max(kinds)
    blocks = id_blocks(seq_digits, seq_limit, largest)
    assert blocks * BLOCK >= MAX_SERIALS
    blocks = min(blocks, 40)  # the 3- and 4-digit layouts hold hundreds of blocks; the first 40 and the last
    rng = np.random.default_rng(seq_digits)
    n = 2_000
    r = np.concatenate([rng.integers(0, BLOCK, n - 2), [0, BLOCK - 1]])
    day, seq = _sample(rng, n, seq_digits, seq_limit)
    last = id_blocks(seq_digits, seq_limit, largest) - 1
    ids = []
    for kind in kinds:
        for b in sorted({*range(blocks), last}):
            ids.append(_ids(np.full(n, kind), b * BLOCK + r, day, seq, seq_digits, seq_limit))
    ids = np.concatenate(ids)
    assert (ids >= 0).all()
    assert np.unique(ids).size == ids.size
    # no wrap at the very top: the largest id equals its exact (Python int) value
    width = 10**seq_digits
    if seq_limit is None:
        exact = (((largest + 10 * last) * BLOCK + BLOCK - 1) * 100_000 + 99_999) * width + width - 1
        got = _ids(largest, last * BLOCK + BLOCK - 1, 99_999, width - 1, seq_digits)
    else:
        slots = width // seq_limit
        day_top = 49_999 + 50_000 * (last // slots)
        exact = ((largest * BLOCK + BLOCK - 1) * 100_000 + day_top) * width + seq_limit * (last % slots) + seq_limit - 1
        got = _ids(largest, last * BLOCK + BLOCK - 1, 49_999, seq_limit - 1, seq_digits, seq_limit)
    assert exact <= INT64_MAX
    assert int(got) == exact


def test_ids_of_the_contact_layouts_on_a_full_grid():
    """6-digit sequences: the block goes in the sequence and day fields. Every combination of edge values."""
    for limit in (CSDS_LIMIT, MHSDS_LIMIT):
        blocks = id_blocks(6, limit, 8)
        r, day, seq, b, kind = np.meshgrid(
            [0, 1, BLOCK - 1],
            [0, 1, 22_644, 49_999],
            [0, 1, limit - 1],
            np.arange(blocks),
            [7, 8],
            indexing="ij",
        )
        ids = _ids(kind.ravel(), (b * BLOCK + r).ravel(), day.ravel(), seq.ravel(), 6, limit)
        assert np.unique(ids).size == ids.size


def test_ids_overflow_is_an_error():
    # beyond the last block of each layout
    for seq_digits, seq_limit, kind in [(3, None, 9), (4, None, 9), (6, CSDS_LIMIT, 8), (6, MHSDS_LIMIT, 8)]:
        top = id_blocks(seq_digits, seq_limit, kind) * BLOCK
        _ids(kind, top - 1, 22_000, 0, seq_digits, seq_limit)
        with pytest.raises(OverflowError, match="serial"):
            _ids(kind, top, 22_000, 0, seq_digits, seq_limit)
    # 6-digit sequences without a bound: no room for any block above 0
    with pytest.raises(OverflowError):
        _ids(7, BLOCK, 22_000, 0, 6)
    with pytest.raises(OverflowError):
        _ids(9, 0, 22_000, 0, 6)  # kind 9 already overflowed int64 there
    # fields
    with pytest.raises(OverflowError, match="sequence"):
        _ids(7, 0, 22_000, CSDS_LIMIT, 6, CSDS_LIMIT)
    with pytest.raises(OverflowError, match="day"):
        _ids(7, 0, 50_000, 0, 6, CSDS_LIMIT)
    with pytest.raises(OverflowError, match="day"):
        _ids(1, 0, 100_000, 0)
    with pytest.raises(ValueError):
        _ids(10, 0, 22_000, 0)


def test_an_england_sized_population_is_addressable():
    """About 60M registered people, with everyone who died, left, was born or arrived (universe_size)."""
    assert max_serials() == MAX_SERIALS
    assert max_serials() >= universe_size(60_000_000)


# ---------------------------------------------------------------------------------------------------
# shards
E = dt.date(2024, 3, 31)
SEED = 7
PATIENTS = 300


def _files(drop) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(drop.iterdir())}


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    base = tmp_path_factory.mktemp("shards")
    size = universe_size(PATIENTS)
    high = -(-BLOCK // size)  # the first shard whose serials are all >= 10^7
    top = max_serials() // size - 1  # the last shard there is room for
    out: dict = {"size": size, "high": high, "top": top, "manifest": {}, "dir": {}, "frames": {}}
    generate_drop(PATIENTS, SEED, E, base / "plain", file_format="csv")
    out["plain"] = base / "plain" / E.isoformat()
    for k in (0, 1, high, top):
        out["manifest"][k] = generate_drop(PATIENTS, SEED, E, base / f"shard{k}", file_format="csv", shard=k)
        drop = out["dir"][k] = base / f"shard{k}" / E.isoformat()
        out["frames"][k] = {feed: pl.read_csv(drop / f"{feed}.csv", infer_schema=False) for feed in FEED_ORDER}
    return out


def test_shard_zero_is_the_plain_drop(shards):
    assert _files(shards["dir"][0]) == _files(shards["plain"])
    assert "shard" not in shards["manifest"][0]["generator"]
    assert shard_seed(SEED, 0) == SEED


def test_shards_have_their_own_people_numbers_and_ids(shards):
    ks = (0, 1, shards["high"], shards["top"])
    generator = {k: shards["manifest"][k]["generator"] for k in ks}
    assert generator[ks[-1]]["first_serial"] + shards["size"] <= MAX_SERIALS
    assert generator[ks[2]]["first_serial"] >= BLOCK
    assert generator[1] == {**generator[0], "shard": 1, "first_serial": shards["size"], "people": shards["size"]}
    frames = shards["frames"]
    numbers, ids = {}, {}
    for k in ks:
        nhs = pl.concat([frames[k][f]["nhs_number"] for f in FEED_ORDER]).drop_nulls().unique()
        # defects make a few numbers invalid on purpose; the people's own numbers are all valid
        people = frames[k]["gp_patients"]["nhs_number"].drop_nulls().cast(pl.Int64).to_numpy()
        assert _valid(people).mean() > 0.98
        numbers[k] = set(nhs.to_list())
        ids[k] = {f: set(frames[k][f][c].to_list()) for f, c in ID_COLUMNS.items()}
    for i, a in enumerate(ks):
        for b in ks[i + 1 :]:
            assert not numbers[a] & numbers[b], (a, b)
            for f in ID_COLUMNS:
                assert not ids[a][f] & ids[b][f], (a, b, f)
    # different people, not copies with other numbers
    dob = {k: frames[k]["gp_patients"]["date_of_birth"].sort().to_list() for k in ks}
    assert dob[0] != dob[1] and dob[1] != dob[ks[2]]


def test_a_shard_beyond_the_serials_is_refused(shards, tmp_path):
    with pytest.raises(ValueError, match="serials"):
        generate_drop(PATIENTS, SEED, E, tmp_path, shard=shards["top"] + 1)
    with pytest.raises(ValueError):
        generate_drop(PATIENTS, SEED, E, tmp_path, shard=-1)
