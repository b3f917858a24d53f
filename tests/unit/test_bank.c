// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The mirrors of the policy banks and of sluice_workload_info against
 * real maps: only differences are written, stale entries deleted, the
 * mirror read back from the maps equals the one kept, room is checked. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include "helpers.h"
#include "authz_wl.h"
#include "bank.h"
#include "maps_fixture.h"

static int set_map(uint32_t max)
{
	return fixture_map(BPF_MAP_TYPE_HASH, "t_pset", sizeof(struct sl_policy_set_key),
			   sizeof(struct sl_policy_verdict), max, BPF_F_NO_PREALLOC);
}

static void set_bank_init(struct sl_bank_map *m, int fd, uint32_t max)
{
	sl_bank_map_init(m, "sluice_policy_set", "test", fd, max,
			 sizeof(struct sl_policy_set_key), sizeof(struct sl_policy_verdict),
			 offsetof(struct sl_policy_set_key, bank), 4, true);
}

/* Sets from..to, each with rule = set * mul. */
static void sets_want(struct sl_kv_want *w, const struct sl_bank_map *m, uint32_t from,
		      uint32_t to, uint32_t mul)
{
	for (uint32_t s = from; s <= to; s++) {
		struct sl_policy_set_key k = { s, 0 };
		struct sl_policy_verdict v = { .rule = s * mul };

		sl_kv_want_add(w, m, &k, &v);
	}
}

static int rule_of(int fd, uint32_t set, uint32_t bank)
{
	struct sl_policy_set_key k = { set, bank };
	struct sl_policy_verdict v;

	if (bpf_map_lookup_elem(fd, &k, &v))
		return -1;
	return (int)v.rule;
}

static void test_bank_writes_differences(void **state)
{
	struct sl_kv_want a = { 0 }, b = { 0 };
	struct sl_bank_map m, again;
	struct sl_policy_set_key k1 = { 1, 0 };
	struct sl_policy_verdict marker = { .rule = 999 };
	struct sl_err err;
	int fd = set_map(64);

	(void)state;
	set_bank_init(&m, fd, 64);
	sets_want(&a, &m, 1, 5, 1);
	assert_int_equal(sl_bank_write(&m, &a, 0, &err), 0);
	assert_int_equal(fixture_count(fd, sizeof(k1)), 5);
	assert_true(sl_bank_same(&m, &a, 0));
	/* b: set 5 gone, set 6 new, set 2 changed. */
	sets_want(&b, &m, 1, 4, 1);
	sets_want(&b, &m, 2, 2, 10);
	sets_want(&b, &m, 6, 6, 1);
	assert_false(sl_bank_same(&m, &b, 0));
	assert_int_equal(sl_bank_write(&m, &b, 1, &err), 0);
	assert_int_equal(fixture_count(fd, sizeof(k1)), 10);
	/* Behind the mirror's back: an entry left alone keeps this. */
	assert_int_equal(bpf_map_update_elem(fd, &k1, &marker, BPF_ANY), 0);
	assert_int_equal(sl_bank_write(&m, &b, 0, &err), 0);
	assert_int_equal(rule_of(fd, 1, 0), 999);
	assert_int_equal(rule_of(fd, 2, 0), 20);
	assert_int_equal(rule_of(fd, 5, 0), -1);
	assert_int_equal(rule_of(fd, 6, 0), 6);
	assert_int_equal(fixture_count(fd, sizeof(k1)), 10);
	/* Read back from the map: the marker differs from the mirror. */
	set_bank_init(&again, fd, 64);
	assert_int_equal(sl_bank_load(&again, &err), 0);
	assert_true(sl_bank_same(&again, &b, 1));
	assert_false(sl_bank_same(&again, &b, 0));
	sl_bank_clear(&again, -1);
	assert_int_equal(fixture_count(fd, sizeof(k1)), 0);
	sl_kv_want_free(&a);
	sl_kv_want_free(&b);
	sl_bank_map_free(&m);
	sl_bank_map_free(&again);
	close(fd);
}

static void test_bank_room_next_to_the_bank_in_force(void **state)
{
	struct sl_kv_want a = { 0 }, b = { 0 };
	struct sl_bank_map m;
	struct sl_err err;
	int fd = set_map(8);

	(void)state;
	set_bank_init(&m, fd, 8);
	sets_want(&a, &m, 1, 5, 1);
	assert_int_equal(sl_bank_check(&m, &a, 0, &err), 0);
	assert_int_equal(sl_bank_write(&m, &a, 0, &err), 0);
	/* 5 in force + 4 > 8, whatever the other bank held before. */
	sets_want(&b, &m, 1, 4, 2);
	assert_int_equal(sl_bank_check(&m, &b, 1, &err), -1);
	assert_contains(err.msg, "sluice_policy_set is full");
	assert_contains(err.msg, "needs 4 entries next to the 5 in force, capacity 8");
	sl_kv_want_free(&b);
	sets_want(&b, &m, 1, 3, 2);
	assert_int_equal(sl_bank_check(&m, &b, 1, &err), 0);
	sl_kv_want_free(&a);
	sl_kv_want_free(&b);
	sl_bank_map_free(&m);
	close(fd);
}

