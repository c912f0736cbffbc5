"""List filters SQLAdmin lacks: Django's date filter ("today", "past 7 days", ...)."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqladmin.filters import get_column_obj, get_parameter_name, get_title
from sqlalchemy import Select
from starlette.requests import Request

from backoffice.models import utcnow

PERIODS = {
    "today": ("Today", timedelta(days=1)),
    "7d": ("Past 7 days", timedelta(days=7)),
    "30d": ("Past 30 days", timedelta(days=30)),
    "365d": ("Past year", timedelta(days=365)),
}


class RecentDateFilter:
    """Rows whose date column falls within a recent period (UTC); an unknown value filters
    nothing, like SQLAdmin's own filters."""

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
