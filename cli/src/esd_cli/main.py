"""``esd``: run the whole platform, write the AsyncAPI documents, and operations tasks."""

from __future__ import annotations

import argparse
import sys

from esd_cli.services import BACKEND


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="esd", description="esd platform command line")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run every service and the gateway, seed a demo partner")
    run.add_argument("--keys-workers", type=int, default=1, help="keys worker processes")
    run.add_argument(
        "--together",
        action="store_true",
        help="the back-end services in one process (fewer context switches on a small machine)",
    )

    services = commands.add_parser(
        "services", help="run the named back-end services side by side in this one process"
    )
    services.add_argument(
        "names", nargs="+", choices=BACKEND, metavar="SERVICE", help=", ".join(BACKEND)
    )

    commands.add_parser("asyncapi", help="write each service's AsyncAPI document to docs/asyncapi")
    commands.add_parser("migrate", help="apply every service's migrations and exit")

    from esd_cli import ops

    ops.add_commands(commands)  # seed, approve, load-pool, bank-statement, dlq, saga, ...

    args = parser.parse_args(argv)
    if args.command in ops.OPS_COMMANDS:
        sys.exit(ops.run(args))
    if args.command == "run":
        from esd_cli.launcher import run_platform

        sys.exit(run_platform(keys_workers=args.keys_workers, together=args.together))
    if args.command == "services":
        from esd_platform.service import run_together
        from esd_platform.settings import PlatformSettings

        from esd_cli.services import builder

        settings = PlatformSettings()
        run_together([builder(name)(settings) for name in dict.fromkeys(args.names)])
    if args.command == "asyncapi":
        from esd_cli.docs import write_asyncapi

        write_asyncapi()
    if args.command == "migrate":
        import asyncio

        from esd_cli.services import migrate_all

        asyncio.run(migrate_all())


if __name__ == "__main__":
    main()
