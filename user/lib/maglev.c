// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "maglev.h"

int sl_maglev_is_prime(uint32_t m)
{
	if (m < 2)
		return 0;
	for (uint32_t d = 2; (uint64_t)d * d <= m; d++)
		if (m % d == 0)
			return 0;
	return 1;
}

int sl_maglev_build(const uint64_t *keys, const uint32_t *weights, size_t n,
		    uint32_t m, uint32_t *table, struct sl_err *err)
{
	uint32_t *offset, *skip, *next, filled = 0;
	size_t live = 0;

	if (!sl_maglev_is_prime(m) || m > SL_MAGLEV_MAX_SIZE)
		return sl_errf(err, "Maglev table size %u is not a prime up to %u", m,
			       SL_MAGLEV_MAX_SIZE);
	for (size_t i = 0; i < n; i++)
		live += weights[i] > 0;
	if (!live)
		return sl_errf(err, "Maglev table without a member");
	offset = calloc(n, sizeof(*offset));
	skip = calloc(n, sizeof(*skip));
	next = calloc(n, sizeof(*next));
	if (!offset || !skip || !next)
		abort();
	for (size_t i = 0; i < n; i++) {
		offset[i] = (uint32_t)(XXH64(&keys[i], sizeof(keys[i]), 0x5eed) % m);
		skip[i] = (uint32_t)(XXH64(&keys[i], sizeof(keys[i]), 0xb0a7) % (m - 1)) + 1;
	}
	for (uint32_t j = 0; j < m; j++)
		table[j] = UINT32_MAX;
	while (filled < m) {
		for (size_t i = 0; i < n && filled < m; i++) {
			for (uint32_t turn = 0; turn < weights[i] && filled < m; turn++) {
				uint32_t c;

				/* The member's next preferred entry still free. */
				do {
					c = (uint32_t)(((uint64_t)offset[i] +
							(uint64_t)next[i] * skip[i]) % m);
					next[i]++;
				} while (table[c] != UINT32_MAX);
				table[c] = (uint32_t)i;
				filled++;
			}
		}
	}
	free(offset);
	free(skip);
	free(next);
	return 0;
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

int sl_maglev_slots(const uint64_t *keys, const uint32_t *weights, size_t n, uint32_t m,
		    uint32_t **table, size_t *n_slots, uint32_t *per_member,
		    struct sl_err *err)
{
	uint32_t *w = calloc(n + 1, sizeof(*w)), g = 0, max = 0;
	int ret;

	*table = calloc(m, sizeof(**table));
	if (!w || !*table)
		abort();
	for (size_t i = 0; i < n; i++)
		g = gcd(g, weights[i]);
	for (size_t i = 0; i < n; i++) {
		w[i] = g ? weights[i] / g : 0;
		max = w[i] > max ? w[i] : max;
	}
	for (size_t i = 0; i < n && max > 64; i++)
		if (w[i])
			w[i] = (uint32_t)(((uint64_t)w[i] * 64 + max / 2) / max) ?: 1;
	ret = sl_maglev_build(keys, w, n, m, *table, err);
	free(w);
	if (ret < 0) {
		free(*table);
		*table = NULL;
		return -1;
	}
	memset(per_member, 0, n * sizeof(*per_member));
	for (uint32_t j = 0; j < m; j++)
		per_member[(*table)[j]]++;
	*n_slots = m;
	return 0;
}
