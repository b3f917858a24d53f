// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int sl_errf(struct sl_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int sl_err_prefix(struct sl_err *err, const char *fmt, ...)
{
	char prefix[SL_ERR_LEN];
	size_t plen, keep;
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	/* "prefix: message", cutting the message's tail if it must. */
	plen = strlen(prefix);
	if (plen > SL_ERR_LEN / 2)
		plen = SL_ERR_LEN / 2;
	keep = strlen(err->msg);
	if (keep > SL_ERR_LEN - plen - 3)
		keep = SL_ERR_LEN - plen - 3;
	memmove(err->msg + plen + 2, err->msg, keep);
	err->msg[plen + 2 + keep] = '\0';
	memcpy(err->msg, prefix, plen);
	err->msg[plen] = ':';
	err->msg[plen + 1] = ' ';
	return -1;
}
