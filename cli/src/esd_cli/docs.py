"""Write the AsyncAPI document FastStream generates for each service to docs/asyncapi/."""

from __future__ import annotations

import json
from pathlib import Path

from faststream.specification import AsyncAPI

from esd_cli.services import BACKEND, builder

OUT = Path(__file__).resolve().parents[3] / "docs" / "asyncapi"


def write_asyncapi(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in (*BACKEND, "gateway"):
        service = builder(name)(None)
        spec = AsyncAPI(service.broker, title=f"esd {name}", version="1.0.0")
        path = out / f"{name}.json"
        # sorted keys: FastStream's key order varies between runs, the document must not
        document = json.loads(spec.to_specification().to_json())
        path.write_text(
            json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        written.append(path)
    return written
