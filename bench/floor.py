"""The floor: what ``/health``, ``/api/users/me`` and ``/api/users/`` cost with no framework
beyond Starlette's routing and no ORM or validation library.

Bare Starlette + asyncpg, doing the same work as backoffice: decode the same JWT (PyJWT, the same
secret, algorithm and required claims), fetch the same rows, build the same JSON by hand. Served
by ``uvicorn --app-dir bench floor:create_app --factory``; configured by the environment:
``BENCH_FLOOR_DSN`` (a plain ``postgresql://`` DSN), ``BACKOFFICE_SECRET_KEY`` and
``BENCH_FLOOR_POOL_MAX`` (15, backoffice's pool size plus overflow).
"""

import hashlib
import hmac
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from heartbeat import Heartbeat

ALGORITHM = "HS256"
# As backoffice.security.tokens: "pwd" binds the token to the password it was issued under.
REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "type", "pwd"]
FINGERPRINT_LENGTH = 32
MAX_PAGE_SIZE = 100
# As backoffice.services.base.COUNT_CAP: a list counts at most skip + limit + COUNT_CAP matches.
COUNT_CAP = 200
SORT_FIELDS = frozenset({"id", "email", "username", "created_at", "last_login"})
COLUMNS = (
    "email, username, full_name, id, is_active, is_staff, is_superuser, "
    "created_at, updated_at, last_login"
)
USER_BY_ID = f'SELECT {COLUMNS}, hashed_password FROM "user" WHERE id = $1'
# Once access tokens can be revoked, the check rides on the same round trip as the user.
USER_BY_ID_NOT_REVOKED = (
    f"SELECT {COLUMNS}, hashed_password, EXISTS "
    "(SELECT 1 FROM revoked_access_token WHERE jti = $2) AS revoked "
    'FROM "user" WHERE id = $1'
)


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def _dt(value: datetime | None) -> str | None:
    # pydantic writes UTC as "Z" and omits zero microseconds, as isoformat() does.
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _user_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "email": row["email"],
        "username": row["username"],
        "full_name": row["full_name"],
        "id": row["id"],
        "is_active": row["is_active"],
        "is_staff": row["is_staff"],
        "is_superuser": row["is_superuser"],
        "created_at": _dt(row["created_at"]),
        "updated_at": _dt(row["updated_at"]),
        "last_login": _dt(row["last_login"]),
    }


def _json(body: Any, status: int = 200) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(data, status_code=status, media_type="application/json")


