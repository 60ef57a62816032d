"""Signed keys, sealed keys and keyed hashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from keys.adapters.crypto import (
    KeyCipher,
    KeyHasher,
    KeySigner,
    load_public_key,
    parse_secrets,
    verify_key,
)
from keys.domain import key_format


class TestSignedKeys:
    def test_generated_key_verifies_with_the_public_key(self) -> None:
        signer = KeySigner("seed")
        key = signer.new_key("KAV-2026")
        assert verify_key(key, signer.public_key, sku="KAV-2026")
        assert verify_key(key, load_public_key(signer.public_pem()))

    def test_key_has_sixteen_groups_of_eight(self) -> None:
        key = KeySigner("seed").new_key("X")
        groups = key.split("-")
        assert len(groups) == 16
        assert all(len(g) == 8 for g in groups)

    def test_changed_character_fails_verification(self) -> None:
        signer = KeySigner("seed")
        key = signer.new_key("KAV-2026")
        for index in (0, 20, len(key) - 1):
            if key[index] == "-":
                continue
            changed = key[:index] + ("A" if key[index] != "A" else "B") + key[index + 1 :]
            assert not verify_key(changed, signer.public_key)

    def test_key_for_another_sku_fails_verification(self) -> None:
        signer = KeySigner("seed")
        assert not verify_key(signer.new_key("KAV-2026"), signer.public_key, sku="ESET-2026")

    def test_key_signed_by_another_seed_fails_verification(self) -> None:
        key = KeySigner("other").new_key("X")
        assert not verify_key(key, KeySigner("seed").public_key)

    def test_garbage_is_not_a_key(self) -> None:
        signer = KeySigner("seed")
        assert not verify_key("not a key", signer.public_key)
        assert not verify_key("TEST-AAAAA-BBBBB", signer.public_key)

    def test_keys_differ(self) -> None:
        signer = KeySigner("seed")
        assert len({signer.new_key("X") for _ in range(500)}) == 500

    def test_lowercase_input_still_verifies(self) -> None:
        signer = KeySigner("seed")
        key = signer.new_key("X")
        assert verify_key(key.lower(), signer.public_key)


class TestTestKeys:
    def test_test_key_is_marked(self) -> None:
        key = key_format.test_key(bytes(range(15)))
        assert key.startswith("TEST-")
        assert len(key.split("-")) == 5


class TestKeyCipher:
    def test_round_trip(self) -> None:
        cipher = KeyCipher("k1:secret")
        sealed = cipher.seal("ABCDE-12345")
        assert "ABCDE" not in sealed
        assert sealed.startswith("k1:")
        assert cipher.open(sealed) == "ABCDE-12345"

    def test_same_key_seals_differently_each_time(self) -> None:
        cipher = KeyCipher("k1:secret")
        assert cipher.seal("X") != cipher.seal("X")

    def test_rotation_new_secret_seals_old_still_opens(self) -> None:
        old = KeyCipher("k1:old-secret")
        sealed_before = old.seal("KEY-1")
        rotated = KeyCipher("k2:new-secret,k1:old-secret")
        sealed_after = rotated.seal("KEY-2")
        assert sealed_after.startswith("k2:")
        assert rotated.open(sealed_before) == "KEY-1"
        assert rotated.open(sealed_after) == "KEY-2"

    def test_unknown_key_id_cannot_open(self) -> None:
        sealed = KeyCipher("k9:secret").seal("KEY")
        with pytest.raises(KeyError):
            KeyCipher("k1:secret").open(sealed)

    def test_tampered_ciphertext_is_refused(self) -> None:
        cipher = KeyCipher("k1:secret")
        sealed = cipher.seal("KEY")
        kid, body = sealed.split(":")
        tampered = kid + ":" + body[:-4] + ("AAAA" if body[-4:] != "AAAA" else "BBBB")
        with pytest.raises((InvalidTag, ValueError)):
            cipher.open(tampered)

    def test_ciphertext_under_another_key_id_is_refused(self) -> None:
        cipher = KeyCipher("k1:secret,k2:secret")
        body = cipher.seal("KEY").split(":", 1)[1]
        with pytest.raises(InvalidTag):
            cipher.open("k2:" + body)

    def test_bare_secret_gets_default_key_id(self) -> None:
        assert parse_secrets("just-a-secret") == [("k1", "just-a-secret")]

    def test_duplicate_key_id_is_refused(self) -> None:
        with pytest.raises(ValueError, match="twice"):
            parse_secrets("k1:a,k1:b")


class TestKeyHasher:
    def test_same_key_same_hash_ignoring_blanks(self) -> None:
        hasher = KeyHasher("s")
        assert hasher.digest("ABC") == hasher.digest(" ABC\n")

    def test_hash_depends_on_secret(self) -> None:
        assert KeyHasher("a").digest("ABC") != KeyHasher("b").digest("ABC")


class TestVerifyCommand:
    def test_valid_and_changed_keys(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from keys.verify import main

        signer = KeySigner("cli-seed")
        pem = tmp_path / "esd.pem"
        pem.write_text(signer.public_pem())
        key = signer.new_key("SKU-1")
        assert main(["--public-key", str(pem), "--sku", "SKU-1", key]) == 0
        changed = ("B" if key[0] == "A" else "A") + key[1:]
        assert main(["--public-key", str(pem), key, changed]) == 1
        out = capsys.readouterr().out
        assert f"INVALID {changed}" in out
