#!/usr/bin/env bash
# Service sessionAffinity: ClientIP: every client address keeps its endpoint.
. "$(dirname "$0")/lib.sh"
e2e_init affinity

tb_up n1/c n1/e1 n1/e2 n1/e3
CLIENTS=()
for i in $(seq 100 111); do
	ip -n "$TB_POD_c_NETNS" addr add "10.200.1.$i/32" dev eth0
	ip -n "$TB_NODE_n1_NETNS" route add "10.200.1.$i/32" dev "$TB_POD_c_VETH"
	CLIENTS+=("10.200.1.$i")
done
cat >"$E2E_TMP/cfg.yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: sticky, namespace: shop}
spec:
  clusterIP: 10.96.0.77
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 10800}}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: sticky-1, namespace: shop, labels: {kubernetes.io/service-name: sticky}}
addressType: IPv4
ports: [{port: 8080}]
endpoints:
- addresses: ["$TB_POD_e1_IP4"]
- addresses: ["$TB_POD_e2_IP4"]
- addresses: ["$TB_POD_e3_IP4"]
YAML
for ep in e1 e2 e3; do serve "n1/$ep" "$ep" --tcp 8080; done
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
used=()
for src in "${CLIENTS[@]}"; do
	out=$(dial n1/c --source "$src" --count 5 10.96.0.77 80)
	n=$(awk '$1 == "reply" { n++ } END { print n + 0 }' <<<"$out")
	[ "$n" = 1 ] || fail "client $src spread over $n endpoints: $out"
	used+=("$(awk '$1 == "reply" { print $2 }' <<<"$out")")
done
distinct=$(printf '%s\n' "${used[@]}" | sort -u | wc -l)
[ "$distinct" -ge 2 ] || fail "12 clients all on one endpoint"
log "12 clients, each always on its endpoint; $distinct endpoints used"
agent_stop n1
log ok
