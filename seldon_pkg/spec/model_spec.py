"""The model spec: one YAML file (``seldon-model.yaml``) that drives everything else.

Read once, validated completely, and turned into an immutable :class:`ModelSpec`. Every
problem is reported with the field it concerns. The folder holding the spec is the model's
source folder: it goes on the model's ``PYTHONPATH`` and relative paths in ``parameters``
resolve from it (as in Seldon's own image builder).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement

from seldon_pkg.errors import Invalid, SpecError
from seldon_pkg.spec.accelerator import Accelerator, parse_accelerator
from seldon_pkg.spec.pip_requirements import PipInput, parse_lines, requirement
from seldon_pkg.spec.platform_rules import DEFAULT_RULES, PLATFORM_NAMES, RULES
from seldon_pkg.storage.uri import StorageUriError, parse_storage_uri
from seldon_pkg.text_sinks import describe_character, forbidden_character
from seldon_pkg.values import Isolation, Protocol, did_you_mean, parse_choice

SPEC_FILENAME = "seldon-model.yaml"
MAX_SPEC_CHARS = 1024 * 1024
"""A spec is a page of YAML; past this it is refused before parsing (parse time is bounded)."""
MAX_FLOW_DEPTH = 64
"""Deepest nesting of ``[ ]``/``{ }`` a spec may have (see ``_flow_depth``)."""
WRAPPER_PATTERN = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\.[A-Za-z_]\w*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
QUANTITY = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$")
RESOURCE_KINDS = ("requests", "limits")
RUNTIMES = ("isolated", "current")
RESERVED_ENV = ("PREDICTIVE_UNIT_PARAMETERS",)

KNOWN_KEYS = {
    "name",
    "version",
    "namespace",
    "wrapper",
    "parameters",
    "image",
    "replicas",
    "resources",
    "env",
    "runtime",
    "requirements",
    "allow_pip_options",
    "protocol",
    "platform",
    "storage_uri",
    "accelerator",
    "isolation",
}
IMAGE_REFERENCE = re.compile(
    r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$"
)
"""Docker's reference grammar (registry[:port]/path[:tag][@digest]), lower-case path."""


@dataclass(frozen=True)
class ModelSpec:
    """A validated model description. ``source_dir`` is the folder of the spec file."""

    name: str
    version: str
    wrapper: str
    namespace: str = "default"
    parameters: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    image: str | None = None
    replicas: int = 1
    resources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    protocol: Protocol = Protocol.SELDON
    """``seldon`` (seldon-core-microservice) or ``v2`` (the Open Inference Protocol, MLServer)."""
    platform: str = DEFAULT_RULES.name
    """Where ``render``/``deploy --target k8s`` put it: a name in ``platforms.registry``
    (``seldon``, ``kserve``, ``seldon-v2``); ``platform_of(spec)`` gives the object."""
    storage_uri: str | None = None
    """Where the model files live when not in the image (seldon_pkg.storage.uri): the model
    folder's relative file parameters then resolve inside the downloaded folder."""
    runtime: str = "isolated"
    """Local runtime environment: ``isolated`` (built from the model's requirements) or ``current``."""
    source_dir: Path = Path(".")
    requirements: tuple[str, ...] = ()
    """The model's own pip requirements (``requirements.txt`` beside the spec, or inline),
    each one PEP 508 requirement as ``packaging`` renders it (seldon_pkg.spec.pip_requirements)."""
    pip_options: tuple[str, ...] = ()
    """Index options from ``requirements.txt``; only with ``allow_pip_options: true``."""
    accelerator: Accelerator | None = None
    """GPUs (or another device) per replica, and where such nodes are (seldon_pkg.spec.accelerator)."""
    isolation: Isolation = Isolation.SHARED
    """Local runtime only: an OIP model shares its environment's MLServer process unless this says
    ``process``; a Seldon-protocol model always has a process of its own (its server serves one)."""
    path: Path | None = field(default=None, compare=False)
    """The spec file it was read from (``None`` when built in memory)."""

    @property
    def shares_server(self) -> bool:
        """Whether the local runtime serves it in a shared MLServer process (OIP, not opted out)."""
        return self.protocol is Protocol.OIP and self.isolation is Isolation.SHARED

    @property
    def module(self) -> str:
        return self.wrapper.rsplit(".", 1)[0] if "." in self.wrapper else self.wrapper

    @property
    def class_name(self) -> str:
        return self.wrapper.rsplit(".", 1)[-1]


