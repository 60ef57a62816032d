"""The demo catalog: a distributor's realistic price list, built deterministically from tables.

Every product line of a vendor is multiplied out over its options (devices, term, new licence or
renewal, users, edition), so a few hundred lines give a few thousand SKUs, like a real ESD
distributor's list. Prices come from the line's base price, the options' multipliers and a
small jitter from a seeded generator, rounded the way shops price (1 490, 2 990): the same code
always yields the same catalog, byte for byte.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from catalog.domain.model import (
    Category,
    KeySource,
    Kind,
    Product,
    RequiredField,
    Vendor,
    sku_code,
)

SEED = 20260101
"""The generator's seed: change it and every price and inactive flag changes."""

Option = tuple[str, str, float]
"""(label in the name, code in the sku, price multiplier); an empty label adds nothing."""

# -- options ----------------------------------------------------------------------------------

DEVICES: tuple[Option, ...] = (
    ("1 устройство", "1D", 1.0),
    ("2 устройства", "2D", 1.45),
    ("3 устройства", "3D", 1.8),
    ("4 устройства", "4D", 2.2),
    ("5 устройств", "5D", 2.6),
    ("10 устройств", "10D", 4.4),
)
DEVICES3: tuple[Option, ...] = (DEVICES[0], DEVICES[2], DEVICES[4])
TERM: tuple[Option, ...] = (("1 год", "1Y", 1.0), ("2 года", "2Y", 1.65))
TERM3: tuple[Option, ...] = (*TERM, ("3 года", "3Y", 2.2))
RENEWAL: tuple[Option, ...] = (("", "N", 1.0), ("продление", "R", 0.72))
CROSSGRADE: tuple[Option, ...] = (*RENEWAL, ("переход с другого антивируса", "X", 0.8))
PCS: tuple[Option, ...] = (
    ("1 PC", "1PC", 1.0),
    ("3 PCs", "3PC", 1.9),
    ("5 PCs", "5PC", 2.6),
    ("10 PCs", "10PC", 4.5),
)
MACS: tuple[Option, ...] = (("1 Mac", "1M", 1.0), ("3 Macs", "3M", 1.9))
YEARS: tuple[Option, ...] = (("1 year", "1Y", 1.0), ("2 years", "2Y", 1.7))
USERS: tuple[Option, ...] = (
    ("5 пользователей", "5U", 5.0),
    ("10 пользователей", "10U", 9.5),
    ("15 пользователей", "15U", 14.0),
    ("20 пользователей", "20U", 18.4),
    ("25 пользователей", "25U", 22.0),
    ("30 пользователей", "30U", 26.0),
    ("50 пользователей", "50U", 42.0),
    ("75 пользователей", "75U", 61.0),
    ("100 пользователей", "100U", 80.0),
    ("150 пользователей", "150U", 115.0),
)
WORKPLACES: tuple[Option, ...] = (
    ("1 рабочее место", "1", 1.0),
    ("5 рабочих мест", "5", 4.6),
    ("10 рабочих мест", "10", 8.8),
    ("20 рабочих мест", "20", 16.5),
    ("50 рабочих мест", "50", 39.0),
    ("100 рабочих мест", "100", 74.0),
)
LICENCE: tuple[Option, ...] = (
    ("коммерческая лицензия", "COM", 1.0),
    ("лицензия для образования", "EDU", 0.45),
)
PERPETUAL: tuple[Option, ...] = (("бессрочная лицензия", "P", 1.0), ("1 год", "1Y", 0.55))
SEATS_EN: tuple[Option, ...] = (
    ("1 user", "1U", 1.0),
    ("5 users", "5U", 4.7),
    ("10 users", "10U", 9.0),
)
MONTHLY: tuple[Option, ...] = (("1 месяц", "1M", 1.0), ("12 месяцев", "12M", 10.5))


def editions(*names: tuple[str, float]) -> tuple[Option, ...]:
    """Editions as options: the label is the edition, the code its transliterated letters."""
    return tuple((label, sku_code(label), mult) for label, mult in names)


PIN = RequiredField(name="partner_pin", title="PIN-код партнёра Kaspersky", pattern=r"^[0-9]{6}$")
INN = RequiredField(
    name="customer_inn", title="ИНН организации-лицензиата", pattern=r"^[0-9]{10}([0-9]{2})?$"
)
TENANT = RequiredField(
    name="tenant_domain",
    title="Домен клиента Microsoft 365",
    pattern=r"^[a-z0-9][a-z0-9-]{0,62}\.onmicrosoft\.com$",
)


@dataclass(frozen=True)
class Line:
    """One product line of a vendor, multiplied out over ``options``."""

    code: str
    name: str
    category: str
    price: int
    options: tuple[tuple[Option, ...], ...] = ()
    version: str = ""
    kind: Kind = "key"
    key_source: KeySource = "generator"
    vat_rate: str = "exempt"
    required: tuple[RequiredField, ...] = ()


@dataclass(frozen=True)
class VendorLines:
    vendor: Vendor
    prefix: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class DemoCatalog:
    vendors: tuple[Vendor, ...]
    categories: tuple[Category, ...]
    products: tuple[Product, ...]


CATEGORIES: tuple[Category, ...] = (
    Category("security", "Безопасность"),
    Category("antivirus", "Антивирусы", "security"),
    Category("business-security", "Защита бизнеса", "security"),
    Category("network-security", "Сетевая безопасность и VPN", "security"),
    Category("cryptography", "Криптография и ЭП", "security"),
    Category("office", "Офис и документы"),
    Category("office-suites", "Офисные пакеты", "office"),
    Category("pdf-ocr", "PDF и распознавание текста", "office"),
    Category("translation", "Словари и переводчики", "office"),
    Category("productivity", "Заметки и планирование", "office"),
    Category("business", "Бизнес-приложения"),
    Category("accounting", "Учёт и управление (1С)", "business"),
    Category("e-reporting", "Электронная отчётность", "business"),
    Category("collaboration", "CRM и совместная работа", "business"),
    Category("system", "Системное ПО"),
    Category("os", "Операционные системы", "system"),
    Category("backup", "Резервное копирование", "system"),
    Category("data-recovery", "Восстановление данных", "system"),
    Category("utilities", "Утилиты и оптимизация", "system"),
    Category("remote-access", "Удалённый доступ", "system"),
    Category("virtualization", "Виртуализация", "system"),
    Category("design", "Графика и проектирование"),
    Category("graphics", "Графические редакторы", "design"),
    Category("cad", "САПР", "design"),
    Category("multimedia", "Мультимедиа"),
    Category("video", "Видеоредакторы", "multimedia"),
    Category("audio", "Звук и музыка", "multimedia"),
    Category("photo", "Фото", "multimedia"),
    Category("disc", "Запись дисков и медиатеки", "multimedia"),
    Category("books", "Книги"),
    Category("audiobooks", "Аудиокниги", "books"),
    Category("development", "Разработка"),
    Category("ide", "Среды разработки", "development"),
)

AV = (DEVICES, TERM3, RENEWAL)
AV3 = (DEVICES3, TERM, RENEWAL)
BIZ = (USERS, TERM3, CROSSGRADE)
HOME = (DEVICES, TERM3)
"""International consumer suites: any device count, one to three years."""


def _one_c_name(title: str, edition: str) -> str:
    """1С's own naming: '1С:Бухгалтерия 8 ПРОФ. Электронная поставка'."""
    if edition == "Базовая":
        return f"1С:{title}. Базовая версия. Электронная поставка"
    return f"1С:{title} {edition}. Электронная поставка"


def _vendor(vid: str, name: str, website: str, prefix: str, *lines: Line) -> VendorLines:
    return VendorLines(Vendor(vid, name, website), prefix, lines)


