"""The password policy: one set of rules for every door that sets a password."""

from backoffice.errors import FieldError, InvalidInput
from backoffice.models import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH


def password_problems(password: str) -> list[str]:
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"must be at least {PASSWORD_MIN_LENGTH} characters long")
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(f"must be at most {PASSWORD_MAX_LENGTH} characters long")
    if not any(ch.isdigit() for ch in password):
        problems.append("must contain at least one digit")
    if not any(ch.isupper() for ch in password):
        problems.append("must contain at least one upper-case letter")
    return problems


def check_password(password: str, *, field: str = "password") -> None:
    """Raise ``InvalidInput`` naming every rule ``password`` breaks."""
    problems = password_problems(password)
    if problems:
        raise InvalidInput([FieldError(field, f"Password {p}.") for p in problems])
