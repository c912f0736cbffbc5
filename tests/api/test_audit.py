"""Every change is written to the audit log with who, which door and what changed — and a
secret is never recorded."""

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
from conftest import Account, bearer, cheap_hashing, make_user

from backoffice import BackOffice
from tests.admin.conftest import AdminBrowser, form_error


async def audit(
    client: httpx2.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/audit/", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_api_changes_are_recorded_with_door_actor_and_field_changes(
    client: httpx2.AsyncClient, superuser: Account, alice: Account
) -> None:
    headers = await bearer(client, "root")
    changed = await client.patch(
        f"/api/users/{alice.id}", json={"full_name": "Alice Liddell"}, headers=headers
    )
    assert changed.status_code == 200
    (entry,) = await audit(
        client, headers, object_type="users", object_id=str(alice.id), door="api"
    )
    assert entry["action"] == "update"
    assert entry["actor"] == "root" and entry["actor_id"] == superuser.id
    assert entry["changes"] == {"full_name": [None, "Alice Liddell"]}
    assert entry["object_repr"] == "alice"


async def test_a_password_change_is_recorded_without_any_value(
    client: httpx2.AsyncClient, superuser: Account, alice: Account
) -> None:
    alice_headers = await bearer(client, "alice")
    response = await client.post(
        "/api/users/me/password",
        json={"current_password": alice.password, "new_password": "N3w-Password-Here"},
        headers=alice_headers,
    )
    assert response.status_code == 204
    entries = await audit(client, await bearer(client, "root"), object_id=str(alice.id))
    assert entries[0]["changes"] == {"password": "(changed)"}
    text = str(entries)
    assert (
        "N3w-Password-Here" not in text and "$argon2" not in text and "hashed_password" not in text
    )


async def test_registration_and_deletion_are_recorded(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    registered = await client.post(
        "/api/users/",
        json={"email": "dan@example.com", "username": "dan", "password": "Dan-the-Man-42"},
    )
    user_id = registered.json()["id"]
    headers = await bearer(client, "root")
    assert (await client.delete(f"/api/users/{user_id}", headers=headers)).status_code == 204
    entries = await audit(client, headers, object_type="users", object_id=str(user_id))
    assert [e["action"] for e in entries] == ["delete", "create"]
    create = entries[1]
    assert create["actor"] == "anonymous" and create["door"] == "api"
    assert create["changes"]["email"] == [None, "dan@example.com"]
    assert "hashed_password" not in create["changes"]


async def test_a_deleted_users_id_and_history_pass_to_nobody(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    """Deleting the newest user must not hand its id, and so its audit entries, to the next."""
    headers = await bearer(client, "root")
    body = {"email": "eve@example.com", "username": "eve", "password": "Eve-the-First-42"}
    first = (await client.post("/api/users/", json=body)).json()["id"]
    assert (await client.delete(f"/api/users/{first}", headers=headers)).status_code == 204
    body = {"email": "fay@example.com", "username": "fay", "password": "Fay-the-Second-42"}
    second = (await client.post("/api/users/", json=body)).json()["id"]
    assert second > first
    entries = await audit(client, headers, object_type="users", object_id=str(second))
    assert [(e["action"], e["object_repr"]) for e in entries] == [("create", "fay")]


async def test_a_refused_change_leaves_no_entry(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    headers = await bearer(client, "root")
    refused = await client.patch(
        f"/api/users/{superuser.id}", json={"is_superuser": False}, headers=headers
    )
    assert refused.status_code == 409
    assert (
        await audit(client, headers, object_type="users", object_id=str(superuser.id), door="api")
        == []
    )


async def test_admin_changes_are_recorded_with_the_admin_door(
    client: httpx2.AsyncClient, superuser: Account, alice: Account
) -> None:
    browser = AdminBrowser(client)
    assert (await browser.login("root")).status_code == 302
    response = await browser.submit(
        f"/admin/user/edit/{alice.id}",
        {
            "email": "alice@example.com",
            "username": "alice",
            "full_name": "From Admin",
            "is_active": "y",
        },
    )
    assert response.status_code == 302, form_error(response.text)
    (entry,) = await audit(client, await bearer(client, "root"), door="admin", object_type="users")
    assert entry["changes"] == {"full_name": [None, "From Admin"]}
    page = await client.get("/admin/audit-entry/list")
    assert page.status_code == 200 and "From Admin" not in page.text and "alice" in page.text


async def test_cli_changes_are_recorded_with_the_cli_door(
    client: httpx2.AsyncClient,
    office: BackOffice,
    superuser: Account,
    alice: Account,
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "BACKOFFICE_DATABASE_URL": office.settings.database_url,
        "BACKOFFICE_SECRET_KEY": office.settings.get_secret_key(),
        "BACKOFFICE_NEW_PASSWORD": "Cli-Chosen-Pass-7",
        **{f"BACKOFFICE_{k.upper()}": str(v) for k, v in cheap_hashing().items()},
    }
    with anyio.fail_after(120):
        result = await anyio.run_process(
            [sys.executable, "-m", "backoffice", "changepassword", "alice", "--no-input"],
            env=env,
            cwd=tmp_path,
            check=False,
        )
    assert result.returncode == 0, result.stderr.decode()
    (entry,) = await audit(client, await bearer(client, "root"), door="cli")
    assert entry["actor"] == "operator" and entry["actor_id"] is None
    assert entry["changes"] == {"password": "(changed)"}


async def test_post_changes_are_recorded(
    client: httpx2.AsyncClient, superuser: Account, alice: Account
) -> None:
    headers = await bearer(client, "alice")
    post = (await client.post("/api/posts/", json={"title": "Draft"}, headers=headers)).json()
    await client.patch(f"/api/posts/{post['id']}", json={"published": True}, headers=headers)
    entries = await audit(client, await bearer(client, "root"), object_type="posts")
    assert [e["action"] for e in entries] == ["update", "create"]
    assert entries[0]["changes"] == {"published": [False, True]}
    assert entries[0]["actor"] == "alice"


async def test_only_admins_read_the_audit_log(client: httpx2.AsyncClient, alice: Account) -> None:
    assert (await client.get("/api/audit/")).status_code == 401
    response = await client.get("/api/audit/", headers=await bearer(client, "alice"))
    assert response.status_code == 403


async def test_audit_filters_by_time_and_rejects_bad_values(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account
) -> None:
    await make_user(office, "erin")
    headers = await bearer(client, "root")
    # (object_type: the sign-in just made is in the log too, as a "sign-ins" entry)
    users = {"object_type": "users"}
    assert len(await audit(client, headers, since="2000-01-01T00:00:00Z", **users)) == 2
    assert len(await audit(client, headers, since="2000-01-01t00:00:60+02:00", **users)) == 2
    assert await audit(client, headers, until="2000-01-01T00:00:00Z") == []
    bad = await client.get("/api/audit/", params={"door": "window"}, headers=headers)
    assert bad.status_code == 422


async def test_the_admin_audit_log_is_read_only(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    browser = AdminBrowser(client)
    assert (await browser.login("root")).status_code == 302
    assert (await client.get("/admin/audit-entry/create")).status_code == 403
    assert (await client.get("/admin/audit-entry/edit/1")).status_code == 403


async def test_an_impossible_date_is_a_422_not_a_500(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    headers = await bearer(client, "root")
    for value in ("2000-13-01", "0.5", "yesterday"):
        response = await client.get("/api/audit/", params={"since": value}, headers=headers)
        assert response.status_code == 422, (value, response.text)
