"""Write the AsyncAPI document FastStream generates for each service to docs/asyncapi/."""

from __future__ import annotations

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
        path.write_text(spec.to_specification().to_json() + "\n", encoding="utf-8")
        written.append(path)
    return written
