"""What the database can store, read from the table's columns: checked before a value reaches
the database, so a host model needs no validator for it and every door answers 422, not 500.

PostgreSQL refuses a NUL character in text and an integer past its column's range (SQLite takes
both and would keep what PostgreSQL refuses), and neither checks a string's length the same way
(SQLite not at all). The schemas usually say so already; these checks hold when they do not.
"""

from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, SmallInteger, String, TypeDecorator
from sqlalchemy.sql.schema import Column, Table

from backoffice.errors import FieldError

INTEGER_RANGES: tuple[tuple[type[Integer], int], ...] = (
    (SmallInteger, 15),
    (BigInteger, 63),
    (Integer, 31),
)
"""Checked in this order: ``BigInteger`` and ``SmallInteger`` are kinds of ``Integer``."""


def column_errors(table: Table, values: dict[str, Any]) -> list[FieldError]:
    """What in ``values`` (column name → value) the columns of ``table`` could not store."""
    errors = []
    for name, value in values.items():
        column = table.columns.get(name)
        if column is None or value is None:
            continue
        message = value_error(column, value)
        if message is not None:
            errors.append(FieldError(name, message))
    return errors


def value_error(column: Column[Any], value: Any) -> str | None:
    """Why ``column`` cannot store ``value``, or None."""
    column_type = column.type
    while isinstance(column_type, TypeDecorator):  # SQLModel's AutoString, UTCDateTime, ...
        column_type = column_type.impl_instance
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and isinstance(column_type, Integer):
        low, high = int_bounds(column)
        if not low <= value <= high:
            return f"must be between {low} and {high}"
        return None
    if isinstance(value, str) and isinstance(column_type, String):
        if "\x00" in value:
            return "must not contain NUL characters"
        length = column_type.length
        if length is not None and len(value) > length:
            return f"must be at most {length} characters long"
        return None
    if isinstance(column_type, JSON) and _has_nul(value):
        return "must not contain NUL characters"
    return None


def int_bounds(column: Any) -> tuple[int, int]:
    """The values an integer column holds in every supported database (PostgreSQL's
    ``integer`` is 32-bit): a number outside cannot match a row, and sent to the driver it
    fails instead of matching nothing."""
    column_type = getattr(column, "type", None)
    while isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    bits = next((b for kind, b in INTEGER_RANGES if isinstance(column_type, kind)), 31)
    return -(2**bits), 2**bits - 1


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False
