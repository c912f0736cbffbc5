"""The admin door (SQLAdmin)."""

from typing import TYPE_CHECKING

from fastapi import FastAPI

if TYPE_CHECKING:
    from backoffice.office import BackOffice


def setup_admin(office: "BackOffice", app: FastAPI) -> None:
    pass
