"""``python -m deploy.vendor_stub [--host H] [--port P] [--latency-ms N] [--mode M]``."""

from __future__ import annotations

import argparse

import uvicorn

from deploy.vendor_stub.app import Behaviour, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.vendor_stub", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--latency-ms", type=int, default=0, help="delay of every keys request")
    parser.add_argument("--mode", default="ok", choices=["ok", "fail", "timeout", "out_of_stock"])
    args = parser.parse_args(argv)
    app = create_app(Behaviour(mode=args.mode, latency_ms=args.latency_ms))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
