"""A real SMTP server for the tests: aiosmtpd on a free 127.0.0.1 port, keeping what it receives.

The application sends mail from a background task, after the response; tests wait for a message
by polling the inbox for a bounded time (never a fixed sleep).
"""

import asyncio
import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

WAIT_SECONDS = 15.0
_POLL_SECONDS = 0.02
_URL = re.compile(r"https?://[^\s\"'<>]+")


@dataclass(frozen=True)
class Delivered:
    """One message as the server received it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, "the message has no text part"
        return str(part.get_content())

    @property
    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return None if part is None else str(part.get_content())

    def links(self) -> list[str]:
        """Every URL in the text part, in order."""
        return _URL.findall(self.text)


class _Inbox:
    """The aiosmtpd handler: parses each message and keeps it."""

    def __init__(self) -> None:
        self.messages: list[Delivered] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[Delivered]:
        with self._lock:
            return list(self.messages)


@dataclass
class MailServer:
    host: str
    port: int
    _inbox: _Inbox = field(repr=False)

    @property
    def messages(self) -> list[Delivered]:
        return self._inbox.snapshot()

    def settings(self) -> dict[str, Any]:
        """Settings values that make the application send here."""
        return {
            "mail_backend": "smtp",
            "smtp_host": self.host,
            "smtp_port": self.port,
            "smtp_starttls": False,
            "smtp_ssl": False,
            "smtp_timeout_seconds": 10,
        }

    def _find(self, to: str, after: int) -> Delivered | None:
        for delivered in self.messages[after:]:
            if to.lower() in (r.lower() for r in delivered.rcpt_tos):
                return delivered
        return None

    async def wait_for(self, to: str, *, after: int = 0) -> Delivered:
        """The first message to ``to`` among those received after the first ``after``."""
        deadline = time.monotonic() + WAIT_SECONDS
        while (found := self._find(to, after)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {to} within {WAIT_SECONDS} s: {self.messages}")
            await asyncio.sleep(_POLL_SECONDS)
        return found

    def wait_for_blocking(self, to: str, *, after: int = 0) -> Delivered:
        """``wait_for`` for synchronous tests (the browser tests)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while (found := self._find(to, after)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {to} within {WAIT_SECONDS} s: {self.messages}")
            time.sleep(_POLL_SECONDS)
        return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def running_mail_server() -> Iterator[MailServer]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield MailServer(controller.hostname, controller.port, inbox)
    finally:
        controller.stop()


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """A real SMTP server on 127.0.0.1 for this test."""
    yield from running_mail_server()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (so sending mail there fails)."""
    return _free_port()
