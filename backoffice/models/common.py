"""Pieces shared by every resource: UTC timestamps and the page type."""

from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import DateTime, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field

T = TypeVar("T")


MAX_ID = 2_147_483_647
"""Row ids are 32-bit in PostgreSQL: a larger number cannot name a row, and passing it to the
database driver fails (an overflow) instead of finding nothing."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime that comes back aware on every backend.

    SQLite drops the offset of ``DateTime(timezone=True)``; values are stored in UTC, so a naive
    value read back is UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


# JSON schema for "contains no NUL character" (rather than a pattern for the whole text, which
# test generators cannot satisfy for 100,000-character strings).
NO_NUL: dict[str, Any] = {"not": {"pattern": "\\x00"}}


def documented(**rules: Any) -> dict[str, Any]:
    """``schema_extra`` that writes into a text field's JSON schema (into its string branch when
    the field is optional) rules a validator enforces, with a clearer message than the schema's
    would be."""

    def extra(schema: dict[str, Any]) -> None:
        for branch in schema.get("anyOf", [schema]):
            if branch.get("type") == "string":
                branch.update(rules)

    return {"json_schema_extra": extra}


def reject_nul(value: object) -> object:
    """PostgreSQL cannot store a NUL character in text: refuse it as invalid input here rather
    than fail at the database."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def updated_at_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


def deleted_at_field() -> Any:
    """When the row was moved to the trash (``services.trash``); None while it is in use."""
    return Field(default=None, sa_type=UTCDateTime, nullable=True)


def deleted_by_field() -> Any:
    """Who moved the row to the trash, as the audit log names them."""
    return Field(default=None, max_length=60, nullable=True)


def version_field() -> Any:
    """The row's version (``services.versions``): 1 when created, one more at each change."""
    return Field(default=1, nullable=False, sa_column_kwargs={"server_default": text("1")})


class Page(BaseModel, Generic[T]):
    """One page of a list: the rows, how many match (counted up to a bound), and where the page
    starts."""

    items: list[T]
    total: int = PydanticField(
        description=(
            "How many rows match, counted up to skip + limit + a cap (200 rows past the end "
            "of this page): when total_is_exact is false, at least this many match."
        )
    )
    total_is_exact: bool = PydanticField(
        description=(
            "True when total is the exact number of matching rows; false when counting "
            "stopped at its bound and total is a lower bound."
        )
    )
    skip: int
    limit: int
