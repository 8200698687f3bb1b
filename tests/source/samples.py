"""Documented API payloads the unit tests start from."""

from __future__ import annotations

from typing import Any

# The 200 sample of seed 002 (GET /rest/v1/prospects).
PROSPECT: dict[str, Any] = {
    "id": 1234567890,
    "email": "erlich@bachmanity.com",
    "first_name": "Erlich",
    "last_name": "Bachman",
    "company": "Bachmanity",
    "organization_id": 654321789,
    "industry": "IT",
    "website": "https://bachmanity.com",
    "linkedin_url": "https://linkedin.com/erlich-bachman",
    "tags": "#VISIONARY",
    "title": "CEO",
    "phone": "+1 987-654-321",
    "address": "700 Welch Road",
    "city": "Palo Alto",
    "state": "California",
    "country": "United States",
    "last_contacted": "2025-03-20T14:32:34+0100",
    "last replied": "2025-03-21T08:11:35+0100",
    "updated": "2025-03-21T08:11:35+0100",
    "encrypted": False,
    "snipet1": "You are running a successful startup incubator Bachmanity",
    "snipet2": "",
    "snipet3": "",
    "snipet4": "",
    **{f"snippet{i}": "" for i in range(1, 16)},
    "snippet_labels": {"custom_snippet": "You are running a successful startup incubator Bachmanity"},
    "status": "REPLIED",
}
