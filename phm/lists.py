"""Target lists as a neighbourhood team reads them: one query layer shared by `phm lists` and `phm serve`.

Every query is parameterised and scoped to one neighbourhood; filters and sort orders are whitelisted here, so no
caller's text ever becomes SQL.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, fields
from typing import TextIO

import duckdb

# What a row shows, in order. person_id is the pseudonym; the NHS number is added only for identifiable exports.
LIST_COLUMNS = [
    "priority_rank",
    "practice_code",
    "person_id",
    "new_since_last_refresh",
    "risk_tier",
    "risk_score",
    "rag",
    "is_core20",
    "age_band",
    "ethnicity_group",
    "reasons",
    "recommended_action",
    "type1_opt_out",
]

SORT_ORDERS = {
    "priority": "priority_rank",
    "new_first": "new_since_last_refresh DESC, priority_rank",
    "risk_score": "risk_score DESC NULLS LAST, priority_rank",
    "practice": "practice_code, priority_rank",
    "age_band": "age_band, priority_rank",
}
SORT_LABELS = {
    "priority": "Priority (the list's own order)",
    "new_first": "New since last refresh first",
    "risk_score": "Risk score, highest first",
    "practice": "Practice",
    "age_band": "Age band",
}

RAG_VALUES = ("Red", "Amber", "Green")
TIER_VALUES = ("Very high", "High", "Medium", "Low")


def slugify(name: str) -> str:
    """A neighbourhood's name as it appears in a web address: 'Wisbech Neighbourhood' -> 'wisbech-neighbourhood'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class UnknownName(ValueError):
    """A neighbourhood or list that the warehouse does not hold; the message lists what it does hold."""


@dataclass(frozen=True)
class ListFilters:
    practice: str | None = None
    rag: str | None = None
    tier: str | None = None
    core20: bool | None = None
    ethnicity: str | None = None
    age_band: str | None = None
    new_only: bool = False

    def sql(self, alias: str) -> tuple[str, list]:
        """' AND ...' clauses on marts.target_lists (as `alias`) and their parameters."""
        clauses: list[str] = []
        params: list[str | bool] = []
        for value, column in (
            (self.practice, "practice_code"),
            (self.rag, "rag"),
            (self.tier, "risk_tier"),
            (self.ethnicity, "ethnicity_group"),
            (self.age_band, "age_band"),
        ):
            if value:
                clauses.append(f"{alias}.{column} = ?")
                params.append(value)
        if self.core20 is not None:
            clauses.append(f"coalesce({alias}.is_core20, false) = ?")
            params.append(self.core20)
        if self.new_only:
            clauses.append(f"{alias}.new_since_last_refresh")
        return "".join(f" AND {c}" for c in clauses), params

    def active(self) -> dict:
        """The filters that narrow the list (what an audit record and a page heading show)."""
        chosen = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) not in (None, "")}
        if not self.new_only:
            chosen.pop("new_only")  # core20=False is a choice (not Core20); new_only=False is the default
        return chosen


def neighbourhoods(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT neighbourhood FROM marts.person WHERE neighbourhood IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]


def list_catalogue(con: duckdb.DuckDBPyConnection, neighbourhood: str | None = None) -> list[dict]:
    """Every defined list in its defined order, with what it is for, its action and (for a neighbourhood) its size,
    new and left since the last refresh. Lists with nobody on them are kept: an empty list is news too."""
    params: list = []
    movement = "0 AS list_size, 0 AS new_since_last, 0 AS left_since_last"
    join = ""
    if neighbourhood is not None:
        movement = (
            "coalesce(sum(s.list_size), 0) AS list_size, coalesce(sum(s.new_since_last), 0) AS new_since_last, "
            "coalesce(sum(s.left_since_last), 0) AS left_since_last"
        )
        join = "LEFT JOIN marts.target_list_summary s ON s.list_name = d.list_name AND s.neighbourhood = ?"
        params.append(neighbourhood)
    rows = con.execute(
        f"""
        SELECT d.list_name, d.list_kind, d.source_id, i.name, d.purpose, d.recommended_action, {movement}
        FROM reference.target_list_definitions d
        LEFT JOIN reference.indicator_definitions i ON d.list_kind = 'indicator_gap' AND i.indicator_id = d.source_id
        {join}
        GROUP BY d.list_name, d.list_kind, d.source_id, i.name, d.purpose, d.recommended_action, d.sort_order
        ORDER BY d.sort_order""",
        params,
    ).fetchall()
    keys = (
        "list_name",
        "list_kind",
        "source_id",
        "indicator_name",
        "purpose",
        "recommended_action",
        "list_size",
        "new_since_last",
        "left_since_last",
    )
    catalogue = [dict(zip(keys, r, strict=False)) for r in rows]
    for entry in catalogue:
        entry["title"], entry["section"] = list_title(entry), LIST_SECTIONS.get(entry["list_kind"], "Other lists")
        if entry["list_kind"] == "indicator_gap" and entry["indicator_name"]:
            entry["purpose"] = f'Counted against the Core20PLUS5 indicator "{entry["indicator_name"]}"'
    return catalogue


LIST_SECTIONS = {
    "your_healthier_futures": "Who to invite",
    "high_intensity_users": "Who to invite",
    "waiting_well": "Who to invite",
    "pathway_red": "Condition and care pathways",
    "pathway_amber": "Condition and care pathways",
    "indicator_gap": "Core20PLUS5 gaps",
}
# Words a clinician expects capitalised or spelt out in a list's title.
TITLE_WORDS = {
    "copd": "COPD",
    "af": "AF",
    "ckd": "CKD",
    "chd": "CHD",
    "smi": "SMI",
    "hba1c": "HbA1c",
    "cyp": "CYP",
    "llt": "lipid-lowering therapy",
    "htn": "hypertension",
    "a&e": "A&E",
}


