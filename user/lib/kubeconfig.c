// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "config.h"
#include "kubeconfig.h"
#include "ydec.h"

/* The kubeconfig, a token or a certificate: regular files, as the files
 * of the configuration are read. */
static int read_all(const char *path, struct sl_kube_blob *b, struct sl_err *err)
{
	return sl_read_file(path, &b->data, &b->len, err);
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 as kubeconfig's *-data fields carry; whitespace skipped. */
static int b64_decode(const char *in, struct sl_kube_blob *out)
{
	size_t n = strlen(in), o = 0;
	unsigned int acc = 0, bits = 0;

	out->data = malloc(n * 3 / 4 + 4);
	if (!out->data)
		abort();
	for (size_t i = 0; i < n; i++) {
		int v;

		if (in[i] == '=' || in[i] == '\n' || in[i] == '\r' || in[i] == ' ')
			continue;
		v = b64_value((unsigned char)in[i]);
		if (v < 0) {
			free(out->data);
			out->data = NULL;
			return -1;
		}
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out->data[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out->data[o] = '\0';
	out->len = o;
	return 0;
}

/* The entry of a named list (clusters, users, contexts) called `name`,
 * its inner mapping (`field`). */
static yaml_node_t *named_entry(struct sl_yctx *ctx, yaml_node_t *root, const char *list,
				const char *field, const char *name)
{
	yaml_node_t *seq = sl_y_get(ctx, root, list);

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *item = sl_y_node(ctx, *it);
		yaml_node_t *n = item && item->type == YAML_MAPPING_NODE ?
					 sl_y_get(ctx, item, "name") : NULL;

		if (n && n->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)n->data.scalar.value, name))
			return sl_y_get(ctx, item, field);
	}
	return NULL;
}

static const char *str_at(struct sl_yctx *ctx, yaml_node_t *map, const char *key)
{
	yaml_node_t *v = map && map->type == YAML_MAPPING_NODE ? sl_y_get(ctx, map, key) : NULL;

	return v && v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
}

/* A file named in a kubeconfig is relative to the kubeconfig's directory. */
static char *resolve(const char *kubeconfig, const char *file)
{
	const char *slash = strrchr(kubeconfig, '/');
	char *p;

	if (file[0] == '/' || !slash)
		return sl_xstrdup(file);
	if (asprintf(&p, "%.*s/%s", (int)(slash - kubeconfig), kubeconfig, file) < 0)
		abort();
	return p;
}

static int take_data(struct sl_yctx *ctx, yaml_node_t *map, const char *key,
		     struct sl_kube_blob *b)
{
	const char *v = str_at(ctx, map, key);

	if (!v)
		return 0;
	if (b64_decode(v, b) < 0)
		return sl_y_fail(ctx, sl_y_get(ctx, map, key), "%s: not base64", key);
	return 0;
}

static int take_cluster(struct sl_yctx *ctx, yaml_node_t *c, const char *path,
			struct sl_kubeconfig *kc)
{
	const char *v = str_at(ctx, c, "server");

	if (!v)
		return sl_y_fail(ctx, c, "the cluster has no server");
	kc->server = sl_xstrdup(v);
	if (kc->server[0] && kc->server[strlen(kc->server) - 1] == '/')
		kc->server[strlen(kc->server) - 1] = '\0';
	if ((v = str_at(ctx, c, "certificate-authority")))
		kc->ca_file = resolve(path, v);
	v = str_at(ctx, c, "insecure-skip-tls-verify");
	kc->insecure = v && !strcmp(v, "true");
	return take_data(ctx, c, "certificate-authority-data", &kc->ca_data);
}

static int take_user(struct sl_yctx *ctx, yaml_node_t *u, const char *path,
		     struct sl_kubeconfig *kc)
{
	const char *v;

	if (!u)
		return 0;
	if (sl_y_get(ctx, u, "exec") || sl_y_get(ctx, u, "auth-provider"))
		return sl_y_fail(ctx, u, "exec and auth-provider credential plugins are not "
				 "supported; use a token, tokenFile or client certificate");
	if ((v = str_at(ctx, u, "token")))
		kc->token = sl_xstrdup(v);
	if ((v = str_at(ctx, u, "tokenFile")))
		kc->token_file = resolve(path, v);
	if ((v = str_at(ctx, u, "client-certificate")))
		kc->cert_file = resolve(path, v);
	if ((v = str_at(ctx, u, "client-key")))
		kc->key_file = resolve(path, v);
	if (take_data(ctx, u, "client-certificate-data", &kc->cert_data) < 0)
		return -1;
	return take_data(ctx, u, "client-key-data", &kc->key_data);
}

