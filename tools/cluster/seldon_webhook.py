"""The stand-in's validating admission webhook: the Seldon Core 1.17.1 operator's rules for a
SeldonDeployment, applied by the API server on create and update as the real webhook is.

Every rule below is read from the operator's source at tag ``operator/v1.17.1``, file
``operator/apis/machinelearning.seldon.io/v1/seldondeployment_webhook.go`` (the function named
with each rule), and refuses with the real webhook's messages, so a test that reads the refusal
passes against either. The real webhook has no defaulting step: it validates the object as
sent. Its response is what controller-runtime makes of the operator's ``apierrors.NewInvalid``:
``allowed: false`` with a 422 ``Invalid`` status whose message is
``SeldonDeployment.machinelearing.seldon.io "<spec.name>" is invalid: <errors>`` (the group
misspelt as the operator spells it; several errors in brackets, comma-separated).

One rule reads the cluster: a prepackaged server unit (``implementation: SKLEARN_SERVER``...)
without a container image must be named in the ``predictor_servers`` of the ConfigMap
``seldon-config`` in the operator's namespace (``getPredictorServerConfigs``). No such ConfigMap
is installed here, so, as the real webhook does without one, every such unit is refused.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LOG = logging.getLogger("seldon-standin.webhook")
PATH = "/validate-machinelearning-seldon-io-v1-seldondeployment"
"""The path the operator's kubebuilder marker registers (``+kubebuilder:webhook`` in the file)."""
NAME = "v1.vseldondeployment.kb.io"

PROTOCOLS = ("seldon", "tensorflow", "kfserving", "v2")
TRANSPORTS = ("rest", "grpc")
SERVER_TYPES = ("rpc", "kafka")
"""seldondeployment_types.go: Protocol*, Transport*, Server* constants."""
BUILTIN_IMPLEMENTATIONS = ("SIMPLE_MODEL", "SIMPLE_ROUTER", "RANDOM_ABTEST", "AVERAGE_COMBINER")
UNKNOWN_IMPLEMENTATION, UNKNOWN_TYPE = "UNKNOWN_IMPLEMENTATION", "UNKNOWN_TYPE"
NOT_FOR_TENSORFLOW = ("SKLEARN_SERVER", "XGBOOST_SERVER", "MLFLOW_SERVER", "HUGGINGFACE_SERVER")
HUGGINGFACE = "HUGGINGFACE_SERVER"
KAFKA_ENV = ("KAFKA_BROKER", "KAFKA_INPUT_TOPIC", "KAFKA_OUTPUT_TOPIC")
NO_ENGINE = "seldon.io/no-engine"
SVC_NAME = "seldon.io/svc-name"


def _invalid(path: str, value: Any, detail: str) -> str:
    """One ``field.Invalid`` error as apimachinery prints it (strings quoted, numbers bare)."""
    shown = json.dumps(value) if isinstance(value, str) else str(value)
    return f"{path}: Invalid value: {shown}: {detail}"


def _container(predictor: dict, name: str) -> dict | None:
    """GetContainerForPredictiveUnit: the first container of that name in any component spec."""
    for component in predictor.get("componentSpecs") or []:
        for container in (component.get("spec") or {}).get("containers") or []:
            if container.get("name") == name:
                return container
    return None


def _is_prepack(implementation: str) -> bool:
    """IsPrepack (prepack.go): any implementation that is not one of the executor's own."""
    return bool(implementation) and implementation not in (*BUILTIN_IMPLEMENTATIONS, UNKNOWN_IMPLEMENTATION)


