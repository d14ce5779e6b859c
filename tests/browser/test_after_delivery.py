"""After the order: the shopper's tracking page shows each step with the carrier and
tracking number the shop gave, and a delivered order's lines are returned from its page."""

from __future__ import annotations

import httpx
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser.pages import click, fill, heading, wait, wait_for_text
from tests.e2e.test_returns import DELIVERY, bought, deliver
from tests.support import PASSWORD, eventually


async def test_the_shopper_tracks_a_delivered_order_and_asks_to_return_a_line(
        shop: str, browser: webdriver.Chrome, gateway: httpx.AsyncClient, admin: dict,
        category: dict) -> None:
    email, me, order, shirt, _ = await bought(gateway, admin, category, "Tracked")
    await deliver(gateway, admin, order["id"])

    async def delivered() -> bool:
        answer = await gateway.get(f"/v1/orders/{order['id']}/tracking", headers=me)
        return answer.json()["status"] == "delivered"

    await eventually(delivered)
    browser.get(f"{shop}/login?next=/orders/{order['id']}/tracking")
    fill(browser, "Email", email)
    fill(browser, "Password", PASSWORD)
    click(browser, "Sign in")
    wait(browser, lambda d: heading(d) == f"Tracking order {order['id'][:8]}",
         "the tracking page never opened after signing in")
    shipped = DELIVERY[1]
    assert browser.find_element(By.ID, "tracking-status").text == "delivered"
    assert browser.find_element(By.ID, "carrier").text == shipped["carrier"]
    assert browser.find_element(By.ID, "tracking-number").text == shipped["tracking_number"]
    steps = [li.text.split(" · ")[0] for li in browser.find_elements(By.CSS_SELECTOR,
                                                                    ".timeline li")]
    assert steps == ["packed", "shipped", "delivered"]

    click(browser, "Back to the order")
    wait(browser, lambda d: heading(d) == f"Order {order['id'][:8]}", "the order never opened")
    shirt_id = shirt["sizes"]["M"]
    fill(browser, f"How many of {shirt['name']} (M) to return", "1")
    fill(browser, "Reason", "Too small")
    click(browser, "Request a return")
    wait_for_text(browser, "Your return is requested.")
    returns = browser.find_element(By.XPATH, "//section[h2='Returns']").text
    assert shirt["name"] in returns and "requested" in returns
    # What the page shows is what the API holds.
    answer = await gateway.get(f"/v1/orders/{order['id']}/returns", headers=me)
    (made,) = answer.json()["items"]
    assert [(line["item_id"], line["quantity"]) for line in made["lines"]] == [(shirt_id, 1)]
