"""A shopper's whole visit in a real browser, through the gateway: a misspelt search finds
the product, a variant is chosen, a voucher applied, the order paid by card with a chosen
shipping method, and the confirmed order shown. Signed up, and as a guest."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.browser.pages import (click, fill, guest_checkout_form, heading, wait,
                                 wait_for_text)
from tests.support import PASSWORD, eventually, make_product, unique_email

# Sizes of the test product, their prices in cents.
SIZES = {"S": 2500, "M": 2700, "L": 2900}
# How long an order may take from "placed" to "confirmed" on a busy machine.
CONFIRMATION_S = 90


@pytest.fixture
async def jacket(gateway: httpx.AsyncClient, admin: dict, category: dict) -> dict:
    """A product in three sizes, already findable by search."""
    sku = f"QR-{uuid.uuid4().hex[:10]}"
    name = f"Quillfeather Rainjacket {uuid.uuid4().hex[:6]}"
    response = await gateway.post(
        "/v1/admin/products", headers=admin | {"X-Consistency-Token": category["token"]},
        json={"sku": sku, "name": name, "category_id": category["id"],
              "description": "A light jacket that packs into its own pocket.",
              "price": {"amount": SIZES["S"], "currency": "EUR"},
              "specifications": {"Material": "Ripstop nylon", "Weight": "180 g"},
              "options": [{"name": "Size", "values": list(SIZES)}],
              "variants": [{"sku": f"{sku}-{size}", "options": {"Size": size},
                            "price": {"amount": price, "currency": "EUR"}, "stock": 20}
                           for size, price in SIZES.items()]})
    assert response.status_code == 201, response.text
    product = response.json()

    async def searchable() -> bool:
        found = await gateway.get("/v1/search", params={"q": name})
        return any(item["id"] == product["id"] for item in found.json()["items"])

    await eventually(searchable, timeout_s=60)
    return product | {"sizes": {v["options"]["Size"]: v["id"] for v in product["variants"]}}


@pytest.fixture
async def voucher(gateway: httpx.AsyncClient, admin: dict) -> str:
    """A code for 10 % off, made by the admin through the API."""
    code = f"RAIN{uuid.uuid4().hex[:6].upper()}"
    response = await gateway.post("/v1/admin/vouchers", headers=admin,
                                  json={"code": code, "kind": "percentage", "value": 10})
    assert response.status_code == 201, response.text
    return code


def find_through_a_misspelt_search(browser: webdriver.Chrome, product: dict) -> None:
    """Type the name with two typos into the search box; open the product from the results,
    through "Did you mean" if the results need it."""
    misspelt = product["name"].replace("Quillfeather", "Quilfeather").replace("Rainjacket",
                                                                              "Rainjaket")
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys(misspelt, Keys.ENTER)
    wait(browser, lambda d: heading(d).startswith("Results for"), "no search results")
    links = browser.find_elements(By.LINK_TEXT, product["name"])
    if not links:
        browser.find_element(By.CSS_SELECTOR, ".suggestion a").click()
        wait_for_text(browser, product["name"])
        links = browser.find_elements(By.LINK_TEXT, product["name"])
    links[0].click()
    wait(browser, lambda d: heading(d) == product["name"], "the product page never opened")


def pick_size_and_apply_voucher(browser: webdriver.Chrome, product: dict, code: str) -> None:
    assert "Ripstop nylon" in browser.find_element(By.CSS_SELECTOR, "table.specs").text
    browser.find_element(By.ID, f"variant-{product['sizes']['M']}").click()
    click(browser, "Add to cart")
    wait_for_text(browser, "Added to your cart.")
    assert "Size: M" in browser.find_element(By.CSS_SELECTOR, "table.lines").text
    fill(browser, "Voucher code", code)
    click(browser, "Apply voucher")
    wait_for_text(browser, f"Voucher {code} applied.")
    # 10 % off the medium size's 27.00 EUR, in the browser's locale (en-GB).
    assert browser.find_element(By.ID, "discount").text == "−€2.70"
    assert browser.find_element(By.ID, "total").text == "€24.30"


def check_out_by_card(browser: webdriver.Chrome, email: str | None) -> str:
    """Fill in the checkout with the most expensive shipping method; the chosen method's code."""
    click(browser, "Checkout")
    wait(browser, lambda d: heading(d) == "Checkout", "the checkout never opened")
    Select(browser.find_element(By.ID, "f-ship-country")).select_by_value("FR")
    wait(browser, lambda d: "(France)" in d.find_element(By.ID, "checkout-form").text,
         "the checkout never showed the address in France")
    if email is not None:
        fill(browser, "Email", email)
    fill(browser, "Full name", "Ada Lovelace")
    fill(browser, "Address", "1 Rue de la République")
    fill(browser, "City", "Lyon")
    fill(browser, "Postal code", "69001")
    methods = browser.find_elements(By.CSS_SELECTOR, "input[name=shipping_method]")
    assert len(methods) >= 2, "the EU zone offers more than one shipping method"
    methods[-1].click()
    browser.find_element(By.ID, "pay-card").click()
    Select(browser.find_element(By.ID, "f-token_card")).select_by_value("tok_visa")
    chosen = methods[-1].get_attribute("value")
    click(browser, "Place order")
    return chosen


