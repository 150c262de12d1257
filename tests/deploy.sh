#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The Kubernetes deployment (deploy/kubernetes/): parses the manifest and checks what
# enforcement on a node depends on: a DaemonSet on the labelled mdev nodes, privileged, in the
# host's PID namespace; the node's bpffs at /sys/fs/bpf with Bidirectional propagation, so
# that the pins outlive the pod; /sys read-only; the ConfigMap at /etc/mdevguard, word for word
# dist/mdevguard.conf; "mdevguard run" as the command and "mdevguard status" as readiness;
# system-node-critical; an image named like the package's version, with no registry in it.
# Not checked against the Kubernetes schema: bookworm packages no offline validator
# (kubeconform, kubeval), and kubectl's --dry-run=client still asks an API server.
# Ends with "N passed, N failed".
# Usage: tests/deploy.sh BUILD_DIR     (BUILD_DIR is accepted like the other scripts take it;
#                                       nothing is built)
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0

if ! python3 -c 'import yaml' 2>/dev/null; then
	echo "[deploy] FAIL: python3 cannot import yaml (python3-yaml; scripts/setup.sh installs it)"
	echo "0 passed, 1 failed"
	exit 1
fi

version=$(sed -nE 's/^project\(mdevguard VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt")

# The checks print "ok: ..." or "FAIL: ..." lines, counted below; a crash is one failure.
rc=0
out=$(python3 - "$src" "$version" 2>&1 <<'EOF'
import sys
import yaml

src, version = sys.argv[1], sys.argv[2]
docs = [d for d in yaml.safe_load_all(open(src + "/deploy/kubernetes/mdevguard.yaml")) if d]


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)


def one(kind):
    found = [d for d in docs if d.get("kind") == kind]
    check(len(found) == 1, "one %s in the manifest" % kind)
    return found[0] if found else {}


ns = one("Namespace").get("metadata", {}).get("name")
cm = one("ConfigMap")
ds = one("DaemonSet")
check(ds.get("apiVersion") == "apps/v1", "the DaemonSet is apps/v1")
check(all(d.get("metadata", {}).get("namespace") == ns for d in (cm, ds)),
      "ConfigMap and DaemonSet in the namespace %s" % ns)

spec = ds.get("spec", {})
pod = spec.get("template", {}).get("spec", {})
labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
check(spec.get("selector", {}).get("matchLabels", {}).items() <= labels.items() and
      bool(labels), "the selector matches the pod template's labels")
check(pod.get("hostPID") is True, "hostPID: true")
check(pod.get("nodeSelector") == {"mdevguard.io/mdev": "true"},
      "nodeSelector mdevguard.io/mdev: \"true\" (the label the README documents)")
check(pod.get("priorityClassName") == "system-node-critical",
      "priorityClassName system-node-critical")
check(isinstance(pod.get("terminationGracePeriodSeconds"), int),
      "terminationGracePeriodSeconds set")
check(pod.get("automountServiceAccountToken") is False, "no service account token")

ctrs = pod.get("containers", [])
check(len(ctrs) == 1, "one container")
c = ctrs[0] if ctrs else {}
cmd = c.get("command", []) + c.get("args", [])
check(len(cmd) >= 2 and cmd[0].endswith("/mdevguard") and cmd[1] == "run",
      "the container runs mdevguard run: %s" % " ".join(cmd))
check(c.get("securityContext", {}).get("privileged") is True,
      "privileged: true (Bidirectional propagation requires it)")
image = c.get("image", "")
# A bare name: no registry host (a first component with a dot or a port, or localhost).
first = image.split("/")[0]
check("/" not in image or not ("." in first or ":" in first or first == "localhost"),
      "image %s names no registry" % image)
check(image == "mdevguard:" + version, "image tag is the project's version %s" % version)

probe = c.get("readinessProbe", {}).get("exec", {}).get("command", [])
check(len(probe) == 2 and probe[0].endswith("/mdevguard") and probe[1] == "status",
      "readinessProbe runs mdevguard status")
check("livenessProbe" in c and "startupProbe" in c, "liveness and startup probes")
res = c.get("resources", {})
check("memory" in res.get("requests", {}) and "memory" in res.get("limits", {}),
      "memory requested and limited")

vols = {v["name"]: v for v in pod.get("volumes", [])}
mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}


def host_path(mount):
    return vols.get(mount.get("name"), {}).get("hostPath", {}).get("path")


bpf = mounts.get("/sys/fs/bpf", {})
check(host_path(bpf) == "/sys/fs/bpf" and bpf.get("mountPropagation") == "Bidirectional" and
      not bpf.get("readOnly"),
      "the node's /sys/fs/bpf at /sys/fs/bpf, writable, mountPropagation Bidirectional")
sysm = mounts.get("/sys", {})
check(host_path(sysm) == "/sys" and sysm.get("readOnly") is True, "the node's /sys read-only")

conf = mounts.get("/etc/mdevguard", {})
cm_vol = vols.get(conf.get("name"), {}).get("configMap", {})
check(cm_vol.get("name") == cm.get("metadata", {}).get("name") and conf.get("readOnly") is True,
      "the ConfigMap mounted read-only at /etc/mdevguard")
check(cm.get("data", {}).get("mdevguard.conf") == open(src + "/dist/mdevguard.conf").read(),
      "the ConfigMap's mdevguard.conf is dist/mdevguard.conf, word for word")

# The metrics file where a mount is, and the liveness probe looking at that file.
mf = cmd[cmd.index("--metrics-file") + 1] if "--metrics-file" in cmd[:-1] else ""
mdir = mf.rsplit("/", 1)[0]
check(bool(mf) and host_path(mounts.get(mdir, {})) == mdir,
      "--metrics-file %s is on the node's %s" % (mf, mdir))
live = " ".join(c.get("livenessProbe", {}).get("exec", {}).get("command", []))
check(bool(mf) and mf in live, "livenessProbe looks at the metrics file")

docker = open(src + "/deploy/kubernetes/Dockerfile").read().splitlines()
base = [l.split()[1] for l in docker if l.startswith("FROM ")]
check(base == ["debian:bookworm-slim"], "Dockerfile: FROM debian:bookworm-slim")
check(any("mdevguard_*.deb" in l for l in docker if "apt-get install" in l or
          l.startswith("\t\t")), "Dockerfile installs the Debian package")
EOF
) || rc=$?
while IFS= read -r line; do
	case $line in
	ok:*) echo "[deploy] $line"; passed=$((passed + 1)) ;;
	FAIL:*) echo "[deploy] $line"; failed=$((failed + 1)) ;;
	*) echo "[deploy] $line" ;;	# a traceback: counted once, by the exit status below
	esac
done <<<"$out"

if [ "$rc" -ne 0 ]; then
	echo "[deploy] FAIL: the checks stopped (exit $rc)"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
