"""The user admin's "Set password" form: UserService.set_password behind a CSRF'd form."""

import httpx2
import pytest

from backoffice.admin.users import UserAdmin
from tests.admin.conftest import AdminBrowser, form_error
from tests.conftest import DEFAULT_PASSWORD, Account, bearer

NEW_PASSWORD = "Fresh-Passw0rd-9"


async def api_login(client: httpx2.AsyncClient, login: str, password: str) -> int:
    response = await client.post("/api/auth/login", data={"username": login, "password": password})
    return response.status_code


async def set_password(
    browser: AdminBrowser, user_id: int, first: str, second: str | None = None
) -> httpx2.Response:
    path = f"/admin/user/set-password/{user_id}"
    token = await browser.token(path)
    data = {"password": first, "password2": first if second is None else second}
    return await browser.client.post(path, data={**data, "csrf_token": token})


async def test_set_password_replaces_the_old_one_and_ends_the_users_tokens(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, alice: Account
) -> None:
    headers = await bearer(client, "alice")
    response = await set_password(signed_in, alice.id, NEW_PASSWORD)
    assert response.status_code == 302, form_error(response.text)
    assert response.headers["location"].endswith(f"/admin/user/details/{alice.id}")

    details = await signed_in.client.get(response.headers["location"])
    assert "The password of alice was changed" in details.text
    assert await api_login(client, "alice", DEFAULT_PASSWORD) == 401
    assert await api_login(client, "alice", NEW_PASSWORD) == 200
    assert (await client.get("/api/users/me", headers=headers)).status_code == 401


async def test_the_change_is_in_the_history_without_any_value(
    signed_in: AdminBrowser, alice: Account
) -> None:
    assert (await set_password(signed_in, alice.id, NEW_PASSWORD)).status_code == 302
    history = await signed_in.client.get(f"/admin/user/history/{alice.id}")
    assert "<strong>Password</strong>:" in history.text
    assert NEW_PASSWORD not in history.text and "$argon2" not in history.text


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("Password1", None, "too common"),
        ("Sh0rt", None, "at least"),
        ("alllowercase1", None, "upper-case"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The two passwords differ."),
        ("", "", "Fill in both password fields."),
    ],
)
async def test_a_refused_password_is_reported_on_the_form_and_changes_nothing(
    signed_in: AdminBrowser,
    client: httpx2.AsyncClient,
    alice: Account,
    first: str,
    second: str | None,
    message: str,
) -> None:
    response = await set_password(signed_in, alice.id, first, second)
    assert response.status_code == 400
    assert message in (form_error(response.text) or "")
    if first:
        assert f'value="{first}"' not in response.text
        assert first not in (form_error(response.text) or "")
    assert await api_login(client, "alice", DEFAULT_PASSWORD) == 200


async def test_a_post_without_the_csrf_token_changes_nothing(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, alice: Account
) -> None:
    response = await signed_in.client.post(
        f"/admin/user/set-password/{alice.id}",
        data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 403
    assert await api_login(client, "alice", NEW_PASSWORD) == 401
    assert await api_login(client, "alice", DEFAULT_PASSWORD) == 200


async def test_an_unknown_user_is_not_found(signed_in: AdminBrowser) -> None:
    for pk in ("424242", "abc", "99999999999999999999999"):
        assert (await signed_in.client.get(f"/admin/user/set-password/{pk}")).status_code == 404
    token = await signed_in.token()
    response = await signed_in.client.post(
        "/admin/user/set-password/424242",
        data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 404


async def test_only_users_have_a_set_password_page(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, alice: Account
) -> None:
    created = await client.post(
        "/api/posts/", json={"title": "T"}, headers=await bearer(client, "alice")
    )
    post_id = created.json()["id"]
    assert (await signed_in.client.get(f"/admin/post/set-password/{post_id}")).status_code == 404


async def test_details_and_edit_pages_link_to_the_form(
    signed_in: AdminBrowser, alice: Account
) -> None:
    link = f'href="http://testserver/admin/user/set-password/{alice.id}"'
    assert link in (await signed_in.client.get(f"/admin/user/details/{alice.id}")).text
    assert link in (await signed_in.client.get(f"/admin/user/edit/{alice.id}")).text


async def test_without_the_change_permission_the_form_is_forbidden_and_not_linked(
    signed_in: AdminBrowser, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(UserAdmin, "allows", lambda self, request, action: action == "view")

    assert (await signed_in.client.get(f"/admin/user/set-password/{alice.id}")).status_code == 403
    details = await signed_in.client.get(f"/admin/user/details/{alice.id}")
    assert details.status_code == 200
    assert "/set-password/" not in details.text


async def test_the_services_refusal_is_reported_on_the_form(
    browser: AdminBrowser,
    client: httpx2.AsyncClient,
    staff: Account,
    superuser: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the page's own check, the service still decides, before the form is shown: staff
    never reset a superuser."""
    monkeypatch.setattr(UserAdmin, "allows", lambda self, request, action: True)
    assert (await browser.login("staffer")).status_code == 302
    path = f"/admin/user/set-password/{superuser.id}"
    page = await browser.client.get(path)
    assert page.status_code == 403
    assert "Only a superuser can change or delete a superuser account." in page.text
    data = {
        "password": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "csrf_token": await browser.token(),
    }
    assert (await browser.client.post(path, data=data)).status_code == 403
    assert await api_login(client, "root", DEFAULT_PASSWORD) == 200
