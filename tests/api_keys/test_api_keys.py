"""API keys at the API door: what a key may hold when it is made, what it may do when used, and
every way it stops working at once."""

import logging
from datetime import timedelta

import httpx2
import pytest
from sqlmodel import col, select, update

from backoffice import BackOffice
from backoffice.models import ApiKey, AuditEntry, User, utcnow
from backoffice.models.auth import LoginThrottle
from backoffice.services import Caller
from tests.admin.conftest import AdminBrowser
from tests.api_keys.conftest import create_key, in_days, key_header, operator_key
from tests.conftest import Account, assert_problem, bearer, grant, make_user

KEYS = "/api/api-keys/"


async def make_invoice(client: httpx2.AsyncClient, headers: dict[str, str]) -> int:
    customer = await client.post("/api/customers/", json={"name": "ACME"}, headers=headers)
    assert customer.status_code == 201, customer.text
    body = {"number": "INV-1", "customer_id": customer.json()["id"], "amount_cents": 1200}
    invoice = await client.post("/api/invoices/", json=body, headers=headers)
    assert invoice.status_code == 201, invoice.text
    return int(invoice.json()["id"])


async def clerk(office: BackOffice, permissions: list[str], name: str = "clerk") -> Account:
    account = await make_user(office, name, is_staff=True)
    await grant(office, account, permissions)
    return account


# -- creating -------------------------------------------------------------------------------------


