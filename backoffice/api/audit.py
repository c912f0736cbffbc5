"""``/audit``: the audit trail, for holders of ``audit.view``."""

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from backoffice.api.deps import CallerDep, IdPath, OfficeDep, SessionDep, require_permission
from backoffice.api.paging import PageQuery, page_query
from backoffice.api.problems import problem_responses
from backoffice.errors import InvalidInput
from backoffice.models import AuditEntry, AuditEntryPublic, Page
from backoffice.models.common import MAX_ID
from backoffice.services.audit import AUDIT_SORT_FIELDS, AuditService

# RFC 3339 date-times only (pydantic alone would also take a number of seconds).
RFC_3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
DATE_TIME = {"format": "date-time"}

router = APIRouter(
    prefix="/audit",
    tags=["audit"],
    dependencies=[require_permission("audit", "view")],
    responses=problem_responses(401, 403),
)


@router.get("/", response_model=Page[AuditEntryPublic], responses=problem_responses(422))
async def list_audit_entries(
    session: SessionDep,
    caller: CallerDep,
    page: Annotated[PageQuery, Depends(page_query(AUDIT_SORT_FIELDS))],
    actor_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    object_type: Annotated[str | None, Query(max_length=60, pattern=r"^[\w.-]+$")] = None,
    object_id: Annotated[str | None, Query(max_length=60, pattern=r"^[\w.-]+$")] = None,
    door: Annotated[str | None, Query(pattern=r"^(api|admin|cli|system)$")] = None,
    since: Annotated[
        str | None,
        Query(max_length=40, json_schema_extra=DATE_TIME, description="Entries at or after this."),
    ] = None,
    until: Annotated[
        str | None,
        Query(max_length=40, json_schema_extra=DATE_TIME, description="Entries before this."),
    ] = None,
) -> Page[AuditEntryPublic]:
    """Newest first (``sort=at`` for oldest first). Filters: actor, object, door, time range."""
    found = await AuditService(session, caller).list(
        skip=page.skip,
        limit=page.limit,
        sort=page.sort,
        actor_id=actor_id,
        object_type=object_type,
        object_id=object_id,
        door=door,
        since=_instant("since", since),
        until=_instant("until", until),
    )
    # Read from the rows' attributes: ``actor_name`` is loaded with the entry, not a column.
    items = [AuditEntryPublic.model_validate(entry, from_attributes=True) for entry in found.items]
    return Page[AuditEntryPublic](
        items=items,
        total=found.total,
        total_is_exact=found.total_is_exact,
        skip=found.skip,
        limit=found.limit,
    )


class Reverted(BaseModel):
    """What a revert wrote: its own audit entries (one unit, itself revertible)."""

    unit: str | None
    entries: list[AuditEntryPublic]


ForceQuery = Annotated[
    bool,
    Query(description="Revert although a later change touched the same fields (superusers only)."),
]


@router.post(
    "/{entry_id}/revert", response_model=Reverted, responses=problem_responses(404, 409, 422)
)
async def revert_entry(
    entry_id: IdPath,
    session: SessionDep,
    caller: CallerDep,
    office: OfficeDep,
    force: ForceQuery = False,
) -> Reverted:
    """Undo one audit entry through the resource's service (its rules apply). Refused (409,
    ``revert_refused``) with the reason when a later change touched the same fields."""
    return _reverted(await office.reverts(session, caller).revert_entry(entry_id, force=force))


@router.post(
    "/units/{unit}/revert", response_model=Reverted, responses=problem_responses(404, 409, 422)
)
async def revert_unit(
    unit: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="An entry's `unit`.")],
    session: SessionDep,
    caller: CallerDep,
    office: OfficeDep,
    force: ForceQuery = False,
) -> Reverted:
    """Undo everything one request, admin form, bulk action or command did: all or nothing."""
    return _reverted(await office.reverts(session, caller).revert_unit(unit, force=force))


def _reverted(entries: list[AuditEntry]) -> Reverted:
    return Reverted(
        unit=entries[0].unit if entries else None,
        entries=[AuditEntryPublic.model_validate(e, from_attributes=True) for e in entries],
    )


def _instant(name: str, value: str | None) -> datetime | None:
    """An RFC 3339 date-time (``2026-11-24T09:30:00Z``)."""
    if value is None:
        return None
    match = RFC_3339.match(value)
    try:
        if match is None:
            raise ValueError(value)
        day, minutes, seconds, fraction, offset = match.groups()
        offset = "+00:00" if offset in ("Z", "z") else offset
        # A leap second (:60) is valid RFC 3339 but not a Python time: count it as :59.
        seconds = min(int(seconds), 59)
        text = f"{day}T{minutes}:{seconds:02d}{(fraction or '')[:7]}{offset}"
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        raise InvalidInput.single(
            name, f"{value!r} is not a date and time like 2026-11-24T09:30:00Z."
        ) from None
