"""Streamed CSV and JSON export of an admin list, in place of SQLAdmin's own export.

SQLAdmin's export loads up to ``export_max_rows`` rows, ignores the list's search and filters and
writes whatever columns the view names. Ours exports exactly what the list page shows (search,
filters and sort applied, every page), reads it in batches through a server-side cursor and
writes each batch as it comes, so a large table is never held in memory. A column whose name
looks secret (``registry.SECRET_NAME``) is never written, whatever the view's export list says,
and a CSV cell a spreadsheet would run as a formula is neutralised (OWASP's CSV injection advice).
"""

import base64
import csv
import io
import json
import logging
import math
import re
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import anyio
from sqladmin import Admin
from sqladmin.authentication import login_required
from sqlalchemy import Select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import ColumnProperty, Mapper, RelationshipProperty, selectinload
from sqlalchemy.orm.strategy_options import _AbstractLoad
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Send

from backoffice.admin.listing import list_statement
from backoffice.admin.lookup import AdminPage, service_view
from backoffice.admin.views import ServiceModelView
from backoffice.registry import SECRET_NAME
from backoffice.services.audit import SECRET_CHANGED

logger = logging.getLogger("backoffice.admin.export")

BATCH_SIZE = 500
"""Rows fetched (and written) at a time."""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula (OWASP, CSV injection)."""

HIDDEN = "(hidden)"
"""Written in place of a secret-looking key's value inside a JSON column."""


# -- what is exported ------------------------------------------------------------------------


def is_secret(view: ServiceModelView, name: str) -> bool:
    """Does the export column ``name`` (or the table column behind it) look like a secret?"""
    if SECRET_NAME.search(name):
        return True
    attr: Any = sa_inspect(view.model).attrs.get(name)
    if isinstance(attr, ColumnProperty):
        return any(SECRET_NAME.search(getattr(c, "name", "") or "") for c in attr.columns)
    return False


def export_columns(view: ServiceModelView) -> list[str]:
    """The view's export columns (``column_export_list``, else the list's), less any secret."""
    return [name for name in view.get_export_columns() if not is_secret(view, name)]


def with_relationships(view: ServiceModelView, stmt: Select[Any], columns: list[str]) -> Any:
    """Related rows the export names, loaded per batch (nothing may load lazily in async)."""
    for name in columns:
        loader = _loader_for(view.model, name.split("."))
        if loader is not None:
            stmt = stmt.options(loader)
    return stmt


def _loader_for(model: Any, path: list[str]) -> _AbstractLoad | None:
    mapper: Mapper[Any] = sa_inspect(model)
    loader: _AbstractLoad | None = None
    for part in path:
        prop = mapper.attrs.get(part)
        if not isinstance(prop, RelationshipProperty):
            break
        attribute = getattr(mapper.class_, part)
        loader = selectinload(attribute) if loader is None else loader.selectinload(attribute)
        mapper = prop.mapper
    return loader


def row_values(row: Any, columns: list[str]) -> dict[str, Any]:
    return {name: plain_value(_get(row, name.split("."))) for name in columns}


def _get(obj: Any, path: list[str]) -> Any:
    if obj is None or not path:
        return obj
    if isinstance(obj, list | tuple | set):
        return [_get(item, path) for item in obj]
    return _get(getattr(obj, path[0]), path[1:])


def plain_value(value: Any) -> Any:
    """``value`` as JSON has it: dates ISO 8601, a related row as its key (never its text, which
    for a SQLModel row lists every field, a hash included)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return plain_value(value.value)
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(key): _hide(str(key), plain_value(item)) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain_value(item) for item in value]
    state = sa_inspect(value, raiseerr=False)
    if state is not None and hasattr(state, "identity"):
        identity = state.identity
        if not identity:
            return None
        return identity[0] if len(identity) == 1 else list(identity)
    return str(value)


def _hide(key: str, value: Any) -> Any:
    # A JSON column may hold a secret under its own key; the audit log's "changed" marker stays.
    if SECRET_NAME.search(key) and value not in (None, SECRET_CHANGED):
        return HIDDEN
    return value


def csv_cell(value: Any) -> str:
    """One CSV cell: text that would start a formula gets a leading ``'`` (a number, which
    cannot be a formula, is written as it is)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


# -- writing ---------------------------------------------------------------------------------


