"""Every rate and effect size of the generator lives in synthetic/parameters.yaml, each leaf as
`{value: ..., source: "..."}`; `param("care.htn_to_target.base")` reads one value. Recalibrating never
means editing code."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

PARAMETERS_FILE = Path(__file__).resolve().parents[1] / "parameters.yaml"


@lru_cache(maxsize=1)
def _tree() -> dict[str, Any]:
    return yaml.safe_load(PARAMETERS_FILE.read_text())


def _node(path: str) -> Any:
    node = _tree()
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"{path}: no such parameter in {PARAMETERS_FILE.name}")
        node = node[part]
    return node


def param(path: str) -> Any:
    """The value of one parameter (a number, a list or a mapping of numbers)."""
    node = _node(path)
    if not (isinstance(node, dict) and "value" in node and "source" in node):
        raise KeyError(f"{path}: a parameter needs a value and a source")
    return node["value"]


def array(path: str) -> NDArray[np.float64]:
    return np.asarray(param(path), dtype=np.float64)


def group(path: str) -> dict[str, Any]:
    """The parameters under one heading, as {name: value}."""
    return {k: param(f"{path}.{k}") for k in _node(path)}


def leaves(node: dict[str, Any] | None = None, prefix: str = "") -> Iterator[tuple[str, Any, str | None]]:
    """(path, value, source) of every parameter, for documentation and the completeness test."""
    node = _tree() if node is None else node
    for k, v in node.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and "value" in v and "source" in v:
            yield path, v["value"], v["source"]
        elif isinstance(v, dict):
            yield from leaves(v, path + ".")
        else:
            yield path, v, None


def exists(path: str) -> bool:
    try:
        _node(path)
        return True
    except KeyError:
        return False
