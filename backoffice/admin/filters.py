"""List filters SQLAdmin lacks (Django's date filter: "today", "past 7 days", ...), and a bad
filter value answered with a 400 instead of being ignored or sent to the database (where
PostgreSQL fails on a number too large for the column: a 500).

A service's ``filter_fields`` get a filter by column type (``service_filters``): an enum its
choices, a boolean yes / no, a foreign key "is empty / is not empty" or one related row (searched
as the user types, shown by its label), a number or a date a range (from / to), text SQLAdmin's
operations (``ServiceFilter``)."""

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqladmin.filters import (
    BooleanFilter,
    OperationColumnFilter,
    get_column_obj,
    get_parameter_name,
    get_title,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy import Select
from sqlalchemy import inspect as sa_inspect
from starlette.exceptions import HTTPException
from starlette.requests import Request

from backoffice.admin.auth import admin_caller
from backoffice.errors import InvalidInput
from backoffice.models import utcnow
from backoffice.services.resources import field_value

if TYPE_CHECKING:
    from backoffice.office import BackOffice

TEXT_OPERATIONS = frozenset({"contains", "starts_with", "ends_with"})
"""Operations that match text: any text is a valid value."""

PERIODS = {
    "today": ("Today", timedelta(days=1)),
    "7d": ("Past 7 days", timedelta(days=7)),
    "30d": ("Past 30 days", timedelta(days=30)),
    "365d": ("Past year", timedelta(days=365)),
}


class LookupFilter:
    """A filter offering a fixed list of choices (SQLAdmin's lookup template): a value not
    among them is a 400 (see ``check_filter_values``)."""

    has_operator = False
    template = "sqladmin/filters/lookup_filter.html"

    def __init__(self, column: Any, title: str | None = None) -> None:
        self.column = column
        self.title = title or get_title(column)
        self.parameter_name = get_parameter_name(column)

    async def lookups(
        self, request: Request, model: Any, run_query: Callable[[Select[Any]], Any]
    ) -> list[tuple[str, str]]:
        """The choices, as (value, label)."""
        raise NotImplementedError


class RecentDateFilter(LookupFilter):
    """Rows whose date column falls within a recent period (UTC)."""

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


class ChoiceFilter(LookupFilter):
    """An enum column: one of its values (a lookup list); another value is a 400."""

    async def lookups(
        self, request: Request, model: Any, run_query: Callable[[Select[Any]], Any]
    ) -> list[tuple[str, str]]:
        column = get_column_obj(self.column, model)
        return [("__all", "All"), *((v, v.replace("_", " ")) for v in _enum_values(column))]

    async def get_filtered_query(self, query: Select[Any], value: Any, model: Any) -> Select[Any]:
        if value == "__all":
            return query
        column = get_column_obj(self.column, model)
        return query.filter(column == field_value(model, column.key, str(value)))


class RangeFilter:
    """One end of a range on a number or date column: ``{name}__gte`` (from) or ``{name}__lte``
    (to), each read as the API reads the field; the "from" end draws the form of both. A date
    alone as the "to" end of a date-time column takes in that whole day."""

    has_operator = False

    def __init__(self, column: Any, end: str, title: str | None = None) -> None:
        self.column = column
        self.end = end
        self.title = title or get_title(column)
        self.name = get_parameter_name(column)
        self.parameter_name = f"{self.name}__{end}"
        self.template = (
            "backoffice/filters/range_filter.html" if end == "gte" else "backoffice/empty.html"
        )

    def input_type(self, model: Any) -> str:
        python_type = _python_type(get_column_obj(self.column, model))
        return "date" if python_type in (date, datetime) else "number"

    async def get_filtered_query(self, query: Select[Any], value: Any, model: Any) -> Select[Any]:
        column = get_column_obj(self.column, model)
        text = str(value).strip()
        parsed = _parsed(self.title, model, column.key, text)
        if self.end == "gte":
            return query.filter(column >= parsed)
        if isinstance(parsed, datetime) and _DATE_ONLY.fullmatch(text):
            return query.filter(column < parsed + timedelta(days=1))
        return query.filter(column <= parsed)


class RelationFilter:
    """A foreign key: "is empty", "is not empty", or one related row by its key. The chosen
    row is named by its label if the caller may see it (through the related service)."""

    has_operator = False
    template = "backoffice/filters/relation_filter.html"
    EMPTY, NOT_EMPTY = "__empty", "__not_empty"

    def __init__(self, column: Any, relation: str, office: "BackOffice", title: str = "") -> None:
        self.column = column
        self.relation = relation
        self.office = office
        self.title = title or relation.replace("_", " ").capitalize()
        self.parameter_name = get_parameter_name(column)

    def choices_url(self, request: Request, identity: str) -> str:
        url = request.url_for("admin:relation_choices", identity=identity, field=self.relation)
        return str(url)

    async def chosen_label(self, request: Request, model: Any) -> str:
        from backoffice.admin.relations import rows_by_keys  # relations imports this module

        value = request.query_params.get(self.parameter_name, "")
        if value in ("", self.EMPTY, self.NOT_EMPTY):
            return ""
        target = sa_inspect(model).relationships[self.relation].mapper.class_
        found = await rows_by_keys(self.office, target, admin_caller(request), [value])
        return found[0][1] if found else f"#{value}"

    async def get_filtered_query(self, query: Select[Any], value: Any, model: Any) -> Select[Any]:
        column = get_column_obj(self.column, model)
        if value == self.EMPTY:
            return query.filter(column.is_(None))
        if value == self.NOT_EMPTY:
            return query.filter(column.is_not(None))
        return query.filter(column == _parsed(self.title, model, column.key, str(value).strip()))


def service_filters(office: "BackOffice", model: Any, name: str) -> list[Any]:
    """The list filters of one of a service's ``filter_fields``, by its column's type."""
    attribute = getattr(model, name)
    column = get_column_obj(attribute, model)
    if column.foreign_keys:
        relation = _relation_over(model, name)
        if relation is not None:
            return [RelationFilter(attribute, relation, office)]
    if isinstance(column.type, SAEnum) and _enum_values(column):
        return [ChoiceFilter(attribute)]
    python_type = _python_type(column)
    if python_type is bool:
        return [BooleanFilter(attribute)]
    if python_type in (int, float, Decimal, date, datetime):
        return [RangeFilter(attribute, "gte"), RangeFilter(attribute, "lte")]
    return [ServiceFilter(attribute)]


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parsed(title: str, model: Any, name: str, text: str) -> Any:
    try:
        return field_value(model, name, text)
    except InvalidInput as exc:
        raise HTTPException(400, f"{title}: {exc.errors[0].message}.") from None


def _python_type(column: Any) -> Any:
    """The column's Python type, through a type decorator (an aware date-time, AutoString)."""
    column_types: list[Any] = [getattr(column.type, "impl", None), column.type]
    for column_type in column_types:
        try:
            found = column_type.python_type
        except (NotImplementedError, AttributeError):
            continue
        if found is not object:
            return found
    return None


def _enum_values(column: Any) -> list[str]:
    enum_class = getattr(column.type, "enum_class", None)
    if enum_class is not None:
        return [str(member.value) for member in enum_class]
    return [str(v) for v in getattr(column.type, "enums", ())]


def _relation_over(model: Any, name: str) -> str | None:
    """The many-to-one relationship over the foreign-key column ``name``, if any."""
    for rel in sa_inspect(model).relationships:
        columns = list(rel.local_columns)
        if rel.direction.name == "MANYTOONE" and len(columns) == 1 and columns[0].key == name:
            return str(rel.key)
    return None


STATIC_LOOKUPS = (BooleanFilter, LookupFilter)
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
