"""Print pip constraints that pin every declared floor of pyproject.toml (``name==floor``).

CI installs the package and the test dependencies of the core modules with these constraints
into a second venv, so the oldest versions the project declares are the ones tested:

    python3 .ci/oldest_versions.py > constraints.txt
    pip install -c constraints.txt dist/*.whl lightgbm matplotlib ...

Pinned: the core dependencies and the requirements of the extras named in ``EXTRAS`` (a subset
of an extra when a list of names is given). A requirement without a ``>=`` floor is an error:
every dependency must declare the oldest version it supports.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# extra -> None (all of its requirements) or the names to take from it
EXTRAS: dict[str, list[str] | None] = {
    "lightgbm": None,
    "plot": None,
    "pandas-mapper": None,
    "serve": ["skops"],
    "demo": ["palmerpenguins"],
}
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")


def parse(requirement: str) -> tuple[str, str | None]:
    """``"numpy>=1.26"`` -> ``("numpy", "1.26")``; no floor -> ``(name, None)``."""
    match = REQUIREMENT.match(requirement.split(";")[0])
    if match is None:
        raise ValueError(f"cannot parse requirement {requirement!r}")
    name, _, spec = match.groups()
    floor = re.search(r">=\s*([0-9][^,\s]*)", spec)
    return name.lower(), floor.group(1) if floor else None


def requirements(project: dict) -> list[str]:
    """The requirements whose floors are pinned: core dependencies + the chosen extras."""
    out = list(project["dependencies"])
    for extra, names in EXTRAS.items():
        for req in project["optional-dependencies"][extra]:
            if names is None or parse(req)[0] in names:
                out.append(req)
    return out


def pins(project: dict) -> dict[str, str]:
    """Package name -> floor, for :func:`requirements`; raises on a requirement without one."""
    result = {}
    for req in requirements(project):
        name, floor = parse(req)
        if floor is None:
            if name == "six":  # sklearn-pandas' undeclared dependency: any version
                continue
            raise ValueError(f"{req!r} in pyproject.toml declares no floor (>=)")
        result[name] = floor
    return result


def main() -> int:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    for name, floor in sorted(pins(project).items()):
        print(f"{name}=={floor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
