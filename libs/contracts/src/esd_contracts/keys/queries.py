"""Queries the keys service answers: the only way a plain key leaves it, to its owner."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from esd_contracts.envelope import Query


class GetOrderKeys(Query):
    """The plain keys of one order, for its owner only."""

    CONTEXT: ClassVar[str] = "keys"

    order_id: uuid.UUID = Field(description="The order")
    partner_id: uuid.UUID = Field(description="Must own the order, else nothing comes back")


class IssuedKey(BaseModel):
    """One key as its owner sees it."""

    model_config = ConfigDict(frozen=True)

    key_id: uuid.UUID = Field(description="Key id (the gateway signs download links with it)")
    activation_code: str = Field(description="The activation code")


class OrderKeys(BaseModel):
    """Answer to :class:`GetOrderKeys`."""

    model_config = ConfigDict(frozen=True)

    keys: tuple[IssuedKey, ...] = Field(description="Keys in issue order; empty if none/not owner")
