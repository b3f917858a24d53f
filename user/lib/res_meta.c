// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Decoding shared by every kind: object metadata, labels, exportTo, protocols. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int sl_check_dns_label(struct sl_yctx *ctx, yaml_node_t *node, const char *v,
		       size_t max_len)
{
	size_t n = strlen(v);

	if (n == 0 || n > max_len)
		return sl_y_fail(ctx, node, "\"%s\" must be 1-%zu characters", v, max_len);
	for (size_t i = 0; i < n; i++) {
		char c = v[i];

		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-'))
			return sl_y_fail(ctx, node, "\"%s\" must consist of lower case "
					 "letters, digits and '-'", v);
	}
	if (v[0] == '-' || v[n - 1] == '-')
		return sl_y_fail(ctx, node, "\"%s\" must start and end with a letter "
				 "or digit", v);
	return 0;
}

/* A DNS-1123 subdomain: dot-separated labels, at most 253 characters. */
int sl_check_dns_subdomain(struct sl_yctx *ctx, yaml_node_t *node, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 253)
		return sl_y_fail(ctx, node, "\"%s\" must be 1-253 characters", v);
	for (size_t i = 0; i < n; i++) {
		char c = v[i];

		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) ||
		      c == '-' || c == '.'))
			return sl_y_fail(ctx, node, "\"%s\" must consist of lower case "
					 "letters, digits, '-' and '.'", v);
	}
	if (!isalnum((unsigned char)v[0]) || !isalnum((unsigned char)v[n - 1]))
		return sl_y_fail(ctx, node, "\"%s\" must start and end with a letter "
				 "or digit", v);
	return 0;
}

static int meta_name(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_meta *meta = obj;

	if (sl_y_str(ctx, node, &meta->name) < 0)
		return -1;
	return sl_check_dns_subdomain(ctx, node, meta->name);
}

static int meta_namespace(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_meta *meta = obj;

	if (sl_y_str(ctx, node, &meta->namespace) < 0)
		return -1;
	return sl_check_dns_label(ctx, node, meta->namespace, 63);
}

static int meta_labels(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_meta *meta = obj;

	return sl_decode_labels(ctx, node, &meta->labels, &meta->n_labels,
				&meta->cap_labels);
}

int sl_decode_labels(struct sl_yctx *ctx, yaml_node_t *node,
		     struct sl_label **labels, size_t *n, size_t *cap)
{
	if (sl_y_expect_map(ctx, node) < 0)
		return -1;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = sl_y_node(ctx, p->key);
		yaml_node_t *v = sl_y_node(ctx, p->value);
		struct sl_label label;

		if (sl_y_str_shared(ctx, k, &label.key) < 0)
			return -1;
		if (sl_y_is_null(v)) {
			label.value = "";
		} else {
			size_t mark = sl_y_push(ctx, ".%s", label.key);
			int ret = sl_y_str_shared(ctx, v, &label.value);

			sl_y_pop(ctx, mark);
			if (ret < 0)
				return -1;
		}
		sl_arena_grow(ctx->arena, (void **)labels, cap, *n + 1, sizeof(**labels));
		(*labels)[(*n)++] = label;
	}
	return 0;
}

static int export_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
		       void *obj)
{
	const char *v = sl_y_scalar(ctx, item);

	(void)index;
	if (!v)
		return -1;
	if (!strcmp(v, "*"))
		*(bool *)obj = true;
	return 0;
}

static int export_warn(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
		       void *obj)
{
	(void)index;
	(void)obj;
	sl_y_warn(ctx, item, "exportTo \"%s\": visibility is not implemented by "
		  "Sluice; every namespace sees this resource",
		  (const char *)item->data.scalar.value);
	return 0;
}

/* Sluice applies every resource in every namespace, which is exportTo "*";
 * a list holding "*" means just that. Narrower visibility ("." included)
 * would be widened, so each entry is reported. */
int sl_decode_export_to(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	bool everywhere = false;

	(void)obj;
	if (sl_y_seq(ctx, node, export_item, &everywhere) < 0)
		return -1;
	if (everywhere)
		return 0;
	return sl_y_seq(ctx, node, export_warn, NULL);
}

