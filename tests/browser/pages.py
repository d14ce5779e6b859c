"""What a browser test does on a page, as a shopper would: wait for text, follow links,
fill in and send forms by their labels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.support import unique_email

# Pages answer in well under this; the machine runs several stacks at once.
WAIT_S = 30


def wait(browser: webdriver.Chrome, condition: Callable[[webdriver.Chrome], Any],
         message: str, timeout_s: float = WAIT_S) -> Any:
    """Until `condition(browser)` is true; a page replaced meanwhile (by a form's submit, a
    reload) is looked at again."""
    def looked_at(driver: webdriver.Chrome) -> Any:
        try:
            return condition(driver)
        except WebDriverException as error:
            # Chromium's other word for a stale element: the node was read as its page
            # was being replaced.
            if "does not belong to the document" in (error.msg or ""):
                return False
            raise

    return WebDriverWait(browser, timeout_s, poll_frequency=0.25,
                         ignored_exceptions=(StaleElementReferenceException,)).until(
        looked_at, message=message)


def wait_for_text(browser: webdriver.Chrome, text: str, timeout_s: float = WAIT_S) -> None:
    wait(browser, lambda driver: text in driver.find_element(By.TAG_NAME, "body").text,
         f"the page never showed {text!r}", timeout_s)


def heading(browser: webdriver.Chrome) -> str:
    return browser.find_element(By.TAG_NAME, "h1").text


def field(browser: webdriver.Chrome, label: str) -> WebElement:
    """The form control labelled `label` (a <label for=...>)."""
    found = browser.find_element(By.XPATH, f"//label[normalize-space()={_literal(label)}]")
    return browser.find_element(By.ID, found.get_attribute("for"))


def fill(browser: webdriver.Chrome, label: str, value: str) -> None:
    control = field(browser, label)
    control.clear()
    control.send_keys(value)


def click(browser: webdriver.Chrome, text: str) -> None:
    """Click the button that says `text`, or else the link (a form's "Sign in" before the
    header's)."""
    button = (f"//button[normalize-space()={_literal(text)}] | "
              f"//input[@type='submit' and @value={_literal(text)}]")
    link = f"//a[normalize-space()={_literal(text)}]"
    element = wait(
        browser,
        lambda driver: next((e for e in driver.find_elements(By.XPATH, button)
                             if e.is_displayed() and e.is_enabled()), None)
        or next((e for e in driver.find_elements(By.XPATH, link) if e.is_displayed()), None),
        f"no button or link says {text!r}")
    element.click()


def choose(browser: webdriver.Chrome, label: str) -> None:
    """Tick the radio button or checkbox labelled `label` (its text contains it)."""
    found = browser.find_element(By.XPATH, f"//label[contains(normalize-space(), {_literal(label)})]")
    browser.find_element(By.ID, found.get_attribute("for")).click()


def _literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    return "concat('" + "', \"'\", '".join(text.split("'")) + "')"


def guest_checkout_form(browser: webdriver.Chrome, shop: str, product_id: str,
                        postal_code: str = "69001") -> None:
    """A guest puts one unit of the product in the cart and fills in the checkout form with
    a French address, up to the payment method."""
    browser.get(f"{shop}/p/{product_id}")
    click(browser, "Add to cart")
    wait_for_text(browser, "Added to your cart.")
    browser.get(f"{shop}/checkout?country=FR")
    fill(browser, "Email", unique_email("guest"))
    fill(browser, "Full name", "Ada Lovelace")
    fill(browser, "Address", "1 Rue de la République")
    fill(browser, "City", "Lyon")
    fill(browser, "Postal code", postal_code)
