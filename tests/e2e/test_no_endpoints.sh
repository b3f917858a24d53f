#!/usr/bin/env bash
# A VIP whose service has no ready endpoint fails at once with
# ECONNREFUSED (TCP connect and UDP send), never a hang; so does a Service
# that has no EndpointSlice at all.
. "$(dirname "$0")/lib.sh"
e2e_init no-endpoints

tb_up n1/c n1/a
cat >"$E2E_TMP/cfg.yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: down}
spec:
  clusterIP: 10.96.1.1
  ports: [{name: tcp, port: 80}, {name: udp, port: 53, protocol: UDP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: down-1, labels: {kubernetes.io/service-name: down}}
addressType: IPv4
ports: [{name: tcp, port: 8080}, {name: udp, port: 5353, protocol: UDP}]
endpoints:
- addresses: [$TB_POD_a_IP4]
  conditions: {ready: false, serving: false}
---
apiVersion: v1
kind: Service
metadata: {name: noslice}
spec:
  clusterIPs: [10.96.1.2, "fd00:96::1:2"]
  ports: [{port: 80}]
YAML
serve n1/a a --tcp 8080 --udp 5353
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1

for target in "10.96.1.1 80" "10.96.1.2 80" "fd00:96::1:2 80"; do
	# shellcheck disable=SC2086
	out=$(dial n1/c --count 5 --first-error --timeout-ms 3000 $target) && fail "$target connected"
	assert_eq "$(tally "$out" error ECONNREFUSED)" 5 "TCP to $target refused"
	ms=$(awk '$1 == "first_error" { print $3 }' <<<"$out")
	[ "$ms" -lt 100 ] || fail "refusal of $target took $ms ms"
done
out=$(dial n1/c --udp --count 3 --first-error 10.96.1.1 53) && fail "UDP send succeeded"
assert_eq "$(tally "$out" error ECONNREFUSED)" 3 "UDP send to an empty service refused"
assert_eq "$(ctl n1 -o json services | jq '[.[] | .refused] | add')" 18 "refusal counters"
ctl n1 endpoints default/down | grep -q 'not-ready' || fail "endpoints shows the state"
agent_stop n1
log ok
