// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Parsing and validation of configuration files. */
#include <stdio.h>

#include "helpers.h"

static const char *service_yaml =
	"apiVersion: v1\n"
	"kind: Service\n"
	"metadata:\n"
	"  name: web\n"
	"  namespace: shop\n"
	"  labels: {app: web}\n"
	"  uid: 1234\n"
	"spec:\n"
	"  type: ClusterIP\n"
	"  clusterIP: 10.96.0.10\n"
	"  clusterIPs: [10.96.0.10, fd00:96::10]\n"
	"  ipFamilies: [IPv4, IPv6]\n"
	"  ipFamilyPolicy: PreferDualStack\n"
	"  selector: {app: web}\n"
	"  sessionAffinity: None\n"
	"  ports:\n"
	"  - name: http\n"
	"    port: 80\n"
	"    targetPort: http-alt\n"
	"  - name: dns\n"
	"    port: 53\n"
	"    protocol: UDP\n"
	"    targetPort: 5353\n"
	"status:\n"
	"  loadBalancer: {}\n";

static void test_service_decoded(void **state)
{
	struct sl_config cfg;
	struct sl_err err;

	(void)state;
	assert_int_equal(load_yaml(service_yaml, &cfg, &err), 0);
	assert_int_equal(cfg.n_services, 1);
	assert_string_equal(cfg.services[0].meta.namespace, "shop");
	assert_string_equal(cfg.services[0].meta.name, "web");
	assert_int_equal(cfg.services[0].n_cluster_ips, 2);
	assert_int_equal(cfg.services[0].cluster_ips[0].family, SL_AF_INET);
	assert_int_equal(cfg.services[0].cluster_ips[1].family, SL_AF_INET6);
	assert_int_equal(cfg.services[0].n_ports, 2);
	assert_int_equal(cfg.services[0].ports[1].port, 53);
	assert_int_equal(cfg.services[0].ports[1].proto, SL_PROTO_UDP);
	assert_int_equal(cfg.warnings.n, 0);
	sl_config_free(&cfg);
}

