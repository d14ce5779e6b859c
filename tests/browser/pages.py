"""What a browser test does on a page, as a shopper would: wait for text, follow links,
fill in and send forms by their labels."""

from __future__ import annotations

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

# Pages answer in well under this; the machine runs several stacks at once.
WAIT_S = 30


def wait_for_text(browser: webdriver.Chrome, text: str, timeout_s: float = WAIT_S) -> None:
    WebDriverWait(browser, timeout_s).until(
        lambda driver: text in driver.find_element(By.TAG_NAME, "body").text,
        message=f"the page never showed {text!r}")


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
    """Click the button or link that says `text`."""
    element = WebDriverWait(browser, WAIT_S).until(seen.element_to_be_clickable(
        (By.XPATH, f"//button[normalize-space()={_literal(text)}] | "
                   f"//a[normalize-space()={_literal(text)}] | "
                   f"//input[@type='submit' and @value={_literal(text)}]")))
    element.click()


def choose(browser: webdriver.Chrome, label: str) -> None:
    """Tick the radio button or checkbox labelled `label` (its text contains it)."""
    found = browser.find_element(By.XPATH, f"//label[contains(normalize-space(), {_literal(label)})]")
    browser.find_element(By.ID, found.get_attribute("for")).click()


def _literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    return "concat('" + "', \"'\", '".join(text.split("'")) + "')"
