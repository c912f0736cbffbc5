"""Mail: messages rendered from templates under ``templates/email/``, sent by a backend.

Sending is slow and can fail; the doors run it as a background task (``deliver``), so a request
never waits for an SMTP server and never fails because of one.
"""

import asyncio
import logging
import smtplib
import ssl
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any, Protocol

import anyio
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from backoffice.config import Settings
from backoffice.resources import resource_dir

if TYPE_CHECKING:
    from backoffice.models import User

logger = logging.getLogger("backoffice.mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None


class MailBackend(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class ConsoleBackend:
    """Prints each message as a person reads it (headers, then the decoded plain text, so a
    link is whole on its line): for development, where no mail server exists."""

    async def send(self, message: EmailMessage) -> None:
        sys.stdout.write(readable(message))
        sys.stdout.flush()


def readable(message: EmailMessage) -> str:
    """The message's main headers and its plain-text body, decoded (not quoted-printable)."""
    headers = "".join(
        f"{name}: {message[name]}\n" for name in ("From", "To", "Subject", "Date") if message[name]
    )
    part = message.get_body(preferencelist=("plain", "html"))
    body = part.get_content() if isinstance(part, EmailMessage) else ""
    return f"{headers}\n{body.rstrip()}\n{'-' * 72}\n"


class SMTPBackend:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        await anyio.to_thread.run_sync(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.smtp_ssl:
            smtp = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds, context=context
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
        with smtp:
            if not s.smtp_ssl and s.smtp_starttls:
                smtp.starttls(context=context)
            if s.smtp_username and s.smtp_password:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(message)


class Mailer:
    """Renders ``<name>.txt`` (and ``<name>.html`` when present) and hands them to a backend."""

    def __init__(self, settings: Settings, backend: MailBackend | None = None) -> None:
        self.settings = settings
        self.backend = backend or (
            SMTPBackend(settings) if settings.mail_backend == "smtp" else ConsoleBackend()
        )
        self._templates = Environment(
            loader=FileSystemLoader(resource_dir("templates") / "email"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
        )
        self._pending: set[asyncio.Task[bool]] = set()

    def render(self, name: str, to: str, subject: str, **context: Any) -> Mail:
        context = {"project_name": self.settings.project_name, **context}
        text = self._templates.get_template(f"{name}.txt").render(context)
        html = None
        if f"{name}.html" in self._templates.list_templates():
            html = self._templates.get_template(f"{name}.html").render(context)
        return Mail(to=to, subject=subject, text=text, html=html)

    def welcome(self, user: "User") -> Mail:
        return self.render(
            "welcome",
            to=user.email,
            subject=f"Welcome to {self.settings.project_name}",
            username=user.username,
            email=user.email,
        )

    def password_reset(self, user: "User", reset_url: str, *, valid_minutes: int) -> Mail:
        return self.render(
            "password_reset",
            to=user.email,
            subject=f"Reset your {self.settings.project_name} password",
            username=user.username,
            reset_url=reset_url,
            valid_minutes=valid_minutes,
        )

    def email_changed(self, user: "User", old_email: str) -> Mail:
        """To the address an account had: its email was changed (by its owner or an admin).
        Neither the new address nor any secret is in it: the old mailbox may be the one at risk.
        """
        return self.render(
            "email_changed",
            to=old_email,
            subject=f"The email address of your {self.settings.project_name} account was changed",
            username=user.username,
            old_email=old_email,
        )

    def build(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(domain="backoffice")
        message.set_content(mail.text)
        if mail.html is not None:
            message.add_alternative(mail.html, subtype="html")
        return message

    def deliver_soon(self, mail: Mail) -> None:
        """``deliver`` in a task of its own, for a door that cannot attach a background task to
        its response (the admin's edit form, whose response SQLAdmin builds)."""
        task = asyncio.get_running_loop().create_task(self.deliver(mail))
        self._pending.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._pending.discard)

    async def deliver(self, mail: Mail) -> bool:
        """Send, and log (never raise) a failure: this runs after the response is gone."""
        try:
            await self.backend.send(self.build(mail))
        except Exception as exc:  # a background task has nobody to report to but the log
            # The message itself is not logged: it may carry a password reset link.
            logger.error("could not send %r to %s: %s", mail.subject, mail.to, exc)
            return False
        return True
