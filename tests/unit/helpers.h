/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared by the unit tests: configuration from strings. */
#ifndef SLUICE_TEST_HELPERS_H
#define SLUICE_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "model.h"

/* Loads YAML text as if it were the file "test.yaml". */
static inline int load_yaml(const char *text, struct sl_config *cfg, struct sl_err *err)
{
	memset(cfg, 0, sizeof(*cfg));
	err->msg[0] = '\0';
	if (sl_config_load_buffer("test.yaml", text, strlen(text), cfg, err) < 0)
		return -1;
	return sl_config_check(cfg, err);
}

/* Loads text that must be valid and builds its model. */
static inline void build_model(const char *text, struct sl_model *model)
{
	struct sl_config cfg;
	struct sl_err err;

	if (load_yaml(text, &cfg, &err) < 0)
		fail_msg("unexpected config error: %s", err.msg);
	if (sl_model_build(&cfg, model, &err) < 0)
		fail_msg("unexpected model error: %s", err.msg);
	sl_config_free(&cfg);
}

static inline void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("expected \"%s\" in \"%s\"", needle, haystack);
}

/* Loads text that must be refused with an error containing msg. */
static inline void expect_error(const char *text, const char *msg)
{
	struct sl_config cfg;
	struct sl_err err;

	if (load_yaml(text, &cfg, &err) == 0) {
		sl_config_free(&cfg);
		fail_msg("loaded, expected \"%s\"", msg);
	}
	assert_contains(err.msg, msg);
	sl_config_free(&cfg);
}

static inline bool warnings_contain(const struct sl_config *cfg, const char *needle)
{
	for (size_t i = 0; i < cfg->warnings.n; i++)
		if (strstr(cfg->warnings.msgs[i], needle))
			return true;
	return false;
}

#endif
