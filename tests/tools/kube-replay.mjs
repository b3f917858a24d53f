#!/usr/bin/env node
// kube-replay: a stand-in Kubernetes API server for the agent's list+watch
// source. It speaks the API server's JSON wire format (List kinds, continue
// tokens, chunked watch streams, BOOKMARK/ERROR events, Status bodies) over a
// store the test drives. Node.js 20, standard library only.
//
//   node tests/tools/kube-replay.mjs --port-file FILE [--scenario FILE]
//        [--tls-cert PEM --tls-key PEM] [--token TOKEN] [--log FILE]
//
// Listens on 127.0.0.1 with a kernel-chosen port, written to --port-file
// (temp file + rename). HTTPS when cert and key are given. With --token every
// API request needs "Authorization: Bearer TOKEN" (else 401 Status).
// Scenario JSON: {"resourceVersion": N?, "collections": {PATH: {"kind": K,
// "namespaced": bool}}?, "objects": {PATH: [object, ...]}}.
//
// API: GET <coll>[?limit&continue&fieldSelector&labelSelector&resourceVersion],
//   GET <coll>/NAME, the namespaced forms /api/v1/namespaces/NS/<res>[/NAME],
//   and GET <coll>?watch=1&resourceVersion=RV&allowWatchBookmarks=true
//   &timeoutSeconds=S. Also /version, /healthz, /readyz, /livez.
//
// Control API (no auth), all answer JSON:
//   POST /_replay/apply?path=COLL            body: object; add or replace by
//        namespace/name -> ADDED/MODIFIED               {"resourceVersion":"N"}
//   POST /_replay/delete?path=COLL&namespace=NS&name=N  -> DELETED  {"resourceVersion":"N"}
//   POST /_replay/batch   body: [{"op":"apply","path","object"} |
//        {"op":"delete","path","namespace","name"}, ...]  {"resourceVersion":"N"} (last)
//   POST /_replay/bookmark?path=COLL         BOOKMARK (current RV) to its open watches
//        (those that asked for allowWatchBookmarks, as the API server does)
//   POST /_replay/drop[?path=COLL]           destroy open watch sockets (no chunk end)
//   POST /_replay/compact                    forget history: older RVs get 410
//   POST /_replay/expire?path=COLL           ERROR 410 event on its open watches, then end
//   POST /_replay/fail?path=COLL&code=500&count=N[&only=list|watch|get]
//        the next N matching requests of COLL answer CODE with a Status
//   GET  /_replay/requests                   [{"method","path","query","auth","time"}]
//   POST /_replay/requests/clear             forget the recorded requests
//   GET  /_replay/watchers                   {"COLL": open watches, ...}
//   GET  /_replay/state                      {"resourceVersion","counts"} (objects per collection)
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';

const BUILTIN = {
	'/api/v1/services': ['Service', true],
	'/api/v1/endpoints': ['Endpoints', true],
	'/api/v1/pods': ['Pod', true],
	'/api/v1/nodes': ['Node', false],
	'/api/v1/namespaces': ['Namespace', false],
	'/apis/discovery.k8s.io/v1/endpointslices': ['EndpointSlice', true],
	'/apis/networking.istio.io/v1/serviceentries': ['ServiceEntry', true],
	'/apis/networking.istio.io/v1/workloadentries': ['WorkloadEntry', true],
	'/apis/networking.istio.io/v1/destinationrules': ['DestinationRule', true],
	'/apis/networking.istio.io/v1/virtualservices': ['VirtualService', true],
	'/apis/networking.istio.io/v1/sidecars': ['Sidecar', true],
	'/apis/security.istio.io/v1/authorizationpolicies': ['AuthorizationPolicy', true],
	'/apis/security.istio.io/v1/peerauthentications': ['PeerAuthentication', true],
	'/apis/sluice.dev/v1alpha1/trafficlimits': ['TrafficLimit', true],
};
const DEFAULT_WATCH_SECONDS = 1800;	// the API server's --min-request-timeout
const MAX_SNAPSHOTS = 64;		// list snapshots kept for continue tokens
const MAX_HISTORY = 200000;		// events kept per collection before auto-compaction

