"""The password policy: one set of rules for every door that sets a password.

Django's four validators (minimum length, similarity to the user's own attributes, a list of
common passwords, all-numeric), our composition rule (a digit and an upper-case letter), and a
maximum length checked first, so a huge input is refused before any other work.
"""

import gzip
import re
from collections.abc import Mapping
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

from backoffice.errors import FieldError, InvalidInput
from backoffice.models import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"
MAX_SIMILARITY = 0.7


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def password_problems(
    password: str, *, user_attributes: Mapping[str, str | None] | None = None
) -> list[str]:
    """Every rule ``password`` breaks, each phrased to follow "Password ".

    ``user_attributes`` maps a label ("email", "username", "full name") to the user's value.
    """
    if len(password) > PASSWORD_MAX_LENGTH:
        return [f"must be at most {PASSWORD_MAX_LENGTH} characters long"]
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"must be at least {PASSWORD_MIN_LENGTH} characters long")
    if password.isdigit():
        problems.append("must not be entirely numeric")
    else:
        if not any(ch.isdigit() for ch in password):
            problems.append("must contain at least one digit")
        if not any(ch.isupper() for ch in password):
            problems.append("must contain at least one upper-case letter")
    attribute = _similar_attribute(password, user_attributes or {})
    if attribute:
        problems.append(f"is too similar to your {attribute}")
    if password.lower().strip() in common_passwords():
        problems.append("is too common")
    return problems


def check_password(
    password: str,
    *,
    field: str = "password",
    user_attributes: Mapping[str, str | None] | None = None,
) -> None:
    """Raise ``InvalidInput`` naming every rule ``password`` breaks."""
    problems = password_problems(password, user_attributes=user_attributes)
    if problems:
        raise InvalidInput([FieldError(field, f"Password {p}.") for p in problems])


def _similar_attribute(password: str, attributes: Mapping[str, str | None]) -> str | None:
    """Django's UserAttributeSimilarityValidator: compare with each value and its words."""
    lowered = password.lower()
    for label, value in attributes.items():
        if not value:
            continue
        value = value.lower()
        for part in [value, *re.split(r"\W+", value)]:
            if len(part) < 3:
                continue
            # Past this length ratio quick_ratio cannot reach the threshold: skip the work.
            if len(lowered) >= 10 * len(part) and len(lowered) >= len(part) / MAX_SIMILARITY:
                continue
            matcher = SequenceMatcher(a=lowered, b=part)
            if matcher.quick_ratio() >= MAX_SIMILARITY and matcher.ratio() >= MAX_SIMILARITY:
                return label
    return None
