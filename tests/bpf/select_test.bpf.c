// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Runs the datapath's endpoint selection (bpf/lib/lb.h, the code the
 * connect and sendmsg hooks use) under BPF_PROG_TEST_RUN, so that tests
 * can drive it with exact inputs and read its exact outputs.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lib/lb.h"
#include "select_test.h"

SEC("syscall")
int select_one(struct select_args *args)
{
	struct sl_svc_key key = args->key;
	struct sl_client_hint hint = {};
	struct sl_choice choice = {};

	args->verdict = sl_choose(&key, &choice, args->connected, &hint);
	args->svc_id = choice.svc_id;
	args->backend_id = choice.backend_id;
	args->backend = choice.backend;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
