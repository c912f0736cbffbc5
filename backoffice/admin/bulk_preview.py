"""A bulk action's preview: the exact change it would make to each row, or why a row would be
refused, found by doing it for real and undoing it.

The confirmation page rehearses the action: one unit of work, each row in a savepoint of its
own (a refused row's partial writes undone, the others' kept, as when the action runs row after
row), every change read from the audit entries the services wrote, then the whole unit rolled
back. Nothing a service rule decides is guessed: "the last superuser stays" shows on the very
row it would refuse. The page carries each row's version; the POST then changes a row only if
it is still at the version shown (``services.versions.hold_at``), and reports it otherwise.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, false
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from backoffice.admin.formatting import FieldChange, field_changes
from backoffice.models import AuditEntry
from backoffice.services.locking import lock_rows

REHEARSAL = "backoffice_bulk_rehearsal"
"""``request.state`` key: the session a rehearsing view's ``run`` works in."""
PREVIEWED = "backoffice_bulk_previewed"
"""``request.state`` key: (pk, version shown) of the row being done after a preview."""


@dataclass
class RowPreview:
    pk: int
    label: str
    version: int | None
    refused: str | None = None
    """Why the rules would refuse the row; None if it would be done."""
    changes: list[FieldChange] = field(default_factory=list)
    deleted: bool = False

    @property
    def outcome(self) -> str:
        if self.refused is not None:
            return "refused"
        if self.deleted:
            return "deleted"
        return "changed" if self.changes else "unchanged"


async def rehearse(
    request: Request,
    session: AsyncSession,
    model: type[Any],
    rows: list[RowPreview],
    do_row: Callable[[int], Awaitable[str | None]],
) -> None:
    """Fill in each row's preview by doing ``do_row`` (which answers a refusal's reason, or
    None) in ``session``, one savepoint per row, then roll everything back."""
    # On SQLite a transaction begun by a SAVEPOINT ends (commits) at its RELEASE: begin with a
    # write, so the savepoints nest inside a transaction that the rollback below undoes.
    await lock_rows(session, model, false())
    written: list[AuditEntry] = []

    def collect(flushed: Any, _context: Any) -> None:
        # The identity map holds rows weakly: keep the entries as they are flushed.
        written.extend(obj for obj in flushed.new if isinstance(obj, AuditEntry))

    event.listen(session.sync_session, "after_flush", collect)
    setattr(request.state, REHEARSAL, session)
    try:
        for row in rows:
            written.clear()
            row.refused = await do_row(row.pk)
            if row.refused is not None:
                continue
            for entry in written:
                if entry.action == "delete":
                    row.deleted = True
                else:
                    row.changes.extend(field_changes(entry.changes))
    finally:
        delattr(request.state, REHEARSAL)
        event.remove(session.sync_session, "after_flush", collect)
        await session.rollback()


def rehearsal_session(request: Request) -> AsyncSession | None:
    found = getattr(request.state, REHEARSAL, None)
    return found if isinstance(found, AsyncSession) else None


def previewed_row(request: Request) -> tuple[int, int] | None:
    found = getattr(request.state, PREVIEWED, None)
    return found if isinstance(found, tuple) else None
