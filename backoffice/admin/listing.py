"""An admin list page at any size: a bounded count, keyset pages, the list's query.

SQLAdmin counts every matching row on each list page and reaches page N with ``OFFSET``: on a
million rows the first is a full scan per page and the second grows with N. Here the count stops
at ``list_count_cap`` (the page then says "more than 10,000"), a page is read with one row more
than it shows (that row says whether there is a next page), and the "next" and "prev" links carry
the sort key of the page's last or first row (``after``/``before``), so page 1,000 reached by
paging costs what page 2 does. A page number without a cursor (a link to page 3) still uses
``OFFSET``. Every read is the service's (``list_statement`` starts from the view's visibility).
"""

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqladmin.pagination import PageControl, Pagination
from sqlalchemy import ColumnElement, Select, TypeDecorator, func, select, tuple_
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import ColumnProperty, selectinload
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import Request

from backoffice.admin.filters import check_filter_values

if TYPE_CHECKING:
    from backoffice.admin.views import ServiceModelView

MAX_PAGE = 1_000_000
"""The highest page number accepted without a cursor (beyond it ``OFFSET`` would be absurd)."""

CURSOR_TYPES: tuple[type, ...] = (int, str, datetime, date, Decimal, UUID, float)
"""Sort-key types a cursor can carry (and read back exactly); other sorts page by offset."""

_UNSET = object()


# -- the list's query ---------------------------------------------------------------------------


async def list_statement(view: "ServiceModelView", request: Request) -> Select[Any]:
    """The list page's query without its page: built as SQLAdmin's ``ModelView.list`` builds it
    (the service's visibility, filters, then sort, then search), so the list, its export and a
    bulk action over "every matching row" hold the same rows."""
    await check_filter_values(request, view.model, view.get_filters())
    await view.prepare_reads(request)
    stmt = view.list_query(request)
    filters: list[Any] = view.get_filters()  # simple and operation filters take other arguments
    for filter_ in filters:
        name = filter_.parameter_name
        value = request.query_params.get(name)
        if not value and getattr(filter_, "default_value", _UNSET) is _UNSET:
            continue
        if getattr(filter_, "has_operator", False):
            operation = request.query_params.get(f"{name}_op")
            if operation:
                stmt = await filter_.get_filtered_query(stmt, operation, value, view.model)
        else:
            stmt = await filter_.get_filtered_query(stmt, value, view.model)
    stmt = view.sort_query(stmt, request)
    search = request.query_params.get("search")
    if search:
        stmt = view.search_query(stmt=stmt, term=search)
    return stmt


def sort_fields(view: "ServiceModelView", request: Request) -> list[tuple[str, bool]]:
    """The list's sort as SQLAdmin reads it: ``sortBy``/``sort``, else the view's default."""
    sort_by = request.query_params.get("sortBy")
    if sort_by:
        return [(sort_by, request.query_params.get("sort", "asc") == "desc")]
    return [(view._get_prop_name(name), desc) for name, desc in view._get_default_sort()]


def keyset_column(view: "ServiceModelView", request: Request) -> tuple[Any, bool] | None:
    """The sort column and direction when the list can page by keyset: one sort field, a plain
    non-null column of the model with a type a cursor carries; else None (offset paging)."""
    fields = sort_fields(view, request)
    if len(fields) != 1 or "." in fields[0][0]:
        return None
    name, descending = fields[0]
    prop: Any = sa_inspect(view.model).attrs.get(name)
    if not isinstance(prop, ColumnProperty) or len(prop.columns) != 1:
        return None
    column: Any = prop.columns[0]
    if column.nullable and not column.primary_key:
        return None
    python_type = _python_type(column)
    if (
        python_type is None
        or not issubclass(python_type, CURSOR_TYPES)
        or issubclass(python_type, bool)
    ):
        return None
    return getattr(view.model, name), descending


def tie_breaker(view: "ServiceModelView") -> Any:
    """The key that makes the list's order total (pages never overlap nor skip a row)."""
    return getattr(view.model, view.pk_columns[0].key)


# -- cursors ------------------------------------------------------------------------------------


def encode_cursor(row: Any, column: Any, key: Any) -> str:
    values = [_plain(getattr(row, column.key)), _plain(getattr(row, key.key))]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, column: Any, key: Any) -> tuple[Any, Any]:
    """The (sort value, key) a cursor names; a malformed one is a 400, never a 500."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value, pk = json.loads(raw)
        return _typed(value, column), _typed(pk, key)
    except (ValueError, TypeError, binascii.Error, OverflowError):
        detail = "Invalid page link: open the list again."
        raise HTTPException(status_code=400, detail=detail) from None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


def _python_type(column: Any) -> type | None:
    """The Python type of a column's values (a ``TypeDecorator``'s underlying type's)."""
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    try:
        python_type: type = sql_type.python_type
    except NotImplementedError:
        return None
    return python_type


