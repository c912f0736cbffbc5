"""The invoicing example mounted on a host FastAPI app, on the test database."""

from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import FastAPI
from sqlmodel import SQLModel

from backoffice import Settings
from examples.invoicing import models as invoicing_models
from examples.invoicing.app import create_app

assert invoicing_models  # imported so the app's tables are in the metadata


@pytest.fixture
async def host_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    office = app.state.backoffice
    async with office.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
        await connection.run_sync(SQLModel.metadata.create_all)
    yield app
    async with office.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
    await office.dispose()


@pytest.fixture
async def host(host_app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=host_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
