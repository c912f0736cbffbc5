"""API keys on the invoicing example: a host app with its own resources (customers, invoices)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

from backoffice import BackOffice
from backoffice.models import ApiKeyCreate
from backoffice.services import Caller
from examples.invoicing import models as invoicing_models
from tests.conftest import Account, bearer

assert invoicing_models  # imported so the host's tables are in the metadata


@pytest.fixture
def office(host_app: FastAPI) -> BackOffice:
    return host_app.state.backoffice  # type: ignore[no-any-return]


@pytest.fixture
async def client(host_app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=host_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def key_header(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def create_key(
    client: httpx2.AsyncClient, account: Account, scopes: list[str], **extra: Any
) -> dict[str, Any]:
    """A key made through the API by ``account`` (signed in with its password)."""
    body = {"name": "ci", "scopes": scopes, "expires_at": in_days(30), **extra}
    response = await client.post(
        "/api/api-keys/", json=body, headers=await bearer(client, account.user.username)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def operator_key(office: BackOffice, account: Account, scopes: list[str]) -> str:
    async with office.session() as session:
        created = await office.api_keys(session, Caller.operator("system")).create(
            ApiKeyCreate(
                name="ops",
                scopes=scopes,
                expires_at=datetime.now(UTC) + timedelta(days=1),
                user_id=account.id,
            )
        )
    return created.key
