"""Model parameters in Seldon's typed form (``graph.parameters`` / ``PREDICTIVE_UNIT_PARAMETERS``).

Seldon passes every value as a string plus a type (INT, FLOAT, DOUBLE, STRING, BOOL) and
converts it back before calling ``Class(**parameters)``; booleans must be ``true``/``false``
text (Seldon parses them with ``strtobool``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

Scalar = str | int | float | bool


def seldon_type(value: Scalar) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT"
    if isinstance(value, float):
        return "DOUBLE"
    return "STRING"


def seldon_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def seldon_parameters(parameters: Mapping[str, Scalar]) -> list[dict[str, str]]:
    """``[{name, value, type}]`` in a stable order."""
    return [
        {"name": name, "value": seldon_value(value), "type": seldon_type(value)}
        for name, value in sorted(parameters.items())
    ]


def parameters_env(parameters: Mapping[str, Scalar]) -> str:
    """The ``PREDICTIVE_UNIT_PARAMETERS`` value the operator would set for these parameters."""
    return json.dumps(seldon_parameters(parameters))
