"""In a host app that mounts backoffice, an unexpected error under the API prefix is a problem
with the request id, not Starlette's plain-text 500; the host's own routes keep their own."""

import httpx2
import pytest
from fastapi import FastAPI

from examples.invoicing.services import InvoiceService
from tests.conftest import assert_problem
from tests.registry.test_invoicing_example import signed_in


async def test_an_unexpected_error_under_the_api_prefix_is_a_problem_with_the_request_id(
    host: httpx2.AsyncClient, host_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await signed_in(host, host_app.state.backoffice)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the host's service has a bug")

    monkeypatch.setattr(InvoiceService, "list", broken)
    response = await host.get("/api/invoices/", headers=headers)

    body = assert_problem(response, 500)
    request_id = response.headers["x-request-id"]
    assert request_id in body["detail"]
    assert "bug" not in response.text


async def test_the_hosts_own_routes_keep_the_hosts_error_handling(host_app: FastAPI) -> None:
    @host_app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("the host's own bug")

    transport = httpx2.ASGITransport(app=host_app, raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/plain")
