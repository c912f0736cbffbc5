"""List filters SQLAdmin lacks (Django's date filter: "today", "past 7 days", ...), and a bad
filter value answered with a 400 instead of being ignored or sent to the database (where
PostgreSQL fails on a number too large for the column: a 500)."""

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqladmin.filters import (
    BooleanFilter,
    OperationColumnFilter,
    get_column_obj,
    get_parameter_name,
    get_title,
)
from sqlalchemy import Select
from starlette.exceptions import HTTPException
from starlette.requests import Request

from backoffice.errors import InvalidInput
from backoffice.models import utcnow
from backoffice.services.resources import field_value

TEXT_OPERATIONS = frozenset({"contains", "starts_with", "ends_with"})
"""Operations that match text: any text is a valid value."""

PERIODS = {
    "today": ("Today", timedelta(days=1)),
    "7d": ("Past 7 days", timedelta(days=7)),
    "30d": ("Past 30 days", timedelta(days=30)),
    "365d": ("Past year", timedelta(days=365)),
}


class RecentDateFilter:
    """Rows whose date column falls within a recent period (UTC); an unknown period is a 400
    (see ``check_filter_values``)."""

    has_operator = False
    template = "sqladmin/filters/lookup_filter.html"

    def __init__(self, column: Any, title: str | None = None) -> None:
        self.column = column
        self.title = title or get_title(column)
        self.parameter_name = get_parameter_name(column)

    async def lookups(
        self, request: Request, model: Any, run_query: Callable[[Select[Any]], Any]
    ) -> list[tuple[str, str]]:
        return [("__all", "Any date"), *((key, label) for key, (label, _) in PERIODS.items())]

    async def get_filtered_query(self, query: Select[Any], value: Any, model: Any) -> Select[Any]:
        period = PERIODS.get(str(value))
        if period is None:
            return query
        now = utcnow()
        start = (
            now.replace(hour=0, minute=0, second=0, microsecond=0)
            if value == "today"
            else now - period[1]
        )
        return query.filter(get_column_obj(self.column, model) >= start)


class ServiceFilter(OperationColumnFilter):
    """SQLAdmin's operation filter on one of a service's ``filter_fields``, the value read as
    the API reads it (``field_value``: the field's type, an integer within the column's range);
    a bad value or operation is a 400."""

    async def get_filtered_query(
        self, query: Select[Any], operation: str, value: Any, model: Any
    ) -> Select[Any]:
        if not value or not operation:
            return query
        column = get_column_obj(self.column, model)
        if operation not in {key for key, _ in self.get_operation_options(column)}:
            raise HTTPException(400, f"{self.title}: unknown operation {operation!r}.")
        if operation in TEXT_OPERATIONS:
            result: Select[Any] = await super().get_filtered_query(query, operation, value, model)
            return result
        try:
            parsed = field_value(model, column.key, str(value).strip())
        except InvalidInput as exc:
            raise HTTPException(400, f"{self.title}: {exc.errors[0].message}.") from None
        if operation == "greater_than":
            return query.filter(column > parsed)
        if operation == "less_than":
            return query.filter(column < parsed)
        return query.filter(column == parsed)


STATIC_LOOKUPS = (BooleanFilter, RecentDateFilter)
"""Filters whose choices are fixed (asking for them reads nothing)."""


async def check_filter_values(request: Request, model: Any, filters: Sequence[Any]) -> None:
    """A value a fixed-choice filter does not offer is a 400 (SQLAdmin would ignore it)."""
    for filter_ in filters:
        if not isinstance(filter_, STATIC_LOOKUPS):
            continue
        value = request.query_params.get(filter_.parameter_name)
        if not value:
            continue
        choices = [key for key, _ in await filter_.lookups(request, model, _no_query)]
        if value not in choices:
            raise HTTPException(400, f"{filter_.title}: choose one of {', '.join(choices)}.")


def _no_query(stmt: Select[Any]) -> Any:
    raise RuntimeError("a fixed-choice filter does not query")
