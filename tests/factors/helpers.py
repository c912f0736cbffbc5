"""Codes as an authenticator app shows them, for the tests of second factors."""

import time

import httpx2
import pyotp

from tests.conftest import DEFAULT_PASSWORD


def code(secret: str, steps_from_now: int = 0) -> str:
    """The code of the step ``steps_from_now`` away (within the ±1 window)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


def wait_for_fresh_step() -> None:
    """Start a test's codes early in a 30 s step, so the window cannot move under it."""
    left = 30 - time.time() % 30
    if left < 8:
        time.sleep(left + 0.1)


async def login(
    client: httpx2.AsyncClient, username: str, password: str = DEFAULT_PASSWORD
) -> httpx2.Response:
    return await client.post("/api/auth/login", data={"username": username, "password": password})


async def enrol_totp(client: httpx2.AsyncClient, headers: dict[str, str]) -> tuple[str, list[str]]:
    """Set up an authenticator app through the API; returns its secret and recovery codes. The
    first code is the previous step's, so the current and next steps stay free for sign-ins."""
    wait_for_fresh_step()
    setup = await client.post("/api/auth/second-factors/totp", headers=headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    confirmed = await client.post(
        "/api/auth/second-factors/totp/confirm", json={"code": code(secret, -1)}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]
