"""Python client of the esd partner API (``/api/v1``): typed, sync and async, safe retries.

>>> from esd_client import Client
>>> with Client("http://127.0.0.1:8080", "esd_...") as esd:
...     order = esd.place_order("KL-KIS-1Y", 2, external_id="shop-1001", wait=10)
...     [key.activation_code for key in order.keys]
"""

from esd_client.client import AsyncClient, Client, RetryPolicy
from esd_client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    EsdError,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
)
from esd_client.models import FINAL_STATUSES, Balance, Feed, Key, Order, Page, Product
from esd_client.webhooks import verify_headers, verify_signature

__all__ = [
    "FINAL_STATUSES",
    "ApiError",
    "AsyncClient",
    "BadRequest",
    "Balance",
    "Client",
    "Conflict",
    "EsdError",
    "Feed",
    "Forbidden",
    "Key",
    "NotFound",
    "Order",
    "Page",
    "Product",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "verify_headers",
    "verify_signature",
]
