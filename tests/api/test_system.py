"""/, /health, /ready, the shape of errors nobody planned for, request ids, CORS and the
settings a deployment starts from."""

import gc
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from conftest import TEST_SECRET_KEY, Account, assert_problem, cheap_hashing
from fastapi import FastAPI
from pydantic import ValidationError

from backoffice import BackOffice, Settings, __version__
from backoffice.config import MIN_SECRET_KEY_LENGTH, SecretKeyError

STRONG_KEY = "kX3v9-Qm2pL8zR5tW1yB7nC4hJ6dF0gS-aE2uI9oP3"


def client_for(app: FastAPI, *, raise_app_exceptions: bool = True) -> httpx2.AsyncClient:
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx2.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("ENV", "SECRET_KEY", "ALLOWED_ORIGINS", "DATABASE_URL"):
        monkeypatch.delenv(f"BACKOFFICE_{name}", raising=False)
    return monkeypatch


# -- /, /health, /ready ----------------------------------------------------------------------


async def test_root_names_the_service_its_version_and_docs(client: httpx2.AsyncClient) -> None:
    response = await client.get("/")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "backoffice"
    assert body["version"] == __version__
    assert body["docs"] == "/api/docs"
    assert (await client.get(body["docs"])).status_code == 200


async def test_health_answers_without_the_database(client: httpx2.AsyncClient) -> None:
    response = await client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_ready_answers_when_the_database_does(client: httpx2.AsyncClient) -> None:
    response = await client.get("/ready")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})


def unreachable_database_urls(tmp_path: Path) -> dict[str, str]:
    return {
        "postgresql on a closed port": "postgresql+asyncpg://postgres@127.0.0.1:1/x",
        "sqlite in a missing directory": (
            f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'db.sqlite'}"
        ),
    }


@pytest.fixture(params=["postgresql on a closed port", "sqlite in a missing directory"])
async def broken_client(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx2.AsyncClient]:
    url = unreachable_database_urls(tmp_path)[request.param]
    settings = Settings.model_validate(
        {"database_url": url, "secret_key": TEST_SECRET_KEY, **cheap_hashing()}
    )
    office = BackOffice(settings)
    async with client_for(office.create_app()) as client:
        yield client
    await office.dispose()
    # aiosqlite stops the worker thread of a connection that failed to open without waiting for
    # it; let it finish while the event loop it reports to still runs.
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)"):
            await anyio.to_thread.run_sync(thread.join, 10)


async def test_ready_is_503_when_the_database_does_not_answer(
    broken_client: httpx2.AsyncClient,
) -> None:
    response = await broken_client.get("/ready")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    assert response.headers["retry-after"].isdigit()


async def test_health_still_answers_when_the_database_does_not(
    broken_client: httpx2.AsyncClient,
) -> None:
    assert (await broken_client.get("/health")).status_code == 200


async def test_an_api_call_without_a_database_is_a_503_problem(
    broken_client: httpx2.AsyncClient,
) -> None:
    response = await broken_client.post(
        "/api/auth/login", data={"username": "alice", "password": "Sup3rSecretPass"}
    )

    body = assert_problem(response, 503)
    assert body["type"] == "urn:backoffice:problem:database_unavailable"
    assert response.headers["retry-after"].isdigit()
    assert "127.0.0.1" not in response.text and "sqlite" not in response.text.lower()


# -- errors nobody planned for ---------------------------------------------------------------