/* A "true" / "false" annotation; *loc records that it was given. */
static int annotation_bool(struct sl_yctx *ctx, yaml_node_t *key,
			   yaml_node_t *value, bool *out, unsigned int *line)
{
	const char *v = sl_y_scalar(ctx, value);

	if (!v)
		return -1;
	if (strcmp(v, "true") && strcmp(v, "false"))
		return sl_y_fail(ctx, value, "\"%s\" must be \"true\" or \"false\"", v);
	*out = !strcmp(v, "true");
	*line = sl_y_loc(ctx, key).line;
	return 0;
}

/* Kubernetes quantity suffixes (apimachinery's resource.Quantity). */
static const struct {
	const char *suffix;
	double mult;
} quantity_suffixes[] = {
	{ "", 1 }, { "k", 1e3 }, { "M", 1e6 }, { "G", 1e9 }, { "T", 1e12 },
	{ "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 },
	{ "Ti", 1099511627776.0 }, { "m", 1e-3 },
};

static bool parse_quantity(const char *s, double *out)
{
	char *end;
	double v;

	if (!s[0] || !(isdigit((unsigned char)s[0]) || s[0] == '.' || s[0] == '+') ||
	    strpbrk(s, "xXpP"))	/* strtod reads hex floats; quantities are decimal */
		return false;
	v = strtod(s, &end);
	if (end == s)
		return false;
	for (size_t i = 0; i < sizeof(quantity_suffixes) / sizeof(quantity_suffixes[0]); i++)
		if (!strcmp(end, quantity_suffixes[i].suffix)) {
			*out = v * quantity_suffixes[i].mult;
			return true;
		}
	return false;
}

int sl_y_bandwidth(struct sl_yctx *ctx, yaml_node_t *node, uint64_t *bps)
{
	const char *v;
	double q;

	if (sl_y_str(ctx, node, &v) < 0)
		return -1;
	if (!parse_quantity(v, &q))
		return sl_y_fail(ctx, node, "\"%s\": a bandwidth in bits per second, as a "
				 "Kubernetes quantity such as \"10M\" or \"1.5G\"", v);
	if (q < (double)SL_BW_MIN_BPS || q > (double)SL_BW_MAX_BPS)
		return sl_y_fail(ctx, node, "\"%s\": a bandwidth must be between 1k and "
				 "100G bits per second", v);
	*bps = (uint64_t)q;
	return 0;
}

/* The bandwidth plugin's annotations: on a Pod, a limit of its traffic. */
static int annotation_bandwidth(struct sl_yctx *ctx, yaml_node_t *key, yaml_node_t *value,
				struct sl_meta *meta)
{
	const char *k = (const char *)key->data.scalar.value;
	size_t mark = sl_y_push(ctx, ".%s", k);
	int ret;

	if (!strcmp(k, "kubernetes.io/egress-bandwidth"))
		ret = sl_y_bandwidth(ctx, value, &meta->egress_bps);
	else
		ret = sl_y_bandwidth(ctx, value, &meta->ingress_bps);
	sl_y_pop(ctx, mark);
	return ret;
}

/* Annotations are free-form; those under sluice.dev/ are Sluice's own
 * settings and must be spelled right. Of Istio's, only istio.io/dry-run
 * changes what an L4 dataplane does (on an AuthorizationPolicy); of
 * Kubernetes', the bandwidth plugin's pair. */
static int meta_annotation(struct sl_yctx *ctx, yaml_node_t *key, yaml_node_t *value,
			   struct sl_meta *meta)
{
	const char *k = (const char *)key->data.scalar.value;
	bool redirect = true, reset = true;
	size_t mark;
	int ret;

	if (!strcmp(k, "kubernetes.io/egress-bandwidth") ||
	    !strcmp(k, "kubernetes.io/ingress-bandwidth"))
		return annotation_bandwidth(ctx, key, value, meta);
	if (strcmp(k, "istio.io/dry-run") && strncmp(k, "sluice.dev/", 11))
		return 0;
	mark = sl_y_push(ctx, ".%s", k);
	if (!strcmp(k, "istio.io/dry-run")) {
		ret = annotation_bool(ctx, key, value, &meta->dry_run, &meta->dry_run_line);
	} else if (!strcmp(k, "sluice.dev/redirect")) {
		ret = annotation_bool(ctx, key, value, &redirect, &meta->redirect_line);
		meta->no_redirect = ret == 0 && !redirect;
	} else if (!strcmp(k, "sluice.dev/reset-on-endpoint-removal")) {
		ret = annotation_bool(ctx, key, value, &reset, &meta->reset_line);
		meta->keep_on_removal = ret == 0 && !reset;
	} else {
		ret = sl_y_fail(ctx, key, "unknown Sluice annotation (known: "
				"sluice.dev/redirect, sluice.dev/reset-on-endpoint-removal)");
	}
	sl_y_pop(ctx, mark);
	return ret;
}

static int meta_annotations(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	if (sl_y_expect_map(ctx, node) < 0)
		return -1;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = sl_y_node(ctx, p->key), *v = sl_y_node(ctx, p->value);

		if (!sl_y_scalar(ctx, k) || meta_annotation(ctx, k, v, obj) < 0)
			return -1;
	}
	return 0;
}

