"""Subscriptions context: monthly products billed for the seats held on each day.

The lifecycle (create, change quantity, suspend, resume, cancel) is owned by the orders
service's subscription module; billing charges each month from the ``SubscriptionChanged``
events; :mod:`esd_contracts.subscriptions.proration` is the one formula both use.
"""
