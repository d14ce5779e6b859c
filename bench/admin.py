"""A fresh administrator signed in through the API, and a category for bench products."""

from __future__ import annotations

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
    """POST /v1/auth/login: the Authorization header. A login right after the sign-up
    finds the account (a miss waits for the users model)."""
    headers = {"X-Consistency-Token": token} if token else {}
    response = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD},
                               headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"login failed: {response.status_code} {response.text}")
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def admin_and_category(http: httpx.AsyncClient) -> tuple[dict[str, str], str, str]:
    """A new administrator, signed in, and a new category: (Authorization header,
    category id, the category's consistency token)."""
    auth = await log_in(http, create_admin())
    category_id, token = await create_category(http, auth)
    return auth, category_id, token


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
