#!/usr/bin/env bash
# Kubernetes API for the end-to-end tests: the replay server
# (tests/tools/kube-replay.mjs) over TLS with a bearer token, a kubeconfig
# for it, its control API, and objects shaped as the API server returns
# them. Source after lib.sh; agent_start NODE kube uses it.

KUBE_REPLAY=$E2E_ROOT/tests/tools/kube-replay.mjs
KUBE_TOKEN=
KUBE_URL=

# kube_start [SCENARIO]: the server on a free loopback port, with a
# certificate made for this run; returns once it listens.
kube_start()
{
	local dir=$E2E_TMP/kube scenario=()
	mkdir -p "$dir"
	[ -n "${1:-}" ] && scenario=(--scenario "$1")
	KUBE_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$dir/key.pem" \
		-out "$dir/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
	node "$KUBE_REPLAY" --port-file "$dir/port" "${scenario[@]}" --tls-cert "$dir/cert.pem" \
		--tls-key "$dir/key.pem" --token "$KUBE_TOKEN" --log "$dir/requests.log" \
		>"$dir/replay.out" 2>&1 &
	E2E_PIDS+=($!)
	for _ in $(seq 100); do
		[ -s "$dir/port" ] && break
		sleep 0.05
	done
	[ -s "$dir/port" ] || fail "kube-replay did not start: $(cat "$dir/replay.out")"
	KUBE_URL="https://127.0.0.1:$(cat "$dir/port")"
	kubeconfig_write "$E2E_TMP/kubeconfig" "$KUBE_TOKEN"
}

# kubeconfig_write FILE TOKEN: a kubeconfig for the server, the CA as a
# file relative to the kubeconfig (as kubectl resolves it).
kubeconfig_write()
{
	cp "$E2E_TMP/kube/cert.pem" "$(dirname "$1")/replay-ca.pem"
	cat >"$1" <<YAML
apiVersion: v1
kind: Config
current-context: replay
contexts:
- name: replay
  context: {cluster: replay, user: sluiced}
clusters:
- name: replay
  cluster:
    server: $KUBE_URL
    certificate-authority: replay-ca.pem
users:
- name: sluiced
  user: {token: "$2"}
YAML
}

# kube_ctl VERB [QUERY] [BODY]: the replay server's control API.
kube_ctl()
{
	curl -sf --cacert "$E2E_TMP/kube/cert.pem" -X "${4:-POST}" \
		-H 'Content-Type: application/json' --data-binary "${3:-}" \
		"$KUBE_URL/_replay/$1${2:+?$2}" || fail "kube-replay $1 $2 failed"
}

kube_apply() { kube_ctl apply "path=$1" "$2" >/dev/null; }
kube_delete() { kube_ctl delete "path=$1&namespace=$2&name=$3" >/dev/null; }
kube_rv() { kube_ctl state "" "" GET | jq -r .resourceVersion; }
kube_requests() { kube_ctl requests "" "" GET; }

KUBE_SERVICES=/api/v1/services
KUBE_SLICES=/apis/discovery.k8s.io/v1/endpointslices
KUBE_PODS=/api/v1/pods
KUBE_NODES=/api/v1/nodes
KUBE_DRULES=/apis/networking.istio.io/v1/destinationrules
KUBE_SENTRIES=/apis/networking.istio.io/v1/serviceentries
KUBE_VSERVICES=/apis/networking.istio.io/v1/virtualservices
KUBE_APOLICIES=/apis/security.istio.io/v1/authorizationpolicies

# kube_scenario < OBJECTS > SCENARIO: objects (one JSON per line) filed under
# the collection of their kind, as kube-replay's --scenario takes them.
kube_scenario()
{
	jq -s '{objects: (group_by(.kind) | map({key: {
		Service: "/api/v1/services", Pod: "/api/v1/pods", Node: "/api/v1/nodes",
		EndpointSlice: "/apis/discovery.k8s.io/v1/endpointslices",
		ServiceEntry: "/apis/networking.istio.io/v1/serviceentries"}[.[0].kind],
		value: .}) | from_entries)}'
}

