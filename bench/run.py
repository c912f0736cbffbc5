"""Benchmark backoffice against a floor: a bare Starlette + asyncpg app doing the same work.

Both run under uvicorn (one worker, no access log) against scratch PostgreSQL databases that
this script creates with ``backoffice migrate`` and ``backoffice createsuperuser``, seeds with
COPY, and drops at the end (unless ``--keep``). wrk drives the throughput scenarios, alternating
backoffice and floor; a small asyncio client drives the login, event-loop-lag and growth
scenarios. See README.md beside this file.

    .venv/bin/python bench/run.py                     # everything, about 10 minutes
    .venv/bin/python bench/run.py --scenarios me,list --rounds 5 --duration 10
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import asyncpg

BENCH_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
MB = 1_000_000
ALL_SCENARIOS = (
    *("health", "me", "list", "login", "lag", "growth", "apikey", "admin", "django"),
    *("workers", "granian"),
)

ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_USERNAME = "benchadmin"
ADMIN_PASSWORD = "Ward-Lantern-Orbit-58"
SEED_PASSWORD = "Quartz-Meadow-Falcon-91"
FIRST_NAMES = [
    "Alice",
    "Bruno",
    "Chloe",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ingrid",
    "Jamal",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Oskar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
]
LAST_NAMES = [
    "Garcia",
    "Novak",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Kowalski",
    "Haddad",
    "Fischer",
    "Costa",
    "Petrov",
    "Nguyen",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Yilmaz",
    "Jensen",
    "Murphy",
    "Silva",
    "Kaur",
]
COMMON_TERM = "garcia"  # the last name of 5% of the seeded users
SEED_VERSION = "backoffice-bench seed 2"  # kept databases seeded otherwise are made anew

TARGET_LOGIN_OVERHEAD_MS = 5.0
# Logins before the measured ones. The pool hands out its connections in turn, and each one
# prepares the login's statements on first use (asyncpg caches them per connection): with 3
# warm-up logins, 20 measured pairs gave medians from +5.2 to +8.5 ms for the same code.
LOGIN_WARMUP = 20
TARGET_LOGIN_RSS = 300 * MB
TARGET_MAX_LAG_MS = 50.0
TARGET_GROWTH = 2.0
TARGET_API_KEY_OVERHEAD = 0.10
"""A request with an API key may cost at most 10 % more than the same request with a JWT."""
API_KEY_PATH = "/api/users/2"
"""One user read by the admin: a JWT of the superuser against a key of theirs scoped
``users.view`` (the same row, the same JSON; the key's owner narrowed to the scope)."""


# -- small helpers -------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In a child before exec: get SIGTERM if this script dies, so no server outlives it."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def size_label(size: int) -> str:
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


# -- a minimal HTTP/1.1 client (keep-alive, Content-Length or chunked) ---------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One keep-alive connection to a server on 127.0.0.1."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> "Connection":
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        form: dict[str, str] | None = None,
        wait: float = 60,
    ) -> Reply:
        assert self.reader is not None and self.writer is not None
        body = urlencode(form).encode() if form is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        if form is not None:
            lines.append("Content-Type: application/x-www-form-urlencoded")
        lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return await asyncio.wait_for(self._read_reply(), wait)

    async def _read_reply(self) -> Reply:
        assert self.reader is not None
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {}
        for line in head[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            body = b"".join(chunks)
        else:
            body = await self.reader.read()
        return Reply(status, headers, body)


async def fetch(port: int, method: str, path: str, **options: Any) -> Reply:
    async with Connection(port) as connection:
        return await connection.request(method, path, **options)


async def login(port: int, username: str, password: str) -> str:
    reply = await fetch(
        port, "POST", "/api/auth/login", form={"username": username, "password": password}
    )
    if reply.status != 200:
        raise RuntimeError(f"login as {username} answered {reply.status}: {reply.body[:300]!r}")
    return str(reply.json()["access_token"])


# -- process memory ------------------------------------------------------------------------


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # The command name may hold spaces: the parent pid follows the last ')'.
                ppid = int(stat.read().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class RssPeak:
    max_rss: int = 0
    samples: int = 0

    def update(self, rss: int) -> None:
        self.max_rss = max(self.max_rss, rss)
        self.samples += 1


# -- servers -------------------------------------------------------------------------------


class Server:
    """A uvicorn process serving one of the bench apps on a free port of 127.0.0.1."""

    def __init__(
        self,
        name: str,
        app: str,
        env: dict[str, str],
        workdir: Path,
        *,
        workers: int = 1,
        runner: str = "uvicorn",
    ) -> None:
        self.name, self.app, self.env, self.workdir = name, app, env, workdir
        self.workers, self.runner = workers, runner
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.log_path = workdir / f"{name}-{self.port}.log"

    def command(self) -> list[str]:
        """uvicorn (the stack ``backoffice serve`` runs), or Granian for the comparison."""
        if self.runner == "granian":
            return [
                *(sys.executable, "-m", "granian", "--interface", "asgi", "--factory"),
                *("--working-dir", str(BENCH_DIR), "--host", HOST, "--port", str(self.port)),
                *("--workers", str(self.workers), "--loop", "uvloop", "--no-ws"),
                *("--log-level", "warning", "--no-access-log", self.app),
            ]
        return [
            *(sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH_DIR), self.app),
            *("--factory", "--host", HOST, "--port", str(self.port)),
            *("--workers", str(self.workers), "--no-access-log", "--log-level", "warning"),
        ]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, wait: float = 60) -> None:
        cmd = self.command()
        output = await asyncio.to_thread(self.log_path.open, "wb")
        with output:
            self.proc = await asyncio.create_subprocess_exec(
                *cmd,
                env=self.env,
                cwd=self.workdir,
                stdout=output,
                stderr=output,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                break
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, TimeoutError):
                if (await fetch(self.port, "GET", "/health", wait=5)).status == 200:
                    return
            await asyncio.sleep(0.2)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        await self.stop()
        raise RuntimeError(f"{self.name} did not start on port {self.port}:\n{tail}")

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    def rss(self) -> int:
        """Resident memory of the server and its children, in bytes."""
        pids = [self.pid, *_descendants(self.pid)]
        return sum(_status_kb(pid, "VmRSS") for pid in pids) * 1024

    def hwm(self) -> int:
        """The server process's peak resident memory so far (VmHWM), in bytes."""
        return _status_kb(self.pid, "VmHWM") * 1024

    @asynccontextmanager
    async def sampling_rss(self, interval: float = 0.02) -> AsyncIterator[RssPeak]:
        peak = RssPeak()

        async def sample() -> None:
            while True:
                peak.update(self.rss())
                await asyncio.sleep(interval)

        task = asyncio.create_task(sample())
        try:
            yield peak
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            peak.update(self.rss())


