#!/usr/bin/env bash
# 600 connections to a VIP whose three endpoints weigh 1/1/2 land within
# 15% of 150/150/300; every client sees the VIP as its peer; the CLI's
# counters agree with what the servers saw.
. "$(dirname "$0")/lib.sh"
e2e_init weights

tb_up n1/c n1/a n1/b n1/d
cat >"$E2E_TMP/cfg.yaml" <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: shop}
spec:
  hosts: [web.shop.internal]
  addresses: [10.96.0.10]
  resolution: STATIC
  ports: [{number: 80, name: http, targetPort: 8080}]
  endpoints:
  - {address: $TB_POD_a_IP4, weight: 1}
  - {address: $TB_POD_b_IP4, weight: 1}
  - {address: $TB_POD_d_IP4, weight: 2}
YAML
for p in a b d; do serve "n1/$p" "$p" --tcp 8080; done
agent_start n1 "$E2E_TMP/cfg.yaml"
agent_wait_applied n1

out=$(dial n1/c --count 600 --peername 10.96.0.10 80)
assert_eq "$(total_ok "$out")" 600 "successful connections"
assert_within "$(tally "$out" reply a)" 150 15 "endpoint a (weight 1)"
assert_within "$(tally "$out" reply b)" 150 15 "endpoint b (weight 1)"
assert_within "$(tally "$out" reply d)" 300 15 "endpoint d (weight 2)"
assert_eq "$(tally "$out" peer 10.96.0.10:80)" 600 "getpeername shows the VIP"

json=$(ctl n1 -o json endpoints shop/web)
assert_eq "$(jq '.[0].connections' <<<"$json")" 600 "CLI connection count"
assert_eq "$(jq '[.[0].members[].selected] | add' <<<"$json")" 600 "CLI per-endpoint counts"
assert_eq "$(jq -r '.[0].members[] | select(.weight == 2) | .share' <<<"$json")" 0.5 \
	"share of the weight-2 endpoint"
ctl n1 services | grep -q '^shop *web *ServiceEntry *10.96.0.10 *80 *TCP *3/3 *600' ||
	fail "services table: $(ctl n1 services)"
agent_stop n1
log "ok"
