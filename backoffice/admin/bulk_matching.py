"""A bulk action over every row the list's search and filters match, not only the ticked ones.

The rows are walked by key in batches (``BATCH_SIZE`` keys read in one short transaction), and
each row is done in its own unit of work through the view's handler, as a ticked row is: no
transaction, and so no lock, lasts longer than one row, and a row the rules refuse is reported
while the others are still done. A row that stops matching while the action runs (deactivating
the active users) is never visited twice: the walk goes on from the last key, not from the
list's position. The report counts every row and names the refused ones (the first
``REPORT_REFUSED``), so ten thousand rows make a page of a few lines.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from backoffice.admin.listing import count_matching, list_statement, tie_breaker

if TYPE_CHECKING:
    from starlette.requests import Request

    from backoffice.admin.bulk import BulkActionView, RowResult

BATCH_SIZE = 500
"""Keys read at a time (each read is its own short transaction)."""

REPORT_REFUSED = 100
"""Refused rows named on the report page; the rest are counted."""


@dataclass
class MatchingReport:
    done: int = 0
    refused: int = 0
    named: list["RowResult"] = field(default_factory=list)
    """The first refused rows, with the reason."""

    @property
    def total(self) -> int:
        return self.done + self.refused


async def count_matching_rows(view: "BulkActionView", request: "Request") -> tuple[int, bool]:
    """How many rows the list's query matches, counting at most ``bulk_max_matching + 1``."""
    stmt = await list_statement(view, request)
    return await count_matching(view, stmt, view.bulk_max_matching)


async def matching_keys(view: "BulkActionView", request: "Request") -> AsyncIterator[list[Any]]:
    """The keys of the rows the list matches (for the caller), a batch at a time, by key."""
    key = tie_breaker(view)
    stmt = (await list_statement(view, request)).order_by(None)
    keys = stmt.with_only_columns(key, maintain_column_froms=True).order_by(key)
    last: Any = None
    while True:
        query = keys if last is None else keys.where(key > last)
        async with view.office.session() as session:
            batch = list((await session.exec(query.limit(BATCH_SIZE))).scalars().all())
        if not batch:
            return
        yield batch
        last = batch[-1]


async def run_matching(
    view: "BulkActionView",
    request: "Request",
    do_row: Callable[[Any], Awaitable["RowResult"]],
) -> MatchingReport:
    """``do_row`` for every matching row, each in its own unit of work; the report."""
    report = MatchingReport()
    async for batch in matching_keys(view, request):
        for pk in batch:
            result = await do_row(pk)
            if result.done:
                report.done += 1
                continue
            report.refused += 1
            if len(report.named) < REPORT_REFUSED:
                report.named.append(result)
    if report.named:  # name the refused rows as the confirmation page would
        labels = await view.labels_of(request, [r.pk for r in report.named])
        report.named = [
            type(r)(r.pk, labels.get(r.pk, r.label), r.done, r.message) for r in report.named
        ]
    return report
