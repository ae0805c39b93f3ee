"""A cluster through the official ``kubernetes`` client, for any platform with cluster verbs.

``connection``  kubeconfig / in-cluster configuration, typed API handles
``resources``   the platform's custom-object calls (SeldonDeployment, InferenceService) and
                the child kinds, in one table
``plan``        pure decision: create, update or refuse (never overwrite a foreign deployment)
``deploy``      apply, wait for Available with progress, replace/keep/canary policies
``inventory``   list managed deployments
``cleanup``     delete (waiting for children), prune zombies and old revisions, hooks
``endpoint``    the ingress address (Istio / Ambassador), like getMasterIP.sh + getSeldon.sh
"""
