"""One check's outcome, whichever gate ran it (gate 1, gate 2 or a dbt test); meta.check_results holds one row each.

Kept apart from the Great Expectations suites so that publish and the dbt results reader can use it without
importing GX (about 2.6 s per process).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    feed: str  # the feed (gate 1) or the table, schema.name (gate 2, dbt)
    rule_id: str
    column: str | None
    expectation_type: str
    severity: str  # "block" or "warn"
    threshold: float | None
    passed: bool
    observed_count: int | None
    observed_rate: float | None
    element_count: int | None
    message: str

    @property
    def blocks(self) -> bool:
        return not self.passed and self.severity == "block"
