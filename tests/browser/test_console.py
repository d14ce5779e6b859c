"""The operator console in a real browser, through the gateway, as an admin uses it: an
order's timeline and its shipping, which the shopper then sees; a replay followed to its
end on the page; a customer who signs in sees no data."""

from __future__ import annotations

import uuid

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from infra.settings import Settings
from tests.browser.conftest import WINDOW
from tests.browser.pages import WAIT_S, click, field, fill, heading, wait_for_text
from tests.e2e.test_console_api import confirmed_order
from tests.support import PASSWORD, shopper, unique_email


@pytest.fixture
def console(settings: Settings, browser: webdriver.Chrome) -> str:
    """The gateway's URL; the browser starts the test signed out, at a laptop's width."""
    browser.get(settings.public_url + "/healthz")
    browser.delete_all_cookies()
    browser.set_window_size(*WINDOW)
    return settings.public_url


def sign_in(browser: webdriver.Chrome, base: str, email: str, then: str = "/console/") -> None:
    browser.get(base + then)
    wait_for_text(browser, "Sign in to the console")
    fill(browser, "Email", email)
    fill(browser, "Password", PASSWORD)
    click(browser, "Sign in")
    WebDriverWait(browser, WAIT_S).until(lambda driver: "/console/login" not in driver.current_url)


def record_step(browser: webdriver.Chrome, step: str, **fields: str) -> None:
    Select(field(browser, "Next step")).select_by_value(step)
    for label, value in fields.items():
        fill(browser, label, value)
    click(browser, "Record step")
    wait_for_text(browser, f"Recorded: {step.replace('_', ' ')}.")


async def test_an_admin_ships_an_order_from_its_timeline_and_the_shopper_sees_it(
        console: str, browser: webdriver.Chrome, gateway: httpx.AsyncClient, admin: dict,
        admin_email: str, category: dict) -> None:
    email, me, order = await confirmed_order(gateway, admin, category, 4_200)
    sign_in(browser, console, admin_email)
    fill(browser, "Order id starts with", order["id"][:8])
    click(browser, "Filter")
    click(browser, order["id"][:8])
    wait_for_text(browser, "Timeline")
    assert order["id"] in heading(browser)

    trail = (await gateway.get(f"/v1/audit/orders/{order['id']}", headers=admin)).json()
    rows = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in
            browser.find_elements(By.CSS_SELECTOR, "table.timeline-table tbody tr")]
    shown = [(r[0], r[2], int(r[3]), int(r[4])) for r in rows]
    assert shown[:len(trail["events"])] == [
        (e["type"], e["topic"], e["partition"], e["offset"]) for e in trail["events"]]
    assert ("OrderPlaced", "shopstream.orders.events") in [(s[0], s[1]) for s in shown]

    record_step(browser, "packed")
    record_step(browser, "shipped", **{"Carrier": "DHL", "Tracking number": "JJD0099887766"})
    assert browser.find_element(By.ID, "order-status").text == "shipped"
    wait_for_text(browser, "FulfilmentRecorded")

    # The shopper signs in to the shop and opens the order's tracking page.
    browser.delete_all_cookies()
    browser.get(console + "/login")
    fill(browser, "Email", email)
    fill(browser, "Password", PASSWORD)
    click(browser, "Sign in")
    wait_for_text(browser, "You are signed in.")
    browser.get(console + f"/orders/{order['id']}/tracking")
    wait_for_text(browser, f"Tracking order {order['id'][:8]}")
    assert browser.find_element(By.ID, "tracking-status").text == "shipped"
    assert browser.find_element(By.ID, "carrier").text == "DHL"
    assert browser.find_element(By.ID, "tracking-number").text == "JJD0099887766"
    steps = browser.find_elements(By.CSS_SELECTOR, "ol.timeline li")
    assert [step.text.split(" · ")[0] for step in steps] == ["packed", "shipped"]


async def test_an_admin_starts_a_replay_and_watches_it_to_the_end(
        console: str, browser: webdriver.Chrome, admin_email: str) -> None:
    sign_in(browser, console, admin_email, then="/console/projections")
    wait_for_text(browser, "Projections")
    browser.find_element(By.CSS_SELECTOR, "#projection-audit button").click()
    WebDriverWait(browser, WAIT_S).until(lambda driver: "/console/replays/" in driver.current_url)
    state = browser.find_element(By.CSS_SELECTOR, '[data-field="state"]')
    # A small model's replay can be over before its page is first drawn.
    assert state.text in ("requested", "running", "done")
    browser.execute_script("window.sameReplayPage = true;")

    WebDriverWait(browser, 300).until(lambda driver: state.text in ("done", "failed"),
                                      message="the replay never ended on the page")
    assert state.text == "done"
    # The page followed the replay by itself, without being reloaded.
    assert browser.execute_script("return window.sameReplayPage === true;")
    bar = browser.find_element(By.CSS_SELECTOR, '[data-field="bar"]')
    assert int(bar.get_attribute("value")) == int(bar.get_attribute("max")) > 0
    done = browser.find_element(By.CSS_SELECTOR, '[data-field="done"]').text
    assert done == browser.find_element(By.CSS_SELECTOR, '[data-field="total"]').text

    browser.get(console + "/console/projections")
    assert browser.find_element(By.CSS_SELECTOR, "#projection-audit a").text == "done"


