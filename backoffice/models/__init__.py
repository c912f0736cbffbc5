"""SQLModel tables and their schema variants; importing this registers every table."""

from backoffice import db as _db  # noqa: F401  (sets the naming convention before any table)
from backoffice.models.api_keys import ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from backoffice.models.audit import AuditEntry, AuditEntryPublic
from backoffice.models.auth import AdminSession, LoginThrottle, RefreshToken, RevokedAccessToken
from backoffice.models.common import Page, utcnow
from backoffice.models.factors import Passkey, RecoveryCode, SignInChallenge, TotpDevice
from backoffice.models.permissions import (
    ACTIONS,
    Group,
    GroupCreate,
    GroupPermissionLink,
    GroupPublic,
    GroupUpdate,
    Permission,
    PermissionPublic,
    UserAccess,
    UserAccessPublic,
    UserGroupLink,
    UserPermissionLink,
)
from backoffice.models.posts import Post, PostCreate, PostPublic, PostUpdate
from backoffice.models.users import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    PasswordChange,
    User,
    UserAdminCreate,
    UserCreate,
    UserPublic,
    UserUpdate,
    UserUpdateMe,
)

__all__ = [
    "ACTIONS",
    "PASSWORD_MAX_LENGTH",
    "PASSWORD_MIN_LENGTH",
    "AdminSession",
    "ApiKey",
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyPublic",
    "AuditEntry",
    "AuditEntryPublic",
    "Group",
    "GroupCreate",
    "GroupPermissionLink",
    "GroupPublic",
    "GroupUpdate",
    "LoginThrottle",
    "Page",
    "Passkey",
    "PasswordChange",
    "Permission",
    "PermissionPublic",
    "Post",
    "PostCreate",
    "PostPublic",
    "PostUpdate",
    "RecoveryCode",
    "RefreshToken",
    "RevokedAccessToken",
    "SignInChallenge",
    "TotpDevice",
    "User",
    "UserAccess",
    "UserAccessPublic",
    "UserAdminCreate",
    "UserCreate",
    "UserGroupLink",
    "UserPermissionLink",
    "UserPublic",
    "UserUpdate",
    "UserUpdateMe",
    "utcnow",
]
