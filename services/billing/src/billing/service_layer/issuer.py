"""The seller's side of every document, from settings: who sells, who signs, how it prints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from billing.adapters.upd.builder import Signer
from billing.domain.model import Party
from billing.settings import BillingSettings


@dataclass(frozen=True)
class Issuer:
    seller: Party
    seller_edo_id: str
    signer: Signer
    font: Path
    font_bold: Path

    @classmethod
    def from_settings(cls, settings: BillingSettings) -> Issuer:
        return cls(
            seller=Party(
                name=settings.seller_name,
                inn=settings.seller_inn,
                kpp=settings.seller_kpp or None,
                address=settings.seller_address or None,
            ),
            seller_edo_id=settings.seller_edo_id,
            signer=Signer(
                surname=settings.signer_surname,
                name=settings.signer_name,
                patronymic=settings.signer_patronymic or None,
                position=settings.signer_position,
            ),
            font=settings.pdf_font,
            font_bold=settings.pdf_font_bold,
        )