# -- PostgreSQL scratch databases ----------------------------------------------------------


@dataclass(frozen=True)
class Postgres:
    """The server that holds the scratch databases (``postgresql://user@host:port``)."""

    base: str

    def dsn(self, database: str) -> str:
        return f"{self.base.rstrip('/')}/{database}"

    def sqlalchemy_url(self, database: str) -> str:
        return self.dsn(database).replace("postgresql://", "postgresql+asyncpg://", 1)

    async def execute(self, sql: str) -> None:
        connection = await asyncpg.connect(self.dsn("postgres"))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def exists(self, database: str) -> bool:
        connection = await asyncpg.connect(self.dsn("postgres"))
        try:
            query = "SELECT 1 FROM pg_database WHERE datname = $1"
            return bool(await connection.fetchval(query, database))
        finally:
            await connection.close()

    async def drop(self, database: str) -> None:
        await self.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@dataclass(frozen=True)
class HashParams:
    time_cost: int
    memory_cost: int
    parallelism: int

    @classmethod
    def for_server(cls, extra_env: dict[str, str]) -> "HashParams":
        """backoffice's defaults, unless ``--bo-env`` overrides them."""
        from backoffice.config import Settings

        def setting(name: str) -> int:
            value = extra_env.get(f"BACKOFFICE_{name.upper()}")
            return int(value) if value else int(Settings.model_fields[name].default)

        return cls(
            setting("argon2_time_cost"),
            setting("argon2_memory_cost"),
            setting("argon2_parallelism"),
        )

    def context(self) -> Any:
        from passlib.context import CryptContext

        return CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__time_cost=self.time_cost,
            argon2__memory_cost=self.memory_cost,
            argon2__parallelism=self.parallelism,
        )


def seed_username(index: int) -> str:
    """A first name and 8 hex digits (a bijective hash of the index): unique, and as varied as
    real names, so trigram indexes see realistic selectivity."""
    return f"{FIRST_NAMES[index % 20].lower()}{(index * 2654435761) % 2**32:08x}"


RARE_TERM = seed_username(777)  # one user at every size from 777 up


def _seed_rows(count: int, hashed: str) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(20261124)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for index in range(2, count + 2):  # the admin made by the CLI is user 1
        name = seed_username(index)
        full_name = f"{FIRST_NAMES[index % 20]} {LAST_NAMES[(index // 20) % 20]}"
        created = start + timedelta(seconds=index * 30 + rng.randrange(30))
        yield (
            f"{name}@example.com",
            name,
            full_name,
            hashed,
            True,
            False,
            False,
            created,
            created,
            None,
        )


class Databases:
    """Creates the scratch databases through backoffice's own CLI and remembers them."""

    def __init__(self, pg: Postgres, prefix: str, secret: str, extra_env: dict[str, str]) -> None:
        self.pg, self.prefix, self.secret, self.extra_env = pg, prefix, secret, extra_env
        self.used: list[str] = []

    def env(self, database: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
        env |= {
            "BACKOFFICE_DATABASE_URL": self.pg.sqlalchemy_url(database),
            "BACKOFFICE_SECRET_KEY": self.secret,
            "BACKOFFICE_LOG_LEVEL": "WARNING",
        }
        return env | self.extra_env

    async def cli(self, database: str, *args: str, env: dict[str, str] | None = None) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "backoffice",
            *args,
            env=(env or self.env(database)),
            cwd=tempfile.gettempdir(),  # no stray .env file
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(proc.communicate(), 600)
        if proc.returncode != 0:
            text = output.decode(errors="replace")
            raise RuntimeError(f"backoffice {args[0]} failed ({proc.returncode}): {text}")

    async def create_api_key(self, database: str) -> str:
        """A key of the admin's, scoped ``users.view``, through ``backoffice createapikey``
        (which prints the key alone on stdout)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "backoffice",
            "createapikey",
            ADMIN_USERNAME,
            "--name",
            "bench",
            "--scope",
            "users.view",
            "--days",
            "1",
            env=self.env(database),
            cwd=tempfile.gettempdir(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        if proc.returncode != 0:
            raise RuntimeError(f"backoffice createapikey failed: {err.decode(errors='replace')}")
        return out.decode().strip()

    async def seeded(self, database: str) -> tuple[str, int]:
        """The seed marker (the database's comment) and the number of users."""
        connection = await asyncpg.connect(self.pg.dsn(database))
        try:
            marker = await connection.fetchval(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = current_database()"
            )
            return str(marker), int(await connection.fetchval('SELECT count(*) FROM "user"'))
        finally:
            await connection.close()

    async def analyze(self, database: str) -> None:
        connection = await asyncpg.connect(self.pg.dsn(database))
        try:
            await connection.execute('VACUUM ANALYZE "user"')
        finally:
            await connection.close()

    async def prepare(self, name: str, users: int, hashed: str, *, reuse: bool) -> str:
        """A database with the migrated schema, one admin and ``users`` users in all."""
        database = f"{self.prefix}_{name}"
        self.used.append(database)
        if reuse and await self.pg.exists(database):
            try:
                await self.cli(database, "migrate")
                if await self.seeded(database) == (SEED_VERSION, users):
                    await self.analyze(database)  # a migration may have added indexes
                    log(f"reusing database {database} ({users:,} users)")
                    return database
            except (RuntimeError, asyncpg.PostgresError):
                pass
        await self.pg.drop(database)
        await self.pg.execute(f'CREATE DATABASE "{database}"')
        started = time.monotonic()
        await self.cli(database, "migrate")
        env = self.env(database) | {"BACKOFFICE_SUPERUSER_PASSWORD": ADMIN_PASSWORD}
        await self.cli(
            database,
            "createsuperuser",
            "--no-input",
            "--email",
            ADMIN_EMAIL,
            "--username",
            ADMIN_USERNAME,
            env=env,
        )
        connection = await asyncpg.connect(self.pg.dsn(database))
        try:
            await connection.copy_records_to_table(
                "user",
                records=_seed_rows(users - 1, hashed),
                columns=[
                    "email",
                    "username",
                    "full_name",
                    "hashed_password",
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "created_at",
                    "updated_at",
                    "last_login",
                ],
            )
            # A table in its steady state: statistics and visibility map as autovacuum leaves them.
            await connection.execute('VACUUM ANALYZE "user"')
            await connection.execute(f"COMMENT ON DATABASE \"{database}\" IS '{SEED_VERSION}'")
        finally:
            await connection.close()
        log(f"created {database}: {users:,} users in {time.monotonic() - started:.1f} s")
        return database

    async def drop_all(self) -> None:
        for database in dict.fromkeys(self.used):
            await self.pg.drop(database)
            log(f"dropped {database}")


# -- wrk -----------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    rss: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def run_wrk(
    port: int, path: str, token: str | None, *, duration: float, connections: int, threads: int
) -> WrkResult:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH_DIR / "wrk_report.lua"),
        f"http://{HOST}:{port}{path}",
    ]
    env = os.environ | {"BENCH_TOKEN": token or ""}
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_die_with_parent,
    )
    out, err = await asyncio.wait_for(proc.communicate(), duration + 60)
    for line in out.decode().splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line.removeprefix("BENCH_JSON "))
            errors = sum(
                data[key]
                for key in ("connect_errors", "read_errors", "write_errors", "status_errors")
            )
            return WrkResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                errors=errors + data["timeouts"],
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
            )
    raise RuntimeError(f"wrk printed no result: {out.decode()} {err.decode()}")