async def test_a_customer_who_signs_in_sees_that_they_are_not_an_admin(
        console: str, browser: webdriver.Chrome, gateway: httpx.AsyncClient) -> None:
    email, _ = await shopper(gateway, "notadmin")
    sign_in(browser, console, email)
    wait_for_text(browser, "Not an admin")
    assert browser.find_elements(By.CSS_SELECTOR, "table") == []
    browser.get(console + "/console/projections")
    wait_for_text(browser, "Not an admin")
    assert "audit" not in browser.find_element(By.TAG_NAME, "main").text


async def test_a_wrong_password_stays_on_the_sign_in_page_with_the_reason(
        console: str, browser: webdriver.Chrome) -> None:
    browser.get(console + "/console/login")
    fill(browser, "Email", unique_email("nobody"))
    fill(browser, "Password", "not the password at all")
    click(browser, "Sign in")
    wait_for_text(browser, "Sign in to the console")
    assert browser.find_elements(By.CSS_SELECTOR, ".field-error")


CONSOLE_PAGES = {"/console/": "Orders", "/console/returns": "Returns",
                 "/console/projections": "Projections", "/console/vouchers": "Vouchers",
                 "/console/shipping-zones": "Shipping zones", "/console/webhooks": "Webhooks",
                 "/console/readiness": "Readiness"}


async def test_every_console_page_opens_by_its_link_and_fits_a_phone(
        console: str, browser: webdriver.Chrome, admin_email: str) -> None:
    sign_in(browser, console, admin_email)
    browser.set_window_size(375, 800)
    for path, title in CONSOLE_PAGES.items():
        browser.find_element(By.CSS_SELECTOR, f'nav.console-nav a[href="{path}"]').click()
        WebDriverWait(browser, WAIT_S).until(lambda driver: heading(driver) == title)
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;"), path
    wait_for_text(browser, "kafka")
    states = {row.find_elements(By.TAG_NAME, "td")[0].text:
              row.find_elements(By.TAG_NAME, "td")[1].text
              for row in browser.find_elements(By.CSS_SELECTOR, "table.lines")[0]
              .find_elements(By.CSS_SELECTOR, "tbody tr")}
    assert set(states) == {"kafka", "mysql", "mongodb", "redis", "elasticsearch"}
    assert set(states.values()) == {"ok"}


async def test_an_admin_creates_a_voucher_and_a_bad_one_is_refused_beside_its_field(
        console: str, browser: webdriver.Chrome, admin_email: str) -> None:
    code = f"CONSOLE{uuid.uuid4().hex[:8].upper()}"
    sign_in(browser, console, admin_email, then="/console/vouchers")
    fill(browser, "Code", code)
    Select(field(browser, "Kind")).select_by_value("fixed")
    fill(browser, "Value (percent, or €)", "5.50")
    fill(browser, "Minimum subtotal (€)", "30")
    click(browser, "Create voucher")
    wait_for_text(browser, f"Voucher {code} created.")
    row = browser.find_element(By.XPATH, f"//tr[td/code[text()='{code}']]")
    assert "5.50" in row.text and "30.00" in row.text

    fill(browser, "Code", code)
    fill(browser, "Value (percent, or €)", "5")
    click(browser, "Create voucher")
    wait_for_text(browser, "New voucher")
    assert browser.find_element(By.ID, "e-code").text  # taken: said next to the code


async def test_a_webhook_s_deliveries_show_in_the_console(
        console: str, browser: webdriver.Chrome, gateway: httpx.AsyncClient, admin: dict,
        admin_email: str, category: dict) -> None:
    # A receiver that is not there: the delivery is recorded and its attempts fail.
    target = f"http://127.0.0.1:9/hooks/{uuid.uuid4().hex[:8]}"
    created = await gateway.post("/v1/admin/webhooks", headers=admin,
                                 json={"url": target, "events": ["order.confirmed"]})
    assert created.status_code == 201, created.text
    _, _, order = await confirmed_order(gateway, admin, category, 1_900)
    sign_in(browser, console, admin_email, then="/console/webhooks")
    click(browser, target)
    wait_for_text(browser, "Deliveries")

    def delivery_listed(driver: webdriver.Chrome) -> bool:
        if "order.confirmed" in driver.find_element(By.TAG_NAME, "main").text:
            return True
        driver.refresh()
        return False

    WebDriverWait(browser, 120, poll_frequency=2).until(
        delivery_listed, message="the delivery never showed")
    row = browser.find_element(By.XPATH, "//tr[td[contains(., 'order.confirmed')]]")
    assert any(state in row.text for state in ("pending", "failed"))
