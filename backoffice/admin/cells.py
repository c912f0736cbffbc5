"""One column of one row as a form input: the cells of inline rows and list-editable columns.

A value travels as text (what the input shows and sends back); the service validates and
converts it, so the input only picks the control that fits the column (a checkbox for a
boolean, a select for an enum, a number box for an integer, else a text box).
"""

import enum
from typing import Any

from markupsafe import Markup
from sqlalchemy import Boolean, Integer, Numeric
from sqlalchemy import Enum as SAEnum
from sqlalchemy import inspect as sa_inspect

CHECKED = "on"
"""What a ticked checkbox sends."""


def cell_text(value: Any) -> str:
    """A stored value as the text its input holds (and sends back when left alone)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return CHECKED if value else ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def submitted_value(model: Any, name: str, text: str) -> Any:
    """The text an input sent, as the value given to the service (which validates it)."""
    column = _column(model, name)
    if column is not None and isinstance(column.type, Boolean):
        return text == CHECKED
    return None if not text.strip() else text


def cell_input(
    model: Any,
    name: str,
    text: str,
    *,
    input_name: str,
    label: str,
    form: str | None = None,
    error: str = "",
) -> Markup:
    """The input for column ``name`` of ``model`` holding ``text``; ``form`` ties it to a form
    elsewhere on the page (a list's cells live in its table, not in the form)."""
    column = _column(model, name)
    column_type = getattr(column, "type", None)
    attrs: dict[str, str] = {"name": input_name, "aria-label": label}
    if form:
        attrs["form"] = form
    invalid = " is-invalid" if error else ""
    if error:
        attrs["aria-invalid"] = "true"
    if isinstance(column_type, Boolean):
        html = Markup('<input type="checkbox" class="form-check-input{}" value="{}"{}{}>').format(
            invalid, CHECKED, _attrs(attrs), Markup(" checked") if text == CHECKED else ""
        )
    elif isinstance(column_type, SAEnum) and column_type.enum_class is not None:
        options = Markup("").join(
            Markup('<option value="{}"{}>{}</option>').format(
                member.value, Markup(" selected") if member.value == text else "", member.value
            )
            for member in column_type.enum_class
        )
        html = Markup('<select class="form-select form-select-sm{}"{}>{}</select>').format(
            invalid, _attrs(attrs), options
        )
    else:
        kind = "number" if isinstance(column_type, Integer | Numeric) else "text"
        attrs["value"] = text
        length = getattr(column_type, "length", None)
        if kind == "text" and length:
            attrs["maxlength"] = str(length)
        html = Markup('<input type="{}" class="form-control form-control-sm{}"{}>').format(
            kind, invalid, _attrs(attrs)
        )
    if error:
        html += Markup('<div class="invalid-feedback d-block bo-cell-error">{}</div>').format(error)
    return html


def _attrs(attrs: dict[str, str]) -> Markup:
    return Markup("").join(Markup(' {}="{}"').format(k, v) for k, v in attrs.items())


def _column(model: Any, name: str) -> Any:
    return sa_inspect(model).columns.get(name)
