"""The statistics the dashboard shows, in Python: Wilson intervals and the two-proportion z-test.

`assets/dashboard.js` computes the same in the browser (the page filters without a server); the tests
compare the page's numbers with these functions applied to counts queried from the marts.
"""

from __future__ import annotations

import math

# 95 % two-sided normal quantile.
Z95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a rate `successes / trials` (None when `trials` is 0).

    Example:
        >>> [round(x, 4) for x in wilson_interval(10, 100)]
        [0.0552, 0.1744]
    """
    if trials <= 0:
        return None
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test of `x1/n1` against `x2/n2`.

    None when a group is empty or the pooled rate is 0 or 1 (no variance: nothing to test).

    Example:
        >>> round(two_proportion_p_value(30, 200, 15, 200), 4)
        0.0164
    """
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))
