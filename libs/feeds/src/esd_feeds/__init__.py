"""Pure catalog presentation shared by the catalog service and the gateway.

- :mod:`esd_feeds.pricing`: a partner's price from the base price and its price rules.
- :mod:`esd_feeds.search`: Cyrillic-safe search words and stable keyset cursors.
- :mod:`esd_feeds.etag`: ETags and If-None-Match.
- :mod:`esd_feeds.writers`: streaming feed writers (JSON, XML, CSV, CommerceML 2, YML) that
  yield text chunks from an iterable of offers, so a 200,000-product catalog never sits whole
  in memory.

Stdlib only, no I/O: callers bring the data (from their own replica) and send the chunks.
"""
