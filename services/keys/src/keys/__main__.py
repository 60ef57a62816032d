"""``python -m keys`` / ``esd-keys``: one keys worker; start several to share the queue."""

from keys.bootstrap import build_service


def main() -> None:
    build_service().run()


if __name__ == "__main__":
    main()
