"""The synthetic world against C&P: `phm calibrate` at 100,000 people must put every figure of
synthetic/calibration_targets.csv inside its tolerance; plus the report's own arithmetic, the parameters
file's sources and the generator's place beside (not inside) the pipeline."""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phm.cli import app
from synthetic.calibration import load_targets, within
from synthetic.core.parameters import leaves

ROOT = Path(__file__).resolve().parents[2]
CALIBRATION_PATIENTS = 100_000


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibration")
    result = CliRunner().invoke(app, ["calibrate", "--patients", str(CALIBRATION_PATIENTS), "--out", str(out)])
    data = json.loads((out / "calibration.json").read_text())
    return result, data, out


@pytest.mark.slow
def test_every_calibration_figure_is_within_tolerance(report):
    result, data, _ = report
    outside = [
        f"{r['figure']}: {r['value']} (target {r['target']}, {r['tolerance']}) {r['verdict']}"
        for r in data["rows"]
        if r["verdict"] != "ok"
    ]
    assert not outside, "\n".join(outside)
    assert result.exit_code == 0


@pytest.mark.slow
def test_report_has_one_row_per_target_in_markdown_and_json(report):
    _, data, out = report
    figures = load_targets()["figure"].to_list()
    assert [r["figure"] for r in data["rows"]] == figures
    assert data["patients"] == CALIBRATION_PATIENTS and dt.date.fromisoformat(data["extract_date"])
    markdown = (out / "calibration.md").read_text()
    assert all(f"| {f} |" in markdown for f in figures)


@pytest.mark.parametrize(
    "value,target,tolerance,ok",
    [
        (58.8, "56.8", "2 pts", True),
        (58.9, "56.8", "2 pts", False),
        (8.85, "7.7", "15%", True),
        (8.9, "7.7", "15%", False),
        (30_000, "30000-85000", "range", True),
        (29_999, "30000-85000", "range", False),
        (-3.0, "-6", "factor 2", True),
        (-2.9, "-6", "factor 2", False),
        (4.0, "-6", "factor 2", False),
        (-12.5, "-6", "factor 2", False),
        (1.41, "1.8", "ratio factor 2", True),
        (1.39, "1.8", "ratio factor 2", False),
        (0.9, "1.8", "ratio factor 2", False),
    ],
)
def test_tolerances(value, target, tolerance, ok):
    assert within(value, target, tolerance) is ok


def test_targets_have_a_source_and_a_known_tolerance():
    targets = load_targets()
    assert targets.columns == ["figure", "target", "tolerance", "source"]
    for row in targets.iter_rows(named=True):
        assert row["source"] and row["figure"]
        within(0.5, "0-1" if row["tolerance"] == "range" else "1", row["tolerance"])  # raises on an unknown kind


def test_every_parameter_has_a_value_and_a_source():
    missing = [path for path, value, source in leaves() if not source or value is None]
    assert not missing, f"parameters without a value and a source: {missing}"


def _imports(path: Path, package: str) -> set[str]:
    """Modules of `package` imported anywhere in the file (module level or inside functions)."""
    tree = ast.parse(path.read_text())
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m == package or m.startswith(package + ".")}


def test_the_pipeline_never_imports_the_generator():
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("assets", "orchestration", "expectations", "dbt_project", "seeds")
        for p in (ROOT / folder).rglob("*.py")
        if _imports(p, "synthetic")
    ]
    assert not offenders


def test_generator_modules_have_no_import_cycles():
    files = {".".join(p.relative_to(ROOT).with_suffix("").parts): p for p in (ROOT / "synthetic").rglob("*.py")}
    modules = {m.removesuffix(".__init__") for m in files}
    graph = {
        m.removesuffix(".__init__"): {i for i in _imports(p, "synthetic") if i in modules}
        - {m.removesuffix(".__init__")}
        for m, p in files.items()
    }
    package_inits = {m for m in modules if (ROOT / m.replace(".", "/") / "__init__.py").exists()}
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for n in graph.get(m, ()):
            if n in package_inits:
                continue  # importing a package only runs its __init__
            if state.get(n) == 1:
                raise AssertionError(" -> ".join([*stack, m, n]))
            if n not in state:
                visit(n, [*stack, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])
