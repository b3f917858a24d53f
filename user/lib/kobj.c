// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "kobj.h"

/* Adds the node for v to doc; returns its id, 0 on failure. JSON strings
 * become quoted scalars, so a string where a number belongs is refused as
 * in YAML; numbers, booleans and null are plain scalars. */
static int add_node(yaml_document_t *doc, struct json_object *v)
{
	const char *text;
	yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
	int id;

	switch (json_object_get_type(v)) {
	case json_type_object:
		id = yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE);
		if (!id)
			return 0;
		json_object_object_foreach(v, key, value) {
			int k = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)key,
							 (int)strlen(key),
							 YAML_DOUBLE_QUOTED_SCALAR_STYLE);
			int val = add_node(doc, value);

			if (!k || !val || !yaml_document_append_mapping_pair(doc, id, k, val))
				return 0;
		}
		return id;
	case json_type_array:
		id = yaml_document_add_sequence(doc, NULL, YAML_BLOCK_SEQUENCE_STYLE);
		if (!id)
			return 0;
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			int item = add_node(doc, json_object_array_get_idx(v, i));

			if (!item || !yaml_document_append_sequence_item(doc, id, item))
				return 0;
		}
		return id;
	case json_type_null:
		text = "null";
		break;
	case json_type_string:
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
		/* fall through */
	default:
		text = json_object_get_string(v);
		break;
	}
	return yaml_document_add_scalar(doc, NULL, (yaml_char_t *)text, (int)strlen(text), style);
}

static void set_type_meta(struct json_object *obj, const char *api_version, const char *kind)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, "apiVersion", &v))
		json_object_object_add(obj, "apiVersion", json_object_new_string(api_version));
	if (!json_object_object_get_ex(obj, "kind", &v))
		json_object_object_add(obj, "kind", json_object_new_string(kind));
}

static size_t node_count(const yaml_document_t *doc)
{
	return (size_t)(doc->nodes.top - doc->nodes.start);
}

/* What a decoded object takes grows with its document's nodes, at a rate
 * per kind the caller keeps (bytes per node, in 16ths): the arena gets one
 * block of that size, and the rate only rises when an object needed more. */
static size_t reserve_for(const yaml_document_t *doc, unsigned int per_node)
{
	size_t n = node_count(doc) * per_node / 16 + 64;

	return n > 65536 ? 65536 : n;
}

static void learn_rate(const yaml_document_t *doc, const struct sl_arena *arena,
		       unsigned int *per_node)
{
	size_t nodes = node_count(doc);
	size_t rate = nodes ? arena->used * 16 / nodes + 1 : 0;

	if (rate > *per_node)
		*per_node = (unsigned int)(rate + rate / 16);
}

/* One decoding of doc into cfg, its arena's first block `reserve` bytes. */
static int decode_doc(yaml_document_t *doc, int root, const char *origin, size_t reserve,
		      struct sl_strtab *texts, struct sl_config *cfg, struct sl_err *err)
{
	XXH3_state_t *content = XXH3_createState();
	int ret;

	if (!content)
		abort();
	XXH3_64bits_reset(content);
	sl_arena_reserve(&cfg->arena, reserve);
	{
		struct sl_yctx ctx = {
			.doc = doc,
			.file = sl_arena_strdup(&cfg->arena, origin),
			.err = err,
			.arena = &cfg->arena,
			.warnings = &cfg->warnings,
			.api_object = true,
			.content = content,
			.texts = texts,
		};

		ret = sl_config_decode(&ctx, yaml_document_get_node(doc, root), cfg);
	}
	cfg->digest = XXH3_64bits_digest(content);
	XXH3_freeState(content);
	cfg->n_files = 1;
	return ret;
}

int sl_kobj_decode(struct json_object *obj, const char *api_version, const char *kind,
		   const char *origin, unsigned int *per_node, struct sl_strtab *texts,
		   struct sl_config *cfg, struct sl_err *err)
{
	yaml_document_t doc;
	int root, ret;

	if (!json_object_is_type(obj, json_type_object))
		return sl_errf(err, "%s: not a JSON object", origin);
	set_type_meta(obj, api_version, kind);
	if (!yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1))
		return sl_errf(err, "%s: out of memory", origin);
	root = add_node(&doc, obj);
	if (!root) {
		yaml_document_delete(&doc);
		return sl_errf(err, "%s: out of memory", origin);
	}
	if (*per_node == 0)
		*per_node = SL_KOBJ_PER_NODE;
	ret = decode_doc(&doc, root, origin, reserve_for(&doc, *per_node), texts, cfg, err);
	learn_rate(&doc, &cfg->arena, per_node);
	/* Kept for as long as the object lives: exactly what it uses (the
	 * estimate's slack was half of 100,000 endpoints' store), given
	 * back in place, or decoded again into a block of that size. */
	if (ret == 0 && !sl_arena_shrink(&cfg->arena)) {
		size_t used = cfg->arena.used;

		sl_config_free(cfg);
		memset(cfg, 0, sizeof(*cfg));
		ret = decode_doc(&doc, root, origin, used, texts, cfg, err);
	}
	yaml_document_delete(&doc);
	return ret;
}

const char *sl_kobj_meta(struct json_object *obj, const char *field)
{
	struct json_object *meta, *v;

	if (!json_object_object_get_ex(obj, "metadata", &meta) ||
	    !json_object_object_get_ex(meta, field, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

#define ORIGIN_MARKER " (resourceVersion "

void sl_kobj_origin(char *buf, size_t len, const char *kind, const char *key,
		    const char *rv)
{
	snprintf(buf, len, "%s %.500s" ORIGIN_MARKER "%.100s)", kind, key, rv ? rv : "?");
}

/* The origin whose marker starts at m: the kind and key before it. */
static bool origin_at(const char *error, const char *m, char *kind, size_t kind_len,
		      char *key, size_t key_len)
{
	const char *key_start = m, *kind_start;

	while (key_start > error && key_start[-1] != ' ')
		key_start--;
	if (key_start == error)
		return false;
	kind_start = key_start - 1;
	while (kind_start > error && kind_start[-1] != ' ' && kind_start[-1] != '(')
		kind_start--;
	if (kind_start == key_start - 1 || (size_t)(key_start - 1 - kind_start) >= kind_len ||
	    m == key_start || (size_t)(m - key_start) >= key_len)
		return false;
	snprintf(kind, kind_len, "%.*s", (int)(key_start - 1 - kind_start), kind_start);
	snprintf(key, key_len, "%.*s", (int)(m - key_start), key_start);
	return true;
}

bool sl_kobj_newest_origin(const char *error, char *kind, size_t kind_len, char *key,
			   size_t key_len)
{
	unsigned long long best = 0;
	bool found = false;
	char k[64], n[512];

	for (const char *m = strstr(error, ORIGIN_MARKER); m; m = strstr(m + 1, ORIGIN_MARKER)) {
		unsigned long long rv = strtoull(m + strlen(ORIGIN_MARKER), NULL, 10);

		if (!origin_at(error, m, k, sizeof(k), n, sizeof(n)) || (found && rv <= best))
			continue;
		snprintf(kind, kind_len, "%s", k);
		snprintf(key, key_len, "%s", n);
		best = rv;
		found = true;
	}
	return found;
}
