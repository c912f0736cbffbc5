"""One password reset token confirmed by several requests at once: exactly one wins.

Each request comes from its own client, so each has its own connection and transaction; they
run together on one event loop (``asyncio.gather``), on SQLite and on PostgreSQL."""

import asyncio

import httpx2
from conftest import TEST_SECRET_KEY, Account
from fastapi import FastAPI

from backoffice.security.reset_tokens import create_reset_token
from backoffice.services.access import token_fingerprint
from backoffice.services.auth import INVALID_RESET

CONFIRM = "/api/auth/password-reset/confirm"
LOGIN = "/api/auth/login"
CONFIRMS = 8


async def confirm(app: FastAPI, token: str, new_password: str) -> httpx2.Response:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.post(CONFIRM, json={"token": token, "new_password": new_password})


async def test_one_reset_token_confirmed_concurrently_sets_the_password_once(
    app: FastAPI, client: httpx2.AsyncClient, alice: Account
) -> None:
    fingerprint = token_fingerprint(alice.user.hashed_password, TEST_SECRET_KEY)
    token = create_reset_token(alice.id, fingerprint, secret_key=TEST_SECRET_KEY)
    passwords = [f"Fresh-Start-{number}-2024" for number in range(CONFIRMS)]

    answers = await asyncio.gather(*(confirm(app, token, password) for password in passwords))

    statuses = [answer.status_code for answer in answers]
    assert sorted(statuses) == [204] + [422] * (CONFIRMS - 1), [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 422:
            errors = answer.json()["errors"]
            assert [(e["loc"], e["msg"]) for e in errors] == [(["body", "token"], INVALID_RESET)]
    winner = statuses.index(204)
    loser = (winner + 1) % CONFIRMS
    for password, works in [(passwords[winner], True), (passwords[loser], False)]:
        response = await client.post(LOGIN, data={"username": "alice", "password": password})
        assert response.status_code == (200 if works else 401), password
