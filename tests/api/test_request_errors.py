"""Messages a client can act on for requests that go wrong before their values are judged:
where a JSON body breaks, a body in a type the route does not take, where a bad value was."""

import httpx2
import pytest

from tests.conftest import Account, assert_problem, bearer

JSON = {"content-type": "application/json"}


@pytest.fixture
async def token(client: httpx2.AsyncClient, superuser: Account) -> dict[str, str]:
    return await bearer(client, "root")


async def test_malformed_json_is_located_by_line_and_column_with_what_was_expected(
    client: httpx2.AsyncClient, token: dict[str, str]
) -> None:
    body = b'{"email": "a@example.com" "username": "ann"}'

    response = await client.post("/api/users/", content=body, headers=token | JSON)

    problem = assert_problem(response, 422)
    assert problem["errors"] == [
        {"loc": ["body"], "msg": "line 1, column 27: expected ',' or '}'", "type": "json_invalid"}
    ]
    assert "line 1, column 27: expected ',' or '}'" in problem["detail"]


async def test_malformed_json_on_a_later_line_names_that_line(
    client: httpx2.AsyncClient, token: dict[str, str]
) -> None:
    body = b'{\n  "email": "a@example.com",\n  "groups": ["a" "b"]\n}'

    response = await client.post("/api/users/", content=body, headers=token | JSON)

    problem = assert_problem(response, 422)
    assert problem["errors"][0]["msg"] == "line 3, column 18: expected ',' or ']'"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_a_json_route_sent_another_type_answers_415_naming_json(
    client: httpx2.AsyncClient, token: dict[str, str], content_type: str
) -> None:
    response = await client.post(
        "/api/users/",
        content=b"email=a@example.com",
        headers=token | {"content-type": content_type},
    )

    problem = assert_problem(response, 415)
    assert "takes application/json" in problem["detail"]
    assert content_type in problem["detail"]


async def test_login_sent_as_json_says_it_takes_a_form(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    response = await client.post(
        "/api/auth/login", json={"username": "root", "password": superuser.password}
    )

    problem = assert_problem(response, 415)
    assert "takes a form (application/x-www-form-urlencoded)" in problem["detail"]
    assert "application/json" in problem["detail"]


async def test_a_bad_query_parameter_is_located_in_the_query(
    client: httpx2.AsyncClient, token: dict[str, str]
) -> None:
    response = await client.get("/api/audit/", params={"since": "yesterday"}, headers=token)

    problem = assert_problem(response, 422)
    assert [e["loc"] for e in problem["errors"]] == [["query", "since"]]


async def test_a_put_with_two_bad_references_reports_both(
    client: httpx2.AsyncClient, token: dict[str, str], superuser: Account
) -> None:
    response = await client.put(
        f"/api/users/{superuser.id}/access",
        json={"groups": ["nowhere"], "permissions": ["nothing.here"]},
        headers=token,
    )

    problem = assert_problem(response, 422)
    assert [e["loc"] for e in problem["errors"]] == [["body", "groups"], ["body", "permissions"]]
    assert "'nowhere'" in problem["errors"][0]["msg"]
    assert "'nothing.here'" in problem["errors"][1]["msg"]


async def test_the_openapi_document_lists_415_for_operations_with_a_body(
    client: httpx2.AsyncClient,
) -> None:
    document = (await client.get("/api/openapi.json")).json()

    assert "415" in document["paths"]["/api/users/"]["post"]["responses"]
    assert "415" not in document["paths"]["/api/users/"]["get"]["responses"]
