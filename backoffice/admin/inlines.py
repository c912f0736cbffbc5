"""Inline rows: a parent's child rows edited on the parent's own form, as Django's inlines.

A view of a registered resource lists ``InlineAdmin`` classes in ``ResourceAdmin.inlines``.
The create and edit pages then show, under the parent's fields, a table of its child rows (plus
``extra`` blank ones, and an "Add another" button when JavaScript runs), each with a
"Delete" box. One submit saves the parent and every added, changed or deleted child row: each
child through its own resource's service (its rules, its permissions, its audit entry) in the
parent's unit of work (``services.batch``), so one refused child refuses the whole save, nothing
is written, and the reason is shown beside that row.

Field names follow Django's formsets: ``{prefix}-TOTAL`` rows, ``{prefix}-{i}-id`` (empty for a
new row), ``{prefix}-{i}-DELETE`` and ``{prefix}-{i}-{field}``.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, cast

from markupsafe import Markup
from sqlalchemy import inspect as sa_inspect
from sqlmodel import SQLModel, select
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from backoffice.admin.cells import cell_input, cell_text, submitted_value
from backoffice.errors import NotFound
from backoffice.services import Caller
from backoffice.services.batch import RowsRefused, Step, field_messages, save_all_or_nothing
from backoffice.services.bounds import int_bounds
from backoffice.services.resources import may_view

if TYPE_CHECKING:
    from backoffice.office import BackOffice
    from backoffice.registry import Resource


class InlineAdmin:
    """Options for one kind of child row edited on its parent's page. Only ``model`` is
    required; the child must be a registered resource with a foreign key to the parent."""

    model: ClassVar[type[SQLModel]]
    """The child table (e.g. ``InvoiceLine``)."""

    fk_name: ClassVar[str] = ""
    """The child's foreign-key column naming the parent; needed only if it has several."""

    fields: ClassVar[Sequence[str]] = ()
    """The child's columns shown as inputs. Default: its create variant's fields, the
    foreign key to the parent left out."""

    extra: ClassVar[int] = 1
    """Blank rows offered for new children (more are added with "Add another")."""

    max_rows: ClassVar[int] = 100
    """At most this many rows in one submit: a larger one is refused (400)."""

    can_delete: ClassVar[bool] = True
    """Offer a "Delete" box on each existing row."""

    label: ClassVar[str] = ""
    """The section's heading. Default: the child resource's plural label."""

    column_labels: ClassVar[dict[str, str]] = {}
    """Column headings by field. Default: the child's own admin labels, else the field's
    name in words."""


@dataclass
class InlineRow:
    index: int
    pk: str
    """The child's key as text; empty for a row to add."""
    texts: dict[str, str]
    delete: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    """Messages by field name; "" for the row as a whole."""


@dataclass
class Formset:
    """One inline section of one page: its options and its rows, as shown or as submitted."""

    inline: type[InlineAdmin]
    resource: "Resource"
    fk: str
    fields: list[str]
    rows: list[InlineRow]

    @property
    def prefix(self) -> str:
        return self.resource.name

    @property
    def label(self) -> str:
        return self.inline.label or self.resource.label_plural

    def heading(self, name: str) -> str:
        own = getattr(self.resource.admin_class, "column_labels", {})
        labels = {**(own if isinstance(own, dict) else {}), **self.inline.column_labels}
        label = labels.get(name)
        return label if isinstance(label, str) else name.replace("_", " ").capitalize()

    def input(self, row: InlineRow, name: str) -> Markup:
        """The input of one cell (for the template)."""
        return cell_input(
            self.resource.model,
            name,
            row.texts.get(name, ""),
            input_name=f"{self.prefix}-{row.index}-{name}",
            label=f"{self.heading(name)} ({self.resource.label} {row.index + 1})",
            error=row.errors.get(name, ""),
        )

    def blank(self, index: int) -> InlineRow:
        return InlineRow(index, "", {name: "" for name in self.fields})

    @property
    def template_row(self) -> InlineRow:
        """The row "Add another" copies (its index is replaced by the script)."""
        return self.blank(999_999)

    @property
    def row_errors(self) -> bool:
        return any(row.errors for row in self.rows)


def inline_fields(inline: type[InlineAdmin], resource: "Resource", fk: str) -> list[str]:
    if inline.fields:
        return list(inline.fields)
    columns = sa_inspect(resource.model).columns
    return [n for n in resource.create_schema.model_fields if n != fk and n in columns]


def find_fk(inline: type[InlineAdmin], parent: type[SQLModel]) -> list[str]:
    """The child's foreign-key columns that name the parent's table."""
    parent_table = getattr(parent, "__table__", None)
    columns = sa_inspect(inline.model).columns
    return [
        c.key
        for c in columns
        if any(fk.column.table is parent_table for fk in c.foreign_keys)
        and (not inline.fk_name or c.key == inline.fk_name)
    ]


