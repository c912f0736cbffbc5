"""POST /api/auth/login and the bearer token every other route checks."""

import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import jwt
import pytest
from conftest import DEFAULT_PASSWORD, Account, assert_problem, bearer, make_user
from jwt.warnings import InsecureKeyLengthWarning
from passlib.context import CryptContext

from backoffice import BackOffice
from backoffice.models import User
from backoffice.security import create_token
from backoffice.security.sessions import credentials_fingerprint

LOGIN = "/api/auth/login"
ME = "/api/users/me"


def assert_unauthorized(response: httpx2.Response) -> None:
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def fingerprint(office: BackOffice, account: Account) -> str:
    """The password fingerprint a genuine access token of ``account`` carries."""
    secret = office.settings.get_secret_key()
    return credentials_fingerprint(account.user.hashed_password, secret)[:32]


def claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    payload: dict[str, Any] = {
        "sub": "1",
        "type": "access",
        "jti": "0123456789abcdef",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "pwd": "0" * 32,
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


async def stored_hash(office: BackOffice, user_id: int) -> str:
    async with office.session() as session:
        user: User | None = await session.get(User, user_id)
    assert user is not None
    return user.hashed_password


# -- signing in ------------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["alice", "alice@example.com", "ALICE@Example.com"])
async def test_login_with_email_or_username_returns_a_bearer_token(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account, login: str
) -> None:
    response = await client.post(LOGIN, data={"username": login, "password": alice.password})

    assert response.status_code == 200, response.text
    body = response.json()
    assert {"access_token", "token_type", "expires_in"} <= set(body)
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == office.settings.access_token_expire_minutes * 60
    me = await client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "alice"


async def test_the_token_carries_the_required_claims(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    response = await client.post(LOGIN, data={"username": "alice", "password": alice.password})
    token = response.json()["access_token"]

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    payload = jwt.decode(token, office.settings.get_secret_key(), algorithms=["HS256"])
    assert {"sub", "exp", "iat", "jti", "type"} <= set(payload)
    assert payload["sub"] == str(alice.id)
    assert payload["type"] == "access"
    assert payload["exp"] - payload["iat"] == response.json()["expires_in"]


async def test_each_login_gets_a_token_with_its_own_id(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    key = office.settings.get_secret_key()
    ids = set()
    for _ in range(2):
        response = await client.post(LOGIN, data={"username": "alice", "password": alice.password})
        ids.add(jwt.decode(response.json()["access_token"], key, algorithms=["HS256"])["jti"])
    assert len(ids) == 2


async def test_unknown_user_wrong_password_and_inactive_account_get_the_same_answer(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    await make_user(office, "sleepy", is_active=False)
    attempts = [
        {"username": "nobody", "password": DEFAULT_PASSWORD},
        {"username": "alice", "password": "Wr0ngPassword"},
        {"username": "sleepy", "password": DEFAULT_PASSWORD},
    ]
    answers = []
    for form in attempts:
        response = await client.post(LOGIN, data=form)
        assert_unauthorized(response)
        answers.append(response.json())
    assert answers[0] == answers[1] == answers[2]
    assert DEFAULT_PASSWORD not in str(answers)


async def test_login_records_last_login(client: httpx2.AsyncClient, alice: Account) -> None:
    headers = await bearer(client, "alice")

    me = (await client.get(ME, headers=headers)).json()
    assert me["last_login"] is not None
    assert datetime.fromisoformat(me["updated_at"]) == alice.user.updated_at


@pytest.mark.parametrize("missing", ["username", "password"])
async def test_login_without_a_field_is_a_validation_problem(
    client: httpx2.AsyncClient, missing: str
) -> None:
    form = {"username": "alice", "password": "Zq9-never-echoed"}
    del form[missing]

    response = await client.post(LOGIN, data=form)

    body = assert_problem(response, 422)
    assert body["errors"] == [
        {"loc": ["body", missing], "msg": "Field required", "type": "missing"}
    ]
    assert "Zq9-never-echoed" not in response.text


async def test_login_takes_a_form_not_json(client: httpx2.AsyncClient, alice: Account) -> None:
    response = await client.post(LOGIN, json={"username": "alice", "password": alice.password})
    body = assert_problem(response, 415)
    assert alice.password not in response.text
    assert "application/x-www-form-urlencoded" in body["detail"]


async def test_login_with_a_nul_character_is_refused_not_a_crash(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    response = await client.post(LOGIN, data={"username": "alice\x00", "password": alice.password})
    assert_unauthorized(response)


async def test_a_bcrypt_hash_verifies_and_is_upgraded_to_argon2_on_login(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    legacy = CryptContext(schemes=["bcrypt"], bcrypt__rounds=4).hash(alice.password)
    async with office.session() as session:
        user = await session.get(User, alice.id)
        assert user is not None
        user.hashed_password = legacy

    await bearer(client, "alice", alice.password)

    upgraded = await stored_hash(office, alice.id)
    assert upgraded.startswith("$argon2id$")
    await bearer(client, "alice", alice.password)  # the new hash accepts the same password


async def test_a_long_password_against_a_bcrypt_hash_is_not_a_server_error(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    legacy = CryptContext(schemes=["bcrypt"], bcrypt__rounds=4).hash(alice.password)
    async with office.session() as session:
        user = await session.get(User, alice.id)
        assert user is not None
        user.hashed_password = legacy

    response = await client.post(LOGIN, data={"username": "alice", "password": "X1" + "y" * 120})

    assert_unauthorized(response)
    assert await stored_hash(office, alice.id) == legacy


# -- the bearer token ------------------------------------------------------------------------


async def test_no_token_is_unauthorized(client: httpx2.AsyncClient) -> None:
    response = await client.get(ME)
    assert_unauthorized(response)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer not-a-jwt", "Bearer a.b.c", "Basic YWxpY2U6cGFzcw==", "Token abc"],
)
async def test_a_malformed_authorization_header_is_unauthorized(
    client: httpx2.AsyncClient, alice: Account, authorization: str
) -> None:
    response = await client.get(ME, headers={"Authorization": authorization})
    assert_unauthorized(response)


def forged_tokens(secret: str, user_id: int, pwd: str) -> dict[str, str]:
    """Tokens that differ from a genuine one in one respect each."""
    sub = str(user_id)
    past = datetime.now(UTC) - timedelta(hours=2)

    def claims(**overrides: Any) -> dict[str, Any]:
        return claims_with_pwd(**{"pwd": pwd, **overrides})

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # HS512 wants a longer key
        hs512 = jwt.encode(claims(sub=sub), secret, algorithm="HS512")
    tokens = {
        "expired": jwt.encode(
            claims(sub=sub, iat=past, exp=past + timedelta(minutes=30)), secret, algorithm="HS256"
        ),
        "wrong type": jwt.encode(claims(sub=sub, type="refresh"), secret, algorithm="HS256"),
        "alg none": jwt.encode(claims(sub=sub), None, algorithm="none"),
        "HS512": hs512,
        "other key": jwt.encode(
            claims(sub=sub), "another-secret-key-0123456789-abcdefghijklmnop", algorithm="HS256"
        ),
        "no jti": jwt.encode(claims(sub=sub, jti=None), secret, algorithm="HS256"),
        "no iat": jwt.encode(claims(sub=sub, iat=None), secret, algorithm="HS256"),
        "no exp": jwt.encode(claims(sub=sub, exp=None), secret, algorithm="HS256"),
        "no type": jwt.encode(claims(sub=sub, type=None), secret, algorithm="HS256"),
        "no sub": jwt.encode(claims(sub=None), secret, algorithm="HS256"),
        "numeric sub": jwt.encode(claims(sub=user_id), secret, algorithm="HS256"),
        "non-numeric sub": jwt.encode(claims(sub="alice"), secret, algorithm="HS256"),
        "unknown user": jwt.encode(claims(sub="424242"), secret, algorithm="HS256"),
        # Past a 32-bit id: no row can have it, and PostgreSQL would refuse the comparison.
        "id out of range": jwt.encode(claims(sub=str(2**31)), secret, algorithm="HS256"),
        "id zero": jwt.encode(claims(sub="0"), secret, algorithm="HS256"),
        "issued in the future": jwt.encode(
            claims(sub=sub, iat=datetime.now(UTC) + timedelta(hours=1)), secret, algorithm="HS256"
        ),
        "no password fingerprint": jwt.encode(claims(sub=sub, pwd=None), secret, algorithm="HS256"),
        "another password's fingerprint": jwt.encode(
            claims(sub=sub, pwd="f" * 32), secret, algorithm="HS256"
        ),
    }
    assert set(tokens) == set(FORGERIES)
    return tokens


claims_with_pwd = claims

FORGERIES = [
    "no password fingerprint",
    "another password's fingerprint",
    "expired",
    "wrong type",
    "alg none",
    "HS512",
    "other key",
    "no jti",
    "no iat",
    "no exp",
    "no type",
    "no sub",
    "numeric sub",
    "non-numeric sub",
    "unknown user",
    "id out of range",
    "id zero",
    "issued in the future",
]


@pytest.mark.parametrize("kind", FORGERIES)
async def test_a_bad_token_is_unauthorized(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account, kind: str
) -> None:
    token = forged_tokens(office.settings.get_secret_key(), alice.id, fingerprint(office, alice))[
        kind
    ]

    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})

    assert_unauthorized(response)
    assert response.json()["detail"] == "Could not validate credentials."


async def test_a_well_formed_token_from_our_own_code_is_accepted(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    # The forgeries above differ from this one in one respect each.
    issued = create_token(
        str(alice.id),
        token_type="access",
        secret_key=office.settings.get_secret_key(),
        lifetime=timedelta(minutes=5),
        fingerprint=fingerprint(office, alice),
    )
    response = await client.get(ME, headers={"Authorization": f"Bearer {issued.token}"})
    assert response.status_code == 200
    ours = jwt.encode(
        claims(sub=str(alice.id), pwd=fingerprint(office, alice)),
        office.settings.get_secret_key(),
        "HS256",
    )
    response = await client.get(ME, headers={"Authorization": f"Bearer {ours}"})
    assert response.status_code == 200


async def test_the_token_of_a_deactivated_account_stops_working(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    headers = await bearer(client, "alice")
    async with office.session() as session:
        user = await session.get(User, alice.id)
        assert user is not None
        user.is_active = False

    response = await client.get(ME, headers=headers)

    assert_unauthorized(response)


async def test_the_token_of_a_deleted_account_stops_working(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    headers = await bearer(client, "alice")
    async with office.session() as session:
        user = await session.get(User, alice.id)
        await session.delete(user)

    response = await client.get(ME, headers=headers)

    assert_unauthorized(response)
