"""Fail unless the whole package has 80 %+ line coverage and each domain service module and
the fairness module 90 %+ (DEVELOPERS.md)."""

import json
import subprocess
import sys
from pathlib import Path

TOTAL_MIN = 80.0
CORE_MIN = 90.0


def is_core(path: str) -> bool:
    name = Path(path).name
    return name in {"services.py", "fairness.py"} or (
        Path(path).parent.name == "services" and name.endswith(".py")
    )


def main() -> int:
    subprocess.run([sys.executable, "-m", "coverage", "json", "-q", "-o", "coverage.json"], check=True)
    report = json.loads(Path("coverage.json").read_text())
    failures = []
    total = report["totals"]["percent_covered"]
    if total < TOTAL_MIN:
        failures.append(f"package: {total:.1f} % < {TOTAL_MIN} %")
    for path, data in sorted(report["files"].items()):
        pct = data["summary"]["percent_covered"]
        if is_core(path) and pct < CORE_MIN:
            failures.append(f"{path}: {pct:.1f} % < {CORE_MIN} %")
    print(f"coverage: package {total:.1f} % (gate {TOTAL_MIN} %), services and fairness gate {CORE_MIN} %")
    for failure in failures:
        print(f"FAIL coverage {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
