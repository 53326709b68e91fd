"""Every project code the platform shows as an example, and every one the tests feed it as a real code,
passes the platform's own check (a placeholder with a wrong check digit teaches users a wrong code)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.domain.project_code import EXAMPLE_CODE, parse_project_code

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"(?<![0-9-])[0-9]{4}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{6}(?![0-9-])")
# The project-code tests feed invalid codes on purpose.
DELIBERATELY_INVALID = {ROOT / "tests" / "unit" / "test_project_code.py"}


def _codes_in(folder: str, pattern: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / folder).rglob(pattern)):
        if path in DELIBERATELY_INVALID:
            continue
        found += [(f"{path.relative_to(ROOT)}", code) for code in CODE.findall(path.read_text(encoding="utf-8"))]
    return found


SHOWN = _codes_in("app", "*.html") + _codes_in("app", "*.py") + _codes_in("forms", "*.yaml")
FIXTURES = _codes_in("tests", "*.py") + _codes_in("bench", "*.py")


def test_the_scan_finds_the_placeholders():
    assert ("app/web/templates/_form.html", EXAMPLE_CODE) in SHOWN
    assert any(path == "app/web/templates/public/project.html" for path, _ in SHOWN)


@pytest.mark.parametrize(("path", "code"), SHOWN + FIXTURES)
def test_example_code_passes_the_platform_check(path: str, code: str):
    assert parse_project_code(code).code == code, path
