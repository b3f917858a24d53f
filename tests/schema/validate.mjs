// Validates Kubernetes manifests and Sluice configurations against the
// published schemas: Kubernetes' (npm kubernetes-models), Istio's
// (@kubernetes-models/istio) and, for sluice.dev kinds, the openAPIV3Schema
// of the CRD in deploy/ (with ajv, unknown fields refused as kubectl's
// strict field validation refuses them).
//
//   node tests/schema/validate.mjs [--expect-fail] PATH...
//
// PATH is a YAML file or a directory (searched for *.yaml, *.yml). Every
// document is checked; a ConfigMap's data entries named *.yaml are checked
// as documents too (the agent's configuration). A kustomization.yaml is
// checked for its resources: each exists, and each YAML file beside it is
// listed. Errors print as FILE:DOC:KIND: message, DOC counting from 0.
// Exit 0 when everything is valid; 1 on any error or a kind with no schema.
// With --expect-fail the sense is inverted per file: every file must have
// at least one error (the self-check that the validation can fail).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import Ajv from "ajv";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CRD_DIR = path.join(ROOT, "deploy");

let expectFail = false;
const inputs = [];
for (const a of process.argv.slice(2)) {
	if (a === "--expect-fail") expectFail = true;
	else inputs.push(a);
}
if (!inputs.length) {
	console.error("usage: validate.mjs [--expect-fail] PATH...");
	process.exit(2);
}

// Names in messages: from the repository's root when inside it.
function shown(f) {
	const r = path.relative(ROOT, path.resolve(f));
	return r.startsWith("..") ? f : r;
}

function yamlFiles(p) {
	const st = fs.statSync(p);
	if (st.isFile()) return [p];
	return fs.readdirSync(p, { withFileTypes: true })
		.sort((a, b) => a.name.localeCompare(b.name))
		.flatMap((e) => {
			const q = path.join(p, e.name);
			if (e.isDirectory()) return yamlFiles(q);
			return /\.(ya?ml|json)$/.test(e.name) ? [q] : [];
		});
}

// ---- schemas ----

// networking.istio.io/v1 -> @kubernetes-models/istio/networking.istio.io/v1/Kind;
// v1 -> kubernetes-models/v1/Kind; apps/v1 -> kubernetes-models/apps/v1/Kind.
async function modelClass(apiVersion, kind) {
	const pkg = /(^|\.)istio\.io\//.test(apiVersion) ? "@kubernetes-models/istio" : "kubernetes-models";
	if (!/^[A-Za-z0-9.-]+(\/[A-Za-z0-9]+)?$/.test(apiVersion) || !/^[A-Za-z0-9]+$/.test(kind))
		return null;
	try {
		const mod = await import(`${pkg}/${apiVersion}/${kind}`);
		return mod[kind] ?? null;
	} catch (e) {
		if (e.code === "ERR_MODULE_NOT_FOUND" || e.code === "ERR_PACKAGE_PATH_NOT_EXPORTED")
			return null;
		throw e;
	}
}

// Kubernetes' structural schema as JSON Schema: x-kubernetes-* dropped,
// and an object with properties and no additionalProperties closed (the
// API server prunes unknown fields, kubectl refuses them). metadata is the
// API server's, left open.
function strictSchema(s, key) {
	if (Array.isArray(s)) return s.map((x) => strictSchema(x));
	if (s === null || typeof s !== "object") return s;
	const out = {};
	for (const [k, v] of Object.entries(s)) {
		if (k.startsWith("x-kubernetes-")) continue;
		if (k === "properties") {
			out[k] = Object.fromEntries(Object.entries(v).map(([n, p]) => [n, strictSchema(p, n)]));
		} else {
			out[k] = strictSchema(v);
		}
	}
	if (out.properties && out.additionalProperties === undefined && key !== "metadata")
		out.additionalProperties = false;
	return out;
}

// sluice.dev (and any other CRD in deploy/): group/version -> kind -> validator.
const ajv = new Ajv({ allErrors: true, strict: false });
const crdValidators = new Map();
for (const f of yamlFiles(CRD_DIR)) {
	for (const doc of YAML.parseAllDocuments(fs.readFileSync(f, "utf8"))) {
		const o = doc.toJS();
		if (o?.kind !== "CustomResourceDefinition") continue;
		for (const v of o.spec?.versions ?? []) {
			const schema = v.schema?.openAPIV3Schema;
			if (!schema) continue;
			crdValidators.set(`${o.spec.group}/${v.name}:${o.spec.names.kind}`,
				ajv.compile(strictSchema(schema)));
		}
	}
}

// ---- checking ----

