"""Side by side with Django (``run.py --scenarios django``): the peer project in
``django_peer/`` (stock admin, DRF + simplejwt) under gunicorn, one sync worker as Django's
deployment docs show, against backoffice under uvicorn with one worker, on the same PostgreSQL
and the same seeded users (Django's stock ``auth_user``, COPYed with one precomputed hash).

Requests alternate between the two servers one at a time (A B, B A, ...), so a drift of the
machine's speed hits both alike. The ratio is Django's p50 over backoffice's: how many times
faster backoffice answers (target >= 1.5 on every line).

Django 6.1 needs Python >= 3.12, so the peer has a venv of its own, made on first use from
``django_peer/requirements.txt`` with the interpreter named by ``BENCH_PYTHON312``, else
``python3.12`` on PATH, else pyenv's newest 3.12; kept in ``BENCH_DJANGO_VENV`` (default
``~/.cache/backoffice-bench/django-venv``)."""

import asyncio
import glob
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx2

PEER_DIR = Path(__file__).resolve().parent / "django_peer"
TARGET_RATIO = 1.5
LINES = [
    # label, backoffice path, Django path, authenticated by
    ("/api/users/me", "/api/users/me", "/api/users/me", "token"),
    ("users list + count (50)", "/api/users/?limit=50", "/api/users/?limit=50", "token"),
    ("admin users list, 25", "/admin/user/list", "/admin/auth/user/", "session"),
    ("admin users list, 100", "/admin/user/list?pageSize=100", "/admin100/auth/user/", "session"),
    (
        "admin search 'garcia'",
        "/admin/user/list?search=garcia",
        "/admin/auth/user/?q=garcia",
        "session",
    ),
]


