// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdlib.h>

#include "slots.h"

struct slot_pos {
	unsigned __int128 num;	/* position = num / den, in (0, 1) */
	unsigned __int128 den;
	uint32_t member;
};

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static int cmp_pos(const void *a, const void *b)
{
	const struct slot_pos *x = a, *y = b;
	/* Both parts stay below 2^64 (weights and n are 32-bit), so the
	 * cross products fit in 128 bits. */
	unsigned __int128 l = x->num * y->den;
	unsigned __int128 r = y->num * x->den;

	if (l != r)
		return l < r ? -1 : 1;
	return x->member < y->member ? -1 : x->member > y->member;
}

/* Scales weights so that their sum stays near max_slots. */
static void scale_down(uint64_t *w, size_t n, uint64_t sum, size_t max_slots)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t s;

		if (!w[i])
			continue;
		s = (uint64_t)((unsigned __int128)w[i] * max_slots / sum);
		w[i] = s ? s : 1;
	}
}

int sl_slots_build(const uint32_t *weights, size_t n, size_t max_slots,
		   uint32_t **table, size_t *n_slots, uint32_t *per_member,
		   struct sl_err *err)
{
	uint64_t g = 0, sum = 0, *w;
	struct slot_pos *pos;
	size_t k = 0, usable = 0;

	*table = NULL;
	*n_slots = 0;
	w = calloc(n ? n : 1, sizeof(*w));
	if (!w)
		return sl_errf(err, "out of memory");
	for (size_t i = 0; i < n; i++) {
		w[i] = weights[i];
		if (w[i]) {
			g = gcd(g, w[i]);
			usable++;
		}
	}
	if (usable > max_slots) {
		free(w);
		return sl_errf(err, "%zu endpoints with traffic exceed the %zu slots a "
			       "service may have", usable, max_slots);
	}
	for (size_t i = 0; i < n; i++) {
		w[i] = g ? w[i] / g : 0;
		sum += w[i];
	}
	if (sum > max_slots) {
		scale_down(w, n, sum, max_slots);
		sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += w[i];
	}
	pos = calloc(sum ? sum : 1, sizeof(*pos));
	if (!pos) {
		free(w);
		return sl_errf(err, "out of memory");
	}
	/* Member i's j-th slot sits at (j + phase_i) / w_i: evenly spaced over
	 * the cycle. Each member gets its own phase (i + 1) / (n + 1), so that
	 * members of equal weight take turns instead of landing on the same
	 * spot and bunching up. */
	for (size_t i = 0; i < n; i++) {
		per_member[i] = (uint32_t)w[i];
		for (uint64_t j = 0; j < w[i]; j++)
			pos[k++] = (struct slot_pos){ (unsigned __int128)j * (n + 1) + i + 1,
						      (unsigned __int128)w[i] * (n + 1),
						      (uint32_t)i };
	}
	free(w);
	if (sum)
		qsort(pos, sum, sizeof(*pos), cmp_pos);
	*table = malloc((sum ? sum : 1) * sizeof(**table));
	if (!*table) {
		free(pos);
		return sl_errf(err, "out of memory");
	}
	for (size_t i = 0; i < sum; i++)
		(*table)[i] = pos[i].member;
	free(pos);
	*n_slots = sum;
	return 0;
}
