"""``python -m billing`` / ``esd-billing``: run the billing service until SIGTERM."""

from billing.bootstrap import build_service


def main() -> None:
    build_service().run()


if __name__ == "__main__":
    main()
