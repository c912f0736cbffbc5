"""PasswordHasher: argon2id for new hashes, legacy bcrypt verified and replaced."""

import pytest
from conftest import cheap_hashing
from passlib.context import CryptContext

from backoffice.security import HashParameters, PasswordHasher

PASSWORD = "Sup3rSecretPass"


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    cheap = cheap_hashing()
    return PasswordHasher(
        HashParameters(
            argon2_time_cost=cheap["argon2_time_cost"],
            argon2_memory_cost=cheap["argon2_memory_cost"],
            argon2_parallelism=cheap["argon2_parallelism"],
            bcrypt_rounds=cheap["bcrypt_rounds"],
        )
    )


def legacy_bcrypt(password: str | bytes) -> str:
    return str(CryptContext(schemes=["bcrypt"], bcrypt__rounds=4).hash(password))


async def test_new_hashes_are_argon2id_and_salted(hasher: PasswordHasher) -> None:
    first, second = await hasher.hash(PASSWORD), await hasher.hash(PASSWORD)

    assert first.startswith("$argon2id$")
    assert first != second
    assert PASSWORD not in first
    assert hasher.identify(first) == "argon2"


async def test_the_right_password_verifies_without_an_upgrade(hasher: PasswordHasher) -> None:
    hashed = await hasher.hash(PASSWORD)
    assert await hasher.verify(PASSWORD, hashed) == (True, None)


@pytest.mark.parametrize("attempt", ["sup3rsecretpass", "Sup3rSecretPass ", "", "x" * 1000])
async def test_a_wrong_password_does_not_verify(hasher: PasswordHasher, attempt: str) -> None:
    hashed = await hasher.hash(PASSWORD)
    assert await hasher.verify(attempt, hashed) == (False, None)


async def test_verifying_against_no_hash_is_always_false(hasher: PasswordHasher) -> None:
    assert await hasher.verify("backoffice-timing-equaliser", None) == (False, None)
    assert await hasher.verify(PASSWORD, None) == (False, None)


async def test_a_hash_made_with_other_argon2_costs_is_upgraded(hasher: PasswordHasher) -> None:
    stronger = PasswordHasher(HashParameters(argon2_time_cost=2, argon2_memory_cost=2048))
    hashed = await stronger.hash(PASSWORD)

    ok, new_hash = await hasher.verify(PASSWORD, hashed)

    assert ok and new_hash is not None
    assert await hasher.verify(PASSWORD, new_hash) == (True, None)


async def test_a_bcrypt_hash_verifies_and_comes_back_as_argon2(hasher: PasswordHasher) -> None:
    ok, new_hash = await hasher.verify(PASSWORD, legacy_bcrypt(PASSWORD))

    assert ok
    assert new_hash is not None and hasher.identify(new_hash) == "argon2"
    assert await hasher.verify(PASSWORD, new_hash) == (True, None)


async def test_a_wrong_password_against_bcrypt_is_refused_without_an_upgrade(
    hasher: PasswordHasher,
) -> None:
    assert await hasher.verify("Wr0ngPassword", legacy_bcrypt(PASSWORD)) == (False, None)


async def test_bcrypt_compares_only_the_first_72_bytes_as_it_always_did(
    hasher: PasswordHasher,
) -> None:
    long_password = "L0ng-" + "é" * 60  # 125 bytes in UTF-8, cut inside a character at 72
    hashed = legacy_bcrypt(long_password.encode()[:72])

    ok, new_hash = await hasher.verify(long_password, hashed)

    assert ok and new_hash is not None
    # The argon2 replacement is of the whole password, not of its first 72 bytes.
    assert await hasher.verify(long_password, new_hash) == (True, None)
    assert (await hasher.verify(long_password[:40], new_hash))[0] is False


async def test_a_nul_byte_against_bcrypt_is_a_mismatch_not_an_error(
    hasher: PasswordHasher,
) -> None:
    assert await hasher.verify("Sup3r\x00SecretPass", legacy_bcrypt(PASSWORD)) == (False, None)


async def test_a_nul_byte_in_an_argon2_password_is_just_another_character(
    hasher: PasswordHasher,
) -> None:
    hashed = await hasher.hash("Sup3r\x00SecretPass")
    assert await hasher.verify("Sup3r\x00SecretPass", hashed) == (True, None)
    assert (await hasher.verify("Sup3r", hashed))[0] is False
