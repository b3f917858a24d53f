// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluiced: the node agent. Loads the datapath, keeps the maps equal to the
 * configuration, and leaves the datapath running when it stops.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "events.h"
#include "flowlog.h"
#include "http.h"
#include "kube.h"
#include "loader.h"
#include "locality.h"
#include "metrics.h"
#include "netns.h"
#include "options.h"
#include "log.h"
#include "sys.h"
#include "watch.h"

/* Quiet time after a file event before the configuration is read: an
 * editor's save or a ConfigMap update is several events in a row. */
#define DEBOUNCE_MS 50
/* While a watch is lost (directory replaced), look again this often. */
#define REARM_MS 1000
/* Pods are looked for this often even without a cgroup event. */
#define NETNS_SCAN_MS 1000
/* The kernel writes events without waking the agent (a wakeup is a
 * self-IPI, microseconds in a VM, per event) until the ring buffer is an
 * eighth full: the agent reads it at least this often. */
#define EVENTS_POLL_MS 100


struct agent {
	struct sl_applier applier;
	struct sl_watch watch;
	struct sl_kube kube;
	bool kube_on;
	char source[4096];		/* what the configuration comes from */
	int64_t started_ms;		/* when main began (monotonic) */
	struct sl_tc tc;
	struct sl_netns_watch netns;
	struct sl_events events;
	struct sl_flowlog flows;
	struct sl_resetter reset;
	struct sl_metrics metrics;
	struct sl_http http;
	int sfd;
};

static int signal_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Returns true to keep running. */
static bool handle_signals(struct agent *ag, bool *reload)
{
	struct signalfd_siginfo si;
	bool run = true;

	while (read(ag->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			sl_info("SIGHUP: re-reading the configuration");
			*reload = true;
			sl_flowlog_reopen(&ag->flows);
		} else {
			sl_info("signal %u: stopping; the datapath keeps running", si.ssi_signo);
			run = false;
		}
	}
	return run;
}

static void scan_pods(struct sl_netns_watch *n)
{
	struct sl_err err;

	if (sl_netns_scan(n, &err) < 0)
		sl_error("looking for pods: %s", err.msg);
}

/* The Kubernetes source: moves its transfers on, and applies what
 * changed, at once (the events of one read are one apply), once every
 * resource has been listed. */
static void kube_step(struct agent *ag, const struct pollfd *fds, size_t n, bool *force)
{
	struct sl_kube *k = &ag->kube;
	uint64_t applied;
	bool first;

	sl_kube_run(k, fds, n);
	if (!sl_kube_synced(k) || (!k->changed && !*force))
		return;
	first = !ag->applier.have_applied;
	if (!ag->applier.locality_fixed)
		sl_applier_set_locality(&ag->applier, k->has_locality ? &k->locality : NULL);
	applied = ag->applier.n_applied;
	ag->applier.changed_at_ns = k->changed_at_ns;
	/* Objects left out last time are tried again: what they conflicted
	 * with, or pointed to, may have changed; only a full apply can. */
	if (k->store.n_excluded)
		sl_kube_full_change(k);
	sl_kstore_clear_exclusions(&k->store);
	k->changed = false;
	sl_applier_run(&ag->applier, *force || first);
	sl_kube_delta_reset(k);
	if (ag->applier.n_applied > applied && ag->applier.last_change_ms >= 0)
		sl_kube_latency(k, ag->applier.last_change_ms / 1e3);
	/* Bandwidth policers follow at once; an apply by parts changes none. */
	if (!ag->applier.last_by_parts)
		scan_pods(&ag->netns);
	*force = false;
	if (first && ag->applier.have_applied)
		sl_info("ready %lld ms after start: every resource listed and applied",
			(long long)(sl_mono_ms() - ag->started_ms));
}

