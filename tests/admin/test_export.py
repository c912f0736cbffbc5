"""The admin's export: the list's rows (search, filters and sort applied), streamed, never a
secret column, formulas neutralised in CSV; only for someone the view allows to view."""

import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import httpx2
from starlette.requests import Request

from backoffice import BackOffice
from backoffice.admin.export import csv_cell, plain_value
from backoffice.admin.users import UserAdmin
from backoffice.models import User, UserAdminCreate
from backoffice.services import Caller
from tests.admin.conftest import AdminBrowser
from tests.conftest import Account, grant, make_user


def rows_of(response: httpx2.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))


def assert_no_secret(text: str, *accounts: Account) -> None:
    assert "hashed_password" not in text
    assert "$argon2" not in text and "$2b$" not in text
    for account in accounts:
        assert account.user.hashed_password not in text


async def named_user(office: BackOffice, username: str, full_name: str) -> Account:
    data = UserAdminCreate(
        email=f"{username}@example.com",
        username=username,
        full_name=full_name,
        password="Sup3rSecretPass",
    )
    async with office.session() as session:
        user = await office.users(session, Caller.operator("system")).create(data)
    return Account(user, "Sup3rSecretPass")


@asynccontextmanager
async def browser_on(office: BackOffice) -> AsyncIterator[AdminBrowser]:
    """A browser on an app built now (after the test changed the office's registry)."""
    transport = httpx2.ASGITransport(app=office.create_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield AdminBrowser(client)


async def test_csv_export_holds_only_the_searched_rows_and_no_hash(
    signed_in: AdminBrowser, office: BackOffice, superuser: Account
) -> None:
    accounts = [await make_user(office, name) for name in ("amy", "mia", "zed", "mial")]
    response = await signed_in.client.get("/admin/user/export/csv", params={"search": "mia"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and '.csv"' in disposition
    rows = rows_of(response)
    assert [row["username"] for row in rows] == ["mia", "mial"]
    assert "full_name" in rows[0] and "email" in rows[0]
    assert_no_secret(response.text, superuser, *accounts)


async def test_json_export_follows_search_and_sort_with_iso_dates(
    signed_in: AdminBrowser, office: BackOffice, superuser: Account
) -> None:
    accounts = [await make_user(office, name) for name in ("amy", "zed", "mia")]
    response = await signed_in.client.get(
        "/admin/user/export/json",
        params={"search": "@example.com", "sortBy": "username", "sort": "desc", "page": "2"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert '.json"' in response.headers["content-disposition"]
    items = response.json()
    # Every page of the list, not the one the list showed.
    assert [item["username"] for item in items] == ["zed", "root", "mia", "amy"]
    assert items[0]["created_at"].startswith("20") and "T" in items[0]["created_at"]
    assert items[0]["is_active"] is True
    assert set(items[0]) >= {"id", "email", "full_name", "last_login"}
    assert_no_secret(response.text, superuser, *accounts)


async def test_an_empty_result_is_a_header_or_an_empty_array(signed_in: AdminBrowser) -> None:
    params = {"search": "nobody-matches-this"}
    csv_response = await signed_in.client.get("/admin/user/export/csv", params=params)
    assert csv_response.text.splitlines()[0].startswith("id,email,username")
    assert rows_of(csv_response) == []
    json_response = await signed_in.client.get("/admin/user/export/json", params=params)
    assert json_response.json() == []


async def test_formulas_are_neutralised_in_csv_and_kept_as_they_are_in_json(
    signed_in: AdminBrowser, office: BackOffice
) -> None:
    names = {
        "eve": '=HYPERLINK("https://evil.example","click")',
        "plus": "+1",
        "minus": "-2+3",
        "atsign": "@SUM(A1:A2)",
        "tab": "\tTabbed",
        "fine": "Plain Name",
    }
    for username, full_name in names.items():
        await named_user(office, username, full_name)
    response = await signed_in.client.get("/admin/user/export/csv")
    cells = {row["username"]: row["full_name"] for row in rows_of(response)}
    for username, full_name in names.items():
        expected = full_name if username == "fine" else "'" + full_name
        assert cells[username] == expected, username
    assert cells["root"] == ""  # no name: an empty cell, not "None"
    items = (await signed_in.client.get("/admin/user/export/json")).json()
    assert {i["username"]: i["full_name"] for i in items}["eve"] == names["eve"]


class ListsTheHashAdmin(UserAdmin):
    """A careless configuration: the export list names the hash."""

    column_export_list: ClassVar[list[Any]] = [User.id, User.username, User.hashed_password]


async def test_a_secret_column_is_never_exported_even_when_listed(
    office: BackOffice, superuser: Account
) -> None:
    office.registry.get("users").admin_class = ListsTheHashAdmin
    async with browser_on(office) as browser:
        assert (await browser.login("root")).status_code == 302
        for kind in ("csv", "json"):
            response = await browser.client.get(f"/admin/user/export/{kind}")
            assert response.status_code == 200, kind
            assert "root" in response.text
            assert_no_secret(response.text, superuser)
        assert list(rows_of(await browser.client.get("/admin/user/export/csv"))[0]) == [
            "id",
            "username",
        ]


async def test_audit_log_export_filters_and_serialises_changes(
    signed_in: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    token = await signed_in.token(f"/admin/user/edit/{alice.id}")
    edited = await signed_in.client.post(
        f"/admin/user/edit/{alice.id}",
        data={
            "email": "alice@example.com",
            "username": "alice",
            "full_name": "=cmd|' /C calc'!A0",
            "is_active": "y",
            "csrf_token": token,
        },
    )
    assert edited.status_code == 302, edited.text
    response = await signed_in.client.get(
        "/admin/audit-entry/export/json", params={"action": "update"}
    )
    assert response.status_code == 200, response.text
    entries = response.json()
    assert entries and {e["action"] for e in entries} == {"update"}
    assert entries[0]["changes"]["full_name"] == [None, "=cmd|' /C calc'!A0"]
    assert_no_secret(response.text, alice)
    created = await signed_in.client.get(
        "/admin/audit-entry/export/csv", params={"action": "create", "object_type": "users"}
    )
    rows = rows_of(created)
    assert {(row["action"], row["object_type"]) for row in rows} == {("create", "users")}
    assert [json.loads(row["changes"])["username"][1] for row in rows] == ["alice", "root"]
    assert_no_secret(created.text, alice)


async def test_export_needs_a_signed_in_user(client: httpx2.AsyncClient) -> None:
    response = await client.get("/admin/user/export/csv")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["location"]


class NoViewUserAdmin(UserAdmin):
    def allows(self, request: Request, action: str) -> bool:
        return action != "view" and super().allows(request, action)


async def test_export_is_refused_when_the_view_does_not_allow_viewing(
    office: BackOffice, superuser: Account
) -> None:
    office.registry.get("users").admin_class = NoViewUserAdmin
    async with browser_on(office) as browser:
        assert (await browser.login("root")).status_code == 302
        for kind in ("csv", "json"):
            response = await browser.client.get(f"/admin/user/export/{kind}")
            assert response.status_code == 403, kind
            assert "root@example.com" not in response.text


async def test_staff_without_the_view_permission_gets_403_and_with_it_the_rows(
    browser: AdminBrowser, office: BackOffice
) -> None:
    clerk = await make_user(office, "clerk", is_staff=True)  # no permission at all
    assert (await browser.login("clerk")).status_code == 302
    for kind in ("csv", "json"):
        response = await browser.client.get(f"/admin/user/export/{kind}")
        assert response.status_code == 403, kind
        assert "clerk@example.com" not in response.text
    await grant(office, clerk, ["users.view"])
    response = await browser.client.get("/admin/user/export/csv")
    assert response.status_code == 200
    assert [row["username"] for row in rows_of(response)] == ["clerk"]
    assert_no_secret(response.text, clerk)


async def test_unknown_kind_or_view_is_a_404_and_a_bad_sort_a_400(
    signed_in: AdminBrowser,
) -> None:
    assert (await signed_in.client.get("/admin/user/export/xlsx")).status_code == 404
    assert (await signed_in.client.get("/admin/nothing/export/csv")).status_code == 404
    response = await signed_in.client.get(
        "/admin/user/export/csv", params={"sortBy": "hashed_password"}
    )
    assert response.status_code == 400


async def test_the_list_page_links_to_the_export_with_its_query(
    signed_in: AdminBrowser,
) -> None:
    page = await signed_in.client.get(
        "/admin/user/list", params={"search": "ali", "sortBy": "email", "sort": "desc", "page": "1"}
    )
    assert 'id="export-csv"' in page.text and 'id="export-json"' in page.text
    assert "/admin/user/export/csv?search=ali&amp;sortBy=email&amp;sort=desc" in page.text
    assert "page=1" not in page.text.split('id="export-json"')[1].split(">")[0]


def test_a_secret_inside_a_json_column_is_hidden_and_the_audit_marker_kept() -> None:
    value = {"api_key": "k-123", "password": "(changed)", "nested": {"token": "t"}, "name": "x"}
    assert plain_value(value) == {
        "api_key": "(hidden)",
        "password": "(changed)",
        "nested": {"token": "(hidden)"},
        "name": "x",
    }


def test_numbers_are_not_formulas_but_text_that_looks_like_one_is() -> None:
    assert csv_cell(-5) == "-5" and csv_cell(1.5) == "1.5" and csv_cell(True) == "true"
    assert csv_cell("-5") == "'-5" and csv_cell("\rx") == "'\rx" and csv_cell("a=b") == "a=b"
    assert csv_cell(["=x"]) == '["=x"]' and csv_cell(None) == ""
