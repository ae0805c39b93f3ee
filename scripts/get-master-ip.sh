#!/usr/bin/env bash
# Print the address clients use to reach the cluster's nodes: the first node's ExternalIP, or
# its InternalIP when it has none (kind, bare metal). kubectl version of what
# `seldon-pkg endpoint` does through the API.
# Usage: scripts/get-master-ip.sh [--context NAME]
set -euo pipefail
args=()
if [[ "${1:-}" == "--context" ]]; then
  args+=(--context "$2")
fi
for type in ExternalIP InternalIP; do
  address=$(kubectl "${args[@]}" get nodes \
    -o "jsonpath={.items[0].status.addresses[?(@.type==\"${type}\")].address}")
  if [[ -n "$address" ]]; then
    printf '%s\n' "$address"
    exit 0
  fi
done
echo "no node reports an ExternalIP or InternalIP" >&2
exit 1
