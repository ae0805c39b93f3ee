#!/usr/bin/env bash
# The real-cluster check (needs Docker, kind, kubectl, helm; cannot run on our CI machines):
# creates a kind cluster, installs Istio's base gateway and Seldon Core 1.17.1 with Helm,
# builds and loads the MNIST images, deploys two models with seldon-pkg, checks both answer,
# deletes one and checks that none of its pods remain.
# Usage: scripts/kind-e2e.sh [cluster-name]
set -euo pipefail
cluster=${1:-seldon-pkg-e2e}
here=$(cd "$(dirname "$0")/.." && pwd)
cli="$here/.venv/bin/seldon-pkg"
for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

kind create cluster --name "$cluster" --wait 120s
trap 'kind delete cluster --name "$cluster"' EXIT
helm repo add istio https://istio-release.storage.googleapis.com/charts >/dev/null
helm upgrade --install istio-base istio/base -n istio-system --create-namespace --wait
helm upgrade --install istiod istio/istiod -n istio-system --wait
helm upgrade --install istio-ingressgateway istio/gateway -n istio-system \
  --set service.type=NodePort --wait
"$here/scripts/install-seldon.sh" --ingress istio

for model in mnist-cnn mnist-mlp; do
  spec="$here/demo_mnist/$model.yaml"
  image=$(awk '/^image:/ {print $2}' "$spec")
  "$cli" build "$spec" --out "$here/build/$model"
  docker build -t "$image" "$here/build/$model"
  kind load docker-image "$image" --name "$cluster"
  "$cli" deploy "$spec" --target k8s --timeout 600
done

host=$("$here/scripts/get-master-ip.sh")
port=$(kubectl -n istio-system get service istio-ingressgateway -o 'jsonpath={.spec.ports[?(@.port==80)].nodePort}')
names=()
while IFS= read -r name; do names+=("$name"); done < <("$cli" list --target k8s -o json | python3 -c \
  'import json, sys; [print(d["name"]) for d in json.load(sys.stdin)]')
for name in "${names[@]}"; do
  curl -fsS -H 'Content-Type: application/json' -d @"$here/demo_mnist/samples/digit.json" \
    "http://$host:$port/seldon/default/$name/api/v1.0/predictions" | grep -q '"names"'
  echo "ok: $name answers"
done

"$cli" delete "${names[0]}" --target k8s
if [[ -n "$(kubectl get pods -l "seldon-deployment-id=${names[0]}" -o name)" ]]; then
  echo "FAIL: pods of ${names[0]} remain" >&2
  exit 1
fi
echo "ok: no pod of ${names[0]} remains; ${names[1]} still deployed"
