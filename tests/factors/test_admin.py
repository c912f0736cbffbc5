"""The admin door with second factors: enrolment on the Security page, the second step at
sign-in, the policy that closes every page until enrolment, a superuser's removal, and "sign
out everywhere else"."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
import pytest
from fastapi import FastAPI

from backoffice import BackOffice, Settings
from tests.admin.conftest import AdminBrowser, csrf_token
from tests.conftest import Account, assert_problem, bearer, make_staff
from tests.factors.helpers import code, wait_for_fresh_step


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every test here runs with the policy on (as in production): staff need a factor."""
    return settings.model_copy(update={"second_factor_required": True})


@pytest.fixture
def browser(client: httpx2.AsyncClient) -> AdminBrowser:
    return AdminBrowser(client)


@asynccontextmanager
async def another_browser(app: FastAPI) -> AsyncIterator[AdminBrowser]:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield AdminBrowser(client)


async def security_form(browser: AdminBrowser, action: str, **data: str) -> httpx2.Response:
    token = csrf_token((await browser.client.get("/admin/security")).text)
    return await browser.client.post(
        f"/admin/security/{action}", data={"csrf_token": token, **data}
    )


async def enrol(browser: AdminBrowser) -> tuple[str, list[str]]:
    """Set up an authenticator app on the Security page; returns the secret and the codes."""
    wait_for_fresh_step()
    started = await security_form(browser, "totp-start")
    assert started.status_code == 200, started.text
    assert "<svg" in started.text  # the QR code, drawn on the server
    match = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', started.text)
    assert match is not None
    secret = match.group(1)
    confirmed = await security_form(browser, "totp-confirm", code=code(secret, -1))
    assert confirmed.status_code == 200, confirmed.text
    codes = re.findall(r"data-recovery-code>([a-z0-9-]+)<", confirmed.text)
    assert len(codes) == 10
    return secret, codes


async def second_step(browser: AdminBrowser, value: str) -> httpx2.Response:
    page = await browser.client.get("/admin/login/second-factor")
    assert page.status_code == 200
    return await browser.client.post(
        "/admin/login/second-factor", data={"code": value, "csrf_token": csrf_token(page.text)}
    )


async def test_totp_enrolment_then_sign_in_asks_for_a_code(
    app: FastAPI, browser: AdminBrowser, superuser: Account
) -> None:
    assert (await browser.login("root")).status_code == 302
    secret, codes = await enrol(browser)
    page = await browser.client.get("/admin/security")
    assert 'id="totp-on"' in page.text and secret not in page.text and codes[0] not in page.text
    async with another_browser(app) as other:
        first = await other.login("root")
        assert first.status_code == 302
        assert first.headers["location"].endswith("/admin/login/second-factor")
        # The password alone opens nothing.
        assert (await other.client.get("/admin/user/list")).status_code == 302
        wrong = await second_step(other, "000000")
        assert wrong.status_code == 400 and "not right" in wrong.text
        right = await second_step(other, code(secret))
        assert right.status_code == 302, right.text
        assert (await other.client.get("/admin/user/list")).status_code == 200
    async with another_browser(app) as third:
        await third.login("root")
        replayed = await second_step(third, code(secret))
        assert replayed.status_code == 400
        recovered = await second_step(third, codes[0])
        assert recovered.status_code == 302
        left = await third.client.get("/admin/security")
        assert '<strong id="recovery-left">9</strong>' in left.text


async def test_wrong_admin_codes_are_throttled(
    app: FastAPI, browser: AdminBrowser, superuser: Account, office: BackOffice
) -> None:
    await browser.login("root")
    secret, _ = await enrol(browser)
    async with another_browser(app) as other:
        await other.login("root")
        for _ in range(office.settings.login_throttle_account_failures):
            assert (await second_step(other, "123456")).status_code == 400
        throttled = await second_step(other, code(secret))
        assert throttled.status_code == 429 and "retry-after" in throttled.headers


