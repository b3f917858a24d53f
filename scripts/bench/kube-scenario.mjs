#!/usr/bin/env node
// A kube-replay scenario (tests/tools/kube-replay.mjs) of SERVICES Services,
// each with one EndpointSlice of ENDPOINTS ready endpoints, shaped as the
// API server returns them; VIPs from 10.96.0.0/12 (the first one's
// endpoints given by FIRST_IPS, real pods), endpoint addresses from
// 10.128.0.0/9.
//   node kube-scenario.mjs SERVICES ENDPOINTS [FIRST_IPS] > scenario.json
const [services, endpoints] = process.argv.slice(2, 4).map(Number);
const firstIps = (process.argv[4] || '').split(' ').filter(Boolean);

export function vip(i) {
	const n = i + 1;	/* not x.x.0.0 */
	return `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

export function endpointIp(n) {
	return `10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
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

export function slice(i, ips) {
	return {
		apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
		metadata: {
			namespace: 'bench', name: `svc${i}-abcde`, generateName: `svc${i}-`,
			labels: { 'kubernetes.io/service-name': `svc${i}` },
		},
		addressType: 'IPv4',
		ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
		endpoints: ips.map((ip) => ({
			addresses: [ip], conditions: { ready: true, serving: true, terminating: false },
			zone: 'zone-a',
		})),
	};
}

export function sliceIps(i, perService, shift = 0) {
	const ips = [];
	for (let e = 0; e < perService; e++)
		ips.push(endpointIp(i * perService + ((e + shift) % perService)));
	return ips;
}

if (process.argv[1] && process.argv[1].endsWith('kube-scenario.mjs')) {
	const svcs = [], slices = [];
	for (let i = 0; i < services; i++) {
		svcs.push(service(i));
		slices.push(slice(i, i === 0 && firstIps.length ? firstIps : sliceIps(i, endpoints)));
	}
	process.stdout.write(JSON.stringify({ objects: {
		'/api/v1/services': svcs,
		'/apis/discovery.k8s.io/v1/endpointslices': slices,
	} }));
}
