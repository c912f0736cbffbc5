"""Settings, read from the environment (prefix ``BACKOFFICE_``) and an optional ``.env`` file."""

import logging
import secrets
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

logger = logging.getLogger("backoffice")

MIN_SECRET_KEY_LENGTH = 32

# Keys seen in tutorials and templates: a production deploy that uses one is as good as keyless.
WELL_KNOWN_SECRET_KEYS = frozenset(
    {
        "changeme",
        "change-me",
        "changethis",
        "change-this",
        "secret",
        "secret-key",
        "secret_key",
        "secretkey",
        "mysecret",
        "my-secret-key",
        "your-secret-key",
        "your_secret_key",
        "supersecret",
        "super-secret",
        "development",
        "dev",
        "test",
        "password",
        "insecure",
        "django-insecure",
        "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",
    }
)


class SecretKeyError(ValueError):
    """The secret key is unfit for production; the message says why."""


class MailBackendError(ValueError):
    """Production would print mail (reset links) to the log; the message says what to set."""


class Settings(BaseSettings):
    """Everything a deployment may change. Defaults are safe for local development."""

    model_config = SettingsConfigDict(
        env_prefix="BACKOFFICE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )
    _secret_key_problem: str | None = PrivateAttr(default=None)

    env: Literal["development", "production"] = "development"
    """``production`` turns on the strict checks (secret key, Secure cookies, HSTS)."""

    project_name: str = "backoffice"
    """Shown in the admin title and the API docs."""

    logo_url: str | None = None
    """Image shown in the admin's header instead of the project name (a URL or a path)."""

    posts: bool = True
    """Offer the built-in Posts resource (API, admin, permissions). Its table stays in the
    schema either way; switch it off when your app has no use for it."""

    database_url: str = "sqlite+aiosqlite:///./backoffice.db"
    """SQLAlchemy async URL: ``sqlite+aiosqlite:///…`` or ``postgresql+asyncpg://…``."""

    database_pool_size: int = Field(default=15, ge=1, le=1000)
    """Connections each process keeps open (PostgreSQL). Requests beyond it wait for one."""

    database_max_overflow: int = Field(default=0, ge=0, le=1000)
    """Extra connections opened at a peak and closed as soon as they are returned. Opening
    one costs more than a small request, so under sustained load overflow churns: raise the
    pool size instead, within the server's ``max_connections`` over all processes."""

    database_ping_after_idle_seconds: float = Field(default=1.0, ge=0, le=3600)
    """A pooled connection idle for longer is checked (one round trip) before use, so a
    database restart costs no request; 0 checks every one (``pool_pre_ping``). PostgreSQL."""

    secret_key: SecretStr | None = None
    """Signs JWTs and the admin session. Required in production (at least 32 characters)."""

    access_token_expire_minutes: int = Field(default=15, ge=1, le=24 * 60)
    """Lifetime of an API access token: short, because a refresh token renews it."""

    refresh_token_expire_days: int = Field(default=14, ge=1, le=365)
    """Lifetime of a refresh token (each use replaces it with a new one)."""

    api_key_max_lifetime_days: int = Field(default=365, ge=1, le=3650)
    """The latest expiry an API key may be given: every key must expire, this soon at most."""

    admin_session_max_age_seconds: int = Field(default=8 * 3600, ge=60, le=7 * 24 * 3600)
    """Absolute lifetime of an admin session: hours, not weeks."""

    admin_session_idle_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    """An admin session unused for this long ends."""

    second_factor_required: bool | None = None
    """Staff and superusers must have a second factor (an authenticator app or a passkey):
    one without is sent to enrolment after the password and can do nothing else until done.
    Unset: on in production, off otherwise."""

    second_factor_challenge_seconds: int = Field(default=300, ge=30, le=3600)
    """How long a sign-in waits for its second step (and a passkey ceremony for its answer)."""

    password_reset_page: str | None = None
    """Path on ``base_url`` of the page that takes a reset token (``?token=…``). Default: the
    admin's page; point it at your own front end's page if you have one."""

    password_reset_expire_minutes: int = Field(default=60, ge=5, le=7 * 24 * 60)
    """How long a password reset link works (once)."""

    login_throttle_account_failures: int = Field(default=5, ge=1)
    """Failed sign-ins for one account name before each further attempt must wait."""
    login_throttle_address_failures: int = Field(default=20, ge=1)
    """Failed sign-ins from one client address before each further attempt must wait."""
    login_throttle_max_delay_seconds: int = Field(default=900, ge=1)
    """The wait doubles with each further failure, up to this."""
    login_throttle_window_seconds: int = Field(default=3600, ge=60)
    """Failures older than this are forgotten."""

    registration_limit_per_address: int = Field(default=10, ge=1)
    """Accounts one client address may register per ``rate_limit_window_seconds``; further
    registrations get 429 with ``Retry-After``."""
    password_reset_limit_per_address: int = Field(default=10, ge=1)
    """Password reset requests one client address may make per window; further ones get 429."""
    password_reset_mails_per_account: int = Field(default=3, ge=1)
    """Reset mails one account receives per window; further requests get the usual answer and
    no mail (so the answer still tells nothing about the account)."""
    rate_limit_window_seconds: int = Field(default=3600, ge=60)
    """The window of the three limits above, counted from its first request."""

    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """CORS origins: a JSON list or a comma-separated string. Empty means no CORS."""

    base_url: str = "http://localhost:8000"
    """The public address of the site, used for links in mail; never taken from a request."""

    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Host names the admin answers to (comma-separated; ``*.example.com`` for subdomains).
    Empty: any in development, ``base_url``'s host in production. The admin's pages build
    their links from the request's Host, so a request naming another host is refused (400)."""

    def admin_hosts(self) -> list[str]:
        """The hosts the admin answers to (``["*"]``: any)."""
        if self.allowed_hosts:
            return self.allowed_hosts
        if not self.is_production:
            return ["*"]
        return [urlsplit(self.base_url).hostname or "localhost"]

    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Addresses (or networks, ``10.0.0.0/8``) of the reverse proxies in front of the app,
    comma-separated; ``*`` trusts any. A request from one of them is taken to come from the
    client its ``X-Forwarded-For`` names, over the scheme its ``X-Forwarded-Proto`` names (the
    login throttle counts that address; the admin's links and Secure cookies follow that
    scheme). Empty: the headers are ignored, whatever the server in front does with them."""

    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    """API requests with a larger body are refused with 413 before being parsed."""

    require_if_match: bool = False
    """API writes to one record (``PATCH``, ``PUT``, ``DELETE``) must name the version they
    read in ``If-Match``; without it they answer 428. Off: a write without it still works (last
    save wins), one with a stale version answers 412 either way."""

    trash_days: int = Field(default=30, ge=1, le=36500)
    """How many days a deleted row of a resource with a trash (users, posts, a host's opted-in
    tables) stays restorable: ``backoffice purge-trash`` deletes for good what has been there
    longer. Run it from cron."""

    app_migrations: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Alembic folders of the host app (comma-separated), migrated after backoffice's own by
    ``backoffice migrate``. Each has its own env.py (see the invoicing example)."""

    api_prefix: str = "/api"
    admin_path: str = "/admin"

    first_superuser_email: str | None = None
    first_superuser_username: str = "admin"
    first_superuser_password: SecretStr | None = None
    """If set, ``backoffice serve`` creates this superuser on an empty database."""

    # Password hashing. The defaults are argon2id's recommended cost; tests lower them.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost: int = Field(default=65536, ge=8)
    """KiB per hash; each concurrent hash holds this much memory."""
    argon2_parallelism: int = Field(default=4, ge=1)
    bcrypt_rounds: int = Field(default=12, ge=4, le=31)
    max_concurrent_hashes: int = Field(default=2, ge=1)
    """Bounds the memory and CPU that simultaneous logins can take: with the default argon2
    cost, 2 keeps 32 simultaneous logins under 300 MB and the event loop responsive (bench/)."""
    max_concurrent_new_password_hashes: int = Field(default=1, ge=1)
    """Hashing of new passwords (registration, reset, set-password) at once. A limiter of its
    own, so that work never queues in front of sign-in; the memory bound is the sum of both."""

    gc_freeze_after_startup: bool = True
    """``create_app`` only (a standalone service): once started, ``gc.freeze()`` the objects
    start-up built, so that a full collection no longer walks them. Measured (bench/): the
    p99 of ``/api/users/me`` under load 86 -> 25 ms, no event-loop stall over 50 ms. A host app
    that mounts backoffice decides this for its own process."""

    # Mail. "console" prints messages to standard output (development); "smtp" sends them.
    # In production console mail would print live reset links to the log: it is refused unless
    # chosen explicitly (BACKOFFICE_MAIL_BACKEND=console).
    mail_backend: Literal["console", "smtp"] = "console"
    mail_from: str = "backoffice <noreply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    """Upgrade the connection with STARTTLS (port 587). Ignored when ``smtp_ssl`` is set."""
    smtp_ssl: bool = False
    """Implicit TLS from the first byte (port 465)."""
    smtp_timeout_seconds: float = Field(default=10, gt=0, le=120)

    log_level: str = "INFO"

    @field_validator(
        "allowed_origins", "allowed_hosts", "app_migrations", "trusted_proxies", mode="before"
    )
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @field_validator("base_url", "api_prefix", "admin_path")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_for_production(self) -> "Settings":
        self._check_secret_key()
        if not (self.is_production and self.mail_backend == "console"):
            return self
        if "mail_backend" in self.model_fields_set:
            logger.warning("Console mail in production: reset links are printed to the log.")
        else:
            raise MailBackendError(
                "BACKOFFICE_MAIL_BACKEND is not set, and the default (console) would print "
                "password reset links to the log. In production backoffice refuses to start "
                "so; set BACKOFFICE_MAIL_BACKEND=smtp (with BACKOFFICE_SMTP_HOST, ...), or "
                "BACKOFFICE_MAIL_BACKEND=console to choose console mail knowingly."
            )
        return self

    def _check_secret_key(self) -> None:
        problem = secret_key_problem(self.secret_key)
        if problem is None:
            return
        if self.is_production:
            raise SecretKeyError(
                f"BACKOFFICE_SECRET_KEY {problem}. In production backoffice refuses to start "
                "without a strong key; generate one with: "
                'python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        # Development: accepted, and said once where it matters (``secret_key_warning``, printed
        # by ``serve``), not on every command and every Settings built.
        self._secret_key_problem = problem
        if self.secret_key is None:
            # A fresh random key per process: sessions and tokens do not survive a restart and
            # several workers do not accept each other's tokens. Fine for development only.
            self.secret_key = SecretStr(secrets.token_urlsafe(48))

    def secret_key_warning(self) -> str | None:
        """What is wrong with a development key, for ``serve`` to say; None when it is fine."""
        problem = self._secret_key_problem
        if problem is None:
            return None
        if problem == "is not set":
            return (
                "BACKOFFICE_SECRET_KEY is not set: using a random key for this process only. "
                "Set it to keep tokens and admin sessions valid across restarts."
            )
        return f"BACKOFFICE_SECRET_KEY {problem}; this is refused in production."

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def requires_second_factor(self) -> bool:
        if self.second_factor_required is None:
            return self.is_production
        return self.second_factor_required

    @property
    def reset_page_path(self) -> str:
        return self.password_reset_page or f"{self.admin_path}/password-reset/confirm"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def get_secret_key(self) -> str:
        assert self.secret_key is not None  # guaranteed by _check_secret_key
        return self.secret_key.get_secret_value()


def secret_key_problem(key: SecretStr | None) -> str | None:
    """Why ``key`` is unfit for production, or None when it is fine."""
    if key is None or not key.get_secret_value().strip():
        return "is not set"
    value = key.get_secret_value()
    if value.lower() in WELL_KNOWN_SECRET_KEYS:
        return "is a well-known example value"
    if len(value) < MIN_SECRET_KEY_LENGTH:
        return f"is too short ({len(value)} characters, at least {MIN_SECRET_KEY_LENGTH} needed)"
    if len(set(value)) < 8:
        return "has too little variety to be random"
    return None