static void test_bank_lpm_trie(void **state)
{
	struct sl_kv_want w = { 0 };
	struct sl_bank_map m, again;
	struct sl_err err;
	int fd = fixture_map(BPF_MAP_TYPE_LPM_TRIE, "t_ipc", sizeof(struct sl_ipcache_key),
			     sizeof(struct sl_ipcache), 16, BPF_F_NO_PREALLOC);

	(void)state;
	sl_bank_map_init(&m, "sluice_ipcache", "--max-workloads", fd, 16,
			 sizeof(struct sl_ipcache_key), sizeof(struct sl_ipcache),
			 offsetof(struct sl_ipcache_key, bank), 1, true);
	for (uint8_t i = 1; i <= 3; i++) {
		struct sl_ipcache_key k = { .prefixlen = SL_IPCACHE_PREFIX_BITS + 32,
					    .family = SL_AF_INET };
		struct sl_ipcache v = { .src_class = i };

		k.addr.a[0] = htonl(0x0a000000u | i);
		sl_kv_want_add(&w, &m, &k, &v);
	}
	assert_int_equal(sl_bank_write(&m, &w, 1, &err), 0);
	assert_int_equal(sl_bank_write(&m, &w, 0, &err), 0);
	sl_bank_map_init(&again, "sluice_ipcache", "--max-workloads", fd, 16,
			 sizeof(struct sl_ipcache_key), sizeof(struct sl_ipcache),
			 offsetof(struct sl_ipcache_key, bank), 1, false);
	assert_int_equal(sl_bank_load(&again, &err), 0);
	assert_true(sl_bank_same(&again, &w, 0));
	assert_true(sl_bank_same(&again, &w, 1));
	/* One by one, as where the kernel has no batches. */
	again.batch = false;
	sl_bank_clear(&again, 1);
	assert_int_equal(sl_bank_load(&again, &err), 0);
	assert_true(sl_bank_same(&again, &w, 0));
	assert_false(sl_bank_same(&again, &w, 1));
	sl_kv_want_free(&w);
	sl_bank_map_free(&m);
	sl_bank_map_free(&again);
	close(fd);
}

/* ---- workload names ---- */

static void fill_name(const void *ctx, size_t i, struct sl_workload_info *out)
{
	const char *const *names = ctx;

	snprintf(out->namespace, sizeof(out->namespace), "ns");
	snprintf(out->name, sizeof(out->name), "%s", names[i]);
	out->kind = SL_WORKLOAD_POD;
}

static struct sl_workload_key wl_key(uint8_t last)
{
	struct sl_workload_key k = { .family = SL_AF_INET };

	k.addr.a[0] = htonl(0x0a000000u | last);
	return k;
}

static int apply_names(int fd, struct sl_wl_set *have, const uint8_t *addrs,
		       const char *const *names, size_t n, uint32_t max, size_t *written,
		       struct sl_err *err)
{
	struct sl_workload_key keys[8];
	struct sl_wl_want want = { 0 };

	for (size_t i = 0; i < n; i++)
		keys[i] = wl_key(addrs[i]);
	if (sl_wl_plan(max, have, &want, keys, n, fill_name, names, err) < 0) {
		sl_wl_want_free(&want);
		return -1;
	}
	*written = want.n_write;
	if (sl_wl_write(fd, have, &want, err) < 0 || sl_wl_prune(fd, have, &want, err) < 0)
		fail_msg("%s", err->msg);
	sl_wl_want_free(&want);
	return 0;
}

static void test_workload_names(void **state)
{
	const uint8_t a1[] = { 1, 2, 3 }, a2[] = { 1, 2, 4, 4 };
	const char *n1[] = { "a", "b", "c" }, *n2[] = { "a", "B", "x", "d" };
	struct sl_workload_key k4 = wl_key(4);
	struct sl_workload_info info;
	struct sl_wl_set have = { 0 }, again;
	struct sl_err err;
	size_t written;
	int fd = fixture_map(BPF_MAP_TYPE_HASH, "t_wl", sizeof(struct sl_workload_key),
			     sizeof(struct sl_workload_info), 4, BPF_F_NO_PREALLOC);

	(void)state;
	assert_int_equal(apply_names(fd, &have, a1, n1, 3, 4, &written, &err), 0);
	assert_int_equal(written, 3);
	assert_int_equal(apply_names(fd, &have, a1, n1, 3, 4, &written, &err), 0);
	assert_int_equal(written, 0);
	/* 2 renamed, 3 gone, 4 new (twice: the last wins). */
	assert_int_equal(apply_names(fd, &have, a2, n2, 4, 4, &written, &err), 0);
	assert_int_equal(written, 2);
	assert_int_equal(fixture_count(fd, sizeof(k4)), 3);
	assert_int_equal(bpf_map_lookup_elem(fd, &k4, &info), 0);
	assert_string_equal(info.name, "d");
	assert_int_equal(sl_wl_load(fd, &again, &err), 0);
	assert_int_equal(again.n, have.n);
	for (size_t i = 0; i < have.n; i++) {
		assert_memory_equal(&again.v[i].key, &have.v[i].key, sizeof(have.v[i].key));
		assert_true(again.v[i].hash == have.v[i].hash);
	}
	sl_wl_set_free(&again);
	/* 3 in the map, 2 new: more than 4, refused before any write. */
	assert_int_equal(apply_names(fd, &have, a1, n1, 3, 4, &written, &err), 0);
	{
		const uint8_t a3[] = { 5, 6 };

		assert_int_equal(apply_names(fd, &have, a3, n1, 2, 4, &written, &err), -1);
		assert_contains(err.msg, "sluice_workload_info is full");
	}
	assert_int_equal(fixture_count(fd, sizeof(k4)), 3);
	sl_wl_set_free(&have);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bank_writes_differences),
		cmocka_unit_test(test_bank_room_next_to_the_bank_in_force),
		cmocka_unit_test(test_bank_lpm_trie),
		cmocka_unit_test(test_workload_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
