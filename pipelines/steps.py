"""Announce dlt's extract, normalize and load steps as they start, so a user (or a test) sees the phase."""

from __future__ import annotations

from collections.abc import Callable

from dlt.common.runtime.collector_base import Collector

# dlt names its steps "Extract <source>", "Normalize <schema> in <load id>", "Load <schema> in <load id>".
VERBS = {"Extract": "Extracting", "Normalize": "Normalizing", "Load": "Loading"}


class StepAnnouncer(Collector):
    """A dlt progress collector that reports each step's start through `say` and counts nothing.

    Args:
        say: Called with one line per step, e.g. "Normalizing woodpecker" (dlt's load id is left out: it
            means nothing to a user, and `-v` logs it).
        before_load: Called as each load step starts, before it writes anything to the destination.
    """

    def __init__(self, say: Callable[[str], None], before_load: Callable[[], None] | None = None) -> None:
        self.say = say
        self.before_load = before_load
        self.step = ""
        self._announced = ""

    def update(
        self,
        name: str,
        inc: int = 1,
        total: int | None = None,
        inc_total: int | None = None,
        message: str | None = None,
        label: str | None = None,
    ) -> None:
        """Counters are not shown; the progress ticker reports rows and requests instead."""

    def _start(self, step: str) -> None:
        if step == self._announced:  # dlt enters the extract step twice (pipeline and extractor)
            return
        self._announced = step
        first, _, rest = step.partition(" ")
        rest = rest.split(" in ", 1)[0]
        if first == "Load" and self.before_load is not None:
            self.before_load()  # before the line: whoever sees "Loading" knows the marts are marked
        self.say(f"{VERBS.get(first, first)} {rest}".strip())

    def _stop(self) -> None:
        pass