def formset_options(
    office: "BackOffice", inline: type[InlineAdmin], parent: type[SQLModel]
) -> tuple["Resource", str, list[str]]:
    resource = office.registry.for_model(inline.model)
    assert resource is not None  # checked at registration (ResourceAdmin.check)
    fk = find_fk(inline, parent)[0]
    return resource, fk, inline_fields(inline, resource, fk)


async def stored_formset(
    office: "BackOffice",
    inline: type[InlineAdmin],
    parent_model: type[SQLModel],
    parent_pk: Any,
    caller: Caller,
) -> Formset:
    """The section as stored: the parent's children the child service lets the caller see,
    then ``extra`` blank rows."""
    resource, fk, fields = formset_options(office, inline, parent_model)
    rows: list[InlineRow] = []
    if parent_pk is not None:
        async with office.session() as session:
            service = resource.service(session, caller)
            if await may_view(service, resource):
                model: Any = resource.model
                key = sa_inspect(model).primary_key[0]
                query = (
                    select(model)
                    .where(getattr(model, fk) == parent_pk, *await service.readable())
                    .order_by(key)
                    .limit(inline.max_rows)
                )
                for child in (await session.exec(query)).all():
                    if await service.can_see(child):
                        texts = {n: cell_text(getattr(child, n)) for n in fields}
                        pk = str(getattr(child, key.key))
                        rows.append(InlineRow(len(rows), pk, texts))
    formset = Formset(inline, resource, fk, fields, rows)
    stored = len(rows)
    rows.extend([formset.blank(stored + i) for i in range(inline.extra)])
    return formset


def submitted_formset(
    office: "BackOffice", inline: type[InlineAdmin], parent_model: type[SQLModel], form: FormData
) -> Formset:
    """The section as the form sent it; a malformed row count is a 400."""
    resource, fk, fields = formset_options(office, inline, parent_model)
    prefix = resource.name
    total_text = str(form.get(f"{prefix}-TOTAL") or "0")
    if not total_text.isdigit() or int(total_text) > inline.max_rows:
        detail = f"{resource.label_plural}: at most {inline.max_rows} rows at a time."
        raise HTTPException(status_code=400, detail=detail)
    rows = []
    for index in range(int(total_text)):
        texts = {n: _text(form, f"{prefix}-{index}-{n}") for n in fields}
        pk = _text(form, f"{prefix}-{index}-id").strip()
        if pk and not _names_a_row(resource.model, pk):
            raise HTTPException(status_code=400, detail=f"{pk[:20]!r} cannot name a row.")
        delete = bool(_text(form, f"{prefix}-{index}-DELETE"))
        rows.append(InlineRow(index, pk, texts, delete))
    return Formset(inline, resource, fk, fields, rows)


async def save_formsets(
    session: Any, caller: Caller, formsets: list[Formset], parent_pk: Any
) -> None:
    """Save every section's rows through their services in this unit of work: deletions
    first, then changes, then additions; every refused row gets its reason and
    ``RowsRefused`` is raised (the unit of work then rolls back)."""
    steps: list[tuple[int, Step]] = []
    for number, formset in enumerate(formsets):
        service = formset.resource.service(session, caller)
        for row in formset.rows:
            step = _step(service, formset, row, parent_pk)
            if step is not None:
                order = 0 if row.delete else 1 if row.pk else 2
                steps.append((order, ((number, row.index), step)))
    steps.sort(key=lambda item: item[0])
    try:
        await save_all_or_nothing(session, [step for _, step in steps])
    except RowsRefused as exc:
        for key, error in exc.refused.items():
            number, position = cast(tuple[int, int], key)
            formsets[number].rows[position].errors = field_messages(error)
        raise


def _step(
    service: Any, formset: Formset, row: InlineRow, parent_pk: Any
) -> Callable[[], Awaitable[Any]] | None:
    model, fk = formset.resource.model, formset.fk
    if not row.pk:
        if row.delete or not any(t.strip() for t in row.texts.values()):
            return None  # a blank (or struck out) new row: nothing to add
        values = {n: submitted_value(model, n, t) for n, t in row.texts.items()}
        values = {n: v for n, v in values.items() if v is not None}  # defaults apply

        async def add() -> Any:
            return await service.create({**values, fk: parent_pk})

        return add

    pk = int(row.pk)

    async def change() -> Any:
        child = await service.get(pk)
        if getattr(child, fk) != parent_pk:  # a key from elsewhere: not this parent's row
            raise NotFound(f"{formset.resource.label} {row.pk} is not part of this row.")
        if row.delete:
            return await service.delete(pk)
        changes = {
            n: submitted_value(model, n, t)
            for n, t in row.texts.items()
            if cell_text(getattr(child, n)) != t
        }
        return await service.update(pk, changes) if changes else child

    return change


def _names_a_row(model: Any, text: str) -> bool:
    """Is ``text`` a whole number the child's key column can hold?"""
    if not text.isdigit():
        return False
    low, high = int_bounds(sa_inspect(model).primary_key[0])
    return low <= int(text) <= high


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
