"""A tiny shop that sells esd keys: the worked example of an integration.

What a partner's shop does, in about a hundred lines, with the Python client (``esd_client``):

1. ``import``: takes the catalog feed (``GET /api/v1/catalog/export?format=json``) into its own
   product table, at its own retail price (our price + a margin); a second import with the
   feed's ETag costs nothing when the catalog did not change (304).
2. ``sell SKU QTY``: a customer buys; the shop writes its own order first (its id is the
   ``external_id``), then places it with esd. A crash or a timeout in between is harmless: the
   same call again returns the order esd already took, never a second one.
3. shows the keys of the completed order to the customer.
4. ``webhook``: a callback from esd is checked against the webhook secret before anything in
   it is believed, then the shop's order takes its final status.

Run it against ``make run`` (which prints the gateway URL and a demo key)::

    python examples/shop/shop.py --url http://127.0.0.1:8080 --key esd_... import
    python examples/shop/shop.py --url http://127.0.0.1:8080 --key esd_... sell <sku> 1

State is a SQLite file (``--db``, default ``shop.sqlite3``).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from esd_client import ApiError, Client, Order, verify_headers

MARGIN = Decimal("1.20")

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (sku TEXT PRIMARY KEY, name TEXT, price TEXT, cost TEXT);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT, sku TEXT, quantity INTEGER,
    status TEXT NOT NULL DEFAULT 'new', esd_order_id TEXT, keys TEXT
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
"""


class Shop:
    def __init__(self, client: Client, db: Path | str, webhook_secret: str | None = None) -> None:
        self.esd = client
        # a web server calls the webhook handler from its own threads; writes are short
        self.db = sqlite3.connect(str(db), check_same_thread=False)
        self.db.executescript(SCHEMA)
        self.webhook_secret = webhook_secret

    def import_catalog(self) -> int:
        """Products taken from the feed (0 when it did not change since the last import)."""
        row = self.db.execute("SELECT value FROM meta WHERE name = 'etag'").fetchone()
        feed = self.esd.export_catalog("json", etag=row[0] if row else None)
        if feed.not_modified:
            return 0
        products = feed.products()
        with self.db:
            for p in products:
                retail = (p.price * MARGIN).quantize(Decimal("0.01"))
                self.db.execute(
                    "INSERT OR REPLACE INTO products VALUES (?, ?, ?, ?)",
                    (p.sku, p.name, str(retail), str(p.price)),
                )
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('etag', ?)", (feed.etag,))
        return len(products)

    def sell(self, sku: str, quantity: int, callback_url: str | None = None) -> dict[str, Any]:
        """Sell to a customer: the shop's own order first, then esd's, keyed by our id."""
        if self.db.execute("SELECT 1 FROM products WHERE sku = ?", (sku,)).fetchone() is None:
            raise LookupError(f"{sku} is not in the shop's catalog (run import)")
        with self.db:
            cursor = self.db.execute(
                "INSERT INTO orders (sku, quantity) VALUES (?, ?)", (sku, quantity)
            )
        shop_order = f"shop-{cursor.lastrowid}"
        try:
            order = self.esd.place_order(
                sku, quantity, external_id=shop_order, callback_url=callback_url, wait=10
            )
        except ApiError as error:  # a refusal with a stable code: tell the customer why
            self._update(shop_order, "refused:" + error.code, None, [])
            return {"order": shop_order, "status": "refused", "code": error.code}
        if not order.final:
            order = self.esd.wait_for_order(order.id, max_wait=30)
        return self._record(shop_order, order)

    def handle_webhook(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """A callback from esd: believed only with a valid signature."""
        if not self.webhook_secret or not verify_headers(self.webhook_secret, body, headers):
            return False
        order = Order.from_json(json.loads(body))
        self._record(order.external_id, order)
        return True

    def _record(self, shop_order: str, order: Order) -> dict[str, Any]:
        keys = [{"code": k.activation_code, "download": k.download_url} for k in order.keys]
        self._update(shop_order, order.status, str(order.id), keys)
        return {"order": shop_order, "status": order.status, "keys": keys}

    def _update(self, shop_order: str, status: str, esd_id: str | None, keys: list[Any]) -> None:
        with self.db:
            self.db.execute(
                "UPDATE orders SET status = ?, esd_order_id = coalesce(?, esd_order_id), "
                "keys = ? WHERE id = ?",
                (status, esd_id, json.dumps(keys), int(shop_order.removeprefix("shop-"))),
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--key", required=True, help="your esd API key")
    parser.add_argument("--webhook-secret", default=None)
    parser.add_argument("--db", default="shop.sqlite3")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("import")
    sell = commands.add_parser("sell")
    sell.add_argument("sku")
    sell.add_argument("quantity", type=int)
    args = parser.parse_args(argv)
    with Client(args.url, args.key) as client:
        shop = Shop(client, args.db, args.webhook_secret)
        if args.command == "import":
            print(f"imported {shop.import_catalog()} products")  # noqa: T201 - a command-line tool
        else:
            print(json.dumps(shop.sell(args.sku, args.quantity), ensure_ascii=False, indent=2))  # noqa: T201 - a command-line tool
    return 0


if __name__ == "__main__":
    sys.exit(main())