def spec_file(path: str | Path) -> Path:
    """The spec file itself: ``path``, or the ``seldon-model.yaml`` inside it when a folder."""
    spec_path = Path(path)
    return spec_path / SPEC_FILENAME if spec_path.is_dir() else spec_path


def load_spec(path: str | Path) -> ModelSpec:
    """Read and validate a spec file (or the ``seldon-model.yaml`` inside a folder)."""
    spec_path = spec_file(path)
    source = str(spec_path)
    try:
        text = spec_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("(file)", "not found", source) from None
    except UnicodeDecodeError as error:
        raise SpecError("(file)", f"is not UTF-8 text: {error}", source) from None
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError("(file)", f"is {len(text)} characters; a spec is at most {MAX_SPEC_CHARS}", source)
    depth = _flow_depth(text)
    if depth > MAX_FLOW_DEPTH:
        raise SpecError("(file)", f"nests [ ] or {{ }} {depth} deep; at most {MAX_FLOW_DEPTH}", source)
    try:
        raw = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        # PyYAML's constructors raise a bare ValueError for a value that matches a scalar type
        # but is not one (``2001-13-45``, ``!!int x``) and nesting can exhaust the stack
        raise SpecError("(file)", f"is not valid YAML: {type(error).__name__}: {error}", source) from None
    spec = parse_spec(raw, source_dir=spec_path.resolve().parent, source=source)
    return dataclasses.replace(spec, path=spec_path.resolve())


def spec_document(spec: ModelSpec) -> dict[str, Any]:
    """The spec as the mapping a spec file holds: ``parse_spec`` reads it back to an equal spec.

    This is how a spec built or changed in code travels (the local target sends it to the
    gateway, which validates it as it would a file). The model's requirements are written
    inline; pip options cannot be (``requirements.txt`` only), so a spec that has some is
    refused unless its folder's ``requirements.txt`` still says exactly what it holds.
    """
    document: dict[str, Any] = {
        "name": spec.name,
        "version": spec.version,
        "namespace": spec.namespace,
        "wrapper": spec.wrapper,
        "parameters": dict(spec.parameters),
        "replicas": spec.replicas,
        "resources": {kind: dict(amounts) for kind, amounts in spec.resources.items()},
        "env": dict(spec.env),
        "runtime": spec.runtime,
        "protocol": spec.protocol.value,
        "platform": spec.platform,
        "isolation": spec.isolation.value,
    }
    if spec.image is not None:
        document["image"] = spec.image
    if spec.storage_uri is not None:
        document["storage_uri"] = spec.storage_uri
    if spec.accelerator is not None:
        document["accelerator"] = spec.accelerator.document()
    urls = any(Requirement(item).url for item in spec.requirements)  # need allow_pip_options
    if spec.pip_options:
        document["allow_pip_options"] = True
        if _requirements(None, spec.source_dir, SpecError, True) != PipInput(spec.requirements, spec.pip_options):
            raise Invalid(
                "the spec's pip options cannot travel inline (requirements.txt only) and its folder's "
                "requirements.txt says something else: write the spec to a file and deploy that"
            )
    else:
        document["allow_pip_options"] = urls
        document["requirements"] = list(spec.requirements)
    return document


def _flow_depth(text: str) -> int:
    """The deepest nesting of YAML flow collections (``[``, ``{``) outside quotes and comments.

    PyYAML's scanner slows down with every unclosed one (20,000 ``[`` take 3-4 s of CPU
    before its composer hits the recursion limit; more than 10 s under the fuzzer) and
    libyaml's constructor overflows the C stack (a segfault at 60,000), so a spec is refused
    on it before either runs. A bracket in a plain scalar (``x[1]``) counts too: it
    closes again, and no real spec comes near the limit."""
    depth = deepest = 0
    quote = ""
    comment = escaped = False
    previous = "\n"
    for char in text:
        if comment:
            comment = char != "\n"
        elif quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:  # '' inside '...' closes and reopens: the same
                quote = ""
        elif char in "'\"" and previous in " \t\n[{,:":  # a quoted scalar starts; "it's" is plain
            quote = char
        elif char == "#" and previous in " \t\n":
            comment = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
        previous = char
    return deepest


