"""A bulk selection is read in linear time with the row cap checked first: one POST of 120,000
ids used to hold the server for about a minute before it was refused."""

import re

from backoffice.admin.bulk import BulkActionView
from tests.admin.conftest import AdminBrowser
from tests.conftest import Account

CAP = f"Select at most {BulkActionView.bulk_max_rows} rows at a time."


async def confirmation_token(browser: AdminBrowser, pk: int) -> str:
    page = await browser.client.get("/admin/user/bulk/delete_selected", params={"pks": str(pk)})
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


async def test_a_huge_selection_is_refused_by_its_size_before_any_id_is_read(
    signed_in: AdminBrowser, alice: Account
) -> None:
    token = await confirmation_token(signed_in, alice.id)
    # The last part is not a number: refused for its size, so it was never converted.
    pks = ",".join(str(n) for n in range(1, 120_000)) + ",x"
    response = await signed_in.client.post(
        "/admin/user/bulk/delete_selected", data={"pks": pks, "csrf_token": token}
    )
    assert response.status_code == 400
    assert CAP in response.text
    assert (await signed_in.client.get(f"/admin/user/details/{alice.id}")).status_code == 200


async def test_the_cap_counts_parts_and_duplicates_are_kept_once(
    signed_in: AdminBrowser, alice: Account
) -> None:
    url = "/admin/user/bulk/delete_selected"
    at_cap = ",".join([str(alice.id)] * BulkActionView.bulk_max_rows)
    page = await signed_in.client.get(url, params={"pks": at_cap + ",,"})
    assert page.status_code == 200
    assert page.text.count('class="bulk-row"') == 1
    over = await signed_in.client.get(url, params={"pks": at_cap + f",{alice.id}"})
    assert over.status_code == 400 and CAP in over.text