// ---- arguments -------------------------------------------------------------
function parseArgs(argv) {
	const opts = {};
	const names = { '--port-file': 'portFile', '--scenario': 'scenario', '--tls-cert': 'tlsCert',
		'--tls-key': 'tlsKey', '--token': 'token', '--log': 'log' };
	for (let i = 0; i < argv.length; i++) {
		const key = names[argv[i]];
		if (!key || i + 1 >= argv.length) usage(`bad argument: ${argv[i]}`);
		opts[key] = argv[++i];
	}
	if (!opts.portFile) usage('--port-file is required');
	if (!!opts.tlsCert !== !!opts.tlsKey) usage('--tls-cert and --tls-key go together');
	return opts;
}
function usage(msg) {
	process.stderr.write(`kube-replay: ${msg}\nusage: kube-replay.mjs --port-file FILE [--scenario FILE] ` +
		'[--tls-cert PEM --tls-key PEM] [--token TOKEN] [--log FILE]\n');
	process.exit(2);
}

// ---- Status bodies ---------------------------------------------------------
const REASONS = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound',
	405: 'MethodNotAllowed', 409: 'Conflict', 410: 'Expired', 422: 'Invalid', 429: 'TooManyRequests',
	500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout' };
function status(code, message, reason = REASONS[code] || 'Unknown', details) {
	const s = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
	if (details) s.details = details;
	s.code = code;
	return s;
}
const UNAUTHORIZED = status(401, 'Unauthorized');
const NOT_FOUND = status(404, 'the server could not find the requested resource', 'NotFound', {});

// ---- store -----------------------------------------------------------------
let currentRV = 0;
const collections = new Map();		// path -> Collection

const timestamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

class Entry {			// one immutable version of an object (kind/apiVersion stripped)
	constructor(key, obj) { this.key = key; this.obj = obj; this.cachedJson = null; }
	get json() { return this.cachedJson ??= JSON.stringify(this.obj); }
	get rv() { return this.obj.metadata.resourceVersion; }
}

class Collection {
	constructor(path, kind, namespaced) {
		this.path = path;
		this.kind = kind;
		this.namespaced = namespaced;
		const parts = path.split('/');		// ['', 'api', 'v1', res] or ['', 'apis', g, v, res]
		this.apiVersion = parts[1] === 'api' ? parts[2] : `${parts[2]}/${parts[3]}`;
		this.group = parts[1] === 'api' ? '' : parts[2];
		this.resource = parts[parts.length - 1];
		this.entries = new Map();	// "ns/name" -> Entry
		this.sortedKeys = null;		// lazily rebuilt after adds/deletes
		this.history = [];		// {rv, type, entry, prev} in RV order
		this.compactedRV = 0;		// watches from an RV below this get 410
		this.watchers = new Set();
		this.failure = null;		// {code, count, only}
		this.head = `{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(this.apiVersion)},`;
	}
	key(namespace, name) { return this.namespaced ? `${namespace || 'default'}/${name}` : name; }
	sorted() {
		this.sortedKeys ??= [...this.entries.keys()].sort();
		return this.sortedKeys.map((k) => this.entries.get(k));
	}
	withKind(entry) { return this.head + entry.json.slice(1); }	// object JSON with kind/apiVersion
	record(type, entry, prev) {
		const event = { rv: Number(entry.rv), type, entry, prev, line: null };
		this.history.push(event);
		if (this.history.length > MAX_HISTORY) {
			const dropped = this.history.splice(0, this.history.length / 2);
			this.compactedRV = dropped[dropped.length - 1].rv;
		}
		for (const w of this.watchers) deliver(w, event);
	}
}

const collection = (path) => collections.get(path);
for (const [path, [kind, namespaced]] of Object.entries(BUILTIN)) collections.set(path, new Collection(path, kind, namespaced));

function prepare(coll, input, prev) {
	const obj = { ...input };
	delete obj.kind;
	delete obj.apiVersion;
	const meta = obj.metadata = { ...(input.metadata || {}) };
	if (!meta.name) throw new Error('metadata.name is required');
	if (coll.namespaced) meta.namespace ||= 'default';
	else delete meta.namespace;
	meta.uid ||= prev?.obj.metadata.uid || randomUUID();
	meta.creationTimestamp ||= prev?.obj.metadata.creationTimestamp || timestamp();
	// Kinds that carry a generation (prev has one) get it bumped on a spec change.
	const prevGen = prev?.obj.metadata.generation;
	if (meta.generation === undefined && prevGen !== undefined)
		meta.generation = JSON.stringify(prev.obj.spec) === JSON.stringify(obj.spec) ? prevGen : prevGen + 1;
	// The API server's metadata key order, then whatever else the object has.
	const { name, generateName, namespace, uid, resourceVersion, generation, creationTimestamp } = meta;
	const ordered = { name, generateName, namespace, uid, resourceVersion: resourceVersion ?? '', generation, creationTimestamp };
	for (const k of Object.keys(ordered)) if (ordered[k] === undefined) delete ordered[k];
	obj.metadata = Object.assign(ordered, meta);
	return obj;
}

