"""``python -m credit`` / ``esd-credit``: run the credit service until SIGTERM."""

from credit.bootstrap import build_service


def main() -> None:
    build_service().run()


if __name__ == "__main__":
    main()
