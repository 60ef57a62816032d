"""``esd-catalog`` / ``python -m catalog``: run the catalog service."""

from catalog.bootstrap import build_service


def main() -> None:
    build_service().run()


if __name__ == "__main__":
    main()
