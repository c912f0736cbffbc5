"""The one dependency for list parameters, shared by every list route."""

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Query

from backoffice.services import MAX_PAGE_SIZE


@dataclass(frozen=True)
class PageQuery:
    skip: int
    limit: int
    search: str | None
    sort: str | None


def page_query(sort_fields: Iterable[str]) -> Callable[..., Awaitable[PageQuery]]:
    """The list parameters of a resource whose rows sort by ``sort_fields``, for
    ``Annotated[PageQuery, Depends(page_query(FIELDS))]``. The sort choices are part of the
    parameter's schema, so OpenAPI says which values are accepted."""
    choices = sorted(sort_fields)
    sort_pattern = rf"^(-?({'|'.join(re.escape(choice) for choice in choices)}))?$"

    async def dependency(
        skip: Annotated[int, Query(ge=0, le=1_000_000_000, description="Rows to skip.")] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows per page.")] = 50,
        search: Annotated[
            # NUL is refused: PostgreSQL cannot compare text containing it.
            str | None,
            Query(max_length=100, pattern=r"^[^\x00]*$", description="Text to look for."),
        ] = None,
        sort: Annotated[
            str | None,
            Query(
                max_length=50,
                pattern=sort_pattern,
                description=f"One of {', '.join(choices)}; prefix '-' for descending.",
            ),
        ] = None,
    ) -> PageQuery:
        return PageQuery(skip=skip, limit=limit, search=search or None, sort=sort or None)

    return dependency
