"""Validation of generated UPD files against the XSD of the subset esd writes (lxml)."""

from __future__ import annotations

from functools import cache

from lxml import etree

from billing.adapters.upd.builder import XSD_PATH, Upd


class InvalidUpd(ValueError):
    """A generated UPD that its XSD refuses: a bug, never sent to an EDO operator."""


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def validate(upd: Upd) -> None:
    """Raise :class:`InvalidUpd` with the schema's messages unless ``upd`` is valid."""
    schema = _schema()
    document = etree.fromstring(upd.encode())
    if not schema.validate(document):
        errors = "; ".join(f"line {e.line}: {e.message}" for e in schema.error_log)
        raise InvalidUpd(f"{upd.file_id}: {errors}")