async def test_scopes_must_be_a_subset_of_what_the_owner_holds(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    owner = await clerk(office, ["invoices.view", "customers.change"])
    headers = await bearer(client, "clerk")

    async def attempt(scopes: list[str], **extra: object) -> httpx2.Response:
        body = {"name": "ci", "scopes": scopes, "expires_at": in_days(30), **extra}
        return await client.post(KEYS, json=body, headers=headers)

    lacking = assert_problem(await attempt(["invoices.view", "invoices.change"]), 422)
    assert "invoices.change" in lacking["detail"]
    assert "no such permission" in assert_problem(await attempt(["invoices.fly"]), 422)["detail"]
    assert_problem(await attempt([]), 422)
    # change includes view, as everywhere else
    made = await attempt(["customers.view", "invoices.view"])
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["key"].startswith("bok_") and body["prefix"] == body["key"][:12]
    assert body["user_id"] == owner.id and body["scopes"] == ["customers.view", "invoices.view"]
    assert made.headers["cache-control"] == "no-store"
    # nobody else's key, unless a superuser makes it
    other = await make_user(office, "other", is_staff=True)
    assert_problem(await attempt(["invoices.view"], user_id=other.id), 403)


async def test_a_superuser_makes_keys_for_others_within_what_they_hold(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    await make_user(office, "root", is_staff=True, is_superuser=True)
    owner = await clerk(office, ["invoices.view"])
    customer = await make_user(office, "customer")  # not staff: holds nothing
    headers = await bearer(client, "root")
    body = {"name": "ci", "scopes": ["invoices.view"], "expires_at": in_days(1)}
    made = await client.post(KEYS, json={**body, "user_id": owner.id}, headers=headers)
    assert made.status_code == 201 and made.json()["user_id"] == owner.id
    wider = {**body, "scopes": ["invoices.change"], "user_id": owner.id}
    assert (
        "clerk does not hold"
        in assert_problem(await client.post(KEYS, json=wider, headers=headers), 422)["detail"]
    )
    not_staff = {**body, "user_id": customer.id}
    assert_problem(await client.post(KEYS, json=not_staff, headers=headers), 422)
    # a key that works for a non-staff account would hold nothing: refused at once
    assert_problem(
        await client.post(KEYS, json=body, headers=await bearer(client, "customer")), 403
    )


@pytest.mark.parametrize(
    ("expires_at", "why"),
    [(in_days(-1), "future"), (in_days(366), "at most 365 days"), (None, "")],
)
async def test_every_key_expires_within_the_maximum(
    client: httpx2.AsyncClient, office: BackOffice, expires_at: str | None, why: str
) -> None:
    await clerk(office, ["invoices.view"])
    body = {"name": "ci", "scopes": ["invoices.view"], "expires_at": expires_at}
    response = await client.post(KEYS, json=body, headers=await bearer(client, "clerk"))
    assert why in assert_problem(response, 422)["detail"]


# -- using ----------------------------------------------------------------------------------------


async def test_a_view_key_reads_invoices_and_nothing_more(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    await make_user(office, "root", is_staff=True, is_superuser=True)
    invoice_id = await make_invoice(client, await bearer(client, "root"))
    owner = await clerk(office, ["invoices.change", "users.change", "customers.view"])
    key = key_header((await create_key(client, owner, ["invoices.view"]))["key"])

    listed = await client.get("/api/invoices/", headers=key)
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert (await client.get(f"/api/invoices/{invoice_id}", headers=key)).status_code == 200
    refused = [
        ("PATCH", f"/api/invoices/{invoice_id}", {"status": "sent"}),
        ("POST", "/api/invoices/", {"number": "X", "customer_id": 1, "amount_cents": 1}),
        ("DELETE", f"/api/invoices/{invoice_id}", None),
        ("GET", "/api/customers/", None),  # the owner holds it; the key does not name it
        # every account route, its owner's included
        ("GET", "/api/users/me", None),
        ("PATCH", "/api/users/me", {"full_name": "Machine"}),
        ("POST", "/api/users/me/password", {"current_password": "x", "new_password": "y" * 12}),
        ("GET", "/api/users/me/access", None),
        ("GET", "/api/users/", None),
        ("GET", f"/api/users/{owner.id}", None),
        ("PATCH", f"/api/users/{owner.id}", {"full_name": "Machine"}),
        ("DELETE", f"/api/users/{owner.id}", None),
        ("GET", f"/api/users/{owner.id}/access", None),
        ("PUT", f"/api/users/{owner.id}/access", {"permissions": [], "groups": []}),
        # keys are made, listed and revoked by people
        ("POST", KEYS, {"name": "x", "scopes": ["invoices.view"], "expires_at": in_days(1)}),
        ("GET", KEYS, None),
    ]
    for method, path, body in refused:
        response = await client.request(method, path, json=body, headers=key)
        assert_problem(response, 403)
    # and a key is no access token
    assert_problem(await client.post("/api/auth/logout", headers=key), 401)
    async with office.session() as session:
        user = await session.get(User, owner.id)
        assert user is not None and user.full_name in (None, "")


async def test_a_superusers_key_holds_its_scopes_not_everything(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    root = await make_user(office, "root", is_staff=True, is_superuser=True)
    invoice_id = await make_invoice(client, await bearer(client, "root"))
    key = key_header((await create_key(client, root, ["invoices.view"]))["key"])
    assert (await client.get(f"/api/invoices/{invoice_id}", headers=key)).status_code == 200
    patch = await client.patch(f"/api/invoices/{invoice_id}", json={"status": "sent"}, headers=key)
    assert_problem(patch, 403)
    assert_problem(await client.get("/api/users/", headers=key), 403)
    assert_problem(await client.get("/api/audit/", headers=key), 403)


async def test_a_key_with_change_scope_changes_invoices(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    await make_user(office, "root", is_staff=True, is_superuser=True)
    invoice_id = await make_invoice(client, await bearer(client, "root"))
    owner = await clerk(office, ["invoices.change"])
    key = key_header((await create_key(client, owner, ["invoices.change"]))["key"])
    patch = await client.patch(f"/api/invoices/{invoice_id}", json={"status": "sent"}, headers=key)
    assert patch.status_code == 200, patch.text


# -- stopping -------------------------------------------------------------------------------------


async def _end(office: BackOffice, how: str, owner: Account, key_id: int) -> None:
    system = Caller.operator("system")
    async with office.session() as session:
        if how == "revoked":
            await office.api_keys(session, system).revoke(key_id)
        elif how == "expired":
            past = utcnow() - timedelta(seconds=1)
            await session.exec(
                update(ApiKey).where(col(ApiKey.id) == key_id).values(expires_at=past)
            )
        elif how == "deactivated":
            await office.users(session, system).update(owner.id, _user_update(is_active=False))
        elif how == "no longer staff":
            await office.users(session, system).update(owner.id, _user_update(is_staff=False))
        elif how == "owner deleted":
            await office.users(session, system).delete(owner.id)


def _user_update(**changes: bool) -> object:
    from backoffice.models import UserUpdate

    return UserUpdate(**changes)


@pytest.mark.parametrize(
    "how", ["revoked", "expired", "deactivated", "no longer staff", "owner deleted"]
)
async def test_a_key_stops_working_at_once(
    client: httpx2.AsyncClient, office: BackOffice, how: str
) -> None:
    owner = await clerk(office, ["invoices.view"])
    made = await create_key(client, owner, ["invoices.view"])
    key = key_header(made["key"])
    assert (await client.get("/api/invoices/", headers=key)).status_code == 200
    await _end(office, how, owner, made["id"])
    assert_problem(await client.get("/api/invoices/", headers=key), 401)


async def test_a_lost_permission_leaves_the_rest_of_the_intersection(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    owner = await clerk(office, ["invoices.view", "customers.view"])
    key = key_header((await create_key(client, owner, ["invoices.view", "customers.view"]))["key"])
    assert (await client.get("/api/invoices/", headers=key)).status_code == 200
    await grant(office, owner, ["customers.view"])  # invoices.view taken away
    assert_problem(await client.get("/api/invoices/", headers=key), 403)
    assert (await client.get("/api/customers/", headers=key)).status_code == 200
    # given back, and more: the key holds what it named, never more
    await grant(office, owner, ["invoices.change", "customers.view"])
    assert (await client.get("/api/invoices/", headers=key)).status_code == 200
    body = {"number": "X", "customer_id": 1, "amount_cents": 1}
    assert_problem(await client.post("/api/invoices/", json=body, headers=key), 403)


async def test_revoking_through_the_api(client: httpx2.AsyncClient, office: BackOffice) -> None:
    owner = await clerk(office, ["invoices.view"])
    made = await create_key(client, owner, ["invoices.view"])
    headers = await bearer(client, "clerk")
    assert (await client.delete(f"{KEYS}{made['id']}", headers=headers)).status_code == 204
    assert_problem(await client.get("/api/invoices/", headers=key_header(made["key"])), 401)
    again = await client.delete(f"{KEYS}{made['id']}", headers=headers)
    assert again.status_code == 204
    listed = (await client.get(KEYS, headers=headers)).json()["items"]
    assert [k["revoked_at"] is not None for k in listed] == [True]
    active = (await client.get(KEYS, params={"active": True}, headers=headers)).json()
    assert active["items"] == []


async def test_people_see_their_own_keys_and_superusers_all(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    await make_user(office, "root", is_staff=True, is_superuser=True)
    ann = await clerk(office, ["invoices.view"], "ann")
    ben = await clerk(office, ["invoices.view"], "ben")
    ann_key = await create_key(client, ann, ["invoices.view"])
    await create_key(client, ben, ["invoices.view"])
    mine = (await client.get(KEYS, headers=await bearer(client, "ann"))).json()["items"]
    assert [k["user_id"] for k in mine] == [ann.id]
    ben_headers = await bearer(client, "ben")
    assert_problem(await client.get(f"{KEYS}{ann_key['id']}", headers=ben_headers), 404)
    assert_problem(await client.delete(f"{KEYS}{ann_key['id']}", headers=ben_headers), 404)
    root = await bearer(client, "root")
    every = (await client.get(KEYS, headers=root)).json()["items"]
    assert {k["user_id"] for k in every} == {ann.id, ben.id}
    only_ann = (await client.get(KEYS, params={"user_id": ann.id}, headers=root)).json()
    assert [k["user_id"] for k in only_ann["items"]] == [ann.id]


# -- last use -------------------------------------------------------------------------------------


async def test_last_use_is_kept_at_most_once_a_minute(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    owner = await clerk(office, ["invoices.view"])
    made = await create_key(client, owner, ["invoices.view"])
    key, headers = key_header(made["key"]), await bearer(client, "clerk")
    assert made["last_used_at"] is None
    await client.get("/api/invoices/", headers=key)
    first = (await client.get(f"{KEYS}{made['id']}", headers=headers)).json()
    assert first["last_used_at"] is not None and first["last_used_address"] == "127.0.0.1"
    await client.get("/api/invoices/", headers=key)
    second = (await client.get(f"{KEYS}{made['id']}", headers=headers)).json()
    assert second["last_used_at"] == first["last_used_at"]  # no write within the minute
    async with office.session() as session:
        earlier = utcnow() - timedelta(minutes=2)
        await session.exec(
            update(ApiKey).where(col(ApiKey.id) == made["id"]).values(last_used_at=earlier)
        )
    await client.get("/api/invoices/", headers=key)
    third = (await client.get(f"{KEYS}{made['id']}", headers=headers)).json()
    assert third["last_used_at"] > first["last_used_at"]


# -- guessing and leaking -------------------------------------------------------------------------


async def test_failed_key_lookups_count_in_the_address_throttle(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    owner = await clerk(office, ["invoices.view"])
    good = (await create_key(client, owner, ["invoices.view"]))["key"]
    wrong = key_header("bok_" + "A" * 43)
    assert_problem(await client.get("/api/invoices/", headers=wrong), 401)
    async with office.session() as session:
        row = await session.get(LoginThrottle, "address:127.0.0.1")
        assert row is not None and row.failures == 1
    statuses = [
        (await client.get("/api/invoices/", headers=wrong)).status_code
        for _ in range(office.settings.login_throttle_address_failures + 1)
    ]
    assert statuses[-1] == 429 and set(statuses) == {401, 429}
    # a guessing address is refused even with a good key... only on its failures: a good key
    # still works (it proves itself before the throttle is asked)
    assert (await client.get("/api/invoices/", headers=key_header(good))).status_code == 200


@pytest.mark.parametrize("name", ["access_token", "api_key", "key", "token"])
async def test_a_key_in_the_query_string_is_never_accepted(
    client: httpx2.AsyncClient, office: BackOffice, name: str
) -> None:
    owner = await clerk(office, ["invoices.view"])
    key = (await create_key(client, owner, ["invoices.view"]))["key"]
    assert_problem(await client.get("/api/invoices/", params={name: key}), 401)


async def test_the_key_is_never_shown_again_logged_or_audited(
    client: httpx2.AsyncClient, office: BackOffice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    root = await make_user(office, "root", is_staff=True, is_superuser=True)
    owner = await clerk(office, ["invoices.view"])
    made = await create_key(client, owner, ["invoices.view"])
    key = made["key"]
    headers = await bearer(client, "root")
    await client.get("/api/invoices/", headers=key_header(key))
    await client.get("/api/invoices/", headers=key_header(key[:-1] + "x"))  # a failure logged?
    await client.delete(f"{KEYS}{made['id']}", headers=headers)
    seen = [
        (await client.get(KEYS, headers=headers)).text,
        (await client.get(f"{KEYS}{made['id']}", headers=headers)).text,
        (await client.get("/api/audit/", headers=headers)).text,
    ]
    browser = AdminBrowser(client)
    assert (await browser.login("root")).status_code == 302
    seen.append((await client.get("/admin/audit-entry/export/csv")).text)
    seen.append((await client.get("/admin/audit-entry/export/json")).text)
    seen.append((await client.get("/admin/api-keys")).text)
    secret_part = key[len("bok_") :]
    for text in [*seen, caplog.text]:
        assert secret_part not in text
    async with office.session() as session:
        entries = (
            await session.exec(select(AuditEntry).where(col(AuditEntry.object_type) == "api_keys"))
        ).all()
        stored = (await session.exec(select(ApiKey))).one()
    assert [e.action for e in entries] == ["create", "revoke"]
    assert all(secret_part not in str(e.changes) for e in entries)
    assert entries[0].changes["scopes"] == [None, ["invoices.view"]]
    assert secret_part not in stored.key_hash and secret_part not in str(stored.model_dump())
    assert root.id is not None


async def test_a_key_is_refused_at_the_admin_login(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    owner = await clerk(office, ["invoices.view"])
    key = await operator_key(office, owner, ["invoices.view"])
    page = await client.get("/admin/", headers=key_header(key))
    assert page.status_code == 302 and "/admin/login" in page.headers["location"]
    browser = AdminBrowser(client)
    for login in ("clerk", key):
        refused = await browser.login(login, key)
        assert refused.status_code == 400
    assert (await client.get("/admin/", headers=key_header(key))).status_code == 302


async def test_a_key_holds_its_scopes_not_its_owners_rights_over_their_own_rows(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    owner = await clerk(office, ["invoices.view"])
    person = await bearer(client, "clerk")
    draft = {"title": "Draft", "body": "Not yet.", "published": False}
    made = await client.post("/api/posts/", json=draft, headers=person)
    assert made.status_code == 201, made.text
    key = key_header((await create_key(client, owner, ["invoices.view"]))["key"])
    listed = await client.get("/api/posts/", headers=key)
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert_problem(await client.get(f"/api/posts/{made.json()['id']}", headers=key), 404)
    assert_problem(await client.post("/api/posts/", json=draft, headers=key), 403)
    edit = await client.patch(f"/api/posts/{made.json()['id']}", json={"title": "X"}, headers=key)
    assert edit.status_code in (403, 404)
