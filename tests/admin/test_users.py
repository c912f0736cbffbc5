"""The user admin writes through UserService: the same rules as the API, never a hash shown."""

import httpx2
from sqlmodel import func, select

from backoffice import BackOffice
from backoffice.models import User
from tests.admin.conftest import AdminBrowser, form_error
from tests.conftest import Account, bearer, in_trash, make_user

NEW_USER = {
    "email": "newbie@example.com",
    "username": "newbie",
    "full_name": "New Bie",
    "password": "Fresh-Passw0rd",
    "is_active": "y",
}


async def count_users(office: BackOffice) -> int:
    async with office.session() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_user_created_in_admin_can_log_into_the_api(
    signed_in: AdminBrowser, client: httpx2.AsyncClient
) -> None:
    response = await signed_in.submit("/admin/user/create", NEW_USER)
    assert response.status_code == 302, form_error(response.text)
    headers = await bearer(client, "newbie", NEW_USER["password"])
    me = await client.get("/api/users/me", headers=headers)
    assert me.json()["email"] == "newbie@example.com"
    assert me.json()["is_staff"] is False


async def test_user_registered_through_the_api_shows_in_the_admin_list(
    signed_in: AdminBrowser, client: httpx2.AsyncClient
) -> None:
    registered = await client.post(
        "/api/users/",
        json={"email": "carol@example.com", "username": "carol", "password": "Car0l-password"},
    )
    assert registered.status_code == 201
    page = await signed_in.client.get("/admin/user/list", params={"search": "carol"})
    assert "carol@example.com" in page.text


async def test_no_page_shows_a_password_hash(signed_in: AdminBrowser, alice: Account) -> None:
    for path in (
        "/admin/user/list",
        f"/admin/user/details/{alice.id}",
        f"/admin/user/edit/{alice.id}",
        "/admin/user/create",
    ):
        page = await signed_in.client.get(path)
        assert page.status_code == 200, path
        assert alice.user.hashed_password not in page.text, path
        assert "$argon2" not in page.text, path
        assert "hashed_password" not in page.text.lower().replace(" ", "_"), path


async def test_weak_password_is_refused_on_the_form_and_nothing_is_written(
    signed_in: AdminBrowser, office: BackOffice
) -> None:
    before = await count_users(office)
    response = await signed_in.submit(
        "/admin/user/create", {**NEW_USER, "password": "alllowercase1"}
    )
    assert response.status_code == 400
    assert "upper-case" in (form_error(response.text) or "")
    assert "alllowercase1" not in response.text
    assert await count_users(office) == before


async def test_invalid_email_and_username_are_reported_on_the_form(signed_in: AdminBrowser) -> None:
    response = await signed_in.submit(
        "/admin/user/create", {**NEW_USER, "email": "not-an-email", "username": "no spaces"}
    )
    assert response.status_code == 400
    message = form_error(response.text) or ""
    assert "valid email address" in message and "only letters" in message
    # each beside its own field, one line each
    assert response.text.count('class="invalid-feedback"') == 2


async def test_a_reserved_username_is_a_form_error_on_create_and_edit(
    signed_in: AdminBrowser, alice: Account, office: BackOffice
) -> None:
    before = await count_users(office)
    created = await signed_in.submit("/admin/user/create", {**NEW_USER, "username": "Operator"})
    renamed = await signed_in.submit(
        f"/admin/user/edit/{alice.id}",
        {"email": "alice@example.com", "username": "system", "is_active": "y"},
    )

    for response in (created, renamed):
        assert response.status_code == 400
        assert "is reserved" in (form_error(response.text) or "")
    assert await count_users(office) == before
    async with office.session() as session:
        user = await session.get(User, alice.id)
        assert user is not None and user.username == "alice"


async def test_duplicate_email_is_a_form_error_not_a_500(
    signed_in: AdminBrowser, alice: Account, office: BackOffice
) -> None:
    before = await count_users(office)
    response = await signed_in.submit(
        "/admin/user/create", {**NEW_USER, "email": "ALICE@example.com"}
    )
    assert response.status_code == 400
    assert form_error(response.text) == "A user with this email already exists."
    assert await count_users(office) == before


async def test_edit_changes_the_user_and_keeps_the_password(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, alice: Account
) -> None:
    response = await signed_in.submit(
        f"/admin/user/edit/{alice.id}",
        {
            "email": "alice@example.org",
            "username": "alice",
            "full_name": "Alice A",
            "is_active": "y",
        },
    )
    assert response.status_code == 302, form_error(response.text)
    headers = await bearer(client, "alice@example.org", alice.password)
    assert (await client.get("/api/users/me", headers=headers)).json()["full_name"] == "Alice A"


