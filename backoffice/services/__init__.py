"""The business rules. Framework-free: takes a session and plain values, raises domain errors."""

from backoffice.services.base import MAX_PAGE_SIZE, Caller, Door
from backoffice.services.posts import PostService
from backoffice.services.users import UserService

__all__ = ["MAX_PAGE_SIZE", "Caller", "Door", "PostService", "UserService"]
