"""The storefront in a real browser, through the gateway, as a shopper uses it."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import new_browser
from tests.browser.pages import click, field, guest_checkout_form, heading, wait, wait_for_text
from tests.outages import stopped
from tests.support import make_product, unique_email


async def test_the_home_page_shows_the_categories(shop: str, browser: webdriver.Chrome,
                                                  category: dict) -> None:
    browser.get(shop + "/")
    wait_for_text(browser, "Categories")
    links = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "nav.categories a")]
    assert category["name"] in links
    assert heading(browser) == "New in"


async def test_pages_allow_scripts_only_from_the_shop_and_api_paths_stay_problems(
        shop: str) -> None:
    async with httpx.AsyncClient(base_url=shop, timeout=30) as http:
        page = await http.get("/")
        missing = await http.get("/v1/no-such-resource")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_prices_are_written_the_way_the_shopper_s_language_writes_them(
        settings, gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    product = await make_product(gateway, admin, category, f"Brass lamp {uuid.uuid4().hex[:6]}",
                                 price=123450, stock=3)
    with new_browser("de-DE") as german:
        german.get(f"{settings.public_url}/p/{product['id']}")
        wait(german, lambda d: heading(d) == product["name"], "the product page never opened")
        # WebDriver gives the no-break space babel writes there as a plain one.
        assert german.find_element(By.ID, "price").text == "1.234,50 €"
        assert german.find_element(By.TAG_NAME, "html").get_attribute("lang") == "de"
    # The same product for an English reader.
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(f"{settings.public_url}/p/{product['id']}",
                              headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "€1,234.50" in page.text


async def test_an_address_the_api_refuses_is_shown_beside_its_field_with_the_form_kept(
        shop: str, browser: webdriver.Chrome, gateway: httpx.AsyncClient, admin: dict,
        category: dict) -> None:
    product = await make_product(gateway, admin, category, f"Tin mug {uuid.uuid4().hex[:6]}",
                                 price=900, stock=5)
    guest_checkout_form(browser, shop, product["id"],
                        postal_code="6" * 40)  # longer than any postal code
    click(browser, "Place order")
    wait_for_text(browser, "Please check the fields marked below.")
    error = browser.find_element(By.ID, "e-postal_code")
    assert error.text  # the API's own words, beside the field
    assert field(browser, "Postal code").get_attribute("aria-invalid") == "true"
    assert field(browser, "Postal code").get_attribute("aria-describedby") == "e-postal_code"
    # What the shopper typed is still there.
    assert field(browser, "City").get_attribute("value") == "Lyon"
    assert heading(browser) == "Checkout"


async def test_on_a_phone_the_cart_fits_the_screen_and_checkout_is_reached_by_keyboard(
        shop: str, browser: webdriver.Chrome, gateway: httpx.AsyncClient, admin: dict,
        category: dict) -> None:
    product = await make_product(gateway, admin, category, f"Wool socks {uuid.uuid4().hex[:6]}",
                                 price=1500, stock=5)
    browser.set_window_size(375, 812)
    browser.get(f"{shop}/p/{product['id']}")
    click(browser, "Add to cart")
    wait_for_text(browser, "Added to your cart.")
    width = browser.execute_script("return document.documentElement.clientWidth")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width, \
        "the cart is wider than the phone's screen"
    # From the top of the page, Tab moves through the links and controls to Checkout.
    browser.find_element(By.TAG_NAME, "body").click()
    reached = None
    for _ in range(40):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        active = browser.switch_to.active_element
        if active.text == "Checkout":
            reached = active
            break
    assert reached is not None, "Tab never reached the Checkout button"
    # Focus is visible on it: the stylesheet's outline.
    assert browser.execute_script(
        "return getComputedStyle(document.activeElement).outlineStyle") != "none"
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait(browser, lambda d: heading(d) == "Checkout", "Enter on Checkout did not open it")


async def test_a_shopper_signs_in_through_the_local_identity_provider(
        shop: str, browser: webdriver.Chrome) -> None:
    email = unique_email("social")
    browser.get(f"{shop}/login")
    click(browser, "Sign in with the local identity provider")
    # The provider's own sign-in form: who signs in, and the claims it vouches for.
    username = wait(browser, lambda d: d.find_element(By.NAME, "username"),
                    "the identity provider's form never opened")
    username.send_keys(f"sub-{uuid.uuid4()}")
    claims = browser.find_element(By.NAME, "claims")
    claims.clear()
    claims.send_keys(json.dumps({"email": email, "email_verified": True, "name": "Sol Social"}))
    claims.submit()
    wait_for_text(browser, "You are signed in.")
    assert browser.current_url.rstrip("/") == shop
    click(browser, "Orders")
    wait(browser, lambda d: heading(d) == "Your orders", "the signed-in orders page never opened")


@pytest.mark.destructive
async def test_with_the_api_down_a_page_says_to_try_again_shortly(
        shop: str, browser: webdriver.Chrome, stack) -> None:
    async with stopped(stack, "api-1"), stopped(stack, "api-2"):
        browser.get(shop + "/")
        wait(browser, lambda d: heading(d) == "Try again shortly", "no try-again page")
        async with httpx.AsyncClient(timeout=30) as http:
            page = await http.get(shop + "/")
    assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0
    assert "Traceback" not in page.text
    browser.get(shop + "/")
    wait(browser, lambda d: heading(d) == "New in", "the shop did not come back")