async def test_an_unknown_path_is_a_404_problem(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/no-such-thing")
    # The same type as a record that is not there (a service's NotFound).
    assert assert_problem(response, 404)["type"] == "urn:backoffice:problem:not_found"


async def test_a_wrong_method_is_a_405_problem_that_names_the_allowed_ones(
    client: httpx2.AsyncClient,
) -> None:
    response = await client.put("/api/users/me")

    body = assert_problem(response, 405)
    assert body["type"] == "urn:backoffice:problem:method_not_allowed"
    assert "GET" in response.headers["allow"]


async def test_an_unexpected_exception_is_a_generic_500_problem_with_a_request_id(
    app: FastAPI,
) -> None:
    @app.get("/api/explode")
    async def explode() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    async with client_for(app, raise_app_exceptions=False) as client:
        response = await client.get("/api/explode", headers={"X-Request-ID": "req-42"})

    body = assert_problem(response, 500)
    assert body["type"] == "urn:backoffice:problem:internal_error"
    assert "req-42" in body["detail"]
    assert response.headers["x-request-id"] == "req-42"
    assert "Traceback" not in response.text
    assert "secret internals" not in response.text and "hunter2" not in response.text
    assert "RuntimeError" not in response.text


async def test_an_unexpected_exception_gets_a_fresh_request_id_when_none_was_sent(
    app: FastAPI,
) -> None:
    @app.get("/api/explode")
    async def explode() -> None:
        raise RuntimeError("boom")

    async with client_for(app, raise_app_exceptions=False) as client:
        first = await client.get("/api/explode")
        second = await client.get("/api/explode")

    ids = [response.headers["x-request-id"] for response in (first, second)]
    assert ids[0] != ids[1]
    for response, request_id in zip((first, second), ids, strict=True):
        assert request_id in response.json()["detail"]


async def test_every_response_carries_the_request_id_it_was_sent(
    client: httpx2.AsyncClient,
) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "trace.abc-123_Z"})
    assert response.headers["x-request-id"] == "trace.abc-123_Z"


@pytest.mark.parametrize("incoming", ["has spaces", "x" * 65, "new\\nline", ""])
async def test_an_unusable_request_id_is_replaced(
    client: httpx2.AsyncClient, incoming: str
) -> None:
    response = await client.get("/health", headers={"X-Request-ID": incoming})

    returned = response.headers["x-request-id"]
    assert returned != incoming
    assert len(returned) == 32 and all(c in "0123456789abcdef" for c in returned)


async def test_the_openapi_schema_offers_the_password_flow(client: httpx2.AsyncClient) -> None:
    schema = (await client.get("/api/openapi.json")).json()

    schemes = schema["components"]["securitySchemes"]
    flows = [scheme["flows"]["password"]["tokenUrl"] for scheme in schemes.values()]
    assert flows == ["/api/auth/login"]
    assert "hashed_password" not in str(schema)


async def test_the_openapi_schema_says_when_a_list_total_is_a_lower_bound(
    client: httpx2.AsyncClient,
) -> None:
    schemas = (await client.get("/api/openapi.json")).json()["components"]["schemas"]

    pages = [schema for name, schema in schemas.items() if name.startswith("Page_")]
    assert pages
    for page in pages:
        assert set(page["required"]) == {"items", "total", "total_is_exact", "skip", "limit"}
        assert page["properties"]["total_is_exact"]["type"] == "boolean"
        assert "at least" in page["properties"]["total"]["description"]


# -- mounted in a host application -----------------------------------------------------------


async def test_mounted_in_a_host_app_only_the_api_answers_with_problems(
    office: BackOffice, alice: Account
) -> None:
    host = FastAPI()

    @host.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    office.mount(host)
    async with client_for(host) as client:
        own = await client.get("/nowhere")
        ours = await client.get("/api/nowhere")
        greeting = await client.get("/hello")
        login = await client.post(
            "/api/auth/login", data={"username": "alice", "password": alice.password}
        )

    assert own.status_code == 404 and own.headers["content-type"] == "application/json"
    assert_problem(ours, 404)
    assert greeting.json() == {"hello": "world"}
    assert login.status_code == 200


# -- CORS ------------------------------------------------------------------------------------


async def test_cors_allows_only_the_configured_origins(settings: Settings) -> None:
    office = BackOffice(settings.model_copy(update={"allowed_origins": ["https://app.example"]}))
    preflight = {"Access-Control-Request-Method": "GET"}
    try:
        async with client_for(office.create_app()) as client:
            allowed = await client.options(
                "/api/users/me", headers={"Origin": "https://app.example", **preflight}
            )
            refused = await client.options(
                "/api/users/me", headers={"Origin": "https://evil.example", **preflight}
            )
    finally:
        await office.dispose()

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in refused.headers


