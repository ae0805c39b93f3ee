#!/usr/bin/env bash
# Install the Seldon Core 1.17.1 operator with Helm, with Istio or Ambassador as ingress.
# Usage: scripts/install-seldon.sh [--ingress istio|ambassador] [--namespace seldon-system]
# Needs: kubectl context pointing at the cluster, helm (or .tools/helm from `make install`).
set -euo pipefail
ingress=istio
namespace=seldon-system
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ingress) ingress="$2"; shift 2 ;;
    --namespace) namespace="$2"; shift 2 ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
case "$ingress" in istio|ambassador) ;; *) echo "--ingress must be istio or ambassador" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")/.." && pwd)
helm_bin=$(command -v helm || echo "$here/.tools/helm")
[[ -x "$helm_bin" ]] || { echo "helm not found: install it or run 'make install'" >&2; exit 1; }

"$helm_bin" upgrade --install seldon-core seldon-core-operator \
  --repo https://storage.googleapis.com/seldon-charts --version 1.17.1 \
  --namespace "$namespace" --create-namespace \
  --values "$here/manifests/seldon-core/values-$ingress.yaml" --wait
if [[ "$ingress" == istio ]]; then
  kubectl apply -f "$here/manifests/seldon-core/istio-gateway.yaml"
fi
kubectl -n "$namespace" rollout status deploy/seldon-controller-manager --timeout=180s
