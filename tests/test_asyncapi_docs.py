"""docs/asyncapi/ is what FastStream generates from the code: regenerate with `make asyncapi`."""

from __future__ import annotations

from pathlib import Path

from esd_cli.docs import OUT, write_asyncapi


def test_asyncapi_documents_match_the_code(tmp_path: Path) -> None:
    for generated in write_asyncapi(tmp_path):
        committed = OUT / generated.name
        assert committed.exists(), f"{committed} missing: run make asyncapi"
        assert committed.read_text(encoding="utf-8") == generated.read_text(encoding="utf-8"), (
            f"{committed.name} is stale: run make asyncapi"
        )
