"""Message contracts of esd: every command, event and query that crosses a service boundary.

Commands are imperative (``ReserveCredit``) and go to ``<context>.commands``; events are in the
past tense (``CreditReserved``) and go to ``<context>.events``; queries are request/reply calls
(``GetBalance``) on ``<context>.queries``. Names of exchanges and queues live in
:mod:`esd_contracts.topology` and nowhere else.
"""

from esd_contracts.envelope import Command, Event, Message, Query

__all__ = ["Command", "Event", "Message", "Query"]