# -- profiling (py-spy) --------------------------------------------------------------------

PACKAGE_GROUPS = (
    "backoffice",
    "fastapi",
    "starlette",
    "pydantic",
    "pydantic_core",
    "sqlmodel",
    "sqlalchemy",
    "asyncpg",
    "jwt",
    "uvicorn",
    "h11",
    "httptools",
    "uvloop",
    "anyio",
    "asyncio",
    "json",
    "email_validator",
    "heartbeat",
    "floor",
)


def _frame_group(frame: str) -> str:
    location = frame.rpartition("(")[2]
    parts = location.replace("\\", "/").split("/")
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].split(".")[0]
    for group in PACKAGE_GROUPS:
        if group in parts or f"{group}.py" in location:
            return group
    return "stdlib/other"


def _short(frame: str) -> str:
    """``function (path/to/module.py:12)`` -> ``function (module.py)``."""
    name, _, location = frame.partition(" (")
    path = location.rstrip(")").rpartition(":")[0] or location.rstrip(")")
    return f"{name} ({path.partition('site-packages/')[2] or path.rpartition('/')[2]})"


def summarise_profile(path: Path, top: int = 12) -> list[str]:
    """From py-spy's raw output: self time by package, the hottest functions (self time) and
    backoffice's own functions (inclusive time)."""
    stacks: list[tuple[str, list[str], int]] = []
    per_thread: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        thread, *frames = stack.split(";")  # recorded with --threads: the thread comes first
        stacks.append((thread, frames, int(count_text)))
        per_thread[thread] += int(count_text)
    if not per_thread:
        return ["  (no samples)"]
    loop_thread, total = per_thread.most_common(1)[0]  # the event loop's thread
    others = sum(per_thread.values()) - total
    by_group: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    for thread, frames, count in stacks:
        if thread != loop_thread or not frames:
            continue
        by_group[_frame_group(frames[-1])] += count
        by_leaf[_short(frames[-1])] += count
        for frame in {_short(f) for f in frames if "backoffice/" in f and "site-packages" not in f}:
            ours[frame] += count
    lines = [
        f"  {total} samples on the event loop's thread ({others} more on other threads, "
        "e.g. thread-pool workers); its self time by package:"
    ]
    lines += [f"    {n / total:6.1%}  {group}" for group, n in by_group.most_common(10)]
    lines.append("  hottest functions (self time):")
    lines += [f"    {n / total:6.1%}  {frame}" for frame, n in by_leaf.most_common(top)]
    lines.append("  backoffice's functions (inclusive time):")
    lines += [f"    {n / total:6.1%}  {frame}" for frame, n in ours.most_common(top)]
    return lines


