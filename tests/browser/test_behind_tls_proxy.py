"""The admin behind a real TLS reverse proxy: Debian's nginx with a certificate made here, in
front of backoffice in production mode, driven by Chromium.

nginx reaches the app from 127.0.0.3 (``proxy_bind``), the only address in ``trusted_proxies``:
so the client address the app sees (127.0.0.1, the browser's) can only have come from the
proxy's ``X-Forwarded-For``, and the https scheme from its ``X-Forwarded-Proto``."""

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from backoffice import BackOffice, Settings
from backoffice.models.auth import LoginThrottle
from tests.browser.conftest import _prepare, _run_in_own_thread
from tests.conftest import DEFAULT_PASSWORD, POSTGRES_URL, TEST_SECRET_KEY, cheap_hashing
from tests.servers import ServerThread, free_port
from tests.smtp import MailServer

pytestmark = pytest.mark.browser

PROXY_ADDRESS = "127.0.0.3"
NGINX_CONF = """
{user}
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate {dir}/cert.pem;
    ssl_certificate_key {dir}/key.pem;
    location / {{
      proxy_pass http://127.0.0.1:{app_port};
      proxy_bind {proxy_address};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_redirect off;
    }}
  }}
}}
"""


def self_signed_certificate(folder: Path) -> None:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


@pytest.fixture
def nginx_in_front(tmp_path: Path, mail_server: MailServer) -> Iterator[str]:
    """backoffice (production settings) behind nginx on https://localhost:PORT."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx not found: install Debian's nginx package (.ci/run does)")
    folder = tmp_path / "nginx"
    folder.mkdir()
    self_signed_certificate(folder)
    app_port, port = free_port(), free_port()
    base_url = f"https://localhost:{port}"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="production",
        database_url=POSTGRES_URL or f"sqlite+aiosqlite:///{tmp_path / 'proxy.db'}",
        secret_key=TEST_SECRET_KEY,
        base_url=base_url,
        trusted_proxies=[PROXY_ADDRESS],
        second_factor_required=False,  # the policy has tests of its own (tests/factors)
        **cheap_hashing(),
        **mail_server.settings(),
    )
    _run_in_own_thread(_prepare(settings))
    server = ServerThread(BackOffice(settings).create_app(), port=app_port, timeout=20)
    server.start()
    user = "user root root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        NGINX_CONF.format(
            user=user, dir=folder, port=port, app_port=app_port, proxy_address=PROXY_ADDRESS
        )
    )
    process = subprocess.Popen(
        [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(base_url, process)
        yield base_url
    finally:
        process.terminate()
        process.wait(10)
        server.stop()


def _wait_for(base_url: str, process: "subprocess.Popen[bytes]") -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx stopped: {process.stderr.read() if process.stderr else ''}")
        try:
            httpx2.get(f"{base_url}/health", verify=False, timeout=2)
            return
        except httpx2.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("nginx did not answer")


def throttled_addresses(settings_url: str) -> set[str]:
    """The client addresses the login throttle has counted failures for."""
    found: set[str] = set()

    async def read() -> None:
        office = BackOffice(
            Settings(_env_file=None, database_url=settings_url, secret_key=TEST_SECRET_KEY)  # type: ignore[call-arg]
        )
        try:
            async with office.session() as session:
                keys = (await session.exec(select(LoginThrottle.key))).all()
                found.update(k.removeprefix("address:") for k in keys if k.startswith("address:"))
        finally:
            await office.dispose()

    _run_in_own_thread(read())
    return found


def test_the_admin_behind_a_tls_proxy(
    browser: Browser, nginx_in_front: str, mail_server: MailServer, tmp_path: Path
) -> None:
    base_url = nginx_in_front
    context = browser.new_context(base_url=base_url, ignore_https_errors=True)
    context.set_default_timeout(15_000)
    page: Page = context.new_page()
    requests: list[str] = []
    redirects: list[str] = []
    console: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "response",
        lambda response: redirects.append(response.headers.get("location", "")),
    )
    page.on("console", lambda message: console.append(message.text))

    page.goto("/admin/")
    expect(page).to_have_url(re.compile(rf"^{re.escape(base_url)}/admin/login"))

    # A failed sign-in is counted against the browser's address, named by the proxy.
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    expect(page.locator(".alert-danger, .invalid-feedback").first).to_be_visible()
    database = POSTGRES_URL or f"sqlite+aiosqlite:///{tmp_path / 'proxy.db'}"
    assert throttled_addresses(database) == {"127.0.0.1"}

    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base_url}/admin/")
    expect(page.locator("#signed-in-as")).to_have_text("root")
    session_cookies = [c for c in context.cookies() if c["name"] != "csrftoken"]
    assert session_cookies and all(c["secure"] for c in session_cookies), context.cookies()

    page.goto("/admin/user/list")
    expect(page.locator("table")).to_be_visible()
    context.clear_cookies()  # signed out

    # The reset link is built on BASE_URL (the proxy's https address), never the request's.
    page.goto("/admin/password-reset")
    page.fill("input[name=email]", "root@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("#reset-requested")).to_be_visible()
    mail = mail_server.wait_for_blocking("root@example.com")
    links = [link for link in mail.links() if "token=" in link]
    assert links and links[0].startswith(f"{base_url}/admin/password-reset/confirm?token=")
    page.goto(links[0])
    expect(page.locator("input[name=new_password]")).to_be_visible()

    insecure = [url for url in requests if url.startswith("http://")]
    assert not insecure, insecure
    assert requests and all(u.startswith(f"{base_url}/") for u in requests if "://" in u)
    assert not [r for r in redirects if r.startswith("http://")], redirects
    assert not [m for m in console if "Mixed Content" in m], console
    context.close()
