// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

void sl_prom_init(struct sl_prom *p)
{
	memset(p, 0, sizeof(*p));
}

void sl_prom_free(struct sl_prom *p)
{
	free(p->buf);
	sl_prom_init(p);
}

void sl_prom_reset(struct sl_prom *p)
{
	p->len = 0;
	if (p->buf)
		p->buf[0] = '\0';
}

const char *sl_prom_text(const struct sl_prom *p)
{
	return p->buf ? p->buf : "";
}

/* Room for n more bytes and the terminating NUL. */
static bool reserve(struct sl_prom *p, size_t n)
{
	size_t cap = p->cap ? p->cap : 4096;
	char *grown;

	if (p->oom)
		return false;
	while (cap < p->len + n + 1)
		cap *= 2;
	if (cap == p->cap)
		return true;
	grown = realloc(p->buf, cap);
	if (!grown) {
		p->oom = true;
		return false;
	}
	p->buf = grown;
	p->cap = cap;
	return true;
}

char *sl_prom_take(struct sl_prom *p, size_t *len)
{
	char *text;

	if (!p->buf)
		reserve(p, 0);
	text = p->oom ? NULL : p->buf;
	*len = text ? p->len : 0;
	if (!text)
		free(p->buf);
	sl_prom_init(p);
	return text;
}

static void put(struct sl_prom *p, const char *s, size_t n)
{
	if (!reserve(p, n))
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void puts_(struct sl_prom *p, const char *s)
{
	put(p, s, strlen(s));
}

/* The format escapes \ and newline in HELP text, and " too in label
 * values; anything else (UTF-8 included) goes as it is. */
static void put_escaped(struct sl_prom *p, const char *s, bool quote)
{
	for (const char *run = s;; s++) {
		const char *esc = NULL;

		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (*s == '"' && quote)
			esc = "\\\"";
		else if (*s)
			continue;
		put(p, run, (size_t)(s - run));
		if (!esc)
			return;
		puts_(p, esc);
		run = s + 1;
	}
}

void sl_prom_family(struct sl_prom *p, const char *name, const char *type,
		    const char *help)
{
	puts_(p, "# HELP ");
	puts_(p, name);
	puts_(p, " ");
	put_escaped(p, help, false);
	puts_(p, "\n# TYPE ");
	puts_(p, name);
	puts_(p, " ");
	puts_(p, type);
	puts_(p, "\n");
}

void sl_prom_label(struct sl_prom *labels, const char *name, const char *value)
{
	if (labels->len)
		puts_(labels, ",");
	puts_(labels, name);
	puts_(labels, "=\"");
	put_escaped(labels, value, true);
	puts_(labels, "\"");
}

static void series(struct sl_prom *p, const char *name, const char *labels)
{
	puts_(p, name);
	if (labels && labels[0]) {
		puts_(p, "{");
		puts_(p, labels);
		puts_(p, "}");
	}
	puts_(p, " ");
}

void sl_prom_u64(struct sl_prom *p, const char *name, const char *labels, uint64_t v)
{
	char num[24];

	series(p, name, labels);
	snprintf(num, sizeof(num), "%" PRIu64 "\n", v);
	puts_(p, num);
}

void sl_prom_f64(struct sl_prom *p, const char *name, const char *labels, double v)
{
	char num[40];

	series(p, name, labels);
	if (isnan(v))
		snprintf(num, sizeof(num), "NaN\n");
	else if (isinf(v))
		snprintf(num, sizeof(num), "%sInf\n", v > 0 ? "+" : "-");
	else
		snprintf(num, sizeof(num), "%.15g\n", v);
	puts_(p, num);
}

void sl_prom_table(struct sl_prom *p, const struct sl_prom_family *families,
		   size_t n_families, char *const *labels, const uint64_t *values,
		   size_t n_rows)
{
	for (size_t f = 0; f < n_families; f++) {
		sl_prom_family(p, families[f].name, families[f].type, families[f].help);
		for (size_t i = 0; i < n_rows; i++)
			if (labels[i])
				sl_prom_u64(p, families[f].name, labels[i],
					    values[i * n_families + f]);
	}
}

/* A bucket's series: the labels with le appended. */
static void bucket(struct sl_prom *p, const char *name, const char *labels, const char *le,
		   uint64_t v)
{
	char num[24];

	puts_(p, name);
	puts_(p, "_bucket{");
	if (labels && labels[0]) {
		puts_(p, labels);
		puts_(p, ",");
	}
	puts_(p, "le=\"");
	puts_(p, le);
	snprintf(num, sizeof(num), "\"} %" PRIu64 "\n", v);
	puts_(p, num);
}

void sl_prom_log2_histogram(struct sl_prom *p, const char *name, const char *labels,
			    const uint64_t *counts, size_t n, double unit, double sum)
{
	char le[40], series_name[128];
	uint64_t total = 0;

	for (size_t i = 0; i + 1 < n; i++) {
		total += counts[i];
		snprintf(le, sizeof(le), "%.15g", ldexp(unit, (int)i));
		bucket(p, name, labels, le, total);
	}
	if (n)
		total += counts[n - 1];
	bucket(p, name, labels, "+Inf", total);
	snprintf(series_name, sizeof(series_name), "%s_sum", name);
	sl_prom_f64(p, series_name, labels, sum);
	snprintf(series_name, sizeof(series_name), "%s_count", name);
	sl_prom_u64(p, series_name, labels, total);
}
