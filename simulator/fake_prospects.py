"""Random prospects with realistic, deterministic data: names, companies, cities, snippets and labels."""

from __future__ import annotations

import unicodedata
from functools import cache

from .model import WRITABLE_FIELDS, Prospect
from .rand import FastRandom

FIRST = (
    "Anna",
    "Piotr",
    "Erlich",
    "Jared",
    "Monica",
    "Gilfoyle",
    "Zoë",
    "José",
    "Łukasz",
    "Søren",
    "Chloé",
    "Mateusz",
    "Olivia",
    "Liam",
    "Ava",
    "Noah",
    "Émile",
    "Dinesh",
    "Richard",
    "Laurie",
)
LAST = (
    "Nowak",
    "Bachman",
    "Dunn",
    "Hall",
    "Chugtai",
    "Hendricks",
    "Kowalski",
    "Müller",
    "García",
    "Smith",
    "Johnson",
    "Brown",
    "Wiśniewska",
    "Dubois",
    "Rossi",
    "Novák",
    "O'Brien",
    "Lee",
)
INDUSTRIES = ("IT", "Software as a Service", "Marketing", "Finance", "Healthcare", "Education", "Retail", "")
TITLES = ("CEO", "CTO", "Head of Sales", "VP Marketing", "Founder", "RevOps Manager", "SDR", "")
CITIES = (
    ("Palo Alto", "California", "United States"),
    ("Warsaw", "Mazowieckie", "Poland"),
    ("Berlin", "Berlin", "Germany"),
    ("London", "", "United Kingdom"),
    ("Kraków", "Małopolskie", "Poland"),
    ("Austin", "Texas", "United States"),
    ("", "", ""),
)
TAGS = ("", "#VISIONARY", "#VIP", "#TRIAL", "#VIP #SECONDARYEMAIL", "#INBOUND", "")
LABELS = ("custom_snippet", "pain point", "Last Event")
WORDS = (
    "Pied",
    "Piper",
    "Hooli",
    "Aviato",
    "Bachmanity",
    "Raviga",
    "Endframe",
    "Nucleus",
    "Maleant",
    "Sliceline",
    "Gavin",
    "Belson",
    "Coleman",
    "Blaine",
    "Intersite",
    "Optimoji",
    "Tres",
    "Comas",
)


def _company(index: int) -> tuple[str, str, int]:
    """Name, domain and organization id of company number `index` (a pure function of the index)."""
    name = f"{WORDS[(index * 7) % len(WORDS)]} {WORDS[(index // len(WORDS) * 5 + index) % len(WORDS)]}"
    domain = name.lower().replace(" ", "") + f"{index}.com"
    return name, domain, 654_000_000 + index


@cache
def _email_local(first: str, last: str) -> str:
    """`first.last` in lower-case ASCII, as mail servers would accept it."""
    local = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode().lower()
    return local.replace("'", "")


def make_prospect(rng: FastRandom, ts: int, pid: int, account_size: int) -> Prospect:
    """Prospect `pid` with data drawn from `rng`, created at `ts`.

    An account of `account_size` prospects has one company for every four of them.
    """
    company, domain, org_id = _company(rng.randrange(max(1, account_size // 4)))
    first, last = FIRST[rng.randrange(len(FIRST))], LAST[rng.randrange(len(LAST))]
    city, state, country = CITIES[rng.randrange(len(CITIES))]
    fields = dict.fromkeys(WRITABLE_FIELDS, "")
    fields.update(
        email=f"{_email_local(first, last)}.{pid % 100_000}@{domain}",
        first_name=first,
        last_name=last if rng.random() > 0.05 else "",
        company=company,
        industry=INDUSTRIES[rng.randrange(len(INDUSTRIES))],
        website=f"https://{domain}",
        linkedin_url=f"https://linkedin.com/in/{first.lower()}-{pid}" if rng.random() < 0.6 else "",
        tags=TAGS[rng.randrange(len(TAGS))],
        title=TITLES[rng.randrange(len(TITLES))],
        phone=f"+48 {rng.randint(500, 899)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
        if rng.random() < 0.5
        else "",
        city=city,
        state=state,
        country=country,
    )
    if rng.random() < 0.7:
        fields["snippet1"] = f"You lead {company}'s outbound team"
    if rng.random() < 0.3:
        fields["snippet2"] = "A personalized sentence <br/> in two lines"
    if rng.random() < 0.1:
        fields["snippet7"] = "ä" * rng.randint(1, 5) + " long " * rng.randint(1, 40)
    labels = {LABELS[0]: fields["snippet1"]} if fields["snippet1"] else {}
    if rng.random() < 0.2:
        labels[LABELS[rng.randrange(1, len(LABELS))]] = "Visited our booth"
    return Prospect(
        id=pid,
        fields=fields,
        organization_id=org_id,
        encrypted=rng.random() < 0.01,
        snippet_labels=labels,
        created=ts,
        updated=ts,
    )
