"""backoffice: a Django-style, pluggable admin and back-office for FastAPI."""

__version__ = "0.1.0"

from backoffice.config import Settings  # noqa: E402
from backoffice.office import BackOffice  # noqa: E402

__all__ = ["BackOffice", "Settings", "__version__"]
