"""A simulated KServe v0.20.0 controller in RawDeployment mode, over the double's store.

Written from KServe's controller code at tag v0.20.0:
* pkg/controller/v1beta1/inferenceservice/components/predictor.go: the predictor's objects are
  named ``constants.PredictorServiceName(isvc)`` = ``<isvc>-predictor`` and labelled
  ``serving.kserve.io/inferenceservice=<isvc>`` and ``component=predictor`` (plus
  ``predictor.labels``); reconcilers/raw: a Deployment (selector ``app=isvc.<isvc>-predictor``)
  and a Service on port 80 -> 8080, both owned by the InferenceService;
* reconcilers/ingress/kube_ingress_reconciler.go and domain.go: hosts from the default domain
  template ``{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}`` (example.com), checked with
  ``IsFullyQualifiedDomainName``: a first label over 63 characters fails (kserve issue #4807);
  ``status.url`` = ``http://<isvc>-<namespace>.example.com``;
* status: conditions PredictorReady, IngressReady, Ready; ``modelStatus`` with
  ``transitionStatus`` UpToDate, or BlockedByFailedLoad and ``lastFailureInfo`` when the model
  container crashes (images named *crashloop*).

``leak_pods_on_delete`` orphans the predictor's pods before garbage collection, like the
Seldon operator's switch.
"""

from __future__ import annotations

from tests.k8s_double.operator import MAX_NAME, SimulatedController

INGRESS_DOMAIN = "example.com"
LABEL = "serving.kserve.io/inferenceservice"


class SimulatedKServeController(SimulatedController):
    plural = "inferenceservices"
    children_label = LABEL

    def _reconcile(self, isvc: dict) -> None:
        name, namespace = isvc["metadata"]["name"], isvc["metadata"]["namespace"]
        predictor = isvc["spec"]["predictor"]
        component = f"{name}-predictor"
        labels = {
            **(predictor.get("labels") or {}),
            LABEL: name,
            "component": "predictor",
            "app": f"isvc.{component}",
        }
        problems = []
        if len(component) > MAX_NAME:
            problems.append(f'Service "{component}" is invalid: metadata.name: must be no more than 63 characters')
        host_label = f"{component}-{namespace}"
        if len(host_label) > MAX_NAME:
            problems.append(
                f'invalid domain name "{host_label}.{INGRESS_DOMAIN}": url: Invalid value: '
                "a DNS-1123 label must be no more than 63 characters"
            )
        if problems:
            self._status(namespace, name, ready=False, reason="ReconcileError", message="; ".join(problems))
            return
        replicas = int(predictor.get("minReplicas", 1) or 1)
        container = predictor["containers"][0]
        self._ensure_workload(isvc, component, namespace, labels, {"app": labels["app"]}, container, replicas)
        ports = [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
        self._ensure_service(isvc, component, namespace, labels, ports)
        self._status(namespace, name, ready=False, reason="PredictorNotReady", message="waiting for the predictor")

    def _finish(self, namespace: str, name: str) -> None:
        isvc = self._get(self.plural, namespace, name)
        if isvc is None:
            return
        conditions = (isvc.get("status") or {}).get("conditions") or []
        if any(c.get("reason") == "ReconcileError" for c in conditions):
            return
        failing = any("crashloop" in c.get("image", "") for c in isvc["spec"]["predictor"]["containers"])
        if failing:
            self._status(
                namespace,
                name,
                ready=False,
                reason="MinimumReplicasUnavailable",
                message="Deployment does not have minimum availability.",
                model={
                    "transitionStatus": "BlockedByFailedLoad",
                    "states": {"activeModelState": "", "targetModelState": "FailedToLoad"},
                    "lastFailureInfo": {"reason": "ModelLoadFailed", "message": "container kserve-container crashed"},
                },
            )
            return
        self._status(
            namespace,
            name,
            ready=True,
            model={
                "transitionStatus": "UpToDate",
                "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
            },
        )

    def _status(
        self, namespace: str, name: str, ready: bool, reason: str = "", message: str = "", model: dict | None = None
    ) -> None:
        isvc = self._get(self.plural, namespace, name)
        if isvc is None:
            return
        state = "True" if ready else "False"
        conditions = [
            {"type": kind, "status": state, **({"reason": reason, "message": message} if not ready else {})}
            for kind in ("PredictorReady", "IngressReady", "Ready")
        ]
        status: dict = {"conditions": conditions, "observedGeneration": isvc["metadata"]["generation"]}
        if ready:
            status["url"] = f"http://{name}-{namespace}.{INGRESS_DOMAIN}"
            status["address"] = {"url": f"http://{name}-predictor.{namespace}.svc.cluster.local"}
        if model is not None:
            status["modelStatus"] = model
        self.store.patch(self.plural, namespace, name, {"status": status}, status_only=True)
