"""The embedded Kubernetes control plane the cluster tests run against (``make cluster-up``).

Real components, built from pinned Go modules (one small module per component under this
folder, each with its go.sum): etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
kwok (fake nodes: pods bound to them become Running without a kubelet) and the KServe
controller with its webhooks. The Seldon Core 1 operator cannot be built here (the Go module
proxy answers 403 for every ``github.com/seldonio/seldon-core`` module), so SeldonDeployments are
reconciled by :mod:`tools.cluster.seldon_standin`, a controller of ours that runs against the
real API server like any other controller; see its docstring for what that leaves unproven.

Modules: ``components`` (what is built, from which module), ``build`` (the version-keyed binary
cache), ``pki`` (certificates and tokens), ``processes`` (start, wait, stop), ``manifests``
(CRDs, webhooks, configuration written to the API server), ``controlplane`` (up/down),
``__main__`` (the ``python -m tools.cluster`` CLI behind the make targets).
"""
