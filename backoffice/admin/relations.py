"""The choices of a relation field (a foreign key's select box) come from the related
resource's service, for the caller of the request, labelled without ``str(obj)``.

SQLAdmin fills a relation field once, when the form class is built, with every row of the
related table shown as ``str(row)`` (for a SQLModel row, every field: a user's password hash
included). Here the form class is built with no choices; before a create or edit form is made,
the view computes the choices for this caller (``relation_choices``) and the form takes them as
it is made (``apply_choices``):

- a foreign key to a registered resource is searched on demand (``search_choices``, served as
  JSON by ``admin.choices`` and driven by ``static/admin/relations.js``): the form holds only
  the current value and the submitted one, each looked up through the related service, so a
  million rows are never read into one page;
- any other relation (a many-to-many such as a user's groups, or a table that is not a
  registered resource) offers the rows the related service lets the caller see;
- a registered related resource gives only rows its service lets the caller see (``visible()``
  and ``can_see``); a caller without its ``view`` permission gets none;
- the current value of an edited row stays a choice, so saving the form keeps it; a current row
  the caller may not see is named by its key only.
"""

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqladmin.fields import QuerySelectField, QuerySelectMultipleField
from sqladmin.forms import ModelConverter
from sqladmin.helpers import get_object_identifier
from sqlalchemy import Enum, String, cast, false, func, or_
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import RelationshipProperty
from sqlmodel import select
from starlette.exceptions import HTTPException

from backoffice.admin.reads import object_label, pk_values_or_404
from backoffice.registry import SECRET_NAME
from backoffice.services import Caller
from backoffice.services.base import like_pattern
from backoffice.services.resources import may_view

if TYPE_CHECKING:
    from backoffice.office import BackOffice

Choice = tuple[str, str]
"""(key as text, label)."""

PAGE_SIZE = 20
"""Choices in one answer of the search endpoint."""


@dataclass
class FormChoices:
    """What this request's forms take: choices per field, and the search address of the
    fields searched on demand."""

    choices: dict[str, list[Choice]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)


Choices = dict[str, list[Choice]]
"""Field name -> [(key as text, label)]."""

_current: ContextVar[FormChoices | None] = ContextVar("backoffice_relation_choices", default=None)


class ChoicesConverter(ModelConverter):
    """SQLAdmin's converter, except that a relation field is built without rows (no query,
    no ``str(obj)``): its choices are given per request."""

    async def _prepare_select_options(self, prop: Any, session_maker: Any) -> list[Any]:
        return []


def use_choices(choices: Choices, urls: dict[str, str] | None = None) -> None:
    """The choices (and search addresses) the forms made while handling this request take."""
    _current.set(FormChoices(dict(choices), dict(urls or {})))


def apply_choices(form: Any) -> None:
    """Give the form's relation fields this request's choices (none if none were computed);
    a field searched on demand names its search address for the script."""
    current = _current.get() or FormChoices()
    for form_field in form:
        if isinstance(form_field, QuerySelectField):
            form_field._select_data = list(current.choices.get(form_field.name, []))
            if isinstance(form_field, QuerySelectMultipleField):
                # A two-sided chooser (static/admin/editing.js); a taller list without script.
                kw = {"data-chooser": "", "size": "10"}
                form_field.render_kw = {**kw, **(form_field.render_kw or {})}
            url = current.urls.get(form_field.name)
            if url:
                form_field.render_kw = {**(form_field.render_kw or {}), "data-choices-url": url}


def searched_on_demand(office: "BackOffice", model: Any, name: str) -> bool:
    """Is ``name`` a foreign key to a registered resource (searched as the user types)?"""
    prop = _relationship(model, name)
    return (
        prop is not None
        and prop.direction.name == "MANYTOONE"
        and office.registry.for_model(prop.mapper.class_) is not None
    )


async def relation_choices(
    office: "BackOffice",
    model: Any,
    names: Iterable[str],
    caller: Caller,
    current: Any = None,
    submitted: dict[str, list[str]] | None = None,
) -> Choices:
    """The choices of the relation fields ``names`` of ``model`` for ``caller``; ``current``
    is the edited row (its related rows stay choices). A field searched on demand gets only
    the current and the ``submitted`` keys the caller may see."""
    result: Choices = {}
    for name in names:
        prop = _relationship(model, name)
        if prop is None:
            continue
        target = prop.mapper.class_
        related = _related(current, name)
        if searched_on_demand(office, model, name):
            wanted = [str(get_object_identifier(obj)) for obj in related]
            wanted += (submitted or {}).get(name, [])
            choices = await rows_by_keys(office, target, caller, wanted)
        else:
            choices = await _visible_rows(office, target, caller)
        known = {key for key, _ in choices}
        for obj in related:
            key = str(get_object_identifier(obj))
            if key not in known:
                choices.append((key, f"{type(obj).__name__} {key}"))
        result[name] = choices
    return result