def find_python312() -> str:
    named = os.environ.get("BENCH_PYTHON312") or shutil.which("python3.12")
    if named:
        probe = subprocess.run(
            [named, "-c", "import sys; print(sys.version_info >= (3, 12))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return named
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    if shutil.which("pyenv"):
        found = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        root = found.stdout.strip() or root
    candidates = sorted(glob.glob(f"{root}/versions/3.12*/bin/python3.12"))
    if candidates:
        return candidates[-1]
    raise RuntimeError("the Django peer needs Python 3.12: set BENCH_PYTHON312 to one")


def peer_venv() -> Path:
    """The peer's venv, made (and its pinned packages installed) if missing."""
    default = Path.home() / ".cache" / "backoffice-bench" / "django-venv"
    venv = Path(os.environ.get("BENCH_DJANGO_VENV", str(default)))
    marker = venv / "requirements.txt"
    wanted = (PEER_DIR / "requirements.txt").read_text()
    if marker.exists() and marker.read_text() == wanted:
        return venv
    subprocess.run([find_python312(), "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "-r", str(PEER_DIR / "requirements.txt")], check=True)
    marker.write_text(wanted)
    return venv


class Peer:
    """The Django project for one database: migrate, seed, serve."""

    def __init__(self, venv: Path, dsn_parts: dict[str, str], secret: str, workdir: Path) -> None:
        self.venv, self.workdir = venv, workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
        self.env |= {
            "DJANGO_SETTINGS_MODULE": "peer.settings",
            "PYTHONPATH": str(PEER_DIR),
            "BENCH_DJANGO_SECRET_KEY": secret,
            "BENCH_DJANGO_DB": dsn_parts["name"],
            "BENCH_DJANGO_HOST": dsn_parts["host"],
            "BENCH_DJANGO_PORT": dsn_parts["port"],
            "BENCH_DJANGO_USER": dsn_parts["user"],
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0

    def python(self, code: str) -> str:
        done = subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", code],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def migrate(self) -> None:
        subprocess.run(
            [str(self.venv / "bin" / "django-admin"), "migrate", "-v", "0"],
            env=self.env,
            check=True,
        )

    def hashes(self, *passwords: str) -> list[str]:
        code = (
            "import django, sys; django.setup(); "
            "from django.contrib.auth.hashers import make_password; "
            f"print('\\n'.join(make_password(p) for p in {list(passwords)!r}))"
        )
        return self.python(code).splitlines()

    async def start(self, port: int, log: Path) -> None:
        self.port = port
        cmd = [
            str(self.venv / "bin" / "gunicorn"),
            "peer.wsgi:application",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--chdir",
            str(PEER_DIR),
            "--log-level",
            "warning",
        ]
        with log.open("wb") as output:
            self.proc = await asyncio.create_subprocess_exec(
                *cmd, env=self.env, cwd=self.workdir, stdout=output, stderr=output
            )
        for _ in range(300):
            try:
                async with httpx2.AsyncClient() as client:
                    await client.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2)
                return
            except httpx2.HTTPError:
                await asyncio.sleep(0.1)
        tail = (await asyncio.to_thread(log.read_text))[-2000:]
        raise RuntimeError(f"gunicorn did not start: {tail}")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


async def seed_auth_user(
    dsn: str, users: int, admin: tuple[str, str, str], hashed: str, names: Any
) -> None:
    """The stock ``auth_user``: the admin, then ``users - 1`` users named as backoffice's."""
    connection = await asyncpg.connect(dsn)
    try:
        if await connection.fetchval("SELECT count(*) FROM auth_user") == users:
            return
        await connection.execute("TRUNCATE auth_user CASCADE")
        username, email, admin_hash = admin
        now = time.time()
        from datetime import UTC, datetime

        joined = datetime.fromtimestamp(now, UTC)
        admin_row = (admin_hash, True, username, "", "", email, True, True, joined)
        rows = itertools.chain(
            [admin_row],
            (
                (hashed, False, name, first, last, f"{name}@example.com", False, True, joined)
                for name, first, last in names(users - 1)
            ),
        )  # a generator: a million rows are never all in memory
        await connection.copy_records_to_table(
            "auth_user",
            records=rows,
            columns=[
                "password",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
            ],
        )
        await connection.execute("VACUUM ANALYZE auth_user")
    finally:
        await connection.close()


async def django_clients(base: str, username: str, password: str) -> dict[str, Any]:
    """A JWT (simplejwt) and a signed-in admin session (the stock login form)."""
    session = httpx2.AsyncClient(base_url=base, timeout=600)
    page = await session.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on Django's login page"
    form = {
        "username": username,
        "password": password,
        "csrfmiddlewaretoken": token.group(1),
        "next": "/admin/",
    }
    signed = await session.post("/admin/login/", data=form, headers={"Referer": f"{base}/admin/"})
    if signed.status_code != 302:
        raise RuntimeError(f"Django admin login answered {signed.status_code}")
    reply = await session.post("/api/token/", json={"username": username, "password": password})
    access = reply.json()["access"]
    api = httpx2.AsyncClient(
        base_url=base, timeout=600, headers={"Authorization": f"Bearer {access}"}
    )
    return {"token": api, "session": session}


async def alternate(
    clients: dict[str, dict[str, Any]], line: tuple[str, str, str, str], requests: int
) -> dict[str, tuple[float, int]]:
    """p50 (ms) and non-200 answers per server, requests alternating A B, B A, ..."""
    _label, bo_path, dj_path, kind = line
    paths = {"backoffice": bo_path, "django": dj_path}
    times: dict[str, list[float]] = {"backoffice": [], "django": []}
    errors = {"backoffice": 0, "django": 0}
    order = ["backoffice", "django"]
    for index in range(requests + 6):
        for name in order if index % 2 == 0 else order[::-1]:
            client = clients[name][kind]
            started = time.perf_counter()
            response = await client.get(paths[name])
            if index >= 6:  # the first three rounds warm up
                times[name].append((time.perf_counter() - started) * 1000)
                errors[name] += response.status_code != 200
    return {name: (statistics.median(times[name]), errors[name]) for name in order}


async def run_django(databases: Any, hashed: str, workdir: Path, args: Any) -> list[str]:
    import run

    venv = await asyncio.to_thread(peer_venv)
    table: dict[tuple[str, int], dict[str, tuple[float, int]]] = {}
    for size in args.django_sizes:
        label = run.size_label(size)
        database = await databases.prepare(label, size, hashed, reuse=args.keep)
        dj_database = f"{databases.prefix}_dj_{label}"
        databases.used.append(dj_database)
        if not (args.keep and await databases.pg.exists(dj_database)):
            await databases.pg.drop(dj_database)
            await databases.pg.execute(f'CREATE DATABASE "{dj_database}"')
        dsn = databases.pg.dsn(dj_database)
        parts = httpx2.URL(dsn)
        peer = Peer(
            venv,
            {
                "name": dj_database,
                "host": parts.host or "127.0.0.1",
                "port": str(parts.port or 5432),
                "user": parts.username or "postgres",
            },
            databases.secret,
            workdir,
        )
        await asyncio.to_thread(peer.migrate)
        admin_hash, user_hash = await asyncio.to_thread(
            peer.hashes, run.ADMIN_PASSWORD, run.SEED_PASSWORD
        )
        await seed_auth_user(
            dsn, size, (run.ADMIN_USERNAME, run.ADMIN_EMAIL, admin_hash), user_hash, _names
        )
        bo = run.Server("backoffice", "bo_app:create_app", databases.env(database), workdir)
        await bo.start()
        await peer.start(run.free_port(), workdir / f"django-{label}.log")
        import admin_scale

        bo_base = f"http://{run.HOST}:{bo.port}"
        bo_session = await admin_scale.admin_session(
            bo_base, run.ADMIN_USERNAME, run.ADMIN_PASSWORD
        )
        token = await run.login(bo.port, run.ADMIN_USERNAME, run.ADMIN_PASSWORD)
        bo_api = httpx2.AsyncClient(
            base_url=bo_base, timeout=600, headers={"Authorization": f"Bearer {token}"}
        )
        clients = {
            "backoffice": {"token": bo_api, "session": bo_session},
            "django": await django_clients(
                f"http://{run.HOST}:{peer.port}", run.ADMIN_USERNAME, run.ADMIN_PASSWORD
            ),
        }
        try:
            for line in LINES:
                result = await alternate(clients, line, args.django_requests)
                table[(line[0], size)] = result
                run.log(
                    f"django {label} {line[0]}: bo {result['backoffice'][0]:.1f} ms, "
                    f"django {result['django'][0]:.1f} ms"
                )
        finally:
            for pair in clients.values():
                for client in pair.values():
                    await client.aclose()
            await bo.stop()
            await peer.stop()
    return _report(table, args)


def _names(count: int) -> Any:
    import run

    for index in range(2, count + 2):
        yield (
            run.seed_username(index),
            run.FIRST_NAMES[index % 20],
            run.LAST_NAMES[(index // 20) % 20],
        )


def _report(table: dict[tuple[str, int], dict[str, tuple[float, int]]], args: Any) -> list[str]:
    small, large = min(args.django_sizes), max(args.django_sizes)
    lines = [
        f"Side by side with Django 6.1 (gunicorn, 1 sync worker) vs backoffice (uvicorn, 1 "
        f"worker): p50 ms of {args.django_requests} alternating sequential requests; ratio = "
        f"Django p50 / backoffice p50 (target >= {TARGET_RATIO:g} at {small:,} users)",
        f"{'line':<26} {'bo':>7} {'django':>7} {'ratio':>6}  {'bo growth':>9} "
        f"{'dj growth':>9}  result",
    ]
    for line in LINES:
        at_small, at_large = table[(line[0], small)], table[(line[0], large)]
        bo, dj = at_small["backoffice"][0], at_small["django"][0]
        ratio = dj / bo if bo else 0.0
        bo_growth = at_large["backoffice"][0] / bo if bo else 0.0
        dj_growth = at_large["django"][0] / dj if dj else 0.0
        errors = sum(e for result in (at_small, at_large) for _, e in result.values())
        ok = ratio >= TARGET_RATIO and not errors
        result = ("PASS" if ok else "FAIL") + (f" ({errors} errors)" if errors else "")
        lines.append(
            f"{line[0]:<26} {bo:>7.1f} {dj:>7.1f} {ratio:>6.2f}  {bo_growth:>8.1f}x "
            f"{dj_growth:>8.1f}x  {result}"
        )
    return lines


if __name__ == "__main__":
    print(find_python312(), file=sys.stderr)