VENDORS: tuple[VendorLines, ...] = (
    _vendor(
        "1c",
        "1С",
        "https://1c.ru",
        "1C",
        *(
            Line(
                f"{code}-{sku_code(edition)}",
                _one_c_name(title, edition),
                "accounting",
                round(price * factor),
                (),
                "8.3",
                key_source="pool",
            )
            for code, title, price, eds in (
                ("BUH", "Бухгалтерия 8", 4900, (("Базовая", 1.0), ("ПРОФ", 3.0), ("КОРП", 5.4))),
                (
                    "ZUP",
                    "Зарплата и управление персоналом 8",
                    9800,
                    (("Базовая", 1.0), ("ПРОФ", 2.8), ("КОРП", 6.2)),
                ),
                ("UT", "Управление торговлей 8", 11200, (("Базовая", 1.0), ("ПРОФ", 3.2))),
                ("UNF", "Управление нашей фирмой 8", 8600, (("Базовая", 1.0), ("ПРОФ", 2.6))),
                ("ROZ", "Розница 8", 7900, (("Базовая", 1.0), ("ПРОФ", 3.1))),
                ("KA", "Комплексная автоматизация 2", 94000, (("ПРОФ", 1.0),)),
                ("ERP", "ERP Управление предприятием 2", 452000, (("ПРОФ", 1.0), ("КОРП", 1.8))),
                ("DO", "Документооборот 8", 24000, (("ПРОФ", 1.0), ("КОРП", 4.0))),
                (
                    "BGU",
                    "Бухгалтерия государственного учреждения 8",
                    13400,
                    (("Базовая", 1.0), ("ПРОФ", 2.3)),
                ),
                ("MED", "Медицина. Больничная аптека", 52000, (("ПРОФ", 1.0),)),
            )
            for edition, factor in eds
        ),
        Line(
            "CL",
            "1С:Предприятие 8. Клиентская лицензия",
            "accounting",
            6300,
            (WORKPLACES,),
            "8.3",
            key_source="pool",
        ),
        Line(
            "SRV",
            "1С:Предприятие 8.3. Серверная лицензия",
            "accounting",
            86400,
            (editions(("x32", 1.0), ("x64", 1.9)),),
            "8.3",
            key_source="pool",
        ),
        Line(
            "ITS",
            "1С:ИТС ПРОФ. Электронная поставка",
            "accounting",
            10800,
            ((("3 месяца", "3M", 1.0), ("6 месяцев", "6M", 1.9), ("12 месяцев", "12M", 3.6)),),
            key_source="vendor_api",
            required=(INN,),
        ),
        Line(
            "OTCH",
            "1С-Отчетность",
            "e-reporting",
            4800,
            (editions(("ИП", 1.0), ("ЮЛ на ОСНО", 2.1), ("ЮЛ на УСН", 1.6)),),
            key_source="vendor_api",
            required=(INN,),
        ),
    ),
    _vendor(
        "1c-bitrix",
        "1С-Битрикс",
        "https://www.1c-bitrix.ru",
        "BX",
        Line(
            "SM",
            "1С-Битрикс: Управление сайтом",
            "collaboration",
            5400,
            (
                editions(
                    ("Старт", 1.0), ("Стандарт", 3.0), ("Малый бизнес", 6.5), ("Бизнес", 13.0)
                ),
                LICENCE,
            ),
            "24",
        ),
        Line(
            "B24",
            "Битрикс24",
            "collaboration",
            2490,
            (editions(("Базовый", 1.0), ("Стандартный", 2.8), ("Профессиональный", 5.6)), MONTHLY),
            kind="subscription",
        ),
    ),
    _vendor(
        "kaspersky",
        "Kaspersky",
        "https://www.kaspersky.ru",
        "KL",
        Line("KSTD", "Kaspersky Standard", "antivirus", 1390, AV, "2026"),
        Line("KPLUS", "Kaspersky Plus", "antivirus", 1990, AV, "2026"),
        Line("KPREM", "Kaspersky Premium", "antivirus", 2690, AV, "2026"),
        Line("KIS", "Kaspersky Internet Security", "antivirus", 1790, AV, "2021"),
        Line("KTS", "Kaspersky Total Security", "antivirus", 2190, AV, "2021"),
        Line("KAV", "Kaspersky Anti-Virus", "antivirus", 1290, AV3, "2021"),
        Line("KSK", "Kaspersky Safe Kids", "antivirus", 890, (TERM, RENEWAL), "2026"),
        Line("KPM", "Kaspersky Password Manager", "antivirus", 990, (TERM, RENEWAL), "2026"),
        Line(
            "KVPN",
            "Kaspersky VPN Secure Connection",
            "network-security",
            1490,
            (DEVICES3, TERM),
            "2026",
        ),
        Line(
            "KSOS",
            "Kaspersky Small Office Security",
            "business-security",
            5900,
            (
                (
                    ("5 ПК, 1 файловый сервер", "5", 1.0),
                    ("10 ПК, 1 файловый сервер", "10", 1.8),
                    ("15 ПК, 1 файловый сервер", "15", 2.55),
                    ("20 ПК, 2 файловых сервера", "20", 3.3),
                    ("25 ПК, 2 файловых сервера", "25", 4.0),
                ),
                TERM,
                RENEWAL,
            ),
            "8",
            required=(PIN,),
        ),
        Line(
            "KESS",
            "Kaspersky Endpoint Security для бизнеса – Стандартный",
            "business-security",
            1480,
            BIZ,
            "12",
        ),
        Line(
            "KESA",
            "Kaspersky Endpoint Security для бизнеса – Расширенный",
            "business-security",
            2250,
            BIZ,
            "12",
        ),
        Line(
            "KESC",
            "Kaspersky Endpoint Security Cloud",
            "business-security",
            1620,
            (USERS, TERM),
            "cloud",
        ),
        Line(
            "KSFS", "Kaspersky Security для файловых серверов", "business-security", 3900, BIZ, "11"
        ),
        Line(
            "KSMS",
            "Kaspersky Security для почтовых серверов",
            "business-security",
            1350,
            BIZ,
            "9",
            key_source="pool",
        ),
        Line("KHCS", "Kaspersky Hybrid Cloud Security", "business-security", 2900, BIZ, "2"),
        Line("KSMA", "Kaspersky Systems Management", "business-security", 1100, BIZ, "15"),
    ),
    _vendor(
        "eset",
        "ESET",
        "https://www.esetnod32.ru",
        "ES",
        Line("NOD", "ESET NOD32 Антивирус", "antivirus", 1390, AV, "18"),
        Line("SS", "ESET NOD32 Smart Security", "antivirus", 1990, AV, "18"),
        Line("ISEC", "ESET Internet Security", "antivirus", 1890, AV, "18"),
        Line("SSP", "ESET Smart Security Premium", "antivirus", 2990, AV3, "18"),
        Line(
            "FAM", "ESET NOD32 Антивирус для всей семьи", "antivirus", 2390, (TERM, RENEWAL), "18"
        ),
        Line(
            "EPA", "ESET PROTECT Advanced", "business-security", 1980, BIZ, "11", key_source="pool"
        ),
        Line("EPE", "ESET PROTECT Entry", "business-security", 1460, BIZ, "11", key_source="pool"),
        Line("EPC", "ESET PROTECT Complete", "business-security", 2650, BIZ, "11"),
        Line("EMS", "ESET Mail Security", "business-security", 890, BIZ, "11"),
        Line(
            "EFS",
            "ESET Server Security",
            "business-security",
            4200,
            (
                (("1 сервер", "1S", 1.0), ("2 сервера", "2S", 1.9), ("5 серверов", "5S", 4.4)),
                TERM3,
                RENEWAL,
            ),
            "11",
        ),
    ),
    _vendor(
        "drweb",
        "Доктор Веб",
        "https://www.drweb.ru",
        "DW",
        Line("SS", "Dr.Web Security Space", "antivirus", 1690, AV, "12"),
        Line("AV", "Антивирус Dr.Web", "antivirus", 1190, AV, "12"),
        Line(
            "MOB", "Dr.Web Security Space для мобильных", "antivirus", 590, (DEVICES3, TERM), "12"
        ),
        Line(
            "DESK",
            "Dr.Web Desktop Security Suite",
            "business-security",
            1250,
            BIZ,
            "12",
            key_source="pool",
        ),
        Line("MAIL", "Dr.Web Mail Security Suite", "business-security", 790, BIZ, "12"),
        Line("GATE", "Dr.Web Gateway Security Suite", "network-security", 950, BIZ, "12"),
        Line(
            "SRV",
            "Dr.Web Server Security Suite",
            "business-security",
            5400,
            ((("1 сервер", "1S", 1.0), ("5 серверов", "5S", 4.5)), TERM, RENEWAL),
            "12",
        ),
    ),
    _vendor(
        "nano",
        "NANO Antivirus",
        "https://www.nanoav.ru",
        "NA",
        Line("PRO", "NANO Антивирус Pro", "antivirus", 690, (DEVICES, TERM3), "1.0"),
        Line("PROB", "NANO Антивирус Pro для бизнеса", "business-security", 560, BIZ, "1.0"),
    ),
    _vendor(
        "avast",
        "Avast",
        "https://www.avast.ru",
        "AV",
        Line("PREM", "Avast Premium Security", "antivirus", 1890, HOME, "24"),
        Line("ULT", "Avast Ultimate", "antivirus", 3190, HOME, "24"),
        Line("CLN", "Avast Cleanup Premium", "utilities", 1590, (DEVICES3, TERM), "24"),
        Line("VPN", "Avast SecureLine VPN", "network-security", 1690, (DEVICES3, TERM), "5"),
        Line("DRV", "Avast Driver Updater", "utilities", 1290, (DEVICES3, TERM), "24"),
    ),
    _vendor(
        "avira",
        "Avira",
        "https://www.avira.com",
        "AR",
        Line("PRIME", "Avira Prime", "antivirus", 2990, HOME, "1.1"),
        Line("IS", "Avira Internet Security", "antivirus", 1790, HOME, "1.1"),
        Line("PHANT", "Avira Phantom VPN Pro", "network-security", 1490, (TERM,), "2.40"),
    ),
    _vendor(
        "bitdefender",
        "Bitdefender",
        "https://www.bitdefender.com",
        "BD",
        Line(
            "TS", "Bitdefender Total Security", "antivirus", 2290, (DEVICES, TERM3, RENEWAL), "2026"
        ),
        Line(
            "IS",
            "Bitdefender Internet Security",
            "antivirus",
            1890,
            (DEVICES, TERM3, RENEWAL),
            "2026",
        ),
        Line(
            "AVP",
            "Bitdefender Antivirus Plus",
            "antivirus",
            1490,
            (DEVICES, TERM3, RENEWAL),
            "2026",
        ),
        Line(
            "GZB",
            "Bitdefender GravityZone Business Security",
            "business-security",
            1690,
            BIZ,
            "7",
            key_source="pool",
        ),
    ),
    _vendor(
        "trendmicro",
        "Trend Micro",
        "https://www.trendmicro.com",
        "TM",
        Line("MS", "Trend Micro Maximum Security", "antivirus", 2190, HOME, "17"),
        Line("IS", "Trend Micro Internet Security", "antivirus", 1790, HOME, "17"),
        Line("AV", "Trend Micro Antivirus+ Security", "antivirus", 1290, HOME, "17"),
        Line(
            "WFBS", "Trend Micro Worry-Free Business Security", "business-security", 1750, BIZ, "10"
        ),
    ),
    _vendor(
        "norton",
        "Norton",
        "https://ru.norton.com",
        "NT",
        Line("360S", "Norton 360 Standard", "antivirus", 1990, (TERM, RENEWAL), "22"),
        Line("360D", "Norton 360 Deluxe", "antivirus", 2790, (DEVICES3, TERM, RENEWAL), "22"),
        Line("AVP", "Norton AntiVirus Plus", "antivirus", 1490, (TERM, RENEWAL), "22"),
    ),
    _vendor(
        "mcafee",
        "McAfee",
        "https://www.mcafee.com",
        "MC",
        Line("TP", "McAfee Total Protection", "antivirus", 2190, HOME, "16"),
        Line("LS", "McAfee LiveSafe", "antivirus", 2490, (TERM,), "16"),
    ),
    _vendor(
        "malwarebytes",
        "Malwarebytes",
        "https://www.malwarebytes.com",
        "MB",
        Line("PREM", "Malwarebytes Premium", "antivirus", 2390, HOME, "5"),
        Line("TEAM", "Malwarebytes for Teams", "business-security", 2890, (USERS, TERM3), "5"),
    ),
    _vendor(
        "panda",
        "Panda Security",
        "https://www.pandasecurity.com",
        "PD",
        Line("ADV", "Panda Dome Advanced", "antivirus", 1690, HOME, "22"),
        Line("COMP", "Panda Dome Complete", "antivirus", 2290, HOME, "22"),
        Line("PREM", "Panda Dome Premium", "antivirus", 3290, HOME, "22"),
    ),
    _vendor(
        "gdata",
        "G DATA",
        "https://www.gdata.ru",
        "GD",
        Line("TS", "G DATA Total Security", "antivirus", 2490, (DEVICES, TERM3, RENEWAL), "25"),
        Line("IS", "G DATA Internet Security", "antivirus", 1990, (DEVICES, TERM3, RENEWAL), "25"),
        Line("AV", "G DATA Antivirus", "antivirus", 1490, (DEVICES, TERM3, RENEWAL), "25"),
    ),
    _vendor(
        "fsecure",
        "F-Secure",
        "https://www.f-secure.com",
        "FS",
        Line("TOT", "F-Secure Total", "antivirus", 2690, HOME, "19"),
        Line("SAFE", "F-Secure Internet Security", "antivirus", 1890, HOME, "19"),
    ),
    _vendor(
        "securitycode",
        "Код Безопасности",
        "https://www.securitycode.ru",
        "SC",
        Line(
            "SNS",
            "Secret Net Studio",
            "business-security",
            9800,
            (editions(("Стандартная", 1.0), ("Расширенная", 1.6)), PERPETUAL),
            "8.10",
            key_source="vendor_api",
            required=(INN,),
        ),
        Line("CG", "Континент-АП (клиент доступа)", "network-security", 3400, (PERPETUAL,), "4"),
    ),
    _vendor(
        "infotecs",
        "ИнфоТеКС",
        "https://infotecs.ru",
        "IT",
        Line(
            "CLI",
            "ViPNet Client",
            "network-security",
            7900,
            (editions(("4", 1.0), ("5", 1.2)), PERPETUAL),
            "5",
        ),
        Line("SAF", "ViPNet SafeBoot", "business-security", 6400, (PERPETUAL,), "3"),
    ),
    _vendor(
        "cryptopro",
        "КриптоПро",
        "https://www.cryptopro.ru",
        "CP",
        Line(
            "CSP",
            "КриптоПро CSP 5.0. Лицензия на рабочее место",
            "cryptography",
            2700,
            (PERPETUAL,),
            "5.0",
            key_source="pool",
        ),
        Line(
            "CSPS",
            "КриптоПро CSP 5.0. Серверная лицензия",
            "cryptography",
            37500,
            (PERPETUAL,),
            "5.0",
            key_source="pool",
        ),
        Line("PDF", "КриптоПро PDF", "cryptography", 1200, (PERPETUAL,), "2.0"),
        Line("OCSP", "КриптоПро OCSP Client", "cryptography", 1800, (PERPETUAL,), "2.0"),
    ),
    _vendor(
        "infowatch",
        "InfoWatch",
        "https://www.infowatch.ru",
        "IW",
        Line(
            "TM",
            "InfoWatch Traffic Monitor",
            "business-security",
            6800,
            (USERS, TERM),
            "7",
            key_source="vendor_api",
        ),
    ),
    _vendor(
        "ideco",
        "Ideco",
        "https://ideco.ru",
        "ID",
        Line(
            "UTM",
            "Ideco UTM",
            "network-security",
            21500,
            (
                (
                    ("25 пользователей", "25U", 1.0),
                    ("50 пользователей", "50U", 1.7),
                    ("100 пользователей", "100U", 2.9),
                ),
                TERM,
            ),
            "17",
        ),
    ),
    _vendor(
        "smartsoft",
        "Смарт-Софт",
        "https://www.smart-soft.ru",
        "SS",
        Line(
            "TI",
            "Traffic Inspector Next Generation",
            "network-security",
            17900,
            (
                (
                    ("10 пользователей", "10U", 1.0),
                    ("25 пользователей", "25U", 1.9),
                    ("50 пользователей", "50U", 3.1),
                ),
                PERPETUAL,
            ),
            "1.8",
        ),
    ),
    _vendor(
        "microsoft",
        "Microsoft",
        "https://www.microsoft.com",
        "MS",
        Line(
            "W11H",
            "Windows 11 Домашняя, электронная лицензия",
            "os",
            13990,
            (),
            "11",
            key_source="pool",
        ),
        Line(
            "W11P", "Windows 11 Pro, электронная лицензия", "os", 22490, (), "11", key_source="pool"
        ),
        Line("OHS", "Office для дома 2024", "office-suites", 14990, (), "2024", key_source="pool"),
        Line(
            "OHB",
            "Office для дома и бизнеса 2024",
            "office-suites",
            29990,
            (),
            "2024",
            key_source="pool",
        ),
        Line(
            "M365P",
            "Microsoft 365 персональный",
            "office-suites",
            5990,
            (TERM,),
            "365",
            key_source="pool",
        ),
        Line(
            "M365F",
            "Microsoft 365 для семьи",
            "office-suites",
            7990,
            (TERM,),
            "365",
            key_source="pool",
        ),
        Line(
            "M365B",
            "Microsoft 365 бизнес",
            "office-suites",
            690,
            (editions(("Basic", 1.0), ("Standard", 2.1), ("Premium", 3.6)), MONTHLY),
            "365",
            kind="subscription",
            key_source="vendor_api",
            required=(TENANT,),
        ),
        Line(
            "WS",
            "Windows Server 2025 Standard, 16 ядер",
            "os",
            98000,
            (editions(("Standard", 1.0), ("Datacenter", 5.6)),),
            "2025",
            key_source="pool",
        ),
        Line(
            "CAL",
            "Windows Server 2025 CAL",
            "os",
            4100,
            (
                (("User CAL", "USR", 1.0), ("Device CAL", "DEV", 0.95)),
                (("1 лицензия", "1", 1.0), ("5 лицензий", "5", 4.8)),
            ),
            "2025",
            key_source="pool",
        ),
        Line(
            "VS",
            "Visual Studio 2022",
            "ide",
            52000,
            (editions(("Professional", 1.0), ("Enterprise", 6.4)),),
            "2022",
            key_source="pool",
        ),
        Line(
            "PRJ",
            "Project 2024",
            "productivity",
            74000,
            (editions(("Standard", 1.0), ("Professional", 1.7)),),
            "2024",
            key_source="pool",
        ),
        Line(
            "VIS",
            "Visio 2024",
            "productivity",
            34000,
            (editions(("Standard", 1.0), ("Professional", 1.8)),),
            "2024",
            key_source="pool",
        ),
    ),
    _vendor(
        "hetman",
        "Hetman Software",
        "https://hetmanrecovery.com",
        "HS",
        *(
            Line(
                code,
                f"Hetman {title}",
                "data-recovery",
                price,
                (
                    editions(
                        ("Домашняя версия", 1.0),
                        ("Офисная версия", 2.5),
                        ("Коммерческая версия", 5.0),
                    ),
                    (("", "L", 1.0), ("продление обновлений на 1 год", "UPD", 0.35)),
                ),
                "3.2",
            )
            for code, title, price in (
                ("PR", "Partition Recovery", 2990),
                ("FR", "FAT Recovery", 1490),
                ("NR", "NTFS Recovery", 1490),
                ("PHR", "Photo Recovery", 1290),
                ("UR", "Uneraser", 1790),
                ("WR", "Word Recovery", 990),
                ("ER", "Excel Recovery", 990),
                ("OR", "Office Recovery", 1590),
                ("IR", "Internet Spy", 990),
                ("RR", "RAID Recovery", 5990),
                ("VR", "Video Recovery", 1290),
                ("MR", "Music Recovery", 990),
            )
        ),
    ),
    _vendor(
        "infraware",
        "Infraware",
        "https://www.polarisoffice.com",
        "IF",
        Line(
            "PO",
            "Polaris Office",
            "office-suites",
            1490,
            (
                editions(("Smart", 1.0), ("Pro", 2.0), ("Business", 3.2)),
                (("1 год", "1Y", 1.0), ("бессрочная лицензия", "P", 2.4)),
            ),
            "10",
        ),
        Line("POPDF", "Polaris Office PDF", "pdf-ocr", 990, (TERM,), "10"),
    ),
    _vendor(
        "abbyy",
        "ABBYY",
        "https://www.abbyy.com",
        "AB",
        Line(
            "FR16",
            "ABBYY FineReader PDF",
            "pdf-ocr",
            8990,
            (editions(("Standard", 1.0), ("Corporate", 2.1)), PERPETUAL),
            "16",
        ),
        Line(
            "FRB",
            "ABBYY FineReader PDF для бизнеса",
            "pdf-ocr",
            11490,
            (
                editions(("Standard", 1.0), ("Corporate", 1.9)),
                (
                    ("5 пользователей", "5U", 4.6),
                    ("10 пользователей", "10U", 8.7),
                    ("25 пользователей", "25U", 20.0),
                ),
                TERM,
            ),
            "16",
            key_source="vendor_api",
        ),
        Line(
            "LING",
            "ABBYY Lingvo x6",
            "translation",
            2490,
            (editions(("Домашняя", 1.0), ("Профессиональная", 3.2)),),
            "x6",
        ),
        Line("SCAN", "ABBYY Screenshot Reader", "pdf-ocr", 990, (), "11"),
    ),
    _vendor(
        "acronis",
        "Acronis",
        "https://www.acronis.com",
        "AC",
        Line(
            "CPH",
            "Acronis Cyber Protect Home Office",
            "backup",
            3190,
            (editions(("Essentials", 1.0), ("Advanced", 1.6), ("Premium", 2.6)), DEVICES3),
            "2026",
        ),
        Line(
            "CPW",
            "Acronis Cyber Protect Standard Workstation",
            "backup",
            5900,
            (TERM, RENEWAL),
            "16",
            key_source="pool",
        ),
        Line(
            "CPS",
            "Acronis Cyber Protect Standard Server",
            "backup",
            64000,
            (TERM, RENEWAL),
            "16",
            key_source="pool",
        ),
        Line("DD", "Acronis Disk Director", "utilities", 3900, (), "12.5"),
    ),
    _vendor(
        "movavi",
        "Movavi",
        "https://www.movavi.ru",
        "MV",
        Line(
            "VE",
            "Movavi Video Editor",
            "video",
            1990,
            (editions(("Персональная", 1.0), ("Бизнес", 2.8)), PERPETUAL),
            "2026",
        ),
        Line(
            "VS",
            "Movavi Video Suite",
            "video",
            3490,
            (editions(("Персональная", 1.0), ("Бизнес", 2.6)), PERPETUAL),
            "2026",
        ),
        Line(
            "PE",
            "Movavi Photo Editor",
            "photo",
            1690,
            (editions(("Персональная", 1.0), ("Бизнес", 2.6)), PERPETUAL),
            "2026",
        ),
        Line(
            "VC",
            "Movavi Video Converter",
            "video",
            1490,
            (editions(("Персональная", 1.0), ("Бизнес", 2.6)), PERPETUAL),
            "2026",
        ),
        Line(
            "SR",
            "Movavi Screen Recorder",
            "video",
            1490,
            (editions(("Персональная", 1.0), ("Бизнес", 2.6)), PERPETUAL),
            "2026",
        ),
        Line(
            "PDF",
            "Movavi PDFChef",
            "pdf-ocr",
            1590,
            (editions(("Персональная", 1.0), ("Бизнес", 2.6)), PERPETUAL),
            "2026",
        ),
        Line("UNL", "Movavi Unlimited", "video", 4990, (TERM,), "2026"),
    ),
    _vendor(
        "corel",
        "Corel",
        "https://www.coreldraw.com",
        "CR",
        Line(
            "CDGS",
            "CorelDRAW Graphics Suite",
            "graphics",
            52900,
            (
                editions(("Windows", 1.0), ("Mac", 1.0)),
                (("бессрочная лицензия", "P", 1.0), ("подписка 1 год", "1Y", 0.54)),
                LICENCE,
            ),
            "2025",
        ),
        Line("CDS", "CorelDRAW Standard", "graphics", 21900, (LICENCE,), "2024"),
        Line(
            "PSP",
            "Corel PaintShop Pro",
            "photo",
            7990,
            (editions(("Standard", 1.0), ("Ultimate", 1.4)),),
            "2023",
        ),
        Line("PAIN", "Corel Painter", "graphics", 34900, (LICENCE,), "2023"),
        Line(
            "VSP",
            "Corel VideoStudio",
            "video",
            6490,
            (editions(("Pro", 1.0), ("Ultimate", 1.3)),),
            "2023",
        ),
    ),
    _vendor(
        "winzip",
        "WinZip",
        "https://www.winzip.com",
        "WZ",
        Line("STD", "WinZip Standard", "utilities", 2990, (SEATS_EN,), "29"),
        Line("PRO", "WinZip Pro", "utilities", 4490, (SEATS_EN,), "29"),
        Line("ENT", "WinZip Enterprise", "utilities", 5490, (SEATS_EN,), "29"),
    ),
    _vendor(
        "autodesk",
        "Autodesk",
        "https://www.autodesk.com",
        "AD",
        *(
            Line(
                code,
                f"Autodesk {title}",
                cat,
                price,
                (TERM3, RENEWAL),
                "2026",
                key_source="vendor_api",
            )
            for code, title, cat, price in (
                ("ACAD", "AutoCAD", "cad", 189000),
                ("ACLT", "AutoCAD LT", "cad", 61000),
                ("REV", "Revit", "cad", 301000),
                ("3DS", "3ds Max", "graphics", 236000),
                ("MAYA", "Maya", "graphics", 236000),
                ("INV", "Inventor Professional", "cad", 258000),
                ("F360", "Fusion", "cad", 62000),
                ("CIV", "Civil 3D", "cad", 301000),
                ("NAV", "Navisworks Manage", "cad", 274000),
                ("VLT", "Vault Professional", "cad", 118000),
                ("PDC", "Product Design & Manufacturing Collection", "cad", 339000),
                ("AEC", "Architecture, Engineering & Construction Collection", "cad", 389000),
                ("MEC", "Media & Entertainment Collection", "graphics", 312000),
                ("ALI", "Alias Surface", "cad", 412000),
                ("AST", "Advance Steel", "cad", 268000),
                ("MUD", "Mudbox", "graphics", 9800),
            )
        ),
    ),
    _vendor(
        "adobe",
        "Adobe",
        "https://www.adobe.com",
        "AE",
        *(
            Line(
                code,
                f"Adobe {title}",
                cat,
                price,
                (
                    (
                        ("для частных лиц", "IND", 1.0),
                        ("для команд", "TEAM", 1.55),
                        ("для образования", "EDU", 0.4),
                    ),
                    MONTHLY,
                ),
                "2026",
                kind="subscription",
                key_source="vendor_api",
            )
            for code, title, cat, price in (
                ("CCAA", "Creative Cloud All Apps", "graphics", 6690),
                ("PS", "Photoshop", "graphics", 2490),
                ("AI", "Illustrator", "graphics", 2490),
                ("ID", "InDesign", "graphics", 2490),
                ("PR", "Premiere Pro", "video", 2490),
                ("AE", "After Effects", "video", 2490),
                ("ACP", "Acrobat Pro", "pdf-ocr", 1990),
                ("ACS", "Acrobat Standard", "pdf-ocr", 1490),
                ("LR", "Lightroom", "photo", 990),
            )
        ),
        Line(
            "PSE",
            "Adobe Photoshop Elements 2025",
            "photo",
            9490,
            (LICENCE,),
            "2025",
            key_source="pool",
        ),
        Line(
            "PRE",
            "Adobe Premiere Elements 2025",
            "video",
            9490,
            (LICENCE,),
            "2025",
            key_source="pool",
        ),
    ),
    _vendor(
        "parallels",
        "Parallels",
        "https://www.parallels.com",
        "PL",
        Line(
            "DSK",
            "Parallels Desktop для Mac",
            "virtualization",
            7990,
            (editions(("Standard", 1.0), ("Pro", 1.3), ("Business", 1.6)), TERM),
            "20",
        ),
        Line("RAS", "Parallels RAS", "remote-access", 12900, (USERS[:3], TERM), "19"),
        Line("TB", "Parallels Toolbox", "utilities", 1490, (TERM,), "6"),
    ),
    _vendor(
        "zwsoft",
        "ZWSOFT",
        "https://www.zwsoft.ru",
        "ZW",
        Line(
            "CAD",
            "ZWCAD",
            "cad",
            34900,
            (
                editions(("Standard", 1.0), ("Professional", 1.45), ("Mechanical", 2.1)),
                PERPETUAL,
                LICENCE,
            ),
            "2026",
        ),
        Line(
            "3D",
            "ZW3D",
            "cad",
            149000,
            (editions(("Lite", 1.0), ("Standard", 1.7), ("Professional", 2.6)),),
            "2026",
        ),
    ),
    _vendor(
        "ascon",
        "АСКОН",
        "https://ascon.ru",
        "AS",
        Line("K3D", "КОМПАС-3D", "cad", 159000, (PERPETUAL, LICENCE), "v23"),
        Line("KHOME", "КОМПАС-3D Home", "cad", 3490, (TERM,), "v23"),
        Line("KGR", "КОМПАС-График", "cad", 99000, (PERPETUAL, LICENCE), "v23"),
        Line("VERT", "ВЕРТИКАЛЬ", "cad", 116000, (PERPETUAL,), "2024"),
        Line("LOTS", "ЛОЦМАН:PLM", "cad", 98000, (PERPETUAL,), "2024"),
    ),
    _vendor(
        "nanosoft",
        "Нанософт",
        "https://www.nanocad.ru",
        "NS",
        Line(
            "NCAD",
            "nanoCAD",
            "cad",
            19000,
            (
                editions(
                    ("Плюс", 1.0), ("Механика", 2.5), ("BIM Строительство", 5.0), ("GeoniCS", 3.6)
                ),
                (("1 год", "1Y", 1.0), ("бессрочная лицензия", "P", 2.7)),
            ),
            "24",
        ),
    ),
    _vendor(
        "renga",
        "Renga Software",
        "https://rengabim.com",
        "RG",
        Line(
            "BIM",
            "Renga",
            "cad",
            62000,
            (
                editions(("Architecture", 1.0), ("Structure", 1.0), ("Professional", 1.6)),
                (("1 год", "1Y", 1.0), ("бессрочная лицензия", "P", 2.9)),
            ),
            "8.5",
        ),
    ),
    _vendor(
        "graphisoft",
        "Graphisoft",
        "https://graphisoft.com",
        "GS",
        Line("AC", "Archicad", "cad", 264000, (TERM3,), "28", key_source="vendor_api"),
    ),
    _vendor(
        "astra",
        "Группа Астра",
        "https://astralinux.ru",
        "AL",
        Line(
            "SE",
            "Astra Linux Special Edition",
            "os",
            19900,
            (
                editions(("Базовый", 1.0), ("Усиленный", 1.6), ("Максимальный", 2.4)),
                (("рабочая станция", "WS", 1.0), ("сервер", "SRV", 3.2)),
                (("1 год", "1Y", 0.42), ("бессрочная лицензия", "P", 1.0)),
            ),
            "1.8",
            key_source="vendor_api",
            required=(INN,),
        ),
        Line(
            "CE",
            "Astra Linux Common Edition",
            "os",
            7900,
            ((("рабочая станция", "WS", 1.0), ("сервер", "SRV", 2.8)),),
            "2.12",
        ),
        Line("BRS", "RuBackup", "backup", 24900, (PERPETUAL,), "2.2"),
    ),
    _vendor(
        "basealt",
        "Базальт СПО",
        "https://www.basealt.ru",
        "BA",
        Line("WS", "Альт Рабочая станция", "os", 5900, (PERPETUAL,), "10"),
        Line("SRV", "Альт Сервер", "os", 19900, (PERPETUAL,), "10"),
        Line("EDU", "Альт Образование", "os", 2900, (), "10"),
    ),
    _vendor(
        "redsoft",
        "РЕД СОФТ",
        "https://redos.red-soft.ru",
        "RS",
        Line("OSW", "РЕД ОС, рабочая станция", "os", 6900, (PERPETUAL,), "8"),
        Line("OSS", "РЕД ОС, сервер", "os", 22900, (PERPETUAL,), "8"),
    ),
    _vendor(
        "myoffice",
        "МойОфис",
        "https://myoffice.ru",
        "MO",
        Line(
            "STD",
            "МойОфис Стандартный",
            "office-suites",
            6900,
            (LICENCE, (("бессрочная лицензия", "P", 1.0), ("подписка 1 год", "1Y", 0.42))),
            "3.1",
        ),
        Line(
            "PRO",
            "МойОфис Профессиональный",
            "office-suites",
            12900,
            (LICENCE, (("бессрочная лицензия", "P", 1.0), ("подписка 1 год", "1Y", 0.42))),
            "3.1",
        ),
        Line(
            "PRIV",
            "МойОфис Частное Облако",
            "collaboration",
            490,
            (MONTHLY,),
            "3",
            kind="subscription",
        ),
    ),
    _vendor(
        "r7",
        "Р7-Офис",
        "https://r7-office.ru",
        "R7",
        Line(
            "PRO",
            "Р7-Офис. Профессиональный (десктопная версия)",
            "office-suites",
            5400,
            (LICENCE, PERPETUAL),
            "2024",
        ),
        Line(
            "CORP",
            "Р7-Офис. Корпоративный (сервер)",
            "collaboration",
            8900,
            (USERS[:4], TERM),
            "2024",
        ),
    ),
    _vendor(
        "paragon",
        "Paragon Software",
        "https://www.paragon-software.com",
        "PG",
        Line(
            "HDM",
            "Paragon Hard Disk Manager",
            "backup",
            5490,
            (editions(("Advanced", 1.0), ("Business", 2.2)),),
            "17",
        ),
        Line("NTFS", "Paragon NTFS for Mac", "utilities", 1490, (), "15"),
        Line("APFS", "Paragon APFS for Windows", "utilities", 1690, (), "3"),
        Line("BR", "Paragon Backup & Recovery", "backup", 2990, (), "17"),
        Line("PM", "Paragon Partition Manager", "utilities", 2490, (), "17"),
    ),
    _vendor(
        "aomei",
        "AOMEI",
        "https://www.aomeitech.com",
        "AO",
        Line(
            "BKP",
            "AOMEI Backupper",
            "backup",
            2990,
            (
                editions(("Professional", 1.0), ("Workstation", 1.6), ("Server", 3.6)),
                (("1 year", "1Y", 1.0), ("lifetime", "LT", 1.8)),
            ),
            "8",
        ),
        Line(
            "PA",
            "AOMEI Partition Assistant",
            "utilities",
            2690,
            (
                editions(("Professional", 1.0), ("Server", 2.9), ("Unlimited", 5.5)),
                (("1 year", "1Y", 1.0), ("lifetime", "LT", 1.8)),
            ),
            "10",
        ),
    ),
    _vendor(
        "easeus",
        "EaseUS",
        "https://www.easeus.com",
        "EU",
        Line(
            "DRW",
            "EaseUS Data Recovery Wizard",
            "data-recovery",
            5990,
            (
                editions(("Pro", 1.0), ("Technician", 4.0)),
                (("1 month", "1M", 0.5), ("1 year", "1Y", 1.0), ("lifetime", "LT", 1.6)),
            ),
            "18",
        ),
        Line("TODO", "EaseUS Todo Backup Home", "backup", 3490, (YEARS,), "16"),
        Line("PM", "EaseUS Partition Master Pro", "utilities", 3990, (YEARS,), "18"),
    ),
    _vendor(
        "wondershare",
        "Wondershare",
        "https://www.wondershare.com",
        "WS",
        Line(
            "FIL",
            "Wondershare Filmora",
            "video",
            4990,
            (
                (("1 year", "1Y", 1.0), ("perpetual", "P", 1.7)),
                (("Windows", "WIN", 1.0), ("Mac", "MAC", 1.0)),
            ),
            "14",
        ),
        Line(
            "PDFE",
            "Wondershare PDFelement Pro",
            "pdf-ocr",
            6990,
            ((("1 year", "1Y", 1.0), ("perpetual", "P", 1.6)),),
            "11",
        ),
        Line("REC", "Wondershare Recoverit", "data-recovery", 5490, (YEARS,), "13"),
        Line("UNI", "Wondershare UniConverter", "video", 3990, (YEARS,), "16"),
        Line("DRF", "Wondershare Dr.Fone", "utilities", 4490, (YEARS,), "13"),
    ),
    _vendor(
        "nitro",
        "Nitro",
        "https://www.gonitro.com",
        "NI",
        Line("PRO", "Nitro PDF Pro", "pdf-ocr", 12990, (SEATS_EN, PERPETUAL), "14"),
    ),
    _vendor(
        "foxit",
        "Foxit",
        "https://www.foxit.com",
        "FX",
        Line(
            "EDS",
            "Foxit PDF Editor",
            "pdf-ocr",
            9990,
            (editions(("Standard", 1.0), ("Pro", 1.4)), PERPETUAL, LICENCE),
            "2025",
        ),
        Line(
            "EDC",
            "Foxit PDF Editor+ подписка",
            "pdf-ocr",
            690,
            (MONTHLY,),
            "2025",
            kind="subscription",
        ),
    ),
    _vendor(
        "teamviewer",
        "TeamViewer",
        "https://www.teamviewer.com",
        "TV",
        Line(
            "TV",
            "TeamViewer",
            "remote-access",
            2690,
            (
                editions(
                    ("Remote Access", 1.0), ("Business", 2.5), ("Premium", 5.0), ("Corporate", 9.5)
                ),
                MONTHLY,
            ),
            "15",
            kind="subscription",
            key_source="vendor_api",
        ),
    ),
    _vendor(
        "anydesk",
        "AnyDesk",
        "https://anydesk.com",
        "AN",
        Line(
            "AD",
            "AnyDesk",
            "remote-access",
            1490,
            (
                editions(("Solo", 1.0), ("Standard", 2.3), ("Advanced", 4.9), ("Ultimate", 8.6)),
                MONTHLY,
            ),
            "9",
            kind="subscription",
        ),
    ),
    _vendor(
        "splashtop",
        "Splashtop",
        "https://www.splashtop.com",
        "SP",
        Line(
            "BA",
            "Splashtop Business Access",
            "remote-access",
            5990,
            (editions(("Solo", 1.0), ("Pro", 1.5)), YEARS),
            "3",
        ),
        Line(
            "RS",
            "Splashtop Remote Support",
            "remote-access",
            19900,
            (editions(("Plus", 1.0), ("Premium", 1.6)), YEARS),
            "3",
        ),
    ),
    _vendor(
        "ashampoo",
        "Ashampoo",
        "https://www.ashampoo.com",
        "AS2",
        *(
            Line(
                code,
                f"Ashampoo {title}",
                cat,
                price,
                (PCS, (("полная версия", "FULL", 1.0), ("обновление", "UPG", 0.55))),
                ver,
            )
            for code, title, cat, price, ver in (
                ("WO", "WinOptimizer 27", "utilities", 1990, "27"),
                ("BURN", "Burning Studio 26", "disc", 1990, "26"),
                ("PHO", "Photo Optimizer 11", "photo", 1490, "11"),
                ("SNAP", "Snap 16", "utilities", 1990, "16"),
                ("BKP", "Backup Pro 26", "backup", 2490, "26"),
                ("OFF", "Office 9", "office-suites", 2490, "9"),
                ("ZIP", "ZIP Pro 4", "utilities", 1490, "4"),
                ("UNI", "UnInstaller 14", "utilities", 1490, "14"),
                ("MUS", "Music Studio 11", "audio", 1490, "11"),
                ("PDF", "PDF Pro 4", "pdf-ocr", 2490, "4"),
                ("CAD", "3D CAD Professional 11", "cad", 4990, "11"),
                ("VIDEO", "Video Optimizer Pro 3", "video", 1990, "3"),
            )
        ),
    ),
    _vendor(
        "cyberlink",
        "CyberLink",
        "https://www.cyberlink.com",
        "CL",
        Line("PD", "CyberLink PowerDirector 365", "video", 5490, (YEARS,), "23"),
        Line("PDU", "CyberLink PowerDirector Ultimate", "video", 7990, (), "23"),
        Line("PHD", "CyberLink PhotoDirector 365", "photo", 3990, (YEARS,), "16"),
        Line("DIR", "CyberLink Director Suite 365", "video", 9990, (YEARS,), "23"),
        Line("PDVD", "CyberLink PowerDVD Ultra", "disc", 5490, (), "23"),
        Line("AUD", "CyberLink AudioDirector 365", "audio", 3990, (YEARS,), "14"),
    ),
    _vendor(
        "nero",
        "Nero",
        "https://www.nero.com",
        "NE",
        Line(
            "PLAT",
            "Nero Platinum Suite",
            "disc",
            4990,
            ((("бессрочная лицензия", "P", 1.0), ("1 год", "1Y", 0.65)),),
            "2025",
        ),
        Line("BURN", "Nero Burning ROM", "disc", 2990, (), "2025"),
        Line("VID", "Nero Video", "video", 2490, (), "2025"),
        Line("AI", "Nero AI Image Upscaler", "photo", 2490, (YEARS,), "2025"),
    ),
    _vendor(
        "magix",
        "MAGIX",
        "https://www.magix.com",
        "MX",
        Line(
            "VEG",
            "VEGAS Pro",
            "video",
            29900,
            (editions(("Edit", 1.0), ("Suite", 1.5), ("Post", 2.0)),),
            "22",
        ),
        Line(
            "MM",
            "MAGIX Music Maker",
            "audio",
            4990,
            (editions(("Plus", 1.0), ("Premium", 1.8)),),
            "2025",
        ),
        Line("SF", "SOUND FORGE Pro", "audio", 29900, (), "18"),
        Line(
            "VDL",
            "MAGIX Video deluxe",
            "video",
            6990,
            (editions(("Plus", 1.0), ("Premium", 1.5)),),
            "2025",
        ),
    ),
    _vendor(
        "steinberg",
        "Steinberg",
        "https://www.steinberg.net",
        "SB",
        Line(
            "CUB",
            "Cubase",
            "audio",
            14900,
            (
                editions(("Elements 14", 1.0), ("Artist 14", 3.0), ("Pro 14", 5.6)),
                (("полная версия", "FULL", 1.0), ("обновление", "UPG", 0.45)),
            ),
            "14",
        ),
        Line(
            "WL", "WaveLab", "audio", 9900, (editions(("Elements 12", 1.0), ("Pro 12", 5.0)),), "12"
        ),
        Line("DOR", "Dorico", "audio", 9900, (editions(("Elements 5", 1.0), ("Pro 5", 5.0)),), "5"),
    ),
    _vendor(
        "imageline",
        "Image-Line",
        "https://www.image-line.com",
        "IL",
        Line(
            "FL",
            "FL Studio",
            "audio",
            9990,
            (
                editions(
                    ("Fruity", 1.0), ("Producer", 1.8), ("Signature", 2.6), ("All Plugins", 4.5)
                ),
            ),
            "2025",
        ),
    ),
    _vendor(
        "serif",
        "Serif",
        "https://affinity.serif.com",
        "SE",
        Line(
            "AFF",
            "Affinity",
            "graphics",
            6990,
            (
                editions(
                    ("Photo 2", 1.0),
                    ("Designer 2", 1.0),
                    ("Publisher 2", 1.0),
                    ("Universal Licence", 2.3),
                ),
                (("Windows", "WIN", 1.0), ("Mac", "MAC", 1.0)),
            ),
            "2",
        ),
    ),
    _vendor(
        "zoner",
        "Zoner",
        "https://www.zoner.com",
        "ZN",
        Line("ZPS", "Zoner Studio", "photo", 4990, (YEARS,), "X"),
    ),
    _vendor(
        "mindjet",
        "Mindjet",
        "https://www.mindjet.com",
        "MJ",
        Line(
            "MM",
            "MindManager",
            "productivity",
            22900,
            (
                editions(("Windows", 1.0), ("Mac", 0.8), ("Essentials", 0.35)),
                (("бессрочная лицензия", "P", 1.0), ("подписка 1 год", "1Y", 0.5)),
            ),
            "24",
        ),
    ),
    _vendor(
        "readdle",
        "Readdle",
        "https://readdle.com",
        "RD",
        Line("PDFE", "PDF Expert", "pdf-ocr", 6990, (YEARS,), "3"),
        Line("SPARK", "Spark Premium", "productivity", 690, (MONTHLY,), "3", kind="subscription"),
        Line("SCAN", "Scanner Pro", "pdf-ocr", 1990, (YEARS,), "8"),
        Line("DOCS", "Documents Plus", "productivity", 990, (YEARS,), "8"),
    ),
    _vendor(
        "promt",
        "PROMT",
        "https://www.promt.ru",
        "PT",
        Line(
            "PRO",
            "PROMT Professional",
            "translation",
            9900,
            (
                editions(("Базовый", 1.0), ("Гигант", 2.2)),
                (("Домашний", "HOME", 0.5), ("Коммерческий", "COM", 1.0)),
            ),
            "23",
        ),
        Line("EXP", "PROMT Expert NMT", "translation", 29900, (), "23"),
    ),
    _vendor(
        "iobit",
        "IObit",
        "https://www.iobit.com",
        "IO",
        *(
            Line(code, f"IObit {title}", cat, price, (PCS, YEARS), ver)
            for code, title, cat, price, ver in (
                ("ASC", "Advanced SystemCare 18 PRO", "utilities", 1490, "18"),
                ("DB", "Driver Booster 12 PRO", "utilities", 1290, "12"),
                ("UNI", "IObit Uninstaller 14 PRO", "utilities", 1190, "14"),
                ("SDF", "Smart Defrag 10 PRO", "utilities", 990, "10"),
                ("MB", "Malware Fighter 12 PRO", "antivirus", 1390, "12"),
            )
        ),
    ),
    _vendor(
        "auslogics",
        "Auslogics",
        "https://www.auslogics.com",
        "AU",
        Line("BS", "Auslogics BoostSpeed 14", "utilities", 1990, (PCS, YEARS), "14"),
        Line("DU", "Auslogics Driver Updater", "utilities", 1490, (PCS, YEARS), "2"),
    ),
    _vendor(
        "stardock",
        "Stardock",
        "https://www.stardock.com",
        "ST",
        Line("FEN", "Stardock Fences 6", "utilities", 990, (), "6"),
        Line("S11", "Stardock Start11", "utilities", 1190, (), "2"),
        Line("OD", "Stardock Object Desktop", "utilities", 3490, (YEARS,), "2025"),
    ),
    _vendor(
        "kontur",
        "СКБ Контур",
        "https://kontur.ru",
        "KT",
        Line(
            "EXT",
            "Контур.Экстерн",
            "e-reporting",
            4900,
            (
                editions(
                    ("ИП на УСН", 1.0), ("ЮЛ на УСН", 1.6), ("ЮЛ на ОСНО", 2.4), ("Бюджетник", 2.0)
                ),
                TERM,
            ),
            "2026",
            key_source="vendor_api",
            required=(INN,),
        ),
        Line(
            "DIAD",
            "Контур.Диадок",
            "e-reporting",
            3900,
            (editions(("Базовый", 1.0), ("Бизнес", 2.7)), TERM),
            "2026",
            key_source="vendor_api",
            required=(INN,),
        ),
    ),
    _vendor(
        "tensor",
        "Тензор",
        "https://sbis.ru",
        "TZ",
        Line(
            "OTCH",
            "СБИС Электронная отчётность",
            "e-reporting",
            3500,
            (editions(("ИП", 1.0), ("ЮЛ на УСН", 1.7), ("ЮЛ на ОСНО", 2.4)), TERM),
            "2026",
            key_source="vendor_api",
            required=(INN,),
        ),
    ),
    _vendor(
        "yandex",
        "Яндекс 360",
        "https://360.yandex.ru",
        "YX",
        Line(
            "BIZ",
            "Яндекс 360 для бизнеса",
            "collaboration",
            219,
            (editions(("Базовый", 1.0), ("Оптимальный", 1.8), ("Расширенный", 2.6)), MONTHLY),
            "2026",
            kind="subscription",
            key_source="vendor_api",
        ),
    ),
    _vendor(
        "litres",
        "ЛитРес",
        "https://www.litres.ru",
        "LR",
        *(
            Line(f"AB{index:03d}", f"{title}. Аудиокнига", "audiobooks", price, vat_rate="22")
            for index, (title, price) in enumerate(
                (
                    ("Л. Н. Толстой. Война и мир", 699),
                    ("Ф. М. Достоевский. Преступление и наказание", 449),
                    ("М. А. Булгаков. Мастер и Маргарита", 499),
                    ("А. С. Пушкин. Евгений Онегин", 299),
                    ("Н. В. Гоголь. Мёртвые души", 399),
                    ("И. С. Тургенев. Отцы и дети", 299),
                    ("А. П. Чехов. Рассказы", 249),
                    ("И. А. Гончаров. Обломов", 399),
                    ("М. Ю. Лермонтов. Герой нашего времени", 299),
                    ("Ф. М. Достоевский. Идиот", 499),
                    ("Л. Н. Толстой. Анна Каренина", 599),
                    ("И. Ильф, Е. Петров. Двенадцать стульев", 399),
                    ("А. Н. Толстой. Аэлита", 249),
                    ("Дж. Оруэлл. 1984", 449),
                    ("Э. М. Ремарк. Три товарища", 449),
                    ("Р. Брэдбери. 451 градус по Фаренгейту", 349),
                ),
                start=1,
            )
        ),
    ),
)


