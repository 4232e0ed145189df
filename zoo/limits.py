"""The limits on what one call of a model may ask for, shared by the Keras models and
`zoo.runtime` (which must not import TensorFlow): how many samples, and a sampling temperature.

Example:
    >>> sample_count(16), check_temperature(0.5)
    (16, 0.5)
"""

from __future__ import annotations

import numpy as np

MAX_SAMPLES = 65536  # images per `sample` call: 205 MB of float32 pixels; ask in several calls for more
SAMPLE_CHUNK = 4096  # rows generated at a time, so a large call's activations stay bounded


def sample_count(n) -> int:
    """`n` as a number of samples: a whole number from 0 to `MAX_SAMPLES`, else a clear error."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) and not (
            isinstance(n, float) and float(n).is_integer()):
        raise TypeError(f"n must be a whole number of samples, got {n!r}")
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be a number of samples (0 or more), got {n}")
    if n > MAX_SAMPLES:
        raise ValueError(f"n={n:,} is above the {MAX_SAMPLES:,} samples one call returns ({MAX_SAMPLES * 784 * 4 >> 20} MB "
                         "of images); draw them in several calls")
    return n


def check_temperature(temperature) -> float:
    """A sampling temperature (the prior's spread is multiplied by it): a finite number from 0,
    else a clear error."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)):
        raise TypeError(f"temperature must be a number (1.0: the prior itself), got {temperature!r}")
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number from 0 (1.0: the prior itself), got {temperature!r}")
    return float(temperature)
