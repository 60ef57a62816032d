"""Pure rules of the gateway: INN control digits, VAT, signed links, fingerprints, intake."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from gateway.domain import signing
from gateway.domain.credentials import key_hash, new_api_key
from gateway.domain.errors import Refusal
from gateway.domain.inn import is_valid_inn
from gateway.domain.ordering import OrderRequest, ProductTerms, RequiredField, accept, fingerprint
from gateway.domain.pricing import included_vat, money, order_amount


class TestInn:
    @pytest.mark.parametrize(
        "inn",
        [
            "7707083893",  # Sberbank
            "7728168971",  # Alfa-Bank
            "7736207543",  # Yandex
            "7702070139",  # VTB
            "500100732259",  # a valid personal INN
            "773370857141",
        ],
    )
    def test_accepts_known_valid_inns(self, inn: str) -> None:
        assert is_valid_inn(inn)

    @pytest.mark.parametrize(
        "inn",
        [
            "7707083894",  # last control digit off
            "500100732258",  # second control digit off
            "500100732249",  # first control digit off
            "770708389",  # 9 digits
            "77070838931",  # 11 digits
            "77070838a3",
            "",
            "７７０７０８３８９３",  # full-width digits are not ASCII
            " 7707083893",
        ],
    )
    def test_refuses_bad_inns(self, inn: str) -> None:
        assert not is_valid_inn(inn)


class TestVat:
    def test_exempt_is_zero(self) -> None:
        assert included_vat(Decimal("1500.00"), "exempt") == Decimal("0.00")

    def test_included_vat_rounds_half_up_to_the_kopeck(self) -> None:
        # 2999.97 × 22 / 122 = 540.978… → 540.98
        assert included_vat(Decimal("2999.97"), "22") == Decimal("540.98")
        # 110.55 × 10 / 110 = 10.05 exactly; 0.55 × 10 / 110 = 0.05 exactly
        assert included_vat(Decimal("110.55"), "10") == Decimal("10.05")
        # 61.00 × 22 / 122 = 11.00
        assert included_vat(Decimal("61.00"), "22") == Decimal("11.00")
        # a true half: 0.61 × 22/122 = 0.11; 0.05 × 10/110 = 0.004545… → 0.00
        assert included_vat(Decimal("0.05"), "10") == Decimal("0.00")

    def test_half_kopeck_rounds_up(self) -> None:
        # 1.21 × 10 / 110 = 0.11 ; 0.55 × 10/110 = 0.05 ; 0.165 × 10/110 = 0.015 → 0.02
        assert included_vat(Decimal("0.165"), "10") == Decimal("0.02")

    def test_amount_is_unit_price_times_quantity(self) -> None:
        assert order_amount(Decimal("999.99"), 3) == Decimal("2999.97")
        assert money(Decimal("5")) == "5.00"


class TestSignedLinks:
    SECRET = "s3cret"
    KEY = uuid.UUID("11111111-1111-1111-1111-111111111111")
    ORDER = uuid.UUID("22222222-2222-2222-2222-222222222222")
    NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def parse(self, url: str) -> tuple[signing.SignedLink, str]:
        path, _, query = url.partition("?")
        params = dict(p.split("=") for p in query.split("&"))
        link = signing.SignedLink(
            uuid.UUID(path.rsplit("/", 1)[1]), uuid.UUID(params["order"]), int(params["expires"])
        )
        return link, params["sig"]

    def test_valid_until_expiry(self) -> None:
        url = signing.sign(self.SECRET, self.KEY, self.ORDER, self.NOW + timedelta(days=7))
        link, sig = self.parse(url)
        later = self.NOW + timedelta(days=6, hours=23)
        assert signing.check(self.SECRET, link, sig, later) is signing.LinkCheck.VALID

    def test_expired_after_seven_days(self) -> None:
        url = signing.sign(self.SECRET, self.KEY, self.ORDER, self.NOW + timedelta(days=7))
        link, sig = self.parse(url)
        later = self.NOW + timedelta(days=7, seconds=1)
        assert signing.check(self.SECRET, link, sig, later) is signing.LinkCheck.EXPIRED

    def test_tampered_key_expiry_signature_or_secret(self) -> None:
        url = signing.sign(self.SECRET, self.KEY, self.ORDER, self.NOW + timedelta(days=7))
        link, sig = self.parse(url)
        tampered = [
            (signing.SignedLink(uuid.uuid4(), link.order_id, link.expires), sig, self.SECRET),
            (signing.SignedLink(link.key_id, link.order_id, link.expires + 1), sig, self.SECRET),
            (link, "0" * 64, self.SECRET),
            (link, sig, "other-secret"),
        ]
        for candidate, signature, secret in tampered:
            verdict = signing.check(secret, candidate, signature, self.NOW)
            assert verdict is signing.LinkCheck.TAMPERED

    def test_tampered_wins_over_expired(self) -> None:
        url = signing.sign(self.SECRET, self.KEY, self.ORDER, self.NOW)
        link, _ = self.parse(url)
        verdict = signing.check(self.SECRET, link, "bad", self.NOW + timedelta(days=30))
        assert verdict is signing.LinkCheck.TAMPERED


class TestFingerprint:
    def test_equal_bodies_equal_prints_defaults_normalised(self) -> None:
        a = OrderRequest("ext-1", "SKU", 2)
        b = OrderRequest("ext-1", "SKU", 2, test=False, fields={}, callback_url=None)
        assert fingerprint(a) == fingerprint(b)

    def test_field_order_does_not_matter(self) -> None:
        a = OrderRequest("e", "S", 1, fields={"a": "1", "b": "2"})
        b = OrderRequest("e", "S", 1, fields={"b": "2", "a": "1"})
        assert fingerprint(a) == fingerprint(b)

    @pytest.mark.parametrize(
        "other",
        [
            OrderRequest("e", "S", 2),
            OrderRequest("e", "T", 1),
            OrderRequest("e", "S", 1, test=True),
            OrderRequest("e", "S", 1, fields={"pin": "1"}),
            OrderRequest("e", "S", 1, callback_url="https://shop.example/cb"),
        ],
    )
    def test_any_difference_changes_the_print(self, other: OrderRequest) -> None:
        assert fingerprint(OrderRequest("e", "S", 1)) != fingerprint(other)


class TestAccept:
    PRODUCT = ProductTerms(
        sku="KL-1",
        name="Kaspersky",
        unit_price=Decimal("1000.00"),
        vat_rate="22",
        active=True,
        key_source="generator",
        required_fields=(RequiredField("pin", "Partner PIN", r"\d{6}"),),
    )

    def code(self, request: OrderRequest, product: ProductTerms | None) -> str:
        with pytest.raises(Refusal) as refused:
            accept(request, product)
        return refused.value.code

    def test_unknown_and_inactive(self) -> None:
        assert self.code(OrderRequest("e", "X", 1), None) == "unknown_sku"
        inactive = ProductTerms("KL-1", "K", Decimal(1), "exempt", False, "generator")
        assert self.code(OrderRequest("e", "KL-1", 1), inactive) == "product_inactive"

    @pytest.mark.parametrize("quantity", [0, -1, 1001, True, 1.0, "1", None])
    def test_quantity_must_be_an_integer_in_range(self, quantity: object) -> None:
        request = OrderRequest("e", "KL-1", quantity, fields={"pin": "123456"})  # type: ignore[arg-type]
        assert self.code(request, self.PRODUCT) == "invalid_quantity"

    def test_required_field_missing_or_not_matching_in_full(self) -> None:
        assert self.code(OrderRequest("e", "KL-1", 1), self.PRODUCT) == "missing_required_field"
        for bad in ("12345", "1234567", "12345a", "123456\n"):
            request = OrderRequest("e", "KL-1", 1, fields={"pin": bad})
            assert self.code(request, self.PRODUCT) == "invalid_field"

    def test_prices_and_keeps_only_declared_fields(self) -> None:
        priced = accept(
            OrderRequest("e", "KL-1", 3, fields={"pin": "123456", "junk": "x"}), self.PRODUCT
        )
        assert priced.amount == Decimal("3000.00")
        assert priced.vat_amount == Decimal("540.98")
        assert priced.fields == {"pin": "123456"}


class TestCredentials:
    def test_keys_are_random_and_hashed(self) -> None:
        a, b = new_api_key(), new_api_key()
        assert a != b
        assert key_hash(a) != a
        assert len(key_hash(a)) == 64