def plain_columns(view: ServiceModelView, columns: list[str]) -> list[Any] | None:
    """The model's columns named by ``columns`` if every one is a plain column (no related
    row): the export then reads those columns, not whole ORM objects (several times faster)."""
    mapper: Any = sa_inspect(view.model)
    found = []
    for name in columns:
        if not isinstance(mapper.attrs.get(name), ColumnProperty):
            return None
        found.append(getattr(view.model, name))
    return found


def export_statement(view: ServiceModelView, stmt: Select[Any], columns: list[str]) -> Any:
    plain = plain_columns(view, columns)
    if plain:
        return stmt.with_only_columns(*plain, maintain_column_froms=True)
    return with_relationships(view, stmt, columns)


async def batches(view: ServiceModelView, stmt: Any) -> AsyncIterator[Sequence[Any]]:
    """The statement's rows, ``BATCH_SIZE`` at a time, from a server-side cursor: ORM objects,
    or plain rows when it selects columns (``export_statement``)."""
    whole_rows = [d.get("entity") for d in stmt.column_descriptions] == [view.model] and all(
        d.get("expr") is view.model for d in stmt.column_descriptions
    )
    # The identity map holds rows weakly: a written batch is freed once nothing refers to it.
    async with view.office.session() as session:
        options = stmt.execution_options(yield_per=BATCH_SIZE)
        if whole_rows:
            result: Any = await session.stream_scalars(options)
        else:
            result = await session.stream(options)
        async for batch in result.partitions():
            yield batch


async def csv_chunks(view: ServiceModelView, stmt: Any, columns: list[str]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(name) for name in columns])
    async for batch in batches(view, stmt):
        for row in batch:
            values = row_values(row, columns)
            writer.writerow([csv_cell(values[name]) for name in columns])
        yield _drain(buffer)
    if buffer.tell():
        yield _drain(buffer)


async def json_chunks(
    view: ServiceModelView, stmt: Any, columns: list[str]
) -> AsyncIterator[bytes]:
    yield b"["
    first = True
    async for batch in batches(view, stmt):
        parts = []
        for row in batch:
            text = json.dumps(row_values(row, columns), ensure_ascii=False)
            parts.append(("\n" if first else ",\n") + text)
            first = False
        yield "".join(parts).encode()
    yield b"\n]\n"


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return data


Writer = Callable[[ServiceModelView, Any, list[str]], AsyncIterator[bytes]]
WRITERS: dict[str, tuple[Writer, str]] = {
    "csv": (csv_chunks, "text/csv; charset=utf-8"),
    "json": (json_chunks, "application/json"),
}


class ClosingStreamingResponse(StreamingResponse):
    """Closes its generator however the response ends (a client gone mid-download included),
    so the database cursor and session are released at once, not when the generator is
    collected."""

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await close()


def export_filename(view: ServiceModelView, export_type: str) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", str(view.name_plural).lower()).strip("-") or "export"
    return f"{stem}-{datetime.now(UTC):%Y%m%d-%H%M%S}.{export_type}"


class ExportPage(AdminPage):
    @login_required
    async def export(self, request: Request) -> Response:
        view = service_view(self._admin_ref, request.path_params["identity"])
        if not view.allows(request, "view"):
            raise HTTPException(status_code=403)
        export_type = request.path_params["export_type"]
        if not view.can_export or export_type not in WRITERS:
            raise HTTPException(status_code=404)
        if export_type not in view.export_types:
            raise HTTPException(status_code=404)
        columns = export_columns(view)
        # Built before the response starts, so a bad sort or filter is a 400, not a cut file.
        stmt = export_statement(view, await list_statement(view, request), columns)
        write, media_type = WRITERS[export_type]
        filename = export_filename(view, export_type)
        return ClosingStreamingResponse(
            write(view, stmt, columns),
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


def install_export(admin: Admin) -> None:
    """Put the streamed export at SQLAdmin's export address (``admin:export``), so nothing can
    reach SQLAdmin's own."""
    page = ExportPage(admin)
    routes = admin.admin.router.routes
    for index, route in enumerate(routes):
        if isinstance(route, Route) and route.name == "export":
            routes[index] = Route(
                "/{identity}/export/{export_type}", page.export, name="export", methods=["GET"]
            )
            return
    raise RuntimeError("SQLAdmin has no export route to replace")
