#!/usr/bin/env bash
# AuthorizationPolicy end to end: three namespaces, five workloads on two
# nodes, ALLOW and DENY policies, a mesh-wide DENY from the root namespace,
# a default-deny namespace; every cell of the matrix checked with a real
# connection, and every denial a fast refusal counted against the policy
# that decided it.
. "$(dirname "$0")/lib.sh"
e2e_init authzmatrix

tb_up n1/web n1/api n1/mon n2/batch n2/db
{
	pod_doc web front web "$TB_POD_web_IP4 $TB_POD_web_IP6" "app: web"
	pod_doc batch front batch "$TB_POD_batch_IP4 $TB_POD_batch_IP6" "app: batch"
	pod_doc api back api "$TB_POD_api_IP4 $TB_POD_api_IP6" "app: api"
	pod_doc db back db "$TB_POD_db_IP4 $TB_POD_db_IP6" "app: db"
	pod_doc mon ops monitor "$TB_POD_mon_IP4 $TB_POD_mon_IP6" "app: mon"
	authz_policy back api-allow ALLOW '  selector: {matchLabels: {app: api}}
  rules:
  - from: [{source: {namespaces: [front]}}]
    to: [{operation: {ports: ["8080"]}}]
  - from: [{source: {principals: [cluster.local/ns/ops/sa/monitor]}}]'
	authz_policy back api-deny-batch DENY '  selector: {matchLabels: {app: api}}
  rules:
  - from: [{source: {principals: ["*/sa/batch"]}}]'
	authz_policy back db-allow ALLOW '  selector: {matchLabels: {app: db}}
  rules:
  - from: [{source: {principals: [cluster.local/ns/back/sa/api]}}]
    to: [{operation: {ports: ["5432"]}}]'
	authz_policy istio-system no-ops-to-db DENY '  rules:
  - from: [{source: {namespaces: [ops]}}]
    to: [{operation: {ports: ["5432"]}}]'
	authz_policy front only-ops ALLOW '  rules:
  - from: [{source: {namespaces: [ops]}}]'
	authz_policy back audit-ops AUDIT '  selector: {matchLabels: {app: api}}
  rules:
  - from: [{source: {namespaces: [ops]}}]'
	authz_policy ops try-deny-web DENY '  rules:
  - from: [{source: {principals: [cluster.local/ns/front/sa/web]}}]' |
		sed 's/^metadata: {name: try-deny-web, namespace: ops}$/metadata: {name: try-deny-web, namespace: ops, annotations: {istio.io\/dry-run: "true"}}/'
} >"$E2E_TMP/cfg.yaml"
grep -q 'istio.io/dry-run' "$E2E_TMP/cfg.yaml" || fail "test bug: no dry-run annotation"
for p in web api mon batch db; do
	serve "$(eval "printf '%s' \"\$TB_POD_${p}_NODE\"")/$p" "$p" --tcp 8080 --tcp 9090 \
		--tcp 5432 --udp 8080 --udp 5432
done
for n in n1 n2; do agent_start "$n" "$E2E_TMP/cfg.yaml"; done
for n in n1 n2; do agent_wait_applied "$n"; done
agent_wait_pods n1 3
agent_wait_pods n2 2

ip_of() { eval "printf '%s' \"\$TB_POD_${1}_IP4\""; }
node_of() { eval "printf '%s' \"\$TB_POD_${1}_NODE\""; }
declare -A NS=([web]=front [batch]=front [api]=back [db]=back [mon]=ops)
# cell SRC DST PORT allow|deny [dial options]: a real connection, and
# sluicectl explain on the client's node agreeing with it.
cell()
{
	local src=$1 dst=$2 port=$3 want=$4 rc=0 out
	shift 4
	if [ "$want" = allow ]; then
		expect_reached "$(node_of "$src")/$src" "$(ip_of "$dst")" "$port" "$dst" "$@"
	else
		expect_refused "$(node_of "$src")/$src" "$(ip_of "$dst")" "$port" "$@"
	fi
	out=$(ctl "$(node_of "$src")" explain --from "${NS[$src]}/$src" \
		--to "${NS[$dst]}/$dst:$port") || rc=$?
	assert_eq "$rc" "$([ "$want" = allow ] && echo 0 || echo 1)" \
		"explain $src -> $dst:$port: $out"
	log "$src -> $dst:$port $want $*"
}

cell web api 8080 allow		# namespace front, named port
cell web api 9090 deny		# a port no rule names
cell batch api 8080 deny	# DENY wins over the namespace ALLOW (cross-node)
cell mon api 9090 allow		# principal rule, any port
cell mon api 8080 allow
cell api db 5432 allow		# cross-node, principal and port
cell api db 8080 deny
cell web db 5432 deny		# db allows only api
cell mon db 5432 deny		# mesh-wide DENY beats nothing else
cell api web 8080 deny		# front allows only ops
cell mon web 8080 allow
cell db mon 9090 allow		# ops has no policy: open
cell web mon 8080 allow
cell batch web 8080 deny	# same namespace is not special
cell web api 8080 allow --udp	# UDP: the reply to web passes, though
cell web api 8080 allow --udp-connected	# front admits only ops
cell api db 5432 allow --udp	# cross-node UDP and its reply
cell batch api 8080 deny --udp-connected
cell web api 9090 deny --udp

# Dry-run and audit decide nothing but leave their marks.
id_of() { bpftool -j map dump pinned "$(bpffs_of "$1")/maps/sluice_policy_info" |
	jq ".[].formatted | select(.value.name == \"$2\") | .key"; }
stat_of() { bpftool -j map dump pinned "$(bpffs_of "$1")/maps/sluice_policy_stats" |
	jq "[.[].formatted | select(.key == $2) | .value.$3] | add // 0"; }
[ "$(stat_of n1 "$(id_of n1 try-deny-web)" dry_run_denied)" -ge 2 ] ||
	fail "the dry-run policy recorded nothing"
grep -q 'policy: would deny (dry-run) TCP .*(front/web) -> .*(ops/monitor) at .* by policy ops/try-deny-web rule 1' \
	"$E2E_TMP/agent-n1.log" || fail "no dry-run event"
[ "$(stat_of n1 "$(id_of n1 audit-ops)" audited)" -ge 2 ] || fail "the audit policy recorded nothing"
out=$(ctl n1 -o json policies)
assert_eq "$(jq -r '.policies[] | select(.name == "try-deny-web") | .dry_run' <<<"$out")" true \
	"policies shows the dry-run flag"
assert_eq "$(status_field n1 .policy.in_force)" true "status: policy in force"
assert_eq "$(status_field n1 .policy.local_pods)" 3 "status: local pods found on n1"
assert_eq "$(status_field n2 .policy.policies)" 7 "status: policies on n2"
out=$(ctl n1 -o json identities)
assert_match "$(jq -r '.[] | select(.name == "web") | .identity' <<<"$out")" \
	"spiffe://cluster.local/ns/front/sa/web" "identities names web's principal"

# The counters name the deciding policies.
deny_of() { stat_of "$1" "$2" denied; }
[ "$(deny_of n2 "$(id_of n2 api-deny-batch)")" -ge 2 ] || fail "api-deny-batch denied nothing on n2"
[ "$(deny_of n1 "$(id_of n1 no-ops-to-db)")" -ge 2 ] || fail "no-ops-to-db denied nothing on n1"
grep -q 'policy: denied TCP .*(ops/monitor) -> .* (back/db) at egress by policy istio-system/no-ops-to-db rule 1' \
	"$E2E_TMP/agent-n1.log" || fail "no deny event for mon -> db"
for n in n1 n2; do agent_stop "$n"; done
log ok
