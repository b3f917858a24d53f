#!/usr/bin/env bash
# A dual-stack Service: the IPv6 VIP balances over the IPv6 slice, the IPv4
# VIP over the IPv4 slice, over TCP and UDP; an IPv6 socket dialling the
# IPv4 VIP in its v4-mapped form is balanced too.
. "$(dirname "$0")/lib.sh"
e2e_init ipv6

tb_up n1/c n1/a n1/b
cat >"$E2E_TMP/cfg.yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIPs: [10.96.0.80, "fd00:96::80"]
  ipFamilies: [IPv4, IPv6]
  ipFamilyPolicy: RequireDualStack
  ports:
  - {name: http, port: 80}
  - {name: udp, port: 90, protocol: UDP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-v6, labels: {kubernetes.io/service-name: web}}
addressType: IPv6
ports: [{name: http, port: 8080}, {name: udp, port: 9090, protocol: UDP}]
endpoints:
- addresses: ["$TB_POD_a_IP6"]
- addresses: ["$TB_POD_b_IP6"]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-v4, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080}, {name: udp, port: 9090, protocol: UDP}]
endpoints:
- addresses: [$TB_POD_a_IP4]
YAML
serve n1/a a --tcp 8080 --udp 9090
serve n1/b b --tcp 8080 --udp 9090
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1

out=$(dial n1/c --count 100 --peername fd00:96::80 80)
assert_eq "$(total_ok "$out")" 100 "IPv6 TCP connections"
assert_eq "$(tally "$out" peer '[fd00:96::80]:80')" 100 "IPv6 peer is the VIP"
assert_eq "$(tally "$out" reply a)" 50 "IPv6 connections to a"
assert_eq "$(tally "$out" reply b)" 50 "IPv6 connections to b"

out=$(dial n1/c --udp --count 20 fd00:96::80 90)
assert_eq "$(total_ok "$out")" 20 "IPv6 UDP replies"
assert_eq "$(tally "$out" from '[fd00:96::80]:90')" 20 "IPv6 UDP replies from the VIP"

out=$(dial n1/c --count 20 --peername 10.96.0.80 80)
assert_eq "$(tally "$out" reply a)" 20 "IPv4 VIP uses only the IPv4 slice"

out=$(dial n1/c --count 20 --peername ::ffff:10.96.0.80 80)
assert_eq "$(tally "$out" reply a)" 20 "v4-mapped VIP from an IPv6 socket"
assert_eq "$(tally "$out" peer 10.96.0.80:80)" 20 "v4-mapped peer is the VIP"
agent_stop n1
log ok