static const struct sl_yfield meta_fields[] = {
	{ "name", SL_YF_DECODE, meta_name },
	{ "namespace", SL_YF_DECODE, meta_namespace },
	{ "labels", SL_YF_DECODE, meta_labels },
	/* Bookkeeping kept by the API server; no meaning for the dataplane. */
	{ "annotations", SL_YF_DECODE, meta_annotations },
	{ "uid", SL_YF_ACCEPT, NULL },
	{ "resourceVersion", SL_YF_ACCEPT, NULL },
	{ "generation", SL_YF_ACCEPT, NULL },
	{ "creationTimestamp", SL_YF_ACCEPT, NULL },
	{ "deletionTimestamp", SL_YF_ACCEPT, NULL },
	{ "deletionGracePeriodSeconds", SL_YF_ACCEPT, NULL },
	{ "ownerReferences", SL_YF_ACCEPT, NULL },
	{ "finalizers", SL_YF_ACCEPT, NULL },
	{ "managedFields", SL_YF_ACCEPT, NULL },
	{ "generateName", SL_YF_ACCEPT, NULL },
	{ "selfLink", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

int sl_decode_meta(struct sl_yctx *ctx, yaml_node_t *node, void *resource)
{
	return sl_y_map(ctx, node, meta_fields, resource);
}

int sl_meta_finish(struct sl_yctx *ctx, yaml_node_t *root, struct sl_meta *meta)
{
	meta->loc = sl_y_loc(ctx, root);
	if (!meta->name) {
		yaml_node_t *md = sl_y_get(ctx, root, "metadata");

		return sl_y_fail(ctx, md ? md : root, "missing field metadata.name");
	}
	if (!meta->namespace)
		meta->namespace = "default";
	return 0;
}

int sl_meta_no_redirect_here(struct sl_yctx *ctx, yaml_node_t *root,
			     const struct sl_meta *meta, const char *kind)
{
	if (meta->reset_line)
		return sl_y_fail(ctx, root, "metadata.annotations.sluice.dev/reset-on-"
				 "endpoint-removal (line %u) applies to Services and "
				 "ServiceEntries, not to a %s", meta->reset_line, kind);
	if (!meta->redirect_line)
		return 0;
	return sl_y_fail(ctx, root, "metadata.annotations.sluice.dev/redirect (line %u) "
			 "applies to Services and ServiceEntries, not to a %s",
			 meta->redirect_line, kind);
}

bool sl_labels_select(const struct sl_label *want, size_t n_want,
		      const struct sl_label *have, size_t n_have)
{
	for (size_t i = 0; i < n_want; i++) {
		bool found = false;

		for (size_t j = 0; j < n_have && !found; j++)
			found = !strcmp(have[j].key, want[i].key) &&
				!strcmp(have[j].value, want[i].value);
		if (!found)
			return false;
	}
	return true;
}

const char *sl_meta_label(const struct sl_meta *meta, const char *key)
{
	for (size_t i = 0; i < meta->n_labels; i++)
		if (strcmp(meta->labels[i].key, key) == 0)
			return meta->labels[i].value;
	return NULL;
}

int sl_decode_k8s_proto(struct sl_yctx *ctx, yaml_node_t *node, uint8_t *proto)
{
	static const char *const names[] = { "TCP", "UDP", "SCTP", NULL };
	int i;

	if (sl_y_enum(ctx, node, names, false, &i) < 0)
		return -1;
	if (i == 2) {
		sl_y_warn(ctx, node, "protocol SCTP is not implemented by Sluice; "
			  "this port is not balanced");
		*proto = 0;
		return 0;
	}
	*proto = i == 0 ? SL_PROTO_TCP : SL_PROTO_UDP;
	return 0;
}
