#!/usr/bin/env bash
# Runs every test: schema (deploy/ and examples/ against Kubernetes' and
# Istio's published schemas), unit (cmocka, sanitizers on), BPF
# (BPF_PROG_TEST_RUN), then end-to-end in private netns testbeds against the sanitizer builds of
# the agent and CLI. Prints a summary; exits non-zero if anything failed or
# a test left state behind on the machine.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
LOGDIR=$(mktemp -d /tmp/sluice-tests.XXXX)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
passed=()
failed=()

if [ "$(id -u)" -ne 0 ]; then
	echo "tests need root: they load BPF programs and create namespaces" >&2
	exit 1
fi

run()
{
	local name=$1 log="$LOGDIR/${1//\//_}.log" start=$SECONDS
	shift
	if "$@" >"$log" 2>&1; then
		passed+=("$name")
		printf 'PASS  %-32s %3ds\n' "$name" $((SECONDS - start))
	else
		failed+=("$name")
		printf 'FAIL  %-32s %3ds  (log: %s)\n' "$name" $((SECONDS - start)) "$log"
		tail -n 30 "$log" | sed 's/^/      /'
	fi
}

# What the machine held before we started, so that only our leftovers count.
snapshot_state()
{
	{
		ip netns list 2>/dev/null | awk '{ print "netns " $1 }'
		find /sys/fs/bpf -maxdepth 1 -name 'sluice*' 2>/dev/null | sed 's/^/pin /'
		cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
		find "$cg" -maxdepth 1 -name 'sluice-*' 2>/dev/null | sed 's/^/cgroup /'
		pgrep -x sluiced | sed 's/^/agent /'
	} | sort
}

before=$(snapshot_state)
echo "== schema"
# Every manifest and example valid, and every deliberately broken one in
# tests/schema/bad refused (so the validation cannot pass by checking
# nothing). Packages: scripts/deps.sh (npm ci).
run schema/manifests node "$ROOT/tests/schema/validate.mjs" "$ROOT/deploy" "$ROOT/examples" \
	"$ROOT/tests/e2e/fixtures"
run schema/self-check node "$ROOT/tests/schema/validate.mjs" --expect-fail "$ROOT/tests/schema/bad"
echo "== unit"
for t in "$BUILD"/tests/unit/test_*; do
	run "unit/${t##*/}" "$t"
done
echo "== bpf"
for t in "$BUILD"/tests/bpf/test_*; do
	run "bpf/${t##*/}" "$t"
done
echo "== e2e"
for t in "$ROOT"/tests/e2e/test_*.sh; do
	name=${t##*/}
	run "e2e/${name%.sh}" timeout 300 "$t"
done

after=$(snapshot_state)
leftovers=$(comm -13 <(echo "$before") <(echo "$after"))
echo
echo "${#passed[@]} passed, ${#failed[@]} failed; logs in $LOGDIR"
if [ -n "$leftovers" ]; then
	echo "tests left state behind:"
	echo "$leftovers" | sed 's/^/  /'
	exit 1
fi
[ "${#failed[@]}" -eq 0 ] || exit 1
rm -rf "$LOGDIR"