def _check_unit(unit: dict, predictor: dict, path: str, protocol: str, servers: dict) -> Iterator[str]:
    """checkPredictiveUnits: the unit and, recursively, its children (``<path>[i]``)."""
    name = unit.get("name", "")
    implementation = unit.get("implementation")
    if implementation in (None, UNKNOWN_IMPLEMENTATION):
        if _container(predictor, name) is None:
            yield _invalid(path, name, "Can't find container for Predictive Unit")
        if unit.get("type") == UNKNOWN_TYPE and not unit.get("methods"):
            yield _invalid(
                path,
                name,
                "Predictive Unit has no implementation methods defined. Change to a known type or add what methods it defines",
            )
    elif _is_prepack(implementation):
        if not unit.get("modelUri") and implementation != HUGGINGFACE:
            yield _invalid(path, name, "Predictive unit modelUri required when using standalone servers")
        if protocol == "tensorflow" and implementation in NOT_FOR_TENSORFLOW:
            yield _invalid(path, name, "Prepackaged server does not handle tensorflow protocol " + implementation)
        container = _container(predictor, name)
        if (container is None or not container.get("image")) and implementation not in servers:
            yield _invalid(path, name, "No entry in predictors map for " + implementation)
    logger = unit.get("logger")
    if logger is not None and not logger.get("mode"):
        yield _invalid(path, logger.get("mode", ""), "No logger mode specified")
    for index, child in enumerate(unit.get("children") or []):
        yield from _check_unit(child, predictor, f"{path}[{index}]", protocol, servers)


def _graph_size(unit: dict) -> int:
    """sizeOfGraph."""
    return 1 + sum(_graph_size(child) for child in unit.get("children") or [])


def _endpoint_types(unit: dict) -> Iterator[str]:
    """collectTransports: the graph's ``endpoint.type`` values."""
    kind = (unit.get("endpoint") or {}).get("type")
    if kind:
        yield kind
    for child in unit.get("children") or []:
        yield from _endpoint_types(child)


def _check_traffic(predictors: list[dict]) -> Iterator[str]:
    """checkTraffic: shadows apart, traffic sums to 100 across several predictors; a single
    predictor's traffic, when set, is 100; at most one shadow, its traffic in [0, 100]."""
    total, shadows = 0, 0
    for predictor in predictors:
        traffic = int(predictor.get("traffic") or 0)
        if predictor.get("shadow"):
            shadows += 1
            if shadows > 1:
                yield _invalid("spec", predictor.get("name", ""), "Multiple shadows are not allowed")
            if traffic < 0 or traffic > 100:
                yield _invalid(
                    "spec",
                    predictor.get("name", ""),
                    "shadow traffic is illegal, the traffic number should be between [0, 100]",
                )
        else:
            total += traffic
    first = predictors[0].get("name", "") if predictors else ""
    if total != 100 and len(predictors) - shadows > 1:
        yield _invalid("spec", first, "Traffic must sum to 100 for multiple predictors")
    if 0 < total < 100 and len(predictors) == 1:
        yield _invalid("spec", first, "Traffic must sum be 100 for a single predictor when set")


