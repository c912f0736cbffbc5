"""Who may enter the admin, and how a session ends."""

import httpx2

from backoffice import BackOffice
from backoffice.admin.auth import SESSION_COOKIE
from tests.admin.conftest import AdminBrowser, csrf_token
from tests.conftest import Account, make_staff, make_user


async def test_anonymous_visitor_is_sent_to_login(client: httpx2.AsyncClient) -> None:
    response = await client.get("/admin/user/list")
    assert response.status_code == 302
    assert response.headers["location"].endswith("/admin/login?next=%2Fadmin%2Fuser%2Flist")


async def test_superuser_signs_in_with_username_or_email(
    browser: AdminBrowser, superuser: Account
) -> None:
    response = await browser.login("ROOT@example.com")
    assert response.status_code == 302
    assert response.headers["location"].endswith("/admin/")
    page = await browser.client.get("/admin/user/list")
    assert page.status_code == 200
    assert "root@example.com" in page.text


async def test_staff_user_may_sign_in(browser: AdminBrowser, staff: Account) -> None:
    assert (await browser.login("staffer")).status_code == 302


async def test_non_staff_user_is_refused_like_a_wrong_password(
    browser: AdminBrowser, alice: Account, superuser: Account
) -> None:
    refused = await browser.login("alice")
    wrong = await browser.login("root", "Wrong-passw0rd")
    assert refused.status_code == wrong.status_code == 400
    assert "Invalid credentials" in refused.text and "Invalid credentials" in wrong.text
    assert (await browser.client.get("/admin/user/list")).status_code == 302


async def test_inactive_staff_user_is_refused(browser: AdminBrowser, office: BackOffice) -> None:
    await make_user(office, "former", is_staff=True, is_active=False)
    assert (await browser.login("former")).status_code == 400


async def test_session_cookie_is_httponly_samesite_and_short_lived(
    browser: AdminBrowser, superuser: Account
) -> None:
    response = await browser.login("root")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    max_age = int(cookie.lower().split("max-age=")[1].split(";")[0])
    assert max_age <= 24 * 3600
    assert "root" not in cookie.split(";")[0].split("=", 1)[1]  # no readable user data


async def test_logout_is_a_post_and_ends_the_session(signed_in: AdminBrowser) -> None:
    assert (await signed_in.client.get("/admin/logout")).status_code == 405
    token = await signed_in.token()
    response = await signed_in.client.post("/admin/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert (await signed_in.client.get("/admin/user/list")).status_code == 302


async def test_password_change_ends_existing_admin_sessions(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, superuser: Account
) -> None:
    headers = {"Authorization": f"Bearer {await _token(client, 'root', superuser.password)}"}
    changed = await client.post(
        "/api/users/me/password",
        json={"current_password": superuser.password, "new_password": "An0ther-Secret"},
        headers=headers,
    )
    assert changed.status_code == 204
    assert (await signed_in.client.get("/admin/user/list")).status_code == 302


async def test_demoted_staff_user_loses_the_admin_on_the_next_request(
    browser: AdminBrowser, office: BackOffice, superuser: Account
) -> None:
    staffer = await make_staff(office, "helper")
    assert (await browser.login("helper")).status_code == 302
    assert (await browser.client.get("/admin/post/list")).status_code == 200
    from backoffice.models import UserUpdate
    from backoffice.services import Caller

    async with office.session() as session:
        await office.users(session, Caller.operator()).update(
            staffer.id, UserUpdate(is_staff=False)
        )
    assert (await browser.client.get("/admin/post/list")).status_code == 302


async def test_login_form_without_csrf_token_is_refused(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    await client.get("/admin/login")
    response = await client.post(
        "/admin/login", data={"username": "root", "password": superuser.password}
    )
    assert response.status_code == 403
    assert (await client.get("/admin/user/list")).status_code == 302


async def test_login_page_carries_a_csrf_token(client: httpx2.AsyncClient) -> None:
    page = await client.get("/admin/login")
    assert csrf_token(page.text)


async def _token(client: httpx2.AsyncClient, login: str, password: str) -> str:
    response = await client.post("/api/auth/login", data={"username": login, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])
