"""docs/threat-model.md names, for each threat, the test that performs the attack: every
file and test it names exists, so the table cannot drift from the suite."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "docs" / "threat-model.md"
_REFERENCE = re.compile(r"`((?:tests/[\w/]+\.py)?)(?:::(\w+))?(?:\[[^\]]*\])?`")


def _references() -> list[tuple[str, str | None]]:
    found = []
    for row in MODEL.read_text(encoding="utf-8").splitlines():
        if not row.startswith("|"):
            continue
        current = None
        for path, name in _REFERENCE.findall(row.split("|")[-2]):
            current = path or current
            if current:
                found.append((current, name or None))
    return found


def test_every_threat_row_names_a_test():
    rows = [r for r in MODEL.read_text(encoding="utf-8").splitlines() if re.match(r"^\| [STRIDE] \|", r)]
    assert len(rows) >= 30
    for row in rows:
        assert "tests/" in row.split("|")[-2], row


def test_every_test_the_threat_model_names_exists():
    references = _references()
    assert len(references) >= 40
    missing = []
    for path, name in references:
        source = ROOT / path
        if not source.is_file():
            missing.append(path)
        elif name and not re.search(rf"^(?:async )?def {name}\b", source.read_text(encoding="utf-8"), re.M):
            missing.append(f"{path}::{name}")
    assert not missing, missing
