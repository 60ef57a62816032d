"""Composition root of the keys service: settings, secrets, adapters, routers."""

from __future__ import annotations

from pathlib import Path

from esd_platform.delivery import DeliverySeal
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings

from keys.adapters.crypto import KeyCipher, KeyHasher, KeySigner
from keys.adapters.sources import (
    Adapters,
    GeneratedKeys,
    PoolKeys,
    Sealer,
    TestKeys,
)
from keys.adapters.vendor_api import VendorApiKeys, VendorHealthStore, worker_id
from keys.entrypoints.consumers import build_router
from keys.entrypoints.subscriptions import build_subscription_router
from keys.settings import KeysSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build_service(
    settings: PlatformSettings | None = None, keys_settings: KeysSettings | None = None
) -> Service:
    """The keys service, ready to ``start()`` or ``run()``."""
    service = Service("keys", migrations=MIGRATIONS, settings=settings)
    config = keys_settings or KeysSettings()
    config.check_for(service.settings.env)
    cipher = KeyCipher(config.keys_secret)
    delivery = DeliverySeal(config.key_delivery_secret)
    sealer = Sealer(cipher, KeyHasher(config.keys_hash_secret), delivery)
    vendor = VendorApiKeys(sealer, config, VendorHealthStore(service.engine, worker_id()))
    adapters = Adapters(
        {
            "test": TestKeys(sealer),
            "generator": GeneratedKeys(sealer, KeySigner(config.keys_signing_seed)),
            "pool": PoolKeys(),
            "vendor_api": vendor,
        },
        sealer,
    )
    service.include(build_router(service, adapters, sealer, config))
    service.include(build_subscription_router(service, config))

    async def close_vendor_client(_: Service) -> None:
        await vendor.close(drain_timeout=service.settings.graceful_timeout)

    service.on_stop(close_vendor_client)
    return service
