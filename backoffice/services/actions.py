"""Custom actions of a resource: a named change to one row (e.g. "Mark paid"), declared once on
its service and offered by every door (a button on the admin's details page, the list's bulk
actions, ``POST /api/{name}/{id}/{action}``).

The method does the change on the object and may raise a domain error to refuse it;
``ResourceService.run_action`` loads the row with the action's permission and row rules, runs
it, flushes and writes the audit entry, so no door re-implements any of that.
"""

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from backoffice.errors import NotFound
from backoffice.models.permissions import Action
from backoffice.services.audit import diff, snapshot
from backoffice.services.versions import claim

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

AUDIT_CODE_MAX = 10
"""The audit log's ``action`` column holds at most this many characters."""

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""An action's name is its method's name and a URL segment: lowercase, digits and ``_``."""

_ATTRIBUTE = "__backoffice_action__"


@dataclass(frozen=True)
class ResourceAction:
    name: str
    """The method's name: the address segment (``/api/invoices/7/mark_paid``)."""
    label: str
    """The button and menu text, e.g. "Mark paid"."""
    permission: Action
    """What the caller must be allowed on the row (``has_permission(permission, obj)``)."""
    done: str
    """Said of a row it was done to, e.g. "Paid"."""
    audit: str
    """The audit entry's ``action`` (at most 10 characters): History shows which action."""
    confirm: str
    """The question the admin asks before doing it (empty: no question)."""


def resource_action(
    label: str,
    *,
    permission: Action = "change",
    done: str = "Done",
    audit: str | None = None,
    confirm: str = "",
) -> Callable[[F], F]:
    """Declare a ``ResourceService`` method ``async (self, obj) -> None`` as a custom action.

    ``audit`` is the code written in the audit log's ``action`` column, by default the method's
    name; it must fit the column (10 characters), so a long name needs a short code."""

    def mark(method: F) -> F:
        name = method.__name__
        code = audit or name
        if not NAME.match(name):
            raise ValueError(f"action {name!r}: a name is lowercase letters, digits and _")
        if not code or len(code) > AUDIT_CODE_MAX:
            raise ValueError(
                f"action {name!r}: its audit code {code!r} must be 1 to {AUDIT_CODE_MAX} "
                "characters; pass audit='short'"
            )
        checked: Any = method  # (narrowing ``method`` would lose its type F)
        if not inspect.iscoroutinefunction(checked):
            raise TypeError(f"action {name!r} must be an async method (self, obj)")
        setattr(method, _ATTRIBUTE, ResourceAction(name, label, permission, done, code, confirm))
        return method

    return mark


def declared_actions(service_class: Any) -> dict[str, ResourceAction]:
    """The actions a service class declares, a subclass's first, in the order written."""
    found: dict[str, ResourceAction] = {}
    for klass in getattr(service_class, "__mro__", ()):
        for name, value in vars(klass).items():
            declared = getattr(value, _ATTRIBUTE, None)
            if isinstance(declared, ResourceAction) and name not in found:
                found[name] = replace(declared, name=name)  # the name it has on the class
    return found


async def run(service: Any, name: str, pk: int) -> Any:
    """``ResourceService.run_action``: the row is loaded as ``update`` loads it, with the
    action's permission (a hidden row is ``NotFound``, a refused one ``PermissionDenied``); the
    method changes it or raises a domain error to refuse; what it set must fit the columns;
    flushed, then audited under the action's code with the field changes."""
    declared = service.actions().get(name)
    if declared is None:
        raise NotFound(f"{service.resource.label} has no action {name!r}.")
    obj = await service._load(pk, declared.permission)
    before = snapshot(obj)
    await getattr(service, name)(obj)
    changes = diff(before, snapshot(obj))
    service._check_storable({key: getattr(obj, key) for key in changes if hasattr(obj, key)})
    if changes:  # a change like any other: the row's version moves on
        await claim(service.session, obj, None, f"{service.resource.label} {pk}")
    service.session.add(obj)
    await service.flush_unique(service.unique_fields)
    await service.session.refresh(obj)
    if service.resource.audit:
        await service.audit.record(declared.audit, service.resource.name, obj, changes)
    return obj
