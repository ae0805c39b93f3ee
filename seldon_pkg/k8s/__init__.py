"""Seldon Core on Kubernetes through the official ``kubernetes`` client.

``connection``  kubeconfig / in-cluster configuration, typed API handles
``resources``   the SeldonDeployment custom-object calls and the child kinds, in one table
``plan``        pure decision: create, update or refuse (never overwrite a foreign deployment)
``deploy``      apply, wait for Available with progress, replace/keep/canary policies
``inventory``   list managed deployments
``cleanup``     delete (waiting for children), prune zombies and old revisions, hooks
``endpoint``    the ingress address (Istio / Ambassador), like getMasterIP.sh + getSeldon.sh
"""
