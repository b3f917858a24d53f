#!/usr/bin/env bash
# A directory of YAML files, updated the way Kubernetes ConfigMap volumes do
# it (a ..data symlink swapped atomically) and by adding files, is applied
# on every change; hidden and non-YAML files are ignored; SIGHUP re-reads.
. "$(dirname "$0")/lib.sh"
e2e_init config-watch

tb_up n1/c n1/a n1/b
dir="$E2E_TMP/config"
mkdir -p "$dir"
se()
{
	cat <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: $1}
spec:
  hosts: [$1]
  addresses: [$2]
  resolution: STATIC
  ports: [{number: 80, name: http, targetPort: 8080}]
  endpoints: [{address: $3}]
YAML
}
# A ConfigMap volume: files are symlinks into ..data, itself a symlink to a
# timestamped directory that is replaced as a whole.
publish()
{
	local ts="..$(date +%s%N)"
	mkdir "$dir/$ts"
	se web 10.96.0.10 "$1" >"$dir/$ts/web.yaml"
	ln -s "$ts" "$dir/..data_tmp"
	mv -T "$dir/..data_tmp" "$dir/..data"
	[ -e "$dir/web.yaml" ] || ln -s ..data/web.yaml "$dir/web.yaml"
}
serve n1/a a --tcp 8080
serve n1/b b --tcp 8080
publish "$TB_POD_a_IP4"
echo "not: [valid" >"$dir/README.txt"
echo "not: [valid" >"$dir/.hidden.yaml"
agent_start n1 "$dir"
agent_wait_applied n1 1
out=$(dial n1/c --count 5 10.96.0.10 80)
assert_eq "$(tally "$out" reply a)" 5 "initial ConfigMap content"

publish "$TB_POD_b_IP4"
agent_wait_applied n1 2
out=$(dial n1/c --count 5 10.96.0.10 80)
assert_eq "$(tally "$out" reply b)" 5 "symlink swap applied"

se api 10.96.0.11 "$TB_POD_a_IP4" >"$dir/api.yml"
agent_wait_applied n1 3
out=$(dial n1/c --count 5 10.96.0.11 80)
assert_eq "$(tally "$out" reply a)" 5 "new file applied"

rm "$dir/api.yml"
agent_wait_applied n1 4
out=$(dial n1/c --count 2 --timeout-ms 300 10.96.0.11 80) && fail "removed file still served"
kill -HUP "${E2E_AGENT_PID[n1]}"
sleep 0.3
grep -q "SIGHUP: re-reading" "$E2E_TMP/agent-n1.log" || fail "SIGHUP not handled"
assert_eq "$(generation n1)" 4 "SIGHUP without changes keeps the generation"
agent_stop n1
log ok
