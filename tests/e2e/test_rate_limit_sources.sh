#!/usr/bin/env bash
# TrafficLimit spec.sources: a connection rate limit that applies only to
# the clients whose namespace or principal the sources match; together
# they share the service's bucket, other clients are not limited.
. "$(dirname "$0")/lib.sh"
e2e_init ratelimitsrc

tb_up n1/c n1/d n1/e n1/a
config()
{
	service_entry web 10.96.0.10 "$TB_POD_a_IP4"
	pod_doc c team-a batch "$TB_POD_c_IP4"
	pod_doc d team-b web "$TB_POD_d_IP4"
	pod_doc e team-b batch "$TB_POD_e_IP4"
	cat <<YAML
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficLimit
metadata: {name: web-limit, namespace: default}
spec:
  services: [{name: web}]
  connectionsPerSecond: 1
  burst: 5
  sources:
$1
YAML
}
config '  - {namespaces: [team-a]}
  - {principals: ["cluster.local/ns/team-b/sa/batch"]}' >"$E2E_TMP/cfg.yaml"
# The clients' pods are known by their processes.
for p in c d e; do
	"$TESTBED" exec "$E2E_ID" "n1/$p" -- sleep 600 &
	E2E_PIDS+=($!)
done
serve n1/a a --tcp 8080
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1
agent_wait_pods n1 4

# c (namespace team-a) and e (principal team-b/batch) share the burst of 5.
out=$(dial n1/c --count 3 --timeout-ms 1000 10.96.0.10 80) || true
assert_eq "$(total_ok "$out")" 3 "c within the burst: $out"
out=$(dial n1/e --count 10 --timeout-ms 1000 10.96.0.10 80) || true
ok=$(total_ok "$out")
[ "$ok" -ge 2 ] && [ "$ok" -le 3 ] || fail "e got $ok of 10; the shared burst had 2 left: $out"
assert_eq "$(tally "$out" error ECONNREFUSED)" $((10 - ok)) "the rest refused at once: $out"
# d (team-b, another service account) is not a source: unlimited.
out=$(dial n1/d --count 40 10.96.0.10 80)
assert_eq "$(total_ok "$out")" 40 "a client no source matches is not limited: $out"
log "sources: c and e shared the burst, d unlimited"

# Narrowing the sources to team-a frees e at once.
config '  - {namespaces: [team-a]}' >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_applied n1 2
out=$(dial n1/e --count 20 10.96.0.10 80)
assert_eq "$(total_ok "$out")" 20 "e no longer limited: $out"
out=$(dial n1/c --count 10 --timeout-ms 1000 10.96.0.10 80) || true
[ "$(total_ok "$out")" -le 6 ] || fail "c is still limited: $out"

# A source naming nothing is an error with its place.
config '  - {}' >"$E2E_TMP/cfg.new"
mv "$E2E_TMP/cfg.new" "$E2E_TMP/cfg.yaml"
agent_wait_rejected n1
assert_match "$(status_field n1 .config.error)" \
	'cfg.yaml:[0-9]+:[0-9]+: spec.sources\[0\]: a source needs namespaces, principals or both' \
	"empty source"
agent_stop n1
log ok
