"""prometheus-client's private parts, in one place: whether its values really go to the
multiprocess directory (decided once, at its import, from the environment) is only known
from a private flag of its value class."""

from __future__ import annotations

from prometheus_client import values

from . import installed_version, require

require("prometheus-client", installed_version("prometheus-client"), (0, 26, 0), (0, 27, 0))


def writes_multiprocess_values() -> bool:
    """True when metric values are written to PROMETHEUS_MULTIPROC_DIR (one file per process)."""
    return bool(values.ValueClass._multiprocess)