static int run_loop(struct agent *ag)
{
	int64_t due = -1;	/* when to re-read, or -1 */
	int64_t scan_due = sl_mono_ms() + NETNS_SCAN_MS;
	bool force = false;

	for (;;) {
		struct pollfd fds[5 + SL_FLOWS_POLLFDS + SL_KUBE_POLLFDS] = {
			{ ag->sfd, POLLIN, 0 }, { ag->watch.fd, POLLIN, 0 },
			{ ag->netns.inotify_fd, POLLIN, 0 },
			{ sl_events_fd(&ag->events), POLLIN, 0 },
			{ sl_http_fd(&ag->http), POLLIN, 0 } };
		size_t n_flows = sl_flowlog_pollfds(&ag->flows, &fds[5]);
		size_t n_kube = ag->kube_on ? sl_kube_pollfds(&ag->kube, &fds[5 + n_flows]) : 0;
		int64_t next = scan_due;
		int64_t resets = sl_applier_resets(&ag->applier, false);
		int timeout;

		if (due >= 0 && due < next)
			next = due;
		if (resets >= 0 && resets < next)
			next = resets;
		timeout = next > sl_mono_ms() ? (int)(next - sl_mono_ms()) : 0;
		if (ag->watch.wd < 0 && timeout > REARM_MS)
			timeout = REARM_MS;
		if (timeout > EVENTS_POLL_MS)
			timeout = EVENTS_POLL_MS;
		timeout = sl_http_timeout(&ag->http, timeout);
		if (ag->kube_on)
			timeout = sl_kube_timeout(&ag->kube, timeout);
		if (poll(fds, 5 + n_flows + n_kube, timeout) < 0 && errno != EINTR)
			return -1;
		if ((fds[0].revents & POLLIN) && !handle_signals(ag, &force))
			return 0;
		sl_events_drain(&ag->events);
		sl_flowlog_run(&ag->flows, &fds[5], n_flows);
		/* Also when only a client's timeout is due. */
		sl_http_run(&ag->http);
		if (ag->kube_on)
			kube_step(ag, &fds[5 + n_flows], n_kube, &force);
		if (sl_netns_drain(&ag->netns) || sl_mono_ms() >= scan_due) {
			scan_pods(&ag->netns);
			if (ag->kube_on)
				sl_kube_check_pods(&ag->kube, &ag->netns);
			/* Connection timeouts are judged on the same beat. */
			if (sl_reset_needs_sweep(&ag->applier.state))
				sl_reset_sweep(&ag->reset);
			scan_due = sl_mono_ms() + NETNS_SCAN_MS;
		}
		if (force && due < 0 && !ag->kube_on)
			due = sl_mono_ms();
		if (!ag->kube_on && sl_watch_drain(&ag->watch))
			due = sl_mono_ms() + DEBOUNCE_MS;
		if (due >= 0 && sl_mono_ms() >= due) {
			sl_applier_run(&ag->applier, force);
			scan_pods(&ag->netns);	/* bandwidth policers follow at once */
			force = false;
			due = -1;
		}
	}
}

static int kube_config(void *arg, struct sl_config *cfg, struct sl_err *err)
{
	struct sl_kube *k = arg;

	if (sl_kstore_config(&k->store, cfg, err) < 0)
		return -1;
	cfg->digest = sl_kube_digest(k);
	return 0;
}

static int kube_delta(void *arg, struct sl_delta *d)
{
	return sl_kube_delta_config(arg, &d->part, &d->names, &d->n_names);
}

static bool kube_exclude(void *arg, const char *error)
{
	return sl_kube_exclude(arg, error);
}

/* started: when main began, to report the time to ready. */
static int start(struct agent *ag, struct sl_loader *loader, const struct options *o,
		 int64_t started, struct sl_err *err)
{
	int64_t t0 = sl_mono_ms(), t1;

	ag->started_ms = started;
	if (o->kubernetes)
		snprintf(ag->source, sizeof(ag->source), "kubernetes:%s",
			 o->kubeconfig ? o->kubeconfig : "in-cluster");
	else
		snprintf(ag->source, sizeof(ag->source), "%s", o->config);
	if (sl_applier_init(&ag->applier, &loader->maps, ag->source, o->cgroup,
			    loader->cgroup_id, o->root_namespace,
			    o->has_locality ? &o->locality : NULL, err) < 0)
		return -1;
	if (sl_tc_init(&ag->tc, o->bpffs, sl_loader_prog_fd(loader, "sl_tc_ingress"),
		       sl_loader_prog_fd(loader, "sl_tc_egress"), err) < 0 ||
	    sl_netns_init(&ag->netns, o->bpffs, o->cgroup,
			  sl_loader_prog_fd(loader, "sl_sk_lookup"), &loader->maps, &ag->tc,
			  err) < 0 ||
	    sl_flowlog_init(&ag->flows, &loader->maps, o->flows_socket, o->access_log,
			    err) < 0 ||
	    sl_events_open(&ag->events, &loader->maps, &ag->flows, err) < 0 ||
	    sl_reset_init(&ag->reset, sl_loader_prog(loader, "sl_reset_removed"),
			  &loader->maps, &ag->netns, err) < 0)
		return -1;
	if (o->kubernetes) {
		ag->watch.fd = -1;
		ag->watch.wd = 0;
		if (sl_kube_init(&ag->kube, o->kubeconfig, o->node_name, err) < 0)
			return -1;
		ag->kube_on = true;
		sl_applier_set_source(&ag->applier, kube_config, kube_exclude, &ag->kube);
		ag->applier.delta = kube_delta;
		ag->applier.check_delta = o->check_delta;
		ag->applier.locality_fixed = o->has_locality;
	} else if (sl_watch_init(&ag->watch, o->config, err) < 0) {
		return -1;
	}
	ag->applier.resetter = &ag->reset;
	sl_flowlog_publish(&ag->flows, true);
	if (o->flows_socket)
		sl_info("serving the flow log on %s", o->flows_socket);
	scan_pods(&ag->netns);
	t1 = sl_mono_ms();
	/* A restart at scale must be quick: say where its time went. */
	sl_info("datapath loaded in %lld ms, pinned state adopted in %lld ms",
		(long long)(t0 - started), (long long)(t1 - t0));
	/* The API's objects are applied once all are listed (kube_step). */
	if (!ag->kube_on) {
		sl_applier_run(&ag->applier, true);
		scan_pods(&ag->netns);	/* the policers of the limits just applied */
		sl_info("ready %lld ms after start (first apply in %lld ms)",
			(long long)(sl_mono_ms() - started), (long long)(sl_mono_ms() - t1));
	}
	/* Requests waiting since the listener was bound are answered by the
	 * loop, from here on. */
	if (sl_metrics_init(&ag->metrics, &ag->applier, &loader->maps, o->bpffs,
			    loader->cgroup_id, err) < 0)
		return -1;
	ag->metrics.kube = ag->kube_on ? &ag->kube : NULL;
	return 0;
}

