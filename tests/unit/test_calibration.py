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


# Float literals strictly between 0 and 1 that may stay in the generator's code: mechanics, not rates.
MECHANICS_FLOATS = {
    0.5: "centring a uniform draw, u - 0.5",
    0.997: "a uniform capped below 1 before log1p(-u)",
    0.999: "a uniform capped below 1 before log1p(-u)",
    1e-6: "numerical guard",
    1e-9: "numerical guard",
    1e-12: "numerical guard",
}
MECHANICS_FLOATS_BY_FILE = {
    "synthetic/feeds/drop.py": {0.001: "the CLI's default defect rate", 0.2: "the defect rate's upper bound"},
    "synthetic/feeds/gp.py": {0.1: "QRISK is shown to one decimal, clipped at 0.1%"},
    "synthetic/model/population.py": {0.3: "floor on the baseline deaths the mortality calibration solves for"},
}


def test_no_rate_or_share_is_a_literal_in_the_generator_code():
    """Every probability, share or effect size below 1 lives in parameters.yaml: a float literal in
    (0, 1) in synthetic/model or synthetic/feeds is only allowed as the mechanics listed above. (Integer
    literals are not checked: ages, day counts and ids are too often definitions to tell apart.)"""
    found = []
    for path in sorted((ROOT / "synthetic").glob("[mf]*/*.py")):
        rel = str(path.relative_to(ROOT))
        allowed = MECHANICS_FLOATS | MECHANICS_FLOATS_BY_FILE.get(rel, {})
        for node in ast.walk(ast.parse(path.read_text())):
            literal = isinstance(node, ast.Constant) and type(node.value) is float and 0 < node.value < 1
            if literal and node.value not in allowed:
                found.append(f"{rel}:{node.lineno}: {node.value}")
    assert not found, f"move these to synthetic/parameters.yaml with a source: {found}"


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
