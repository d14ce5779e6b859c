"""The storefront in a real browser, through the gateway, as a shopper uses it."""

from __future__ import annotations

import httpx
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser.pages import heading, wait_for_text


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
