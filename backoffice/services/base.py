"""What every service shares: the session, who is calling, and turning constraint races into
``Conflict``."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from sqlalchemy import ColumnElement, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import Conflict, FieldError, InvalidInput
from backoffice.models import Page, User

Door = Literal["api", "admin", "cli", "system"]

MAX_PAGE_SIZE = 100
T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    """Who asks and through which door.

    ``user`` is the signed-in account, or None. ``trusted`` marks the operator at the command
    line (or the system itself), who may do anything an admin may.
    """

    user: User | None
    door: Door
    trusted: bool = False

    @classmethod
    def operator(cls, door: Door = "cli") -> "Caller":
        return cls(user=None, door=door, trusted=True)

    @classmethod
    def anonymous(cls, door: Door) -> "Caller":
        return cls(user=None, door=door)

    @property
    def is_admin(self) -> bool:
        return self.trusted or (self.user is not None and self.user.is_admin)

    @property
    def is_superuser(self) -> bool:
        return self.trusted or (
            self.user is not None and self.user.is_active and self.user.is_superuser
        )

    @property
    def user_id(self) -> int | None:
        return None if self.user is None else self.user.id


class Service:
    def __init__(self, session: AsyncSession, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    async def fetch_page(
        self,
        model: type[T],
        conditions: Sequence[ColumnElement[bool]],
        order: tuple[str, bool],
        *,
        skip: int,
        limit: int,
    ) -> Page[T]:
        """One page of ``model`` rows matching ``conditions``, sorted by ``order`` (field,
        descending) with the primary key as tie-breaker, and how many match in all."""
        check_page(skip, limit)
        field, descending = order
        column = col(getattr(model, field))
        tie_breaker = col(getattr(model, "id"))  # noqa: B009 (generic over models)
        total = await self.session.scalar(
            select(func.count()).select_from(model).where(*conditions)
        )
        query = (
            select(model)
            .where(*conditions)
            .order_by(
                column.desc() if descending else column.asc(),
                tie_breaker.desc() if descending else tie_breaker.asc(),
            )
            .offset(skip)
            .limit(limit)
        )
        rows = (await self.session.exec(query)).all()
        return Page(items=list(rows), total=int(total or 0), skip=skip, limit=limit)

    async def flush_unique(self, unique_fields: dict[str, str]) -> None:
        """Flush; a unique constraint hit (a race the pre-check lost) becomes a ``Conflict``.

        ``unique_fields`` maps column name to the message for that column.
        """
        try:
            await self.session.flush()
        except IntegrityError as exc:
            # SQLite names the column ("UNIQUE constraint failed: user.email"), PostgreSQL the
            # constraint ('... unique constraint "ix_user_email"'): "_" separates words too.
            text = str(exc.orig)
            for column, message in unique_fields.items():
                if re.search(rf"(?<![A-Za-z0-9]){re.escape(column)}(?![A-Za-z0-9])", text):
                    raise Conflict(message, field=column) from exc
            raise Conflict("The change conflicts with existing data.") from exc


def check_page(skip: int, limit: int) -> None:
    errors: list[FieldError] = []
    if skip < 0:
        errors.append(FieldError("skip", "must be 0 or more"))
    if not 1 <= limit <= MAX_PAGE_SIZE:
        errors.append(FieldError("limit", f"must be between 1 and {MAX_PAGE_SIZE}"))
    if errors:
        raise InvalidInput(errors)


def like_pattern(term: str) -> str:
    """A LIKE pattern matching ``term`` anywhere, with its wildcards taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def parse_sort(sort: str | None, allowed: frozenset[str], default: str) -> tuple[str, bool]:
    """``"-created_at"`` -> ("created_at", descending=True); unknown fields are refused."""
    value = (sort or default).strip()
    descending = value.startswith("-")
    name = value.lstrip("-+")
    if name not in allowed:
        raise InvalidInput.single(
            "sort", f"cannot sort by {name!r}; choose one of: {', '.join(sorted(allowed))}"
        )
    return name, descending
