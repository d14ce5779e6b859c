"""The yardstick of the API's own cost: one bare FastAPI process answering a JSON POST.

Run by `bench.report` with uvicorn, as the API replicas are; it validates a small
body with pydantic and answers it, and does nothing else.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Item(BaseModel):
    sku: str
    name: str
    price: int


@app.post("/items", status_code=201)
async def create(item: Item) -> Item:
    return item
