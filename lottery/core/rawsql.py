"""Hand-written SQL on the few hot paths where the ORM's query building costs more than the
query (docs/performance.md): values converted and models built as the ORM would."""

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


Convert = Callable[[Any], Any]


@functools.cache
def _converter(model: type[Model], name: str, vendor: str) -> Convert | None:
    """The backend's conversion of one column's raw value as the ORM applies it, or None
    where there is none (most columns on PostgreSQL; SQLite returns datetimes as text)."""
    column = model._meta.get_field(name).get_col(model._meta.db_table)  # type: ignore[union-attr]
    steps = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
    if not steps:
        return None

    def convert(value: Any) -> Any:
        for step in steps:
            value = step(value, column, connection)
        return value

    return convert


def from_db(model: type[Model], name: str, raw: Any) -> Any:
    """One column's raw value as the ORM would give it."""
    convert = _converter(model, name, connection.vendor)
    return raw if convert is None else convert(raw)


@functools.cache
def concrete_attnames(model: type[Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)


@functools.cache
def _row_converters(model: type[Model], vendor: str) -> tuple[tuple[int, Convert], ...]:
    found = ((i, _converter(model, name, vendor)) for i, name in enumerate(concrete_attnames(model)))
    return tuple((i, convert) for i, convert in found if convert is not None)


def columns(model: type[Model], alias: str) -> str:
    """`alias."col", …` for every concrete field of `model`, in `concrete_attnames` order."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def model_from_row(model: type[M], row: Sequence[Any]) -> M:
    """A model instance, as loaded by the ORM, from the values of `columns(model, …)`."""
    values = list(row)
    for i, convert in _row_converters(model, connection.vendor):
        values[i] = convert(values[i])
    return model.from_db(DEFAULT_DB_ALIAS, concrete_attnames(model), values)


def adapt_moment(value: Any) -> Any:
    """A datetime as the backend stores it (SQLite: UTC text, like the ORM writes it)."""
    return connection.ops.adapt_datetimefield_value(value)
