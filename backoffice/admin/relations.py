"""The choices of a relation field (a foreign key's select box) come from the related
resource's service, for the caller of the request, labelled without ``str(obj)``.

SQLAdmin fills a relation field once, when the form class is built, with every row of the
related table shown as ``str(row)`` (for a SQLModel row, every field: a user's password hash
included). Here the form class is built with no choices; before a create or edit form is made,
the view computes the choices for this caller (``relation_choices``) and the form takes them as
it is made (``apply_choices``):

- a registered related resource gives the rows its service lets the caller see (``visible()``
  and ``can_see``); a caller without its ``view`` permission gets none;
- a related table that is not a registered resource (e.g. permissions) gives all its rows;
- the current value of an edited row stays a choice, so saving the form keeps it; a current row
  the caller may not see is named by its key only.
"""

from collections.abc import Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from sqladmin.fields import QuerySelectField
from sqladmin.forms import ModelConverter
from sqladmin.helpers import get_object_identifier
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import RelationshipProperty
from sqlmodel import select

from backoffice.admin.reads import object_label
from backoffice.services import Caller
from backoffice.services.resources import may_view

if TYPE_CHECKING:
    from backoffice.office import BackOffice

Choices = dict[str, list[tuple[str, str]]]
"""Field name -> [(key as text, label)]."""

_current: ContextVar[Choices | None] = ContextVar("backoffice_relation_choices", default=None)


class ChoicesConverter(ModelConverter):
    """SQLAdmin's converter, except that a relation field is built without rows (no query,
    no ``str(obj)``): its choices are given per request."""

    async def _prepare_select_options(self, prop: Any, session_maker: Any) -> list[Any]:
        return []


def use_choices(choices: Choices) -> None:
    """The choices the forms made while handling this request take."""
    _current.set(choices)


def apply_choices(form: Any) -> None:
    """Give the form's relation fields this request's choices (none if none were computed)."""
    choices = _current.get() or {}
    for field in form:
        if isinstance(field, QuerySelectField):
            field._select_data = list(choices.get(field.name, []))


async def relation_choices(
    office: "BackOffice", model: Any, names: Iterable[str], caller: Caller, current: Any = None
) -> Choices:
    """The choices of the relation fields ``names`` of ``model`` for ``caller``; ``current``
    is the edited row (its related rows stay choices)."""
    mapper: Any = sa_inspect(model)
    result: Choices = {}
    for name in names:
        prop = mapper.relationships.get(name)
        if not isinstance(prop, RelationshipProperty):
            continue
        choices = await _visible_rows(office, prop.mapper.class_, caller)
        known = {key for key, _ in choices}
        for obj in _related(current, name):
            key = str(get_object_identifier(obj))
            if key not in known:
                choices.append((key, f"{type(obj).__name__} {key}"))
        result[name] = choices
    return result


async def _visible_rows(office: "BackOffice", target: Any, caller: Caller) -> list[tuple[str, str]]:
    resource = office.registry.for_model(target)
    async with office.session() as session:
        if resource is None:
            rows = (await session.exec(select(target).order_by(*_keys(target)))).all()
            return [(str(get_object_identifier(row)), object_label(row)) for row in rows]
        service = resource.service(session, caller)
        if not await may_view(service, resource):
            return []
        query = select(target).where(*await service.visible()).order_by(*_keys(target))
        choices = []
        for row in (await session.exec(query)).all():
            if await service.can_see(row):
                choices.append((str(get_object_identifier(row)), object_label(row)))
        return choices


def _related(current: Any, name: str) -> list[Any]:
    if current is None:
        return []
    value = getattr(current, name, None)
    if value is None:
        return []
    if isinstance(value, list | set | tuple):
        return list(value)
    return [value]


def _keys(model: Any) -> list[Any]:
    return list(sa_inspect(model).primary_key)
