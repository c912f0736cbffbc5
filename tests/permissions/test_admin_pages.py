"""What the admin shows follows the same permissions as what it does: the menu entry needs
view, the "New" button add, the Edit button change and the Delete button delete."""

import httpx2
import pytest

from backoffice import BackOffice
from backoffice.services import Caller
from tests.conftest import grant, make_user
from tests.permissions.conftest import Admin

VIEW = "invoices.view"


@pytest.mark.parametrize(
    "held",
    [
        pytest.param([], id="nothing"),
        pytest.param([VIEW], id="view"),
        pytest.param([VIEW, "invoices.add"], id="view+add"),
        pytest.param([VIEW, "invoices.change"], id="view+change"),
        pytest.param([VIEW, "invoices.delete"], id="view+delete"),
        pytest.param(
            [VIEW, "invoices.add", "invoices.change", "invoices.delete"],
            id="view+add+change+delete",
        ),
    ],
)
async def test_menu_and_buttons_follow_the_permissions(
    held: list[str], office: BackOffice, client: httpx2.AsyncClient
) -> None:
    async with office.session() as session:
        system = Caller.operator("system")
        customer = await office.service("customers", session, system).create({"name": "ACME"})
        invoice = await office.service("invoices", session, system).create(
            {"number": "INV-1", "customer_id": customer.id, "amount_cents": 100}
        )
    clerk = await make_user(office, "clerk", is_staff=True)
    await grant(office, clerk, held)
    admin = Admin(client)
    assert await admin.sign_in("clerk")

    home = await admin.get("/admin/")
    assert home.status_code == 200, Admin.describe(home)
    assert ("/admin/invoice/list" in home.text) == (VIEW in held)
    assert "/admin/customer/list" not in home.text  # nothing held on customers

    listing = await admin.get("/admin/invoice/list")
    details = await admin.get(f"/admin/invoice/details/{invoice.id}")
    if VIEW not in held:
        assert (listing.status_code, details.status_code) == (403, 403)
        return
    assert listing.status_code == 200 and "INV-1" in listing.text
    assert details.status_code == 200 and "INV-1" in details.text
    assert ("/admin/invoice/create" in listing.text) == ("invoices.add" in held)
    for page in (listing, details):
        assert (f"/admin/invoice/edit/{invoice.id}" in page.text) == ("invoices.change" in held)
        assert (f"/admin/invoice/delete?pks={invoice.id}" in page.text) == (
            "invoices.delete" in held
        )
