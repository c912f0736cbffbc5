"""Responses are gzipped for clients that accept it, once they are big enough to gain."""

import json

import httpx2


async def raw_get(client: httpx2.AsyncClient, path: str, accept_encoding: str) -> httpx2.Response:
    """With this Accept-Encoding (httpx would send its own). ``content`` is decoded;
    Content-Length is what was sent."""
    request = client.build_request("GET", path, headers={"Accept-Encoding": accept_encoding})
    response = await client.send(request, stream=True)
    await response.aread()
    return response


async def test_a_large_response_is_gzipped_for_a_client_that_accepts_it(
    client: httpx2.AsyncClient,
) -> None:
    response = await raw_get(client, "/api/openapi.json", "gzip, deflate")

    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in response.headers["vary"].lower()
    assert int(response.headers["content-length"]) < len(response.content)
    assert json.loads(response.content)["openapi"]


async def test_a_client_that_does_not_accept_gzip_gets_the_plain_body(
    client: httpx2.AsyncClient,
) -> None:
    plain = await raw_get(client, "/api/openapi.json", "identity")

    assert plain.status_code == 200
    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) == len(plain.content)
    assert json.loads(plain.content)["openapi"]


async def test_a_small_response_is_not_compressed(client: httpx2.AsyncClient) -> None:
    response = await raw_get(client, "/health", "gzip")

    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.json() == {"status": "ok"}
