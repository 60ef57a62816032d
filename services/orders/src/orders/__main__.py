"""``python -m orders`` / ``esd-orders``: run the orders service until SIGTERM."""

from orders.bootstrap import build_service


def main() -> None:
    build_service().run()


if __name__ == "__main__":
    main()
