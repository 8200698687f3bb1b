"""Virtual time and the account's timestamp format.

The clock stands still unless advanced, so answers are reproducible. Timestamps are whole seconds
(Unix epoch integers) inside the simulator and are rendered like Woodpecker's v1 API:
`2025-03-21T08:11:35+0100`, with the account time zone's offset (which flips across DST).
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

TS_PATTERN = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-])(\d{2})(\d{2})$")


class VirtualClock:
    """Thread-safe virtual clock in whole seconds."""

    def __init__(self, start: datetime | float) -> None:
        self._lock = threading.Lock()
        self._now = int(start.timestamp()) if isinstance(start, datetime) else int(start)

    def now(self) -> datetime:
        """Current virtual time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.ts(), tz=UTC)

    def ts(self) -> int:
        """Current virtual time as epoch seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by `seconds` (rounded down to whole seconds); returns the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._now += int(seconds)
        return self.now()

    def set(self, when: datetime) -> None:
        """Move the clock to `when` (not backwards)."""
        target = int(when.timestamp())
        with self._lock:
            if target < self._now:
                raise ValueError("the clock only moves forward")
            self._now = target


class TimeFormat:
    """Renders epoch seconds in the account zone as `YYYY-MM-DDTHH:MM:SS±HHMM` (fast path, cached offsets)."""

    def __init__(self, zone: str) -> None:
        self.zone = ZoneInfo(zone)
        self._days: dict[int, str] = {}
        self._suffixes: dict[int, str] = {}
        # Offsets change only at transitions; precompute them over a wide window, probing day by day.
        self._starts: list[int] = []
        self._offsets: list[int] = []
        probe = datetime(2000, 1, 1, tzinfo=UTC)
        end = datetime(2040, 1, 1, tzinfo=UTC)
        last: int | None = None
        while probe < end:
            offset = int(probe.astimezone(self.zone).utcoffset().total_seconds())  # type: ignore[union-attr]
            if offset != last:
                self._refine(probe, last, offset)
                last = offset
            probe += timedelta(days=1)

    def _refine(self, probe: datetime, previous: int | None, offset: int) -> None:
        start = int(probe.timestamp())
        if previous is not None:
            # The change happened within the last day (zones change at most twice a year): find the second.
            low, high = start - 86_400, start
            while high - low > 1:
                mid = (low + high) // 2
                here = datetime.fromtimestamp(mid, tz=UTC).astimezone(self.zone).utcoffset()
                if int(here.total_seconds()) == offset:  # type: ignore[union-attr]
                    high = mid
                else:
                    low = mid
            start = high
        self._starts.append(start)
        self._offsets.append(offset)

    def offset(self, ts: int) -> int:
        """UTC offset in seconds at `ts`."""
        index = bisect.bisect_right(self._starts, ts) - 1
        if index < 0:
            return int(datetime.fromtimestamp(ts, tz=UTC).astimezone(self.zone).utcoffset().total_seconds())  # type: ignore[union-attr]
        return self._offsets[index]

    def format(self, ts: int) -> str:
        """`ts` as `2025-03-21T08:11:35+0100`; the empty string for a missing value (negative)."""
        if ts < 0:
            return ""
        offset = self.offset(ts)
        day, second = divmod(ts + offset, 86_400)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = self._days[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))
        suffix = self._suffixes.get(offset)
        if suffix is None:
            hours, minutes = divmod(abs(offset) // 60, 60)
            suffix = self._suffixes[offset] = f"{'+' if offset >= 0 else '-'}{hours:02d}{minutes:02d}"
        return prefix + _CLOCK_MINUTES[second // 60] + _CLOCK_SECONDS[second % 60] + suffix


# "HH:MM" of every minute of a day and ":SS" of every second of a minute, for `TimeFormat.format`.
_CLOCK_MINUTES = tuple(f"{m // 60:02d}:{m % 60:02d}" for m in range(1440))
_CLOCK_SECONDS = tuple(f":{s:02d}" for s in range(60))


def parse_api_timestamp(text: str) -> int | None:
    """Epoch seconds of `YYYY-MM-DDTHH:mm:ss±HHMM`, or None when the text does not match exactly."""
    match = TS_PATTERN.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, sign, oh, om = match.groups()
    try:
        offset = timedelta(hours=int(oh), minutes=int(om))
        zone = timezone(offset if sign == "+" else -offset)
        value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone)
    except ValueError:
        return None
    return int(value.timestamp())


def http_date(ts: int) -> str:
    """RFC 7231 date of `ts` for the `Date` header."""
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(ts))


def v2_timestamp(ts: int) -> str:
    """v2 error timestamp: `2025-03-05 17:57:00` (UTC, no offset)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))
