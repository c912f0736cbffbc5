"""Where the files shipped beside the code live: templates, static files, migrations.

A wheel carries them inside the package (``backoffice/_bundled/…``, see pyproject's
force-include); a source checkout has them at the top of the repository. Never the current
directory: the CLI and the app must work from anywhere.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder ``name`` (``templates``, ``static`` or ``migrations``)."""
    for candidate in (PACKAGE_DIR / "_bundled" / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"backoffice cannot find its {name!r} folder; the installation is incomplete"
    )
