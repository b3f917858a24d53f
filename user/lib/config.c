// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loading configuration files: YAML documents are parsed with libyaml,
 * dispatched on apiVersion and kind, and checked for duplicates. Any error
 * rejects the whole load.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "config.h"
#include "log.h"

#define SL_MAX_FILE_SIZE (256u << 20)

static bool api_group_is(const char *api_version, const char *group)
{
	size_t len = strlen(group);

	return strncmp(api_version, group, len) == 0 && api_version[len] == '/';
}

static int decode_list_item(struct sl_yctx *ctx, yaml_node_t *item,
			    size_t index, void *obj)
{
	(void)index;
	return sl_config_decode(ctx, item, obj);
}

static const char *const core_v1[] = { "v1", NULL };
static const char *const discovery_v1[] = { "v1", NULL };
static const char *const networking_versions[] = { "v1", "v1beta1", "v1alpha3", NULL };
static const char *const security_versions[] = { "v1", "v1beta1", NULL };
static const char *const sluice_versions[] = { "v1alpha1", NULL };

/* The kinds Sluice decodes, by API group ("" is the core group). */
static const struct kind_decoder {
	const char *group;
	const char *const *versions;
	const char *kind;
	int (*decode)(struct sl_yctx *ctx, yaml_node_t *root, struct sl_config *cfg);
} kind_decoders[] = {
	{ "", core_v1, "Service", sl_decode_service },
	{ "", core_v1, "Pod", sl_decode_pod },
	{ "discovery.k8s.io", discovery_v1, "EndpointSlice", sl_decode_endpoint_slice },
	{ "networking.istio.io", networking_versions, "ServiceEntry",
	  sl_decode_service_entry },
	{ "networking.istio.io", networking_versions, "WorkloadEntry",
	  sl_decode_workload_entry },
	{ "networking.istio.io", networking_versions, "DestinationRule",
	  sl_decode_destination_rule },
	{ "networking.istio.io", networking_versions, "VirtualService",
	  sl_decode_virtual_service },
	{ "security.istio.io", security_versions, "AuthorizationPolicy",
	  sl_decode_authz_policy },
	{ "sluice.dev", sluice_versions, "TrafficLimit", sl_decode_traffic_limit },
};

static const struct kind_decoder *find_decoder(const char *api, const char *kind)
{
	for (size_t i = 0; i < sizeof(kind_decoders) / sizeof(kind_decoders[0]); i++) {
		const struct kind_decoder *kd = &kind_decoders[i];
		const char *version = api;

		if (strcmp(kind, kd->kind))
			continue;
		if (kd->group[0]) {
			if (!api_group_is(api, kd->group))
				continue;
			version = api + strlen(kd->group) + 1;
		}
		for (const char *const *v = kd->versions; *v; v++)
			if (!strcmp(version, *v))
				return kd;
	}
	return NULL;
}

/* Kinds Sluice will implement; until then they are reported, not applied. */
static bool is_mesh_group(const char *api_version)
{
	return api_group_is(api_version, "networking.istio.io") ||
	       api_group_is(api_version, "security.istio.io") ||
	       api_group_is(api_version, "telemetry.istio.io") ||
	       api_group_is(api_version, "sluice.dev");
}

int sl_config_decode(struct sl_yctx *ctx, yaml_node_t *root, struct sl_config *cfg)
{
	const struct kind_decoder *kd;
	yaml_node_t *api_node, *kind_node;
	const char *api, *kind;

	if (sl_y_is_null(root))
		return 0;
	if (sl_y_expect_map(ctx, root) < 0)
		return -1;
	api_node = sl_y_get(ctx, root, "apiVersion");
	kind_node = sl_y_get(ctx, root, "kind");
	if (!api_node)
		return sl_y_fail(ctx, root, "missing field apiVersion");
	if (!kind_node)
		return sl_y_fail(ctx, root, "missing field kind");
	api = sl_y_scalar(ctx, api_node);
	kind = api ? sl_y_scalar(ctx, kind_node) : NULL;
	if (!api || !kind)
		return -1;

	kd = find_decoder(api, kind);
	if (kd)
		return kd->decode(ctx, root, cfg);
	if (!strcmp(api, "v1") && !strcmp(kind, "List")) {
		yaml_node_t *items = sl_y_get(ctx, root, "items");
		size_t mark = sl_y_push(ctx, "items");
		int ret = items ? sl_y_seq(ctx, items, decode_list_item, cfg) : 0;

		sl_y_pop(ctx, mark);
		return ret;
	}
	if (is_mesh_group(api)) {
		sl_y_warn(ctx, kind_node, "%s %s is not implemented by Sluice yet; "
			  "the document is not applied", api, kind);
		return 0;
	}
	if (!strcmp(api, "discovery.k8s.io/v1beta1") && !strcmp(kind, "EndpointSlice"))
		return sl_y_fail(ctx, api_node, "EndpointSlice %s was removed in "
				 "Kubernetes 1.25; use discovery.k8s.io/v1", api);
	sl_debug("%s:%zu: %s %s is not a mesh resource; ignored", ctx->file,
		 root->start_mark.line + 1, api, kind);
	return 0;
}

