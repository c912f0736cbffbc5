"""Fixtures for the API tests beyond the shared ones: a real local SMTP server."""

from tests.smtp import mail_server

__all__ = ["mail_server"]
