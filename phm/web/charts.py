"""Core20PLUS5 indicator charts for one neighbourhood, as Vega-Lite specs built with Altair.

The page renders the specs in the browser with a vendored vega-embed (phm/web/static/vendor), so nothing is fetched
from the internet. Suppressed cells (small numbers) have no value: they are drawn as the word "suppressed", never as
a zero-length bar.
"""

from __future__ import annotations

import altair as alt
import duckdb

# The breakdowns a lead compares, in the order they read them, with the labels the page shows.
BREAKDOWNS = {
    "imd_quintile": "IMD quintile (1 = most deprived)",
    "ethnicity_group": "Ethnicity group",
    "core20": "Core20 (most deprived 20% of areas) vs the rest",
}
ROUNDING_CAVEAT = (
    "Counts are rounded to the nearest 5 and values below 8 are suppressed to protect privacy, so "
    "rounded parts need not add up to the total."
)


def indicator_catalogue(con: duckdb.DuckDBPyConnection, neighbourhood: str) -> list[dict]:
    """Each indicator with its name, direction, ambition, the neighbourhood's overall value, and how many of the
    charted cells are not suppressed (the page opens on the indicator with the most to show)."""
    rows = con.execute(
        f"""
        SELECT i.indicator_id, any_value(d.name), any_value(i.domain), any_value(d.direction),
               any_value(i.value_unit), any_value(i.national_ambition),
               any_value(CASE WHEN i.breakdown = 'all' THEN i.value END),
               bool_or(CASE WHEN i.breakdown = 'all' THEN i.suppressed END),
               count(*) FILTER (WHERE NOT i.suppressed AND i.breakdown IN ({", ".join("?" * len(BREAKDOWNS))}))
        FROM marts.core20plus5_indicators i
        LEFT JOIN reference.indicator_definitions d ON d.indicator_id = i.indicator_id
        WHERE i.geography_level = 'neighbourhood' AND i.geography_code = ?
        GROUP BY i.indicator_id ORDER BY any_value(i.domain), i.indicator_id""",
        [*BREAKDOWNS, neighbourhood],
    ).fetchall()
    keys = (
        "indicator_id",
        "name",
        "domain",
        "direction",
        "value_unit",
        "national_ambition",
        "overall_value",
        "overall_suppressed",
        "cells_shown",
    )
    return [dict(zip(keys, r, strict=False)) for r in rows]


def indicator_cells(con: duckdb.DuckDBPyConnection, neighbourhood: str, indicator_id: str) -> list[dict]:
    cur = con.execute(
        """
        SELECT breakdown, breakdown_value, numerator, denominator, value, suppressed, value_unit, national_ambition
        FROM marts.core20plus5_indicators
        WHERE geography_level = 'neighbourhood' AND geography_code = ? AND indicator_id = ?
        ORDER BY breakdown, breakdown_value""",
        [neighbourhood, indicator_id],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=False)) for r in cur.fetchall()]


def breakdown_chart(cells: list[dict], breakdown: str, title: str) -> dict | None:
    """Horizontal bars of the value per group, the national ambition as a dashed line, suppressed groups labelled."""
    rows = [
        dict(
            c,
            value=None if c["suppressed"] else c["value"],
            label="suppressed" if c["suppressed"] else f"{c['value']:.1f}" if c["value"] is not None else "no data",
            breakdown_value=str(c["breakdown_value"]),
        )
        for c in cells
        if c["breakdown"] == breakdown
    ]
    if not rows:
        return None
    unit = rows[0]["value_unit"] or "value"
    ambition = rows[0]["national_ambition"]
    data = alt.Data(values=rows)
    # An explicit order: otherwise the groups with bars come first and suppressed ones drop to the bottom.
    y = alt.Y("breakdown_value:N", title=None, sort=[r["breakdown_value"] for r in rows])
    bars = (
        alt.Chart(data)
        .mark_bar(color="#005eb8")
        .encode(
            x=alt.X("value:Q", title=unit),
            y=y,
            tooltip=[
                alt.Tooltip("breakdown_value:N", title="group"),
                alt.Tooltip("value:Q", title=unit, format=".1f"),
                alt.Tooltip("numerator:Q", title="numerator (rounded)"),
                alt.Tooltip("denominator:Q", title="denominator (rounded)"),
            ],
        )
    )
    labels = (
        alt.Chart(data).mark_text(align="left", dx=4, color="#212b32").encode(x=alt.X("value:Q"), y=y, text="label:N")
    )
    # Suppressed rows have no value: place their label at the axis start, in grey italics.
    suppressed = (
        alt.Chart(data)
        .transform_filter("datum.value === null")
        .mark_text(align="left", dx=4, color="#768692", fontStyle="italic")
        .encode(x=alt.datum(0), y=y, text="label:N")
    )
    layers = [bars, labels, suppressed]
    if ambition is not None:
        target = alt.Chart(alt.Data(values=[{"ambition": ambition, "text": f"ambition {ambition:g}"}]))
        layers.append(
            target.mark_rule(color="#d5281b", strokeDash=[6, 4], size=2).encode(
                x="ambition:Q", tooltip=[alt.Tooltip("ambition:Q", title="national ambition")]
            )
        )
        layers.append(
            target.mark_text(color="#d5281b", align="left", dx=3, y=-6, fontWeight="bold").encode(
                x="ambition:Q", text="text:N"
            )
        )
    chart = alt.layer(*layers).properties(title=title, width=420, height=alt.Step(26))
    return chart.to_dict()