/* Each case: YAML, then text the error must contain. */
static const char *const bad_cases[][2] = {
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  portz: []\n",
	  "test.yaml:5:3: spec.portz: unknown field \"portz\"" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
	  "  - port: 70000\n", "test.yaml:6:11: spec.ports[0].port: 70000 is out of range" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
	  "  - port: \"80\"\n", "spec.ports[0].port: expected an integer" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  clusterIP: 10.0.0.300\n",
	  "test.yaml:5:14: spec.clusterIP: \"10.0.0.300\" is not an IPv4 or IPv6 address" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
	  "  - {port: 80, protocol: ICMP}\n", "\"ICMP\" is not one of TCP, UDP, SCTP" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {namespace: x}\nspec: {}\n",
	  "missing field metadata.name" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
	  "  - {port: 80}\n  - {port: 81}\n", "must name every port" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
	  "  - {name: x, port: 80}\n  - {name: x, port: 81}\n", "port name \"x\" is used twice" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a, name: b}\n",
	  "metadata.name: field given twice" },
	{ "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  bad: [\n",
	  "test.yaml:6:1: YAML syntax error" },
	{ "kind: Service\nmetadata: {name: a}\n", "missing field apiVersion" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: Web}\n", "lower case" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n"
	  "  clusterIP: 10.0.0.1\n  clusterIPs: [10.0.0.2]\n", "clusterIP must equal clusterIPs[0]" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n"
	  "  clusterIPs: [10.0.0.1, 10.0.0.2]\n", "different families" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
	  "endpoints: []\n", "missing field addressType" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
	  "addressType: IPv4\nendpoints:\n- addresses: [\"fd00::1\"]\n",
	  "endpoints[0].addresses[0]: address family differs from addressType IPv4" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
	  "addressType: IPv4\nendpoints:\n- addresses: [10.0.0.1]\n  conditions: {ready: yes}\n",
	  "endpoints[0].conditions.ready: expected true or false" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
	  "addressType: IPv4\nendpoints:\n- conditions: {ready: true}\n",
	  "missing field addresses" },
	{ "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
	  "spec:\n  addresses: [10.1.1.1]\n", "at least one host is required" },
	{ "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
	  "spec:\n  hosts: [a.example]\n  resolution: STATIC\n  ports:\n"
	  "  - {number: 80, name: http, protocol: SPDY}\n", "\"SPDY\" is not one of" },
	{ "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
	  "spec:\n  hosts: [a.example]\n  resolution: STATIC\n  ports:\n"
	  "  - {number: 80, name: http}\n  endpoints:\n  - address: db.example\n",
	  "\"db.example\" is not an IP address" },
	{ "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
	  "spec:\n  hosts: [a.example]\n  resolution: STATIC\n  ports:\n"
	  "  - {number: 80, name: http}\n  endpoints:\n  - address: 10.0.0.1\n"
	  "    ports: {htp: 8080}\n", "no port named \"htp\" in spec.ports" },
	{ "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
	  "spec:\n  hosts: [a.example]\n  resolution: STATIC\n  endpoints:\n"
	  "  - address: 10.0.0.1\n    weight: -1\n", "endpoints[0].weight: expected an integer" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n"
	  "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n",
	  "test.yaml:5: Service default/a is defined twice (also at test.yaml:1)" },
	{ "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
	  "  annotations: {sluice.dev/redirect: \"no\"}\n",
	  "metadata.annotations.sluice.dev/redirect: \"no\" must be \"true\" or \"false\"" },
	{ "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
	  "  annotations: {sluice.dev/redirekt: \"false\"}\n",
	  "test.yaml:5:17: metadata.annotations.sluice.dev/redirekt: unknown Sluice annotation" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	  "metadata: {name: s, annotations: {sluice.dev/redirect: \"false\"}}\n"
	  "addressType: IPv4\n", "applies to the Service, not its EndpointSlices" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
	  "addressType: IPv4\nendpoints:\n- addresses: [10.0.0.1]\n"
	  "  targetRef: {kind: Pod, namespace: a}\n",
	  "test.yaml:7:14: endpoints[0].targetRef: a reference to a Pod needs a name" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
	  "addressType: IPv4\nendpoints:\n- addresses: [10.0.0.1]\n"
	  "  targetRef: {kind: Pod, name: p, node: n}\n",
	  "endpoints[0].targetRef.node: unknown field \"node\"" },
	{ "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
	  "spec:\n  hosts: [a.example]\n  endpoints:\n"
	  "  - {address: 10.0.0.1, serviceAccount: Bad_SA}\n",
	  "test.yaml:7:41: spec.endpoints[0].serviceAccount: \"Bad_SA\" must consist" },
	/* WorkloadEntry */
	{ "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: w}\n"
	  "spec:\n  address: unix:///var/run/app.sock\n",
	  "test.yaml:5:12: spec.address: a WorkloadEntry needs an IP address" },
	{ "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: w}\n"
	  "spec:\n  address: vm.example\n",
	  "spec.address: \"vm.example\" is not an IP address (a WorkloadEntry's" },
	{ "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: w}\n"
	  "spec:\n  labels: {app: a}\n", "test.yaml:5:3: missing field spec.address" },
	{ "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: w}\n"
	  "spec:\n  address: 10.0.0.1\n  adress: 10.0.0.2\n",
	  "test.yaml:6:3: spec.adress: unknown field \"adress\"" },
	{ "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: w}\n"
	  "spec: {address: 10.0.0.1}\n---\n"
	  "apiVersion: networking.istio.io/v1beta1\nkind: WorkloadEntry\nmetadata: {name: w}\n"
	  "spec: {address: 10.0.0.2}\n",
	  "test.yaml:6: WorkloadEntry default/w is defined twice (also at test.yaml:1)" },
	/* Pod */
	{ "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containerz: []\n",
	  "test.yaml:5:3: spec.containerz: unknown field \"containerz\"" },
	{ "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n  podIPs:\n"
	  "  - {ip: 10.0.0.1}\n  - {ip: 10.0.0.2}\n",
	  "test.yaml:7:5: status.podIPs[1]: the two pod IPs must be of different families" },
	{ "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n  podIPs:\n"
	  "  - {ip: 10.0.0.1}\n  - {ip: \"fd00::1\"}\n  - {ip: 10.0.0.3}\n",
	  "status.podIPs[2]: at most two pod IPs (one per family)" },
	{ "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n"
	  "  podIP: 10.0.0.2\n  podIPs: [{ip: 10.0.0.1}]\n",
	  "test.yaml:5:10: status.podIP: podIP must equal podIPs[0]" },
	{ "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n"
	  "  podIPs: [{address: 10.0.0.1}]\n",
	  "status.podIPs[0].address: unknown field \"address\"" },
	{ "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: yes\n",
	  "spec.hostNetwork: expected true or false" },
	{ "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\n"
	  "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
	  "test.yaml:5: Pod default/p is defined twice (also at test.yaml:1)" },
	{ "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
	  "  annotations: {sluice.dev/redirect: \"false\"}\n",
	  "applies to Services and ServiceEntries, not to a Pod" },
	/* AuthorizationPolicy */
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  action: CUSTOM\n  provider: {name: ext}\n",
	  "test.yaml:5:11: spec.action: action CUSTOM needs an external authorizer, "
	  "which Sluice does not implement" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  provider: {name: ext}\n",
	  "test.yaml:5:13: spec.provider: provider is only valid with action CUSTOM" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  targetRefs:\n  - {kind: Gateway, group: gateway.networking.k8s.io, "
	  "name: gw}\n",
	  "test.yaml:6:3: spec.targetRefs: targetRef(s) (waypoint and gateway policies) "
	  "are not implemented by Sluice" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  targetRef: {kind: Service, name: web}\n",
	  "spec.targetRef: targetRef(s) (waypoint and gateway policies)" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - from:\n    - source:\n"
	  "        ipBlocks: [10.0.0.0/8, 10.1.0.0/33]\n",
	  "test.yaml:8:32: spec.rules[0].from[0].source.ipBlocks[1]: \"10.1.0.0/33\": "
	  "the prefix length must be 0-32" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - from:\n    - source:\n        notIpBlocks: [10.0.0.300]\n",
	  "source.notIpBlocks[0]: \"10.0.0.300\" is not an IP address or CIDR" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - from:\n    - source:\n        ipBlocks: [\"fd00::/129\"]\n",
	  "\"fd00::/129\": the prefix length must be 0-128" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - to:\n    - operation:\n        ports: [\"80\", \"http\"]\n",
	  "test.yaml:8:23: spec.rules[0].to[0].operation.ports[1]: \"http\" is not a "
	  "port number (1-65535)" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - to:\n    - operation:\n        notPorts: [0]\n",
	  "operation.notPorts[0]: \"0\" is not a port number" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - to:\n    - operation:\n        ports: [\"70000\"]\n",
	  "\"70000\" is not a port number" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - from:\n    - source:\n        principals: [\"a*b\"]\n",
	  "test.yaml:8:22: spec.rules[0].from[0].source.principals[0]: \"a*b\": '*' may "
	  "only start or end the string" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - from:\n    - source:\n        namespaces: [\"**\"]\n",
	  "source.namespaces[0]: \"**\": '*' may only start or end" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - from:\n    - source:\n        notPrincipals: [\"\"]\n",
	  "source.notPrincipals[0]: an empty string is not allowed" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - from:\n    - source: {}\n",
	  "spec.rules[0].from[0].source: a source must not be empty" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - from:\n    - {}\n",
	  "test.yaml:7:7: spec.rules[0].from[0]: missing field source" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - to:\n    - operation: {}\n",
	  "spec.rules[0].to[0].operation: an operation must not be empty" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - from:\n"
	  "    - source: {principals: [x], serviceAccounts: [ns/sa]}\n",
	  "serviceAccounts cannot be combined with principals or namespaces" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - from:\n    - source: {serviceAccounts: [sa-only]}\n",
	  "serviceAccounts[0]: \"sa-only\" must be <namespace>/<service account>" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - from:\n    - source: {ipBlocks: [10.0.0.0/8], "
	  "remoteIpBlocks: [192.168.0.0/16]}\n",
	  "ipBlocks and remoteIpBlocks have no address in common" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - from:\n    - source: {principalz: [x]}\n",
	  "source.principalz: unknown field \"principalz\"" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - when:\n    - key: source.namespaces\n      values: [a]\n",
	  "test.yaml:7:12: spec.rules[0].when[0].key: unknown condition key "
	  "\"source.namespaces\"" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - when:\n    - key: request.headers[]\n      values: [a]\n",
	  "unknown condition key \"request.headers[]\"" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - when:\n    - values: [a]\n",
	  "spec.rules[0].when[0]: missing field key" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - when:\n    - key: source.ip\n      values: []\n",
	  "spec.rules[0].when[0]: at least one of values or notValues must be given" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - when:\n    - key: destination.port\n      notValues: [\"x\"]\n",
	  "spec.rules[0].when[0].notValues[0]: \"x\" is not a port number" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - when:\n    - key: remote.ip\n      values: [\"1.2.3.4/x\"]\n",
	  "when[0].values[0]: \"1.2.3.4/x\": the prefix length must be 0-32" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  rules:\n  - ~\n", "spec.rules[0]: a rule must not be null" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  action: DENY\n",
	  "test.yaml:5:3: spec: action DENY without rules never matches" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  action: allow\n", "spec.action: \"allow\" is not one of ALLOW, DENY" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n"
	  "spec:\n  selector:\n    matchLabels: {app: \"web*\"}\n",
	  "spec.selector.matchLabels: \"app: web*\": a selector label" },
	{ "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: a\n"
	  "  annotations: {istio.io/dry-run: \"yes\"}\n",
	  "test.yaml:5:35: metadata.annotations.istio.io/dry-run: \"yes\" must be "
	  "\"true\" or \"false\"" },
	{ "apiVersion: security.istio.io/v1beta1\nkind: AuthorizationPolicy\n"
	  "metadata: {name: a}\n---\n"
	  "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n",
	  "test.yaml:5: AuthorizationPolicy default/a is defined twice" },
};

static void test_bad_input_names_file_line_field(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct sl_config cfg;
		struct sl_err err;
		int ret = load_yaml(bad_cases[i][0], &cfg, &err);

		if (ret == 0) {
			sl_config_free(&cfg);
			fail_msg("case %zu accepted, expected \"%s\"", i, bad_cases[i][1]);
		}
		assert_contains(err.msg, bad_cases[i][1]);
		sl_config_free(&cfg);
	}
}

static void test_not_implemented_fields_are_warned(void **state)
{
	struct sl_config cfg;
	struct sl_err err;
	const char *yaml =
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n"
		"  type: NodePort\n"
		"  sessionAffinity: ClientIP\n"
		"  internalTrafficPolicy: Local\n"
		"  clusterIP: 10.0.0.1\n"
		"  ports: [{port: 80, protocol: SCTP}]\n"
		"---\n"
		"apiVersion: networking.istio.io/v1\nkind: Sidecar\n"
		"metadata: {name: sc}\nspec: {egress: [{hosts: [\"./*\"]}]}\n"
		"---\n"
		"apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
		"metadata: {name: pa}\nspec: {mtls: {mode: STRICT}}\n"
		"---\n"
		"apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
		"spec:\n  hosts: [x.example]\n  resolution: DNS\n  addresses: [10.9.0.0/16]\n";

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	assert_true(warnings_contain(&cfg, "test.yaml:5:9: spec.type: type NodePort"));
	assert_false(warnings_contain(&cfg, "sessionAffinity"));	/* implemented */
	assert_true(cfg.services[0].client_ip_affinity);
	assert_true(warnings_contain(&cfg, "spec.internalTrafficPolicy"));
	assert_true(warnings_contain(&cfg, "protocol SCTP is not implemented"));
	assert_true(warnings_contain(&cfg, "Sidecar is not implemented"));
	assert_true(warnings_contain(&cfg, "PeerAuthentication is not implemented"));
	assert_true(warnings_contain(&cfg, "resolution DNS is not implemented"));
	assert_true(warnings_contain(&cfg, "CIDR address 10.9.0.0/16"));
	assert_false(cfg.entries[0].balanced);
	sl_config_free(&cfg);
}

static void test_redirect_annotation(void **state)
{
	struct sl_config cfg;
	struct sl_model m;
	struct sl_err err;
	const char *yaml =
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
		"  annotations: {sluice.dev/redirect: \"false\", team: payments}\n"
		"spec: {clusterIP: 10.0.0.1, ports: [{port: 80}]}\n"
		"---\n"
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: b\n"
		"  annotations: {sluice.dev/redirect: \"true\"}\n"
		"spec: {clusterIP: 10.0.0.2, ports: [{port: 80}]}\n";

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	assert_true(cfg.services[0].meta.no_redirect);
	assert_false(cfg.services[1].meta.no_redirect);
	assert_int_equal(sl_model_build(&cfg, &m, &err), 0);
	assert_int_equal(m.fe[0].flags, SL_SVC_F_NO_REDIRECT);
	assert_int_equal(m.fe[1].flags, 0);
	sl_model_free(&m);
	sl_config_free(&cfg);
}

static void test_other_kinds_and_lists(void **state)
{
	struct sl_config cfg;
	struct sl_err err;
	const char *yaml =
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {x: 1}\n"
		"---\n"
		"apiVersion: v1\nkind: List\nitems:\n"
		"- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n"
		"  spec: {clusterIP: None}\n"
		"- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n"
		"  spec: {clusterIP: 10.0.0.1}\n"
		"---\n";

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	assert_int_equal(cfg.n_services, 2);
	assert_int_equal(cfg.warnings.n, 0);
	assert_string_equal(cfg.services[1].meta.namespace, "default");
	sl_config_free(&cfg);
}

static void test_slice_conditions(void **state)
{
	struct sl_config cfg;
	struct sl_err err;
	const char *yaml =
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata:\n  name: s\n  labels: {kubernetes.io/service-name: web}\n"
		"addressType: IPv6\n"
		"ports: [{name: http, port: 8080}]\n"
		"endpoints:\n"
		"- addresses: [\"fd00::1\"]\n"
		"- addresses: [\"fd00::2\"]\n  conditions: {ready: false}\n"
		"- addresses: [\"fd00::3\"]\n"
		"  conditions: {ready: false, serving: true, terminating: true}\n"
		"  zone: z1\n  nodeName: n1\n  targetRef: {kind: Pod, name: p}\n";

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	assert_int_equal(cfg.n_slices, 1);
	const struct sl_endpoint_slice *s = &cfg.slices[0];

	assert_string_equal(s->service_name, "web");
	assert_int_equal(s->family, SL_AF_INET6);
	assert_int_equal(s->n_endpoints, 3);
	assert_true(s->endpoints[0].ready && s->endpoints[0].serving);
	assert_false(s->endpoints[0].terminating);
	assert_false(s->endpoints[1].ready || s->endpoints[1].serving);
	assert_true(s->endpoints[2].serving && s->endpoints[2].terminating);
	assert_string_equal(s->endpoints[2].zone, "z1");
	sl_config_free(&cfg);
}

static void test_service_entry_decoded(void **state)
{
	struct sl_config cfg;
	struct sl_err err;
	const char *yaml =
		"apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\n"
		"metadata: {name: db, namespace: data}\n"
		"spec:\n"
		"  hosts: [db.internal]\n"
		"  addresses: [10.50.0.1, 10.50.0.2/32]\n"
		"  location: MESH_INTERNAL\n"
		"  resolution: STATIC\n"
		"  ports:\n"
		"  - {number: 5432, name: pg, protocol: tcp, targetPort: 6432}\n"
		"  endpoints:\n"
		"  - {address: 10.1.0.1, weight: 3, locality: us/east/a, labels: {v: \"1\"},\n"
		"     serviceAccount: pg-primary}\n"
		"  - {address: 10.1.0.2, ports: {pg: 7000}, serviceAccount: \"\"}\n";

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	assert_int_equal(cfg.n_entries, 1);
	const struct sl_service_entry *se = &cfg.entries[0];

	assert_true(se->balanced);
	assert_int_equal(se->n_addresses, 2);
	assert_int_equal(se->ports[0].target_port, 6432);
	assert_int_equal(se->ports[0].proto, SL_PROTO_TCP);
	assert_int_equal(se->endpoints[0].weight, 3);
	assert_string_equal(se->endpoints[0].locality, "us/east/a");
	assert_int_equal(se->endpoints[1].ports[0].number, 7000);
	assert_string_equal(se->endpoints[0].service_account, "pg-primary");
	assert_null(se->endpoints[1].service_account);
	assert_int_equal(cfg.warnings.n, 0);
	sl_config_free(&cfg);
}

static void test_slice_addresses_and_pod_refs(void **state)
{
	struct sl_config cfg;
	struct sl_err err;
	const char *yaml =
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata:\n  name: web-abc\n  namespace: shop\n"
		"  labels: {kubernetes.io/service-name: web}\n"
		"addressType: IPv4\n"
		"endpoints:\n"
		"- addresses: [10.0.0.1, 10.0.0.2, 10.0.0.3]\n"
		"  targetRef: {kind: Pod, name: web-0, uid: 1f2e, resourceVersion: \"12\"}\n"
		"- addresses: [10.0.1.1]\n"
		"  targetRef:\n    apiVersion: v1\n    kind: Pod\n    namespace: other\n"
		"    name: web-1\n    fieldPath: spec\n"
		"- addresses: [10.0.2.1]\n"
		"  targetRef: {kind: Node, name: node-a}\n"
		"- addresses: [10.0.3.1]\n";

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	const struct sl_endpoint_slice *s = &cfg.slices[0];
	struct sl_ip ip;

	assert_int_equal(s->n_endpoints, 4);
	assert_int_equal(s->endpoints[0].n_addrs, 3);
	assert_int_equal(sl_ip_parse("10.0.0.3", &ip), 0);
	assert_int_equal(sl_ip_cmp(&s->endpoints[0].addrs[2], &ip), 0);
	assert_int_equal(sl_ip_cmp(&s->endpoints[0].addrs[0], &s->endpoints[0].addr), 0);
	assert_string_equal(s->endpoints[0].pod_namespace, "shop");
	assert_string_equal(s->endpoints[0].pod_name, "web-0");
	assert_int_equal(s->endpoints[1].n_addrs, 1);
	assert_string_equal(s->endpoints[1].pod_namespace, "other");
	assert_string_equal(s->endpoints[1].pod_name, "web-1");
	assert_null(s->endpoints[2].pod_name);
	assert_null(s->endpoints[2].pod_namespace);
	assert_null(s->endpoints[3].pod_name);
	assert_int_equal(cfg.warnings.n, 0);
	sl_config_free(&cfg);
}

static void test_workload_entry_decoded(void **state)
{
	struct sl_config cfg;
	struct sl_err err;
	const char *yaml =
		"apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
		"metadata: {name: vm1, namespace: legacy}\n"
		"spec:\n"
		"  address: 10.20.0.5\n"
		"  labels: {app: billing, version: v2}\n"
		"  serviceAccount: billing-vm\n"
		"  ports: {http: 8080}\n"
		"  weight: 2\n"
		"  locality: eu/west/a\n"
		"  network: \"\"\n"
		"---\n"
		"apiVersion: networking.istio.io/v1alpha3\nkind: WorkloadEntry\n"
		"metadata: {name: vm2}\n"
		"spec: {address: \"fd00::5\", network: vpc-2}\n";

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	assert_int_equal(cfg.n_workload_entries, 2);
	const struct sl_workload_entry *w = cfg.workload_entries;

	assert_string_equal(w[0].meta.namespace, "legacy");
	assert_string_equal(w[0].meta.name, "vm1");
	assert_int_equal(w[0].addr.family, SL_AF_INET);
	assert_string_equal(w[0].service_account, "billing-vm");
	assert_int_equal(w[0].n_labels, 2);
	assert_string_equal(w[0].labels[1].key, "version");
	assert_string_equal(w[0].labels[1].value, "v2");
	assert_string_equal(w[1].meta.namespace, "default");
	assert_int_equal(w[1].addr.family, SL_AF_INET6);
	assert_string_equal(w[1].service_account, "default");
	assert_int_equal(w[1].n_labels, 0);
	assert_int_equal(cfg.warnings.n, 1);
	assert_true(warnings_contain(&cfg, "test.yaml:16:37: spec.network: networks"));
	sl_config_free(&cfg);
}

static void test_pod_dual_stack(void **state)
{
	struct sl_config cfg;
	struct sl_err err;
	const char *yaml =
		"apiVersion: v1\nkind: Pod\n"
		"metadata: {name: web-0, namespace: shop, labels: {app: web}}\n"
		"spec:\n"
		"  serviceAccountName: web\n"
		"  serviceAccount: web\n"
		"  nodeName: node-a\n"
		"  containers: [{name: web, image: nginx}]\n"
		"status:\n"
		"  podIP: 10.244.1.7\n"
		"  podIPs: [{ip: 10.244.1.7}, {ip: \"fd00:10:244:1::7\"}]\n"
		"---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: old}\n"
		"spec: {serviceAccount: legacy}\n"
		"status: {podIP: 10.244.2.9}\n"
		"---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: pending}\n"
		"spec: {containers: []}\n"
		"status: {phase: Pending}\n"
		"---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: agent, namespace: kube-system}\n"
		"spec: {hostNetwork: true, nodeName: node-b}\n"
		"status: {podIP: 192.168.0.10, podIPs: [{ip: 192.168.0.10}]}\n";

	(void)state;
	assert_int_equal(load_yaml(yaml, &cfg, &err), 0);
	assert_int_equal(cfg.n_pods, 4);
	const struct sl_pod *p = cfg.pods;

	assert_string_equal(p[0].meta.namespace, "shop");
	assert_string_equal(sl_meta_label(&p[0].meta, "app"), "web");
	assert_string_equal(p[0].service_account, "web");
	assert_string_equal(p[0].node_name, "node-a");
	assert_int_equal(p[0].n_ips, 2);
	assert_int_equal(p[0].ips[0].family, SL_AF_INET);
	assert_int_equal(p[0].ips[1].family, SL_AF_INET6);
	assert_string_equal(p[1].service_account, "legacy");
	assert_string_equal(p[1].node_name, "");
	assert_int_equal(p[1].n_ips, 1);
	assert_string_equal(p[2].service_account, "default");
	assert_int_equal(p[2].n_ips, 0);
	assert_string_equal(p[3].node_name, "node-b");
	assert_int_equal(p[3].n_ips, 0);
	assert_int_equal(cfg.warnings.n, 0);
	sl_config_free(&cfg);
}

/* As printed by `kubectl get pod -o yaml`, trimmed of nothing that matters. */
static const char *kubectl_pod_yaml =
	"apiVersion: v1\n"
	"kind: Pod\n"
	"metadata:\n"
	"  annotations:\n"
	"    kubectl.kubernetes.io/restartedAt: \"2024-05-02T10:11:12Z\"\n"
	"    prometheus.io/scrape: \"true\"\n"
	"  creationTimestamp: \"2024-05-02T10:11:15Z\"\n"
	"  generateName: reviews-v1-5b8f7c6d4-\n"
	"  labels:\n"
	"    app: reviews\n"
	"    pod-template-hash: 5b8f7c6d4\n"
	"    version: v1\n"
	"  name: reviews-v1-5b8f7c6d4-x7k2p\n"
	"  namespace: bookinfo\n"
	"  ownerReferences:\n"
	"  - apiVersion: apps/v1\n"
	"    blockOwnerDeletion: true\n"
	"    controller: true\n"
	"    kind: ReplicaSet\n"
	"    name: reviews-v1-5b8f7c6d4\n"
	"    uid: 4a7e2b1c-9d3f-4e5a-8b6c-1d2e3f4a5b6c\n"
	"  resourceVersion: \"918273\"\n"
	"  uid: 0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e\n"
	"spec:\n"
	"  affinity:\n"
	"    podAntiAffinity:\n"
	"      preferredDuringSchedulingIgnoredDuringExecution:\n"
	"      - podAffinityTerm:\n"
	"          labelSelector:\n"
	"            matchLabels: {app: reviews}\n"
	"          topologyKey: kubernetes.io/hostname\n"
	"        weight: 100\n"
	"  automountServiceAccountToken: true\n"
	"  containers:\n"
	"  - env:\n"
	"    - name: LOG_DIR\n"
	"      value: /tmp/logs\n"
	"    - name: POD_IP\n"
	"      valueFrom:\n"
	"        fieldRef: {apiVersion: v1, fieldPath: status.podIP}\n"
	"    image: docker.io/istio/examples-bookinfo-reviews-v1:1.20.1\n"
	"    imagePullPolicy: IfNotPresent\n"
	"    livenessProbe:\n"
	"      failureThreshold: 3\n"
	"      httpGet: {path: /health, port: 9080, scheme: HTTP}\n"
	"      periodSeconds: 10\n"
	"    name: reviews\n"
	"    ports:\n"
	"    - containerPort: 9080\n"
	"      name: http\n"
	"      protocol: TCP\n"
	"    resources:\n"
	"      limits: {cpu: 500m, memory: 256Mi}\n"
	"      requests: {cpu: 100m, memory: 128Mi}\n"
	"    securityContext:\n"
	"      runAsUser: 1000\n"
	"      allowPrivilegeEscalation: false\n"
	"      capabilities: {drop: [ALL]}\n"
	"    terminationMessagePath: /dev/termination-log\n"
	"    terminationMessagePolicy: File\n"
	"    volumeMounts:\n"
	"    - mountPath: /tmp\n"
	"      name: tmp\n"
	"    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount\n"
	"      name: kube-api-access-8xk4q\n"
	"      readOnly: true\n"
	"  dnsPolicy: ClusterFirst\n"
	"  enableServiceLinks: true\n"
	"  initContainers:\n"
	"  - name: init\n"
	"    image: busybox:1.36\n"
	"    command: [sh, -c, \"true\"]\n"
	"  nodeName: worker-2\n"
	"  nodeSelector: {kubernetes.io/os: linux}\n"
	"  preemptionPolicy: PreemptLowerPriority\n"
	"  priority: 0\n"
	"  restartPolicy: Always\n"
	"  schedulerName: default-scheduler\n"
	"  securityContext: {fsGroup: 2000}\n"
	"  serviceAccount: bookinfo-reviews\n"
	"  serviceAccountName: bookinfo-reviews\n"
	"  terminationGracePeriodSeconds: 30\n"
	"  tolerations:\n"
	"  - effect: NoExecute\n"
	"    key: node.kubernetes.io/not-ready\n"
	"    operator: Exists\n"
	"    tolerationSeconds: 300\n"
	"  topologySpreadConstraints:\n"
	"  - maxSkew: 1\n"
	"    topologyKey: topology.kubernetes.io/zone\n"
	"    whenUnsatisfiable: ScheduleAnyway\n"
	"    labelSelector: {matchLabels: {app: reviews}}\n"
	"  volumes:\n"
	"  - emptyDir: {}\n"
	"    name: tmp\n"
	"  - name: kube-api-access-8xk4q\n"
	"    projected:\n"
	"      defaultMode: 420\n"
	"      sources:\n"
	"      - serviceAccountToken: {expirationSeconds: 3607, path: token}\n"
	"      - configMap:\n"
	"          items: [{key: ca.crt, path: ca.crt}]\n"
	"          name: kube-root-ca.crt\n"
	"status:\n"
	"  conditions:\n"
	"  - lastProbeTime: null\n"
	"    lastTransitionTime: \"2024-05-02T10:11:18Z\"\n"
	"    status: \"True\"\n"
	"    type: PodReadyToStartContainers\n"
	"  - lastProbeTime: null\n"
	"    lastTransitionTime: \"2024-05-02T10:11:20Z\"\n"
	"    status: \"True\"\n"
	"    type: Ready\n"
	"  containerStatuses:\n"
	"  - containerID: containerd://5f4e3d2c1b0a\n"
	"    image: docker.io/istio/examples-bookinfo-reviews-v1:1.20.1\n"
	"    imageID: docker.io/istio/examples-bookinfo-reviews-v1@sha256:abcdef\n"
	"    lastState: {}\n"
	"    name: reviews\n"
	"    ready: true\n"
	"    restartCount: 0\n"
	"    started: true\n"
	"    state:\n"
	"      running: {startedAt: \"2024-05-02T10:11:19Z\"}\n"
	"  hostIP: 172.18.0.3\n"
	"  hostIPs:\n"
	"  - ip: 172.18.0.3\n"
	"  initContainerStatuses:\n"
	"  - name: init\n"
	"    ready: true\n"
	"    state: {terminated: {exitCode: 0, reason: Completed}}\n"
	"  phase: Running\n"
	"  podIP: 10.244.2.17\n"
	"  podIPs:\n"
	"  - ip: 10.244.2.17\n"
	"  qosClass: Burstable\n"
	"  startTime: \"2024-05-02T10:11:15Z\"\n";

static void test_pod_from_kubectl(void **state)
{
	struct sl_config cfg;
	struct sl_err err;
	struct sl_ip ip;

	(void)state;
	if (load_yaml(kubectl_pod_yaml, &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(cfg.n_pods, 1);
	assert_string_equal(cfg.pods[0].meta.namespace, "bookinfo");
	assert_string_equal(cfg.pods[0].meta.name, "reviews-v1-5b8f7c6d4-x7k2p");
	assert_string_equal(cfg.pods[0].service_account, "bookinfo-reviews");
	assert_string_equal(cfg.pods[0].node_name, "worker-2");
	assert_string_equal(sl_meta_label(&cfg.pods[0].meta, "version"), "v1");
	assert_int_equal(cfg.pods[0].n_ips, 1);
	assert_int_equal(sl_ip_parse("10.244.2.17", &ip), 0);
	assert_int_equal(sl_ip_cmp(&cfg.pods[0].ips[0], &ip), 0);
	assert_int_equal(cfg.warnings.n, 0);
	sl_config_free(&cfg);
}

static const char *authz_head =
	"apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n";

/* Loads authz_head followed by `rest`, which must be valid. */
static void load_policy(const char *rest, struct sl_config *cfg)
{
	char text[4096];
	struct sl_err err;

	snprintf(text, sizeof(text), "%s%s", authz_head, rest);
	if (load_yaml(text, cfg, &err) < 0)
		fail_msg("unexpected config error: %s", err.msg);
	assert_int_equal(cfg->n_policies, 1);
}

static void assert_cidr(const struct sl_cidr *c, const char *ip, uint8_t plen)
{
	struct sl_ip want;

	assert_int_equal(sl_ip_parse(ip, &want), 0);
	assert_int_equal(sl_ip_cmp(&c->ip, &want), 0);
	assert_int_equal(c->plen, plen);
}

static void test_authz_allow(void **state)
{
	struct sl_config cfg;

	(void)state;
	load_policy("metadata: {name: allow-web, namespace: shop}\n"
		    "spec:\n"
		    "  selector:\n    matchLabels: {app: web}\n"
		    "  action: ALLOW\n"
		    "  rules:\n"
		    "  - from:\n"
		    "    - source:\n"
		    "        principals: [\"cluster.local/ns/shop/sa/frontend\", \"*/sa/admin\"]\n"
		    "        namespaces: [shop, \"prod-*\", \"*\"]\n"
		    "        ipBlocks: [10.0.0.0/8, 192.168.1.77/24, \"2001:db8::1/32\",\n"
		    "                   10.1.2.3]\n"
		    "    - source: {notPrincipals: [\"*\"]}\n"
		    "    to:\n"
		    "    - operation:\n"
		    "        ports: [\"8080\", 9090]\n", &cfg);
	const struct sl_authz_policy *p = &cfg.policies[0];
	const struct sl_authz_source *src = &p->rules[0].from[0];

	assert_int_equal(p->action, SL_AUTHZ_ALLOW);
	assert_false(p->dry_run);
	assert_true(p->has_selector);
	assert_int_equal(p->n_match_labels, 1);
	assert_string_equal(p->match_labels[0].key, "app");
	assert_int_equal(p->n_rules, 1);
	assert_int_equal(p->rules[0].n_from, 2);
	assert_int_equal(src->principals.n, 2);
	assert_string_equal(src->principals.v[1], "*/sa/admin");
	assert_int_equal(src->namespaces.n, 3);
	assert_string_equal(src->namespaces.v[1], "prod-*");
	assert_int_equal(src->ip_blocks.n, 4);
	assert_cidr(&src->ip_blocks.v[0], "10.0.0.0", 8);
	assert_cidr(&src->ip_blocks.v[1], "192.168.1.0", 24);
	assert_cidr(&src->ip_blocks.v[2], "2001:db8::", 32);
	assert_cidr(&src->ip_blocks.v[3], "10.1.2.3", 32);
	assert_null(src->l7_field);
	assert_int_equal(p->rules[0].from[1].not_principals.n, 1);
	assert_int_equal(p->rules[0].n_to, 1);
	assert_int_equal(p->rules[0].to[0].ports.n, 2);
	assert_int_equal(p->rules[0].to[0].ports.v[0], 8080);
	assert_int_equal(p->rules[0].to[0].ports.v[1], 9090);
	assert_null(p->rules[0].l7_field);
	assert_int_equal(p->rules[0].loc.line, 9);
	assert_int_equal(cfg.warnings.n, 0);
	sl_config_free(&cfg);
}

static void test_authz_deny_negations(void **state)
{
	struct sl_config cfg;

	(void)state;
	load_policy("metadata: {name: deny-others}\n"
		    "spec:\n"
		    "  action: DENY\n"
		    "  rules:\n"
		    "  - from:\n"
		    "    - source:\n"
		    "        notNamespaces: [shop]\n"
		    "        notIpBlocks: [10.9.0.0/16]\n"
		    "        notRemoteIpBlocks: [\"fd00::/8\"]\n"
		    "    to:\n"
		    "    - operation: {notPorts: [\"15021\", \"15090\"]}\n", &cfg);
	const struct sl_authz_policy *p = &cfg.policies[0];
	const struct sl_authz_source *src = &p->rules[0].from[0];

	assert_int_equal(p->action, SL_AUTHZ_DENY);
	assert_false(p->has_selector);
	assert_string_equal(src->not_namespaces.v[0], "shop");
	assert_int_equal(src->not_ip_blocks.n, 2);
	assert_cidr(&src->not_ip_blocks.v[1], "fd00::", 8);
	assert_int_equal(p->rules[0].to[0].not_ports.n, 2);
	assert_int_equal(p->rules[0].to[0].not_ports.v[1], 15090);
	assert_int_equal(p->rules[0].to[0].ports.n, 0);
	assert_int_equal(cfg.warnings.n, 0);
	sl_config_free(&cfg);
}

static void test_authz_empty_forms(void **state)
{
	struct sl_config cfg;

	(void)state;
	load_policy("metadata: {name: nothing}\nspec: {}\n", &cfg);
	assert_int_equal(cfg.policies[0].action, SL_AUTHZ_ALLOW);
	assert_int_equal(cfg.policies[0].n_rules, 0);
	assert_false(cfg.policies[0].has_selector);
	sl_config_free(&cfg);

	load_policy("metadata: {name: everything}\n"
		    "spec: {selector: {}, rules: [{}]}\n", &cfg);
	assert_true(cfg.policies[0].has_selector);
	assert_int_equal(cfg.policies[0].n_match_labels, 0);
	assert_int_equal(cfg.policies[0].n_rules, 1);
	assert_int_equal(cfg.policies[0].rules[0].n_from, 0);
	assert_int_equal(cfg.policies[0].rules[0].n_to, 0);
	assert_int_equal(cfg.policies[0].rules[0].n_when, 0);
	sl_config_free(&cfg);

	load_policy("metadata: {name: deny-all}\n"
		    "spec: {action: DENY, rules: [{}], targetRefs: []}\n", &cfg);
	assert_int_equal(cfg.policies[0].action, SL_AUTHZ_DENY);
	assert_int_equal(cfg.policies[0].n_rules, 1);
	sl_config_free(&cfg);
}

static void test_authz_audit_dry_run(void **state)
{
	struct sl_config cfg;

	(void)state;
	load_policy("metadata:\n  name: audit\n  namespace: shop\n"
		    "  annotations: {istio.io/dry-run: \"true\", team: x}\n"
		    "spec:\n  action: AUDIT\n  rules:\n"
		    "  - to: [{operation: {ports: [\"5432\"]}}]\n", &cfg);
	assert_int_equal(cfg.policies[0].action, SL_AUTHZ_AUDIT);
	assert_true(cfg.policies[0].dry_run);
	assert_int_equal(cfg.policies[0].meta.dry_run_line, 6);
	sl_config_free(&cfg);

	load_policy("metadata:\n  name: live\n"
		    "  annotations: {istio.io/dry-run: \"false\"}\n"
		    "spec: {}\n", &cfg);
	assert_false(cfg.policies[0].dry_run);
	sl_config_free(&cfg);
}

static void test_authz_l7_fields_warned(void **state)
{
	struct sl_config cfg;

	(void)state;
	load_policy("metadata: {name: l7, namespace: shop}\n"
		    "spec:\n"
		    "  rules:\n"
		    "  - to:\n"
		    "    - operation:\n"
		    "        ports: [\"8080\"]\n"
		    "        methods: [GET]\n"
		    "        paths: [\"/api/*\"]\n"
		    "  - from: [{source: {namespaces: [shop]}}]\n"
		    "  - when:\n"
		    "    - key: request.headers[x-token]\n"
		    "      values: [abc]\n", &cfg);
	const struct sl_authz_policy *p = &cfg.policies[0];

	assert_int_equal(p->n_rules, 3);
	assert_string_equal(p->rules[0].to[0].l7_field, "methods");
	assert_int_equal(p->rules[0].to[0].ports.n, 1);
	assert_null(p->rules[0].l7_field);
	assert_null(p->rules[1].from[0].l7_field);
	assert_string_equal(p->rules[2].l7_field, "request.headers[x-token]");
	assert_int_equal(p->rules[2].n_when, 0);
	assert_int_equal(cfg.warnings.n, 2);
	assert_true(warnings_contain(&cfg, "test.yaml:9:18: spec.rules[0].to[0].operation."
				     "methods: AuthorizationPolicy shop/l7: methods needs "
				     "L7; this rule never matches (L4 enforcement, as "
				     "ztunnel)"));
	assert_true(warnings_contain(&cfg, "test.yaml:13:12: spec.rules[2].when[0].key: "
				     "AuthorizationPolicy shop/l7: request.headers[x-token] "
				     "needs L7; this rule never matches"));
	sl_config_free(&cfg);

	/* The action comes last: the warning still follows it. */
	load_policy("metadata: {name: l7-deny, namespace: shop}\n"
		    "spec:\n"
		    "  rules:\n"
		    "  - from:\n"
		    "    - source:\n"
		    "        requestPrincipals: [\"issuer/*\"]\n"
		    "        notRequestPrincipals: [x]\n"
		    "    to: [{operation: {hosts: [a.example]}}]\n"
		    "  action: DENY\n", &cfg);
	p = &cfg.policies[0];
	assert_string_equal(p->rules[0].from[0].l7_field, "requestPrincipals");
	assert_string_equal(p->rules[0].to[0].l7_field, "hosts");
	assert_int_equal(cfg.warnings.n, 1);
	assert_true(warnings_contain(&cfg, "spec.rules[0].from[0].source.requestPrincipals: "
				     "AuthorizationPolicy shop/l7-deny: requestPrincipals "
				     "needs L7; enforced on the rest of the rule (all of "
				     "its ports)"));
	sl_config_free(&cfg);

	load_policy("metadata: {name: l7-audit}\n"
		    "spec:\n  action: AUDIT\n  rules:\n"
		    "  - to: [{operation: {notPaths: [\"/healthz\"]}}]\n", &cfg);
	assert_true(warnings_contain(&cfg, "notPaths needs L7; audited on the rest of "
				     "the rule"));
	sl_config_free(&cfg);
}

static void test_authz_when_keys(void **state)
{
	struct sl_config cfg;

	(void)state;
	load_policy("metadata: {name: conditions}\n"
		    "spec:\n"
		    "  rules:\n"
		    "  - when:\n"
		    "    - {key: source.ip, values: [10.0.0.0/8], notValues: [10.1.0.0/16]}\n"
		    "    - {key: remote.ip, values: [\"fd00::1\"]}\n"
		    "    - {key: source.namespace, notValues: [\"kube-*\"]}\n"
		    "    - {key: source.principal, values: [\"*/sa/web\"]}\n"
		    "    - {key: destination.port, values: [\"443\", 8443]}\n"
		    "    - {key: source.serviceAccount, values: [shop/web]}\n"
		    "    - {key: destination.ip, values: [10.96.0.0/12]}\n", &cfg);
	const struct sl_authz_rule *r = &cfg.policies[0].rules[0];

	assert_int_equal(r->n_when, 6);
	assert_int_equal(r->when[0].key, SL_WHEN_SOURCE_IP);
	assert_cidr(&r->when[0].cidrs.v[0], "10.0.0.0", 8);
	assert_cidr(&r->when[0].not_cidrs.v[0], "10.1.0.0", 16);
	assert_int_equal(r->when[1].key, SL_WHEN_SOURCE_IP);
	assert_cidr(&r->when[1].cidrs.v[0], "fd00::1", 128);
	assert_int_equal(r->when[2].key, SL_WHEN_SOURCE_NAMESPACE);
	assert_string_equal(r->when[2].not_values.v[0], "kube-*");
	assert_int_equal(r->when[3].key, SL_WHEN_SOURCE_PRINCIPAL);
	assert_string_equal(r->when[3].values.v[0], "*/sa/web");
	assert_int_equal(r->when[4].key, SL_WHEN_DESTINATION_PORT);
	assert_int_equal(r->when[4].ports.n, 2);
	assert_int_equal(r->when[4].ports.v[1], 8443);
	assert_int_equal(r->when[5].key, SL_WHEN_SOURCE_PRINCIPAL);
	assert_string_equal(r->when[5].values.v[0], "*/ns/shop/sa/web");
	assert_string_equal(r->l7_field, "destination.ip");
	assert_int_equal(cfg.warnings.n, 1);
	sl_config_free(&cfg);
}

static void test_authz_service_accounts_and_remote_blocks(void **state)
{
	struct sl_config cfg;

	(void)state;
	load_policy("metadata: {name: sa}\n"
		    "spec:\n"
		    "  rules:\n"
		    "  - from:\n"
		    "    - source:\n"
		    "        serviceAccounts: [shop/web]\n"
		    "        notServiceAccounts: [shop/debug]\n"
		    "        ipBlocks: [10.0.0.0/8, 192.168.0.0/16]\n"
		    "        remoteIpBlocks: [10.1.0.0/16, 172.16.0.0/12, 192.0.0.0/2]\n", &cfg);
	const struct sl_authz_source *src = &cfg.policies[0].rules[0].from[0];

	assert_string_equal(src->principals.v[0], "*/ns/shop/sa/web");
	assert_string_equal(src->not_principals.v[0], "*/ns/shop/sa/debug");
	assert_int_equal(src->ip_blocks.n, 2);
	assert_cidr(&src->ip_blocks.v[0], "10.1.0.0", 16);
	assert_cidr(&src->ip_blocks.v[1], "192.168.0.0", 16);
	assert_int_equal(cfg.warnings.n, 0);
	sl_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_decoded),
		cmocka_unit_test(test_bad_input_names_file_line_field),
		cmocka_unit_test(test_not_implemented_fields_are_warned),
		cmocka_unit_test(test_redirect_annotation),
		cmocka_unit_test(test_other_kinds_and_lists),
		cmocka_unit_test(test_slice_conditions),
		cmocka_unit_test(test_service_entry_decoded),
		cmocka_unit_test(test_slice_addresses_and_pod_refs),
		cmocka_unit_test(test_workload_entry_decoded),
		cmocka_unit_test(test_pod_dual_stack),
		cmocka_unit_test(test_pod_from_kubectl),
		cmocka_unit_test(test_authz_allow),
		cmocka_unit_test(test_authz_deny_negations),
		cmocka_unit_test(test_authz_empty_forms),
		cmocka_unit_test(test_authz_audit_dry_run),
		cmocka_unit_test(test_authz_l7_fields_warned),
		cmocka_unit_test(test_authz_when_keys),
		cmocka_unit_test(test_authz_service_accounts_and_remote_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