static int from_document(struct sl_yctx *ctx, yaml_node_t *root, const char *path,
			 struct sl_kubeconfig *kc)
{
	const char *current, *cluster, *user;
	yaml_node_t *context, *c;

	if (!root || root->type != YAML_MAPPING_NODE)
		return sl_errf(ctx->err, "%s: not a kubeconfig (no mapping)", path);
	current = str_at(ctx, root, "current-context");
	if (!current || !current[0])
		return sl_errf(ctx->err, "%s: no current-context", path);
	context = named_entry(ctx, root, "contexts", "context", current);
	if (!context)
		return sl_errf(ctx->err, "%s: context \"%s\" not found", path, current);
	cluster = str_at(ctx, context, "cluster");
	user = str_at(ctx, context, "user");
	c = cluster ? named_entry(ctx, root, "clusters", "cluster", cluster) : NULL;
	if (!c)
		return sl_y_fail(ctx, context, "context \"%s\": cluster \"%s\" not found",
				 current, cluster ? cluster : "");
	if (take_cluster(ctx, c, path, kc) < 0)
		return -1;
	return take_user(ctx, user ? named_entry(ctx, root, "users", "user", user) : NULL,
			 path, kc);
}

static int load_file(const char *path, struct sl_kubeconfig *kc, struct sl_err *err)
{
	struct sl_kube_blob text = { 0 };
	struct sl_warnings warnings = { 0 };
	struct sl_arena arena = { 0 };
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret;

	if (read_all(path, &text, err) < 0)
		return -1;
	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)text.data, text.len);
	if (!yaml_parser_load(&parser, &doc)) {
		ret = sl_errf(err, "%s:%zu: YAML syntax error: %s", path,
			      parser.problem_mark.line + 1,
			      parser.problem ? parser.problem : "unknown");
	} else {
		struct sl_yctx ctx = { .doc = &doc, .file = path, .err = err,
				       .arena = &arena, .warnings = &warnings };

		ret = from_document(&ctx, yaml_document_get_root_node(&doc), path, kc);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	sl_arena_free(&arena);
	free(text.data);
	return ret;
}

static int in_cluster(const char *sa_dir, struct sl_kubeconfig *kc, struct sl_err *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");

	if (!host || !port)
		return sl_errf(err, "not in a pod (KUBERNETES_SERVICE_HOST/PORT unset): "
			       "give --kubeconfig");
	/* An IPv6 service address needs brackets in a URL. */
	if (asprintf(&kc->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s",
		     host, port) < 0 ||
	    asprintf(&kc->token_file, "%s/token", sa_dir) < 0 ||
	    asprintf(&kc->ca_file, "%s/ca.crt", sa_dir) < 0)
		abort();
	return 0;
}

int sl_kubeconfig_load(const char *path, const char *sa_dir, struct sl_kubeconfig *kc,
		       struct sl_err *err)
{
	struct sl_kube_blob probe = { 0 };
	int ret;

	memset(kc, 0, sizeof(*kc));
	kc->origin = sl_xstrdup(path ? path : "in-cluster");
	ret = path ? load_file(path, kc, err) : in_cluster(sa_dir ? sa_dir : SL_SA_DIR, kc, err);
	/* A token file that cannot be read fails the start, not each request. */
	if (ret == 0 && kc->token_file) {
		ret = read_all(kc->token_file, &probe, err);
		free(probe.data);
	}
	if (ret == 0 && (!!kc->cert_file + !!kc->cert_data.data) !=
				(!!kc->key_file + !!kc->key_data.data))
		ret = sl_errf(err, "%s: a client certificate needs its key and the "
			      "other way round", kc->origin);
	if (ret < 0)
		sl_kubeconfig_free(kc);
	return ret;
}

void sl_kubeconfig_free(struct sl_kubeconfig *kc)
{
	free(kc->server);
	free(kc->ca_file);
	free(kc->ca_data.data);
	free(kc->token);
	free(kc->token_file);
	free(kc->cert_file);
	free(kc->key_file);
	free(kc->cert_data.data);
	free(kc->key_data.data);
	free(kc->origin);
	memset(kc, 0, sizeof(*kc));
}

char *sl_kubeconfig_token(const struct sl_kubeconfig *kc, struct sl_err *err)
{
	struct sl_kube_blob b = { 0 };
	size_t n;

	if (!kc->token_file)
		return kc->token ? sl_xstrdup(kc->token) : NULL;
	if (read_all(kc->token_file, &b, err) < 0)
		return NULL;
	n = b.len;
	while (n && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r' || b.data[n - 1] == ' '))
		b.data[--n] = '\0';
	return b.data;
}
