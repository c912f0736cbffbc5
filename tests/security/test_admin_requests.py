"""How the admin treats a request before any view sees it: methods, body sizes, compression,
the Host header."""

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx2
from sqlmodel import col, select

from backoffice import BackOffice, Settings
from backoffice.admin.csrf import MAX_ANONYMOUS_BYTES
from backoffice.admin.headers import SecurityHeadersMiddleware
from backoffice.models import User
from tests.admin.conftest import AdminBrowser, csrf_token
from tests.conftest import DEFAULT_PASSWORD, Account

NEW_PASSWORD = "Fresh-Passw0rd-9"


async def user_named(office: BackOffice, username: str) -> User | None:
    async with office.session() as session:
        found = await session.exec(select(User).where(col(User.username) == username))
        return found.first()


def new_user_form(token: str | None = None) -> dict[str, str]:
    form = {
        "email": "sneaky@example.com",
        "username": "sneaky",
        "password": NEW_PASSWORD,
        "is_active": "y",
        "save": "Save",
    }
    return form if token is None else {**form, "csrf_token": token}


# -- HEAD is checked like POST ------------------------------------------------------------------


async def test_a_head_with_a_form_body_and_no_token_is_refused(
    signed_in: AdminBrowser, office: BackOffice
) -> None:
    """Cross-site, a HEAD carries the cookie but not the token: SQLAdmin would save the form."""
    response = await signed_in.client.request("HEAD", "/admin/user/create", data=new_user_form())
    assert response.status_code == 403
    assert await user_named(office, "sneaky") is None


async def test_a_head_with_the_token_is_served_as_a_get_and_saves_nothing(
    signed_in: AdminBrowser, office: BackOffice
) -> None:
    token = await signed_in.token("/admin/user/create")
    response = await signed_in.client.request(
        "HEAD", "/admin/user/create", data=new_user_form(token)
    )
    assert response.status_code == 200
    assert await user_named(office, "sneaky") is None


