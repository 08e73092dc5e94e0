#!/usr/bin/env bash
# The Kubernetes manifests (deploy/k8s/) and the Helm chart (deploy/helm/ggufd/)
# under real validators, offline:
#   - kubeconform -strict against the Kubernetes 1.35 JSON schemas that the
#     PyPI package kubernetes-validate ships (made file-loadable by
#     deploy/setup.d/20-manifest-tools.sh), and the ServiceMonitor against our
#     own schema of its CRD (deploy/k8s/schemas/);
#   - helm lint --strict, and helm template piped to kubeconform, with the
#     default values and with every toggle on;
#   - copies with a misspelt field or value, which must be refused;
#   - the manifests' own arithmetic and cross-references (ports, shutdown
#     timing, probe services, metric names), and that the chart renders the
#     plain manifests;
#   - a real ggufd started with the Deployment's own arguments: every probe's
#     service must answer SERVING on the health port, and the HPA's metric
#     must be on /metrics.
# Env: GGUFD_BIN (ggufd), GGUFD_MODELS_DIR (holds the manifests' model file).
# Needs deploy/setup.sh (its setup.d/20-manifest-tools.sh and grpcurl) to have
# run. Prints one line per check and a closing "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
start_ms=$(($(date +%s%N) / 1000000))

kubernetes_version=1.35.0
kubeconform=tools/bin/kubeconform
helm=tools/bin/helm
grpcurl=tools/bin/grpcurl
k8s_schemas=tools/kubernetes-json-schema
ggufd=${GGUFD_BIN:-$root/build/service/ggufd}
models=${GGUFD_MODELS_DIR:-$root/models}
chart=deploy/helm/ggufd
# Every toggle of the chart on.
all_on=(--set autoscaling.enabled=true,networkPolicy.enabled=true,serviceMonitor.enabled=true,podDisruptionBudget.enabled=true)

passed=0
failed=0
pass() { printf 'ok    %s\n' "$1"; passed=$((passed + 1)); }
fail() { printf 'FAIL  %s\n' "$1"; [[ -n ${2:-} ]] && printf '%s\n' "$2" | sed 's/^/      /'; failed=$((failed + 1)); }

for tool in "$kubeconform" "$helm" "$grpcurl" "$ggufd"; do
  if [[ ! -x $tool ]]; then
    echo "FAIL  $tool is missing: run deploy/setup.sh (and build ggufd)"
    echo "manifests: 0 passed, 1 failed"
    exit 1
  fi
done
if [[ ! -d $k8s_schemas/v$kubernetes_version-local-strict ]]; then
  echo "FAIL  no Kubernetes $kubernetes_version schemas: run deploy/setup.d/20-manifest-tools.sh"
  echo "manifests: 0 passed, 1 failed"
  exit 1
fi

tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# kubeconform in strict mode (unknown fields and duplicate keys are errors);
# a kind without a schema is an error too (no -ignore-missing-schemas).
kc() {
  "$kubeconform" -strict -summary -kubernetes-version "$kubernetes_version" \
    -schema-location "$k8s_schemas/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "deploy/k8s/schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    "$@"
}

# expect_valid NAME FILE...: kubeconform accepts every resource.
expect_valid() {
  local name=$1 out
  shift
  if out=$(kc "$@" 2>&1); then
    pass "$name ($(grep -o '[0-9]* resources\? found' <<<"$out"))"
  else
    fail "$name" "$out"
  fi
}

# expect_refused NAME FILE SED WORD: a copy of FILE edited by SED must differ
# from it and be refused by kubeconform for the unknown field WORD.
expect_refused() {
  local name=$1 file=$2 expr=$3 word=$4 copy out
  copy="$tmp/refused-$(basename "$file")"
  sed "$expr" "$file" > "$copy"
  if cmp -s "$file" "$copy"; then
    fail "$name" "the edit '$expr' changed nothing in $file"
    return
  fi
  if out=$(kc "$copy" 2>&1); then
    fail "$name" "kubeconform accepted the misspelt copy"
  elif grep -q "additional properties '$word' not allowed" <<<"$out"; then
    pass "$name"
  else
    fail "$name" "refused, but not for '$word': $out"
  fi
}

