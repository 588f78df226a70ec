"""Browser journeys: Playwright (sync API) driving Debian's Chromium against a live server.

The live server is pytest-django's `live_server` (a thread of this process, so it uses the
test database; tests that use it get a transactional database). Every page is served with
the production Content-Security-Policy, and any console error, uncaught exception or CSP
violation fails the test.
"""

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
MISSING = "Chromium not installed: apt-get install -y chromium"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
# The policy production sends (config/settings.py); added here when the server sent none.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Pages that are not ours and not under the policy (the admin, the development mailbox).
NO_CSP_PREFIXES = ("/admin/", "/dev/")
WATCH_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  const what = e.blockedURI || "inline";
  window.__reportCsp(e.violatedDirective + " blocked " + what + " on " + location.pathname);
});
"""

# The sync Playwright API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are ordinary synchronous code (the server runs in its own thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Skip without Chromium, except in CI, where the browser journeys must run."""
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        if os.environ.get("CI") == "true":
            pytest.fail(MISSING, pytrace=False)
        pytest.skip(MISSING)
    return CHROMIUM


@pytest.fixture(autouse=True)
def _live_server_with_committed_data(chromium, live_server, transactional_db):
    """Every browser test runs against the live server with a transactional database, so the
    server thread sees what the test wrote (and a missing Chromium skips before any of it)."""


@pytest.fixture(scope="session")
def playwright(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@dataclass
class Problems:
    """What went wrong in the page: console errors, uncaught exceptions, CSP violations."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect console errors matching `pattern` (e.g. the browser's note of a 404)."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@dataclass
class Browser:
    """One fresh Chromium profile: a context, its first page and what went wrong in it."""

    context: object
    page: object
    base_url: str
    problems: Problems

    def url(self, path: str) -> str:
        return self.base_url + path


def _with_csp(base_url: str):
    """Serve our pages under the production policy even if this server sent none."""
    from playwright.sync_api import Error as PlaywrightError

    def handle(route) -> None:
        request = route.request
        path = request.url[len(base_url) :]
        try:
            if request.resource_type != "document" or path.startswith(NO_CSP_PREFIXES):
                route.fallback()
                return
            response = route.fetch(max_redirects=0)
            headers = dict(response.headers)
            if "content-security-policy" not in headers:
                headers["content-security-policy"] = CSP
            route.fulfill(response=response, headers=headers)
        except PlaywrightError:
            pass  # the page navigated away or closed meanwhile: nobody waits for this response

    return handle


def open_browser(playwright, base_url: str, profile: str, **options) -> Browser:
    problems = Problems()
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        base_url=base_url,
        **options,
    )
    context.set_default_timeout(15_000)
    context.expose_function("__reportCsp", lambda text: problems.errors.append(f"CSP violation: {text}"))
    context.add_init_script(WATCH_CSP)
    context.route(re.compile(re.escape(base_url) + r"/.*"), _with_csp(base_url))

    def watch(page) -> None:
        page.on("console", lambda msg: msg.type == "error" and problems.errors.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: problems.errors.append(f"uncaught: {exc}"))

    for page in context.pages:
        watch(page)
    context.on("page", watch)
    page = context.pages[0] if context.pages else context.new_page()
    return Browser(context=context, page=page, base_url=base_url, problems=problems)


@pytest.fixture
def browser_factory(playwright, live_server) -> Iterator:
    """Open as many fresh browsers (each its own temporary profile) as a test needs."""
    opened: list[tuple[Browser, str]] = []

    def make(**options) -> Browser:
        profile = tempfile.mkdtemp(prefix="lottery-e2e-")
        options.setdefault("viewport", DESKTOP)
        browser = open_browser(playwright, live_server.url, profile, **options)
        opened.append((browser, profile))
        return browser

    yield make
    failures = []
    for browser, profile in opened:
        failures += browser.problems.unexpected()
        browser.context.close()
        shutil.rmtree(profile, ignore_errors=True)
    assert not failures, "problems in the browser:\n" + "\n".join(failures)


@pytest.fixture
def desktop(browser_factory) -> Browser:
    return browser_factory(viewport=DESKTOP)


@pytest.fixture
def phone(browser_factory) -> Browser:
    return browser_factory(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