class Floor:
    """The application state: the pool, the secret and what the schema has."""

    def __init__(self) -> None:
        self.dsn = os.environ["BENCH_FLOOR_DSN"]
        self.secret = os.environ["BACKOFFICE_SECRET_KEY"]
        self.pool_max = int(os.environ.get("BENCH_FLOOR_POOL_MAX", "15"))
        self.pool: asyncpg.Pool | None = None
        self.check_revoked = False
        self.heartbeat = Heartbeat()

    @asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self.pool = await asyncpg.create_pool(self.dsn, min_size=5, max_size=self.pool_max)
        async with self.pool.acquire() as connection:
            self.check_revoked = bool(
                await connection.fetchval("SELECT to_regclass('revoked_access_token') IS NOT NULL")
            )
        async with self.heartbeat.running():
            yield
        await self.pool.close()

    async def current_user(self, request: Request, connection: asyncpg.Connection) -> Any:
        """The active user the bearer token speaks for, as the product's ``ActiveUser``."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Problem(401, "Not authenticated", "Not authenticated.")
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
            )
            if claims.get("type") != "access":
                raise ValueError("wrong token type")
            if not all(isinstance(claims.get(name), str) for name in ("sub", "jti", "pwd")):
                raise ValueError("malformed claims")
            user_id = int(claims["sub"])
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise Problem(401, "Not authenticated", "Could not validate credentials.") from exc
        if self.check_revoked:
            row = await connection.fetchrow(USER_BY_ID_NOT_REVOKED, user_id, claims["jti"])
            if row is not None and row["revoked"]:
                row = None
        else:
            row = await connection.fetchrow(USER_BY_ID, user_id)
        if (
            row is None
            or not row["is_active"]
            or not hmac.compare_digest(self.fingerprint(row["hashed_password"]), claims["pwd"])
        ):
            raise Problem(401, "Not authenticated", "Could not validate credentials.")
        return row

    def fingerprint(self, hashed_password: str) -> str:
        """As backoffice.security.sessions.credentials_fingerprint, cut as the token has it."""
        message = b"admin-session:" + hashed_password.encode()
        digest = hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()
        return digest[:FINGERPRINT_LENGTH]

    async def health(self, _request: Request) -> Response:
        return _json({"status": "ok"})

    async def me(self, request: Request) -> Response:
        assert self.pool is not None
        try:
            async with self.pool.acquire() as connection:
                row = await self.current_user(request, connection)
        except Problem as problem:
            return self.problem(request, problem)
        return _json(_user_json(row))

    async def users(self, request: Request) -> Response:
        assert self.pool is not None
        try:
            skip, limit, search, order = self.page_query(request)
            async with self.pool.acquire() as connection:
                caller = await self.current_user(request, connection)
                if not (caller["is_staff"] or caller["is_superuser"]):
                    raise Problem(403, "Forbidden", "This operation is for admins only.")
                where, args = "", []
                if search:
                    pattern = _like_pattern(search.strip().lower())
                    where = (
                        "WHERE (email LIKE $1 ESCAPE '\\' OR username LIKE $1 ESCAPE '\\' "
                        "OR lower(full_name) LIKE $1 ESCAPE '\\')"
                    )
                    args.append(pattern)
                n = len(args)
                rows = await connection.fetch(
                    f'SELECT {COLUMNS} FROM "user" {where} ORDER BY {order} '
                    f"LIMIT ${n + 1} OFFSET ${n + 2}",
                    *args,
                    limit,
                    skip,
                )
                # As Service.fetch_page: a short page is the last one and needs no count;
                # otherwise count at most bound + 1 matches (the extra one tells "exactly
                # bound" from "more").
                bound = skip + limit + COUNT_CAP
                if len(rows) < limit and (rows or skip == 0):
                    counted = skip + len(rows)
                else:
                    counted = await connection.fetchval(
                        f'SELECT count(*) FROM (SELECT id FROM "user" {where} LIMIT ${n + 1}) m',
                        *args,
                        bound + 1,
                    )
        except Problem as problem:
            return self.problem(request, problem)
        items = [_user_json(row) for row in rows]
        page = {
            "items": items,
            "total": min(counted, bound),
            "total_is_exact": counted <= bound,
            "skip": skip,
            "limit": limit,
        }
        return _json(page)

    @staticmethod
    def page_query(request: Request) -> tuple[int, int, str | None, str]:
        params = request.query_params
        try:
            skip = int(params.get("skip", "0"))
            limit = int(params.get("limit", "50"))
        except ValueError as exc:
            raise Problem(422, "Invalid input", "skip and limit must be integers") from exc
        if not (0 <= skip <= 1_000_000_000 and 1 <= limit <= MAX_PAGE_SIZE):
            raise Problem(422, "Invalid input", "skip or limit out of range")
        search = params.get("search") or None
        if search is not None and (len(search) > 100 or "\x00" in search):
            raise Problem(422, "Invalid input", "search is too long or has NUL")
        sort = (params.get("sort") or "id").strip()
        name = sort.lstrip("-+")
        if name not in SORT_FIELDS:
            raise Problem(422, "Invalid input", f"cannot sort by {name!r}")
        direction = "DESC" if sort.startswith("-") else "ASC"
        # The primary key breaks ties in the same direction, as Service.fetch_page does.
        order = f"{name} {direction}, id {direction}" if name != "id" else f"id {direction}"
        return skip, limit, search, order

    @staticmethod
    def problem(request: Request, problem: Problem) -> Response:
        body = {
            "type": "about:blank",
            "title": problem.title,
            "status": problem.status,
            "detail": problem.detail,
            "instance": request.url.path,
        }
        headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
        return JSONResponse(
            body, problem.status, headers=headers, media_type="application/problem+json"
        )

    async def lag(self, request: Request) -> Response:
        report = self.heartbeat.report()
        if request.query_params.get("reset"):
            self.heartbeat.reset()
        return JSONResponse(report)


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def create_app() -> Starlette:
    floor = Floor()
    routes = [
        Route("/health", floor.health),
        Route("/api/users/me", floor.me),
        Route("/api/users/", floor.users),
        Route("/bench/lag", floor.lag),
    ]
    return Starlette(routes=routes, lifespan=floor.lifespan)