static void stop(struct agent *ag)
{
	sl_http_stop(&ag->http);
	if (ag->flows.ring)
		sl_flowlog_publish(&ag->flows, false);
	sl_flowlog_free(&ag->flows);
	sl_applier_stop(&ag->applier);
	if (ag->watch.fd > 0)
		sl_watch_close(&ag->watch);
	if (ag->kube_on)
		sl_kube_free(&ag->kube);
	if (ag->events.rb)
		sl_events_close(&ag->events);
	sl_reset_free(&ag->reset);
	sl_netns_free(&ag->netns);
	sl_applier_free(&ag->applier);
}

int main(int argc, char **argv)
{
	struct sl_loader loader;
	struct agent ag;
	struct options o;
	struct sl_err err;
	int64_t started;
	int ret;

	memset(&o, 0, sizeof(o));
	started = sl_mono_ms();
	/* Large transient buffers (a list page's JSON, 100s of KB) in mmap
	 * of their own, given back when freed: glibc's default raises the
	 * threshold after the first free, and they then fragment the heap
	 * the kept objects live in (10 MB at 100,000 endpoints). */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if (sl_options_parse(argc, argv, &o) < 0)
		return 2;
	if (o.uninstall) {
		if (sl_uninstall(o.bpffs, &err) < 0) {
			sl_error("uninstall: %s", err.msg);
			return 1;
		}
		sl_info("uninstalled: %s removed, programs detached", o.bpffs);
		return 0;
	}
	memset(&ag, 0, sizeof(ag));
	ag.sfd = signal_fd();
	if (ag.sfd < 0) {
		sl_error("signalfd: %s", strerror(errno));
		return 1;
	}
	/* Checked first, like the listener: a kubeconfig that cannot be used
	 * fails the start before the datapath is touched. */
	if (o.kubernetes) {
		struct sl_kubeconfig kc;

		if (sl_kubeconfig_load(o.kubeconfig, NULL, &kc, &err) < 0) {
			sl_error("%s", err.msg);
			return 1;
		}
		sl_kubeconfig_free(&kc);
	}
	/* Bound first: a taken address fails the start before the datapath
	 * is touched. */
	if (o.metrics_addr && sl_http_start(&ag.http, o.metrics_addr, &ag.metrics, &err) < 0) {
		sl_error("%s", err.msg);
		return 1;
	}
	if (sl_loader_start(&loader, o.bpffs, o.cgroup, &o.limits, !o.no_redirect,
			    !o.no_telemetry, !o.no_flows, &err) < 0) {
		sl_error("%s", err.msg);
		sl_http_stop(&ag.http);
		return 1;
	}
	sl_info("datapath attached to %s, pinned under %s; same-node redirect %s", o.cgroup,
		o.bpffs, o.no_redirect ? "off" : "on");
	if (o.metrics_addr)
		sl_info("serving /metrics, /healthz and /readyz on http://%s", o.metrics_addr);
	if (o.has_locality) {
		char loc[SL_LOCALITY_LEN];

		sl_locality_format(&o.locality, loc, sizeof(loc));
		sl_info("node locality %s (DestinationRule localityLbSetting)", loc);
	}
	ret = start(&ag, &loader, &o, started, &err);
	if (ret < 0)
		sl_error("%s", err.msg);
	else
		ret = run_loop(&ag);
	stop(&ag);
	sl_loader_stop(&loader);
	close(ag.sfd);
	return ret < 0 ? 1 : 0;
}
