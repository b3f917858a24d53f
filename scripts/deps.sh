#!/usr/bin/env bash
# Install every Debian package Sluice needs to build, test, demo and benchmark.
# Idempotent: packages already present are not touched. Run as root.
set -euo pipefail

PACKAGES=(
	# build
	make gcc clang llvm bpftool
	libbpf-dev libelf-dev zlib1g-dev libyaml-dev libjson-c-dev libxxhash-dev
	# tests
	libcmocka-dev iproute2 util-linux procps jq
	# benchmarks (the kube-proxy-style baseline)
	iptables
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
