"""How the admin writes values a person reads: every date and time in one format, with its time
zone (``4 Dec 2026, 13:24 UTC``; the exact instant in the element's title), and an audit
entry's changes as its History page shows them."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from markupsafe import Markup
from sqladmin.formatters import BASE_FORMATTERS


def when(value: datetime | date | None) -> Markup:
    """A ``<time>`` element: readable text, the machine-readable instant in ``datetime``."""
    if value is None:
        return Markup("")
    if not isinstance(value, datetime):
        return Markup('<time datetime="{}">{}</time>').format(
            value.isoformat(), f"{value.day} {value:%b %Y}"
        )
    moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    exact = f"{moment:%Y-%m-%d %H:%M:%S} UTC"
    # Two unbreakable halves: in a narrow column the time goes under the date, never "4 / Dec".
    return Markup(
        '<time datetime="{}" title="{}"><span class="text-nowrap">{},</span> '
        '<span class="text-nowrap">{} UTC</span></time>'
    ).format(moment.isoformat(), exact, f"{moment.day} {moment:%b %Y}", f"{moment:%H:%M}")


TYPE_FORMATTERS: dict[Any, Any] = {**BASE_FORMATTERS, datetime: when, date: when}
"""SQLAdmin's formatters by type, dates and times ours: for list and details pages."""


def changes_list(changes: dict[str, Any] | None) -> Markup:
    """An audit entry's ``{field: [before, after]}`` as the History page lists it: human
    labels, dates as everywhere else, yes/no for flags; a secret field only as changed."""
    if not changes:
        return Markup('<span class="text-secondary">—</span>')
    items = []
    for field, change in sorted(changes.items()):
        label = human_label(field)
        if isinstance(change, list | tuple) and len(change) == 2:
            items.append(
                Markup(
                    '<li class="history-change"><strong>{}</strong>: '
                    '<span class="history-before">{}</span> → '
                    '<span class="history-after">{}</span></li>'
                ).format(label, recorded_value(change[0]), recorded_value(change[1]))
            )
        else:
            items.append(
                Markup(
                    '<li class="history-change"><strong>{}</strong>: <em>changed</em></li>'
                ).format(label)
            )
    return Markup('<ul class="list-unstyled mb-0">{}</ul>').format(Markup("").join(items))


_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def recorded_value(value: Any) -> Any:
    """A value as the audit log stored it (JSON), shown as the pages show such values."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and _ISO_MOMENT.match(value):
        try:
            return when(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return value


SPECIAL_LABELS = {"id": "ID", "created_at": "Created", "updated_at": "Updated", "url": "URL"}


def human_label(name: str) -> str:
    """A column's name as a person reads it: ``author_id`` → "Author", ``created_at`` →
    "Created", ``full_name`` → "Full name", ``id`` → "ID"."""
    if name in SPECIAL_LABELS:
        return SPECIAL_LABELS[name]
    words = name.removeprefix("is_").removesuffix("_id").removesuffix("_at")
    words = words.replace("_", " ").strip() or name
    return words[:1].upper() + words[1:]


def label_of(view: Any, obj: Any) -> str:
    """How a page names one row of ``view`` (its list's label: ``bulk_row_label``)."""
    label = getattr(view, "bulk_row_label", None)
    return str(label(obj)) if label is not None else str(obj)


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any
    secret: bool
    """A secret field: recorded as changed, its values never stored."""


def field_changes(changes: dict[str, Any]) -> list[FieldChange]:
    """An entry's ``{field: [before, after]}`` as rows; a secret's marker as a bare change."""
    rows = []
    for field, change in sorted(changes.items()):
        label = field.replace("_", " ")
        if isinstance(change, list | tuple) and len(change) == 2:
            rows.append(FieldChange(label, change[0], change[1], secret=False))
        else:
            rows.append(FieldChange(label, None, None, secret=True))
    return rows
