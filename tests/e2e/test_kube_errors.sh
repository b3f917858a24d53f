#!/usr/bin/env bash
# The Kubernetes source's failures, each named: a kubeconfig that cannot
# be used stops the start with the file (and line) at fault; a token the
# API server refuses leaves the agent running, not ready, applying nothing,
# with the server's reason in the log; a resource the cluster does not
# serve (a CRD not installed) is applied as empty and the rest goes on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube_lib.sh"
e2e_init kube_errors

tb_up n1/c n1/a
serve n1/a a --tcp 8080
cg=$TB_NODE_n1_CGROUP
scenario=$E2E_TMP/scenario.json
{
	k8s_service shop web 10.96.0.10
	k8s_slice shop web-abcde web "$TB_POD_a_IP4"
} | kube_scenario >"$scenario"
kube_start "$scenario"

# start_fails WHAT RC PATTERN ARGS...: the agent exits RC at once, saying PATTERN.
start_fails()
{
	local what=$1 want=$2 pattern=$3 out rc=0
	shift 3
	out=$("$SLUICED" "$@" --bpffs "$(bpffs_of n9)" --cgroup "$cg" --metrics-addr off \
		--flows-socket off 2>&1) || rc=$?
	E2E_AGENT_NODES[n9]=1
	assert_eq "$rc" "$want" "$what: exit code"
	assert_match "$out" "$pattern" "$what: message"
}

log "kubeconfigs that cannot be used"
start_fails "missing kubeconfig" 1 "$E2E_TMP/nope: No such file" --kubeconfig "$E2E_TMP/nope"
sed 's/user: {token: .*}/user: {exec: {command: get-token}}/' "$E2E_TMP/kubeconfig" \
	>"$E2E_TMP/exec.yaml"
start_fails "exec plugin" 1 "exec.yaml:[0-9]+:.*exec and auth-provider credential plugins are not supported" \
	--kubeconfig "$E2E_TMP/exec.yaml"
sed 's/current-context: replay/current-context: prod/' "$E2E_TMP/kubeconfig" >"$E2E_TMP/ctx.yaml"
start_fails "unknown context" 1 'context "prod" not found' --kubeconfig "$E2E_TMP/ctx.yaml"
start_fails "both sources" 2 "give either --config or --kubernetes" --kubernetes --config "$scenario"
out=$(env -u KUBERNETES_SERVICE_HOST "$SLUICED" --kubernetes --bpffs "$(bpffs_of n9)" \
	--cgroup "$cg" --metrics-addr off --flows-socket off 2>&1) && fail "in-cluster outside a pod started"
assert_match "$out" "not in a pod .*give --kubeconfig" "in-cluster outside a pod"

log "a refused token: running, not ready, nothing applied"
kubeconfig_write "$E2E_TMP/bad-token.yaml" not-the-token
port=$(free_port)
E2E_AGENT_NODES[n1]=1
"$SLUICED" --kubeconfig "$E2E_TMP/bad-token.yaml" --bpffs "$(bpffs_of n1)" --cgroup "$cg" \
	--metrics-addr "127.0.0.1:$port" --flows-socket off >"$E2E_TMP/agent-n1.log" 2>&1 &
E2E_AGENT_PID[n1]=$!
kube_wait_log n1 'list services: HTTP 401: Unauthorized'
code=$(curl -s -o "$E2E_TMP/readyz" -w '%{http_code}' "http://127.0.0.1:$port/readyz")
assert_eq "$code" 503 "/readyz while nothing could be listed"
assert_match "$(cat "$E2E_TMP/readyz")" 'waiting for the Kubernetes API: .* not listed yet' \
	"/readyz says why"
assert_eq "$(ctl n1 -o json services | jq length)" 0 "nothing applied"
agent_stop n1

log "a resource not served is applied as empty"
kube_ctl fail "path=/apis/sluice.dev/v1alpha1/trafficlimits&code=404&count=1000" >/dev/null
agent_start n1 kube
agent_wait_applied n1
kube_wait_log n1 'trafficlimits not served \(HTTP 404'
expect_reached n1/c 10.96.0.10 80 a
agent_stop n1
log ok
