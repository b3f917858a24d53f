#!/usr/bin/env bash
# sluicectl: tables and JSON from the pinned maps, also while the agent is
# down; exit codes scripts can rely on.
. "$(dirname "$0")/lib.sh"
e2e_init cli

tb_up n1/c n1/a
cat >"$E2E_TMP/cfg.yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: api, namespace: prod}
spec:
  clusterIPs: [10.96.5.5, "fd00:96::5:5"]
  ports: [{name: http, port: 80}]
  internalTrafficPolicy: Local
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-1, namespace: prod, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- addresses: [$TB_POD_a_IP4]
  zone: zone-a
- addresses: [10.200.9.9]
  conditions: {ready: false, serving: true, terminating: true}
YAML
rc=0
ctl n1 status >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 3 "status before any install"
serve n1/a a --tcp 8080
agent_start n1 "$E2E_TMP/cfg.yaml" --max-services 128 --max-backends 256
agent_wait_applied n1

rc=0; "$SLUICECTL" >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "no command"
rc=0; "$SLUICECTL" frobnicate >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "unknown command"
rc=0; ctl n1 services extra >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "unexpected argument"
rc=0; ctl n1 -o yaml status >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "unknown output format"
for cmd in status services endpoints maps; do
	"$SLUICECTL" "$cmd" --help | grep -q "Usage: sluicectl" || fail "$cmd --help"
done

status=$(ctl n1 status)
assert_match "$status" "agent: +running" "status shows the agent"
assert_match "$status" "12/12 hooks attached" "status shows the hooks"
assert_match "$status" "generation 1" "status shows the generation"
assert_match "$(status_field n1 '.config.warning_messages[0]')" \
	'cfg.yaml:7:[0-9]+: spec.internalTrafficPolicy' \
	"a field Sluice does not implement is named in the status"
svc=$(ctl n1 -o json services)
assert_eq "$(jq length <<<"$svc")" 2 "one frontend per family"
assert_eq "$(jq -r '[.[] | .endpoints_in_use] | add' <<<"$svc")" 1 "endpoints in use"
eps=$(ctl n1 endpoints prod/api)
assert_match "$eps" "10.200.9.9:8080 +1 +0.0% +serving,terminating" "terminating endpoint shown idle"
assert_match "$eps" "zone-a" "zone shown"
rc=0; ctl n1 endpoints prod/nothing >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 1 "unknown service"
maps=$(ctl n1 -o json maps)
assert_eq "$(jq length <<<"$maps")" "$(find "$(bpffs_of n1)/maps" -mindepth 1 | wc -l)" "every pinned map listed"
assert_eq "$(jq -r '.[] | select(.name == "sluice_svc") | .max_entries' <<<"$maps")" 128 \
	"--max-services sizes the map"
assert_eq "$(jq -r '.[] | select(.name == "sluice_svc") | .entries' <<<"$maps")" 2 "entries counted"

# While the agent is down the datapath and the CLI keep working.
agent_stop n1
status=$(ctl n1 status)
assert_match "$status" "agent: +not running" "status while the agent is down"
out=$(dial n1/c --count 4 10.96.5.5 80)
assert_eq "$(tally "$out" reply a)" 4 "datapath runs without the agent"
assert_eq "$(ctl n1 -o json services | jq '[.[] | .connections] | add')" 4 "counters readable"
# A different size on restart is refused with a clear message.
agent_start n1 "$E2E_TMP/cfg.yaml" --max-services 512 --max-backends 256
wait "${E2E_AGENT_PID[n1]}" && fail "agent accepted a changed map size"
unset "E2E_AGENT_PID[n1]"
grep -q "pinned map .*sluice_svc holds 128 entries but this agent was asked for 512" \
	"$E2E_TMP/agent-n1.log" || fail "size change not explained"
log ok
