"""Password hashing: argon2id for new hashes, bcrypt still verified and upgraded on login.

Hashing is CPU- and memory-bound, so it runs in a worker thread (the event loop keeps serving)
behind a limiter (32 simultaneous logins cannot take 32 x 64 MiB at once). Two limiters, in
fact: sign-in verification has its own, so a burst of registrations or password resets (which
hash new passwords) never queues in front of a login.
"""

from dataclasses import dataclass

import anyio
from passlib.context import CryptContext

# bcrypt reads at most 72 bytes; the bcrypt library (5.x) refuses longer input instead of
# ignoring the rest as older versions did when the legacy hashes were made.
BCRYPT_MAX_BYTES = 72


@dataclass(frozen=True)
class HashParameters:
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    argon2_parallelism: int = 4
    bcrypt_rounds: int = 12
    max_concurrent: int = 4
    """Verifications (sign-in) at once."""
    max_concurrent_new: int = 1
    """Hashes of new passwords (registration, reset, set-password) at once."""


class PasswordHasher:
    def __init__(self, params: HashParameters | None = None) -> None:
        params = params or HashParameters()
        self._context = CryptContext(
            schemes=["argon2", "bcrypt"],
            deprecated="auto",
            argon2__type="ID",
            argon2__time_cost=params.argon2_time_cost,
            argon2__memory_cost=params.argon2_memory_cost,
            argon2__parallelism=params.argon2_parallelism,
            bcrypt__rounds=params.bcrypt_rounds,
        )
        self.verify_limiter = anyio.CapacityLimiter(params.max_concurrent)
        self.hash_limiter = anyio.CapacityLimiter(params.max_concurrent_new)
        # Verified when the account does not exist, so an unknown name costs the same work.
        self._dummy_hash = self._context.hash("backoffice-timing-equaliser")

    async def hash(self, password: str) -> str:
        """A new hash, for a password being set (never on the sign-in limiter)."""
        return await anyio.to_thread.run_sync(
            self._context.hash, password, limiter=self.hash_limiter
        )

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """Check ``password``; returns (matches, a replacement hash if the scheme is outdated).

        With ``hashed=None`` a dummy hash is verified and the answer is always False.
        """
        target = hashed if hashed is not None else self._dummy_hash
        ok, new_hash = await anyio.to_thread.run_sync(
            self._verify_and_update, password, target, limiter=self.verify_limiter
        )
        if hashed is None:
            return False, None
        return bool(ok), new_hash

    def _verify_and_update(self, password: str, hashed: str) -> tuple[bool, str | None]:
        if self._context.identify(hashed) != "bcrypt":
            return self._context.verify_and_update(password, hashed)  # type: ignore[no-any-return]
        # A legacy bcrypt hash saw only the first 72 bytes of the password; check those, then
        # replace it with an argon2 hash of the whole password.
        try:
            ok = self._context.verify(password.encode()[:BCRYPT_MAX_BYTES], hashed)
        except ValueError:  # a NUL byte, which bcrypt never accepted: it cannot match
            return False, None
        if not ok:
            return False, None
        return True, self._context.hash(password)

    def identify(self, hashed: str) -> str | None:
        scheme = self._context.identify(hashed)
        return str(scheme) if scheme else None
