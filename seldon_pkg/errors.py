"""The library's error types: each names what is wrong so the CLI can print it as is."""
from __future__ import annotations


class SeldonPkgError(Exception):
    """Base of every error the CLI reports as a message (exit code 2) instead of a traceback."""


class SpecError(SeldonPkgError):
    """The model spec is invalid; the message names the file, the field and the reason."""

    def __init__(self, field: str, reason: str, source: str = "spec") -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{source}: field '{field}': {reason}")


class ManifestError(SeldonPkgError):
    """A rendered manifest breaks the SeldonDeployment schema or Seldon's webhook rules."""
