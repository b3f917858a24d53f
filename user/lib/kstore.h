/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The objects the Kubernetes source holds, each decoded once when it
 * arrives and kept with its resourceVersion until it changes or goes: one
 * change costs one object's decoding, never a re-read of the rest. The
 * configuration applied is assembled from the decoded objects (their
 * structs copied, their strings shared), so the applier sees the same
 * struct sl_config as from files.
 *
 * An object the decoders refuse keeps its last good version in force (or
 * none, if it never had one), and its error is kept to be reported: one
 * team's bad DestinationRule must not hold back every other update.
 */
#ifndef SLUICE_KSTORE_H
#define SLUICE_KSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "kept.h"

/* A resourceVersion (etcd's revision, in practice) that fits is kept in
 * the object: a string of its own took 32 bytes, 40,000 times. */
#define SL_KSTORE_RV_INLINE 16

struct sl_kstore_obj {
	struct sl_kstore_obj *next;	/* in its hash chain */
	union {
		char in[SL_KSTORE_RV_INLINE];
		char *out;		/* longer ones */
	} rv;				/* of the version kept: sl_kstore_rv */
	struct sl_kept value;		/* the last version decoded without error */
	char *error;			/* why the newest version was refused, or NULL */
	/* Why it is left out of this apply (an error across objects named
	 * it), or NULL; cleared before each apply and by a new version. */
	char *excluded;
	/* Objects of one kind in one group (the EndpointSlices of one
	 * Service), found without walking the store. */
	const char *group;		/* NULL: in none; its group's name */
	struct sl_kstore_obj *group_next, *group_prev;
	struct sl_kstore_obj *kind_next, *kind_prev;	/* all of its kind */
	/* The agent's bookkeeping of a pod of its node not found running
	 * there (kube_pods.c): since when, and whether it was said. */
	int64_t missing_since_ms;
	uint16_t kind;			/* the source's index of its resource */
	bool seen;			/* in the list being taken (relist) */
	bool missing_reported;
	uint8_t rv_where;		/* SL_KSTORE_RV_* */
	char key[];			/* "namespace/name", or "name" */
};

enum { SL_KSTORE_RV_NONE, SL_KSTORE_RV_IN, SL_KSTORE_RV_OUT };

/* The resourceVersion kept, or NULL. */
const char *sl_kstore_rv(const struct sl_kstore_obj *o);

#define SL_KSTORE_KINDS 16

struct sl_kstore {
	struct sl_kstore_obj **buckets;
	size_t n_buckets;
	size_t n_objects;
	size_t n_by_kind[SL_KSTORE_KINDS];	/* kinds >= SL_KSTORE_KINDS not counted */
	size_t n_refused;		/* objects whose newest version is refused */
	size_t n_excluded;		/* objects left out (sl_kstore_exclude) */
	/* The configuration's digest, kept as objects change: a change of
	 * one object is applied without assembling the rest. */
	uint64_t digest;
	struct sl_kstore_obj *kind_head[SL_KSTORE_KINDS];
	struct sl_kstore_group **groups;	/* hash of group heads */
	size_t n_groups_buckets, n_groups;
};

int sl_kstore_init(struct sl_kstore *s, struct sl_err *err);
void sl_kstore_free(struct sl_kstore *s);

struct sl_kstore_obj *sl_kstore_get(struct sl_kstore *s, unsigned int kind, const char *key);
/* Adds or replaces an object with the version in *cfg (taken over: *cfg
 * is zeroed; one object's decoding: sl_kept_take). Returns the object. */
struct sl_kstore_obj *sl_kstore_put(struct sl_kstore *s, unsigned int kind, const char *key,
				    const char *rv, struct sl_config *cfg);
/* Records that the newest version of an object was refused: the version
 * kept (if any) stays in force. */
void sl_kstore_refuse(struct sl_kstore *s, unsigned int kind, const char *key,
		      const char *rv, const char *error);
/* Leaves an object out of the configurations assembled from now on
 * (false if it is not there, or out already). */
bool sl_kstore_exclude(struct sl_kstore *s, unsigned int kind, const char *key,
		       const char *why);
void sl_kstore_clear_exclusions(struct sl_kstore *s);
/* Removes an object; false if it was not there. */
bool sl_kstore_remove(struct sl_kstore *s, unsigned int kind, const char *key);

/* A full list replaces everything of its kind: mark, put each item (which
 * marks it seen), then sweep what the list no longer holds. */
void sl_kstore_mark(struct sl_kstore *s, unsigned int kind);
size_t sl_kstore_sweep(struct sl_kstore *s, unsigned int kind);

/* Puts o in group (NULL: in none), e.g. an EndpointSlice under its
 * Service's "namespace/name". */
void sl_kstore_set_group(struct sl_kstore *s, struct sl_kstore_obj *o, const char *group);
/* Calls fn for every object of a kind (< SL_KSTORE_KINDS) in a group. */
void sl_kstore_group_each(struct sl_kstore *s, unsigned int kind, const char *group,
			  void (*fn)(struct sl_kstore_obj *o, void *arg), void *arg);
/* Calls fn for every object of a kind (< SL_KSTORE_KINDS). */
void sl_kstore_kind_each(struct sl_kstore *s, unsigned int kind,
			 void (*fn)(struct sl_kstore_obj *o, void *arg), void *arg);
/* The configuration of one object as sl_kstore_config adds it (nothing
 * if it is left out), into cfg sized by the caller or grown. */
void sl_kstore_add_to(struct sl_kstore_obj *o, void *cfg);
/* The digest counted again over every object (the kept one must agree). */
uint64_t sl_kstore_digest_recount(struct sl_kstore *s);


/* The configuration of every object kept, in *cfg (zeroed here), valid
 * until the store next changes; sl_config_free frees what is the
 * configuration's own (its arrays), not the objects'. Objects refused are named
 * in cfg->warnings. */
int sl_kstore_config(struct sl_kstore *s, struct sl_config *cfg, struct sl_err *err);

#endif