function ajvMessages(errors) {
	return (errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}` +
		(e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ""));
}

async function checkObject(o) {
	if (o === null || typeof o !== "object" || Array.isArray(o))
		return ["not a Kubernetes object (a mapping with apiVersion and kind)"];
	const { apiVersion, kind } = o;
	if (typeof apiVersion !== "string" || typeof kind !== "string")
		return ["missing apiVersion or kind"];
	const crd = crdValidators.get(`${apiVersion}:${kind}`);
	if (crd) {
		const errs = crd(o) ? [] : ajvMessages(crd.errors);
		if (typeof o.metadata?.name !== "string" || !o.metadata.name)
			errs.push("/metadata/name is required");
		return errs;
	}
	const Model = await modelClass(apiVersion, kind);
	if (!Model)
		return [`unknown kind: no published schema for ${apiVersion} ${kind}`];
	try {
		new Model(o).validate();
		return [];
	} catch (e) {
		if (!e.errors) throw e;
		return ajvMessages(e.errors);
	}
}

// [{where, kind, errors}] for one file.
// A scenario of the replay API server (tests/tools/kube-replay.mjs):
// {"objects": {COLLECTION: [object, ...]}}, objects as the API server
// returns them, each checked against its kind's schema.
async function checkScenario(rel, text) {
	const results = [];
	let scenario;
	try {
		scenario = JSON.parse(text);
	} catch (e) {
		return [{ where: `${rel}:0`, kind: "-", errors: [e.message] }];
	}
	for (const [coll, objects] of Object.entries(scenario.objects ?? {}))
		for (const [i, o] of objects.entries())
			results.push({ where: `${rel}:${coll}[${i}]`, kind: o.kind ?? "-",
				       errors: await checkObject(o) });
	return results;
}

async function checkFile(file) {
	const rel = shown(file);
	const text = fs.readFileSync(file, "utf8");
	const results = [];
	if (file.endsWith(".json"))
		return checkScenario(rel, text);
	const docs = YAML.parseAllDocuments(text, { prettyErrors: true });
	if (path.basename(file) === "kustomization.yaml")
		return checkKustomization(rel, file, docs);
	for (const [i, doc] of docs.entries()) {
		const where = `${rel}:${i}`;
		if (doc.errors.length) {
			results.push({ where, kind: "-", errors: doc.errors.map((e) => e.message) });
			continue;
		}
		const o = doc.toJS();
		if (o === null || o === undefined) continue;	// an empty document
		results.push({ where, kind: o.kind ?? "-", errors: await checkObject(o) });
		// The agent's configuration carried in a ConfigMap.
		if (o.apiVersion === "v1" && o.kind === "ConfigMap") {
			for (const [key, val] of Object.entries(o.data ?? {})) {
				if (!/\.ya?ml$/.test(key)) continue;
				for (const [j, d] of YAML.parseAllDocuments(val).entries()) {
					const w = `${where}:data.${key}:${j}`;
					if (d.errors.length) {
						results.push({ where: w, kind: "-", errors: d.errors.map((e) => e.message) });
						continue;
					}
					const x = d.toJS();
					if (x === null || x === undefined) continue;
					results.push({ where: w, kind: x.kind ?? "-", errors: await checkObject(x) });
				}
			}
		}
	}
	if (!results.length)
		results.push({ where: `${rel}:0`, kind: "-", errors: ["no document"] });
	return results;
}

// A Kustomization is kustomize's, not an API kind: check that it lists
// every manifest beside it and nothing that is missing.
function checkKustomization(rel, file, docs) {
	const o = docs[0]?.toJS();
	const errors = [];
	if (o?.apiVersion !== "kustomize.config.k8s.io/v1beta1" || o?.kind !== "Kustomization")
		errors.push("expected kustomize.config.k8s.io/v1beta1 Kustomization");
	const dir = path.dirname(file);
	const listed = new Set(o?.resources ?? []);
	for (const r of listed)
		if (!fs.existsSync(path.join(dir, r))) errors.push(`resources: ${r} does not exist`);
	for (const f of fs.readdirSync(dir))
		if (/\.ya?ml$/.test(f) && f !== "kustomization.yaml" && !listed.has(f))
			errors.push(`resources: ${f} is not listed`);
	return [{ where: `${rel}:0`, kind: "Kustomization", errors }];
}

let bad = 0, docs = 0;
for (const input of inputs) {
	for (const file of yamlFiles(input)) {
		const results = await checkFile(file);
		const nerr = results.reduce((n, r) => n + r.errors.length, 0);
		docs += results.length;
		for (const r of results)
			for (const e of r.errors)
				console.log(`${expectFail ? "expected: " : ""}${r.where}:${r.kind}: ${e}`);
		if (expectFail && nerr === 0) {
			console.log(`${shown(file)}: valid, but it is there to fail validation`);
			bad++;
		} else if (!expectFail && nerr) {
			bad++;
		} else if (!expectFail) {
			console.log(`ok ${shown(file)}: ` +
				results.map((r) => r.kind).join(", "));
		}
	}
}
console.log(`${docs} documents, ${bad} file(s) ${expectFail ? "wrongly valid" : "invalid"}`);
process.exit(bad ? 1 : 0);
