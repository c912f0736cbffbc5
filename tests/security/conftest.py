"""The admin's browser helpers, for the security tests that drive the admin."""

from tests.admin.conftest import browser, signed_in  # noqa: F401
