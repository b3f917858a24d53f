/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Typed decoding of libyaml documents with exact error positions.
 *
 * Every error and warning names the file, the line and column of the node
 * and the dotted path of the field ("spec.ports[1].port"), so an operator
 * can go straight to the mistake.
 */
#ifndef SLUICE_YDEC_H
#define SLUICE_YDEC_H

#include <stdbool.h>
#include <stdint.h>
#include <yaml.h>

#include "addr.h"
#include "arena.h"
#include "err.h"

struct sl_loc {
	const char *file;
	unsigned int line;	/* 1-based */
};

struct sl_warnings {
	char **msgs;
	size_t n;
	size_t cap;
};

struct sl_yctx {
	yaml_document_t *doc;
	const char *file;
	struct sl_err *err;
	struct sl_arena *arena;
	struct sl_warnings *warnings;
	char path[512];
	size_t path_len;
	/* An object from the API server: it has no lines to point at, and
	 * the server validated it, so a field this build does not know (a
	 * newer Kubernetes) is skipped, not refused. */
	bool api_object;
	/* When set (an XXH3_state_t), every value a decoder reads and every
	 * field it decodes, with its path, is hashed into it: the digest of
	 * what the object means to Sluice, blind to the fields it skips. */
	void *content;
	/* When set, label keys and values are taken from it (texts kept
	 * once for every object: sl_strtab) instead of copied. */
	struct sl_strtab *texts;
};

/* How a known field is treated by sl_y_map(). */
enum sl_yfield_kind {
	SL_YF_DECODE,	/* call decode() */
	SL_YF_ACCEPT,	/* valid in the API, no meaning for an L4 dataplane */
};

struct sl_yfield {
	const char *name;
	enum sl_yfield_kind kind;
	int (*decode)(struct sl_yctx *ctx, yaml_node_t *value, void *obj);
};

yaml_node_t *sl_y_node(struct sl_yctx *ctx, int id);
struct sl_loc sl_y_loc(struct sl_yctx *ctx, yaml_node_t *node);

/* Field path bookkeeping: push returns the length to pop back to. */
size_t sl_y_push(struct sl_yctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sl_y_pop(struct sl_yctx *ctx, size_t len);

/* "file:line:col: path: message"; returns -1. */
int sl_y_fail(struct sl_yctx *ctx, yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Records a warning in the same format. */
void sl_y_warn(struct sl_yctx *ctx, yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sl_warnings_add(struct sl_warnings *w, struct sl_arena *arena,
		     const char *msg);

bool sl_y_is_null(yaml_node_t *node);
/* The scalar's text, or NULL (with an error) if the node is not a scalar. */
const char *sl_y_scalar(struct sl_yctx *ctx, yaml_node_t *node);

int sl_y_str(struct sl_yctx *ctx, yaml_node_t *node, const char **out);
/* The same, from ctx->texts when set and not full. */
int sl_y_str_shared(struct sl_yctx *ctx, yaml_node_t *node, const char **out);
/* The same, sharing `same` (no copy) when it holds the value: an
 * EndpointSlice's endpoints repeat their zone and namespace, 100,000
 * times at scale. */
int sl_y_str_as(struct sl_yctx *ctx, yaml_node_t *node, const char *same, const char **out);
int sl_y_uint(struct sl_yctx *ctx, yaml_node_t *node, uint32_t min,
	      uint32_t max, uint32_t *out);
int sl_y_bool(struct sl_yctx *ctx, yaml_node_t *node, bool *out);
int sl_y_ip(struct sl_yctx *ctx, yaml_node_t *node, struct sl_ip *out);
/* One of the NULL-terminated choices; *index receives its position. */
int sl_y_enum(struct sl_yctx *ctx, yaml_node_t *node,
	      const char *const *choices, bool case_insensitive, int *index);

int sl_y_expect_map(struct sl_yctx *ctx, yaml_node_t *node);
int sl_y_expect_seq(struct sl_yctx *ctx, yaml_node_t *node);

/* Decodes a mapping field by field; an unknown or repeated key is an error. */
int sl_y_map(struct sl_yctx *ctx, yaml_node_t *node,
	     const struct sl_yfield *fields, void *obj);

/* Calls fn for every item of a sequence with the path set to "name[i]". */
int sl_y_seq(struct sl_yctx *ctx, yaml_node_t *node,
	     int (*fn)(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
		       void *obj),
	     void *obj);

/* Items of a sequence (0 if not one): lets a decoder size its array once. */
size_t sl_y_seq_len(yaml_node_t *node);

/* Looks up a key of a mapping without consuming it; NULL if absent. */
yaml_node_t *sl_y_get(struct sl_yctx *ctx, yaml_node_t *map, const char *key);

#endif
