#!/usr/bin/env bash
# Offline validators for the Kubernetes manifests and the Helm chart
# (tests/deploy/manifests.sh), cached under the git-ignored tools/:
#   tools/bin/kubeconform   strict schema validation (Go module proxy)
#   tools/bin/helm          lint and template of deploy/helm/ggufd (Go module
#                           proxy; Helm 4, since Helm 3 is past its support
#                           window; the build takes a few minutes, once)
#   tools/kubernetes-validate/  the PyPI package kubernetes-validate, only for
#                           the Kubernetes JSON schemas it ships per version
#   tools/kubernetes-json-schema/v1.35.0-local-strict/  those schemas of one
#                           version, made loadable from files (below)
#   tools/python/           PyYAML, only where python3 lacks it (the suite
#                           stage reads the manifests with it)
# Idempotent: each step is skipped when its pinned version is already there.
set -euo pipefail
log() { printf '[setup 20-manifest-tools] %s\n' "$*" >&2; }
root=$(pwd)

kubeconform_version=v0.8.0
helm_version=v4.3.2
kubernetes_validate_version=1.37.0
pyyaml_version=6.0.3
# The oldest Kubernetes minor still supported upstream: manifests valid for it
# are valid for the newer ones too (tests/deploy/manifests.sh uses the same).
kubernetes_version=1.35.0

mkdir -p tools/bin
export GOFLAGS=-buildvcs=false

# A stamp per tool records the version it was built from, so a pin change
# rebuilds and an unchanged pin costs nothing.
installed() { [[ -x tools/bin/$1 && $(cat "tools/bin/.$1.version" 2>/dev/null) == "$2" ]]; }

if ! installed kubeconform "$kubeconform_version"; then
  log "installing kubeconform $kubeconform_version (go install)"
  GOBIN="$root/tools/bin" \
    go install "github.com/yannh/kubeconform/cmd/kubeconform@$kubeconform_version"
  echo "$kubeconform_version" > tools/bin/.kubeconform.version
fi

if ! installed helm "$helm_version"; then
  log "installing helm $helm_version (go install; slow the first time)"
  GOBIN="$root/tools/bin" go install "helm.sh/helm/v4/cmd/helm@$helm_version"
  echo "$helm_version" > tools/bin/.helm.version
fi

# Only the schemas are used (kubeconform reads them), so no dependencies.
kv=tools/kubernetes-validate
if [[ $(cat "$kv/.version" 2>/dev/null) != "$kubernetes_validate_version" ]]; then
  log "installing kubernetes-validate $kubernetes_validate_version (schemas only)"
  rm -rf "$kv"
  pip3 install -q --no-deps --disable-pip-version-check \
    --root-user-action=ignore --target "$kv" \
    "kubernetes-validate==$kubernetes_validate_version"
  echo "$kubernetes_validate_version" > "$kv/.version"
fi

# The package's schemas carry "$id": "https://kubernetes.io/api/..." and refer
# to "/api/_definitions.json#/$defs/...", which its Python code resolves from
# an in-memory registry; kubeconform would fetch that URL instead. Dropping
# the ids and making the references relative lets kubeconform resolve them
# from the file beside the schema, offline; nothing else changes.
schemas=tools/kubernetes-json-schema/v$kubernetes_version-local-strict
stamp="$kubernetes_validate_version $kubernetes_version"
if [[ $(cat "$schemas/.version" 2>/dev/null) != "$stamp" ]]; then
  log "making kubeconform-loadable schemas for Kubernetes $kubernetes_version"
  rm -rf "$schemas"
  mkdir -p "$schemas"
  python3 - "$kv/kubernetes_validate/kubernetes-json-schema/${schemas##*/}" \
    "$schemas" <<'PY'
import json, pathlib, sys
src, dst = map(pathlib.Path, sys.argv[1:])
files = sorted(src.glob("*.json"))
if not files:
    sys.exit(f"no schemas in {src}")
for f in files:
    schema = json.loads(f.read_text())
    schema.pop("$id", None)
    text = json.dumps(schema).replace('"/api/_definitions.json#',
                                      '"_definitions.json#')
    (dst / f.name).write_text(text)
PY
  echo "$stamp" > "$schemas/.version"
fi

if ! python3 -c 'import yaml' 2>/dev/null &&
   [[ $(cat tools/python/.pyyaml.version 2>/dev/null) != "$pyyaml_version" ]]; then
  log "installing PyYAML $pyyaml_version into tools/python"
  rm -rf tools/python
  pip3 install -q --disable-pip-version-check \
    --root-user-action=ignore --target tools/python "PyYAML==$pyyaml_version"
  echo "$pyyaml_version" > tools/python/.pyyaml.version
fi
