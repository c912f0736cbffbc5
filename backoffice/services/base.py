"""What every service shares: the session, who is calling, and turning constraint races into
``Conflict``."""

import re
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, func, union
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import Conflict, FieldError, InvalidInput
from backoffice.models import (
    GroupPermissionLink,
    Page,
    Permission,
    User,
    UserGroupLink,
    UserPermissionLink,
)
from backoffice.models.permissions import Action
from backoffice.services.locking import lock_row, lock_rows

Door = Literal["api", "admin", "cli", "system"]

MAX_PAGE_SIZE = 100
COUNT_CAP = 200
"""How many matching rows a list counts past the end of the page it returns. Counting every
match costs time in proportion to the table (a million users: a full scan per page); counting
at most ``skip + limit + COUNT_CAP`` keeps a page's cost bounded, and a total past that bound
is reported as a lower bound (``Page.total_is_exact`` false). A search matching one row in 20
of a million reads about 20 rows per match counted: with 1,000 that was 10 ms, as much as the
rest of the request (bench/README.md)."""
T = TypeVar("T")


@dataclass
class Caller:
    """Who asks and through which door.

    ``user`` is the signed-in account, or None. ``trusted`` marks the operator at the command
    line (or the system itself), who may do anything an admin may.
    """

    user: User | None
    door: Door
    trusted: bool = False
    permissions: set[str] | None = field(default=None, compare=False, repr=False)
    """The user's permission codes, once loaded (by ``Service.may`` or the admin's sign-in
    check); one caller lives for one request or command."""
    api_key_id: int | None = None
    """Set when the request came with an API key (``services.api_keys``): ``user`` is the
    key's owner, narrowed to ``scopes``."""
    scopes: frozenset[str] | None = field(default=None, compare=False, repr=False)
    """An API key's scopes: the caller holds only the owner's permissions named here."""
    refresh_family: str | None = field(default=None, compare=False, repr=False)
    """The API sign-in (refresh-token family) the request's access token was issued from."""
    enrolment_pending: bool = False
    """Staff signed in while the policy asks them for a second factor they have not set up:
    until they do, they hold no staff right at any door (``is_admin`` and ``may`` say no)."""
    unit: str = field(default_factory=lambda: uuid.uuid4().hex, compare=False, repr=False)
    """The unit of work the audit log files this caller's changes under: one API request,
    admin form, bulk action or command (``services.reverting`` reverts a unit as a whole)."""

    @classmethod
    def operator(cls, door: Door = "cli") -> "Caller":
        return cls(user=None, door=door, trusted=True)

    @classmethod
    def anonymous(cls, door: Door) -> "Caller":
        return cls(user=None, door=door)

    @property
    def via_api_key(self) -> bool:
        """Did the caller come with an API key? Such a caller acts for the owner only as far as
        the key's scopes go: no superuser powers, no self-service on the account (password,
        second factors, keys), whatever the owner may do in person."""
        return self.api_key_id is not None

    @property
    def is_person(self) -> bool:
        """A signed-in person, not a machine holding a key (nor the operator)."""
        return self.user is not None and not self.via_api_key

    @property
    def own_id(self) -> int | None:
        """The account whose own rows (posts, owned rows) the caller acts on as theirs: the
        user in person. None with an API key, which holds only its scopes, and for the
        operator."""
        return self.user_id if self.is_person else None

    def is_self(self, user_id: int | None) -> bool:
        """Is the caller, in person, the account ``user_id``? An API key does not count: what
        one may do to one's own account, a key may not."""
        return self.is_person and user_id is not None and self.user_id == user_id

    @property
    def is_admin(self) -> bool:
        """May enter the admin: the operator, or active staff. What they may do there is
        decided by permissions (``Service.may``)."""
        return self.trusted or (
            self.user is not None and self.user.is_admin and not self.enrolment_pending
        )

    @property
    def is_superuser(self) -> bool:
        return self.trusted or (
            self.user is not None
            and self.user.is_active
            and self.user.is_superuser
            and not self.via_api_key  # a superuser's key holds its scopes, not everything
            and not self.enrolment_pending
        )

    @property
    def user_id(self) -> int | None:
        return None if self.user is None else self.user.id


