"""The admin's main pages at a desktop (1366x900) and a phone (390x844) size, compared with the
committed reference images in ``screenshots/`` (see ``screenshots.py``): a layout regression
fails. Fixed data, the dates masked, one font (DejaVu Sans, which Debian's fontconfig brings
with Chromium), no animation.

Pages change on purpose too: then record new references with
``BACKOFFICE_UPDATE_SCREENSHOTS=1 pytest tests/browser/test_screenshots.py``, look at them
and commit them."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from backoffice import BackOffice
from backoffice.models import GroupCreate, PostCreate, UserAdminCreate, UserUpdate
from backoffice.services import Caller
from tests.browser.conftest import _prepare, _run_in_own_thread, live_settings
from tests.browser.screenshots import compare
from tests.conftest import DEFAULT_PASSWORD
from tests.servers import ServerThread

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
PAGES = {
    "dashboard": "/admin/",
    "list": "/admin/user/list",
    "form": "/admin/user/edit/4",
    "details": "/admin/user/details/4",
    "history": "/admin/user/history/4",
    "trash": "/admin/user/trash",
}
STEADY = """
*:not(.fa):not([class*="fa-"]) { font-family: "DejaVu Sans", sans-serif !important; }
*, *::before, *::after { transition: none !important; animation: none !important;
  caret-color: transparent !important; }
"""
"""One font whatever the machine's default (icons, drawn by ::before, keep theirs); nothing
moving."""
MASKED = "time, .bo-time"
"""What depends on the clock: covered by a box in the images."""


async def _fill(office: BackOffice) -> None:
    system = Caller.operator("system")
    async with office.session() as session:
        users = office.users(session, system)
        ada = await users.create(
            UserAdminCreate(
                email="ada@example.com",
                username="ada",
                full_name="Ada Lovelace",
                password=DEFAULT_PASSWORD,
                is_staff=True,
            )
        )
        assert ada.id == 4, "the pages name user 4: the browser world makes three first"
        await users.update(ada.id, UserUpdate(full_name="Ada King"))
        for name in ("grace", "alan", "edsger", "linus"):
            await users.create(
                UserAdminCreate(
                    email=f"{name}@example.com", username=name, password=DEFAULT_PASSWORD
                )
            )
        linus = await users.find_by_login("linus")
        assert linus is not None and linus.id is not None
        await users.delete(linus.id)  # to the trash: the Trash page lists him
        await office.groups(session, system).create_group(
            GroupCreate(name="Editors", permissions=["posts.view", "posts.change"])
        )
        posts = office.posts(session, system)
        for title in ("Hello, world", "Release notes"):
            await posts.create(PostCreate(title=title, body="…"), author_id=ada.id)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port, settings = live_settings(tmp_path_factory.mktemp("shots"), "screenshots")

    async def prepare() -> None:
        await _prepare(settings)
        office = BackOffice(settings)
        try:
            await _fill(office)
        finally:
            await office.dispose()

    _run_in_own_thread(prepare())
    server = ServerThread(BackOffice(settings).create_app(), port=port, timeout=20)
    server.start()
    yield settings.base_url
    server.stop()


@pytest.fixture(scope="module")
def signed_in(browser: Browser, world: str) -> Iterator[Browser]:
    context = browser.new_context(base_url=world)
    page = context.new_page()
    page.goto("/admin/login")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")
    context.storage_state(path=str(_state_file(world)))
    context.close()
    yield browser


def _state_file(world: str) -> Path:
    return Path(__file__).resolve().parent / "screenshots" / ".session.json"


def shoot(page: Page, path: str) -> bytes:
    page.goto(path)
    page.add_style_tag(content=STEADY)
    page.evaluate("document.fonts.ready")
    page.wait_for_load_state("networkidle")
    return page.screenshot(
        full_page=True, animations="disabled", mask=[page.locator(MASKED)], mask_color="#888"
    )


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", PAGES)
def test_page_matches_its_reference_image(
    signed_in: Browser, world: str, name: str, size: str
) -> None:
    width, height = SIZES[size]
    context = signed_in.new_context(
        base_url=world,
        viewport={"width": width, "height": height},
        storage_state=str(_state_file(world)),
        timezone_id="UTC",
        locale="en-GB",
        reduced_motion="reduce",
    )
    try:
        png = shoot(context.new_page(), PAGES[name])
    finally:
        context.close()
    comparison = compare(f"{name}-{size}", png)
    assert comparison is None or comparison.matches, comparison.explain()
