// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>

#include "table.h"

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p) {
		fprintf(stderr, "sluicectl: out of memory\n");
		exit(1);
	}
	return p;
}

void table_init(struct table *t, size_t n_cols, const char *const *header)
{
	memset(t, 0, sizeof(*t));
	t->n_cols = n_cols;
	table_row(t, header);
}

void table_row(struct table *t, const char *const *cells)
{
	if (t->n_rows == t->cap_rows) {
		t->cap_rows = t->cap_rows ? t->cap_rows * 2 : 16;
		t->cells = xrealloc(t->cells, t->cap_rows * t->n_cols * sizeof(*t->cells));
	}
	for (size_t c = 0; c < t->n_cols; c++) {
		char *copy = strdup(cells[c] ? cells[c] : "");

		if (!copy) {
			fprintf(stderr, "sluicectl: out of memory\n");
			exit(1);
		}
		t->cells[t->n_rows * t->n_cols + c] = copy;
	}
	t->n_rows++;
}

void table_print(const struct table *t, FILE *out)
{
	size_t *width = calloc(t->n_cols, sizeof(*width));

	if (!width)
		return;
	for (size_t r = 0; r < t->n_rows; r++)
		for (size_t c = 0; c < t->n_cols; c++) {
			size_t len = strlen(t->cells[r * t->n_cols + c]);

			if (len > width[c])
				width[c] = len;
		}
	for (size_t r = 0; r < t->n_rows; r++) {
		for (size_t c = 0; c < t->n_cols; c++) {
			const char *cell = t->cells[r * t->n_cols + c];

			if (c + 1 == t->n_cols)
				fprintf(out, "%s\n", cell);
			else
				fprintf(out, "%-*s  ", (int)width[c], cell);
		}
	}
	free(width);
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}
