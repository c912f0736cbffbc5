"""``save_all_or_nothing``: each row through its service in a savepoint, every refusal reported,
nothing written if one is refused (on SQLite and PostgreSQL alike)."""

import pytest
from fastapi import FastAPI
from sqlmodel import select

from backoffice import BackOffice
from backoffice.errors import Conflict
from backoffice.services import Caller
from backoffice.services.batch import RowsRefused, field_messages, save_all_or_nothing
from examples.invoicing.models import Customer

SYSTEM = Caller.operator("system")


async def names(office: BackOffice) -> list[str]:
    async with office.session() as session:
        return sorted(c.name for c in (await session.exec(select(Customer))).all())


async def test_every_refused_row_is_reported_and_nothing_is_written(host_app: FastAPI) -> None:
    office: BackOffice = host_app.state.backoffice
    with pytest.raises(RowsRefused) as refused:
        async with office.session() as session:
            customers = office.service("customers", session, SYSTEM)

            def add(name: str):  # type: ignore[no-untyped-def]
                return lambda: customers.create({"name": name})

            await save_all_or_nothing(
                session,
                [("a", add("Acme")), ("b", add("")), ("c", add("Zeta")), ("d", add("x" * 300))],
            )
    assert sorted(refused.value.refused) == ["b", "d"]  # both, not only the first
    assert "name" in field_messages(refused.value.refused["b"])
    assert refused.value.detail.startswith("Nothing was saved: 2 rows were refused")
    assert await names(office) == []  # the valid rows were rolled back with the unit of work


async def test_a_failed_flush_is_undone_alone_and_the_next_rows_still_run(
    host_app: FastAPI,
) -> None:
    """A database error inside one row (a unique clash at flush) leaves the session usable."""
    office: BackOffice = host_app.state.backoffice
    async with office.session() as session:
        customer = await office.service("customers", session, SYSTEM).create({"name": "Acme"})
    with pytest.raises(RowsRefused) as refused:
        async with office.session() as session:
            invoices = office.service("invoices", session, SYSTEM)

            def add(number: str):  # type: ignore[no-untyped-def]
                values = {"number": number, "customer_id": customer.id, "amount_cents": 1}
                return lambda: invoices.create(values)

            await save_all_or_nothing(
                session, [(1, add("INV-1")), (2, add("INV-1")), (3, add("INV-3"))]
            )
    assert list(refused.value.refused) == [2]
    assert isinstance(refused.value.refused[2], Conflict)


async def test_when_no_row_is_refused_every_row_is_written(host_app: FastAPI) -> None:
    office: BackOffice = host_app.state.backoffice
    async with office.session() as session:
        customers = office.service("customers", session, SYSTEM)
        results = await save_all_or_nothing(
            session,
            [(n, lambda n=n: customers.create({"name": n})) for n in ("Acme", "Zeta")],  # type: ignore[misc]
        )
        assert [c.name for c in results] == ["Acme", "Zeta"]
    assert await names(office) == ["Acme", "Zeta"]
