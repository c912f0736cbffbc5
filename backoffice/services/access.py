"""Access tokens back to accounts: the check every signed-in API request makes.

It runs one Core statement (the account, and whether the token is signed out) on the request's
connection, below the ORM: on a small request the ORM's loading costs more than the query
itself (see bench/README.md). The account it returns is a snapshot detached from any session,
as Django's ``request.user`` is: a service that changes an account loads its own copy.
"""

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backoffice.errors import AuthenticationFailed
from backoffice.models import RevokedAccessToken, User
from backoffice.models.common import MAX_ID
from backoffice.security import InvalidToken, TokenClaims, decode_token
from backoffice.security.sessions import credentials_fingerprint, fingerprints_match
from backoffice.security.tokens import ACCESS

INVALID_TOKEN = "Could not validate credentials."  # noqa: S105 (a message)

_users = User.__table__  # type: ignore[attr-defined]
_revoked = RevokedAccessToken.__table__  # type: ignore[attr-defined]
# Built once: SQLAlchemy would otherwise rebuild it and compute its cache key on every request.
# A token is refused when its own jti, or its sign-in's family marker, is on the revoked list.
_LOOKUP = select(
    _users,
    exists().where(_revoked.c.jti.in_([bindparam("jti"), bindparam("family")])).label("revoked"),
).where(_users.c.id == bindparam("user_id"))


def family_marker(family_id: str) -> str:
    """The revoked-list entry that ends every access token issued from one sign-in."""
    return f"fam:{family_id}"


@dataclass(frozen=True)
class AccessGrant:
    """A verified access token: whose it is and what it said."""

    user: User
    claims: TokenClaims


def token_fingerprint(hashed_password: str, secret_key: str) -> str:
    """What an access token carries (``pwd``) to die with the password it was issued under."""
    return credentials_fingerprint(hashed_password, secret_key)[:32]


async def read_access_grant(
    connection: AsyncConnection, token: str, *, secret_key: str
) -> AccessGrant:
    """The account an access token speaks for. It fails once the token is signed out, the
    password has changed since it was issued, or the account is gone or inactive."""
    try:
        claims = decode_token(token, token_type=ACCESS, secret_key=secret_key)
        user_id = int(claims.subject)
    except (InvalidToken, ValueError) as exc:
        raise AuthenticationFailed(INVALID_TOKEN) from exc
    if not 1 <= user_id <= MAX_ID:
        raise AuthenticationFailed(INVALID_TOKEN)
    family = family_marker(claims.family) if claims.family else claims.jti
    result = await connection.execute(
        _LOOKUP, {"user_id": user_id, "jti": claims.jti, "family": family}
    )
    row = result.mappings().first()
    if (
        row is None
        or row["revoked"]
        or not row["is_active"]
        or not fingerprints_match(
            token_fingerprint(row["hashed_password"], secret_key), claims.fingerprint
        )
    ):
        raise AuthenticationFailed(INVALID_TOKEN)
    fields = {column.name: row[column.name] for column in _users.columns}
    return AccessGrant(User(**fields), claims)
