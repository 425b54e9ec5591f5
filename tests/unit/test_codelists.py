"""Codelists as files: every file the concept map names is there, non-empty, has the code column the map says,
and is byte-for-byte the file recorded in seeds/reference_manifest.csv (sha256, rows). No dbt needed: these run
in milliseconds and say which file is wrong before a build would fail on it.

The dbt side checks the same map at run time: int_reference__concept_codes fails to compile when
codelist_seed_names() (dbt_project/macros/clinical/concepts.sql) and the map disagree, and its tests fail when a
file contributes no codes or a concept a model uses has none.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
CODELISTS = SEEDS / "codelists"
CONCEPT_MAP = CODELISTS / "codelist_concepts.csv"
MANIFEST = SEEDS / "reference_manifest.csv"
SEED_LIST_MACRO = REPO / "dbt_project" / "macros" / "clinical" / "concepts.sql"

CODE_SYSTEMS = {"snomedct", "dmd", "icd10"}
ROLES = {"diagnosis", "resolved", "observation", "procedure", "social", "medication", "hospital"}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


CONCEPT_ROWS = _read_csv(CONCEPT_MAP)
FILES = sorted({row["file"] for row in CONCEPT_ROWS})
MANIFEST_ROWS = {row["file"]: row for row in _read_csv(MANIFEST)}


def test_concept_map_is_well_formed():
    assert CONCEPT_ROWS, "codelist_concepts.csv is empty"
    problems = []
    for n, row in enumerate(CONCEPT_ROWS, start=2):
        if not re.fullmatch(r"[a-z0-9_]+", row["concept"] or ""):
            problems.append(f"line {n}: concept {row['concept']!r} is not snake_case")
        if row["code_system"] not in CODE_SYSTEMS:
            problems.append(f"line {n}: code_system {row['code_system']!r} not in {sorted(CODE_SYSTEMS)}")
        if row["role"] not in ROLES:
            problems.append(f"line {n}: role {row['role']!r} not in {sorted(ROLES)}")
    pairs = [(r["concept"], r["file"]) for r in CONCEPT_ROWS]
    problems += [f"concept x file repeated: {p}" for p in {p for p in pairs if pairs.count(p) > 1}]
    code_columns = {}
    for row in CONCEPT_ROWS:
        code_columns.setdefault(row["file"], set()).add(row["code_column"])
    problems += [f"{f}: several code columns {sorted(c)}" for f, c in code_columns.items() if len(c) > 1]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", FILES)
def test_codelist_file_present_non_empty_and_as_recorded(name):
    path = CODELISTS / f"{name}.csv"
    assert path.is_file(), f"{path.relative_to(REPO)} is named in codelist_concepts.csv but missing"
    rows = _read_csv(path)
    assert rows, f"{path.relative_to(REPO)} has no data rows"
    code_column = next(r["code_column"] for r in CONCEPT_ROWS if r["file"] == name)
    assert code_column in rows[0], f"{name}: no column {code_column!r} (header: {list(rows[0])})"
    codes = [(r[code_column] or "").strip() for r in rows]
    assert all(codes), f"{name}: {sum(1 for c in codes if not c)} rows with an empty {code_column}"

    entry = MANIFEST_ROWS.get(f"codelists/{name}.csv")
    assert entry is not None, f"codelists/{name}.csv has no row in seeds/reference_manifest.csv"
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    assert actual == entry["sha256"], (
        f"{name}.csv differs from the version recorded in reference_manifest.csv "
        f"(sha256 {actual[:12]}... vs {entry['sha256'][:12]}...): re-import it with seeds/import_reference.py"
    )
    assert len(rows) == int(entry["rows"]), f"{name}: {len(rows)} rows, manifest says {entry['rows']}"


def test_dbt_seed_list_matches_the_concept_map():
    # dbt needs each codelist seed's ref at parse time, so int_reference__concept_codes loops over a list kept in
    # codelist_seed_names(); it must name exactly the files of the map.
    macro = SEED_LIST_MACRO.read_text()
    body = macro.split("macro codelist_seed_names()", 1)[1].split("endmacro", 1)[0]
    listed = re.findall(r'"([^"]+)"', body)
    assert len(listed) == len(set(listed)), "codelist_seed_names() repeats a file"
    assert set(listed) == set(FILES), (
        f"only in codelist_concepts.csv: {sorted(set(FILES) - set(listed))}; "
        f"only in codelist_seed_names(): {sorted(set(listed) - set(FILES))}"
    )


def test_every_codelist_file_is_mapped():
    # A CSV dropped into seeds/codelists/ but not in the map would load as a seed and never be used.
    on_disk = {p.stem for p in CODELISTS.glob("*.csv")} - {"codelist_concepts"}
    assert on_disk == set(FILES), f"not in codelist_concepts.csv: {sorted(on_disk - set(FILES))}"
