"""The password policy: Django's four validators (minimum length, similarity to the user's own
attributes, the common passwords list shipped with the package, all-numeric), our composition
rule, and a maximum length; one policy for every door that sets a password."""

import html
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from conftest import DEFAULT_PASSWORD, TEST_SECRET_KEY, Account, bearer

import backoffice
from backoffice import BackOffice, Settings
from backoffice.errors import InvalidInput
from backoffice.models import PASSWORD_MAX_LENGTH, User, UserAdminCreate, UserCreate
from backoffice.services import Caller
from backoffice.services.passwords import (
    COMMON_PASSWORDS_FILE,
    check_password,
    common_passwords,
    password_problems,
)

COMMON = "Password1"  # long enough, has a digit and an upper-case letter: only common
TOO_COMMON = "Password is too common."
GOOD = "Sup3rSecretPass"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_BESIDE_PASSWORD = re.compile(r'name="password"[^>]*>\s*<div class="invalid-feedback">([^<]*)<')

# -- each rule -------------------------------------------------------------------------------


def test_a_good_password_breaks_no_rule() -> None:
    assert password_problems(GOOD) == []
    check_password(GOOD)  # no exception


def test_minimum_length() -> None:
    assert password_problems("Ab1defg") == ["must be at least 8 characters long"]
    assert password_problems("Ab1defgh") == []


def test_maximum_length_is_checked_alone_and_first() -> None:
    assert password_problems("Ab1" + "x" * (PASSWORD_MAX_LENGTH - 3)) == []
    too_long = "1" * (PASSWORD_MAX_LENGTH + 1)  # numeric and common-looking too: not reported
    assert password_problems(too_long) == [f"must be at most {PASSWORD_MAX_LENGTH} characters long"]


def test_maximum_length_refuses_a_megabyte_without_comparing_it_to_anything() -> None:
    problems = password_problems("A1" + "x" * 1_000_000, user_attributes={"username": "x" * 50})
    assert problems == [f"must be at most {PASSWORD_MAX_LENGTH} characters long"]


def test_entirely_numeric() -> None:
    assert password_problems("73829104657") == ["must not be entirely numeric"]


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("abcdefgh1x", "must contain at least one upper-case letter"),
        ("Quietmountainview", "must contain at least one digit"),
    ],
)
def test_a_digit_and_an_upper_case_letter(password: str, problem: str) -> None:
    assert password_problems(password) == [problem]


@pytest.mark.parametrize(
    ("label", "value", "password"),
    [
        ("email", "dora.explorer@example.com", "Explorer99"),
        ("email", "wonder@example.com", "Wonder@example1"),
        ("username", "wonderwoman", "Wonderwoman7"),
        ("full name", "Margaret Thatcher", "Thatcher12"),
    ],
)
def test_similarity_to_the_users_own_attributes(label: str, value: str, password: str) -> None:
    attributes = {"email": None, "username": None, "full name": None, label: value}
    assert password_problems(password, user_attributes=attributes) == [
        f"is too similar to your {label}"
    ]
    assert password_problems(password) == []  # not a problem for somebody else


def test_short_attribute_parts_and_missing_attributes_are_ignored() -> None:
    attributes = {"email": "ab@cd.io", "username": None, "full name": ""}
    assert password_problems("Zebra-Crossing7", user_attributes=attributes) == []


@pytest.mark.parametrize("password", [COMMON, "PASSWORD1", "Qwerty123", "Passw0rd"])
def test_common_passwords_are_refused_whatever_their_case(password: str) -> None:
    assert password_problems(password) == ["is too common"]


def test_the_common_passwords_list_ships_with_the_package() -> None:
    assert COMMON_PASSWORDS_FILE.is_file()
    assert COMMON_PASSWORDS_FILE.is_relative_to(Path(backoffice.__file__).parent)
    assert len(common_passwords()) > 10_000
    assert "password1" in common_passwords()


def test_every_broken_rule_is_reported_on_the_named_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_password("abc", field="new_password")
    fields = {error.field for error in refused.value.errors}
    messages = [error.message for error in refused.value.errors]
    assert fields == {"new_password"}
    assert "Password must be at least 8 characters long." in messages
    assert "Password must contain at least one digit." in messages
    assert "Password must contain at least one upper-case letter." in messages


# -- every door applies it -------------------------------------------------------------------


def policy_messages(body: dict[str, Any]) -> list[str]:
    return [str(error["msg"]) for error in body["errors"]]


async def test_registration_applies_the_policy(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/api/users/",
        json={"email": "dora.explorer@example.com", "username": "dora", "password": "Explorer99"},
    )
    assert response.status_code == 422
    assert policy_messages(response.json()) == ["Password is too similar to your email."]

    response = await client.post(
        "/api/users/", json={"email": "d@example.com", "username": "dora", "password": COMMON}
    )
    assert response.status_code == 422
    assert policy_messages(response.json()) == [TOO_COMMON]
    assert COMMON not in response.text