def list_title(entry: dict) -> str:
    """'copd_red' -> 'COPD: Red', 'gap_smi_health_check' -> 'Gap: SMI physical health check (name)', ..."""

    def words(text: str) -> str:
        return " ".join(TITLE_WORDS.get(w, w) for w in text.split("_"))

    kind = entry["list_kind"]
    if kind in ("pathway_red", "pathway_amber"):
        pathway = words(entry["source_id"] or entry["list_name"].rsplit("_", 1)[0])
        return f"{pathway[0].upper()}{pathway[1:]}: {'Red' if kind == 'pathway_red' else 'Amber'}"
    if kind == "indicator_gap":
        return f"Gap: {entry['indicator_name'] or words(entry['source_id'] or entry['list_name'])}"
    if entry["list_name"] == "your_healthier_futures":
        return "Your Healthier Futures"
    text = words(entry["list_name"])
    return text[0].upper() + text[1:]


def check_names(con: duckdb.DuckDBPyConnection, neighbourhood: str, list_name: str | None = None) -> None:
    known = neighbourhoods(con)
    if neighbourhood not in known:
        raise UnknownName(f"no neighbourhood called {neighbourhood!r}; the warehouse holds: {', '.join(known)}")
    if list_name is not None:
        lists = [entry["list_name"] for entry in list_catalogue(con)]
        if list_name not in lists:
            raise UnknownName(f"no list called {list_name!r}; the lists are: {', '.join(lists)}")


def movement(con: duckdb.DuckDBPyConnection, neighbourhood: str, list_name: str, practice: str | None = None) -> dict:
    """Size, new and left since the last refresh (marts.target_list_summary), for the neighbourhood or a practice."""
    sql = """SELECT coalesce(sum(list_size), 0), coalesce(sum(new_since_last), 0), coalesce(sum(left_since_last), 0)
             FROM marts.target_list_summary WHERE neighbourhood = ? AND list_name = ?"""
    params: list = [neighbourhood, list_name]
    if practice:
        sql += " AND practice_code = ?"
        params.append(practice)
    size, new, left = con.execute(sql, params).fetchall()[0]
    return {"list_size": int(size), "new_since_last": int(new), "left_since_last": int(left)}


def practice_names(con: duckdb.DuckDBPyConnection, neighbourhood: str) -> dict[str, str]:
    """Practice code -> name, so a page can say "D81008 North Brink Practice" rather than a bare code."""
    return dict(
        con.execute(
            "SELECT practice_code, practice_name FROM reference.practice_map WHERE neighbourhood = ?", [neighbourhood]
        ).fetchall()
    )


def filter_options(con: duckdb.DuckDBPyConnection, neighbourhood: str, list_name: str) -> dict[str, list]:
    """The values each filter can take on this list in this neighbourhood (so a lead never picks an empty one)."""
    options = {}
    for key, column in (("practice", "practice_code"), ("ethnicity", "ethnicity_group"), ("age_band", "age_band")):
        options[key] = [
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT {column} FROM marts.target_lists WHERE neighbourhood = ? AND list_name = ? "
                f"AND {column} IS NOT NULL ORDER BY 1",
                [neighbourhood, list_name],
            ).fetchall()
        ]
    options["rag"] = list(RAG_VALUES)
    options["tier"] = list(TIER_VALUES)
    return options


def _select(neighbourhood: str, list_name: str, filters: ListFilters, identifiable: bool) -> tuple[str, list]:
    where, params = filters.sql("t")
    columns = [f"t.{c}" for c in LIST_COLUMNS]
    identity = ""
    if identifiable:
        # Direct care only: the NHS number from the identity file (open_reader(identity=True)), on the pseudonym.
        columns.insert(LIST_COLUMNS.index("person_id"), "i.nhs_number")
        identity = "LEFT JOIN identity.restricted.person_identity i ON i.person_id = t.person_id"
    sql = (
        f"SELECT {', '.join(columns)} FROM marts.target_lists t {identity} "
        f"WHERE t.neighbourhood = ? AND t.list_name = ?{where}"
    )
    return sql, [neighbourhood, list_name, *params]


def count_rows(con: duckdb.DuckDBPyConnection, neighbourhood: str, list_name: str, filters: ListFilters) -> int:
    sql, params = _select(neighbourhood, list_name, filters, identifiable=False)
    return int(con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0][0])


def fetch_rows(
    con: duckdb.DuckDBPyConnection,
    neighbourhood: str,
    list_name: str,
    filters: ListFilters,
    sort: str = "priority",
    limit: int | None = None,
    offset: int = 0,
    identifiable: bool = False,
) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of one list in one neighbourhood, filtered, sorted and paged."""
    if sort not in SORT_ORDERS:
        raise ValueError(f"unknown sort {sort!r}; choose one of {', '.join(SORT_ORDERS)}")
    sql, params = _select(neighbourhood, list_name, filters, identifiable)
    sql = f"SELECT * FROM ({sql}) ORDER BY {SORT_ORDERS[sort]}"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [int(limit), int(offset)]
    cur = con.execute(sql, params)
    rows = cur.fetchall()
    return [d[0] for d in cur.description], rows


def write_csv(handle: TextIO, columns: list[str], rows: list[tuple]) -> None:
    """One header line, then the rows; booleans as True/False and nulls as empty cells."""
    writer = csv.writer(handle)
    writer.writerow(columns)
    writer.writerows(rows)
