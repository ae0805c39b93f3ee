#!/usr/bin/env bash
# Print the prediction URL of a SeldonDeployment through the Istio or Ambassador gateway.
# Usage: scripts/get-seldon-endpoint.sh NAME [NAMESPACE] [--context NAME]
# Names are passed to kubectl as separate arguments and never interpreted by the shell.
set -euo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: $0 NAME [NAMESPACE] [--context NAME]" >&2
  exit 2
fi
name=$1
namespace=${2:-default}
args=()
if [[ "${3:-}" == "--context" ]]; then
  args+=(--context "$4")
fi
here=$(cd "$(dirname "$0")" && pwd)
# "--" ends kubectl's options: a name starting with "-" stays a name
kubectl "${args[@]}" -n "$namespace" get seldondeployment -o name -- "$name" >/dev/null

for candidate in istio-system/istio-ingressgateway ambassador/ambassador emissary/emissary-ingress; do
  ns=${candidate%%/*}
  svc=${candidate##*/}
  if kubectl "${args[@]}" -n "$ns" get service "$svc" >/dev/null 2>&1; then
    host=$(kubectl "${args[@]}" -n "$ns" get service "$svc" \
      -o 'jsonpath={.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}')
    if [[ -n "$host" ]]; then
      port=$(kubectl "${args[@]}" -n "$ns" get service "$svc" -o 'jsonpath={.spec.ports[?(@.port==80)].port}')
    else
      host=$("$here/get-master-ip.sh" "${args[@]}")
      port=$(kubectl "${args[@]}" -n "$ns" get service "$svc" -o 'jsonpath={.spec.ports[?(@.port==80)].nodePort}')
    fi
    printf 'http://%s:%s/seldon/%s/%s/api/v1.0/predictions\n' "$host" "${port:-80}" "$namespace" "$name"
    exit 0
  fi
done
echo "no Istio or Ambassador gateway Service found" >&2
exit 1
