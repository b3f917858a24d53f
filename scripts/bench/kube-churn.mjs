#!/usr/bin/env node
// Single-endpoint changes through the replay API server's control API, one
// at a time: each replaces one endpoint of one Service's EndpointSlice
// (never the first Service's) by another (another Pod when the scenario's
// endpoints are Pods), and every tenth moves the first Service, whose
// endpoints are real pods, between its pods (never none). Prints how many
// changes were made.
//   node kube-churn.mjs URL CHANGES SERVICES ENDPOINTS INTERVAL_MS "POD_IP..."
import { slice, sliceEndpoints, endpoint, firstEndpoints } from './kube-scenario.mjs';

const [url, changes, services, endpoints, interval] = process.argv.slice(2, 7);
const podIps = (process.argv[7] || '').split(' ').filter(Boolean);
const n = Number(changes), nsvc = Number(services), eps = Number(endpoints);
const PATH = '/apis/discovery.k8s.io/v1/endpointslices';
const first = firstEndpoints(podIps);
// The scenario starts with every pod: each move changes something.
const podSets = [first.slice(0, 1), first, first.slice(-1), first];
const current = new Map();
let fresh = nsvc * eps;	// endpoints beyond the scenario's

async function apply(object) {
	const res = await fetch(`${url}/_replay/apply?path=${encodeURIComponent(PATH)}`, {
		method: 'POST', body: JSON.stringify(object),
		headers: { 'Content-Type': 'application/json' },
	});
	if (!res.ok)
		throw new Error(`apply: HTTP ${res.status}: ${await res.text()}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

for (let i = 0; i < n; i++) {
	if (i % 10 === 9 && podIps.length) {
		await apply(slice(0, podSets[(i / 10 | 0) % podSets.length]));
	} else {
		const s = 1 + Math.floor(Math.random() * (nsvc - 1));
		const list = current.get(s) || sliceEndpoints(s, nsvc, eps);
		let next;
		do	/* a Pod the slice does not list already */
			next = endpoint(fresh++, nsvc, eps);
		while (list.some((e) => e.ip === next.ip));
		list[Math.floor(Math.random() * list.length)] = next;
		current.set(s, list);
		await apply(slice(s, list));
	}
	await sleep(Number(interval));
}
console.log(`changes ${n}`);
