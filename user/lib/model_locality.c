// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DestinationRule loadBalancer.localityLbSetting, seen from this node's
 * locality (sluiced --locality), as Istio computes it for a proxy:
 *
 * - distribute: the first entry whose `from` matches the node splits new
 *   connections among the `to` localities by their percentages, each
 *   endpoint taking its weight's part of its locality's percentage; an
 *   endpoint no `to` matches gets none. Applies with or without outlier
 *   detection; priorities do not.
 * - otherwise, only when outlierDetection is configured (Istio's rule:
 *   without ejection nothing would ever fail over), priorities: same
 *   region, zone and subzone; same region and zone; same region; the
 *   region the first failover entry from the node's region names; the
 *   rest. Priorities no usable endpoint holds are skipped, so the
 *   preferred one is always 0. The kernel sends new connections to
 *   priority 0 and to the next one only while every endpoint of the
 *   better ones is ejected.
 * - enabled: false turns both off. Istio's mesh-wide default is enabled,
 *   so outlierDetection alone gives the priorities, as in Istio.
 *
 * An EndpointSlice endpoint's locality is a zone only; its region is
 * taken to be the node's (a cluster's zones lie in its region).
 */
#include <stdio.h>
#include <string.h>

#include "locality.h"
#include "log.h"
#include "model.h"

static void member_locality(const struct sl_model_member *mem,
			    const struct sl_locality *node, struct sl_locality *out)
{
	sl_locality_split(mem->locality, mem->zone_only, out);
	sl_locality_resolve(out, node);
}

/* Istio's applyLocalityWeights: weights per `to`, in the order written. */
static void distribute(struct sl_frontend *fe, const struct sl_locality_distribute *d,
		       const struct sl_locality *node)
{
	struct sl_locality l;
	uint64_t sum;

	for (size_t i = 0; i < fe->n_members; i++)
		fe->members[i].tier = UINT32_MAX;	/* no `to` yet */
	for (size_t t = 0; t < d->n_to; t++) {
		sum = 0;
		for (size_t i = 0; i < fe->n_members; i++) {
			struct sl_model_member *mem = &fe->members[i];

			if (mem->tier != UINT32_MAX)
				continue;
			member_locality(mem, node, &l);
			if (!sl_locality_match(&l, d->to[t].locality))
				continue;
			mem->tier = (uint32_t)t;
			if (mem->usable)
				sum += mem->weight;
		}
		for (size_t i = 0; i < fe->n_members && sum; i++) {
			struct sl_model_member *mem = &fe->members[i];
			uint64_t w;

			if (mem->tier != t || !mem->usable)
				continue;
			w = ((uint64_t)d->to[t].percent * 10000 * mem->weight + sum / 2) / sum;
			mem->weight = w ? (uint32_t)w : 1;
		}
	}
	for (size_t i = 0; i < fe->n_members; i++) {
		struct sl_model_member *mem = &fe->members[i];

		if (mem->tier == UINT32_MAX)
			mem->usable = false;	/* a locality distribute sends nothing to */
		mem->tier = 0;
	}
}

/* Istio's applyLocalityFailover: priorities 0-4, then the gaps closed. */
static void failover(struct sl_frontend *fe, const struct sl_destination_rule *dr,
		     const struct sl_locality *node)
{
	uint32_t rank[SL_LOCALITY_PRIORITIES];
	const struct sl_locality_failover *fo = NULL;
	bool present[SL_LOCALITY_PRIORITIES] = { false };
	struct sl_locality l;
	uint32_t n = 0;

	for (size_t i = 0; i < dr->policy.n_failover && !fo; i++)
		if (!strcmp(dr->policy.failover[i].from, node->region))
			fo = &dr->policy.failover[i];
	for (size_t i = 0; i < fe->n_members; i++) {
		struct sl_model_member *mem = &fe->members[i];
		uint32_t p;

		member_locality(mem, node, &l);
		p = sl_locality_priority(node, &l);
		if (p == 3 && fo && strcmp(l.region, fo->to))
			p = 4;
		mem->tier = p;
		if (mem->usable)
			present[p] = true;
	}
	for (uint32_t p = 0; p < SL_LOCALITY_PRIORITIES; p++) {
		rank[p] = n;
		n += present[p];
	}
	for (size_t i = 0; i < fe->n_members; i++)
		fe->members[i].tier = rank[fe->members[i].tier];
}

static bool rule_in_use(const struct sl_model *m, const struct sl_destination_rule *dr)
{
	for (size_t k = 0; k < m->n_fe; k++)
		if (m->fe[k].dr == dr)
			return true;
	return false;
}

void sl_model_apply_locality(struct sl_model *m, const struct sl_config *cfg,
			     const struct sl_locality *node)
{
	for (size_t i = 0; i < cfg->n_drules; i++) {
		const struct sl_destination_rule *dr = &cfg->drules[i];
		const struct sl_locality_distribute *d = NULL;

		if (dr->policy.locality_off || (!dr->policy.n_distribute && !dr->policy.outlier) ||
		    !rule_in_use(m, dr))
			continue;
		if (!node) {
			if (dr->policy.n_distribute || dr->policy.n_failover)
				sl_warn("%s:%u: DestinationRule %s/%s: localityLbSetting: "
					"this node's locality is unknown (sluiced "
					"--locality); without effect", dr->policy.locality_loc.file,
					dr->policy.locality_loc.line, dr->meta.namespace,
					dr->meta.name);
			continue;
		}
		for (size_t j = 0; j < dr->policy.n_distribute && !d; j++)
			if (sl_locality_match(node, dr->policy.distribute[j].from))
				d = &dr->policy.distribute[j];
		/* distribute given but no entry for this node: as in Istio,
		 * neither weights nor priorities. */
		if (dr->policy.n_distribute && !d)
			continue;
		for (size_t k = 0; k < m->n_fe; k++) {
			if (m->fe[k].dr != dr)
				continue;
			if (d)
				distribute(&m->fe[k], d, node);
			else
				failover(&m->fe[k], dr, node);
		}
	}
}
