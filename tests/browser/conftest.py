"""The browser tests' fixtures: headless Chromium (Debian's, through its WebDriver) at the
gateway's URL, and a screenshot of the page for every test that fails.

A test starts as a new visitor (no cookies). The screenshot of a failed test is saved
to `<stack>/screenshots/<test>.png`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from infra.settings import Settings
from ops.stack import installers

# What a shopper's browser window is like in these tests (a laptop), unless a test resizes it.
WINDOW = (1280, 900)


def _program(name: str) -> str:
    found = installers.find_executable(name)
    assert found, (f"{name} is missing: `shopstream stack up web` installs Debian's chromium "
                   "and chromium-driver")
    return found


def new_browser(language: str = "en-GB") -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = _program("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                     f"--lang={language}", "--disable-extensions"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    driver = webdriver.Chrome(service=Service(_program("chromedriver")), options=options)
    # Pages answer in well under this, but the machine runs several stacks at once.
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    driver = new_browser()
    yield driver
    driver.quit()


@pytest.fixture
def shop(settings: Settings, browser: webdriver.Chrome) -> str:
    """The storefront's URL through the gateway; the browser starts the test signed out,
    with an empty guest cart, at a laptop's width."""
    browser.get(settings.public_url + "/healthz")
    browser.delete_all_cookies()
    browser.set_window_size(*WINDOW)
    return settings.public_url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        driver = item.funcargs.get("browser")
        settings = item.funcargs.get("settings")
        if driver is not None and settings is not None:
            folder = settings.stack_dir / "screenshots"
            folder.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)
            try:
                driver.save_screenshot(str(folder / f"{name}.png"))
            except Exception as error:  # a dead browser: the failure itself says enough
                report.sections.append(("screenshot", f"not saved: {error}"))
