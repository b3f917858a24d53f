/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Aligned text tables for the CLI's default output. */
#ifndef SLUICECTL_TABLE_H
#define SLUICECTL_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct table {
	size_t n_cols;
	char **cells;		/* row-major, the header first */
	size_t n_rows, cap_rows;
};

void table_init(struct table *t, size_t n_cols, const char *const *header);
/* Appends a row of n_cols printf-formatted cells: pass the values already
 * formatted as strings. */
void table_row(struct table *t, const char *const *cells);
void table_print(const struct table *t, FILE *out);
void table_free(struct table *t);

#endif