async def test_a_head_to_set_password_changes_nothing(
    signed_in: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    path = f"/admin/user/set-password/{alice.id}"
    token = await signed_in.token(path)
    form = {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    refused = await signed_in.client.request("HEAD", path, data=form)
    assert refused.status_code == 403
    served = await signed_in.client.request("HEAD", path, data={**form, "csrf_token": token})
    assert served.status_code == 200
    login = await signed_in.client.post(
        "/api/auth/login", data={"username": "alice", "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 200


async def test_a_head_to_a_bulk_action_deletes_nothing(
    signed_in: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    form = {"pks": str(alice.id), "confirm": "yes"}
    response = await signed_in.client.request("HEAD", "/admin/user/bulk/delete_selected", data=form)
    assert response.status_code == 403
    assert await user_named(office, "alice") is not None


async def test_options_and_trace_need_the_token_too(signed_in: AdminBrowser) -> None:
    for method in ("OPTIONS", "TRACE"):
        response = await signed_in.client.request(method, "/admin/user/create")
        assert response.status_code == 403, method


# -- body limits: small until signed in ---------------------------------------------------------


async def _stream(size: int) -> AsyncIterator[bytes]:
    chunk = b"a" * 4096
    for _ in range(size // len(chunk)):
        yield chunk


async def test_an_anonymous_megabyte_is_refused_at_once(client: httpx2.AsyncClient) -> None:
    page = await client.get("/admin/login")
    token = csrf_token(page.text)
    data = {"username": "x" * 1024 * 1024, "password": "p", "csrf_token": token}
    response = await client.post("/admin/login", data=data)
    assert response.status_code == 413
    assert str(MAX_ANONYMOUS_BYTES) in response.text


async def test_an_anonymous_stream_without_length_is_cut_at_the_limit(
    client: httpx2.AsyncClient,
) -> None:
    read = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal read
        async for chunk in _stream(1024 * 1024):
            read += len(chunk)
            yield chunk

    response = await client.post(
        "/admin/login",
        content=counted(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert "content-length" not in response.request.headers


async def test_a_content_length_that_lies_is_no_way_around_the_limit(
    client: httpx2.AsyncClient,
) -> None:
    request = client.build_request(
        "POST",
        "/admin/login",
        content=_stream(256 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded", "content-length": "10"},
    )
    response = await client.send(request)
    assert response.status_code == 413


async def test_the_login_and_reset_forms_fit_the_anonymous_limit(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    page = await client.get("/admin/login")
    token = csrf_token(page.text)
    data = {"username": "root", "password": "p" * 4000, "csrf_token": token}
    refused = await client.post("/admin/login", data=data)
    assert refused.status_code in (400, 422), refused.text[:300]
    data = {"username": "root", "password": DEFAULT_PASSWORD, "csrf_token": token}
    assert (await client.post("/admin/login", data=data)).status_code == 302


async def test_signed_in_staff_may_send_a_larger_form(
    signed_in: AdminBrowser, office: BackOffice
) -> None:
    body = "word " * 12_000  # 60 KB: beyond the anonymous limit, within a post's length
    token = await signed_in.token("/admin/post/create")
    form = {"title": "A long one", "body": body, "csrf_token": token, "save": "Save"}
    response = await signed_in.client.post("/admin/post/create", data=form)
    assert response.status_code == 302, response.text[:300]


# -- no compression of admin pages (BREACH) -----------------------------------------------------


async def get_accepting_gzip(client: httpx2.AsyncClient, path: str) -> httpx2.Response:
    request = client.build_request("GET", path, headers={"Accept-Encoding": "gzip"})
    response = await client.send(request, stream=True)
    await response.aread()
    return response


async def test_admin_pages_are_never_gzipped(signed_in: AdminBrowser) -> None:
    """A page holding the CSRF token beside the search term is sent as it is."""
    page = await get_accepting_gzip(signed_in.client, "/admin/user/list?search=csrf_token%3D")
    assert page.status_code == 200
    assert len(page.content) > 1000
    assert csrf_token(page.text)
    assert "content-encoding" not in page.headers
    login = await get_accepting_gzip(signed_in.client, "/admin/login")
    assert "content-encoding" not in login.headers


async def test_the_api_and_the_admins_static_files_still_are(client: httpx2.AsyncClient) -> None:
    api = await get_accepting_gzip(client, "/api/openapi.json")
    assert api.headers["content-encoding"] == "gzip"
    css = await get_accepting_gzip(client, "/admin/statics/css/tabler.min.css")
    assert css.status_code == 200
    assert css.headers["content-encoding"] == "gzip"


# -- redirects never follow a forged Host ---------------------------------------------------------

FORGED = {"Host": "evil.example"}


def lands_on_our_site(location: str, settings: Settings) -> bool:
    """Relative (resolved against the address the browser asked) or on BASE_URL's origin."""
    parts = urlsplit(location)
    if not parts.netloc:
        return not parts.scheme and location.startswith("/") and not location.startswith("//")
    return f"{parts.scheme}://{parts.netloc}" == settings.base_url


async def test_a_login_with_a_forged_host_is_sent_back_to_our_site(
    client: httpx2.AsyncClient, superuser: Account, settings: Settings
) -> None:
    page = await client.get("/admin/login")
    data = {"username": "root", "password": DEFAULT_PASSWORD, "csrf_token": csrf_token(page.text)}
    response = await client.post("/admin/login", data=data, headers=FORGED)
    assert response.status_code == 302
    location = response.headers["location"]
    assert "evil.example" not in location
    assert lands_on_our_site(location, settings), location
    assert urlsplit(location).path == "/admin/"


async def test_an_anonymous_visit_with_a_forged_host_goes_to_our_login(
    client: httpx2.AsyncClient, settings: Settings
) -> None:
    response = await client.get("/admin/user/list", headers=FORGED)
    assert response.status_code == 302
    assert lands_on_our_site(response.headers["location"], settings), response.headers["location"]


async def test_a_create_with_a_forged_host_redirects_to_our_site(
    signed_in: AdminBrowser, office: BackOffice, settings: Settings
) -> None:
    token = await signed_in.token("/admin/user/create")
    response = await signed_in.client.post(
        "/admin/user/create", data=new_user_form(token), headers=FORGED
    )
    assert response.status_code == 302, response.text[:300]
    assert lands_on_our_site(response.headers["location"], settings), response.headers["location"]
    assert await user_named(office, "sneaky") is not None


def test_only_a_foreign_origin_is_rewritten() -> None:
    headers = SecurityHeadersMiddleware(None, hsts=False, base_url="https://bo.example.org")  # type: ignore[arg-type]
    assert headers.own_location("/admin/") == "/admin/"
    assert headers.own_location("https://bo.example.org/admin/") == "https://bo.example.org/admin/"
    assert headers.own_location("http://evil.example/admin/x?a=1") == "/admin/x?a=1"
    assert headers.own_location("//evil.example//admin") == "/admin"
    assert headers.own_location("https://evil.example") == "/"


async def test_in_production_the_admin_answers_only_its_own_host(settings: Settings) -> None:
    """Pages build their links from the Host header: one the site does not answer to gets no
    page at all (400), not a page whose menu and forms point at another site."""
    production = settings.model_copy(
        update={"env": "production", "mail_backend": "smtp", "base_url": "https://admin.example"}
    )
    office = BackOffice(production)
    transport = httpx2.ASGITransport(app=office.create_app())
    try:
        async with httpx2.AsyncClient(transport=transport, base_url="https://admin.example") as ok:
            page = await ok.get("/admin/login")
            assert page.status_code == 200
            assert 'action="https://admin.example/admin/login"' in page.text
            forged = await ok.get("/admin/login", headers={"host": "evil.example"})
            assert forged.status_code == 400
            assert "evil.example" not in forged.text
    finally:
        await office.dispose()


def test_the_admins_hosts_follow_the_settings(settings: Settings) -> None:
    assert settings.admin_hosts() == ["*"]  # development: any
    production = settings.model_copy(
        update={"env": "production", "base_url": "https://admin.example:8443"}
    )
    assert production.admin_hosts() == ["admin.example"]
    listed = production.model_copy(update={"allowed_hosts": ["*.example.org"]})
    assert listed.admin_hosts() == ["*.example.org"]


async def test_a_nul_character_in_a_search_or_filter_is_a_400_not_a_database_error(
    signed_in: AdminBrowser,
) -> None:
    """PostgreSQL cannot compare text holding a NUL: it never reaches the database."""
    for path in (
        "/admin/user/list?search=a%00b",
        "/admin/post/list?search=a%00b",
        "/admin/audit-entry/list?search=x%00",
        "/admin/user/export/csv?search=a%00b",
        "/admin/user/export/json?search=a%00b",
        "/admin/user/list?is_active=%00",
    ):
        response = await signed_in.client.get(path)
        assert response.status_code == 400, path
        assert "NUL" in response.text
    assert (await signed_in.client.get("/admin/user/list?search=ab")).status_code == 200
