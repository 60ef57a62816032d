"""1CClientBankExchange: the text format Russian banks and 1C exchange statements in.

A file starts with ``1CClientBankExchange``, then ``Key=Value`` header lines (``ВерсияФормата``
1.02/1.03, ``Кодировка=Windows`` or ``DOS``, ``РасчСчет``...), optional ``СекцияРасчСчет`` …
``КонецРасчСчет`` blocks, and one ``СекцияДокумент=<kind>`` … ``КонецДокумента`` block per
payment, ending with ``КонецФайла``. Pure: bytes in, payments and per-line problems out; a bad
line or document is reported and skipped, never fatal for the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

HEADER = "1CClientBankExchange"


@dataclass(frozen=True)
class StatementPayment:
    """An incoming payment read from a ``СекцияДокумент``."""

    line: int
    number: str
    date: date
    """The day the money reached the account (``ДатаПоступило``, else the document's date)."""
    amount: Decimal
    payer_inn: str
    payer_kpp: str | None
    payer_name: str | None
    purpose: str
    kind: str


@dataclass(frozen=True)
class Problem:
    line: int | None
    code: str
    detail: str
    number: str | None = None


@dataclass
class ParsedStatement:
    version: str | None = None
    encoding: str = "utf-8"
    accounts: set[str] = field(default_factory=set)
    payments: list[StatementPayment] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    outgoing: int = 0
    """Documents the account paid out (not payments to us): skipped, not problems."""


def decode(content: bytes) -> tuple[str, str]:
    """Text and encoding of a statement: UTF-8 (with or without BOM) when it decodes as such,
    otherwise what its ``Кодировка`` says (DOS = cp866), Windows-1251 by default."""
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="replace"), "utf-8"
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    dos = content.decode("cp866", errors="replace")
    if re.search(r"^Кодировка=\s*DOS\s*$", dos, re.MULTILINE | re.IGNORECASE):
        return dos, "cp866"
    return content.decode("cp1251", errors="replace"), "cp1251"


def parse(content: bytes) -> ParsedStatement:
    """Read every payment document of a statement; report what cannot be read."""
    text, encoding = decode(content)
    result = ParsedStatement(encoding=encoding)
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or lines[first].strip().lstrip("\ufeff") != HEADER:
        result.problems.append(
            Problem(1, "not_a_statement", f"the file does not start with {HEADER}")
        )
    document: dict[str, str] | None = None
    document_line = 0
    document_kind = ""
    last_key = ""
    for index, raw in enumerate(lines, start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line == HEADER:
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if key == "СекцияДокумент":
            if document is not None:
                result.problems.append(
                    _problem(
                        document_line,
                        document,
                        "unterminated_document",
                        "a document without КонецДокумента; skipped",
                    )
                )
            document, document_line, document_kind = {}, index, value
            continue
        if key == "КонецДокумента":
            if document is None:
                result.problems.append(
                    Problem(index, "unreadable_line", "КонецДокумента outside a document")
                )
                continue
            _read_document(result, document, document_line, document_kind)
            document = None
            continue
        if key in ("СекцияРасчСчет", "КонецРасчСчет"):
            continue
        if key == "КонецФайла":
            break
        if not sep and document is not None and last_key.startswith("НазначениеПлатежа"):
            document[last_key] += " " + line  # a purpose wrapped onto the next line
            continue
        if not sep or not key or not _KEY.fullmatch(key):
            result.problems.append(
                Problem(index, "unreadable_line", f"not a Key=Value line: {line[:80]!r}")
            )
            continue
        last_key = key
        if document is not None:
            if key in document and key.startswith("НазначениеПлатежа"):
                document[key] += " " + value
            else:
                document[key] = value
        elif key == "ВерсияФормата":
            result.version = value
        elif key == "РасчСчет" and value:  # in the header and in each СекцияРасчСчет
            result.accounts.add(value)
    if document is not None:
        result.problems.append(
            _problem(
                document_line,
                document,
                "unterminated_document",
                "the file ends inside a document; skipped",
            )
        )
    return result


_KEY = re.compile(r"[^\W\d_][\w]*", re.UNICODE)
_INN_IN_NAME = re.compile(r"ИНН\s*(\d{10}|\d{12})\b")


def _problem(line: int, document: dict[str, str], code: str, detail: str) -> Problem:
    return Problem(line, code, detail, number=document.get("Номер") or None)


def _read_document(result: ParsedStatement, document: dict[str, str], line: int, kind: str) -> None:
    number = document.get("Номер", "").strip()
    if not number:
        result.problems.append(_problem(line, document, "missing_field", "no Номер"))
        return
    receiver_account = document.get("ПолучательСчет") or document.get("ПолучательРасчСчет")
    payer_account = document.get("ПлательщикСчет") or document.get("ПлательщикРасчСчет")
    if receiver_account not in result.accounts and payer_account in result.accounts:
        result.outgoing += 1  # money we paid out, not a partner's payment
        return
    amount = _amount(document.get("Сумма", ""))
    if amount is None or amount <= 0:
        result.problems.append(
            _problem(
                line,
                document,
                "invalid_amount",
                f"Сумма {document.get('Сумма', '')!r} is not a positive amount",
            )
        )
        return
    arrived = document.get("ДатаПоступило") or document.get("Дата", "")
    payment_date = _date(arrived) or _date(document.get("Дата", ""))
    if payment_date is None:
        result.problems.append(
            _problem(line, document, "invalid_date", f"no readable date in {arrived!r}")
        )
        return
    inn = (document.get("ПлательщикИНН") or "").strip()
    if not inn:
        found = _INN_IN_NAME.search(document.get("Плательщик", ""))
        inn = found.group(1) if found else ""
    if not re.fullmatch(r"\d{10}|\d{12}", inn):
        result.problems.append(
            _problem(line, document, "missing_field", f"no payer ИНН (got {inn!r})")
        )
        return
    # НазначениеПлатежа holds the whole text; НазначениеПлатежа1..6 are the same text split
    # into lines, used only when the whole one is missing
    purpose = document.get("НазначениеПлатежа", "").strip() or " ".join(
        document[key]
        for key in sorted(
            (k for k in document if re.fullmatch(r"НазначениеПлатежа\d+", k)),
            key=lambda k: int(k.removeprefix("НазначениеПлатежа")),
        )
        if document[key]
    )
    name = document.get("Плательщик1") or document.get("Плательщик") or None
    result.payments.append(
        StatementPayment(
            line=line,
            number=number,
            date=payment_date,
            amount=amount,
            payer_inn=inn,
            payer_kpp=(document.get("ПлательщикКПП") or "").strip() or None,
            payer_name=name,
            purpose=purpose,
            kind=kind,
        )
    )


def _amount(value: str) -> Decimal | None:
    cleaned = value.replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d{1,2})?", cleaned):
        return None
    try:
        return Decimal(cleaned).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _date(value: str) -> date | None:
    match = re.fullmatch(r"\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*", value)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None
