/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Errors are values: a failing function returns a negative number and
 * leaves a message in the caller's struct sl_err. Callers add context by
 * prefixing ("loading foo.yaml: ...") on the way up.
 */
#ifndef SLUICE_ERR_H
#define SLUICE_ERR_H

#define SL_ERR_LEN 1024

struct sl_err {
	char msg[SL_ERR_LEN];
};

/* Sets the message and returns -1, so `return sl_errf(err, ...)` reads well. */
int sl_errf(struct sl_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prepends "context: " to the current message; returns -1. */
int sl_err_prefix(struct sl_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
