"""The docs pages name no other origin: their files come from the app, under a strict policy."""

import httpx2
import pytest
from fastapi import FastAPI

from backoffice.api.docs import CONTENT_SECURITY_POLICY


async def pages_and_assets(client: httpx2.AsyncClient, docs: str, redoc: str) -> None:
    for path in (docs, redoc):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "https://" not in response.text and "http://" not in response.text
        assert "<script>" not in response.text  # no inline code: the policy forbids it
        for asset in ("swagger-ui-bundle.js", "redoc.standalone.js"):
            if asset in response.text:
                assert (await client.get(f"/api/docs-assets/{asset}")).status_code == 200


async def test_the_standalone_docs_are_served_by_the_app(client: httpx2.AsyncClient) -> None:
    await pages_and_assets(client, "/api/docs", "/api/redoc")


@pytest.mark.parametrize("path", ["swagger-init.js", "redoc-init.js", "swagger-ui.css"])
async def test_the_docs_files_are_served(client: httpx2.AsyncClient, path: str) -> None:
    assert (await client.get(f"/api/docs-assets/{path}")).status_code == 200


async def test_a_host_apps_own_docs_are_served_offline_too(host_app: FastAPI) -> None:
    transport = httpx2.ASGITransport(app=host_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await pages_and_assets(client, "/docs", "/redoc")