def _typed(value: Any, attribute: Any) -> Any:
    python_type = _python_type(attribute.property.columns[0])
    if python_type is None:
        raise ValueError("no sort type")
    if value is None or isinstance(value, list | dict | bool):
        raise ValueError("not a sort value")
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is int and not isinstance(value, int):
        raise ValueError("not an integer")
    return python_type(value)


# -- the page -----------------------------------------------------------------------------------


@dataclass
class ListPage(Pagination):
    """SQLAdmin's ``Pagination`` with a count that may be a lower bound and keyset links."""

    count_is_exact: bool = True
    """False: more rows match than ``count`` (the page says "more than ...")."""
    has_more: bool = False
    """A row follows this page (read, not inferred from the count)."""
    first_cursor: str | None = None
    last_cursor: str | None = None
    _previous: PageControl | None = field(default=None, repr=False)
    _next: PageControl | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.page_size < 1:
            raise ValueError("page_size must be greater than 0")
        if self.count_is_exact:
            self.page = min(max(self.page, 1), self.max_page(self.count, self.page_size))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.has_more

    @property
    def previous_page(self) -> PageControl:
        if self._previous is None:
            raise RuntimeError("Previous page not found.")
        return self._previous

    @property
    def next_page(self) -> PageControl:
        if self._next is None:
            raise RuntimeError("Next page not found.")
        return self._next

    @property
    def first_row(self) -> int:
        return (self.page - 1) * self.page_size + 1

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1

    def add_pagination_urls(self, base_url: URL) -> None:
        """Numbered links (by offset) when the count is exact; prev/next by cursor if any."""
        base = base_url.remove_query_params(["after", "before"])
        if self.count_is_exact:
            super().add_pagination_urls(base)
        else:
            # Past the bound the last page is unknown: the current page, prev and next.
            self.page_controls = [PageControl(self.page, str(base_url))]
        previous, following = self.page - 1, self.page + 1
        if previous == 1:
            url = str(base.remove_query_params(["page"]))
        elif self.first_cursor is not None:
            url = str(base.include_query_params(page=previous, before=self.first_cursor))
        else:
            url = str(base.include_query_params(page=previous))
        self._previous = PageControl(previous, url)
        if self.last_cursor is not None:
            url = str(base.include_query_params(page=following, after=self.last_cursor))
        else:
            url = str(base.include_query_params(page=following))
        self._next = PageControl(following, url)


async def list_page(view: "ServiceModelView", request: Request) -> ListPage:
    """One page of the list: its rows, a bounded count and the links to its neighbours."""
    params = request.query_params
    page = min(max(view.validate_page_number(params.get("page"), 1), 1), MAX_PAGE)
    page_size = view.validate_page_number(params.get("pageSize"), view.page_size)
    page_size = min(page_size, max(view.page_size_options))
    if page_size < 1:
        raise HTTPException(status_code=400, detail="Invalid page or pageSize parameter")
    stmt = await list_statement(view, request)
    count_stmt = stmt
    keyset = keyset_column(view, request)
    key = tie_breaker(view)
    after, before = params.get("after"), params.get("before")
    backwards = False
    if keyset is not None and (after or before):
        column, descending = keyset
        value, pk = decode_cursor(after or before or "", column, key)
        backwards = not after
        later = descending == backwards  # the rows wanted sort after the cursor's
        # (sort value, key) compared as a row, so an index on (column, key) serves it; a sort
        # by the key alone compares the key.
        by_key = column.key == key.key
        columns = (key,) if by_key else (column, key)
        cursor = key if by_key else tuple_(column, key)
        bound = pk if by_key else tuple_(value, pk)
        condition: ColumnElement[bool] = cursor > bound if later else cursor < bound
        stmt = stmt.where(condition).order_by(None)
        stmt = stmt.order_by(*(c.asc() if later else c.desc() for c in columns))
    else:
        after = before = None
        stmt = stmt.offset((page - 1) * page_size)
    for relation in view._list_relations:
        stmt = stmt.options(selectinload(relation))
    rows = list(await view._run_query(stmt.limit(page_size + 1)))
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
        more = True  # the rows the cursor came from follow
    if page == 1 and not after and not before and not more:
        count, exact = len(rows), True  # the only page: no count needed
    else:
        count, exact = await view.bounded_count(request, count_stmt)
    result = ListPage(
        rows=rows,
        page=page,
        page_size=page_size,
        count=count,
        count_is_exact=exact,
        has_more=more,
    )
    if keyset is not None and rows:
        result.first_cursor = encode_cursor(rows[0], keyset[0], key)
        result.last_cursor = encode_cursor(rows[-1], keyset[0], key)
    return result


async def count_matching(view: "ServiceModelView", stmt: Select[Any], cap: int) -> tuple[int, bool]:
    """How many rows ``stmt`` matches, counting at most ``cap + 1`` of them: (count, exact)."""
    key = tie_breaker(view)
    matching = stmt.order_by(None).with_only_columns(key, maintain_column_froms=True)
    bounded = select(func.count()).select_from(matching.limit(cap + 1).subquery())
    counted = int((await view._run_query(bounded))[0])
    return min(counted, cap), counted <= cap