async def profile_run(
    server: Server, scenario: "HttpScenario", token: str | None, args: argparse.Namespace
) -> list[str]:
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        return ["  py-spy is not on PATH: no profile"]
    out = Path(args.profile) / f"{scenario.name}-{server.name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    duration = max(2, int(args.duration))
    spy = await asyncio.create_subprocess_exec(
        py_spy,
        "record",
        "--pid",
        str(server.pid),
        "--duration",
        str(duration),
        "--rate",
        "250",
        "--threads",
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await run_wrk(
        server.port,
        scenario.path,
        token,
        duration=duration,
        connections=args.connections,
        threads=args.threads,
    )
    await asyncio.wait_for(spy.wait(), duration + 30)
    if not out.exists():
        return ["  py-spy wrote nothing (no ptrace permission?)"]
    return [f"  profile: {out}", *summarise_profile(out)]


# -- scenarios -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpScenario:
    name: str
    path: str
    caller: str | None  # "user", "admin" or None
    target: float


HTTP_SCENARIOS = (
    HttpScenario("health", "/health", None, 0.6),
    HttpScenario("me", "/api/users/me", "user", 0.5),
    HttpScenario("list", "/api/users/?limit=50", "admin", 0.5),
)


class Tokens:
    """Access tokens from backoffice's own login, renewed well before they expire."""

    MAX_AGE = 240.0

    def __init__(self, port: int) -> None:
        self.port = port
        self.cache: dict[str, tuple[float, str]] = {}

    async def get(self, caller: str | None) -> str | None:
        if caller is None:
            return None
        issued, token = self.cache.get(caller, (0.0, ""))
        if time.monotonic() - issued > self.MAX_AGE:
            if caller == "admin":
                token = await login(self.port, ADMIN_USERNAME, ADMIN_PASSWORD)
            else:
                token = await login(self.port, seed_username(2), SEED_PASSWORD)
            self.cache[caller] = (time.monotonic(), token)
        return token


@dataclass
class ScenarioResult:
    scenario: HttpScenario
    runs: dict[str, list[WrkResult]] = field(default_factory=dict)
    profile: list[str] = field(default_factory=list)

    def rps(self, side: str) -> float:
        return median([r.rps for r in self.runs[side]])

    def ratio(self) -> float:
        floor = self.rps("floor")
        return self.rps("backoffice") / floor if floor else float("nan")

    def round_ratios(self) -> list[float]:
        pairs = zip(self.runs["backoffice"], self.runs["floor"], strict=True)
        return [bo.rps / fl.rps for bo, fl in pairs if fl.rps]

    def errors(self) -> int:
        return sum(r.errors for runs in self.runs.values() for r in runs)


async def check_same_json(servers: dict[str, Server], tokens: Tokens) -> None:
    """The floor must answer what backoffice answers, or the ratio compares different work."""
    for scenario in HTTP_SCENARIOS:
        await check_same_reply(servers, scenario.path, await tokens.get(scenario.caller))


async def check_same_reply(servers: dict[str, Server], path: str, token: str | None) -> None:
    replies = {
        name: await fetch(server.port, "GET", path, token=token) for name, server in servers.items()
    }
    bodies = {name: reply.json() for name, reply in replies.items()}
    statuses = {name: reply.status for name, reply in replies.items()}
    if set(statuses.values()) != {200} or bodies["backoffice"] != bodies["floor"]:
        raise RuntimeError(
            f"{path}: backoffice and floor disagree: {statuses}\n"
            f"backoffice: {replies['backoffice'].body[:600]!r}\n"
            f"floor:      {replies['floor'].body[:600]!r}"
        )
    sizes = {name: len(reply.body) for name, reply in replies.items()}
    log(f"{path}: same JSON from both ({sizes})")


async def run_http_scenario(
    scenario: HttpScenario,
    servers: dict[str, Server],
    tokens: Tokens,
    args: argparse.Namespace,
) -> ScenarioResult:
    result = ScenarioResult(scenario, {name: [] for name in servers})
    wrk_options = {"connections": args.connections, "threads": args.threads}
    token = await tokens.get(scenario.caller)
    for server in servers.values():
        await run_wrk(server.port, scenario.path, token, duration=args.warmup, **wrk_options)
    for round_index in range(args.rounds):
        order = list(servers) if round_index % 2 == 0 else list(reversed(servers))
        token = await tokens.get(scenario.caller)
        for name in order:
            server = servers[name]
            async with server.sampling_rss(interval=0.1) as peak:
                run = await run_wrk(
                    server.port, scenario.path, token, duration=args.duration, **wrk_options
                )
            run.rss = peak.max_rss
            result.runs[name].append(run)
            log(
                f"{scenario.name} round {round_index + 1} {name}: {run.rps:,.0f} req/s "
                f"p50 {run.p50_ms:.2f} ms p99 {run.p99_ms:.2f} ms errors {run.errors}"
            )
    if args.profile:
        result.profile = await profile_run(servers["backoffice"], scenario, token, args)
    return result


def print_http_table(results: list[ScenarioResult], args: argparse.Namespace) -> None:
    print(
        f"\nThroughput: wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, "
        f"{args.rounds} alternating rounds (median); RSS = peak during the runs (MB = 10^6 B)"
    )
    header = (
        f"{'scenario':<22} {'bo req/s':>9} {'floor req/s':>11} {'ratio':>6} {'target':>7} "
        f"{'bo p50/p99 ms':>14} {'floor p50/p99 ms':>17} {'bo RSS':>7} {'fl RSS':>7}  result"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        bo, fl = result.runs["backoffice"], result.runs["floor"]
        ratio = result.ratio()
        ok = ratio >= result.scenario.target and result.errors() == 0
        note = "" if result.errors() == 0 else f" ({result.errors()} errors)"
        print(
            f"{result.scenario.path:<22} {result.rps('backoffice'):>9,.0f} "
            f"{result.rps('floor'):>11,.0f} {ratio:>6.2f} {'>=' + str(result.scenario.target):>7} "
            f"{median([r.p50_ms for r in bo]):>6.2f}/{median([r.p99_ms for r in bo]):<7.2f} "
            f"{median([r.p50_ms for r in fl]):>8.2f}/{median([r.p99_ms for r in fl]):<8.2f} "
            f"{max(r.rss for r in bo) / MB:>6.0f}M {max(r.rss for r in fl) / MB:>6.0f}M  "
            f"{verdict(ok)}{note}"
        )
    for result in results:
        ratios = ", ".join(f"{r:.2f}" for r in result.round_ratios())
        print(f"  {result.scenario.name}: per-round ratios {ratios}")
    for result in results:
        if result.profile:
            print(f"\nProfile of backoffice, {result.scenario.path}:")
            print("\n".join(result.profile))


async def login_burst(port: int, usernames: Sequence[str]) -> list[tuple[int, float]]:
    """Every login sent at once on its own open connection: (status, latency ms) each."""
    connections = [Connection(port) for _ in usernames]
    async with contextlib.AsyncExitStack() as stack:
        for connection in connections:
            await stack.enter_async_context(connection)

        async def one(connection: Connection, username: str) -> tuple[int, float]:
            start = time.perf_counter()
            form = {"username": username, "password": SEED_PASSWORD}
            reply = await connection.request("POST", "/api/auth/login", form=form)
            return reply.status, (time.perf_counter() - start) * 1000

        return await asyncio.gather(
            *(one(c, u) for c, u in zip(connections, usernames, strict=True))
        )


async def run_login(
    bo: Server, params: HashParams, hashed: str, args: argparse.Namespace
) -> list[str]:
    """One login at a time, each paired with one verification (the machine's speed drifts:
    pairs compare like with like); then bursts of 32 for memory.

    Two references: a verification in this process (passlib, in a thread), and one in the
    server (``POST /bench/verify``: the product's hasher, its thread pool and limiter, the
    same HTTP round trip). The second is what the target means: everything a login does
    besides checking the password. Each pair runs in alternating order, so that neither
    side always comes first."""
    context = params.context()

    def verify_once() -> float:
        start = time.perf_counter()
        context.verify(SEED_PASSWORD, hashed)
        return (time.perf_counter() - start) * 1000

    verifies, server_verifies, logins = [], [], []
    async with Connection(bo.port) as connection:

        async def timed(path: str, form: dict[str, str]) -> float:
            start = time.perf_counter()
            reply = await connection.request("POST", path, form=form)
            elapsed = (time.perf_counter() - start) * 1000
            if reply.status != 200:
                raise RuntimeError(f"{path} answered {reply.status}: {reply.body[:300]!r}")
            return elapsed

        for index in range(args.logins + LOGIN_WARMUP):
            login_form = {"username": seed_username(2 + index % 32), "password": SEED_PASSWORD}
            verify_form = {"password": SEED_PASSWORD, "hashed": hashed}
            if index % 2:
                login_ms = await timed("/api/auth/login", login_form)
                server_ms = await timed("/bench/verify", verify_form)
                verify_ms = await asyncio.to_thread(verify_once)
            else:
                verify_ms = await asyncio.to_thread(verify_once)
                server_ms = await timed("/bench/verify", verify_form)
                login_ms = await timed("/api/auth/login", login_form)
            if index >= LOGIN_WARMUP:
                verifies.append(verify_ms)
                server_verifies.append(server_ms)
                logins.append(login_ms)
    overheads = [login - verify for login, verify in zip(logins, verifies, strict=True)]
    server_overheads = [
        login - verify for login, verify in zip(logins, server_verifies, strict=True)
    ]
    overhead = median(server_overheads)
    holds = verdict(overhead <= TARGET_LOGIN_OVERHEAD_MS)
    lines = [
        f"one argon2id verification (t={params.time_cost}, m={params.memory_cost // 1024} MiB, "
        f"p={params.parallelism}) over {len(verifies)}: in this process median "
        f"{median(verifies):.1f} ms (min {min(verifies):.1f}, max {max(verifies):.1f}); "
        f"in the server (POST /bench/verify) median {median(server_verifies):.1f} ms",
        f"POST /api/auth/login, one at a time: median {median(logins):.1f} ms, "
        f"p99 {percentile(logins, 99):.1f} ms; login minus the verification in this process: "
        f"median {median(overheads):+.1f} ms",
        f"login minus the server's verification (paired): median {overhead:+.1f} ms "
        f"(target <= {TARGET_LOGIN_OVERHEAD_MS:g})  {holds}",
    ]
    # Bursts of 32 concurrent logins: memory.
    users = [seed_username(2 + i) for i in range(32)]
    peaks, hwms, walls, all_latencies, failures = [], [], [], [], 0
    for _ in range(args.rounds):
        start = time.perf_counter()
        async with bo.sampling_rss(interval=0.005) as peak:
            outcome = await login_burst(bo.port, users)
        walls.append(time.perf_counter() - start)
        failures += sum(1 for status, _ in outcome if status != 200)
        all_latencies += [ms for _, ms in outcome]
        peaks.append(peak.max_rss)
        hwms.append(bo.hwm())
    worst = max(max(peaks), max(hwms))
    ok = worst < TARGET_LOGIN_RSS and failures == 0
    lines.append(
        f"32 concurrent logins x {args.rounds}: {failures} failed, burst {median(walls):.2f} s "
        f"({32 / median(walls):.1f} logins/s), latency p50 {median(all_latencies):.0f} ms "
        f"p99 {percentile(all_latencies, 99):.0f} ms; RSS peak sampled "
        f"{max(peaks) / MB:.0f} MB, VmHWM {max(hwms) / MB:.0f} MB "
        f"(target < {TARGET_LOGIN_RSS // MB} MB)  {verdict(ok)}"
    )
    return lines


async def run_lag(bo: Server, floor: Server | None, args: argparse.Namespace) -> list[str]:
    async def read_lag(server: Server, reset: bool = False) -> dict[str, Any]:
        reply = await fetch(server.port, "GET", "/bench/lag" + ("?reset=1" if reset else ""))
        return dict(reply.json())

    await read_lag(bo, reset=True)
    await asyncio.sleep(1.0)
    idle = await read_lag(bo, reset=True)
    users = [seed_username(40 + i) for i in range(20)]
    maxima, means, failures = [], [], 0
    for _ in range(args.rounds):
        await read_lag(bo, reset=True)
        outcome = await login_burst(bo.port, users)
        report = await read_lag(bo)
        failures += sum(1 for status, _ in outcome if status != 200)
        maxima.append(float(report["max_ms"]))
        means.append(float(report["mean_ms"]))
        await asyncio.sleep(0.2)
    worst = max(maxima)
    ok = worst < TARGET_MAX_LAG_MS and failures == 0
    rounds = ", ".join(f"{m:.1f}" for m in maxima)
    return [
        f"event-loop lag (10 ms heartbeat), idle 1 s: max {idle['max_ms']:.1f} ms",
        f"event-loop lag during 20 concurrent logins x {args.rounds}: max {worst:.1f} ms "
        f"(rounds: {rounds}), mean {median(means):.2f} ms, {failures} failed logins "
        f"(target max < {TARGET_MAX_LAG_MS:g} ms)  {verdict(ok)}",
    ]


GROWTH_QUERIES = (
    ("list", "/api/users/?limit=50"),
    ("search, 1 match", f"/api/users/?limit=50&search={RARE_TERM}"),
    ("search, 5% match", f"/api/users/?limit=50&search={COMMON_TERM}"),
    ("sort=-created_at", "/api/users/?limit=50&sort=-created_at"),
)


async def run_growth(
    databases: Databases,
    hashed: str,
    workdir: Path,
    args: argparse.Namespace,
) -> list[str]:
    """Latency of one request at a time (wrk -c1) at each database size, both servers."""
    sizes: list[int] = args.growth_sizes
    table: dict[tuple[str, str, int], WrkResult] = {}
    for size in sizes:
        database = await databases.prepare(size_label(size), size, hashed, reuse=args.keep)
        servers = start_servers(databases, database, workdir)
        try:
            for server in servers.values():
                await server.start()
            token = await login(servers["backoffice"].port, ADMIN_USERNAME, ADMIN_PASSWORD)
            for _label, path in GROWTH_QUERIES:
                await check_same_reply(servers, path, token)
            for label, path in GROWTH_QUERIES:
                for name, server in servers.items():
                    options = {"connections": 1, "threads": 1}
                    await run_wrk(server.port, path, token, duration=1, **options)
                    run = await run_wrk(
                        server.port, path, token, duration=args.growth_duration, **options
                    )
                    table[(label, name, size)] = run
                    log(
                        f"growth {size_label(size)} {label} {name}: p50 {run.p50_ms:.2f} ms "
                        f"p99 {run.p99_ms:.2f} ms ({run.requests} requests, {run.errors} errors)"
                    )
        finally:
            for server in servers.values():
                await server.stop()
    small, large = min(sizes), max(sizes)
    lines = [
        f"Growth: one request at a time (wrk -c1 -d{args.growth_duration:g}s), p50 latency "
        f"in ms at {small:,} and {large:,} users; target: backoffice growth <= {TARGET_GROWTH:g}x",
        f"{'query':<18} {'bo ' + size_label(small):>9} {'bo ' + size_label(large):>9} "
        f"{'growth':>7} {'floor ' + size_label(small):>10} {'floor ' + size_label(large):>10} "
        f"{'growth':>7}  result",
    ]
    for label, _path in GROWTH_QUERIES:
        bo_small = table[(label, "backoffice", small)]
        bo_large = table[(label, "backoffice", large)]
        fl_small, fl_large = table[(label, "floor", small)], table[(label, "floor", large)]
        growth = bo_large.p50_ms / bo_small.p50_ms
        floor_growth = fl_large.p50_ms / fl_small.p50_ms
        errors = sum(r.errors for r in (bo_small, bo_large, fl_small, fl_large))
        ok = growth <= TARGET_GROWTH and errors == 0
        lines.append(
            f"{label:<18} {bo_small.p50_ms:>9.2f} {bo_large.p50_ms:>9.2f} {growth:>6.1f}x "
            f"{fl_small.p50_ms:>10.2f} {fl_large.p50_ms:>10.2f} {floor_growth:>6.1f}x  "
            f"{verdict(ok)}{f' ({errors} errors)' if errors else ''}"
        )
    return lines


async def run_api_key(bo: Server, tokens: Tokens, key: str, args: argparse.Namespace) -> list[str]:
    """The same request with a JWT and with an API key, alternating (A B, B A, ...): the key's
    check is one keyed hash and one lookup, not a password hash, so it must cost no more than
    the token's (within ``TARGET_API_KEY_OVERHEAD``)."""
    wrk_options = {"connections": args.connections, "threads": args.threads}
    credentials = {"jwt": await tokens.get("admin"), "key": key}
    replies = {
        name: await fetch(bo.port, "GET", API_KEY_PATH, token=token)
        for name, token in credentials.items()
    }
    if {r.status for r in replies.values()} != {200} or replies["jwt"].body != replies["key"].body:
        raise RuntimeError(
            f"{API_KEY_PATH}: the JWT and the API key disagree: "
            f"{ {name: (r.status, r.body[:300]) for name, r in replies.items()} }"
        )
    for token in credentials.values():
        await run_wrk(bo.port, API_KEY_PATH, token, duration=args.warmup, **wrk_options)
    runs: dict[str, list[WrkResult]] = {name: [] for name in credentials}
    for round_index in range(args.rounds):
        order = ["jwt", "key"] if round_index % 2 == 0 else ["key", "jwt"]
        credentials["jwt"] = await tokens.get("admin")
        for name in order:
            run = await run_wrk(
                bo.port, API_KEY_PATH, credentials[name], duration=args.duration, **wrk_options
            )
            runs[name].append(run)
            log(
                f"apikey round {round_index + 1} {name}: {run.rps:,.0f} req/s "
                f"p50 {run.p50_ms:.2f} ms p99 {run.p99_ms:.2f} ms errors {run.errors}"
            )
    rps = {name: median([r.rps for r in results]) for name, results in runs.items()}
    p50 = {name: median([r.p50_ms for r in results]) for name, results in runs.items()}
    errors = sum(r.errors for results in runs.values() for r in results)
    # Cost per request is 1 / throughput: how much more a key's request costs than a JWT's.
    overhead = rps["jwt"] / rps["key"] - 1 if rps["key"] else float("inf")
    ok = overhead <= TARGET_API_KEY_OVERHEAD and errors == 0
    per_round = ", ".join(
        f"{jwt.rps / k.rps - 1:+.1%}" for jwt, k in zip(runs["jwt"], runs["key"], strict=True)
    )
    return [
        f"GET {API_KEY_PATH}, wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, "
        f"{args.rounds} alternating rounds (median)",
        f"  with a JWT:     {rps['jwt']:>9,.0f} req/s  p50 {p50['jwt']:.2f} ms",
        f"  with an API key:{rps['key']:>9,.0f} req/s  p50 {p50['key']:.2f} ms",
        f"  cost of a key's request against a JWT's: {overhead:+.1%} "
        f"(target <= +{TARGET_API_KEY_OVERHEAD:.0%})  {verdict(ok)}"
        f"{f' ({errors} errors)' if errors else ''}",
        f"  per-round: {per_round}",
    ]


async def run_admin(
    databases: Databases, hashed: str, workdir: Path, args: argparse.Namespace
) -> list[str]:
    """The admin's pages at each size (p50, one request at a time), the CSV export of every
    user at the largest size, and a bulk action over every row a filter matches."""
    import admin_scale

    sizes: list[int] = args.admin_sizes
    table: dict[tuple[str, int], tuple[float, int]] = {}
    lines: list[str] = []
    history_user = 2
    for size in sizes:
        database = await databases.prepare(size_label(size), size, hashed, reuse=args.keep)
        dsn = databases.pg.dsn(database)
        await admin_scale.seed_admin_data(dsn, size, size, history_user)  # as many posts
        server = Server("backoffice", "bo_app:create_app", databases.env(database), workdir)
        await server.start()
        client = await admin_scale.admin_session(
            f"http://{HOST}:{server.port}", ADMIN_USERNAME, ADMIN_PASSWORD
        )
        try:
            pages = admin_scale.admin_pages(size, RARE_TERM, COMMON_TERM, history_user, 1)
            for label, path in pages:
                table[(label, size)] = await admin_scale.p50_ms(client, path, args.admin_requests)
                p50, errors = table[(label, size)]
                log(f"admin {size_label(size)} {label}: p50 {p50:.1f} ms ({errors} errors)")
            if size == max(sizes):
                rows, seconds, before, peak = await admin_scale.measure_export(
                    client, server.sampling_rss, server.rss
                )
                rate = rows / seconds if seconds else 0.0
                grew = (peak - before) / MB
                ok = rate >= admin_scale.TARGET_EXPORT_ROWS_PER_S and (
                    grew <= admin_scale.TARGET_EXPORT_GROWTH_MB
                )
                lines.append(
                    f"export CSV of {rows:,} users: {seconds:.1f} s, {rate:,.0f} rows/s (target "
                    f">= {admin_scale.TARGET_EXPORT_ROWS_PER_S:,}); RSS {before / MB:.0f} MB "
                    f"before, peak {peak / MB:.0f} MB (+{grew:.0f} MB, target <= "
                    f"+{admin_scale.TARGET_EXPORT_GROWTH_MB} MB)  {verdict(ok)}"
                )
        finally:
            await client.aclose()
            await server.stop()
    small, large = min(sizes), max(sizes)
    header = [
        f"Admin pages: p50 of {args.admin_requests} sequential requests in ms at {small:,} and "
        f"{large:,} users (as many posts; one user with {admin_scale.AUDIT_ENTRIES:,} audit "
        f"entries); target: growth <= {admin_scale.TARGET_GROWTH:g}x",
        f"{'page':<22} {size_label(small):>8} {size_label(large):>8} {'growth':>7}  result",
    ]
    for label, _path in admin_scale.admin_pages(large, "", "", history_user, 1):
        (p_small, e_small), (p_large, e_large) = table[(label, small)], table[(label, large)]
        growth = p_large / p_small if p_small else 0.0
        ok = growth <= admin_scale.TARGET_GROWTH and not (e_small or e_large)
        errors = f" ({e_small + e_large} errors)" if e_small or e_large else ""
        header.append(
            f"{label:<22} {p_small:>8.1f} {p_large:>8.1f} {growth:>6.1f}x  {verdict(ok)}{errors}"
        )
    # A bulk action over every row a filter matches, on a database of its own.
    database = await databases.prepare("bulk", args.bulk_rows, hashed, reuse=False)
    server = Server("backoffice", "bo_app:create_app", databases.env(database), workdir)
    await server.start()
    client = await admin_scale.admin_session(
        f"http://{HOST}:{server.port}", ADMIN_USERNAME, ADMIN_PASSWORD
    )
    try:
        summary, seconds, longest, failed = await admin_scale.measure_bulk(
            client, databases.pg.dsn(database)
        )
    finally:
        await client.aclose()
        await server.stop()
    expected = f"Deactivated: {args.bulk_rows - 1:,} of {args.bulk_rows:,}."
    ok = summary.startswith(expected) and not failed
    ok = ok and longest <= admin_scale.TARGET_LONGEST_TRANSACTION_S
    lines.append(
        f"bulk deactivate, every active user ({args.bulk_rows:,}; the last superuser refused): "
        f'{seconds:.1f} s, report "{summary}"; longest transaction seen {longest:.2f} s '
        f"(target <= {admin_scale.TARGET_LONGEST_TRANSACTION_S:g} s), lock probes failed "
        f"{failed}  {verdict(ok)}"
    )
    return header + lines


def start_servers(databases: Databases, database: str, workdir: Path) -> dict[str, Server]:
    env = databases.env(database)
    floor_env = env | {"BENCH_FLOOR_DSN": databases.pg.dsn(database)}
    return {
        "backoffice": Server("backoffice", "bo_app:create_app", env, workdir),
        "floor": Server("floor", "floor:create_app", floor_env, workdir),
    }


# -- the run -------------------------------------------------------------------------------


def describe_machine() -> list[str]:
    import importlib.util

    import uvicorn

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    return [
        f"python {sys.version.split()[0]}, uvicorn {uvicorn.__version__} (loop {loop}, "
        f"http {http}), {os.cpu_count()} CPUs: {cpu}",
    ]


async def run(args: argparse.Namespace) -> int:
    scenarios = set(args.scenarios)
    http_scenarios = [s for s in HTTP_SCENARIOS if s.name in scenarios]
    if (http_scenarios or "growth" in scenarios) and shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    extra_env = dict(item.split("=", 1) for item in args.bo_env)
    pg = Postgres(args.pg)
    secret = secrets.token_urlsafe(48)
    databases = Databases(pg, args.db_prefix, secret, extra_env)
    workdir = Path(tempfile.mkdtemp(prefix="backoffice-bench-"))
    main_task = asyncio.current_task()
    assert main_task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Cancelling runs the clean-up below: servers stopped, databases dropped.
        loop.add_signal_handler(signum, main_task.cancel)
    print("\n".join(describe_machine()), flush=True)
    params = HashParams.for_server(extra_env)
    log("hashing the seed password")
    hashed = await asyncio.to_thread(lambda: str(params.context().hash(SEED_PASSWORD)))
    servers: dict[str, Server] = {}
    try:
        main_scenarios = [
            s for s in scenarios if s not in {"growth", "admin", "django", "workers", "granian"}
        ]
        if main_scenarios:
            database = await databases.prepare(
                size_label(args.users), args.users, hashed, reuse=args.keep
            )
            servers = start_servers(databases, database, workdir)
            for server in servers.values():
                await server.start()
            tokens = Tokens(servers["backoffice"].port)
            if http_scenarios:
                await check_same_json(servers, tokens)
            results = []
            for scenario in http_scenarios:
                results.append(await run_http_scenario(scenario, servers, tokens, args))
            if results:
                print_http_table(results, args)
            extra: list[str] = []
            if "login" in scenarios:
                log("login scenario")
                extra += await run_login(servers["backoffice"], params, hashed, args)
            if "lag" in scenarios:
                log("event-loop lag scenario")
                extra += await run_lag(servers["backoffice"], servers["floor"], args)
            if extra:
                print("\nLogin and event loop (backoffice only):")
                print("\n".join(extra))
            if "apikey" in scenarios:
                log("api key scenario")
                key = await databases.create_api_key(database)
                lines = await run_api_key(servers["backoffice"], tokens, key, args)
                print("\nAPI key against JWT (backoffice only):")
                print("\n".join(lines))
            for server in servers.values():
                print(f"{server.name} VmHWM over the run: {server.hwm() / MB:.0f} MB")
                await server.stop()
        if "growth" in scenarios:
            log("growth scenario")
            print()
            print("\n".join(await run_growth(databases, hashed, workdir, args)))
        if "admin" in scenarios:
            log("admin scenario")
            print()
            print("\n".join(await run_admin(databases, hashed, workdir, args)))
        if {"workers", "granian"} & scenarios:
            import serving

            database = await databases.prepare(
                size_label(args.users), args.users, hashed, reuse=args.keep
            )
            for name in ("workers", "granian"):
                if name in scenarios:
                    log(f"{name} scenario")
                    print()
                    print(
                        "\n".join(await serving.SCENARIOS[name](databases, database, workdir, args))
                    )
        if "django" in scenarios:
            import peer_bench

            log("django scenario")
            print()
            print("\n".join(await peer_bench.run_django(databases, hashed, workdir, args)))
    finally:
        for server in servers.values():
            await server.stop()
        if not args.keep:
            await databases.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating A/B rounds (5)")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds per server (2)")
    parser.add_argument(
        "--scenarios",
        default=",".join(ALL_SCENARIOS),
        type=lambda text: [s.strip() for s in text.split(",") if s.strip()],
        help=f"comma-separated, from: {','.join(ALL_SCENARIOS)} (all)",
    )
    parser.add_argument("--users", type=int, default=10_000, help="users in the main database")
    parser.add_argument(
        "--growth-sizes",
        type=lambda text: sorted(int(s) for s in text.split(",")),
        default=[1_000, 1_000_000],
        help="user counts compared by the growth scenario (1000,1000000)",
    )
    parser.add_argument(
        "--growth-duration", type=float, default=5, help="seconds per growth query (5)"
    )
    parser.add_argument(
        "--logins", type=int, default=40, help="sequential logins, each paired with a verification"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the scratch databases (and reuse matching ones on the next run)",
    )
    parser.add_argument("--db-prefix", default="bench_bo", help="scratch database prefix")
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server for the scratch databases (loopback only)",
    )
    parser.add_argument(
        "--bo-env",
        action="append",
        default=[],
        metavar="BACKOFFICE_NAME=VALUE",
        help="an extra backoffice setting (repeatable): BACKOFFICE_MAX_CONCURRENT_HASHES=2",
    )
    parser.add_argument("--profile", metavar="DIR", help="also record py-spy profiles into DIR")
    sizes = lambda text: sorted(int(s) for s in text.split(","))  # noqa: E731
    parser.add_argument(
        "--admin-sizes", type=sizes, default=[1_000, 1_000_000], help="admin scenario sizes"
    )
    parser.add_argument(
        "--admin-requests", type=int, default=30, help="requests per admin page and size (30)"
    )
    parser.add_argument(
        "--bulk-rows", type=int, default=10_000, help="users in the bulk action's database"
    )
    parser.add_argument(
        "--django-sizes", type=sizes, default=[10_000, 1_000_000], help="Django peer sizes"
    )
    parser.add_argument(
        "--django-requests", type=int, default=200, help="alternating requests per line (200)"
    )
    args = parser.parse_args(argv)
    unknown = set(args.scenarios) - set(ALL_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    host = urlsplit(args.pg).hostname or ""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        parser.error("--pg must point at this machine (127.0.0.1)")
    if any("=" not in item or not item.startswith("BACKOFFICE_") for item in args.bo_env):
        parser.error("--bo-env takes BACKOFFICE_NAME=VALUE")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
