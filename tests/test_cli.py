"""The real command line in a child process (``python -m backoffice …``) against a real database,
checked through the services and over real HTTP."""

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel, col, select

from backoffice import BackOffice, Settings, migrate
from backoffice.errors import AuthenticationFailed
from backoffice.models import User
from backoffice.services import Caller
from backoffice.services.audit import AuditService
from tests.conftest import TEST_SECRET_KEY
from tests.servers import free_port

STRONG = "Str0ngPassw0rd"
SUBPROCESS_TIMEOUT = 120
SERVER_START_TIMEOUT = 60


@dataclass
class Cli:
    """Runs ``python -m backoffice`` with a clean BACKOFFICE_* environment, in ``cwd``."""

    env: dict[str, str]
    cwd: Path

    def run(self, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "backoffice", *args],
            input=stdin,
            env=self.env | env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
            start_new_session=True,  # no controlling terminal, like a script or a CI job
        )

    def ok(self, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        done = self.run(*args, stdin=stdin, **env)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        return done

    def refused(self, *args: str, stdin: str = "", **env: str) -> str:
        """Run a command that must fail cleanly; return its stderr."""
        done = self.run(*args, stdin=stdin, **env)
        assert done.returncode == 1, (done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return done.stderr


async def drop_everything(database_url: str) -> None:
    engine = create_async_engine(database_url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        await engine.dispose()


@pytest.fixture
async def empty_db(settings: Settings) -> AsyncIterator[Settings]:
    await drop_everything(settings.database_url)
    yield settings
    await drop_everything(settings.database_url)


@pytest.fixture
def cli(empty_db: Settings, tmp_path: Path) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    env |= {
        "BACKOFFICE_DATABASE_URL": empty_db.database_url,
        "BACKOFFICE_SECRET_KEY": TEST_SECRET_KEY,
        "BACKOFFICE_ARGON2_TIME_COST": "1",
        "BACKOFFICE_ARGON2_MEMORY_COST": "1024",
        "BACKOFFICE_ARGON2_PARALLELISM": "1",
    }
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    return Cli(env=env, cwd=workdir)


@pytest.fixture
def migrated(cli: Cli) -> Cli:
    cli.ok("migrate")
    return cli


async def authenticate(settings: Settings, login: str, password: str) -> User:
    office = BackOffice(settings)
    try:
        async with office.session() as session:
            return await office.users(session, Caller.anonymous("cli")).authenticate(
                login, password
            )
    finally:
        await office.dispose()


async def all_users(settings: Settings) -> list[User]:
    office = BackOffice(settings)
    try:
        async with office.session() as session:
            return list((await session.exec(select(User).order_by(col(User.id)))).all())
    finally:
        await office.dispose()


# -- migrate ---------------------------------------------------------------------------------


async def test_migrate_brings_an_empty_database_to_head_once(cli: Cli, empty_db: Settings) -> None:
    head = migrate.head_revisions()[0]
    first = cli.ok("migrate")
    assert "Upgraded database" in first.stdout
    assert f"  backoffice: none -> {head}\n" in first.stdout
    assert await migrate.current_revisions(empty_db) == migrate.head_revisions()

    again = cli.ok("migrate")
    assert "already at" in again.stdout
    assert f"  backoffice: {head} -> {head} (nothing to do)\n" in again.stdout


async def test_migrate_downgrade_asks_for_confirmation(migrated: Cli, empty_db: Settings) -> None:
    stderr = migrated.refused("migrate", "--downgrade", "base")
    assert "--yes" in stderr
    assert await migrate.is_up_to_date(empty_db)

    done = migrated.ok("migrate", "--downgrade", "base", "--yes")
    assert "Downgraded database" in done.stdout
    assert await migrate.current_revisions(empty_db) == ()


def test_an_unknown_revision_is_one_line_not_a_traceback(cli: Cli) -> None:
    stderr = cli.refused("migrate", "--revision", "nosuchrevision")
    assert stderr == "backoffice: error: unknown revision 'nosuchrevision' (searched: backoffice)\n"


def test_host_migration_commands_say_what_is_missing(cli: Cli, tmp_path: Path) -> None:
    stderr = cli.refused("makemigrations", "-m", "first")
    assert "pass --app FOLDER" in stderr
    assert len(stderr.splitlines()) == 1

    folder = tmp_path / "nowhere" / "migrations"
    stderr = cli.refused("startmigrations", str(folder), "--models", "nosuchpackage.models")
    assert "cannot find the module nosuchpackage.models" in stderr
    assert len(stderr.splitlines()) == 1
    assert not folder.exists()

    stderr = cli.refused("migrate", BACKOFFICE_APP_MIGRATIONS=str(folder))
    assert stderr == (
        f"backoffice: error: app migrations {folder}: no env.py there (BACKOFFICE_APP_MIGRATIONS "
        "lists Alembic folders; start one with `backoffice startmigrations`)\n"
    )


# -- createsuperuser -------------------------------------------------------------------------


async def test_createsuperuser_without_input_creates_a_working_superuser(
    migrated: Cli, empty_db: Settings
) -> None:
    done = migrated.ok(
        "createsuperuser",
        "--no-input",
        "--email",
        "Root@Example.com",
        "--username",
        "Root",
        BACKOFFICE_SUPERUSER_PASSWORD=STRONG,  # so the password is not in the process list
    )
    assert "root" in done.stdout
    assert STRONG not in done.stdout + done.stderr

    user = await authenticate(empty_db, "root@example.com", STRONG)
    assert (user.username, user.is_active, user.is_staff, user.is_superuser) == (
        "root",
        True,
        True,
        True,
    )
    assert user.hashed_password.startswith("$argon2id$")


async def test_createsuperuser_refusals_are_one_clear_line_each(
    migrated: Cli, empty_db: Settings
) -> None:
    base = ("createsuperuser", "--no-input")
    migrated.ok(*base, "--email", "root@example.com", "--username", "root", "--password", STRONG)

    duplicate = migrated.refused(
        *base, "--email", "root@example.com", "--username", "other", "--password", STRONG
    )
    assert "A user with this email already exists." in duplicate

    weak = migrated.refused(
        *base, "--email", "weak@example.com", "--username", "weak", "--password", "lowercaseonly"
    )
    assert "at least one digit" in weak
    assert "upper-case" in weak
    lines = weak.strip().splitlines()
    assert len(lines) >= 2
    assert all(line.startswith("backoffice: error: Password ") for line in lines)  # one per rule

    bad_email = migrated.refused(
        *base, "--email", "not-an-email", "--username", "mail", "--password", STRONG
    )
    assert "email" in bad_email

    missing = migrated.refused(*base, "--email", "x@example.com")
    assert "--username" in missing
    assert "--password" in missing

    assert [u.username for u in await all_users(empty_db)] == ["root"]


async def test_createsuperuser_prompts_and_asks_again_after_a_refusal(
    migrated: Cli, empty_db: Settings
) -> None:
    answers = [
        "alice@example.com",  # email
        "",  # username: accept the suggestion taken from the email, "alice"
        "weakpassword",  # refused by the password policy ...
        "weakpassword",
        STRONG,  # ... asked again: the two entries differ ...
        STRONG + "x",
        STRONG,  # ... asked again
        STRONG,
    ]
    done = migrated.ok("createsuperuser", stdin="\n".join(answers) + "\n")
    assert "at least one digit" in done.stderr
    assert "do not match" in done.stderr
    assert STRONG not in done.stdout + done.stderr  # passwords are never echoed

    user = await authenticate(empty_db, "alice", STRONG)
    assert user.is_superuser


def test_createsuperuser_stops_cleanly_when_input_ends(migrated: Cli) -> None:
    stderr = migrated.refused("createsuperuser", stdin="alice@example.com\n")
    assert "standard input ended" in stderr


# -- changepassword --------------------------------------------------------------------------


async def test_changepassword_through_the_service(migrated: Cli, empty_db: Settings) -> None:
    migrated.ok(
        "createsuperuser", "--no-input", "--email", "bob@example.com", "--username", "bob",
        "--password", STRONG,
    )  # fmt: skip

    new = "N3wPassword!"
    done = migrated.ok("changepassword", "BOB", stdin=f"{new}\n{new}\n")
    assert "Password changed" in done.stdout
    await authenticate(empty_db, "bob", new)
    with pytest.raises(AuthenticationFailed):
        await authenticate(empty_db, "bob", STRONG)

    scripted = "Scr1ptedPassword"
    migrated.ok("changepassword", "bob@example.com", "--no-input", BACKOFFICE_NEW_PASSWORD=scripted)
    await authenticate(empty_db, "bob", scripted)

    weak = migrated.refused("changepassword", "bob", "--no-input", "--password", "short")
    assert "at least 8 characters" in weak
    unknown = migrated.refused("changepassword", "nobody", "--no-input", "--password", STRONG)
    assert "nobody" in unknown
    await authenticate(empty_db, "bob", scripted)  # unchanged by the refusals


# -- removesecondfactors ----------------------------------------------------------------------


async def test_removesecondfactors_removes_them_ends_sessions_and_is_audited(
    migrated: Cli, empty_db: Settings
) -> None:
    from backoffice.services.factors import has_second_factor
    from tests.factors.helpers import code

    migrated.ok(
        "createsuperuser", "--no-input", "--email", "bob@example.com", "--username", "bob",
        "--password", STRONG,
    )  # fmt: skip
    office = BackOffice(empty_db)
    try:
        async with office.session() as session:
            bob = (await session.exec(select(User))).one()
            factors = office.factors(session, Caller(user=bob, door="api"))
            setup = await factors.start_totp()
            await factors.confirm_totp(code(setup.secret))
            key = await office.auth(
                session, Caller.anonymous("admin")
            ).credentials.open_admin_session(bob)
        done = migrated.ok("removesecondfactors", "BOB")
        assert "Second factors removed for 'bob'" in done.stdout
        async with office.session() as session:
            assert bob.id is not None
            assert not await has_second_factor(session, bob.id)
            auth = office.auth(session, Caller.anonymous("admin"))
            with pytest.raises(AuthenticationFailed):
                await auth.user_for_admin_session(key)
            page = await AuditService(session, Caller.operator()).list(object_id=str(bob.id))
            entries = [(entry.action, entry.actor, entry.door) for entry in page.items]
        assert ("mfa-remove", "operator", "cli") in entries
        assert setup.secret not in done.stdout
    finally:
        await office.dispose()
    assert "nobody" in migrated.refused("removesecondfactors", "nobody")


# -- configuration ---------------------------------------------------------------------------


def test_a_short_secret_key_in_production_exits_2_with_the_reason(cli: Cli) -> None:
    done = cli.run("migrate", BACKOFFICE_ENV="production", BACKOFFICE_SECRET_KEY="too-short")
    assert done.returncode == 2
    assert "BACKOFFICE_SECRET_KEY is too short" in done.stderr
    assert "Traceback" not in done.stderr


# -- serve -----------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    stdout: Path
    stderr: Path

    def output(self) -> tuple[str, str]:
        return self.stdout.read_text(), self.stderr.read_text()


@pytest.fixture
def start_server(cli: Cli, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start ``backoffice serve`` on a free port and wait until /health answers."""
    servers: list[Server] = []

    def start(*args: str, **env: str) -> Server:
        port = free_port()
        out, err = tmp_path / f"serve{len(servers)}.out", tmp_path / f"serve{len(servers)}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "backoffice", "serve", "--port", str(port), *args],
                env=cli.env | env,
                cwd=cli.cwd,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        server = Server(process, f"http://127.0.0.1:{port}", out, err)
        servers.append(server)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            assert process.poll() is None, server.output()
            try:
                with urllib.request.urlopen(f"{server.base_url}/health", timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return server
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, f"no answer from /health: {server.output()}"
            time.sleep(0.1)

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


def stop(server: Server) -> tuple[str, str]:
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=30)
    return server.output()


async def test_serve_on_an_empty_database_explains_how_to_create_a_superuser(
    cli: Cli, empty_db: Settings, backend: str, start_server: Callable[..., Server]
) -> None:
    if backend != "sqlite":
        # PostgreSQL is migrated by the operator, never behind their back.
        stderr = cli.refused("serve", "--port", str(free_port()))
        assert "backoffice migrate" in stderr
        cli.ok("migrate")

    server = start_server()  # returns once /health has answered 200 over real HTTP
    stdout, stderr = stop(server)

    assert "backoffice createsuperuser" in stdout
    assert "Traceback" not in stderr
    assert await migrate.is_up_to_date(empty_db)
    assert await all_users(empty_db) == []


async def test_serve_creates_the_configured_first_superuser_once(
    migrated: Cli, empty_db: Settings, start_server: Callable[..., Server]
) -> None:
    first = {
        "BACKOFFICE_FIRST_SUPERUSER_EMAIL": "boss@example.com",
        "BACKOFFICE_FIRST_SUPERUSER_USERNAME": "boss",
        "BACKOFFICE_FIRST_SUPERUSER_PASSWORD": STRONG,
    }
    stdout, _ = stop(start_server(**first))
    assert "Created superuser 'boss'" in stdout

    stdout, _ = stop(start_server(**first))
    assert "Created superuser" not in stdout

    users = await all_users(empty_db)
    assert [(u.username, u.email, u.is_superuser) for u in users] == [
        ("boss", "boss@example.com", True)
    ]
    await authenticate(empty_db, "boss", STRONG)


async def test_serve_with_two_workers_serves_from_both_on_one_port(
    migrated: Cli, empty_db: Settings, start_server: Callable[..., Server]
) -> None:
    first = {
        "BACKOFFICE_FIRST_SUPERUSER_EMAIL": "boss@example.com",
        "BACKOFFICE_FIRST_SUPERUSER_USERNAME": "boss",
        "BACKOFFICE_FIRST_SUPERUSER_PASSWORD": STRONG,
    }
    server = start_server("--workers", "2", **first)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while server.output()[1].count("Application startup complete") < 2:
        assert time.monotonic() < deadline, server.output()
        await asyncio.sleep(0.1)
    # A token from whichever worker answered the login works on every request after it (the
    # workers share the secret key and the database, nothing else).
    import httpx2

    async with httpx2.AsyncClient(base_url=server.base_url) as client:
        login = await client.post("/api/auth/login", data={"username": "boss", "password": STRONG})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for _ in range(20):
            me = await client.get("/api/users/me", headers=headers)
            assert me.status_code == 200 and me.json()["username"] == "boss"
    _, stderr = stop(server)
    assert stderr.count("Started server process") == 2, stderr
    assert "Traceback" not in stderr


async def test_serve_refuses_a_first_superuser_with_a_weak_password(
    migrated: Cli, empty_db: Settings
) -> None:
    stderr = migrated.refused(
        "serve",
        "--port",
        str(free_port()),
        BACKOFFICE_FIRST_SUPERUSER_EMAIL="boss@example.com",
        BACKOFFICE_FIRST_SUPERUSER_PASSWORD="weakpassword",
    )
    assert "BACKOFFICE_FIRST_SUPERUSER" in stderr
    assert "at least one digit" in stderr
    assert await all_users(empty_db) == []


# -- the audit trail, through every door --------------------------------------------------


async def test_changes_through_cli_api_and_admin_all_show_on_the_users_history_page(
    migrated: Cli, empty_db: Settings
) -> None:
    import httpx2

    from tests.admin.conftest import AdminBrowser, form_error
    from tests.admin.test_history import entries

    migrated.ok(
        "createsuperuser",
        "--no-input",
        "--email",
        "root@example.com",
        "--username",
        "root",
        BACKOFFICE_SUPERUSER_PASSWORD=STRONG,
    )
    office = BackOffice(empty_db)
    try:
        transport = httpx2.ASGITransport(app=office.create_app())
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            signed = await client.post(
                "/api/auth/login", data={"username": "root", "password": STRONG}
            )
            headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
            me = await client.patch(
                "/api/users/me", json={"full_name": "Through the API"}, headers=headers
            )
            assert me.status_code == 200, me.text
            user_id = me.json()["id"]
            browser = AdminBrowser(client)
            assert (await browser.login("root", STRONG)).status_code == 302
            edited = await browser.submit(
                f"/admin/user/edit/{user_id}",
                {
                    "email": "root@example.com",
                    "username": "root",
                    "full_name": "Through the admin",
                    "is_active": "y",
                    "is_staff": "y",
                    "is_superuser": "y",
                },
            )
            assert edited.status_code == 302, form_error(edited.text)

            page = await client.get(f"/admin/user/history/{user_id}")
            audit = await client.get(
                "/api/audit/", params={"object_type": "users"}, headers=headers
            )
    finally:
        await office.dispose()

    assert page.status_code == 200
    rows = entries(page.text)
    who_door_action = [
        re.search(r"(\S+(?: \(#\d+\))?) (admin|api|cli) (create|update)", row) for row in rows
    ]
    assert [m.groups() if m else None for m in who_door_action] == [
        ("root (#1)", "admin", "update"),
        ("root (#1)", "api", "update"),
        ("operator", "cli", "create"),
    ]
    assert "Full name : Through the API → Through the admin" in rows[0]
    assert "Full name : — → Through the API" in rows[1]
    assert [(e["door"], e["action"]) for e in audit.json()["items"]] == [
        ("admin", "update"),
        ("api", "update"),
        ("cli", "create"),
    ]
    admin_change, api_change, cli_create = audit.json()["items"]
    assert admin_change["changes"]["full_name"] == ["Through the API", "Through the admin"]
    assert api_change["changes"]["full_name"] == [None, "Through the API"]
    assert cli_create["actor"] == "operator"
    assert "hashed_password" not in cli_create["changes"]


# -- the development secret-key warning: where it matters, once ------------------------------

DEV_KEY_WARNING = "BACKOFFICE_SECRET_KEY is not set"


def without_secret_key(cli: Cli) -> Cli:
    env = {k: v for k, v in cli.env.items() if k != "BACKOFFICE_SECRET_KEY"}
    return Cli(env=env, cwd=cli.cwd)


def test_operator_commands_do_not_warn_about_a_development_key(cli: Cli) -> None:
    keyless = without_secret_key(cli)

    outputs = [
        keyless.ok("migrate"),
        keyless.ok(
            "createsuperuser",
            "--no-input",
            "--email",
            "boss@example.com",
            "--username",
            "boss",
            BACKOFFICE_SUPERUSER_PASSWORD=STRONG,
        ),
        keyless.ok("clearsessions"),
    ]

    for done in outputs:
        assert DEV_KEY_WARNING not in done.stderr + done.stdout


async def test_serve_warns_about_a_development_key_once(
    cli: Cli, backend: str, start_server: Callable[..., Server]
) -> None:
    if backend != "sqlite":
        cli.ok("migrate")
    # start_server reads cli.env: the key is removed from it for this server only.
    cli.env.pop("BACKOFFICE_SECRET_KEY")
    stdout, stderr = stop(start_server())

    assert (stdout + stderr).count(DEV_KEY_WARNING) == 1


async def test_the_example_warns_about_a_development_key_once(
    empty_db: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from backoffice.cli import prepare_to_serve
    from examples.invoicing.app import create_app

    monkeypatch.delenv("BACKOFFICE_SECRET_KEY", raising=False)
    keyless = empty_db.model_copy(update={"secret_key": None})
    settings = Settings.model_validate(keyless.model_dump())
    # What ``python -m examples.invoicing`` does: prepare (migrate), then the app factory.
    await prepare_to_serve(settings)
    app = create_app(Settings.model_validate(keyless.model_dump()))
    await app.state.backoffice.dispose()

    printed = capsys.readouterr()
    assert (printed.out + printed.err).count(DEV_KEY_WARNING) == 1
