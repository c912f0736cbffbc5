"""The invoicing example mounted on a host FastAPI app, on the test database."""

from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import FastAPI

from examples.invoicing import models as invoicing_models

assert invoicing_models  # imported so the app's tables are in the metadata


@pytest.fixture
async def host(host_app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=host_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
