#!/usr/bin/env bash
# A configuration with an error applies nothing: the previous state stays
# in force, the status names file, line and field, and exits non-zero; a
# restart with the broken file keeps serving; the fixed file is applied.
. "$(dirname "$0")/lib.sh"
e2e_init invalid-config

tb_up n1/c n1/a n1/b
cfg="$E2E_TMP/cfg.yaml"
good() { service_entry web 10.96.0.10 "$1" >"$cfg"; }
serve n1/a a --tcp 8080
serve n1/b b --tcp 8080
good "$TB_POD_a_IP4"
agent_start n1 "$cfg"
agent_wait_applied n1 1

# Two documents: the second is broken on line 19, column 11; the first one,
# which on its own would move the VIP to b, must not be applied either.
{
	service_entry web 10.96.0.10 "$TB_POD_b_IP4"
	cat <<YAML
---
apiVersion: v1
kind: Service
metadata: {name: broken}
spec:
  clusterIP: 10.96.0.11
  ports:
  - port: eighty
YAML
} >"$cfg.tmp"
mv "$cfg.tmp" "$cfg"
agent_wait_rejected n1
rc=0
ctl n1 status >"$E2E_TMP/status.txt" || rc=$?
assert_eq "$rc" 1 "status exit code after a rejected configuration"
err=$(status_field n1 .config.error)
assert_match "$err" "cfg.yaml:19:11: spec.ports\[0\].port: expected an integer" "error names file:line:field"
assert_eq "$(generation n1)" 1 "generation unchanged"
out=$(dial n1/c --count 20 10.96.0.10 80)
assert_eq "$(tally "$out" reply a)" 20 "the previous state stays in force"

# Restarting on the broken file keeps the datapath and the maps as they are.
agent_stop n1
agent_start n1 "$cfg"
sleep 1
out=$(dial n1/c --count 20 10.96.0.10 80)
assert_eq "$(tally "$out" reply a)" 20 "still the previous state after a restart"
assert_eq "$(status_field n1 .config.last_result)" rejected "restart reports the error"

# Unknown fields are errors too, naming the field.
sed -i 's/^  clusterIP: 10.96.0.11/  clusterIp: 10.96.0.11/; s/port: eighty/port: 81/' "$cfg"
for _ in $(seq 100); do
	grep -q 'unknown field "clusterIp"' <<<"$(status_field n1 .config.error)" && break
	sleep 0.05
done
assert_match "$(status_field n1 .config.error)" \
	'cfg.yaml:17:3: spec.clusterIp: unknown field "clusterIp"' "unknown field named"

good "$TB_POD_b_IP4"
agent_wait_applied n1 2
out=$(dial n1/c --count 20 10.96.0.10 80)
assert_eq "$(tally "$out" reply b)" 20 "the fixed configuration applies"
agent_stop n1
log ok