# helm_refused NAME WORD HELM-ARGS...: helm refuses the misspelt value WORD.
helm_refused() {
  local name=$1 word=$2 out
  shift 2
  if out=$("$helm" "$@" 2>&1); then
    fail "$name" "helm accepted it"
  elif grep -q "additional properties '$word' not allowed" <<<"$out"; then
    pass "$name"
  else
    fail "$name" "refused, but not for '$word': $out"
  fi
}

echo "--- schemas (kubeconform -strict, Kubernetes $kubernetes_version)"
expect_valid "deploy/k8s/*.yaml valid" deploy/k8s/*.yaml
expect_valid "deploy/k8s/optional/servicemonitor.yaml valid (our CRD schema)" \
  deploy/k8s/optional/servicemonitor.yaml

renders_ok=1
if out=$("$helm" template ggufd "$chart" 2>&1 > "$tmp/helm-default.yaml"); then
  expect_valid "helm template (default values) valid" "$tmp/helm-default.yaml"
else
  renders_ok=0
  fail "helm template (default values)" "$out"
fi
if out=$("$helm" template ggufd "$chart" "${all_on[@]}" 2>&1 > "$tmp/helm-all.yaml"); then
  expect_valid "helm template (every toggle on) valid" "$tmp/helm-all.yaml"
else
  renders_ok=0
  fail "helm template (every toggle on)" "$out"
fi
for source in hostPath image baked; do
  if out=$("$helm" template ggufd "$chart" --set model.source=$source \
      --set model.image.reference=registry.example/models:1 2>&1 > "$tmp/helm-$source.yaml"); then
    expect_valid "helm template (model.source=$source) valid" "$tmp/helm-$source.yaml"
  else
    fail "helm template (model.source=$source)" "$out"
  fi
done

echo "--- helm lint --strict"
for variant in default all; do
  args=()
  [[ $variant == all ]] && args=("${all_on[@]}")
  if out=$("$helm" lint --strict "$chart" "${args[@]}" 2>&1); then
    pass "helm lint --strict ($variant)"
  else
    fail "helm lint --strict ($variant)" "$out"
  fi
done

echo "--- misspellings are refused"
expect_refused "readinessProbe -> readinesProbe refused" \
  deploy/k8s/deployment.yaml 's/readinessProbe:/readinesProbe:/' readinesProbe
expect_refused "containerPort -> containerport refused" \
  deploy/k8s/deployment.yaml 's/containerPort:/containerport:/' containerport
expect_refused "appProtocol -> appprotocol refused" \
  deploy/k8s/service.yaml 's/appProtocol:/appprotocol:/' appprotocol
expect_refused "ServiceMonitor scrapeTimeout -> scrapeTimout refused" \
  deploy/k8s/optional/servicemonitor.yaml 's/scrapeTimeout:/scrapeTimout:/' scrapeTimout
if ((renders_ok)); then
  expect_refused "helm output: terminationGracePeriodSeconds misspelt refused" \
    "$tmp/helm-all.yaml" 's/terminationGracePeriodSeconds:/terminationGracePeriodSecond:/' \
    terminationGracePeriodSecond
fi
helm_refused "helm lint --strict refuses --set replicaCont=3" replicaCont \
  lint --strict "$chart" --set replicaCont=3
helm_refused "helm template refuses --set autoscaling.enable=true" enable \
  template ggufd "$chart" --set autoscaling.enable=true
printf 'server:\n  gracePeriodSecond: 60\n' > "$tmp/misspelt-values.yaml"
helm_refused "helm template refuses a values file with server.gracePeriodSecond" \
  gracePeriodSecond template ggufd "$chart" -f "$tmp/misspelt-values.yaml"

echo "--- cross-references and arithmetic"
# Checks what no schema can: the numbers and names that must agree across
# objects and with ggufd's flags. Writes what the live check needs to
# $tmp/live.json.
PYTHONPATH="$root/tools/python${PYTHONPATH:+:$PYTHONPATH}" \
python3 - "$tmp" "$models" > "$tmp/crossref.out" <<'PY'
import json, pathlib, sys
import yaml

tmp, models = pathlib.Path(sys.argv[1]), sys.argv[2]
failures = 0

def check(name, ok, detail=""):
    global failures
    print(("ok    " if ok else "FAIL  ") + name)
    if not ok:
        failures += 1
        if detail:
            print("      " + str(detail))

def by_kind(paths):
    objs = {}
    for p in paths:
        for doc in yaml.safe_load_all(pathlib.Path(p).read_text()):
            if doc:
                objs[doc["kind"]] = doc
    return objs

def flags(args):
    """--name=value and --name value into a dict."""
    out, i = {}, 0
    while i < len(args):
        a = args[i]
        if "=" in a:
            k, v = a.split("=", 1)
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            k, v = a, args[i + 1]
            i += 1
        else:
            k, v = a, ""
        out[k] = v
        i += 1
    return out

def port_of(address):
    return int(address.rsplit(":", 1)[1])

def cpus(q):
    q = str(q)
    return int(q[:-1]) / 1000 if q.endswith("m") else float(q)

plain_dir = pathlib.Path("deploy/k8s")
plain = by_kind(sorted(plain_dir.glob("*.yaml")) + sorted((plain_dir / "optional").glob("*.yaml")))
adapter = yaml.safe_load((plain_dir / "prometheus-adapter/rules.yaml").read_text())
renders = {"k8s": plain}
for name in ("helm-default", "helm-all"):
    if (tmp / f"{name}.yaml").exists() and (tmp / f"{name}.yaml").stat().st_size:
        renders[name] = by_kind([tmp / f"{name}.yaml"])

for tag, objs in renders.items():
    dep = objs["Deployment"]
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    f = flags(c["args"])
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    grpc_port, health_port = port_of(f["--listen"]), port_of(f["--health-listen"])
    check(f"{tag}: container ports grpc/metrics/health are --listen/--metrics-port/--health-listen",
          ports == {"grpc": grpc_port, "metrics": int(f["--metrics-port"]), "health": health_port},
          ports)
    probes = {k: c[k] for k in ("startupProbe", "readinessProbe", "livenessProbe")}
    check(f"{tag}: every probe is a gRPC probe of the --health-listen port",
          all(p.get("grpc", {}).get("port") == health_port for p in probes.values()), probes)
    services = {k: p["grpc"].get("service", "") for k, p in probes.items()}
    check(f"{tag}: readiness on ggufd.v1.Inference, startup and liveness on \"\"",
          services == {"startupProbe": "", "readinessProbe": "ggufd.v1.Inference",
                       "livenessProbe": ""}, services)
    tgps = pod["terminationGracePeriodSeconds"]
    pre = c["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = int(f.get("--grace-period-ms", "30000")) / 1000
    check(f"{tag}: terminationGracePeriodSeconds {tgps} > preStop {pre} + grace {grace:g} + shutdown 5",
          tgps > pre + grace + 5)
    live = probes["livenessProbe"]
    window = live["periodSeconds"] * live["failureThreshold"]
    check(f"{tag}: liveness failure window {window}s covers SIGTERM to SIGKILL ({tgps - pre}s)",
          window >= tgps - pre)
    start = probes["startupProbe"]
    check(f"{tag}: startup probe tolerates >= 5 minutes of model loading",
          start["periodSeconds"] * start["failureThreshold"] >= 300)
    res = c.get("resources", {})
    check(f"{tag}: requests and limits set, --threads equals the CPU limit",
          {"cpu", "memory"} <= set(res.get("requests", {})) and
          {"cpu", "memory"} <= set(res.get("limits", {})) and
          float(f.get("--threads", "0")) == cpus(res["limits"]["cpu"]), res)
    check(f"{tag}: --session-memory set (ggufd's default is sized to the node, not the limit)",
          "--session-memory" in f)
    psc, sc = pod.get("securityContext", {}), c.get("securityContext", {})
    check(f"{tag}: non-root uid, no privilege escalation, read-only root, no capabilities, RuntimeDefault seccomp",
          psc.get("runAsNonRoot") is True and isinstance(psc.get("runAsUser"), int)
          and psc["runAsUser"] > 0 and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
          and sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True
          and sc.get("capabilities", {}).get("drop") == ["ALL"], (psc, sc))
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    model = mounts.get("model", {})
    check(f"{tag}: --model lies in the read-only model volume",
          model.get("readOnly") is True and f["--model"].startswith(model.get("mountPath", "?") + "/"),
          (f["--model"], model))
    labels = dep["spec"]["template"]["metadata"]["labels"]
    selector = dep["spec"]["selector"]["matchLabels"]
    svc = objs["Service"]
    svc_ports = {p["name"]: p for p in svc["spec"]["ports"]}
    check(f"{tag}: Service selects the pods; port grpc (appProtocol grpc) and metrics target container ports",
          svc["spec"]["selector"].items() <= labels.items()
          and svc_ports.get("grpc", {}).get("appProtocol") == "grpc"
          and {"grpc", "metrics"} <= set(svc_ports)
          and all(p["targetPort"] in ports or p["targetPort"] in ports.values()
                  for p in svc_ports.values()), svc["spec"])
    if "PodDisruptionBudget" in objs:
        check(f"{tag}: PodDisruptionBudget selects the pods",
              objs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector)
    if "HorizontalPodAutoscaler" in objs:
        hpa = objs["HorizontalPodAutoscaler"]["spec"]
        metric = hpa["metrics"][0]
        rule = adapter["rules"][0]
        check(f"{tag}: HPA scales the Deployment on the Pods metric the adapter rule serves",
              hpa["scaleTargetRef"]["name"] == dep["metadata"]["name"]
              and metric["type"] == "Pods"
              and metric["pods"]["metric"]["name"] == rule["name"]["as"]
              and rule["seriesQuery"].startswith(metric["pods"]["metric"]["name"] + "{"),
              (metric, rule))
    if "NetworkPolicy" in objs:
        np = objs["NetworkPolicy"]["spec"]
        named = [p["port"] for r in np["ingress"] for p in r["ports"]]
        check(f"{tag}: NetworkPolicy selects the pods, its ports name container ports, no egress",
              np["podSelector"]["matchLabels"] == selector and set(named) <= set(ports)
              and np.get("egress") == [] and "Egress" in np["policyTypes"], np)
    if "ServiceMonitor" in objs:
        sm = objs["ServiceMonitor"]["spec"]
        check(f"{tag}: ServiceMonitor selects the Service and scrapes its metrics port",
              sm["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
              and all(e["port"] in svc_ports for e in sm["endpoints"]), sm)

# The chart with every toggle on renders the plain manifests, apart from
# Helm's own labels and annotations, and the replica count (the HPA's).
if "helm-all" in renders:
    helm_only = {"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"}

    def normal(obj):
        obj = json.loads(json.dumps(obj))
        meta = obj["metadata"]
        meta["labels"] = {k: v for k, v in meta.get("labels", {}).items() if k not in helm_only}
        meta.pop("annotations", None)
        obj.get("spec", {}).pop("replicas", None)
        return obj

    def first_difference(a, b, path=""):
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                if k not in a or k not in b:
                    return f"{path}.{k}: only in {'chart' if k in a else 'deploy/k8s'}"
                d = first_difference(a[k], b[k], f"{path}.{k}")
                if d:
                    return d
            return None
        if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                d = first_difference(x, y, f"{path}[{i}]")
                if d:
                    return d
            return None
        return None if a == b else f"{path}: chart {a!r}, deploy/k8s {b!r}"

    helm_all = renders["helm-all"]
    check("chart (every toggle on) renders the same kinds as deploy/k8s",
          set(helm_all) == set(plain), sorted(set(helm_all) ^ set(plain)))
    for kind in sorted(set(helm_all) & set(plain)):
        d = first_difference(normal(helm_all[kind]), normal(plain[kind]))
        check(f"chart renders deploy/k8s's {kind}", d is None, d)

# What the live check runs: the Deployment's own arguments, with the model
# from GGUFD_MODELS_DIR and every port on loopback, chosen by the OS.
c = plain["Deployment"]["spec"]["template"]["spec"]["containers"][0]
pod = plain["Deployment"]["spec"]["template"]["spec"]
args = []
for k, v in flags(c["args"]).items():
    if k == "--model":
        v = str(pathlib.Path(models) / pathlib.Path(v).name)
    elif k in ("--listen", "--health-listen"):
        v = "127.0.0.1:0"
    elif k == "--metrics-port":
        v = "0"
    args.append(f"{k}={v}" if v != "" else k)
(tmp / "live.json").write_text(json.dumps({
    "args": args,
    "probes": [[k, c[k]["grpc"].get("service", "")]
               for k in ("startupProbe", "readinessProbe", "livenessProbe")],
    "metric": plain["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["pods"]["metric"]["name"],
    "sigterm_to_sigkill": pod["terminationGracePeriodSeconds"]
                          - c["lifecycle"]["preStop"]["sleep"]["seconds"],
}))
sys.exit(1 if failures else 0)
PY
crossref_rc=$?
cat "$tmp/crossref.out"
ok_lines=$(grep -c '^ok ' "$tmp/crossref.out")
fail_lines=$(grep -c '^FAIL ' "$tmp/crossref.out")
passed=$((passed + ok_lines))
failed=$((failed + fail_lines))
if ((crossref_rc != 0 && fail_lines == 0)); then
  fail "cross-reference checks ran to the end" "python exited $crossref_rc"
fi

echo "--- a real ggufd with the Deployment's arguments"
live_checks() {
  if [[ ! -s $tmp/live.json ]]; then
    fail "live check: nothing to run (the cross-reference checks stopped early)"
    return
  fi
  local args=() line health metrics listening budget
  mapfile -t args < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["args"]))' "$tmp/live.json")
  # Unknown or malformed flags in the manifest make ggufd exit here.
  "$ggufd" serve "${args[@]}" > "$tmp/ggufd.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    listening=$(grep -m1 '"msg":"listening"' "$tmp/ggufd.log")
    [[ -n $listening ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $listening ]]; then
    fail "ggufd starts with the Deployment's arguments (${args[*]})" "$(tail -5 "$tmp/ggufd.log")"
    return
  fi
  pass "ggufd starts with the Deployment's arguments"
  health=$(grep -o '"health_port":[0-9]*' <<<"$listening" | cut -d: -f2)
  metrics=$(grep -o '"metrics_port":[0-9]*' <<<"$listening" | cut -d: -f2)

  # The health port has no reflection: grpcurl reads the service from proto/.
  check_health() {  # check_health SERVICE -> prints the status or the error
    "$grpcurl" -plaintext -max-time 5 -import-path proto \
      -proto grpc/health/v1/health.proto -d "{\"service\": \"$1\"}" \
      "127.0.0.1:$health" grpc.health.v1.Health/Check 2>&1
  }
  while IFS=$'\t' read -r probe service; do
    out=$(check_health "$service")
    if grep -q '"status": "SERVING"' <<<"$out"; then
      pass "$probe service \"$service\" is SERVING on the health port"
    else
      fail "$probe service \"$service\" is SERVING on the health port" "$out"
    fi
  done < <(python3 -c 'import json,sys; [print(p, s, sep="\t") for p, s in json.load(open(sys.argv[1]))["probes"]]' "$tmp/live.json")
  # The check can fail: a service name ggufd does not register is refused.
  out=$(check_health ggufd.v1.Inferense)
  if grep -q 'NotFound' <<<"$out"; then
    pass "a misspelt service (ggufd.v1.Inferense) is NotFound, not SERVING"
  else
    fail "a misspelt service (ggufd.v1.Inferense) is NotFound, not SERVING" "$out"
  fi

  metric=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metric"])' "$tmp/live.json")
  if curl -sf --max-time 5 "http://127.0.0.1:$metrics/metrics" | grep -q "^$metric{"; then
    pass "the HPA's metric $metric is on ggufd's /metrics"
  else
    fail "the HPA's metric $metric is on ggufd's /metrics"
  fi

  # SIGTERM drains and exits well inside the time the kubelet allows.
  budget=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sigterm_to_sigkill"])' "$tmp/live.json")
  local t0=$SECONDS status
  kill -TERM "$server_pid"
  for _ in $(seq $((budget * 10))); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    fail "ggufd exits within ${budget}s of SIGTERM"
    return
  fi
  wait "$server_pid"
  status=$?
  server_pid=
  if ((status == 0)); then
    pass "ggufd drains and exits 0 within ${budget}s of SIGTERM ($((SECONDS - t0))s)"
  else
    fail "ggufd drains and exits 0 within ${budget}s of SIGTERM" "exit status $status"
  fi
}
live_checks

elapsed_ms=$(($(date +%s%N) / 1000000 - start_ms))
printf 'wall time: %d.%ds\n' $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100))
echo "manifests: $passed passed, $failed failed"
((failed == 0))