function applyObject(coll, input) {
	const probe = input.metadata || {};
	const key = coll.key(probe.namespace, probe.name);
	const prev = coll.entries.get(key);
	const obj = prepare(coll, input, prev);
	obj.metadata.resourceVersion = String(++currentRV);
	const entry = new Entry(key, obj);
	coll.entries.set(key, entry);
	if (!prev) coll.sortedKeys = null;
	coll.record(prev ? 'MODIFIED' : 'ADDED', entry, prev);
	return currentRV;
}

function deleteObject(coll, namespace, name) {
	const key = coll.key(namespace, name);
	const prev = coll.entries.get(key);
	if (!prev) return null;
	coll.entries.delete(key);
	coll.sortedKeys = null;
	const entry = new Entry(key, withRV(prev.obj, ++currentRV));
	coll.record('DELETED', entry, prev);
	return currentRV;
}

const withRV = (obj, rv) => ({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } });

function loadScenario(file) {
	const scenario = JSON.parse(fs.readFileSync(file, 'utf8'));
	for (const [path, def] of Object.entries(scenario.collections || {}))
		collections.set(path, new Collection(path, def.kind, def.namespaced !== false));
	if (scenario.resourceVersion) currentRV = Number(scenario.resourceVersion);
	for (const [path, objects] of Object.entries(scenario.objects || {})) {
		const coll = collection(path);
		if (!coll) throw new Error(`scenario: unknown collection ${path}`);
		for (const input of objects) {
			const key = coll.key(input.metadata?.namespace, input.metadata?.name);
			const obj = prepare(coll, input, null);
			const rv = Number(obj.metadata.resourceVersion);
			if (rv > 0) currentRV = Math.max(currentRV, rv);
			else obj.metadata.resourceVersion = String(++currentRV);
			coll.entries.set(key, new Entry(key, obj));
		}
		coll.sortedKeys = null;
	}
	currentRV = Math.max(currentRV, 1);	// an API server never reports "0", which means "any"
	// Seeded objects have no history: a watch must start from a list's RV.
	for (const coll of collections.values()) coll.compactedRV = currentRV;
}

// ---- selectors -------------------------------------------------------------
function fieldValue(obj, path) {
	let v = obj;
	for (const part of path.split('.')) v = v?.[part];
	return v === undefined || v === null ? '' : String(v);
}
function splitTerms(s) {		// commas outside parentheses
	const terms = [];
	let depth = 0, start = 0;
	for (let i = 0; i < s.length; i++) {
		if (s[i] === '(') depth++;
		else if (s[i] === ')') depth--;
		else if (s[i] === ',' && depth === 0) { terms.push(s.slice(start, i)); start = i + 1; }
	}
	terms.push(s.slice(start));
	return terms.map((t) => t.trim()).filter(Boolean);
}
function fieldTest(term) {
	const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(term);
	if (!m) throw new Error(`invalid field selector: ${term}`);
	const [, field, op, want] = m;
	return op === '!=' ? (o) => fieldValue(o, field) !== want : (o) => fieldValue(o, field) === want;
}
function labelTest(term) {
	const labels = (o) => o.metadata.labels || {};
	let m;
	if ((m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(term))) {
		const [, key, op, list] = m;
		const values = new Set(list.split(',').map((v) => v.trim()));
		return op === 'in' ? (o) => key in labels(o) && values.has(labels(o)[key])
			: (o) => !(key in labels(o)) || !values.has(labels(o)[key]);
	}
	if ((m = /^!\s*(\S+)$/.exec(term))) return (o) => !(m[1] in labels(o));
	if ((m = /^([^!=\s]+)\s*(!=|==|=)\s*(.*)$/.exec(term))) {
		const [, key, op, want] = m;
		return op === '!=' ? (o) => labels(o)[key] !== want : (o) => labels(o)[key] === want;
	}
	if (/^\S+$/.test(term)) return (o) => term in labels(o);
	throw new Error(`invalid label selector: ${term}`);
}
// Returns null when nothing filters (the fast path), else obj -> bool.
function matcher(namespace, query) {
	const tests = [];
	if (namespace) tests.push((o) => o.metadata.namespace === namespace);
	if (query.fieldSelector) tests.push(...splitTerms(query.fieldSelector).map(fieldTest));
	if (query.labelSelector) tests.push(...splitTerms(query.labelSelector).map(labelTest));
	return tests.length ? (o) => tests.every((t) => t(o)) : null;
}

