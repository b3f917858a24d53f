#!/usr/bin/env bash
# Install every Debian package Sluice needs to build, test, demo and benchmark,
# then the npm packages of the schema tests (tests/schema). Idempotent:
# packages already present are not touched. Run as root.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)

# The schema tests' npm packages, at the versions of their lock file:
# installed when node_modules is missing or the lock changed since.
schema_deps()
{
	local dir=$ROOT/tests/schema stamp sum
	stamp=$dir/node_modules/.sluice-lock.sha256
	sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
		return 0
	fi
	echo "deps.sh: npm ci --prefix tests/schema"
	npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
	echo "$sum" >"$stamp"
}

PACKAGES=(
	# build
	make gcc clang llvm bpftool
	libbpf-dev libelf-dev zlib1g-dev libyaml-dev libjson-c-dev libxxhash-dev
	libmicrohttpd-dev libcurl4-openssl-dev
	# tests (prometheus: test_metrics scrapes the agent with a real one)
	libcmocka-dev iproute2 util-linux procps jq curl prometheus
	# benchmarks: the kube-proxy-style baseline, the sidecar baseline, the
	# workloads (request/response, bulk, HTTP) and their servers
	iptables haproxy sockperf iperf3 wrk nginx-light
)
# tests (schema): node and npm run tests/schema/validate.mjs. Asked for by
# command, not by package: a Node.js from elsewhere (NodeSource's nodejs
# carries npm and conflicts with Debian's npm package) does as well.
for cmd in node npm; do
	if ! command -v "$cmd" >/dev/null 2>&1; then
		PACKAGES+=(nodejs npm)
		break
	fi
done

# Packages that come with a system service. The benchmarks and tests start
# their own copies (in network namespaces, or on ports of their own); one
# left running in the root netns (nginx on port 80, prometheus on 9090)
# would only be in the way.
SERVICES=(nginx haproxy iperf3 prometheus)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	schema_deps
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi

# Keep maintainer scripts from starting services while installing (the
# Debian convention: invoke-rc.d and deb-systemd-invoke ask policy-rc.d).
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
	printf '#!/bin/sh\n# deps.sh: no service starts during the install\nexit 101\n' >"$POLICY"
	chmod 755 "$POLICY"
	trap 'rm -f "$POLICY"' EXIT
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Only the services of packages installed just now: a server the machine
# already ran on purpose is left alone.
for s in "${SERVICES[@]}"; do
	case " ${missing[*]} " in
	*" $s "* | *" $s-"*) ;;
	*) continue ;;
	esac
	if pidof systemd >/dev/null 2>&1; then
		systemctl disable --now "$s" >/dev/null 2>&1 || true
	elif [ -x "/etc/init.d/$s" ]; then
		"/etc/init.d/$s" stop >/dev/null 2>&1 || true
	fi
done
# Whatever still listens in the root netns was started by a package after
# all (e.g. a machine without policy-rc.d support): say so.
if ss -Hltnp 2>/dev/null | grep -E '"(nginx|haproxy|iperf3|prometheus)"'; then
	echo "deps.sh: warning: the servers above listen in the root netns" >&2
fi

schema_deps
