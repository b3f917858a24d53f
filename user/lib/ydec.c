// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <xxhash.h>

#include "strtab.h"
#include "ydec.h"

static void content_add(struct sl_yctx *ctx, const char *value)
{
	if (!ctx->content)
		return;
	XXH3_64bits_update(ctx->content, ctx->path, ctx->path_len + 1);
	XXH3_64bits_update(ctx->content, value, strlen(value) + 1);
}

yaml_node_t *sl_y_node(struct sl_yctx *ctx, int id)
{
	return yaml_document_get_node(ctx->doc, id);
}

struct sl_loc sl_y_loc(struct sl_yctx *ctx, yaml_node_t *node)
{
	struct sl_loc loc = { ctx->file, node ? (unsigned int)node->start_mark.line + 1 : 0 };

	return loc;
}

size_t sl_y_push(struct sl_yctx *ctx, const char *fmt, ...)
{
	size_t old = ctx->path_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(ctx->path + old, sizeof(ctx->path) - old, fmt, ap);
	va_end(ap);
	if (n > 0) {
		ctx->path_len += (size_t)n;
		if (ctx->path_len >= sizeof(ctx->path))
			ctx->path_len = sizeof(ctx->path) - 1;
	}
	return old;
}

void sl_y_pop(struct sl_yctx *ctx, size_t len)
{
	ctx->path_len = len;
	ctx->path[len] = '\0';
}

static void appendv(char *buf, size_t len, size_t *off, const char *fmt, va_list ap)
{
	int n;

	if (*off >= len)
		return;
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	if (n > 0)
		*off = *off + (size_t)n < len ? *off + (size_t)n : len - 1;
}

static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	appendv(buf, len, off, fmt, ap);
	va_end(ap);
}

static void format_at(struct sl_yctx *ctx, yaml_node_t *node, char *buf,
		      size_t len, const char *fmt, va_list ap)
{
	size_t off = 0;

	if (ctx->api_object)
		append(buf, len, &off, "%s: ", ctx->file);
	else
		append(buf, len, &off, "%s:%zu:%zu: ", ctx->file,
		       node ? node->start_mark.line + 1 : 0,
		       node ? node->start_mark.column + 1 : 0);
	if (ctx->path_len)
		append(buf, len, &off, "%s: ", ctx->path);
	appendv(buf, len, &off, fmt, ap);
}

int sl_y_fail(struct sl_yctx *ctx, yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format_at(ctx, node, ctx->err->msg, sizeof(ctx->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void sl_warnings_add(struct sl_warnings *w, struct sl_arena *arena,
		     const char *msg)
{
	sl_arena_grow(arena, (void **)&w->msgs, &w->cap, w->n + 1,
		      sizeof(*w->msgs));
	w->msgs[w->n++] = sl_arena_strdup(arena, msg);
}

void sl_y_warn(struct sl_yctx *ctx, yaml_node_t *node, const char *fmt, ...)
{
	char msg[SL_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	format_at(ctx, node, msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sl_warnings_add(ctx->warnings, ctx->arena, msg);
}

bool sl_y_is_null(yaml_node_t *node)
{
	const char *v;

	if (!node || node->type != YAML_SCALAR_NODE)
		return false;
	if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)node->data.scalar.value;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *node_type_name(yaml_node_t *node)
{
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

const char *sl_y_scalar(struct sl_yctx *ctx, yaml_node_t *node)
{
	if (node->type != YAML_SCALAR_NODE) {
		sl_y_fail(ctx, node, "expected a scalar value, got %s",
			  node_type_name(node));
		return NULL;
	}
	content_add(ctx, (const char *)node->data.scalar.value);
	return (const char *)node->data.scalar.value;
}

int sl_y_str(struct sl_yctx *ctx, yaml_node_t *node, const char **out)
{
	const char *v = sl_y_scalar(ctx, node);

	if (!v)
		return -1;
	*out = sl_arena_strdup(ctx->arena, v);
	return 0;
}

int sl_y_str_shared(struct sl_yctx *ctx, yaml_node_t *node, const char **out)
{
	const char *v = sl_y_scalar(ctx, node);

	if (!v)
		return -1;
	*out = ctx->texts ? sl_strtab_intern(ctx->texts, v) : NULL;
	if (!*out)
		*out = sl_arena_strdup(ctx->arena, v);
	return 0;
}

int sl_y_str_as(struct sl_yctx *ctx, yaml_node_t *node, const char *same, const char **out)
{
	const char *v = sl_y_scalar(ctx, node);

	if (!v)
		return -1;
	*out = same && !strcmp(same, v) ? same : sl_arena_strdup(ctx->arena, v);
	return 0;
}

int sl_y_uint(struct sl_yctx *ctx, yaml_node_t *node, uint32_t min,
	      uint32_t max, uint32_t *out)
{
	const char *v = sl_y_scalar(ctx, node);
	unsigned long long n;
	char *end;

	if (!v)
		return -1;
	if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return sl_y_fail(ctx, node, "expected an integer, got the string \"%s\"", v);
	errno = 0;
	n = strtoull(v, &end, 10);
	if (v[0] == '\0' || v[0] == '-' || v[0] == '+' || *end || errno)
		return sl_y_fail(ctx, node, "expected an integer, got \"%s\"", v);
	if (n < min || n > max)
		return sl_y_fail(ctx, node, "%llu is out of range %u-%u", n, min, max);
	*out = (uint32_t)n;
	return 0;
}

int sl_y_bool(struct sl_yctx *ctx, yaml_node_t *node, bool *out)
{
	const char *v = sl_y_scalar(ctx, node);

	if (!v)
		return -1;
	if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) {
			*out = true;
			return 0;
		}
		if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")) {
			*out = false;
			return 0;
		}
	}
	return sl_y_fail(ctx, node, "expected true or false, got \"%s\"", v);
}

int sl_y_ip(struct sl_yctx *ctx, yaml_node_t *node, struct sl_ip *out)
{
	const char *v = sl_y_scalar(ctx, node);

	if (!v)
		return -1;
	if (sl_ip_parse(v, out) < 0)
		return sl_y_fail(ctx, node, "\"%s\" is not an IPv4 or IPv6 address", v);
	return 0;
}

int sl_y_enum(struct sl_yctx *ctx, yaml_node_t *node,
	      const char *const *choices, bool case_insensitive, int *index)
{
	const char *v = sl_y_scalar(ctx, node);
	char list[512] = "";
	size_t used = 0;

	if (!v)
		return -1;
	for (int i = 0; choices[i]; i++) {
		int same = case_insensitive ? !strcasecmp(v, choices[i]) :
					      !strcmp(v, choices[i]);
		if (same) {
			*index = i;
			return 0;
		}
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
					 i ? ", " : "", choices[i]);
		if (used >= sizeof(list))
			used = sizeof(list) - 1;
	}
	return sl_y_fail(ctx, node, "\"%s\" is not one of %s", v, list);
}

int sl_y_expect_map(struct sl_yctx *ctx, yaml_node_t *node)
{
	if (node->type != YAML_MAPPING_NODE)
		return sl_y_fail(ctx, node, "expected a mapping, got %s",
				 node_type_name(node));
	return 0;
}

int sl_y_expect_seq(struct sl_yctx *ctx, yaml_node_t *node)
{
	if (node->type != YAML_SEQUENCE_NODE)
		return sl_y_fail(ctx, node, "expected a list, got %s",
				 node_type_name(node));
	return 0;
}

static const struct sl_yfield *find_field(const struct sl_yfield *fields,
					  const char *name)
{
	for (; fields->name; fields++)
		if (strcmp(fields->name, name) == 0)
			return fields;
	return NULL;
}

/* The first key of the same name, to report repeats. */
static yaml_node_t *earlier_key(struct sl_yctx *ctx, yaml_node_t *map,
				yaml_node_pair_t *upto, const char *name)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < upto; p++) {
		yaml_node_t *k = sl_y_node(ctx, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, name) == 0)
			return k;
	}
	return NULL;
}

