// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What an object of a list or a watch event does to the store: decoded
 * (once) and kept, refused with the previous version kept, or removed.
 * The Node gives the locality.
 */
#include <stdio.h>
#include <string.h>

#include "kobj.h"
#include "kube.h"
#include "log.h"
#include "sys.h"

/* Something changed what is applied; a change not noted in parts (an
 * EndpointSlice's, kube_delta.c) makes the next apply a full one. */
static void note_change(struct sl_kube *k)
{
	if (k->changed)
		return;
	k->changed = true;
	k->changed_at_ns = sl_mono_ns();
}

void sl_kube_changed(struct sl_kube *k)
{
	sl_kube_full_change(k);
	note_change(k);
}

static bool is_slice(const struct sl_kube *k, const struct sl_kube_watch *w)
{
	return w->index == k->kind_slice;
}

void sl_kube_node_gone(struct sl_kube *k)
{
	if (!k->has_locality)
		return;
	sl_info("kubernetes: node %s is gone: locality unknown", k->node_name);
	k->has_locality = false;
	sl_kube_changed(k);
}

static const char *label(struct json_object *obj, const char *key)
{
	struct json_object *meta, *labels, *v;

	if (!json_object_object_get_ex(obj, "metadata", &meta) ||
	    !json_object_object_get_ex(meta, "labels", &labels) ||
	    !json_object_object_get_ex(labels, key, &v))
		return "";
	return json_object_get_string(v);
}

/* topology.kubernetes.io/region and zone, topology.istio.io/subzone. */
static void node_locality(struct sl_kube *k, const char *type, struct json_object *obj)
{
	struct sl_locality loc;
	char text[3 * SL_LOCALITY_LEN + 3];
	const char *why;

	if (type && !strcmp(type, "DELETED")) {
		sl_kube_node_gone(k);
		return;
	}
	k->node_listed = true;
	snprintf(text, sizeof(text), "%s/%s/%s", label(obj, "topology.kubernetes.io/region"),
		 label(obj, "topology.kubernetes.io/zone"), label(obj, "topology.istio.io/subzone"));
	/* Trailing unknown parts are left out; a zone without a region is
	 * no locality to compare with. */
	while (strlen(text) && text[strlen(text) - 1] == '/')
		text[strlen(text) - 1] = '\0';
	if (!text[0]) {
		if (k->has_locality)
			sl_kube_changed(k);
		k->has_locality = false;
		return;
	}
	memset(&loc, 0, sizeof(loc));	/* compared and hashed whole */
	why = sl_locality_parse(text, &loc);
	if (why) {
		sl_warn("kubernetes: node %s: locality \"%s\": %s; ignored", k->node_name, text, why);
		return;
	}
	if (!k->has_locality || memcmp(&loc, &k->locality, sizeof(loc))) {
		sl_info("kubernetes: node %s is in %s", k->node_name, text);
		k->locality = loc;
		k->has_locality = true;
		sl_kube_changed(k);
	}
}

static void decode(struct sl_kube *k, struct sl_kube_watch *w, const char *key,
		   struct json_object *obj)
{
	const char *rv = sl_kobj_meta(obj, "resourceVersion");
	char origin[768], api[128], group[512];
	struct sl_config cfg = { 0 };
	struct sl_kstore_obj *kept;
	const char *node = NULL;
	struct sl_err err;
	bool same;

