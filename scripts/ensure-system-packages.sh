#!/usr/bin/env bash
# System tools the tests and the benchmark use, from Debian's packages:
#   chromium   - Playwright drives the system browser (downloading its own build is impossible here)
#   ShellCheck, the linter that keeps the cluster scripts clean
#   nginx-light - `make bench`'s reference proxy hop (a plain nginx in front of the model process
#              the gateway fronts); without it the bench says so and skips that row
#   the embedded cluster's real node (docs/real-node.md): containerd + runc (the container
#              runtime the kubelet drives), containernetworking-plugins (the pod bridge), iptables
#              and conntrack (kube-proxy), docker-registry (the local image registry on 127.0.0.1),
#              buildah (builds images without a Docker engine), mmdebstrap (the test base image)
# Installs what is missing with apt-get when running as root; otherwise says what to install.
set -euo pipefail
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
missing=()
[[ -x "$CHROMIUM" ]] || missing+=(chromium fonts-dejavu-core)
command -v shellcheck >/dev/null || missing+=(shellcheck)
NGINX=${NGINX:-/usr/sbin/nginx}
[[ -x "$NGINX" ]] || command -v nginx >/dev/null || missing+=(nginx-light)
for tool in containerd:containerd runc:runc iptables:iptables conntrack:conntrack \
    docker-registry:docker-registry buildah:buildah mmdebstrap:mmdebstrap; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
[[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "installing Debian packages for the tests and the benchmark: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "WARNING: missing system packages for the tests and the benchmark: ${missing[*]}" >&2
echo "         install them with: sudo apt-get install ${missing[*]}" >&2
echo "         (CHROMIUM=/path/to/chromium points the browser tests at another Chromium," >&2
echo "         NGINX=/path/to/nginx the benchmark's reference hop at another nginx)" >&2
