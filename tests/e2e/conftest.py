"""A real browser for the end-to-end tests: Debian's Chromium driven by Playwright."""

import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "var" / "screenshots"


class _StrictPolicyBrowser:
    """The launched browser, whose pages keep Govern's Content-Security-Policy (no `bypass_csp`).

    Playwright's `wait_for_function` builds its predicate with `eval` inside the page, which a policy without
    'unsafe-eval' rightly refuses; here it polls with `page.evaluate` instead (run by the DevTools protocol, outside
    the page's policy), so the pages under test run exactly as a user's browser runs them.
    """

    def __init__(self, launched):
        self._launched = launched

    def new_page(self, **options):
        page = self._launched.new_page(**options)

        def wait_for_function(expression, *, timeout=30_000, polling=50):
            deadline = time.monotonic() + timeout / 1000
            while not page.evaluate(expression):
                if time.monotonic() > deadline:
                    raise AssertionError(f"Timed out after {timeout} ms waiting for {expression}")
                time.sleep(polling / 1000)

        page.wait_for_function = wait_for_function
        return page

    def __getattr__(self, name):
        return getattr(self._launched, name)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "make test installs Debian's chromium; run `make browser`"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"],
        )  # fmt: skip
        yield _StrictPolicyBrowser(launched)
        launched.close()


@pytest.fixture
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def second_factor_code(username) -> str | None:
    """For a role that signs in with a second factor, the code its authenticator shows now; else None.

    The user gets a confirmed authenticator if they have none (as seed_demo's accounts do), and its last-used step
    is forgotten, so a test may sign the same person in twice within one 30-second step.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from apps.accounts.models import User
    from apps.accounts.services import two_factor

    user = User.objects.filter(username=username).first()
    if user is None or not user.needs_second_factor:
        return None
    device = two_factor.confirmed_device(user) or TOTPDevice.objects.create(
        user=user, name=two_factor.DEVICE_NAME, confirmed=True
    )
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, throttling_failure_count=0)
    return two_factor.current_code(device)


def sign_in(page, base_url, username, password):
    """Sign in through the login page, and enter the two-factor code when the role needs one."""
    code = second_factor_code(username)
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    if code is not None:
        page.wait_for_url("**/accounts/login/two-factor/**")
        page.fill("#id_otp_token", code)
        page.click("#verify-code")
    page.wait_for_url(f"{base_url}/")


class CountedPage:
    """A page whose user's actions are counted as docs/journeys.md counts them: clicks (buttons, links, radios, ticks
    and choosing a file), choices from a drop-down list, and fields typed. Everything else reaches the page itself.

    A journey's test asserts its counts, so the table in docs/journeys.md is held to what the test does."""

    def __init__(self, page):
        self.page = page
        self.clicks = self.lists = self.typed = 0

    @property
    def counts(self) -> dict:
        return {"clicks": self.clicks, "lists": self.lists, "typed": self.typed}

    def click(self, selector, **options):
        self.clicks += 1
        return self.page.click(selector, **options)

    def check(self, selector, **options):
        self.clicks += 1
        return self.page.check(selector, **options)

    def set_input_files(self, selector, files, **options):
        self.clicks += 1
        return self.page.set_input_files(selector, files, **options)

    def select_option(self, selector, value, **options):
        self.lists += 1
        return self.page.select_option(selector, value, **options)

    def fill(self, selector, value, **options):
        self.typed += 1
        return self.page.fill(selector, value, **options)

    def follow(self, selector):
        """Click a link or button and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.click(selector)

    def __getattr__(self, name):
        return getattr(self.page, name)
