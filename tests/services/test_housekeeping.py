"""Expired sign-in state is deleted by `backoffice clearsessions`; live state is kept."""

import os
import sys
from datetime import timedelta
from pathlib import Path

import anyio
from conftest import Account, cheap_hashing
from sqlmodel import func, select, update

from backoffice import BackOffice
from backoffice.models import AdminSession, LoginThrottle, RefreshToken, RevokedAccessToken, utcnow
from backoffice.services import Caller


async def count(office: BackOffice, model: type) -> int:
    async with office.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_clearsessions_deletes_only_what_can_no_longer_be_used(
    office: BackOffice, alice: Account, tmp_path: Path
) -> None:
    async with office.session() as session:
        auth = office.auth(session, Caller.anonymous("api"))
        live = await auth.login("alice", alice.password)
        old = await auth.login("alice", alice.password)
        await auth.credentials.revoke_access_token(
            old.access.claims.jti, utcnow() - timedelta(minutes=1)
        )
        await auth.credentials.revoke_access_token(
            live.access.claims.jti, utcnow() + timedelta(minutes=5)
        )
        await auth.credentials.open_admin_session(alice.user)
        stale = auth.throttle.keys("ghost", None)
        await auth.throttle.record_failure(stale)
        # One refresh token and the throttle count age past their lifetimes.
        await session.exec(
            update(RefreshToken)
            .where(RefreshToken.id == 1)  # type: ignore[arg-type]
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.exec(
            update(LoginThrottle).values(
                last_failure_at=utcnow() - timedelta(days=2), locked_until=None
            )
        )

    env = {
        **os.environ,
        "BACKOFFICE_DATABASE_URL": office.settings.database_url,
        "BACKOFFICE_SECRET_KEY": office.settings.get_secret_key(),
        **{f"BACKOFFICE_{k.upper()}": str(v) for k, v in cheap_hashing().items()},
    }
    with anyio.fail_after(120):
        result = await anyio.run_process(
            [sys.executable, "-m", "backoffice", "clearsessions"],
            env=env,
            cwd=tmp_path,
            check=False,
        )
    output = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "1 from refresh_token" in output
    assert "1 from revoked_access_token" in output
    assert "1 from login_throttle" in output
    assert await count(office, RefreshToken) == 1
    assert await count(office, RevokedAccessToken) == 1
    assert await count(office, AdminSession) == 1
    assert await count(office, LoginThrottle) == 0