async def test_changing_ones_own_password_applies_the_policy(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    response = await client.post(
        "/api/users/me/password",
        json={"current_password": alice.password, "new_password": COMMON},
        headers=await bearer(client, "alice"),
    )
    assert response.status_code == 422
    assert policy_messages(response.json()) == [TOO_COMMON]
    await bearer(client, "alice", alice.password)  # unchanged


async def test_a_password_reset_applies_the_policy(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    async with office.session() as session:
        mail = await office.auth(session, Caller.anonymous("api")).request_password_reset(
            "alice@example.com", reset_page="/reset"
        )
    assert mail is not None
    token = mail.text.split("token=", 1)[1].split()[0]

    response = await client.post(
        "/api/auth/password-reset/confirm",
        json={"token": token, "new_password": "Alice1234"},
    )

    assert response.status_code == 422
    assert "Password is too similar to your email." in policy_messages(response.json())
    await bearer(client, "alice", alice.password)  # unchanged


async def admin_sign_in(client: httpx2.AsyncClient, login: str) -> None:
    page = await client.get("/admin/login")
    match = _CSRF.search(page.text)
    assert match
    response = await client.post(
        "/admin/login",
        data={"username": login, "password": DEFAULT_PASSWORD, "csrf_token": match[1]},
    )
    assert response.status_code == 302


async def test_creating_a_user_in_the_admin_applies_the_policy(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account
) -> None:
    await admin_sign_in(client, "root")
    form = await client.get("/admin/user/create")
    token = _CSRF.search(form.text)
    assert token

    response = await client.post(
        "/admin/user/create",
        data={
            "email": "newbie@example.com",
            "username": "newbie",
            "password": COMMON,
            "is_active": "y",
            "csrf_token": token[1],
            "save": "Save",
        },
    )

    assert response.status_code == 400
    beside_password = _BESIDE_PASSWORD.search(response.text)
    assert beside_password and html.unescape(beside_password[1]) == "Password is too common."
    async with office.session() as session:
        assert await office.users(session, Caller.operator()).find_by_login("newbie") is None


@pytest.mark.parametrize("caller", ["staff", "operator"])
async def test_an_admin_or_operator_setting_a_password_applies_the_policy(
    office: BackOffice, staff: Account, alice: Account, caller: str
) -> None:
    who = Caller(user=staff.user, door="admin") if caller == "staff" else Caller.operator()
    with pytest.raises(InvalidInput) as refused:
        async with office.session() as session:
            await office.users(session, who).set_password(alice.id, COMMON)
    assert [(e.field, e.message) for e in refused.value.errors] == [("password", TOO_COMMON)]

    async with office.session() as session:
        user = await office.users(session, Caller.anonymous("api")).authenticate(
            "alice", alice.password
        )
    assert isinstance(user, User)


async def test_the_services_apply_the_policy_to_registration_and_admin_creation(
    office: BackOffice, staff: Account
) -> None:
    registration = UserCreate(email="a@example.com", username="anna", password=COMMON)
    creation = UserAdminCreate(email="b@example.com", username="berta", password=COMMON)
    for data, caller in (
        (registration, Caller.anonymous("api")),
        (creation, Caller(user=staff.user, door="admin")),
    ):
        with pytest.raises(InvalidInput):
            async with office.session() as session:
                await office.users(session, caller).create(data)


# -- the command line, as a real child process -----------------------------------------------


def run_cli(settings: Settings, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    env |= {
        "BACKOFFICE_DATABASE_URL": settings.database_url,
        "BACKOFFICE_SECRET_KEY": TEST_SECRET_KEY,
        "BACKOFFICE_ARGON2_TIME_COST": "1",
        "BACKOFFICE_ARGON2_MEMORY_COST": "1024",
        "BACKOFFICE_ARGON2_PARALLELISM": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "backoffice", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )


async def test_the_command_line_applies_the_policy(
    settings: Settings, office: BackOffice, alice: Account, tmp_path: Path
) -> None:
    create = run_cli(
        settings, tmp_path,
        "createsuperuser", "--no-input", "--email", "boss@example.com", "--username", "boss",
        "--password", COMMON,
    )  # fmt: skip
    change = run_cli(settings, tmp_path, "changepassword", "alice", "--no-input", "--password",
                     "Alice1234")  # fmt: skip
    numeric = run_cli(
        settings, tmp_path, "changepassword", "alice", "--no-input", "--password", "73829104657"
    )

    assert create.returncode == change.returncode == numeric.returncode == 1
    assert f"backoffice: error: {TOO_COMMON}" in create.stderr.splitlines()
    assert "backoffice: error: Password is too similar to your email." in change.stderr
    assert "backoffice: error: Password must not be entirely numeric." in numeric.stderr
    async with office.session() as session:
        users = office.users(session, Caller.operator())
        assert await users.find_by_login("boss") is None
        await users.authenticate("alice", alice.password)  # unchanged


async def test_the_command_line_accepts_a_password_the_policy_allows(
    settings: Settings, office: BackOffice, alice: Account, tmp_path: Path
) -> None:
    done = run_cli(
        settings, tmp_path, "changepassword", "alice", "--no-input", "--password", GOOD + "9"
    )
    assert done.returncode == 0, done.stderr
    async with office.session() as session:
        await office.users(session, Caller.operator()).authenticate("alice", GOOD + "9")
