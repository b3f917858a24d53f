#!/usr/bin/env bash
# Policy tables that do not fit are refused as a whole, naming the map and
# the option that sizes it; the policies in force stay in force.
. "$(dirname "$0")/lib.sh"
e2e_init authzcap

tb_up n1/c n1/s
pods()
{
	pod_doc c front web "$TB_POD_c_IP4 $TB_POD_c_IP6"
	pod_doc s back api "$TB_POD_s_IP4 $TB_POD_s_IP6" "app: api"
}
# blocks N: an ALLOW policy on s from the client and N other CIDRs.
blocks()
{
	local i list=""
	for i in $(seq "$1"); do list="$list\"192.0.$i.0/24\", "; done
	authz_policy back nets ALLOW "  rules:
  - from: [{source: {principals: [cluster.local/ns/front/sa/web]}}]
  - from: [{source: {ipBlocks: [${list%, }]}}]"
}
{ pods; blocks 1; } >"$E2E_TMP/cfg.yaml"
serve n1/s s --tcp 8080
agent_start n1 "$E2E_TMP/cfg.yaml" --max-workloads 6
agent_wait_applied n1
expect_reached n1/c "$TB_POD_s_IP4" 8080 s
expect_refused n1 "$TB_POD_s_IP4" 8080

# 4 pod addresses + 5 CIDRs do not fit in 6.
{ pods; blocks 5; } >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_rejected n1
assert_match "$(status_field n1 .config.error)" \
	"sluice_ipcache is full: .*capacity 12 \\(--max-workloads\\); nothing was applied" \
	"the refusal names the map and the option"
expect_reached n1/c "$TB_POD_s_IP4" 8080 s
expect_refused n1 "$TB_POD_s_IP4" 8080
assert_eq "$(status_field n1 .config.generation)" 1 "nothing applied"
log "too large: refused, the previous policy in force"

{ pods; blocks 2; } >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 2
expect_reached n1/c "$TB_POD_s_IP4" 8080 s
agent_stop n1
log ok
