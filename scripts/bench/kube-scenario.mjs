#!/usr/bin/env node
// A kube-replay scenario (tests/tools/kube-replay.mjs) of SERVICES Services,
// each with one EndpointSlice of ENDPOINTS ready endpoints, shaped as the
// API server returns them; VIPs from 10.96.0.0/12, endpoint addresses from
// 10.128.0.0/9. With PODS_PER (default 5; 0: none), every endpoint is a
// Pod, as the EndpointSlice controller writes them (targetRef): one Pod
// per PODS_PER endpoints, each selected by PODS_PER Services (100,000
// endpoints: 20,000 pods). The first Service's endpoints are FIRST_IPS,
// real pods "a", "b", ... of this node.
//   node kube-scenario.mjs SERVICES ENDPOINTS [FIRST_IPS] > scenario.json
const [services, endpoints] = process.argv.slice(2, 4).map(Number);
const firstIps = (process.argv[4] || '').split(' ').filter(Boolean);
export const podsPer = Number(process.env.PODS_PER ?? 5);

export function vip(i) {
	const n = i + 1;	/* not x.x.0.0 */
	return `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

export function endpointIp(n) {
	return `10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

// At least a Service's endpoints: its endpoints are distinct pods.
export function podCount(nsvc, eps) {
	return podsPer ? Math.max(eps, Math.ceil((nsvc * eps) / podsPer)) : 0;
}

// The first Service keeps connections to an endpoint that leaves (the
// churn moves it between its pods; the default reset would fail a dial in
// flight by design, and the benchmark counts failed connections).
export function service(i) {
	const annotations = i === 0 ? { 'sluice.dev/reset-on-endpoint-removal': 'false' } : {};
	return {
		apiVersion: 'v1', kind: 'Service',
		metadata: { namespace: 'bench', name: `svc${i}`, labels: { app: `svc${i}` }, annotations },
		spec: {
			type: 'ClusterIP', clusterIP: vip(i), clusterIPs: [vip(i)],
			ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', sessionAffinity: 'None',
			selector: { app: `svc${i}` },
			ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
		},
	};
}

// POD_LABELS=4: a Deployment's labels (app and app.kubernetes.io/name of
// one of 1,500 apps, version, pod-template-hash) instead of app alone.
export const podLabels = Number(process.env.POD_LABELS ?? 1);

function labelsOf(name) {
	if (podLabels < 4)
		return { app: name.replace(/-.*/, '') };
	const app = `app-${Number(name.replace(/\D/g, '') || 0) % 1500}`;
	return { app, version: 'v1', 'pod-template-hash': '7d4b9c8f6d', 'app.kubernetes.io/name': app };
}

export function pod(name, ip, node) {
	return {
		apiVersion: 'v1', kind: 'Pod',
		metadata: { namespace: 'bench', name, labels: labelsOf(name) },
		spec: { nodeName: node, serviceAccountName: 'default',
			containers: [{ name: 'app', image: 'registry.local/app:1' }] },
		status: { phase: 'Running', podIP: ip, podIPs: [{ ip }],
			conditions: [{ type: 'Ready', status: 'True' }] },
	};
}

// eps: [{ ip, pod }] (pod: a Pod's name, or undefined: no targetRef).
export function slice(i, eps) {
	return {
		apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
		metadata: {
			namespace: 'bench', name: `svc${i}-abcde`, generateName: `svc${i}-`,
			labels: { 'kubernetes.io/service-name': `svc${i}` },
		},
		addressType: 'IPv4',
		ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
		endpoints: eps.map(({ ip, pod: p }) => ({
			addresses: [ip], conditions: { ready: true, serving: true, terminating: false },
			zone: 'zone-a',
			...(p ? { targetRef: { kind: 'Pod', namespace: 'bench', name: p } } : {}),
		})),
	};
}

// Endpoint n of the scenario: pod n mod the pods, or an address of its own.
export function endpoint(n, nsvc, eps) {
	const pods = podCount(nsvc, eps);
	return pods ? { ip: endpointIp(n % pods), pod: `pod-${n % pods}` } : { ip: endpointIp(n) };
}

export function sliceEndpoints(i, nsvc, eps) {
	const out = [];
	for (let e = 0; e < eps; e++)
		out.push(endpoint(i * eps + e, nsvc, eps));
	return out;
}

export function firstEndpoints(ips) {
	return ips.map((ip, k) => ({ ip, pod: podsPer ? String.fromCharCode(97 + k) : undefined }));
}

if (process.argv[1] && process.argv[1].endsWith('kube-scenario.mjs')) {
	const svcs = [], slices = [], pods = [];
	for (let i = 0; i < services; i++) {
		svcs.push(service(i));
		slices.push(slice(i, i === 0 && firstIps.length ? firstEndpoints(firstIps) :
			sliceEndpoints(i, services, endpoints)));
	}
	for (let p = 0; p < podCount(services, endpoints); p++)
		pods.push(pod(`pod-${p}`, endpointIp(p), 'n9'));
	if (podsPer)
		firstEndpoints(firstIps).forEach(({ ip, pod: p }) => pods.push(pod(p, ip, 'n1')));
	process.stdout.write(JSON.stringify({ objects: {
		'/api/v1/services': svcs,
		'/apis/discovery.k8s.io/v1/endpointslices': slices,
		'/api/v1/pods': pods,
	} }));
}
