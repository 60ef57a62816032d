"""Settings of the billing service (``ESD_BILLING_*``), beyond the platform's."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BillingSettings(BaseSettings):
    """The seller printed on every document, day closing, EDO and the printable form."""

    model_config = SettingsConfigDict(env_prefix="ESD_BILLING_", extra="ignore")

    seller_name: str = Field(default='ООО "ЕСД Дистрибуция"', description="Seller's legal name")
    seller_inn: str = Field(default="7701234560", description="Seller's ИНН (10 digits)")
    seller_kpp: str = Field(default="770101001", description="Seller's КПП")
    seller_address: str = Field(
        default="123112, г. Москва, Пресненская наб., д. 12", description="Seller's legal address"
    )
    seller_edo_id: str = Field(
        default="2BM-7701234560-770101001", description="Seller's EDO participant id"
    )
    signer_surname: str = Field(default="Иванов", description="Who signs the UPD")
    signer_name: str = Field(default="Иван")
    signer_patronymic: str = Field(default="Иванович")
    signer_position: str = Field(default="Генеральный директор")

    close_grace_seconds: float = Field(
        default=300.0,
        ge=0,
        description="A day's documents close this long after Moscow midnight, so shipments of "
        "23:59:59 still in flight land on their own day",
    )
    tick_seconds: float = Field(
        default=5.0, gt=0, description="How often the closing and EDO background work runs"
    )
    background: bool = Field(
        default=True, description="Run day closing and EDO delivery in this process"
    )
    edo_adapter: str = Field(
        default="none", description="'none' (no EDO), 'file' (drop into edo_dir) or 'stub'"
    )
    edo_dir: Path = Field(
        default=Path("var/edo"), description="File-drop EDO: <dir>/outbox and <dir>/receipts"
    )
    pdf_font: Path = Field(
        default=Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        description="A TrueType font with Cyrillic for the printable form",
    )
    pdf_font_bold: Path = Field(
        default=Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
        description="Its bold face",
    )