async def search_choices(
    office: "BackOffice", model: Any, name: str, caller: Caller, query: str, page: int
) -> tuple[list[Choice], bool]:
    """One page of the related rows of ``name`` matching ``query`` that the caller may see,
    and whether more follow. Searched in the related service's ``search_fields`` (else its
    label column); never a secret-looking column; at most ``PAGE_SIZE`` rows read (+1)."""
    prop = _relationship(model, name)
    if prop is None:
        return [], False
    target = prop.mapper.class_
    resource = office.registry.for_model(target)
    async with office.session() as session:
        service = None if resource is None else resource.service(session, caller)
        conditions: list[Any] = []
        if service is not None and resource is not None:
            if not await may_view(service, resource):
                return [], False
            conditions = list(await service.readable())
        term = query.strip().lower()
        if term:
            names = [n for n in getattr(service, "search_fields", ()) if not SECRET_NAME.search(n)]
            columns = [getattr(target, n) for n in names] or _label_columns(target)[:1]
            pattern = like_pattern(term)
            matches = [func.lower(cast(c, String)).like(pattern, escape="\\") for c in columns]
            conditions.append(or_(*matches) if matches else false())
        stmt = (
            select(target)
            .where(*conditions)
            .order_by(*_keys(target))
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
        rows = list((await session.exec(stmt)).all())
        more = len(rows) > PAGE_SIZE
        choices = []
        for row in rows[:PAGE_SIZE]:
            if service is None or await service.can_see(row):
                choices.append((str(get_object_identifier(row)), object_label(row)))
        return choices, more


async def rows_by_keys(
    office: "BackOffice", target: Any, caller: Caller, keys: list[str]
) -> list[Choice]:
    """The rows named by ``keys`` that the caller may see (a malformed key names none)."""
    values = set()
    for key in dict.fromkeys(keys):
        try:
            values.add(pk_values_or_404(target, key)[0])
        except HTTPException:
            continue
    resource = office.registry.for_model(target)
    if not values or resource is None:
        return []
    async with office.session() as session:
        service = resource.service(session, caller)
        if not await may_view(service, resource):
            return []
        key_column = _keys(target)[0]
        stmt = select(target).where(key_column.in_(values), *await service.readable())
        return [
            (str(get_object_identifier(row)), object_label(row))
            for row in (await session.exec(stmt)).all()
            if await service.can_see(row)
        ]


async def _visible_rows(office: "BackOffice", target: Any, caller: Caller) -> list[Choice]:
    resource = office.registry.for_model(target)
    async with office.session() as session:
        if resource is None:
            rows = (await session.exec(select(target).order_by(*_keys(target)))).all()
            return [(str(get_object_identifier(row)), object_label(row)) for row in rows]
        service = resource.service(session, caller)
        if not await may_view(service, resource):
            return []
        query = select(target).where(*await service.readable()).order_by(*_keys(target))
        choices = []
        for row in (await session.exec(query)).all():
            if await service.can_see(row):
                choices.append((str(get_object_identifier(row)), object_label(row)))
        return choices


def _relationship(model: Any, name: str) -> RelationshipProperty[Any] | None:
    prop = sa_inspect(model).relationships.get(name)
    return prop if isinstance(prop, RelationshipProperty) else None


def _label_columns(model: Any) -> list[Any]:
    """Text columns that may name a row (as ``object_label`` picks one): not a key, no secret."""
    mapper: Any = sa_inspect(model)
    keys = {c.key for c in mapper.primary_key}
    return [
        getattr(model, attr.key)
        for attr in mapper.column_attrs
        if attr.key not in keys
        and not SECRET_NAME.search(attr.key)
        and _is_text(attr.columns[0].type)
    ]


def _is_text(column_type: Any) -> bool:
    """String, or a type built on it (SQLModel's AutoString); not an Enum."""
    impl = getattr(column_type, "impl", column_type)
    return isinstance(impl, String) and not isinstance(impl, Enum)


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
