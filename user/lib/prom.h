/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Prometheus text exposition format 0.0.4: a growing text buffer with the
 * format's lines (# HELP, # TYPE, samples) and its escaping. The same
 * buffer type builds a label set once, so that every family of an object
 * (a frontend's eight counters) reuses its escaped labels.
 */
#ifndef SLUICE_PROM_H
#define SLUICE_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct sl_prom {
	char *buf;
	size_t len, cap;
	bool oom;		/* an append failed: the text is incomplete */
};

void sl_prom_init(struct sl_prom *p);
void sl_prom_free(struct sl_prom *p);
/* Empties the buffer, keeping its memory (a label set per object). */
void sl_prom_reset(struct sl_prom *p);
/* The text so far, "" when empty. */
const char *sl_prom_text(const struct sl_prom *p);
/* Hands the text over (the caller frees it); NULL when an append ran out
 * of memory, so a partial exposition is never served. */
char *sl_prom_take(struct sl_prom *p, size_t *len);

/* "# HELP name help" and "# TYPE name type"; type is "counter" or "gauge".
 * A family's samples must follow it, all together. */
void sl_prom_family(struct sl_prom *p, const char *name, const char *type,
		    const char *help);
/* Appends name="value" to a label set, escaping \, " and newline. */
void sl_prom_label(struct sl_prom *labels, const char *name, const char *value);
/* "name{labels} value"; labels from sl_prom_label, NULL or "" for none. */
void sl_prom_u64(struct sl_prom *p, const char *name, const char *labels, uint64_t v);
void sl_prom_f64(struct sl_prom *p, const char *name, const char *labels, double v);

/* The samples of one histogram series from log2 buckets: bucket i of
 * counts[0..n) holds values below 2^i units, the last the rest. Written
 * as Prometheus wants it: cumulative name_bucket with le = 2^i * unit
 * (seconds) for all but the last, le="+Inf" for every value, then
 * name_sum (sum, in seconds) and name_count. The family line ("histogram")
 * comes first, from sl_prom_family. */
void sl_prom_log2_histogram(struct sl_prom *p, const char *name, const char *labels,
			    const uint64_t *counts, size_t n, double unit, double sum);

/* One family of a table of objects (frontends, endpoints, ...). */
struct sl_prom_family {
	const char *name;
	const char *type;
	const char *help;
};

/* Every family with its samples: row i has labels[i] (NULL: skipped) and
 * value values[i * n_families + f] in family f. */
void sl_prom_table(struct sl_prom *p, const struct sl_prom_family *families,
		   size_t n_families, char *const *labels, const uint64_t *values,
		   size_t n_rows);

#endif