class Service:
    count_cap: int = COUNT_CAP
    """See ``COUNT_CAP``; a subclass (or a test) may count less."""

    def __init__(self, session: AsyncSession, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    # -- what the caller may see: every door's reads apply these -----------------------------

    async def visible(self) -> list[ColumnElement[bool]]:
        """Conditions a select of this service's rows must meet for the caller to see them.

        Every door applies them to its reads (the API's list, the admin's list, count, pages,
        export and choices), so a visibility rule written here holds everywhere. Async so a
        rule may ask the database (e.g. the caller's teams). None by default.
        """
        return []

    async def readable(self) -> list[ColumnElement[bool]]:
        """What every door's reads apply: ``visible()``, and the rows in the trash left out
        (``services.trash``), whatever ``visible`` says."""
        from backoffice.services.trash import not_in_trash  # the trash builds on services

        return [*not_in_trash(getattr(self, "model", None)), *await self.visible()]

    async def may_read(self) -> bool:
        """May the caller read this resource at all, before the row rules (``visible``,
        ``can_see``) narrow what they see? Yes by default: a service whose rows anyone may
        see some of (one's own account, published posts) narrows them with ``visible``."""
        return True

    async def permits(self, action: Action, obj: Any) -> bool:
        """May the caller ``action`` (view, change, delete) this one row? Yes by default; the
        resource-wide permission is checked apart."""
        return True

    async def can_see(self, obj: Any) -> bool:
        """May the caller see this row (one ``visible`` let through)? A row they may not see
        is answered as missing (404) by every door."""
        return await self.permits("view", obj)

    async def may(self, resource: str, action: str) -> bool:
        """Does the caller hold ``resource.action`` (e.g. ``posts.change``)? ``change``
        includes ``view``.

        The operator and active superusers hold every permission. Permissions are staff
        rights: an account that is not active staff holds none, whatever it was given, so a
        permission means the same in the API and in the admin (which only staff enter), and
        taking staff status away takes every right with it.
        """
        caller = self.caller
        if caller.is_superuser:
            return True
        user = caller.user
        if user is None or user.id is None or not caller.is_admin:
            return False
        if caller.permissions is None:
            if caller.scopes is not None:
                # An API key: the owner's permissions now (so a lost one stops the key at
                # once), narrowed to the key's scopes. A superuser owner holds them all.
                held = None if user.is_superuser else await permission_codes(self.session, user.id)
                caller.permissions = {
                    scope
                    for scope in caller.scopes
                    if held is None or holds(held, *scope.partition(".")[::2])
                }
            else:
                caller.permissions = await permission_codes(self.session, user.id)
        return holds(caller.permissions, resource, action)

    async def lock(self, model: type[T], pk: Any) -> T | None:
        """Hold row ``pk`` of ``model`` for the rest of the unit of work and return it as it is
        now: a concurrent unit of work that locks it too waits until this one ends, then sees
        what it wrote. Take it before reading what an invariant depends on ("a book with one
        copy is lent once"); correct on PostgreSQL and SQLite (``services.locking``)."""
        return await lock_row(self.session, model, pk)

    async def lock_all(self, model: type[T], *conditions: ColumnElement[bool]) -> list[T]:
        """``lock`` for every row matching ``conditions`` (in key order)."""
        return await lock_rows(self.session, model, *conditions)

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
        descending) with the primary key as tie-breaker, and how many match.

        The count stops at ``skip + limit + count_cap`` rows: past that bound the page's
        ``total`` is the bound and ``total_is_exact`` is false ("at least this many").
        """
        check_page(skip, limit)
        field, descending = order
        column = col(getattr(model, field))
        tie_breaker = col(getattr(model, "id"))  # noqa: B009 (generic over models)
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
        rows = list((await self.session.exec(query)).all())
        bound = skip + limit + self.count_cap
        if len(rows) < limit and (rows or skip == 0):
            # A short page is the last one: it says how many match without counting them (a
            # search that finds one user costs one query, not two).
            counted = skip + len(rows)
        else:
            # COUNT over a LIMITed subquery: the database stops after bound + 1 matches (the
            # one extra row tells "exactly bound" from "more than bound").
            matching = select(tie_breaker).where(*conditions).limit(bound + 1).subquery()
            counted = int(
                await self.session.scalar(select(func.count()).select_from(matching)) or 0
            )
        return Page(
            items=rows,
            total=min(counted, bound),
            total_is_exact=counted <= bound,
            skip=skip,
            limit=limit,
        )

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


def holds(codes: Collection[str], resource: str, action: str) -> bool:
    """Do these permission codes allow ``action`` on ``resource``? As in Django's admin,
    whoever may change a resource may also view it."""
    return f"{resource}.{action}" in codes or (action == "view" and f"{resource}.change" in codes)


async def permission_codes(session: AsyncSession, user_id: int) -> set[str]:
    """The codes a user holds, directly or through groups (one query)."""
    ids = union(
        select(UserPermissionLink.permission_id).where(col(UserPermissionLink.user_id) == user_id),
        select(GroupPermissionLink.permission_id)
        .join(UserGroupLink, col(UserGroupLink.group_id) == col(GroupPermissionLink.group_id))
        .where(col(UserGroupLink.user_id) == user_id),
    ).subquery()
    query = select(Permission.resource, Permission.action).where(
        col(Permission.id).in_(select(ids.c.permission_id))
    )
    return {f"{resource}.{action}" for resource, action in (await session.exec(query)).all()}


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