def parse_spec(raw: Any, *, source_dir: Path, source: str = "spec") -> ModelSpec:
    """Validate an already-parsed spec mapping."""

    def fail(name: str, reason: str) -> SpecError:
        return SpecError(name, reason, source)

    if not isinstance(raw, dict):
        raise fail("(file)", "must be a mapping of keys to values")
    unknown = sorted(set(map(str, raw)) - KNOWN_KEYS)
    if unknown:
        hint = did_you_mean(unknown[0], KNOWN_KEYS)
        raise fail(unknown[0], f"unknown key{hint}; known keys are {', '.join(sorted(KNOWN_KEYS))}")

    name = _text(raw, "name", fail, required=True)
    version = _version(raw.get("version"), fail)
    wrapper = _text(raw, "wrapper", fail, required=True)
    if not WRAPPER_PATTERN.match(wrapper):
        raise fail("wrapper", f"must be Module.Class (e.g. MyModel.MyModel), got {wrapper!r}")
    namespace = _text(raw, "namespace", fail) or "default"
    if not DNS_LABEL.match(namespace):
        raise fail("namespace", f"must be a DNS-1123 label (lower case, digits, '-'), got {namespace!r}")
    image = _text(raw, "image", fail) or None
    if image is not None and not IMAGE_REFERENCE.match(image):
        raise fail("image", f"must be an image reference like registry.example.org/team/model:1.0, got {image!r}")
    platform_name = _text(raw, "platform", fail) or DEFAULT_RULES.name
    if platform_name not in PLATFORM_NAMES:
        raise fail(
            "platform",
            f"must be one of {', '.join(PLATFORM_NAMES)}{did_you_mean(platform_name, PLATFORM_NAMES)}, "
            f"got {platform_name!r}",
        )
    platform = RULES[platform_name]
    protocol = _protocol(_text(raw, "protocol", fail), platform.default_protocol, fail)
    storage_uri = _storage_uri(raw.get("storage_uri"), fail)
    runtime = _text(raw, "runtime", fail) or "isolated"
    if runtime not in RUNTIMES:
        raise fail("runtime", f"must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    allow_pip_options = raw.get("allow_pip_options", False)
    if not isinstance(allow_pip_options, bool):
        raise fail("allow_pip_options", f"must be true or false, got {allow_pip_options!r}")
    pip_input = _requirements(raw.get("requirements"), source_dir, fail, allow_pip_options)

    spec = ModelSpec(
        name=name,
        version=version,
        wrapper=wrapper,
        namespace=namespace,
        parameters=_parameters(raw.get("parameters"), fail),
        image=image,
        replicas=_replicas(raw.get("replicas", 1), fail),
        resources=_resources(raw.get("resources"), fail),
        env=_env(raw.get("env"), fail),
        runtime=runtime,
        protocol=protocol,
        platform=platform.name,
        storage_uri=storage_uri,
        source_dir=source_dir,
        requirements=pip_input.requirements,
        pip_options=pip_input.options,
        accelerator=parse_accelerator(raw.get("accelerator"), fail),
        isolation=_isolation(_text(raw, "isolation", fail), protocol, fail),
    )
    platform.check_spec(spec, fail)
    return spec


def _protocol(text: str, default: Protocol, fail) -> Protocol:
    if not text:
        return default
    try:
        return parse_choice(Protocol, text, "protocol")
    except Invalid:
        choices = [p.value for p in Protocol]
        raise fail(
            "protocol", f"must be one of {', '.join(choices)}{did_you_mean(text, choices)}, got {text!r}"
        ) from None


def _isolation(text: str, protocol: Protocol, fail) -> Isolation:
    """``shared`` (the default) or ``process``; a Seldon-protocol model is always ``process``, and
    asking it to share is an error rather than silently ignored."""
    if not text:
        return Isolation.SHARED if protocol is Protocol.OIP else Isolation.PROCESS
    try:
        isolation = parse_choice(Isolation, text, "isolation")
    except Invalid:
        choices = [i.value for i in Isolation]
        raise fail(
            "isolation", f"must be one of {', '.join(choices)}{did_you_mean(text, choices)}, got {text!r}"
        ) from None
    if isolation is Isolation.SHARED and protocol is not Protocol.OIP:
        raise fail(
            "isolation",
            "shared needs protocol: v2 (seldon-core-microservice serves one model per process; "
            "OIP models share an MLServer process)",
        )
    return isolation


def _text(raw: dict, key: str, fail, required: bool = False) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise fail(key, "is required")
        return ""
    if not isinstance(value, str):
        raise fail(key, f"must be a string, got {type(value).__name__} {value!r}")
    if required and not value.strip():
        raise fail(key, "must not be empty")
    return _free_text(value.strip(), key, fail)


def _free_text(value: str, key: str, fail, allow_tab: bool = False) -> str:
    """Text that travels into manifests, Dockerfiles, tables and logs (seldon_pkg.text_sinks)."""
    bad = forbidden_character(value, allow_tab=allow_tab)
    if bad is not None:
        raise fail(key, f"must not contain {describe_character(bad)}")
    return value


def _version(value: Any, fail) -> str:
    if value is None:
        raise fail("version", "is required (free text, e.g. v1)")
    if isinstance(value, bool) or isinstance(value, float):
        raise fail("version", f"write it as a quoted string (YAML read {value!r} as a {type(value).__name__})")
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise fail("version", f"must be a non-empty string, got {value!r}")
    return _free_text(value.strip(), "version", fail)


def _storage_uri(value: Any, fail) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail("storage_uri", f"must be a string, got {type(value).__name__} {value!r}")
    try:
        return parse_storage_uri(value).raw
    except StorageUriError as error:
        raise fail("storage_uri", str(error)) from None


def on_platform(spec: ModelSpec, platform: str | None) -> ModelSpec:
    """``spec`` as rendered for ``platform`` (``--platform``), checked like the spec's own key."""
    if platform is None or platform == spec.platform:
        return spec
    if platform not in PLATFORM_NAMES:
        raise SpecError("platform", f"must be one of {', '.join(PLATFORM_NAMES)}, got {platform!r}")
    moved = dataclasses.replace(spec, platform=platform)
    RULES[platform].check_spec(moved, SpecError)
    return moved


def with_image(spec: ModelSpec, image: str | None) -> ModelSpec:
    """``spec`` with its ``image`` replaced (``--image``: the tag a build just pushed), checked
    like the spec's own key."""
    if image is None or image == spec.image:
        return spec
    if not IMAGE_REFERENCE.match(image):
        raise SpecError("image", f"must be an image reference like registry.example.org/team/model:1.0, got {image!r}")
    return dataclasses.replace(spec, image=image)


def _parameters(value: Any, fail) -> dict[str, str | int | float | bool]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail("parameters", "must be a mapping of names to values")
    result: dict[str, str | int | float | bool] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise fail(f"parameters.{key}", "must be a Python identifier (it becomes a keyword argument)")
        if not isinstance(item, (str, int, float, bool)):
            raise fail(f"parameters.{key}", f"must be a string, number or boolean, got {type(item).__name__}")
        result[key] = item
    return result


def _replicas(value: Any, fail) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail("replicas", f"must be an integer, got {value!r}")
    if value < 0:
        raise fail("replicas", f"must not be negative, got {value}")
    return value


def _resources(value: Any, fail) -> dict[str, dict[str, str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail("resources", "must be a mapping with 'requests' and/or 'limits'")
    result: dict[str, dict[str, str]] = {}
    for kind, amounts in value.items():
        if kind not in RESOURCE_KINDS:
            raise fail(f"resources.{kind}", "unknown key; use 'requests' or 'limits'")
        if not isinstance(amounts, dict):
            raise fail(f"resources.{kind}", "must be a mapping like {cpu: 100m, memory: 256Mi}")
        checked: dict[str, str] = {}
        for resource, amount in amounts.items():
            text = str(amount) if isinstance(amount, (int, float)) and not isinstance(amount, bool) else amount
            if not isinstance(text, str) or not QUANTITY.match(text):
                raise fail(
                    f"resources.{kind}.{resource}", f"is not a Kubernetes quantity (e.g. 100m, 256Mi): {amount!r}"
                )
            checked[str(resource)] = text
        result[kind] = checked
    return result


def _env(value: Any, fail) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail("env", "must be a mapping of variable names to values")
    result: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not ENV_NAME.match(key):
            raise fail(f"env.{key}", "is not a valid environment variable name")
        if key in RESERVED_ENV:
            raise fail(f"env.{key}", "is set by seldon_pkg from 'parameters'; set parameters instead")
        if isinstance(item, bool):
            item = "true" if item else "false"
        if not isinstance(item, (str, int, float)):
            raise fail(f"env.{key}", f"must be a string or number, got {type(item).__name__}")
        result[key] = _free_text(str(item), f"env.{key}", fail, allow_tab=True)
    return result


def _requirements(value: Any, source_dir: Path, fail, allow_options: bool) -> PipInput:
    if value is not None:
        if not isinstance(value, list):
            raise fail("requirements", "must be a list of pip requirement strings")
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise fail(f"requirements[{index}]", f"must be a non-empty pip requirement string, got {item!r}")
        return PipInput(tuple(requirement(r, f"requirements[{i}]", fail, allow_options) for i, r in enumerate(value)))
    path = source_dir / "requirements.txt"
    if not path.exists():
        return PipInput()
    return parse_lines(path.read_text(encoding="utf-8").splitlines(), "requirements.txt", fail, allow_options)
