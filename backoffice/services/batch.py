"""Many rows saved together, all or nothing: the admin's inline rows and list-editable columns.

Each step is one service call (its own rules, validation and audit entry) run inside a savepoint
of the caller's unit of work, so a refused step is undone alone and the next steps are still
tried: every refused row is reported at once, not only the first. If any step was refused,
``RowsRefused`` is raised and the door rolls the whole unit of work back: nothing is written.
"""

from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import Conflict, DomainError, InvalidInput
from backoffice.models import AuditEntry
from backoffice.services.locking import begin_writing

Step = tuple[Hashable, Callable[[], Awaitable[Any]]]
"""(the row's key, the service call that saves it)."""


class RowsRefused(DomainError):
    """Some rows were refused by their services; ``refused`` holds each one's error by key."""

    code = "rows_refused"
    title = "Rows refused"

    def __init__(self, refused: dict[Hashable, DomainError]) -> None:
        count = len(refused)
        rows = "row was" if count == 1 else "rows were"
        super().__init__(
            f"Nothing was saved: {count} {rows} refused (see the reasons beside them)."
        )
        self.refused = refused


async def save_all_or_nothing(session: AsyncSession, steps: Iterable[Step]) -> list[Any]:
    """Run every step in its own savepoint; raise ``RowsRefused`` naming every refused row
    (the caller's unit of work then rolls back), else return the steps' results in order."""
    refused: dict[Hashable, DomainError] = {}
    results: list[Any] = []
    await begin_writing(session, AuditEntry)  # every write is audited: that table exists
    for key, step in steps:
        try:
            async with session.begin_nested():
                results.append(await step())
        except DomainError as exc:
            refused[key] = exc
    if refused:
        raise RowsRefused(refused)
    return results


def field_messages(exc: DomainError) -> dict[str, str]:
    """A refusal as messages by field name ("" for the row as a whole)."""
    if isinstance(exc, InvalidInput):
        messages: dict[str, str] = {}
        for error in exc.errors:
            name = error.field.split(".")[0]
            messages[name] = "; ".join(filter(None, [messages.get(name), error.message]))
        return messages
    if isinstance(exc, Conflict) and exc.field:
        return {exc.field: exc.detail}
    return {"": exc.detail}


__all__ = ["RowsRefused", "Step", "field_messages", "save_all_or_nothing"]