static int yaml_syntax_error(const char *name, yaml_parser_t *parser,
			     struct sl_err *err)
{
	return sl_errf(err, "%s:%zu:%zu: YAML syntax error: %s%s%s", name,
		       parser->problem_mark.line + 1,
		       parser->problem_mark.column + 1,
		       parser->problem ? parser->problem : "unknown problem",
		       parser->context ? " " : "",
		       parser->context ? parser->context : "");
}

int sl_config_load_buffer(const char *name, const char *data, size_t len,
			  struct sl_config *cfg, struct sl_err *err)
{
	const char *file = sl_arena_strdup(&cfg->arena, name);
	yaml_parser_t parser;
	int ret = 0;

	if (!yaml_parser_initialize(&parser))
		return sl_errf(err, "%s: cannot initialise the YAML parser", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;
		struct sl_yctx ctx = {
			.doc = &doc,
			.file = file,
			.err = err,
			.arena = &cfg->arena,
			.warnings = &cfg->warnings,
		};

		if (!yaml_parser_load(&parser, &doc)) {
			ret = yaml_syntax_error(name, &parser, err);
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		ret = sl_config_decode(&ctx, root, cfg);
		yaml_document_delete(&doc);
		if (ret < 0)
			break;
	}
	yaml_parser_delete(&parser);
	cfg->n_files++;
	return ret;
}

int sl_read_file(const char *path, char **data, size_t *len, struct sl_err *err)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t got;

	if (!f)
		return sl_errf(err, "%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return sl_errf(err, "%s: not a regular file", path);
	}
	if ((unsigned long long)st.st_size > SL_MAX_FILE_SIZE) {
		fclose(f);
		return sl_errf(err, "%s: larger than %u MiB", path, SL_MAX_FILE_SIZE >> 20);
	}
	*data = malloc((size_t)st.st_size + 1);
	if (!*data) {
		fclose(f);
		return sl_errf(err, "%s: out of memory", path);
	}
	got = fread(*data, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		free(*data);
		fclose(f);
		return sl_errf(err, "%s: read error", path);
	}
	fclose(f);
	(*data)[got] = '\0';
	*len = got;
	return 0;
}

static int load_file(const char *path, struct sl_config *cfg,
		     XXH3_state_t *digest, struct sl_err *err)
{
	size_t len = 0;
	char *data = NULL;
	int ret;

	if (sl_read_file(path, &data, &len, err) < 0)
		return -1;
	XXH3_64bits_update(digest, path, strlen(path) + 1);
	XXH3_64bits_update(digest, data, len);
	ret = sl_config_load_buffer(path, data, len, cfg, err);
	free(data);
	return ret;
}

static bool is_config_name(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(name + n - 5, ".json"));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(const char *path, struct sl_config *cfg,
		    XXH3_state_t *digest, struct sl_err *err)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int ret = 0;
	DIR *dir;

	dir = opendir(path);
	if (!dir)
		return sl_errf(err, "%s: %s", path, strerror(errno));
	while ((de = readdir(dir))) {
		if (!is_config_name(de->d_name))
			continue;
		sl_arena_grow(&cfg->arena, (void **)&names, &cap, n + 1, sizeof(*names));
		names[n++] = sl_arena_strdup(&cfg->arena, de->d_name);
	}
	closedir(dir);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && ret == 0; i++) {
		char file[4096];

		snprintf(file, sizeof(file), "%s/%s", path, names[i]);
		ret = load_file(file, cfg, digest, err);
	}
	return ret;
}

struct named {
	const char *kind;
	const struct sl_meta *meta;
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);

	if (c)
		return c;
	c = strcmp(x->meta->namespace, y->meta->namespace);
	return c ? c : strcmp(x->meta->name, y->meta->name);
}

/* Two documents of one kind with one namespace/name would silently shadow
 * each other; Kubernetes cannot hold both, neither do we. */
