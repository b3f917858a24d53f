#!/usr/bin/env bash
# DestinationRule loadBalancer.consistentHash (useSourceIp) over a Maglev
# table: every client address keeps its endpoint connection after
# connection, and when one of ten endpoints is removed, at least 95% of the
# clients of the other nine keep theirs.
. "$(dirname "$0")/lib.sh"
e2e_init maglev

pods=(n1/c)
for i in $(seq 0 9); do pods+=("n1/e$i"); done
tb_up "${pods[@]}"
# 40 client addresses in the client pod, routed back to it by the node.
CLIENTS=()
for i in $(seq 100 139); do
	ip -n "$TB_POD_c_NETNS" addr add "10.200.1.$i/32" dev eth0
	ip -n "$TB_NODE_n1_NETNS" route add "10.200.1.$i/32" dev "$TB_POD_c_VETH"
	CLIENTS+=("10.200.1.$i")
done
config()
{
	printf 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n'
	printf 'metadata: {name: cache, namespace: shop}\nspec:\n  hosts: [cache.shop.internal]\n'
	printf '  addresses: [10.96.0.99]\n  resolution: STATIC\n'
	printf '  ports: [{number: 80, name: tcp, protocol: TCP, targetPort: 8080}]\n  endpoints:\n'
	for ep in "$@"; do printf '  - {address: "%s"}\n' "$(eval "printf '%s' \"\$TB_POD_${ep}_IP4\"")"; done
	printf -- '---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\n'
	printf 'metadata: {name: cache, namespace: shop}\nspec:\n  host: cache.shop.internal\n'
	printf '  trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 65537}}}}\n'
}
all=(e0 e1 e2 e3 e4 e5 e6 e7 e8 e9)
config "${all[@]}" >"$E2E_TMP/cfg.yaml"
for ep in "${all[@]}"; do serve "n1/$ep" "$ep" --tcp 8080; done
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
grep -q 'maglev.tableSize: 65537 is larger than a Sluice table can be' "$E2E_TMP/agent-n1.log" ||
	fail "the clamped table size was not reported"

# owner SOURCE: the endpoint of 3 connections from SOURCE (all the same).
owner()
{
	local out n
	out=$(dial n1/c --source "$1" --count 3 10.96.0.99 80)
	n=$(awk '$1 == "reply" { n++ } END { print n + 0 }' <<<"$out")
	[ "$n" = 1 ] || fail "client $1 was spread over $n endpoints: $out"
	awk '$1 == "reply" { print $2 }' <<<"$out"
}
declare -A before
used=()
for src in "${CLIENTS[@]}"; do
	before[$src]=$(owner "$src")
	used+=("${before[$src]}")
done
distinct=$(printf '%s\n' "${used[@]}" | sort -u | wc -l)
[ "$distinct" -ge 8 ] || fail "40 clients hashed onto only $distinct endpoints"
log "40 clients sticky, spread over $distinct endpoints"

config e0 e1 e2 e4 e5 e6 e7 e8 e9 >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 2
kept=0 others=0
for src in "${CLIENTS[@]}"; do
	now=$(owner "$src")
	[ "$now" != e3 ] || fail "a client still reaches the removed endpoint"
	[ "${before[$src]}" = e3 ] && continue
	others=$((others + 1))
	[ "$now" = "${before[$src]}" ] && kept=$((kept + 1))
done
[ $((kept * 100)) -ge $((others * 95)) ] ||
	fail "only $kept of $others clients of the remaining endpoints kept theirs"
log "one of ten endpoints removed: $kept of $others other clients kept their endpoint"
agent_stop n1
log ok