def _nice_price(raw: float) -> Decimal:
    """Shop-style prices: 349, 990, 1 490, 12 900, 189 000."""
    if raw < 1000:
        value = max(round(raw / 10.0) * 10 - 1, 99)
    elif raw < 100_000:
        value = round(raw / 100.0) * 100 - 10
    else:
        value = round(raw / 1000.0) * 1000
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _download_url(vendor: Vendor, sku: str) -> str:
    return f"{vendor.website}/download/esd/{sku.lower()}"


INACTIVE_SHARE = 0.015
"""About one product in seventy is discontinued but still listed (inactive)."""


def build_demo_catalog(seed: int = SEED, *, compact: bool = False) -> DemoCatalog:
    """The whole demo catalog; the same ``seed`` always gives the same catalog.

    ``compact`` keeps, of each product line, its first active option combination and every
    inactive product: every vendor, line, kind, key source, required field and VAT rate is
    still there, with the same skus, names and prices, in a tenth of the products (for test
    platforms, which would otherwise spend seconds of each start announcing 3,370 products).
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not a secret
    categories = {c.id: c for c in CATEGORIES}
    products: list[Product] = []
    for entry in VENDORS:
        for line in entry.lines:
            if line.category not in categories:
                raise ValueError(f"unknown category {line.category!r} in {line.code}")
            line_shown = False
            for combo in itertools.product(*line.options):
                labels = [label for label, _, _ in combo if label]
                codes = [code for _, code, _ in combo]
                multiplier = 1.0
                for _, _, factor in combo:
                    multiplier *= factor
                jitter = rng.uniform(0.97, 1.03)
                sku = "-".join([entry.prefix, line.code, *codes])
                name = ", ".join([line.name, *labels])
                active = rng.random() >= INACTIVE_SHARE
                if compact and active and line_shown:
                    continue
                line_shown = line_shown or active
                products.append(
                    Product(
                        sku=sku,
                        name=name,
                        vendor=entry.vendor.id,
                        version=line.version,
                        category=line.category,
                        kind=line.kind,
                        base_price=_nice_price(line.price * multiplier * jitter),
                        vat_rate=line.vat_rate,
                        download_url=_download_url(entry.vendor, sku),
                        key_source=line.key_source,
                        active=active,
                        required_fields=line.required,
                    )
                )
    return DemoCatalog(
        vendors=tuple(v.vendor for v in VENDORS),
        categories=CATEGORIES,
        products=tuple(products),
    )
