"""A fresh administrator signed in through the API, and a category for bench products."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import httpx

from infra.settings import PROJECT_ROOT

PASSWORD = "a long bench passphrase"


def create_admin() -> str:
    """`shopstream admin create` with a new bench address; returns the address."""
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    subprocess.run([sys.executable, "-m", "ops.cli", "admin", "create", "--email", email,
                    "--password", PASSWORD], cwd=PROJECT_ROOT, check=True, timeout=120,
                   capture_output=True)
    return email


async def log_in(http: httpx.AsyncClient, email: str, token: str | None = None
                 ) -> dict[str, str]:
    """POST /v1/auth/login; with the sign-up's consistency token it waits for the account,
    else it is retried briefly while the new account reaches the users view."""
    headers = {"X-Consistency-Token": token} if token else {}
    for _ in range(40):
        response = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD},
                                   headers=headers)
        if response.status_code == 200:
            return {"Authorization": f"Bearer {response.json()['access_token']}"}
        await asyncio.sleep(0.25)
    raise RuntimeError(f"login failed: {response.status_code} {response.text}")


async def create_category(http: httpx.AsyncClient, auth: dict[str, str]) -> tuple[str, str]:
    """A new category: its id and the `X-Consistency-Token` of its creation."""
    response = await http.post("/v1/admin/categories", headers=auth,
                               json={"name": f"Bench category {uuid.uuid4().hex[:8]}"})
    response.raise_for_status()
    return response.json()["id"], response.headers["X-Consistency-Token"]


def new_product(run: str, i: int, category_id: str) -> dict:
    return {"sku": f"bench-{run}-{i}", "name": f"Bench product {run} {i}",
            "category_id": category_id, "price": {"amount": 1999, "currency": "EUR"},
            "stock": 100}
