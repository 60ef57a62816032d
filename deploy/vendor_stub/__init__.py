"""A local stand-in for a vendor's keys API, for tests, benchmarks and the embedded run.

Run it with ``python -m deploy.vendor_stub --port 8099`` (from the repository root). It speaks the
protocol in ``services/keys/src/keys/adapters/vendor_api.py`` and can be told, at start or at any
time over ``POST /control``, to be slow, to fail, or to time out — see :mod:`.app`.
"""
