"""docs/api.md and the OpenAPI schema describe the same operations."""

import re
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
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