async def test_set_password_and_reset_do_not_skip_the_second_factor(
    app: FastAPI, browser: AdminBrowser, superuser: Account, office: BackOffice
) -> None:
    from backoffice.services import Caller

    await browser.login("root")
    await enrol(browser)
    async with office.session() as session:
        await office.users(session, Caller.operator("system")).set_password(
            superuser.id, "An0ther-Passw0rd-Here"
        )
    async with another_browser(app) as other:
        response = await other.login("root", "An0ther-Passw0rd-Here")
        assert response.headers["location"].endswith("/admin/login/second-factor")


async def test_policy_sends_unenrolled_staff_to_enrolment_and_refuses_the_rest(
    app: FastAPI, browser: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    await make_staff(office, "fresh", is_superuser=True)
    response = await browser.login("fresh")
    assert response.status_code == 302
    for path in (
        "/admin/",
        "/admin/user/list",
        f"/admin/user/edit/{alice.id}",
        "/admin/audit-entry/list",
    ):
        page = await browser.client.get(path)
        assert page.status_code == 302 and page.headers["location"].endswith("/admin/security")
    security = await browser.client.get("/admin/security")
    assert security.status_code == 200 and 'id="enrol-first"' in security.text
    token = csrf_token(security.text)
    refused = await browser.client.post(
        f"/admin/user/edit/{alice.id}",
        data={"email": "x@example.com", "username": "alice", "csrf_token": token},
    )
    assert refused.status_code == 403
    await enrol(browser)
    assert (await browser.client.get("/admin/user/list")).status_code == 200


async def test_removal_by_a_superuser_ends_the_users_sessions(
    app: FastAPI, browser: AdminBrowser, office: BackOffice
) -> None:
    await make_staff(office, "boss", is_superuser=True)
    staff = await make_staff(office, "lostphone")
    await browser.login("boss")
    await enrol(browser)
    async with another_browser(app) as theirs:
        await theirs.login("lostphone")
        await enrol(theirs)
        assert (await theirs.client.get("/admin/user/list")).status_code == 200
        page = await browser.client.get(f"/admin/user/security/{staff.id}")
        assert page.status_code == 200 and "lostphone" in page.text
        removed = await browser.client.post(
            f"/admin/user/security/{staff.id}",
            data={"action": "remove-factors", "csrf_token": csrf_token(page.text)},
        )
        assert removed.status_code == 302
        signed_out = await theirs.client.get("/admin/user/list")
        assert signed_out.status_code == 302 and "/admin/login" in signed_out.headers["location"]
        # The factors are gone: the next sign-in is sent to enrolment again.
        assert (await theirs.login("lostphone")).status_code == 302
        page = await theirs.client.get("/admin/user/list")
        assert page.headers["location"].endswith("/admin/security")
    async with office.session() as session:
        from backoffice.services import Caller
        from backoffice.services.audit import AuditService

        entries = await AuditService(session, Caller.operator()).list(object_id=str(staff.id))
    assert "mfa-remove" in [entry.action for entry in entries.items]


async def test_sign_out_everywhere_else_leaves_only_this_session(
    app: FastAPI, browser: AdminBrowser, client: httpx2.AsyncClient, alice: Account
) -> None:
    await make_staff_without_policy(app)
    assert (await browser.login("plainstaff")).status_code == 302
    headers = await bearer(client, "plainstaff")
    async with another_browser(app) as other:
        assert (await other.login("plainstaff")).status_code == 302
        page = await browser.client.get("/admin/security")
        assert page.text.count("data-session=") == 3
        ended = await security_form(browser, "sessions-end-others")
        assert ended.status_code == 302
        assert (await other.client.get("/admin/")).status_code == 302
    assert_problem(await client.get("/api/users/me", headers=headers), 401)
    page = await browser.client.get("/admin/security")
    assert page.text.count("data-session=") == 1 and "data-current" in page.text


async def make_staff_without_policy(app: FastAPI) -> None:
    office: BackOffice = app.state.backoffice
    office.settings.second_factor_required = False
    await make_staff(office, "plainstaff")