// ---- list ------------------------------------------------------------------
const snapshots = new Map();		// id -> {rv, entries}
let nextSnapshot = 1;

function list(coll, match, query, res) {
	const limit = Number(query.limit) || 0;
	let snap, offset = 0, snapId;
	if (query.continue) {
		let token;
		try { token = JSON.parse(Buffer.from(query.continue, 'base64url').toString()); } catch { token = null; }
		if (!token || typeof token.start !== 'number') return send(res, 400, status(400, 'continue key is not valid: invalid token'));
		snap = snapshots.get(token.snap);
		if (!snap || snap.path !== coll.path) return send(res, 410, status(410, 'The provided continue parameter is too old ' +
			'to display a consistent list result. You can start a new list without the continue parameter.'));
		offset = token.start;
		snapId = token.snap;
	} else {
		let entries = coll.sorted();
		if (match) entries = entries.filter((e) => match(e.obj));
		snap = { path: coll.path, rv: currentRV, entries };
	}
	const end = limit > 0 ? Math.min(offset + limit, snap.entries.length) : snap.entries.length;
	const meta = { resourceVersion: String(snap.rv) };
	if (end < snap.entries.length) {
		if (!snapId) {
			snapId = nextSnapshot++;
			snapshots.set(snapId, snap);
			if (snapshots.size > MAX_SNAPSHOTS) snapshots.delete(snapshots.keys().next().value);
		}
		meta.continue = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: snap.rv, start: end, snap: snapId })).toString('base64url');
		if (!match) meta.remainingItemCount = snap.entries.length - end;
	}
	const items = [];
	for (let i = offset; i < end; i++) items.push(snap.entries[i].json);
	const body = `{"kind":${JSON.stringify(coll.kind + 'List')},"apiVersion":${JSON.stringify(coll.apiVersion)},` +
		`"metadata":${JSON.stringify(meta)},"items":[${items.join(',')}]}`;
	send(res, 200, body);
}

// ---- watch -----------------------------------------------------------------
function eventLine(type, objectJson) { return `{"type":"${type}","object":${objectJson}}\n`; }

function deliver(w, event) {
	if (w.closed) return;
	let type = event.type, json = null;
	if (w.match) {
		const now = w.match(event.entry.obj);
		const before = event.prev ? w.match(event.prev.obj) : false;
		if (type === 'DELETED') { if (!now) return; }
		else if (now && !before) type = 'ADDED';
		else if (!now && before) {	// left the selection: DELETED with its old state at the new RV
			type = 'DELETED';
			json = w.coll.withKind(new Entry(null, withRV(event.prev.obj, event.rv)));
		} else if (!now) return;
	}
	if (json === null && type === event.type) w.res.write(event.line ??= eventLine(type, w.coll.withKind(event.entry)));
	else w.res.write(eventLine(type, json ?? w.coll.withKind(event.entry)));
	w.rv = event.rv;
}

function bookmark(w, annotations) {
	const meta = { resourceVersion: String(currentRV) };
	if (annotations) meta.annotations = annotations;
	w.res.write(eventLine('BOOKMARK', `${w.coll.head}"metadata":${JSON.stringify(meta)}}`));
	w.rv = currentRV;
}

function expireWatch(res, rv, compacted) {
	res.write(eventLine('ERROR', JSON.stringify(status(410, `too old resource version: ${rv} (${compacted})`))));
	res.end();
}

function watch(coll, match, query, req, res) {
	const rvParam = query.resourceVersion;
	const fromRV = rvParam === undefined || rvParam === '' ? null : Number(rvParam);
	if (fromRV !== null && !Number.isInteger(fromRV))
		return send(res, 400, status(400, `invalid resource version: ${rvParam}`));
	res.writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
	res.flushHeaders();
	logLine(req, 200);
	if (fromRV && fromRV < coll.compactedRV) return expireWatch(res, fromRV, coll.compactedRV);

	const w = { coll, match, res, rv: currentRV, closed: false, bookmarks: isTrue(query.allowWatchBookmarks) };
	res.socket?.setNoDelay(true);
	res.on('error', () => {});	// a client gone mid-write is what drop/close look like
	if (!fromRV) {		// unset or "0": synthetic ADDED for the current state, then changes
		for (const e of coll.sorted()) if (!match || match(e.obj)) res.write(eventLine('ADDED', coll.withKind(e)));
		if (isTrue(query.sendInitialEvents) && w.bookmarks) bookmark(w, { 'k8s.io/initial-events-end': 'true' });
	} else {
		let lo = 0, hi = coll.history.length;	// first event with rv > fromRV
		while (lo < hi) { const mid = (lo + hi) >> 1; if (coll.history[mid].rv > fromRV) hi = mid; else lo = mid + 1; }
		for (let i = lo; i < coll.history.length; i++) deliver(w, coll.history[i]);
	}
	coll.watchers.add(w);
	const seconds = Number(query.timeoutSeconds) > 0 ? Number(query.timeoutSeconds) : DEFAULT_WATCH_SECONDS;
	const timer = setTimeout(() => res.end(), seconds * 1000);
	res.on('close', () => { w.closed = true; clearTimeout(timer); coll.watchers.delete(w); });
}