def validation_errors(spec: dict, servers: dict | None = None) -> list[str]:
    """ValidateSeldonDeployment on ``spec`` (a SeldonDeployment's ``spec``), in its order;
    ``servers``: the prepackaged servers ``seldon-config`` names (none here)."""
    servers = servers or {}
    errors: list[str] = []
    protocol, transport, server_type = spec.get("protocol", ""), spec.get("transport", ""), spec.get("serverType", "")
    if protocol and protocol not in PROTOCOLS:
        errors.append(_invalid("spec", protocol, "Invalid protocol"))
    if transport and transport not in TRANSPORTS:
        errors.append(_invalid("spec", transport, "Invalid transport"))
    if server_type and server_type not in SERVER_TYPES:
        errors.append(_invalid("spec", server_type, "Invalid serverType"))
    predictors = spec.get("predictors") or []
    if server_type == "kafka":  # validateKafka
        for index, predictor in enumerate(predictors):
            names = {e.get("name") for e in (predictor.get("svcOrchSpec") or {}).get("env") or []}
            if len(names & set(KAFKA_ENV)) < len(KAFKA_ENV):
                errors.append(
                    _invalid(
                        f"spec.predictors[{index}]",
                        predictor.get("name", ""),
                        "For kafka please supply svcOrchSpec envs KAFKA_BROKER, KAFKA_INPUT_TOPIC, KAFKA_OUTPUT_TOPIC",
                    )
                )
    if len(predictors) == 1 and predictors[0].get("shadow"):  # validateShadow
        errors.append(
            _invalid("spec.predictors[0]", predictors[0].get("name", ""), "Shadow can not exist as only predictor")
        )
    service_names: set[str] = set()
    for index, predictor in enumerate(predictors):  # validateSvcNameAnnotations
        annotation = (predictor.get("annotations") or {}).get(SVC_NAME)
        if annotation is None:
            continue
        if annotation in service_names:
            errors.append(
                _invalid(
                    f"spec.predictors[{index}]",
                    predictor.get("name", ""),
                    f"Found duplicate service name in {SVC_NAME} with value {annotation}",
                )
            )
        service_names.add(annotation)
    if not predictors:
        errors.append(_invalid("spec", transport, "Graph contains no predictors"))
    endpoint_types: set[str] = set()
    seen: set[str] = set()
    for index, predictor in enumerate(predictors):
        graph = predictor.get("graph") or {}
        endpoint_types.update(_endpoint_types(graph))
        where = f"spec.predictors[{index}]"
        if NO_ENGINE in (predictor.get("annotations") or {}) and _graph_size(graph) > 1:
            errors.append(
                _invalid(
                    where, predictor.get("name", ""), "Running without engine only valid for single element graphs"
                )
            )
        if predictor.get("name", "") in seen:
            errors.append(_invalid(where, predictor.get("name", ""), "Duplicate predictor name"))
        seen.add(predictor.get("name", ""))
        errors.extend(_check_unit(graph, predictor, f"{where}.graph", protocol, servers))
    if len(endpoint_types) > 1:
        errors.append(
            _invalid(
                "spec", "", "Multiple endpoint.types found - can only have 1 type in graph. Please use spec.transport"
            )
        )
    elif len(endpoint_types) == 1 and transport:
        kind = next(iter(endpoint_types))
        if (kind == "REST" and transport != "rest") or (kind == "GRPC" and transport != "grpc"):
            errors.append(
                _invalid(
                    "spec",
                    "",
                    "Mixed transport types found. Remove graph endpoint.types if transport set at deployment level",
                )
            )
    errors.extend(_check_traffic(predictors))
    return errors


def refusal(spec: dict, errors: list[str]) -> str:
    """apierrors.NewInvalid's message for ``errors`` (one error bare, several in brackets)."""
    listed = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
    return f'SeldonDeployment.machinelearing.seldon.io "{spec.get("name", "")}" is invalid: {listed}'


def review(body: dict) -> dict:
    """The AdmissionReview answering ``body`` (an AdmissionReview request)."""
    request = body.get("request") or {}
    spec = (request.get("object") or {}).get("spec") or {}
    errors = validation_errors(spec) if request.get("operation") in ("CREATE", "UPDATE") else []
    response: dict[str, Any] = {"uid": request.get("uid", ""), "allowed": not errors}
    if errors:
        response["status"] = {"code": 422, "reason": "Invalid", "message": refusal(spec, errors)}
    return {
        "apiVersion": body.get("apiVersion", "admission.k8s.io/v1"),
        "kind": "AdmissionReview",
        "response": response,
    }


def serve(port: int, certificate: Path, key: Path) -> Callable[[], None]:
    """Serve the webhook over TLS on 127.0.0.1:``port`` in a thread; returns a stop function."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != PATH:
                self.send_error(404)
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                answer = json.dumps(review(body)).encode()
            except (ValueError, AttributeError) as error:
                self.send_error(400, f"not an AdmissionReview: {error}")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            LOG.debug(format, *args)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True, name="webhook").start()
    LOG.info("validating webhook on https://127.0.0.1:%d%s", port, PATH)
    return server.shutdown


def configuration(port: int, ca_bundle: bytes) -> dict:
    """The ValidatingWebhookConfiguration the operator's kubebuilder marker declares (create and
    update of seldondeployments v1, failurePolicy Fail, sideEffects None), pointed at the
    stand-in by URL with our CA, as KServe's are."""
    import base64

    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "seldon-validating-webhook-configuration"},
        "webhooks": [
            {
                "name": NAME,
                "admissionReviewVersions": ["v1", "v1beta1"],
                "sideEffects": "None",
                "failurePolicy": "Fail",
                "clientConfig": {
                    "url": f"https://127.0.0.1:{port}{PATH}",
                    "caBundle": base64.b64encode(ca_bundle).decode(),
                },
                "rules": [
                    {
                        "apiGroups": ["machinelearning.seldon.io"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["seldondeployments"],
                    }
                ],
            }
        ],
    }
