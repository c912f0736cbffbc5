"""The admin at scale: its pages at 1,000 and 1,000,000 users (and as many posts), the export
of every user, and a bulk action over 10,000 rows; driven by ``run.py --scenarios admin``.

Admin pages need a session cookie and a CSRF token, so they are fetched with httpx2 (one
request at a time, the same client for every page: its cost is the same at both sizes)."""

import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx2

TARGET_GROWTH = 2.0
TARGET_EXPORT_ROWS_PER_S = 50_000
TARGET_EXPORT_GROWTH_MB = 50  # peak RSS over the server's RSS before the export
TARGET_LONGEST_TRANSACTION_S = 1.0
AUDIT_ENTRIES = 10_000  # on one user, for the History page
BULK_ROWS = 10_000
POST_TITLES = ["Release notes", "Quarterly report", "Onboarding", "Incident review", "Roadmap"]


def admin_pages(users: int, rare: str, common: str, user_id: int, post_id: int) -> list[Any]:
    """(label, path) of each page measured. Page 1,000 is reached as the list's "next" link
    does (a cursor after row 24,975; at 1,000 users, after the last full page's start)."""
    deep_after = max(1, min(999 * 25, users - 25))
    page = deep_after // 25 + 1  # 1,000 from 25,000 users up
    cursor = _cursor(deep_after)
    return [
        ("users list", "/admin/user/list"),
        ("search, 1 match", f"/admin/user/list?search={rare}"),
        ("search, 5% match", f"/admin/user/list?search={common}"),
        ("sort by date", "/admin/user/list?sortBy=created_at&sort=desc"),
        ("filter (active)", "/admin/user/list?is_active=true"),
        ("page 1,000 (keyset)", f"/admin/user/list?page={page}&after={cursor}"),
        ("user details", f"/admin/user/details/{user_id}"),
        ("user edit", f"/admin/user/edit/{user_id}"),
        ("post edit (author)", f"/admin/post/edit/{post_id}"),
        ("dashboard", "/admin/"),
        ("History, 10k entries", f"/admin/user/history/{user_id}"),
        ("audit log list", "/admin/audit-entry/list"),
    ]


def _cursor(user_id: int) -> str:
    import base64
    import json

    raw = json.dumps([user_id, user_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# -- seeding ---------------------------------------------------------------------------------


def _post_rows(count: int, users: int) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(20261204)
    start = datetime(2025, 6, 1, tzinfo=UTC)
    for index in range(count):
        created = start + timedelta(seconds=index * 20)
        title = f"{POST_TITLES[index % len(POST_TITLES)]} {index}"
        yield (title, "Body text.", index % 3 != 0, rng.randrange(1, users + 1), created, created)


def _audit_rows(count: int, user_id: int) -> Iterator[tuple[Any, ...]]:
    start = datetime(2025, 6, 1, tzinfo=UTC)
    for index in range(count):
        at = start + timedelta(minutes=index)
        changes = f'{{"full_name": ["Name {index}", "Name {index + 1}"]}}'
        yield (at, 1, "benchadmin", "admin", "update", "user", str(user_id), "a user", changes)


async def seed_admin_data(dsn: str, users: int, posts: int, history_user: int) -> None:
    """Posts by random authors, and ``AUDIT_ENTRIES`` audit entries on one user (COPY)."""
    connection = await asyncpg.connect(dsn)
    try:
        if await connection.fetchval("SELECT count(*) FROM post") == posts:
            return
        await connection.execute("TRUNCATE post, audit_entry")
        await connection.copy_records_to_table(
            "post",
            records=_post_rows(posts, users),
            columns=["title", "body", "published", "author_id", "created_at", "updated_at"],
        )
        await connection.copy_records_to_table(
            "audit_entry",
            records=_audit_rows(AUDIT_ENTRIES, history_user),
            columns=[
                "at",
                "actor_id",
                "actor",
                "door",
                "action",
                "object_type",
                "object_id",
                "object_repr",
                "changes",
            ],
        )
        await connection.execute("VACUUM ANALYZE post")
        await connection.execute("VACUUM ANALYZE audit_entry")
    finally:
        await connection.close()


# -- an admin session ------------------------------------------------------------------------


async def admin_session(base_url: str, username: str, password: str) -> httpx2.AsyncClient:
    import re

    client = httpx2.AsyncClient(base_url=base_url, timeout=600)
    page = await client.get("/admin/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    form = {"username": username, "password": password, "csrf_token": token.group(1)}
    response = await client.post("/admin/login", data=form)
    if response.status_code != 302:
        raise RuntimeError(f"admin login answered {response.status_code}")
    return client


async def p50_ms(client: httpx2.AsyncClient, path: str, requests: int) -> tuple[float, int]:
    """Median latency of ``requests`` sequential GETs (after 3 warm-ups); non-200 answers."""
    errors = 0
    for _ in range(3):
        await client.get(path)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        errors += response.status_code != 200
    return statistics.median(times), errors


# -- export and bulk -------------------------------------------------------------------------


async def measure_export(
    client: httpx2.AsyncClient, sampling: Callable[[], Any], rss_now: Callable[[], int]
) -> tuple[int, float, int, int]:
    """(rows, seconds, RSS before, peak RSS) of the CSV export of every user."""
    before = rss_now()
    rows = 0
    async with sampling() as peak:
        started = time.perf_counter()
        async with client.stream("GET", "/admin/user/export/csv") as response:
            async for chunk in response.aiter_bytes():
                rows += chunk.count(b"\n")
        seconds = time.perf_counter() - started
    return rows - 1, seconds, before, peak.max_rss


async def measure_bulk(client: httpx2.AsyncClient, dsn: str) -> tuple[str, float, float, int]:
    """Deactivate every active user (the filter ``is_active=true``) and watch the database:
    (the report's summary, seconds, the longest open transaction seen, failed lock probes).

    A probe every 0.5 s updates the row with the highest key (done last) under a 500 ms lock
    timeout: a run holding a lock on the table would make it fail."""
    import re

    url = "/admin/user/bulk/deactivate_selected?all=1&is_active=true"
    confirm = await client.get(url)
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text)
    assert confirm.status_code == 200 and token, confirm.text[:500]
    watcher = await asyncpg.connect(dsn)
    longest, failed = 0.0, 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal longest, failed
        last = await watcher.fetchval('SELECT max(id) FROM "user"')
        while not done.is_set():
            age = await watcher.fetchval(
                "SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0) "
                "FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            )
            longest = max(longest, float(age))
            try:
                async with watcher.transaction():
                    await watcher.execute("SET LOCAL lock_timeout = '500ms'")
                    await watcher.execute(
                        'UPDATE "user" SET full_name = full_name WHERE id = $1', last
                    )
            except asyncpg.PostgresError:
                failed += 1
            await asyncio.sleep(0.5)

    task = asyncio.create_task(watch())
    started = time.perf_counter()
    try:
        result = await client.post(url, data={"csrf_token": token.group(1)})
    finally:
        seconds = time.perf_counter() - started
        done.set()
        await task
        await watcher.close()
    summary = re.search(r'id="bulk-summary">\s*(.*?)\s*</div>', result.text, re.S)
    text = " ".join(summary.group(1).split()) if summary else f"HTTP {result.status_code}"
    return text, seconds, longest, failed


async def timed(awaitable: Awaitable[Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = await awaitable
    return value, time.perf_counter() - started
