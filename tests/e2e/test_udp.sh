#!/usr/bin/env bash
# UDP through a Service VIP (v1 Service + EndpointSlice): unconnected
# datagrams reach an endpoint and the replies come from the VIP; connected
# UDP sockets see the VIP as their peer.
. "$(dirname "$0")/lib.sh"
e2e_init udp

tb_up n1/c n1/a n1/b
cat >"$E2E_TMP/cfg.yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: kube-system}
spec:
  clusterIP: 10.96.0.53
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 5353}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 5353}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: dns-x1
  namespace: kube-system
  labels: {kubernetes.io/service-name: dns}
addressType: IPv4
ports:
- {name: dns, port: 5353, protocol: UDP}
- {name: dns-tcp, port: 5354, protocol: TCP}
endpoints:
- addresses: [$TB_POD_a_IP4]
  conditions: {ready: true}
- addresses: [$TB_POD_b_IP4]
YAML
serve n1/a a --udp 5353 --tcp 5354
serve n1/b b --udp 5353 --tcp 5354
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1

out=$(dial n1/c --udp --count 100 10.96.0.53 53)
assert_eq "$(total_ok "$out")" 100 "unconnected UDP replies"
assert_eq "$(tally "$out" from 10.96.0.53:53)" 100 "replies appear to come from the VIP"
assert_eq "$(tally "$out" reply a)" 50 "datagrams to a"
assert_eq "$(tally "$out" reply b)" 50 "datagrams to b"

out=$(dial n1/c --udp-connected --peername --count 40 10.96.0.53 53)
assert_eq "$(total_ok "$out")" 40 "connected UDP replies"
assert_eq "$(tally "$out" peer 10.96.0.53:53)" 40 "connected UDP peer is the VIP"

# The TCP port of the same Service maps to its own slice port.
out=$(dial n1/c --count 10 10.96.0.53 53)
assert_eq "$(total_ok "$out")" 10 "TCP on the same VIP and port"
assert_eq "$(jq '[.[] | select(.protocol == "UDP") | .datagrams] | add' \
	<<<"$(ctl n1 -o json services)")" 100 "datagram counter"
agent_stop n1
log ok
