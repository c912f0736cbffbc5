"""backoffice: a Django-style, pluggable admin and back-office for FastAPI."""

__version__ = "0.1.0"

from backoffice.config import Settings
from backoffice.office import BackOffice

__all__ = ["BackOffice", "Settings", "__version__"]
