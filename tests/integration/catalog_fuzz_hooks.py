"""Schemathesis hooks for the catalog fuzz: its products and subcategories go into a real
category, and its changes to a real product, so what the API takes is really stored."""

from __future__ import annotations

import os

import schemathesis


@schemathesis.hook
def map_body(context, body):
    if not isinstance(body, dict):
        return body
    category = os.environ["SHOPSTREAM_FUZZ_CATEGORY_ID"]
    return body | {key: category for key in ("category_id", "parent_id") if key in body}


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    if isinstance(path_parameters, dict) and "product_id" in path_parameters:
        return path_parameters | {"product_id": os.environ["SHOPSTREAM_FUZZ_PRODUCT_ID"]}
    return path_parameters
