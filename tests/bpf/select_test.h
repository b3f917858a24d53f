/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef SLUICE_SELECT_TEST_H
#define SLUICE_SELECT_TEST_H

#include <sluice/abi.h>

/* In and out of the select_one program. */
struct select_args {
	struct sl_svc_key key;	/* in */
	__u32 connected;	/* in */
	__u32 verdict;		/* out: enum sl_verdict */
	__u32 svc_id;
	__u32 backend_id;
	struct sl_backend backend;
};

#endif
