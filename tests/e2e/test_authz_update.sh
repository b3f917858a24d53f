#!/usr/bin/env bash
# Policy changes while traffic runs: a new policy applies to the next
# connection at once, a removed one stops applying, a connection already
# open is left alone (Istio decides connections, not packets), and a broken
# policy file is refused with its position while the previous policies stay
# in force.
. "$(dirname "$0")/lib.sh"
e2e_init authzupdate

tb_up n1/c n1/s
pods()
{
	pod_doc c front web "$TB_POD_c_IP4 $TB_POD_c_IP6"
	pod_doc s back api "$TB_POD_s_IP4 $TB_POD_s_IP6" "app: api"
}
pods >"$E2E_TMP/cfg.yaml"
serve n1/s s --tcp 8080 --echo 8081
serve n1/c c --tcp 8080
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
agent_wait_pods n1 2
s4=$TB_POD_s_IP4
expect_reached n1/c "$s4" 8080 s
assert_eq "$(status_field n1 .policy.in_force)" false "no policy yet"

# A long-lived connection opened before the policy.
in_pod n1/c -- "$PROBE" rr --duration 6 "$s4" 8081 >"$E2E_TMP/rr.out" 2>&1 &
rr=$!
E2E_PIDS+=($rr)
sleep 0.5

{ pods; authz_policy back deny-web DENY '  rules:
  - from: [{source: {principals: [cluster.local/ns/front/sa/web]}}]'; } >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 2
expect_refused n1/c "$s4" 8080
expect_refused n1/c "$TB_POD_s_IP6" 8080
log "a new DENY applies to the next connection"

# A broken edit: refused with its position, the DENY stays in force.
{ pods; authz_policy back deny-web DENY '  rules:
  - from: [{source: {ipBlocks: [10.0.0.0/40]}}]'; } >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_rejected n1
err=$(status_field n1 .config.error)
assert_match "$err" "cfg.yaml:[0-9]+:[0-9]+: .*ipBlocks" "the error names file, line and field"
expect_refused n1/c "$s4" 8080
log "a broken policy is refused; the previous one stays"

# Removed: allowed again at once.
pods >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 3
expect_reached n1/c "$s4" 8080 s
assert_eq "$(status_field n1 .policy.in_force)" false "policy off again"
log "a removed policy stops applying"

wait "$rr" || fail "the connection opened before the policy was broken: $(cat "$E2E_TMP/rr.out")"
grep -Eq '^rr samples=[1-9][0-9]* ' "$E2E_TMP/rr.out" ||
	fail "no round trips on the older connection: $(cat "$E2E_TMP/rr.out")"
agent_stop n1
log ok