# k8s_service NS NAME VIP [ANNOTATIONS-JSON]: port 80 (http) to targetPort 8080.
k8s_service()
{
	jq -nc --arg ns "$1" --arg n "$2" --arg vip "$3" --argjson ann "${4:-{\}}" '{
		apiVersion: "v1", kind: "Service",
		metadata: {namespace: $ns, name: $n, labels: {app: $n}, annotations: $ann},
		spec: {type: "ClusterIP", clusterIP: $vip, clusterIPs: [$vip],
			ipFamilies: ["IPv4"], ipFamilyPolicy: "SingleStack",
			internalTrafficPolicy: "Cluster", sessionAffinity: "None",
			selector: {app: $n},
			ports: [{name: "http", port: 80, protocol: "TCP", targetPort: 8080}]},
		status: {loadBalancer: {}}}'
}

# k8s_slice NS NAME SERVICE "IP[=[POD][:notready]]..." [ZONE]: endpoints on
# port 8080, ready unless said; POD: the endpoint's targetRef is that Pod
# of NS, as the EndpointSlice controller writes it.
k8s_slice()
{
	jq -nc --arg ns "$1" --arg n "$2" --arg svc "$3" --arg ips "$4" --arg zone "${5:-}" '
		{apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice",
		 metadata: {namespace: $ns, name: $n, generateName: ($svc + "-"),
			labels: {"kubernetes.io/service-name": $svc,
				"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
			ownerReferences: [{apiVersion: "v1", kind: "Service", name: $svc,
				uid: "00000000-0000-0000-0000-000000000001", controller: true,
				blockOwnerDeletion: true}]},
		 addressType: "IPv4",
		 ports: [{name: "http", port: 8080, protocol: "TCP"}],
		 endpoints: [$ips | split(" ")[] | select(. != "") | split("=") as $e |
			($e[1] // "" | split(":")) as $p |
			{addresses: [$e[0]],
			 conditions: {ready: ($p[1] != "notready"), serving: true,
				terminating: false}}
			+ (if ($p[0] // "") != "" then {targetRef: {kind: "Pod", namespace: $ns,
				name: $p[0], uid: "00000000-0000-0000-0000-00000000000a"}}
			   else {} end)
			+ (if $zone != "" then {zone: $zone} else {} end)]}'
}

# k8s_pod NS NAME NODE IP [LABELS-JSON]: a running pod as the API has it.
k8s_pod()
{
	jq -nc --arg ns "$1" --arg n "$2" --arg node "$3" --arg ip "$4" \
		--argjson labels "${5:-{\}}" '{apiVersion: "v1", kind: "Pod",
		metadata: {namespace: $ns, name: $n, labels: $labels},
		spec: {nodeName: $node, serviceAccountName: "default",
			containers: [{name: "app", image: "registry.local/app:1",
				ports: [{containerPort: 8080, protocol: "TCP"}]}],
			restartPolicy: "Always", dnsPolicy: "ClusterFirst"},
		status: {phase: "Running", podIP: $ip, podIPs: [{ip: $ip}],
			hostIP: "192.0.2.1", qosClass: "BestEffort",
			conditions: [{type: "Ready", status: "True"}]}}'
}

# k8s_node NAME REGION ZONE
k8s_node()
{
	jq -nc --arg n "$1" --arg r "$2" --arg z "$3" '{apiVersion: "v1", kind: "Node",
		metadata: {name: $n, labels: {"kubernetes.io/hostname": $n,
			"topology.kubernetes.io/region": $r, "topology.kubernetes.io/zone": $z}},
		spec: {}, status: {conditions: [{type: "Ready", status: "True"}]}}'
}

# kube_log_mark NODE: where NODE's log ends now (its agents append to it).
kube_log_mark() { wc -l <"$E2E_TMP/agent-$1.log"; }

# kube_wait_log NODE PATTERN [MARK]: waits for a line in NODE's log (after
# line MARK of kube_log_mark, if given).
kube_wait_log()
{
	local node=$1 pattern=$2 mark=${3:-0}
	for _ in $(seq 200); do
		tail -n +$((mark + 1)) "$E2E_TMP/agent-$node.log" | grep -qE -- "$pattern" &&
			return 0
		sleep 0.05
	done
	fail "agent on $node never logged /$pattern/"
}
