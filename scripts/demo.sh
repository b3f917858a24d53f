#!/usr/bin/env bash
# make demo: a node with a client pod and three web pods in network
# namespaces, the agent balancing service VIPs for them from examples/demo,
# real connections through the VIPs, the CLI's view, a live weight change,
# then everything torn down.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
TESTBED=$ROOT/scripts/testbed.sh
ID="demo$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
PINS=/sys/fs/bpf/sluice-$ID
WORK=$(mktemp -d /tmp/sluice-demo.XXXX)
PIDS=()
AGENT=

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cleanup()
{
	set +e
	say "tearing down"
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$BUILD/sluiced" --uninstall --bpffs "$PINS" 2>/dev/null
	"$TESTBED" down "$ID" >/dev/null
	rm -rf "$WORK"
	echo "done: no namespace, cgroup, pin or process left behind"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "the demo needs root" >&2; exit 1; }

say "testbed: node n1 with pods client, web1, web2, web3 (netns + veth + cgroup)"
"$TESTBED" up "$ID" n1/client n1/web1 n1/web2 n1/web3 >/dev/null
eval "$("$TESTBED" info "$ID")"
[ "$TB_POD_web1_IP4" = 10.200.1.3 ] || { echo "testbed addresses differ from examples/demo" >&2; exit 1; }
for p in web1 web2 web3; do
	"$TESTBED" exec "$ID" "n1/$p" -- "$BUILD/sl-probe" serve --name "$p" \
		--tcp 8080 --tcp 8443 --udp 5353 >"$WORK/$p.log" 2>&1 &
	PIDS+=($!)
done
echo "client $TB_POD_client_IP4, web1 $TB_POD_web1_IP4, web2 $TB_POD_web2_IP4, web3 $TB_POD_web3_IP4"

say "agent: sluiced for node n1's cgroup, configuration examples/demo/"
cp -r "$ROOT/examples/demo" "$WORK/config"
"$BUILD/sluiced" --config "$WORK/config" --bpffs "$PINS" --cgroup "$TB_NODE_n1_CGROUP" \
	--flows-socket "$WORK/flows.sock" >"$WORK/agent.log" 2>&1 &
AGENT=$!
for _ in $(seq 100); do
	"$BUILD/sluicectl" --bpffs "$PINS" status >/dev/null 2>&1 && break
	sleep 0.1
done
sed 's/^/  agent | /' "$WORK/agent.log"
run "$BUILD/sluicectl" --bpffs "$PINS" status

dial() { "$TESTBED" exec "$ID" n1/client -- "$BUILD/sl-probe" dial "$@"; }

say "300 connections from the client pod to web.shop (10.96.0.10:80)"
dial --count 300 --peername 10.96.0.10 80
say "the same over IPv6 ([fd00:96::10]:80): the IPv6 slice has web1 and web2"
dial --count 100 --peername fd00:96::10 80
say "400 connections to payments (ServiceEntry, weights 3:1)"
dial --count 400 10.96.0.20 443
say "200 DNS-style datagrams to 10.96.0.53:53 (UDP)"
dial --udp --count 200 10.96.0.53 53

say "what the node knows"
run "$BUILD/sluicectl" --bpffs "$PINS" services
run "$BUILD/sluicectl" --bpffs "$PINS" endpoints shop/payments

say "shifting payments to 1:1 by editing the file; the agent applies it at once"
sed -i 's/weight: 3/weight: 1/' "$WORK/config/payments.yaml"
for _ in $(seq 100); do
	gen=$("$BUILD/sluicectl" --bpffs "$PINS" -o json status | jq .config.generation)
	[ "$gen" -ge 2 ] && break
	sleep 0.05
done
dial --count 400 10.96.0.20 443

say "segmentation: only the storefront identity may call payments (AuthorizationPolicy)"
cp "$ROOT/examples/policy/"*.yaml "$WORK/config/"
for _ in $(seq 100); do
	gen=$("$BUILD/sluicectl" --bpffs "$PINS" -o json status | jq .config.generation)
	[ "$gen" -ge 3 ] && break
	sleep 0.05
