"""``backoffice createapikey`` / ``revokeapikey``: a key for a CI job from the command line,
under the same rules as the API and the admin."""

import httpx2

from backoffice import BackOffice, Settings
from tests.test_cli import STRONG, Cli, cli, empty_db, migrated  # noqa: F401 (fixtures)


async def status_with(settings: Settings, key: str) -> int:
    office = BackOffice(settings)
    try:
        transport = httpx2.ASGITransport(app=office.create_app())
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/api/users/", headers={"Authorization": f"Bearer {key}"})
            return response.status_code
    finally:
        await office.dispose()


async def test_a_ci_key_is_created_printed_once_and_revoked(
    migrated: Cli,  # noqa: F811
    empty_db: Settings,  # noqa: F811
) -> None:
    migrated.ok(
        "createsuperuser", "--no-input", "--email=root@example.com", "--username=root",
        f"--password={STRONG}",
    )  # fmt: skip
    made = migrated.ok(
        "createapikey", "root", "--name", "ci", "--scope", "users.view", "--days", "30"
    )
    key = made.stdout.strip()
    assert key.startswith("bok_") and "\n" not in key
    assert key not in made.stderr and "shown this once" in made.stderr
    assert await status_with(empty_db, key) == 200
    revoked = migrated.ok("revokeapikey", "1")
    assert "revoked" in revoked.stdout
    assert await status_with(empty_db, key) == 401


def test_createapikey_refusals_are_one_clear_line(migrated: Cli) -> None:  # noqa: F811
    migrated.ok(
        "createsuperuser", "--no-input", "--email=root@example.com", "--username=root",
        f"--password={STRONG}",
    )  # fmt: skip
    base = ("createapikey", "root", "--name", "ci")
    assert "at most 365 days" in migrated.refused(*base, "--scope", "users.view", "--days", "400")
    assert "no such permission" in migrated.refused(*base, "--scope", "users.fly", "--days", "3")
    assert "no user" in migrated.refused("createapikey", "nobody", "--name", "x", "--scope",
                                         "users.view", "--days", "3")  # fmt: skip
    assert "does not exist" in migrated.refused("revokeapikey", "99")