int sl_config_check(const struct sl_config *cfg, struct sl_err *err)
{
	size_t n = cfg->n_services + cfg->n_slices + cfg->n_entries +
		   cfg->n_workload_entries + cfg->n_pods + cfg->n_policies + cfg->n_limits +
		   cfg->n_drules + cfg->n_vservices,
	       k = 0;
	struct named *all;
	int ret = 0;

	if (n < 2)
		return 0;
	all = calloc(n, sizeof(*all));
	if (!all)
		return sl_errf(err, "out of memory");
	for (size_t i = 0; i < cfg->n_services; i++)
		all[k++] = (struct named){ "Service", &cfg->services[i].meta };
	for (size_t i = 0; i < cfg->n_slices; i++)
		all[k++] = (struct named){ "EndpointSlice", &cfg->slices[i].meta };
	for (size_t i = 0; i < cfg->n_entries; i++)
		all[k++] = (struct named){ "ServiceEntry", &cfg->entries[i].meta };
	for (size_t i = 0; i < cfg->n_workload_entries; i++)
		all[k++] = (struct named){ "WorkloadEntry", &cfg->workload_entries[i].meta };
	for (size_t i = 0; i < cfg->n_pods; i++)
		all[k++] = (struct named){ "Pod", &cfg->pods[i].meta };
	for (size_t i = 0; i < cfg->n_policies; i++)
		all[k++] = (struct named){ "AuthorizationPolicy", &cfg->policies[i].meta };
	for (size_t i = 0; i < cfg->n_limits; i++)
		all[k++] = (struct named){ "TrafficLimit", &cfg->limits[i].meta };
	for (size_t i = 0; i < cfg->n_drules; i++)
		all[k++] = (struct named){ "DestinationRule", &cfg->drules[i].meta };
	for (size_t i = 0; i < cfg->n_vservices; i++)
		all[k++] = (struct named){ "VirtualService", &cfg->vservices[i].meta };
	qsort(all, n, sizeof(*all), cmp_named);
	for (size_t i = 1; i < n; i++) {
		if (cmp_named(&all[i - 1], &all[i]) == 0) {
			const struct sl_meta *a = all[i - 1].meta, *b = all[i].meta;

			ret = sl_errf(err, "%s:%u: %s %s/%s is defined twice (also at %s:%u)",
				      b->loc.file, b->loc.line, all[i].kind,
				      b->namespace, b->name, a->loc.file, a->loc.line);
			break;
		}
	}
	free(all);
	return ret;
}

int sl_config_load(const char *path, struct sl_config *cfg, struct sl_err *err)
{
	XXH3_state_t *digest;
	struct stat st;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (stat(path, &st) < 0)
		return sl_errf(err, "%s: %s", path, strerror(errno));
	digest = XXH3_createState();
	if (!digest)
		return sl_errf(err, "out of memory");
	XXH3_64bits_reset(digest);
	if (S_ISDIR(st.st_mode))
		ret = load_dir(path, cfg, digest, err);
	else
		ret = load_file(path, cfg, digest, err);
	cfg->digest = XXH3_64bits_digest(digest);
	XXH3_freeState(digest);
	if (ret == 0)
		ret = sl_config_check(cfg, err);
	if (ret < 0)
		sl_config_free(cfg);
	return ret;
}

void sl_config_free(struct sl_config *cfg)
{
	sl_arena_free(&cfg->arena);
	memset(cfg, 0, sizeof(*cfg));
}

static int pod_cmp(const char *ns, const char *name, const struct sl_pod *p)
{
	int c = strcmp(ns, p->meta.namespace);

	return c ? c : strcmp(name, p->meta.name);
}

static int cmp_pod_ptr(const void *a, const void *b)
{
	const struct sl_pod *y = *(const struct sl_pod *const *)b;
	const struct sl_pod *x = *(const struct sl_pod *const *)a;
	int c = pod_cmp(x->meta.namespace, x->meta.name, y);

	/* Of two Pods with one name the first in the documents is found,
	 * as a scan in order found it. */
	return c ? c : (x > y) - (x < y);
}

void sl_pod_index_build(struct sl_pod_index *ix, const struct sl_pod *pods, size_t n)
{
	ix->v = calloc(n + 1, sizeof(*ix->v));
	if (!ix->v)
		abort();
	for (size_t i = 0; i < n; i++)
		ix->v[i] = &pods[i];
	ix->n = n;
	if (n)
		qsort(ix->v, n, sizeof(*ix->v), cmp_pod_ptr);
}

const struct sl_pod *sl_pod_index_find(const struct sl_pod_index *ix, const char *ns,
				       const char *name)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pod_cmp(ns, name, ix->v[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->n && !pod_cmp(ns, name, ix->v[lo]) ? ix->v[lo] : NULL;
}

void sl_pod_index_free(struct sl_pod_index *ix)
{
	free(ix->v);
	memset(ix, 0, sizeof(*ix));
}