	sl_kube_api_version(w, api, sizeof(api));
	sl_kobj_origin(origin, sizeof(origin), w->res->kind, key, rv);
	if (k->texts.full && !k->texts_full_said) {
		k->texts_full_said = true;
		sl_info("kubernetes: %u KiB of shared label text kept; new label texts are "
			"each object's own from now on", SL_KUBE_TEXTS_MAX / 1024);
	}
	if (sl_kobj_decode(obj, api, w->res->kind, origin, &w->bytes_per_node, &k->texts, &cfg,
			   &err) < 0) {
		sl_config_free(&cfg);
		sl_error("kubernetes: refused, the version before stays in force: %s", err.msg);
		sl_kstore_refuse(&k->store, w->index, key, rv, err.msg);
		sl_kube_changed(k);	/* the refusal is reported with the next apply */
		return;
	}
	for (size_t i = 0; i < cfg.warnings.n; i++)
		sl_warn("kubernetes: %s", cfg.warnings.msgs[i]);
	kept = sl_kstore_get(&k->store, w->index, key);
	/* A change of nothing Sluice reads (a Pod's container statuses, an
	 * annotation of someone else's) is kept, not applied. */
	same = kept && !kept->error && kept->value.digest == cfg.digest;
	if (!same && is_slice(k, w)) {
		bool had = kept && !kept->error;
		const char *service = sl_kube_slice_group(&cfg, group, sizeof(group));
		struct sl_config old;

		/* Before the put: the old version goes with it. */
		if (had)
			sl_kept_view(&kept->value, &old);
		sl_kube_slice_changed(k, had ? &old : NULL, &cfg);
		if (kept && kept->error)
			sl_kube_full_change(k);
		kept = sl_kstore_put(&k->store, w->index, key, rv, &cfg);
		sl_kstore_set_group(&k->store, kept, service);
		note_change(k);
		return;
	}
	/* A node's pods are checked without walking the cluster's. */
	if (w->index == k->kind_pod)
		node = cfg.n_pods && cfg.pods[0].node_name[0] ? cfg.pods[0].node_name : NULL;
	kept = sl_kstore_put(&k->store, w->index, key, rv, &cfg);
	if (w->index == k->kind_pod)
		sl_kstore_set_group(&k->store, kept, node);
	if (!same)
		sl_kube_changed(k);
}

/* A list after a 410 or a restart of the watch repeats objects kept:
 * the version kept is marked listed, not decoded again. */
static bool same_version(struct sl_kube *k, struct sl_kube_watch *w, const char *key,
			 struct json_object *obj)
{
	struct sl_kstore_obj *o = sl_kstore_get(&k->store, w->index, key);
	const char *rv = sl_kobj_meta(obj, "resourceVersion");

	if (!o || !sl_kstore_rv(o) || !rv || strcmp(sl_kstore_rv(o), rv))
		return false;
	o->seen = true;
	return true;
}

void sl_kube_object(struct sl_kube *k, struct sl_kube_watch *w, const char *type,
		    struct json_object *obj)
{
	const char *ns, *name;
	char key[512];

	if (w->res->node) {
		node_locality(k, type, obj);
		return;
	}
	ns = sl_kobj_meta(obj, "namespace");
	name = sl_kobj_meta(obj, "name");
	if (!name) {
		sl_error("kubernetes: %s: an object without metadata.name", w->res->plural);
		return;
	}
	snprintf(key, sizeof(key), "%s%s%s", ns ? ns : "", ns ? "/" : "", name);
	if (type && !strcmp(type, "DELETED")) {
		const struct sl_kstore_obj *o = sl_kstore_get(&k->store, w->index, key);
		struct sl_config old;

		if (o && is_slice(k, w) && !o->error) {
			sl_kept_view(&o->value, &old);
			sl_kube_slice_changed(k, &old, NULL);
		} else if (o) {
			sl_kube_full_change(k);
		}
		if (sl_kstore_remove(&k->store, w->index, key))
			note_change(k);
	} else if (!same_version(k, w, key, obj)) {
		decode(k, w, key, obj);
	}
}

/* Errors across objects name the objects involved by their origins. The
 * one left out is the newest (highest resourceVersion): the later claim of
 * a VIP loses, whichever kind it is. */
bool sl_kube_exclude(struct sl_kube *k, const char *error)
{
	char kind[64], key[512];
	unsigned int index;

	if (!sl_kobj_newest_origin(error, kind, sizeof(kind), key, sizeof(key)))
		return false;
	index = sl_kube_kind_index(k, kind);
	return index < SL_KSTORE_KINDS && sl_kstore_exclude(&k->store, index, key, error);
}