done
echo "from the client pod (shop/storefront):"
dial --count 4 10.96.0.20 443
echo "from web1 (shop/web), refused at once:"
"$TESTBED" exec "$ID" n1/web1 -- "$BUILD/sl-probe" dial --count 4 --first-error 10.96.0.20 443 || true
run "$BUILD/sluicectl" --bpffs "$PINS" explain --from shop/web1 --to shop/payments:443 || true
run "$BUILD/sluicectl" --bpffs "$PINS" policies
run "$BUILD/sluicectl" --bpffs "$PINS" identities

say "observability: the flow log of those refusals, and Istio's TCP metrics"
run "$BUILD/sluicectl" --bpffs "$PINS" flows --verdict denied
curl -s "http://127.0.0.1:9464/metrics" | grep '^istio_tcp_connections_opened_total' |
	grep 'reporter="source"' | sed 's/^/  /' | head -n 4 ||
	echo "  (no /metrics on 127.0.0.1:9464: is the port taken?)"

say "a broken edit is refused and changes nothing"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: broken}\nspec: {ports: [{port: 0}]}\n' \
	>"$WORK/config/broken.yaml"
sleep 0.5
"$BUILD/sluicectl" --bpffs "$PINS" status || echo "(status exits 1: the last configuration was rejected)"
dial --count 4 10.96.0.20 443

say "the Kubernetes API as the source: the agent restarts onto an API server"
# No API server runs here: tests/tools/kube-replay.mjs speaks its wire
# format (list, chunked watch) over objects the demo hands it.
slice() # IP...: web's EndpointSlice, as the API server returns it
{
	jq -nc --arg ips "$*" '{apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice",
		metadata: {namespace: "shop", name: "web-kube", labels: {"kubernetes.io/service-name": "web"}},
		addressType: "IPv4", ports: [{name: "http", port: 8080, protocol: "TCP"}],
		endpoints: [$ips | split(" ")[] | {addresses: [.], conditions: {ready: true}}]}'
}
jq -n --argjson slice "$(slice "$TB_POD_web1_IP4")" '{objects: {
	"/api/v1/services": [{apiVersion: "v1", kind: "Service", metadata: {namespace: "shop", name: "web"},
		spec: {clusterIP: "10.96.0.10", ports: [{name: "http", port: 80, targetPort: 8080}]}}],
	"/apis/discovery.k8s.io/v1/endpointslices": [$slice]}}' >"$WORK/scenario.json"
node "$ROOT/tests/tools/kube-replay.mjs" --port-file "$WORK/api.port" \
	--scenario "$WORK/scenario.json" >"$WORK/api.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/api.port" ] && break; sleep 0.05; done
API=http://127.0.0.1:$(cat "$WORK/api.port")
printf 'apiVersion: v1\nkind: Config\ncurrent-context: demo\ncontexts: [{name: demo, context: {cluster: demo, user: demo}}]\nclusters: [{name: demo, cluster: {server: "%s"}}]\nusers: [{name: demo, user: {token: demo}}]\n' \
	"$API" >"$WORK/kubeconfig"
kill "$AGENT" && wait "$AGENT" 2>/dev/null
echo '$ sluiced --kubeconfig kubeconfig --node-name n1 ...   (same pins: adopted, then reconciled)'
"$BUILD/sluiced" --kubeconfig "$WORK/kubeconfig" --node-name n1 --bpffs "$PINS" \
	--cgroup "$TB_NODE_n1_CGROUP" --flows-socket "$WORK/flows.sock" >"$WORK/agent-kube.log" 2>&1 &
AGENT=$!
for _ in $(seq 100); do
	grep -q 'ready .* after start' "$WORK/agent-kube.log" && break
	sleep 0.1
done
grep -E 'kubernetes: (watching|services|endpointslices)|ready|configuration applied' \
	"$WORK/agent-kube.log" | cut -c26- | sed 's/^/  agent | /'
dial --count 6 10.96.0.10 80
say "a watch event: web's EndpointSlice gains web2 and web3"
curl -s -X POST --data-binary "$(slice "$TB_POD_web1_IP4" "$TB_POD_web2_IP4" "$TB_POD_web3_IP4")" \
	"$API/_replay/apply?path=/apis/discovery.k8s.io/v1/endpointslices" >/dev/null
sleep 0.3
grep 'in the maps' "$WORK/agent-kube.log" | tail -n 1 | cut -c26- | sed 's/^/  agent | /'
dial --count 6 10.96.0.10 80
