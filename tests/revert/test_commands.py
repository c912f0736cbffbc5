"""``backoffice purge-trash`` and ``backoffice revert`` in a child process, against a migrated
database (the revision that adds the trash and the units included)."""

from datetime import timedelta

from sqlmodel import col, select

from backoffice import BackOffice, Settings
from backoffice.models import AuditEntry, User, UserAdminCreate, UserUpdate, utcnow
from backoffice.services import Caller
from tests.test_cli import Cli, cli, empty_db, migrated

__all__ = ["cli", "empty_db", "migrated"]  # the fixtures these tests use


async def _office_work(settings: Settings) -> tuple[int, int, int, int]:
    """Two users deleted (one 40 days ago), one renamed; their ids and the rename's entry."""
    office = BackOffice(settings)
    operator = Caller.operator("system")
    try:
        async with office.session() as session:
            users = office.users(session, operator)
            old = await users.create(
                UserAdminCreate(email="old@example.com", username="old", password="Str0ngPassw0rd")
            )
            new = await users.create(
                UserAdminCreate(email="new@example.com", username="new", password="Str0ngPassw0rd")
            )
            assert old.id is not None and new.id is not None
            await users.delete(old.id)
            await users.delete(new.id)
            old.deleted_at = utcnow() - timedelta(days=40)
            session.add(old)
            renamed = await users.create(
                UserAdminCreate(email="ren@example.com", username="ren", password="Str0ngPassw0rd")
            )
            assert renamed.id is not None
            await users.update(renamed.id, UserUpdate(full_name="Renamed"))
        async with office.session() as session:
            entry = (
                await session.exec(
                    select(AuditEntry.id).where(
                        col(AuditEntry.action) == "update",
                        col(AuditEntry.object_id) == str(renamed.id),
                    )
                )
            ).one()
        return old.id, new.id, renamed.id, entry
    finally:
        await office.dispose()


async def _user(settings: Settings, pk: int) -> User | None:
    office = BackOffice(settings)
    try:
        async with office.session() as session:
            return await session.get(User, pk)
    finally:
        await office.dispose()


async def test_purge_trash_deletes_what_is_older_than_the_setting(
    migrated: Cli, empty_db: Settings
) -> None:
    old, new, _, _ = await _office_work(empty_db)
    done = migrated.ok("purge-trash")
    assert "Purged rows deleted more than 30 days ago: 1 from users, 0 from posts." in done.stdout
    assert await _user(empty_db, old) is None
    assert await _user(empty_db, new) is not None

    shorter = migrated.ok("purge-trash", BACKOFFICE_TRASH_DAYS="1")
    assert "more than 1 days ago: 0 from users" in shorter.stdout
    assert "is out of range" in migrated.run("purge-trash", "--days", "0").stderr
    assert "--office nowhere" in migrated.refused("purge-trash", "--office", "nowhere:office")


async def test_revert_command_undoes_an_entry_and_explains_a_refusal(
    migrated: Cli, empty_db: Settings
) -> None:
    _, _, renamed, entry = await _office_work(empty_db)
    done = migrated.ok("revert", str(entry))
    assert "Reverted: 1 audit entries written, unit " in done.stdout
    user = await _user(empty_db, renamed)
    assert user is not None and user.full_name is None

    refused = migrated.refused("revert", str(entry))
    assert "Nothing was reverted" in refused and "(--force reverts it anyway)" in refused
    assert "does not exist" in migrated.refused("revert", "99999")
    assert "No audit entry was written by unit" in migrated.refused("revert", "--unit", "0" * 32)
    forced = migrated.ok("revert", str(entry), "--force")  # the name is already back
    assert forced.stdout == "Nothing to revert: the rows already hold the recorded values.\n"
