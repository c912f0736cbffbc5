"""Domain errors: what a service says went wrong, in words a person can act on.

Services raise these and nothing else; each door (API, admin, CLI) translates them into its own
language (a problem+json response, a form error, an exit code).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field."""

    field: str
    message: str


class DomainError(Exception):
    """Base class: ``detail`` is safe to show to the person who made the request."""

    code: str = "error"
    title: str = "Error"
    keep_changes: bool = False
    """Commit the unit of work although the operation failed: set where the failure itself
    must be remembered (a failed sign-in counted, a stolen token's family revoked)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def kept(self) -> "DomainError":
        """This error, marked so that what was written before it is committed."""
        self.keep_changes = True
        return self


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    """The request clashes with the current state (a duplicate, the last superuser, …)."""

    code = "conflict"
    title = "Conflict"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class PermissionDenied(DomainError):
    code = "permission_denied"
    title = "Permission denied"


class AuthenticationFailed(DomainError):
    """Credentials or token are missing, wrong or no longer valid."""

    code = "authentication_failed"
    title = "Not authenticated"


class Throttled(DomainError):
    """Too many failed attempts: try again after ``retry_after`` seconds."""

    code = "throttled"
    title = "Too many attempts"

    def __init__(self, retry_after: int, detail: str = "Too many failed sign-in attempts.") -> None:
        super().__init__(f"{detail} Try again in {retry_after} seconds.")
        self.retry_after = retry_after


class InvalidInput(DomainError):
    """Input that passed the schema but breaks a rule (for example the password policy)."""

    code = "invalid_input"
    title = "Invalid input"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors

    @classmethod
    def single(cls, field: str, message: str) -> "InvalidInput":
        return cls([FieldError(field, message)])


class Stale(DomainError):
    """The row changed since the caller read it: the version they named is not the current one
    (someone else saved in between). Nothing was written; ``current_version`` is the row's
    version now, to read it again and re-apply."""

    code = "stale"
    title = "Changed since it was read"

    def __init__(self, detail: str, *, current_version: int) -> None:
        super().__init__(detail)
        self.current_version = current_version


class RevertRefused(Conflict):
    """A revert that would undo a later change (or cannot be done): nothing was reverted.
    ``reasons`` says why, entry by entry; ``forcible`` is true when forcing it (a superuser's
    choice) would go through."""

    code = "revert_refused"
    title = "Revert refused"

    def __init__(self, reasons: list[str], *, forcible: bool) -> None:
        super().__init__("Nothing was reverted: " + " ".join(reasons))
        self.reasons = reasons
        self.forcible = forcible
