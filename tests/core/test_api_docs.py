"""docs/api.md, the OpenAPI schema and the code describe the same operations and error codes."""

import re
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
_OPERATION = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`?\s]*)")


def _normalise(path: str) -> str:
    path = path.removeprefix("/api/v1")
    return re.sub(r"\{[^}]+\}", "{}", path)


def _documented() -> set[tuple[str, str]]:
    operations = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        for method, path in _OPERATION.findall(line.split("|")[1]):
            operations.add((method, _normalise(path)))
    # "`POST /users/{id}/ban`, `POST /users/{id}/unban`" share one row.
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `POST /users"):
            operations.update((m, _normalise(p)) for m, p in _OPERATION.findall(line))
    return operations


@pytest.fixture(scope="module")
def schema_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), _normalise(path))
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_every_api_operation_is_documented(schema_operations):
    assert schema_operations - _documented() == set()


def test_every_documented_operation_exists(schema_operations):
    assert _documented() - schema_operations == set()


def _documented_codes() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## Errors") : text.index("\n## ", text.index("## Errors") + 1)]
    codes = set()
    for row in table.splitlines():
        if re.match(r"^\| \d{3} \|", row):
            codes.update(re.findall(r"`([a-z_]+)`", row.split("|")[2]))
    return codes


def _codes_in_the_code() -> set[str]:
    """Every problem `code` the service can answer: domain errors, DRF's mapping, handlers."""
    pattern = re.compile(r'code\s*=\s*"([a-z_]+)"|\(exceptions\.\w+, "([a-z_]+)"')
    codes = set()
    for source in (ROOT / "lottery").rglob("*.py"):
        for match in pattern.finditer(source.read_text(encoding="utf-8")):
            codes.add(match.group(1) or match.group(2))
    return codes


def test_the_error_table_lists_exactly_the_codes_the_service_answers():
    in_code = _codes_in_the_code()
    assert len(in_code) > 20
    assert _documented_codes() == in_code


def test_every_code_an_endpoint_row_names_is_in_the_error_table():
    named = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `") and re.search(r"\b[1-5]\d\d\b", line):
            named.update(re.findall(r"\b[1-5]\d\d `([a-z_]+)`", line))
            named.update(re.findall(r" / `([a-z_]+)`", line))
    assert named, "no endpoint row names an error code"
    assert named <= _documented_codes()