async def test_last_superuser_cannot_be_demoted_through_admin(
    signed_in: AdminBrowser, superuser: Account
) -> None:
    response = await signed_in.submit(
        f"/admin/user/edit/{superuser.id}",
        {"email": "root@example.com", "username": "root", "is_active": "y", "is_staff": "y"},
    )
    assert response.status_code == 400
    assert "last active superuser" in (form_error(response.text) or "")


async def test_last_superuser_cannot_be_deleted_through_admin(
    signed_in: AdminBrowser, superuser: Account, office: BackOffice
) -> None:
    response = await signed_in.delete("user", superuser.id)
    assert response.status_code == 200
    assert "last+active+superuser" in response.text
    async with office.session() as session:
        assert await session.get(User, superuser.id) is not None


async def test_delete_removes_an_ordinary_user(
    signed_in: AdminBrowser, alice: Account, office: BackOffice
) -> None:
    response = await signed_in.delete("user", alice.id)
    assert response.status_code == 200
    assert "error=" not in response.text
    assert await in_trash(office, User, alice.id)
    listing = await signed_in.client.get("/admin/user/list")
    assert "alice@example.com" not in listing.text
    assert f"User {alice.id} was deleted (to the trash)." in listing.text


async def test_staff_cannot_make_anyone_a_superuser(
    browser: AdminBrowser, staff: Account, alice: Account, office: BackOffice
) -> None:
    assert (await browser.login("staffer")).status_code == 302
    response = await browser.submit(
        f"/admin/user/edit/{alice.id}",
        {"email": "alice@example.com", "username": "alice", "is_active": "y", "is_superuser": "y"},
    )
    assert response.status_code == 400
    assert "Only a superuser" in (form_error(response.text) or "")
    async with office.session() as session:
        user = await session.get(User, alice.id)
        assert user is not None and not user.is_superuser


async def test_list_search_and_sort(signed_in: AdminBrowser, office: BackOffice) -> None:
    for name in ("zed", "amy", "mia"):
        await make_user(office, name)
    page = await signed_in.client.get("/admin/user/list", params={"search": "mia"})
    assert "mia@example.com" in page.text and "amy@example.com" not in page.text
    page = await signed_in.client.get(
        "/admin/user/list", params={"sortBy": "username", "sort": "asc"}
    )
    text = page.text
    assert (
        text.index("amy@example.com")
        < text.index("mia@example.com")
        < text.index("zed@example.com")
    )


async def test_form_post_without_csrf_token_changes_nothing(
    signed_in: AdminBrowser, office: BackOffice
) -> None:
    before = await count_users(office)
    response = await signed_in.client.post("/admin/user/create", data=NEW_USER)
    assert response.status_code == 403
    assert await count_users(office) == before


async def test_cross_origin_post_changes_nothing_even_with_a_token(
    signed_in: AdminBrowser, office: BackOffice
) -> None:
    before = await count_users(office)
    token = await signed_in.token("/admin/user/create")
    response = await signed_in.client.post(
        "/admin/user/create",
        data={**NEW_USER, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert await count_users(office) == before


async def test_delete_without_csrf_header_changes_nothing(
    signed_in: AdminBrowser, alice: Account, office: BackOffice
) -> None:
    response = await signed_in.client.delete("/admin/user/delete", params={"pks": str(alice.id)})
    assert response.status_code == 403
    async with office.session() as session:
        assert await session.get(User, alice.id) is not None


async def test_admin_pages_are_not_framed_sniffed_or_cached(signed_in: AdminBrowser) -> None:
    page = await signed_in.client.get("/admin/user/list")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_list_filters_by_flags_and_joined_date(
    signed_in: AdminBrowser, office: BackOffice
) -> None:
    await make_user(office, "sleeper", is_active=False)
    await make_user(office, "veteran")
    async with office.session() as session:
        veteran = (await session.exec(select(User).where(User.username == "veteran"))).one()
        veteran.created_at = veteran.created_at.replace(year=veteran.created_at.year - 2)
        session.add(veteran)

    def names(html: str) -> set[str]:
        return {n for n in ("root", "sleeper", "veteran") if f"{n}@example.com" in html}

    client = signed_in.client
    inactive = await client.get("/admin/user/list", params={"is_active": "false"})
    assert names(inactive.text) == {"sleeper"}
    staff = await client.get("/admin/user/list", params={"is_staff": "true"})
    assert names(staff.text) == {"root"}
    recent = await client.get("/admin/user/list", params={"created_at": "30d"})
    assert names(recent.text) == {"root", "sleeper"}
    combined = await client.get(
        "/admin/user/list", params={"created_at": "365d", "is_active": "true"}
    )
    assert names(combined.text) == {"root"}
    nonsense = await client.get("/admin/user/list", params={"created_at": "forever"})
    assert nonsense.status_code == 400 and "Joined: choose one of" in nonsense.text
