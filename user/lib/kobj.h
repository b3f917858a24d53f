/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One object as the Kubernetes API server sends it (JSON, parsed with
 * json-c), decoded by the same decoders as the YAML files: the document is
 * rebuilt as a libyaml node tree, so every rule and every message is the
 * files' own. Fields this build does not know are skipped (the API server
 * validated the object; a newer Kubernetes adds fields).
 */
#ifndef SLUICE_KOBJ_H
#define SLUICE_KOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "config.h"
#include "err.h"
#include "strtab.h"

/* Decodes obj into cfg (zeroed by the caller; freed with sl_config_free),
 * which then holds exactly the resources obj defines, and cfg->digest the
 * hash of every field the decoders read (a change elsewhere, a Pod's
 * container statuses, leaves it as it was). api_version and kind
 * are set on obj when it lacks them (items of a list do). `origin` names
 * the object in messages, in place of a file. *per_node (0 at first) is
 * the caller's per-kind estimate of the memory an object takes, learnt
 * here: thousands of objects are kept, each in an arena of one block.
 * texts (NULL: none) holds label keys and values shared by objects, and
 * must outlive cfg. */
#define SL_KOBJ_PER_NODE (8 * 16)
int sl_kobj_decode(struct json_object *obj, const char *api_version, const char *kind,
		   const char *origin, unsigned int *per_node, struct sl_strtab *texts,
		   struct sl_config *cfg, struct sl_err *err);

/* An object's name in messages, in place of a file: "Kind ns/name
 * (resourceVersion N)" (key is "ns/name", or "name"; rv NULL: "?"). */
void sl_kobj_origin(char *buf, size_t len, const char *kind, const char *key,
		    const char *rv);
/* Of the origins an error names, the newest (highest resourceVersion):
 * its kind and key. false if it names none. */
bool sl_kobj_newest_origin(const char *error, char *kind, size_t kind_len, char *key,
			   size_t key_len);

/* metadata.namespace ("" when cluster-scoped), metadata.name,
 * metadata.resourceVersion: NULL when absent or not strings. */
const char *sl_kobj_meta(struct json_object *obj, const char *field);

#endif
