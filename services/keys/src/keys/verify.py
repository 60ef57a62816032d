"""``python -m keys.verify``: check a signed esd key offline, or print esd's public key.

    python -m keys.verify --print-public-key > esd-keys.pem      # what vendors get
    python -m keys.verify --public-key esd-keys.pem [--sku KAV-2026] KEY…

Exit status 0 when every key verifies, 1 otherwise. Without ``--public-key`` the public key is
derived from ``ESD_KEYS_SIGNING_SEED`` (the service's own settings). The key format is
documented in :mod:`keys.domain.key_format`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from keys.adapters.crypto import KeySigner, load_public_key, verify_key
from keys.settings import KeysSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m keys.verify", description=__doc__)
    parser.add_argument("keys", nargs="*", help="keys to verify")
    parser.add_argument("--public-key", type=Path, help="PEM file with esd's Ed25519 public key")
    parser.add_argument("--sku", help="also require the key to be for this sku")
    parser.add_argument("--print-public-key", action="store_true", help="print the PEM and exit")
    args = parser.parse_args(argv)
    if args.public_key is not None:
        public_key = load_public_key(args.public_key.read_text())
        pem = args.public_key.read_text()
    else:
        signer = KeySigner(KeysSettings().keys_signing_seed)
        public_key, pem = signer.public_key, signer.public_pem()
    if args.print_public_key:
        sys.stdout.write(pem)
        return 0
    if not args.keys:
        parser.error("give at least one key")
    ok = True
    for key in args.keys:
        valid = verify_key(key, public_key, sku=args.sku)
        ok = ok and valid
        sys.stdout.write(f"{'valid' if valid else 'INVALID'} {key}\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