def sees_the_confirmed_order(browser: webdriver.Chrome, product: dict, code: str) -> str:
    wait(browser, lambda d: re.search(r"/orders/[0-9a-f-]{36}$", d.current_url),
         "the order's page never opened")
    order_id = browser.current_url.rsplit("/", 1)[1]
    # The page looks again by itself until the payment is settled.
    wait(browser, lambda d: d.find_element(By.ID, "order-status").text == "confirmed",
         "the order page never showed the order confirmed", CONFIRMATION_S)
    page = browser.find_element(By.TAG_NAME, "main").text
    assert product["name"] in page and "Size: M" in page
    assert f"Discount ({code})" in page
    return order_id


async def test_a_shopper_signs_up_finds_a_misspelt_product_and_pays_by_card(
        shop: str, browser: webdriver.Chrome, jacket: dict, voucher: str,
        gateway: httpx.AsyncClient) -> None:
    email = unique_email("browser")
    browser.get(shop + "/signup")
    fill(browser, "Full name", "Ada Lovelace")
    fill(browser, "Email", email)
    fill(browser, "Password", PASSWORD)
    click(browser, "Create account")
    wait_for_text(browser, "Your account is ready")
    assert browser.find_element(By.ID, "f-email").get_attribute("value") == email
    fill(browser, "Password", PASSWORD)
    click(browser, "Sign in")
    wait_for_text(browser, "You are signed in.")

    find_through_a_misspelt_search(browser, jacket)
    pick_size_and_apply_voucher(browser, jacket, voucher)
    method = check_out_by_card(browser, email=None)
    order_id = sees_the_confirmed_order(browser, jacket, voucher)

    # The order is the shopper's, in their history, with the method chosen.
    click(browser, "Orders")
    wait_for_text(browser, order_id[:8])
    login = await gateway.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    order = (await gateway.get(f"/v1/orders/{order_id}", headers={
        "Authorization": f"Bearer {login.json()['access_token']}"})).json()
    assert order["status"] == "confirmed" and order["shipping_method"]["code"] == method
    assert order["voucher"]["code"] == voucher and order["discount"]["amount"] == 270


async def test_a_guest_finds_a_misspelt_product_and_pays_by_card(
        shop: str, browser: webdriver.Chrome, jacket: dict, voucher: str) -> None:
    browser.get(shop + "/")
    find_through_a_misspelt_search(browser, jacket)
    pick_size_and_apply_voucher(browser, jacket, voucher)
    check_out_by_card(browser, email=unique_email("guest"))
    order_id = sees_the_confirmed_order(browser, jacket, voucher)

    # The order's page stays this guest's: the tracking page and receipt open too.
    click(browser, "Tracking page")
    wait(browser, lambda d: heading(d) == f"Tracking order {order_id[:8]}",
         "the tracking page never opened")
    assert browser.find_element(By.ID, "tracking-status").text == "confirmed"
    browser.get(f"{shop}/orders/{order_id}")
    click(browser, "Receipt")
    wait(browser, lambda d: heading(d).startswith("Receipt "), "the receipt never opened")
    assert "paid by card ending 4242" in browser.find_element(By.TAG_NAME, "main").text


@pytest.mark.parametrize("method, token", [("bank_transfer", None), ("wallet", "wallet_ok"),
                                           ("cash_on_delivery", None)])
async def test_each_sandbox_payment_method_ends_in_a_confirmed_order_on_its_page(
        shop: str, browser: webdriver.Chrome, gateway: httpx.AsyncClient, admin: dict,
        category: dict, method: str, token: str | None) -> None:
    product = await make_product(gateway, admin, category, f"Enamel jug {uuid.uuid4().hex[:6]}",
                                 price=1900, stock=5)
    guest_checkout_form(browser, shop, product["id"])
    browser.find_element(By.ID, f"pay-{method}").click()
    if token:
        Select(browser.find_element(By.ID, f"f-token_{method}")).select_by_value(token)
    click(browser, "Place order")
    wait(browser, lambda d: re.search(r"/orders/[0-9a-f-]{36}$", d.current_url),
         "the order's page never opened")
    # A bank transfer waits for the sandbox bank: the page keeps looking by itself.
    wait(browser, lambda d: d.find_element(By.ID, "order-status").text == "confirmed",
         "the order page never showed the order confirmed", CONFIRMATION_S)
    assert method.replace("_", " ") in browser.find_element(By.TAG_NAME, "main").text
