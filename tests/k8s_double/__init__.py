"""A Kubernetes API TEST DOUBLE (not a cluster): the real REST paths over HTTP on loopback.

The official ``kubernetes`` client talks to it exactly as to an API server, for the resources
seldon_pkg uses (SeldonDeployments, Deployments, ReplicaSets, Pods, Services, Nodes), with
label selectors, resourceVersion conflicts, Status errors (404, 409, 422) and delete
propagation through ownerReferences. ``operator.SimulatedSeldonOperator`` plays Seldon Core's
controller: children with the operator's names, labels and controller ownerReferences,
``status.state`` after a delay, and switches to leak pods the way users have reported.

Everything checked against it is checked against this double only; see the README for what
still needs a real cluster (scripts/kind-e2e.sh).
"""
