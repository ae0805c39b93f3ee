"""How a value from a spec or a model folder may enter something we write: one helper per sink.

Specs and model folders come from many hands, so every value that travels from them into a
file we generate or a command we print goes through exactly one function here. The rule per
sink (DESIGN §3, issue "Nothing in a spec ... can inject"):

=====================  ==========================================================================
sink                   rule
=====================  ==========================================================================
free text fields       ``check_text``: refused when it holds a control character, a line or
(name, version, env)   paragraph separator or a bidi override (the error names the field and the
                       character as U+XXXX); everything else (quotes, ``{{ }}``, ``$()``, any
                       script) is carried intact
Dockerfile ENV         ``dockerfile_env``: ``ENV KEY="value"`` with ``\\``, ``"`` and ``$``
                       escaped, so the value can neither end the instruction nor expand a variable
Dockerfile comments    ``dockerfile_comment``: text escaped to one printable line
Dockerfile ENTRYPOINT  ``dockerfile_exec``: JSON array (exec form, no shell)
printed commands       ``shell_command``: each argument ``shlex.quote``-d, so a copied line runs
                       exactly the arguments shown
requirements files     ``seldon_pkg.spec.pip_requirements``: one PEP 508 requirement per line; pip
                       options only when the spec opts in
YAML manifests         ``yaml.safe_dump`` of dicts (never string templates); labels are slugged
                       by ``naming.label_value``
JSON (env of model     ``json.dumps`` (parameters in ``PREDICTIVE_UNIT_PARAMETERS``, MLServer
processes, settings)   settings)
tables and log lines   ``tables.printable``: control and format characters shown escaped
files and folders      ``seldon_pkg.model_folder``: nothing from outside the model folder
=====================  ==========================================================================
"""

from __future__ import annotations

import json
import shlex
import unicodedata
from collections.abc import Sequence

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\u0085\u2028\u2029")


def forbidden_character(text: str, allow_tab: bool = False) -> str | None:
    """The first character of ``text`` that no free-text field may hold, or ``None``."""
    for char in text:
        if char == "\t" and allow_tab:
            continue
        if char in BIDI_CONTROLS or char in LINE_BREAKS or unicodedata.category(char) == "Cc":
            return char
    return None


def describe_character(char: str) -> str:
    name = unicodedata.name(char, "control character")
    return f"U+{ord(char):04X} ({name.lower()})"


def dockerfile_env(key: str, value: str) -> str:
    """One ``ENV`` instruction whose value the Dockerfile parser reads back exactly.

    ``key`` is already a valid variable name (spec.ENV_NAME); ``value`` has passed
    ``check_text`` (no line breaks, which a Dockerfile cannot hold inside a value).
    """
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'ENV {key}="{escaped}"'


def dockerfile_comment(text: str) -> str:
    """``# text`` on one line whatever ``text`` holds."""
    from seldon_pkg.tables import printable

    return "# " + printable(text)


def dockerfile_exec(argv: Sequence[str]) -> str:
    """The exec (JSON array) form: arguments reach the process as they are, no shell."""
    return json.dumps(list(argv), ensure_ascii=False)


def shell_command(argv: Sequence[str]) -> str:
    """A command line to print for a person to copy: pasting it runs exactly ``argv``."""
    return " ".join(shlex.quote(str(arg)) for arg in argv)
