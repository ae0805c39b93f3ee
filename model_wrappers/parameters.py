"""Typed constructor parameters for wrapper classes.

Seldon builds a model as ``Class(**parameters)`` from ``PREDICTIVE_UNIT_PARAMETERS``. Declaring
the parameters as annotated class attributes (like a dataclass) lets the base class check them
once, when the object is built, and say which parameter is wrong instead of failing later in a
request::

    class MyModel(SeldonModel):
        model_uri: str              # required: no default
        threshold: float = 0.5      # optional

Values arrive already typed when the manifest gives Seldon types (INT, FLOAT, DOUBLE, STRING,
BOOL); strings are converted where the conversion is unambiguous, so ``"0.5"`` works too.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, ClassVar

_MISSING = object()
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ParameterError(ValueError):
    """A constructor parameter is unknown, missing or of the wrong type (names the parameter)."""


@dataclass(frozen=True)
class Parameter:
    """One declared parameter: its name, its Python type and its default (if any)."""

    name: str
    type: type
    default: Any = _MISSING

    @property
    def required(self) -> bool:
        return self.default is _MISSING


def declared_parameters(cls: type) -> dict[str, Parameter]:
    """The parameters ``cls`` declares: public annotated attributes that are not ``ClassVar``."""
    found: dict[str, Parameter] = {}
    for klass in reversed(cls.__mro__):
        raw = klass.__dict__.get("__annotations__", {})
        if not raw:
            continue
        hints = typing.get_type_hints(klass, include_extras=False)
        for name in raw:
            if name.startswith("_"):
                continue
            hint = hints.get(name)
            if typing.get_origin(hint) is ClassVar or hint is ClassVar:
                continue
            found[name] = Parameter(name, hints[name], klass.__dict__.get(name, _MISSING))
    return found


def coerce(parameter: Parameter, value: Any) -> Any:
    """Return ``value`` as ``parameter.type`` or raise :class:`ParameterError` naming it."""
    wanted = parameter.type
    if wanted is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
    elif wanted is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
    elif wanted is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
    elif wanted is str:
        if isinstance(value, str):
            return value
    elif isinstance(value, wanted):
        return value
    raise ParameterError(f"parameter {parameter.name!r} must be {getattr(wanted, '__name__', wanted)}, got {value!r}")


def bind_parameters(instance: object, given: dict[str, Any]) -> None:
    """Set every declared parameter of ``instance`` from ``given`` or its default.

    Unknown names are refused (a typo in a manifest should not be silently ignored), and
    required parameters must be present.
    """
    declared = declared_parameters(type(instance))
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {', '.join(unknown)} for {type(instance).__name__}; "
            f"accepted: {', '.join(sorted(declared)) or 'none'}"
        )
    for name, parameter in declared.items():
        if name in given:
            setattr(instance, name, coerce(parameter, given[name]))
        elif parameter.required:
            raise ParameterError(f"parameter {name!r} is required by {type(instance).__name__}")
