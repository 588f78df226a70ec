"""A fresh clone holds everything it refers to: no link or docstring points outside it."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Markdown links and images: [text](target) and <img src="target">.
_MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HTML_SRC = re.compile(r"""<(?:img|a)\b[^>]*?(?:src|href)=["']([^"']+)["']""")
# Documents that exist only on the developers' machines, never in a clone.
_OUTSIDE_DOCS = re.compile(r"\.\./shared|\b(?:DESIGN|FAIRNESS|API|STYLE|CLARIFICATIONS)\.md\b")
_TEXT_SUFFIXES = {".py", ".js", ".html", ".txt", ".toml", ".yaml", ".yml", ".cfg", ".ini", ".md"}


def _tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


def _markdown_files() -> list[Path]:
    return [p for p in _tracked_files() if p.suffix == ".md"]


def _anchors(markdown: str) -> set[str]:
    """GitHub-style heading anchors of a Markdown document."""
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def _links(markdown: str) -> list[str]:
    # Code blocks hold examples, not links.
    prose = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    return _MD_LINK.findall(prose) + _HTML_SRC.findall(prose)


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_links_resolve_inside_the_repository(path: Path) -> None:
    problems = []
    for target in _links(path.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("//"):
            continue  # an absolute URL (http:, https:, mailto:)
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: leaves the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif (
            anchor
            and resolved.suffix == ".md"
            and anchor not in _anchors(resolved.read_text(encoding="utf-8"))
        ):
            problems.append(f"{target}: no heading #{anchor}")
    assert not problems, f"{path.relative_to(ROOT)}: " + "; ".join(problems)


def test_no_file_refers_to_documents_outside_the_repository() -> None:
    offenders = []
    for path in _tracked_files():
        if path.suffix not in _TEXT_SUFFIXES or path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if _OUTSIDE_DOCS.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders)


def test_the_specifications_a_verifier_needs_ship_with_the_code() -> None:
    for name in ("docs/fairness.md", "docs/api.md", "docs/architecture.md", "docs/threat-model.md"):
        assert (ROOT / name).is_file(), name
    fairness = (ROOT / "docs/fairness.md").read_text(encoding="utf-8")
    # The exact byte strings a third-party verifier must reproduce.
    for needle in (
        'b"lottery-draw-v1|commit|"',
        'b"lottery-draw-v1|"',
        "(2**256 // n) * n",
        "fairness-vectors.json",
    ):
        assert needle in fairness, needle


def _readme_settings() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Settings") : readme.index("\n## ", readme.index("## Settings") + 1)]
    names = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1]))
    return names


def test_env_example_lists_every_setting_the_readme_lists() -> None:
    readme = _readme_settings()
    assert len(readme) > 25
    example = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    # LOTTERY_RATE_* stands for the five rates, each listed in .env.example.
    missing = {name for name in readme - example if not name.endswith("_")}
    assert not missing, f"in README's settings table but not in .env.example: {sorted(missing)}"