int sl_y_map(struct sl_yctx *ctx, yaml_node_t *node,
	     const struct sl_yfield *fields, void *obj)
{
	if (sl_y_is_null(node))
		return 0;
	if (sl_y_expect_map(ctx, node) < 0)
		return -1;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *key = sl_y_node(ctx, p->key);
		yaml_node_t *value = sl_y_node(ctx, p->value);
		const struct sl_yfield *f;
		const char *name;
		size_t mark;
		int ret = 0;

		if (!key || !value || key->type != YAML_SCALAR_NODE)
			return sl_y_fail(ctx, key ? key : node, "mapping keys must be strings");
		name = (const char *)key->data.scalar.value;
		mark = sl_y_push(ctx, "%s%s", ctx->path_len ? "." : "", name);
		if (earlier_key(ctx, node, p, name)) {
			ret = sl_y_fail(ctx, key, "field given twice");
		} else {
			f = find_field(fields, name);
			if (!f && !ctx->api_object)
				ret = sl_y_fail(ctx, key, "unknown field \"%s\"", name);
			else if (!f)
				ret = 0;
			else if (f->kind == SL_YF_DECODE && !sl_y_is_null(value))
				ret = f->decode(ctx, value, obj);
			if (f && f->kind == SL_YF_DECODE)
				content_add(ctx, "");	/* given, even if null */
		}
		sl_y_pop(ctx, mark);
		if (ret < 0)
			return -1;
	}
	return 0;
}

size_t sl_y_seq_len(yaml_node_t *node)
{
	if (!node || node->type != YAML_SEQUENCE_NODE)
		return 0;
	return (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
}

int sl_y_seq(struct sl_yctx *ctx, yaml_node_t *node,
	     int (*fn)(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
		       void *obj),
	     void *obj)
{
	size_t i = 0;

	if (sl_y_is_null(node))
		return 0;
	if (sl_y_expect_seq(ctx, node) < 0)
		return -1;
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++, i++) {
		yaml_node_t *item = sl_y_node(ctx, *it);
		size_t mark = sl_y_push(ctx, "[%zu]", i);
		int ret = fn(ctx, item, i, obj);

		sl_y_pop(ctx, mark);
		if (ret < 0)
			return -1;
	}
	return 0;
}

yaml_node_t *sl_y_get(struct sl_yctx *ctx, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = sl_y_node(ctx, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return sl_y_node(ctx, p->value);
	}
	return NULL;
}
