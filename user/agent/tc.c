// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <sluice/abi.h>

#include "log.h"
#include "sys.h"
#include "tc.h"

/* linux/bpf.h of Linux >= 6.6; the build machine's headers may be older. */
#define SL_BPF_TCX_INGRESS 46
#define SL_BPF_TCX_EGRESS 47

static int pin_name(const struct sl_tc *t, uint64_t ino, unsigned int ifindex,
		    bool ingress, char *buf, size_t len, struct sl_err *err)
{
	return sl_pathf(buf, len, err, "%s/%" PRIu64 "-%u-%s", t->pin_dir, ino, ifindex,
			ingress ? "in" : "eg");
}

/* A pin of an earlier agent: give its link this agent's program, or drop
 * it when its interface is gone (the update fails on a defunct link). */
static void adopt_pin(struct sl_tc *t, const char *name)
{
	char path[4096];
	struct sl_err err;
	bool ingress;
	size_t len = strlen(name);
	int fd;

	if (len < 3 || sl_pathf(path, sizeof(path), &err, "%s/%s", t->pin_dir, name))
		return;
	ingress = !strcmp(name + len - 3, "-in");
	fd = bpf_obj_get(path);
	if (fd >= 0 && !bpf_link_update(fd, ingress ? t->ingress_fd : t->egress_fd, NULL)) {
		close(fd);
		return;
	}
	if (fd >= 0)
		close(fd);
	unlink(path);
}

int sl_tc_init(struct sl_tc *t, const char *bpffs, int ingress_fd, int egress_fd,
	       struct sl_err *err)
{
	struct dirent *de;
	DIR *d;

	memset(t, 0, sizeof(*t));
	t->ingress_fd = ingress_fd;
	t->egress_fd = egress_fd;
	if (ingress_fd < 0 || egress_fd < 0)
		return sl_errf(err, "the BPF object lacks the TC programs");
	if (sl_pathf(t->pin_dir, sizeof(t->pin_dir), err, "%s/%s/tc", bpffs,
		     SL_PIN_LINKS_DIR) || sl_mkdir_p(t->pin_dir, 0700, err) < 0)
		return -1;
	d = opendir(t->pin_dir);
	if (!d)
		return sl_errf(err, "%s: %s", t->pin_dir, strerror(errno));
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			adopt_pin(t, de->d_name);
	closedir(d);
	return 0;
}

/* Calls fn for each pin of the namespace; stops early when fn says so. */
static bool each_pin(const struct sl_tc *t, uint64_t ino, bool (*fn)(const char *path))
{
	char prefix[32], path[4096];
	struct sl_err err;
	struct dirent *de;
	bool stopped = false;
	DIR *d = opendir(t->pin_dir);

	if (!d)
		return false;
	snprintf(prefix, sizeof(prefix), "%" PRIu64 "-", ino);
	while (!stopped && (de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)) &&
		    !sl_pathf(path, sizeof(path), &err, "%s/%s", t->pin_dir, de->d_name))
			stopped = fn(path);
	closedir(d);
	return stopped;
}

static bool found(const char *path)
{
	(void)path;
	return true;
}

bool sl_tc_attached(const struct sl_tc *t, uint64_t ino)
{
	return each_pin(t, ino, found);
}

static bool detach_pin(const char *path)
{
	int fd = bpf_obj_get(path);

	if (fd >= 0) {
		bpf_link_detach(fd);	/* fails only for a link already defunct */
		close(fd);
	}
	unlink(path);
	return false;
}

void sl_tc_detach(struct sl_tc *t, uint64_t ino)
{
	each_pin(t, ino, detach_pin);
}

static int attach_one(struct sl_tc *t, uint64_t ino, const char *ifname,
		      unsigned int ifindex, bool ingress, struct sl_err *err)
{
	char path[4096];
	int fd;

	if (pin_name(t, ino, ifindex, ingress, path, sizeof(path), err))
		return -1;
	if (access(path, F_OK) == 0)
		return 0;
	fd = bpf_link_create(ingress ? t->ingress_fd : t->egress_fd, (int)ifindex,
			     ingress ? SL_BPF_TCX_INGRESS : SL_BPF_TCX_EGRESS, NULL);
	if (fd < 0)
		return sl_errf(err, "attaching the bandwidth policer to %s %s of netns %"
			       PRIu64 " (tcx, Linux >= 6.6): %s", ifname,
			       ingress ? "ingress" : "egress", ino, strerror(errno));
	if (bpf_obj_pin(fd, path)) {
		int e = errno;

		bpf_link_detach(fd);
		close(fd);
		return sl_errf(err, "pinning %s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

/* Interfaces come from the AF_PACKET entries of getifaddrs: those carry
 * the hardware type, and the policer reads IP headers after Ethernet's. */
int sl_tc_attach_here(struct sl_tc *t, uint64_t ino, struct sl_err *err)
{
	struct ifaddrs *ifs = NULL;
	int ret = 0, n = 0;

	if (getifaddrs(&ifs) < 0)
		return sl_errf(err, "listing the interfaces of netns %" PRIu64 ": %s", ino,
			       strerror(errno));
	for (struct ifaddrs *i = ifs; i && ret == 0; i = i->ifa_next) {
		const struct sockaddr_ll *ll = (const void *)i->ifa_addr;
		unsigned int ifindex;

		if (!ll || ll->sll_family != AF_PACKET || ll->sll_hatype != ARPHRD_ETHER ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		ifindex = (unsigned int)ll->sll_ifindex;
		ret = attach_one(t, ino, i->ifa_name, ifindex, false, err);
		if (!ret)
			ret = attach_one(t, ino, i->ifa_name, ifindex, true, err);
		n++;
	}
	freeifaddrs(ifs);
	if (ret == 0 && n == 0)
		return sl_errf(err, "netns %" PRIu64 " has no Ethernet interface to police "
			       "bandwidth on", ino);
	return ret;
}