// ---- HTTP plumbing ---------------------------------------------------------
const isTrue = (v) => v === 'true' || v === '1';
const commonHeaders = () => ({ 'Audit-Id': randomUUID(), 'Cache-Control': 'no-cache, private' });
let logStream = null;
function logLine(req, code) { logStream?.write(`${req.method} ${req.url} ${code}\n`); }

function send(res, code, body, extra = {}) {
	const text = typeof body === 'string' ? body : JSON.stringify(body);
	res.writeHead(code, { ...commonHeaders(), 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...extra });
	res.end(text);
	logLine(res.req, code);
}

function readBody(req) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => resolve(Buffer.concat(chunks).toString()));
		req.on('error', reject);
	});
}

// Splits an API path into its collection, namespace and object name.
function resolve(pathname) {
	const m = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)\/(.*)$/.exec(pathname);
	if (!m) return null;
	let rest = m[2].split('/').filter(Boolean), namespace = null;
	if (rest.length >= 3 && rest[0] === 'namespaces') { namespace = rest[1]; rest = rest.slice(2); }
	if (rest.length < 1 || rest.length > 2) return null;
	const coll = collection(`${m[1]}/${rest[0]}`);
	if (!coll || (namespace && !coll.namespaced)) return null;
	return { coll, namespace, name: rest[1] ?? null };
}

const requests = [];

function serveApi(req, res, url, query, opts) {
	const header = req.headers.authorization || '';
	const auth = opts.token ? header === `Bearer ${opts.token}` : header !== '';
	if (/^\/(version|healthz|readyz|livez)\/?$/.test(url.pathname)) {
		if (url.pathname.startsWith('/version'))
			return send(res, 200, { major: '1', minor: '30', gitVersion: 'v1.30.0', goVersion: 'go1.22.2',
				compiler: 'gc', platform: 'linux/amd64', buildDate: '2024-04-17T17:27:41Z' });
		res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
		res.end('ok');
		return logLine(req, 200);
	}
	requests.push({ method: req.method, path: url.pathname, query, auth, time: Date.now() });
	if (opts.token && !auth) return send(res, 401, UNAUTHORIZED);
	const target = resolve(url.pathname);
	if (!target) return send(res, 404, NOT_FOUND);
	const { coll, namespace, name } = target;
	if (req.method !== 'GET') return send(res, 405, status(405, `the server does not allow this method on the requested resource`));
	const isWatch = isTrue(query.watch);
	const failure = coll.failure;
	if (failure && failure.count > 0 && (!failure.only || failure.only === (name ? 'get' : isWatch ? 'watch' : 'list'))) {
		if (--failure.count === 0) coll.failure = null;
		return send(res, failure.code, status(failure.code, `injected failure ${failure.code}`),
			failure.code === 429 ? { 'Retry-After': '1' } : {});
	}
	if (name) {
		const entry = coll.entries.get(coll.key(namespace, name));
		if (!entry || (namespace && entry.obj.metadata.namespace !== namespace)) {
			const details = coll.group ? { name, group: coll.group, kind: coll.resource } : { name, kind: coll.resource };
			return send(res, 404, status(404, `${coll.resource}${coll.group ? '.' + coll.group : ''} "${name}" not found`, 'NotFound', details));
		}
		return send(res, 200, coll.withKind(entry));
	}
	let match;
	try { match = matcher(namespace, query); } catch (err) { return send(res, 400, status(400, err.message)); }
	return isWatch ? watch(coll, match, query, req, res) : list(coll, match, query, res);
}

