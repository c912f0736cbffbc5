"""The admin applies a resource service's row rules on every page, as the API does: a staff user
with the view permission sees in the admin exactly the rows the API shows them, and a row the
API answers 404 for is missing on every admin page too."""

import csv
import io
import re

import pytest

from tests.admin import rules_models
from tests.admin.conftest import csrf_token
from tests.admin.rules_models import Library, scene, signed_in_as
from tests.conftest import bearer, grant, make_user

library = rules_models.library  # the fixture

_ROW_KEY = re.compile(r'<input type="hidden" value="(\d+)">')


async def test_list_count_and_export_hold_exactly_the_rows_the_api_lists(
    library: Library,
) -> None:
    office, client = library
    loans = await scene(office)
    api = await client.get("/api/loans/", headers=await bearer(client, "clerk"))
    assert api.status_code == 200, api.text
    api_ids = {item["id"] for item in api.json()["items"]}
    assert api_ids == {loans.mine, loans.returned, loans.archived}

    browser = await signed_in_as(client, "clerk")
    page = await browser.client.get("/admin/loan/list")
    assert page.status_code == 200
    assert {int(pk) for pk in _ROW_KEY.findall(page.text)} == api_ids
    assert f"of {api.json()['total']} items" in page.text
    assert "Someone else" not in page.text

    exported = await browser.client.get("/admin/loan/export/csv")
    assert exported.status_code == 200
    assert {int(row["id"]) for row in csv.DictReader(io.StringIO(exported.text))} == api_ids
    as_json = await browser.client.get("/admin/loan/export/json")
    assert {row["id"] for row in as_json.json()} == api_ids


async def test_the_superuser_still_sees_every_row(library: Library) -> None:
    office, client = library
    loans = await scene(office)
    browser = await signed_in_as(client, "root")
    page = await browser.client.get("/admin/loan/list")
    assert len(_ROW_KEY.findall(page.text)) == 4 and "of 4 items" in page.text
    assert (await browser.client.get(f"/admin/loan/details/{loans.others}")).status_code == 200


@pytest.mark.parametrize("hidden", ["others", "archived"])
async def test_a_row_the_api_hides_is_missing_on_every_admin_page(
    library: Library, hidden: str
) -> None:
    """``others`` is hidden by ``visible_conditions``, ``archived`` by ``has_permission``."""
    office, client = library
    loans = await scene(office)
    pk = getattr(loans, hidden)
    api = await bearer(client, "clerk")
    assert (await client.get(f"/api/loans/{pk}", headers=api)).status_code == 404

    browser = await signed_in_as(client, "clerk")
    for page in ("details", "edit", "history"):
        response = await browser.client.get(f"/admin/loan/{page}/{pk}")
        assert response.status_code == 404, (page, response.text)
        assert "secret" not in response.text and "archived" not in response.text.lower()
    token = await browser.token("/admin/loan/list")
    edit = await browser.client.post(
        f"/admin/loan/edit/{pk}", data={"title": "Taken", "csrf_token": token, "save": "Save"}
    )
    assert edit.status_code == 404
    deleted = await browser.client.delete(
        "/admin/loan/delete", params={"pks": str(pk)}, headers={"X-CSRF-Token": token}
    )
    assert deleted.status_code == 404
    root = await bearer(client, "root")
    assert (await client.get(f"/api/loans/{pk}", headers=root)).status_code == 200


async def test_a_visible_row_the_caller_may_not_change_is_forbidden_not_missing(
    library: Library,
) -> None:
    office, client = library
    loans = await scene(office)
    api = await bearer(client, "clerk")
    assert (await client.get(f"/api/loans/{loans.returned}", headers=api)).status_code == 200
    patched = await client.patch(f"/api/loans/{loans.returned}", json={"title": "x"}, headers=api)
    assert patched.status_code == 403

    browser = await signed_in_as(client, "clerk")
    assert (await browser.client.get(f"/admin/loan/details/{loans.returned}")).status_code == 200
    assert (await browser.client.get(f"/admin/loan/edit/{loans.returned}")).status_code == 403
    assert (await browser.client.get(f"/admin/loan/edit/{loans.mine}")).status_code == 200
    assert (await browser.client.get(f"/admin/loan/history/{loans.mine}")).status_code == 200
    # The list offers no edit link for the row the caller may not change.
    listing = (await browser.client.get("/admin/loan/list")).text
    assert f"/admin/loan/edit/{loans.mine}" in listing
    assert f"/admin/loan/edit/{loans.returned}" not in listing


async def test_the_bulk_confirmation_names_only_rows_the_caller_may_see(
    library: Library,
) -> None:
    office, client = library
    loans = await scene(office)
    browser = await signed_in_as(client, "clerk")
    selection = [loans.mine, loans.others, loans.archived]
    page = await browser.client.get(
        "/admin/loan/bulk/delete_selected", params={"pks": ",".join(map(str, selection))}
    )
    assert page.status_code == 200
    listed = re.findall(
        r'<tr class="bulk-row" data-pk="(\d+)"[^>]*>\s*<td[^>]*>\d+</td>\s*'
        r'<td class="bulk-label[^"]*">([^<]*)</td>',
        page.text,
    )
    assert [(int(pk), label.strip()) for pk, label in listed] == [(loans.mine, "Mine open")]
    assert "Someone else" not in page.text and "Mine archived" not in page.text
    api = await bearer(client, "clerk")
    for pk in (loans.others, loans.archived):
        assert (await client.get(f"/api/loans/{pk}", headers=api)).status_code == 404

    # Confirmed, the hidden rows are refused as missing and stay; the visible one goes.
    result = await browser.client.post(
        "/admin/loan/bulk/delete_selected",
        data={"pks": ",".join(map(str, selection)), "csrf_token": csrf_token(page.text)},
    )
    assert result.status_code == 200
    assert "Someone else" not in result.text and "Mine archived" not in result.text
    root = await bearer(client, "root")
    remaining = await client.get("/api/loans/", headers=root)
    assert {item["id"] for item in remaining.json()["items"]} == {
        loans.returned,
        loans.others,
        loans.archived,
    }


async def test_a_reference_to_a_user_names_only_accounts_the_caller_may_see(
    library: Library,
) -> None:
    """A member holding ``loans.add`` but not ``users.view`` may name their own account (they
    see it) but not another's, which is missing to them, as ``GET /api/users/{id}`` says."""
    office, client = library
    await scene(office)
    member = await make_user(office, "member", is_staff=True)
    await grant(office, member, ["loans.add", "loans.view"])
    reader = await client.get("/api/users/", headers=await bearer(client, "root"))
    reader_id = next(u["id"] for u in reader.json()["items"] if u["username"] == "reader")
    headers = await bearer(client, "member")

    own = await client.post(
        "/api/loans/", json={"title": "Dune", "member_id": member.id}, headers=headers
    )
    assert own.status_code == 201, own.text
    other = await client.post(
        "/api/loans/", json={"title": "Emma", "member_id": reader_id}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["msg"] == f"user {reader_id} does not exist."
