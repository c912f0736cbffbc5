"""The API door with second factors: two-step login, replay, throttling, recovery codes, the
policy for unenrolled staff, sessions one can see and end, and a superuser's removal."""

import httpx2
import pytest

from backoffice import BackOffice, Settings
from tests.conftest import Account, assert_problem, bearer, make_staff
from tests.factors.helpers import code, enrol_totp, login


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every test here runs with the policy on (as in production): staff need a factor."""
    return settings.model_copy(update={"second_factor_required": True})


async def _second_step(client: httpx2.AsyncClient, challenge: str, value: str) -> httpx2.Response:
    return await client.post(
        "/api/auth/login/second-factor", json={"challenge": challenge, "code": value}
    )


async def test_enrolled_login_answers_a_challenge_then_tokens_for_a_code(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    secret, _ = await enrol_totp(client, await bearer(client, "alice"))
    first = await login(client, "alice")
    assert first.status_code == 200
    body = first.json()
    assert body["second_factor_required"] is True and "access_token" not in body
    assert body["methods"] == ["totp", "recovery_code"]
    tokens = await _second_step(client, body["challenge"], code(secret))
    assert tokens.status_code == 200, tokens.text
    me = await client.get(
        "/api/users/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert me.status_code == 200
    # The challenge works once.
    again = await _second_step(client, body["challenge"], code(secret, 1))
    assert_problem(again, 401)


async def test_a_replayed_code_is_refused(client: httpx2.AsyncClient, alice: Account) -> None:
    secret, _ = await enrol_totp(client, await bearer(client, "alice"))
    used = code(secret)
    first = (await login(client, "alice")).json()["challenge"]
    assert (await _second_step(client, first, used)).status_code == 200
    second = (await login(client, "alice")).json()["challenge"]
    assert_problem(await _second_step(client, second, used), 401)
    # The app's next code still works.
    assert (await _second_step(client, second, code(secret, 1))).status_code == 200


async def test_wrong_codes_are_throttled_with_the_passwords(
    client: httpx2.AsyncClient, alice: Account, office: BackOffice
) -> None:
    secret, _ = await enrol_totp(client, await bearer(client, "alice"))
    challenge = (await login(client, "alice")).json()["challenge"]
    limit = office.settings.login_throttle_account_failures
    for _ in range(limit):
        assert_problem(await _second_step(client, challenge, "000000"), 401)
    throttled = await _second_step(client, challenge, code(secret))
    body = assert_problem(throttled, 429)
    assert int(throttled.headers["retry-after"]) >= 1 and "Try again" in body["detail"]
    # The same budget as passwords: the password step is refused too.
    assert_problem(await login(client, "alice"), 429)


async def test_a_recovery_code_works_once(client: httpx2.AsyncClient, alice: Account) -> None:
    _, codes = await enrol_totp(client, await bearer(client, "alice"))
    assert len(codes) == 10 and len(set(codes)) == 10
    challenge = (await login(client, "alice")).json()["challenge"]
    tokens = await _second_step(client, challenge, codes[0])
    assert tokens.status_code == 200
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    overview = (await client.get("/api/auth/second-factors", headers=headers)).json()
    assert overview["recovery_codes_left"] == 9
    challenge = (await login(client, "alice")).json()["challenge"]
    assert_problem(await _second_step(client, challenge, codes[0]), 401)
    # Regenerated: the old ones stop working.
    fresh = (await client.post("/api/auth/second-factors/recovery-codes", headers=headers)).json()
    assert_problem(await _second_step(client, challenge, codes[1]), 401)
    assert (await _second_step(client, challenge, fresh["recovery_codes"][0])).status_code == 200


async def test_the_totp_secret_is_stored_encrypted(
    client: httpx2.AsyncClient, alice: Account, office: BackOffice
) -> None:
    from sqlmodel import select

    from backoffice.models import TotpDevice

    secret, _ = await enrol_totp(client, await bearer(client, "alice"))
    async with office.session() as session:
        device = (await session.exec(select(TotpDevice))).one()
    assert secret not in device.encrypted_secret


async def test_policy_refuses_staff_routes_until_enrolled(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    await make_staff(office, "newstaff")
    headers = await bearer(client, "newstaff")  # the password alone: tokens, but no rights
    for path in ("/api/users/", "/api/audit/", "/api/groups/", "/api/permissions/"):
        assert_problem(await client.get(path, headers=headers), 403)
    body = assert_problem(await client.get("/api/users/", headers=headers), 403)
    assert "second factor" in body["detail"]
    assert (await client.get("/api/users/me", headers=headers)).status_code == 200
    secret, _ = await enrol_totp(client, headers)
    challenge = (await login(client, "newstaff")).json()["challenge"]
    tokens = (await _second_step(client, challenge, code(secret))).json()
    enrolled = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/api/users/", headers=enrolled)).status_code == 200


async def test_removal_by_a_superuser_ends_sessions_and_is_audited(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account
) -> None:
    staff = await make_staff(office, "phoneless")
    staff_headers = await bearer(client, "phoneless")
    secret, _ = await enrol_totp(client, staff_headers)
    root_login = (await login(client, "root")).json()
    assert "access_token" in root_login  # the superuser has no factor: the policy lets it in
    root = await bearer(client, "root")
    # (The superuser is unenrolled under the policy too: enrol it first.)
    root_secret, _ = await enrol_totp(client, root)
    challenge = (await login(client, "root")).json()["challenge"]
    root_tokens = (await _second_step(client, challenge, code(root_secret))).json()
    root = {"Authorization": f"Bearer {root_tokens['access_token']}"}
    removed = await client.delete(f"/api/users/{staff.id}/second-factors", headers=root)
    assert removed.status_code == 204, removed.text
    assert_problem(await client.get("/api/users/me", headers=staff_headers), 401)
    audit = (await client.get(f"/api/audit/?object_id={staff.id}", headers=root)).json()
    assert "mfa-remove" in [entry["action"] for entry in audit["items"]]
    assert secret not in str(audit)


async def test_sign_out_everywhere_else_leaves_only_the_current_one(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    others = [await bearer(client, "alice") for _ in range(2)]
    mine = await bearer(client, "alice")
    listed = (await client.get("/api/auth/sessions", headers=mine)).json()
    assert len(listed) == 3 and [s["current"] for s in listed].count(True) == 1
    ended = await client.post("/api/auth/sessions/end-others", headers=mine)
    assert ended.json() == {"ended": 2}
    for headers in others:
        assert_problem(await client.get("/api/users/me", headers=headers), 401)
    left = (await client.get("/api/auth/sessions", headers=mine)).json()
    assert [s["current"] for s in left] == [True]


async def test_a_spent_refresh_token_again_ends_its_access_tokens(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    tokens = (await login(client, "alice")).json()
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    new_access = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert (await client.get("/api/users/me", headers=new_access)).status_code == 200
    replay = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(replay, 401)
    assert_problem(await client.get("/api/users/me", headers=new_access), 401)


async def test_openapi_describes_both_steps(client: httpx2.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    login_schema = spec["paths"]["/api/auth/login"]["post"]["responses"]["200"]
    assert "SecondFactorRequired" in str(login_schema) and "Token" in str(login_schema)
    assert "/api/auth/login/second-factor" in spec["paths"]


async def test_a_right_password_buys_no_fresh_guesses_at_the_code(
    client: httpx2.AsyncClient, alice: Account, office: BackOffice
) -> None:
    await enrol_totp(client, await bearer(client, "alice"))
    limit = office.settings.login_throttle_account_failures
    challenge = (await login(client, "alice")).json()["challenge"]
    for _ in range(limit - 1):
        assert_problem(await _second_step(client, challenge, "000000"), 401)
    # Starting again with the right password does not reset the count.
    challenge = (await login(client, "alice")).json()["challenge"]
    assert_problem(await _second_step(client, challenge, "000000"), 401)
    assert_problem(await _second_step(client, challenge, "000000"), 429)
