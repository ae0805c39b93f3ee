"""Which published advisories a build context's resolved requirement set still matches.

``seldon_pkg/data/advisories.tsv`` lists advisories for packages that serving images ship
(package, affected range, first fixed version, ids, severity, what, source). ``resolve`` asks
pip what a requirements file would install (``pip install --dry-run --report``: the full set,
dependencies included, for this Python), and ``matches`` returns the rows whose affected range
holds the resolved version. ``seldon-pkg build`` prints them for every context. The table is
incomplete by nature: no row is not proof of safety.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

TABLE = Path(__file__).resolve().parents[1] / "data" / "advisories.tsv"
SERIOUS = ("high", "critical")


@dataclass(frozen=True)
class Advisory:
    package: str
    affected: str
    first_fixed: str
    ids: str
    severity: str
    what: str
    source: str

    @property
    def serious(self) -> bool:
        return self.severity.split()[0] in SERIOUS


@dataclass(frozen=True)
class Match:
    advisory: Advisory
    installed: str

    def __str__(self) -> str:
        a = self.advisory
        return f"{a.package} {self.installed} ({a.severity}; fixed in {a.first_fixed}): {a.ids}: {a.what}"


def advisories(table: Path = TABLE) -> list[Advisory]:
    lines = [line for line in table.read_text().splitlines() if line and not line.startswith("#")]
    rows = list(csv.reader(lines[1:], delimiter="\t"))
    return [Advisory(*row[:7]) for row in rows if len(row) >= 7]


def matches(resolved: dict[str, str], table: Path = TABLE) -> list[Match]:
    """Rows whose affected range holds the resolved version of their package."""
    found = []
    for advisory in advisories(table):
        version = resolved.get(canonicalize_name(advisory.package))
        if version is not None and Version(version) in SpecifierSet(advisory.affected.replace(" ", "")):
            found.append(Match(advisory, version))
    return found


def resolve(requirements_text: str, constraints: Path | None = None, timeout: float = 300) -> dict[str, str]:
    """``{canonical name: version}`` that pip would install for these requirements (nothing is installed)."""
    with tempfile.TemporaryDirectory() as folder:
        requirements = Path(folder) / "requirements.txt"
        requirements.write_text(requirements_text)
        report = Path(folder) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--disable-pip-version-check",
            "--report",
            str(report),
            "-r",
            str(requirements),
        ]
        if constraints is not None:
            command += ["-c", str(constraints)]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"pip did not resolve the requirements within {timeout:.0f} s") from None
        if result.returncode != 0:
            raise RuntimeError(f"pip could not resolve the requirements:\n{result.stderr[-2000:]}")
        data = json.loads(report.read_text())
    return {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"] for item in data["install"]}


def audit(spec) -> tuple[dict[str, str], list[Match]]:
    """The resolved set of ``spec``'s image (the no-deps pins included) and the rows it matches."""
    from packaging.requirements import Requirement

    from seldon_pkg.build.requirements import constraints_file, no_deps_requirements, requirements_file

    resolved = resolve(requirements_file(spec), constraints_file(spec))
    for pinned in no_deps_requirements(spec):
        requirement = Requirement(pinned)
        resolved[canonicalize_name(requirement.name)] = next(iter(requirement.specifier)).version
    return resolved, matches(resolved)