async def test_without_origins_there_is_no_cors(client: httpx2.AsyncClient) -> None:
    response = await client.get("/health", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers


# -- settings --------------------------------------------------------------------------------


def secret_key_error(**options: Any) -> SecretKeyError:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, env="production", **options)
    errors = caught.value.errors()
    assert len(errors) == 1
    error = errors[0]["ctx"]["error"]
    assert isinstance(error, SecretKeyError)
    return error


@pytest.mark.parametrize(
    ("secret_key", "reason"),
    [
        (None, "is not set"),
        ("", "is not set"),
        ("   ", "is not set"),
        ("changeme", "well-known"),
        ("CHANGEME", "well-known"),
        ("09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7", "well-known"),
        ("short-but-random-9f8e7d", "too short"),
        ("ab" * 20, "too little variety"),
    ],
)
def test_production_refuses_an_unfit_secret_key_and_says_why(
    clean_environment: pytest.MonkeyPatch, secret_key: str | None, reason: str
) -> None:
    error = secret_key_error(secret_key=secret_key)

    assert reason in str(error)
    assert "BACKOFFICE_SECRET_KEY" in str(error)
    if secret_key and secret_key.strip():
        assert secret_key not in str(error)


def test_production_refuses_a_missing_key_from_the_environment(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("BACKOFFICE_ENV", "production")
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    assert isinstance(caught.value.errors()[0]["ctx"]["error"], SecretKeyError)


def test_production_accepts_a_strong_secret_key_from_the_environment(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("BACKOFFICE_ENV", "production")
    clean_environment.setenv("BACKOFFICE_SECRET_KEY", STRONG_KEY)
    clean_environment.setenv("BACKOFFICE_MAIL_BACKEND", "smtp")

    settings = Settings(_env_file=None)

    assert settings.is_production
    assert settings.get_secret_key() == STRONG_KEY
    assert STRONG_KEY not in repr(settings)


def test_development_generates_a_random_key_when_none_is_set(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    first = Settings(_env_file=None)
    second = Settings(_env_file=None)

    assert not first.is_production
    assert len(first.get_secret_key()) >= MIN_SECRET_KEY_LENGTH
    assert first.get_secret_key() != second.get_secret_key()


def test_development_tolerates_a_weak_key(clean_environment: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None, secret_key="changeme")
    assert settings.get_secret_key() == "changeme"


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("https://a.example, https://b.example", ["https://a.example", "https://b.example"]),
        ("https://a.example", ["https://a.example"]),
        (' ["https://a.example", "https://b.example"]', ["https://a.example", "https://b.example"]),
        ("", []),
        (" , ", []),
    ],
)
def test_allowed_origins_accepts_a_comma_separated_string_or_a_json_list(
    clean_environment: pytest.MonkeyPatch, value: str, origins: list[str]
) -> None:
    clean_environment.setenv("BACKOFFICE_ALLOWED_ORIGINS", value)

    settings = Settings(_env_file=None)

    assert settings.allowed_origins == origins


def test_paths_lose_their_trailing_slash(clean_environment: pytest.MonkeyPatch) -> None:
    settings = Settings(
        _env_file=None, api_prefix="/v1/", admin_path="/manage/", base_url="https://x.example/"
    )
    assert (settings.api_prefix, settings.admin_path, settings.base_url) == (
        "/v1",
        "/manage",
        "https://x.example",
    )


@pytest.mark.parametrize("freeze", [True, False])
async def test_the_standalone_app_freezes_its_start_up_objects_while_it_runs(
    settings: Settings, freeze: bool
) -> None:
    assert gc.get_freeze_count() == 0
    office = BackOffice(settings.model_copy(update={"gc_freeze_after_startup": freeze}))
    app = office.create_app()
    async with app.router.lifespan_context(app):
        running = gc.get_freeze_count()
        async with client_for(app) as client:
            assert (await client.get("/health")).status_code == 200
    assert (running > 0) is freeze
    # Stopped, the objects go back to the collector.
    assert gc.get_freeze_count() == 0