function controlCollection(query) {
	const coll = collection(query.path || '');
	if (!coll) throw Object.assign(new Error(`unknown collection: ${query.path}`), { code: 404 });
	return coll;
}

function runOp(op) {
	const coll = controlCollection(op);
	if (op.op === 'apply') return applyObject(coll, op.object);
	if (op.op === 'delete') {
		const rv = deleteObject(coll, op.namespace, op.name);
		if (rv === null) throw Object.assign(new Error(`${op.path}: ${op.namespace || ''}/${op.name} not found`), { code: 404 });
		return rv;
	}
	throw Object.assign(new Error(`unknown op: ${op.op}`), { code: 400 });
}

async function serveControl(req, res, url, query) {
	const action = url.pathname.slice('/_replay/'.length);
	const rvBody = (rv) => ({ resourceVersion: String(rv) });
	const body = req.method === 'POST' ? await readBody(req) : '';
	switch (action) {
	case 'apply': return send(res, 200, rvBody(runOp({ op: 'apply', path: query.path, object: JSON.parse(body) })));
	case 'delete': return send(res, 200, rvBody(runOp({ op: 'delete', ...query })));
	case 'batch': {
		let rv = currentRV;
		for (const op of JSON.parse(body)) rv = runOp(op);
		return send(res, 200, rvBody(rv));
	}
	case 'bookmark': {
		const coll = controlCollection(query);
		let sent = 0;
		for (const w of coll.watchers) if (w.bookmarks && !w.closed) { bookmark(w); sent++; }
		return send(res, 200, { ...rvBody(currentRV), watchers: sent });
	}
	case 'drop': {
		let dropped = 0;
		for (const coll of query.path ? [controlCollection(query)] : collections.values())
			for (const w of [...coll.watchers]) { w.closed = true; coll.watchers.delete(w); w.res.socket?.destroy(); dropped++; }
		return send(res, 200, { dropped });
	}
	case 'compact':
		for (const coll of collections.values()) { coll.history = []; coll.compactedRV = currentRV; }
		snapshots.clear();
		return send(res, 200, rvBody(currentRV));
	case 'expire': {
		const coll = controlCollection(query);
		let expired = 0;
		for (const w of [...coll.watchers]) {
			w.closed = true;
			coll.watchers.delete(w);
			expireWatch(w.res, w.rv, currentRV);
			expired++;
		}
		return send(res, 200, { expired });
	}
	case 'fail': {
		const coll = controlCollection(query);
		const code = Number(query.code) || 500, count = query.count === undefined ? 1 : Number(query.count);
		coll.failure = count > 0 ? { code, count, only: query.only || null } : null;
		return send(res, 200, { code, count });
	}
	case 'requests': return send(res, 200, requests);
	case 'requests/clear': requests.length = 0; return send(res, 200, {});
	case 'watchers': {
		const counts = {};
		for (const coll of collections.values()) counts[coll.path] = coll.watchers.size;
		return send(res, 200, counts);
	}
	case 'state': {
		const counts = {};
		for (const coll of collections.values()) counts[coll.path] = coll.entries.size;
		return send(res, 200, { resourceVersion: String(currentRV), counts });
	}
	default: return send(res, 404, { error: `unknown control action: ${action}` });
	}
}

function main() {
	const opts = parseArgs(process.argv.slice(2));
	if (opts.scenario) loadScenario(opts.scenario);
	currentRV = Math.max(currentRV, 1);
	if (opts.log) logStream = fs.createWriteStream(opts.log, { flags: 'a' });
	const handler = (req, res) => {
		const url = new URL(req.url, 'http://replay');
		const query = Object.fromEntries(url.searchParams);
		const fail = (err) => {
			if (!res.headersSent) send(res, err.code >= 400 ? err.code : 400, { error: err.message });
			else res.destroy();
		};
		try {
			if (url.pathname.startsWith('/_replay/')) serveControl(req, res, url, query).catch(fail);
			else serveApi(req, res, url, query, opts);
		} catch (err) { fail(err); }
	};
	const server = opts.tlsCert
		? https.createServer({ cert: fs.readFileSync(opts.tlsCert), key: fs.readFileSync(opts.tlsKey) }, handler)
		: http.createServer(handler);
	server.requestTimeout = 0;		// watches outlive Node's default 300 s
	server.listen(0, '127.0.0.1', () => {
		const tmp = `${opts.portFile}.tmp.${process.pid}`;
		fs.writeFileSync(tmp, `${server.address().port}\n`);
		fs.renameSync(tmp, opts.portFile);
	});
	for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
}

main();
