"""Requests the catalog answers: ops work on the catalog, called by the gateway.

They change the catalog, so they are commands (``catalog.commands``), but the caller waits for
the outcome, so they travel as request/reply like queries (``broker.request``; the handler's
return value is the reply). Each is idempotent: sending the same request again changes nothing
more and answers the same outcome (what was already applied reports as unchanged).
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from esd_contracts.catalog.events import PriceAdjustment, PriceRuleScope
from esd_contracts.envelope import MessageKind, Query


class ImportPriceList(Query):
    """Ops imports a vendor's price list (CSV or JSON): upsert by sku, a report per row.

    ``correlation_id`` is a fresh id per import. Send the file either as text (``content``) or,
    when its encoding is unknown (Windows-1251 from a vendor's Excel), as ``content_base64``.
    """

    CONTEXT: ClassVar[str] = "catalog"
    KIND: ClassVar[MessageKind] = "command"

    format: Literal["csv", "json"] = Field(description="Format of the price list")
    content: str = Field(default="", description="The price list as text")
    content_base64: str | None = Field(
        default=None, description="The price list as bytes (base64); UTF-8 or Windows-1251"
    )
    filename: str | None = Field(default=None, description="Original file name, for the log")
    vendor: str | None = Field(
        default=None, description="Vendor (id or name) for rows that name none"
    )
    retire_missing: bool = Field(
        default=False,
        description="The list is the vendor's complete list: retire (deactivate) this vendor's "
        "active products that it does not mention. Needs `vendor`.",
    )
    retire_predecessors: bool = Field(
        default=False,
        description="A row with `predecessor_sku` is a new version: retire (deactivate) the "
        "predecessor it replaces",
    )
    dry_run: bool = Field(default=False, description="Report only; change nothing")


class ImportedRow(BaseModel):
    """A row that changed the catalog."""

    model_config = ConfigDict(frozen=True)

    line: int = Field(description="Line of the CSV (header = 1) or item number of the JSON list")
    sku: str = Field(description="The product")
    changes: tuple[str, ...] = Field(default=(), description="Attributes that changed")


class RefusedRow(BaseModel):
    """A row that was not applied, and why; the other rows were."""

    model_config = ConfigDict(frozen=True)

    line: int = Field(description="Line of the CSV (header = 1) or item number of the JSON list")
    sku: str | None = Field(default=None, description="The row's sku, if it had one")
    reason: str = Field(description="Why the row was refused, in words")


class PriceListImported(BaseModel):
    """Answer to :class:`ImportPriceList`: what was added, changed, retired and refused."""

    model_config = ConfigDict(frozen=True)

    rows: int = Field(description="Data rows read")
    added: tuple[ImportedRow, ...] = Field(default=(), description="New products")
    changed: tuple[ImportedRow, ...] = Field(default=(), description="Products that changed")
    unchanged: int = Field(default=0, description="Rows that matched the catalog already")
    retired: tuple[ImportedRow, ...] = Field(
        default=(), description="Products deactivated (a row said so, or retire_missing)"
    )
    refused: tuple[RefusedRow, ...] = Field(default=(), description="Rows not applied")
    dry_run: bool = Field(default=False, description="True when nothing was written")


class SetPriceRule(Query):
    """Ops or a distributor sets a partner's or a distributor's price rule (whole replacement).

    Answered with :class:`PriceRuleSet`; an accepted change is announced as
    ``PriceRuleChanged``. An empty ``adjustments`` with ``remove`` deletes the rule. Setting the
    same rule again answers the current revision and publishes nothing.
    """

    CONTEXT: ClassVar[str] = "catalog"
    KIND: ClassVar[MessageKind] = "command"

    scope: PriceRuleScope = Field(description="'partner' or 'distributor'")
    owner_id: uuid.UUID = Field(description="The partner id of the partner or distributor")
    adjustments: tuple[PriceAdjustment, ...] = Field(
        default=(), description="The rule's lines (replace the previous ones)"
    )
    remove: bool = Field(default=False, description="Delete the rule instead")


class PriceRuleSet(BaseModel):
    """Answer to :class:`SetPriceRule`."""

    model_config = ConfigDict(frozen=True)

    accepted: bool = Field(description="False when any line was invalid; nothing changed then")
    revision: int = Field(default=0, description="The rule's revision now (0: no rule)")
    problems: tuple[str, ...] = Field(
        default=(), description="Why it was refused, e.g. 'line 2: a fixed price needs a sku'"
    )
