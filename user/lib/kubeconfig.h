/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Where the API server is and how to prove who we are: in a pod, the
 * service account's token and CA (KUBERNETES_SERVICE_HOST/PORT); else a
 * kubeconfig file's current context (server, certificate-authority[-data],
 * insecure-skip-tls-verify, token, tokenFile, client-certificate[-data],
 * client-key[-data]). exec and auth-provider plugins are refused by name.
 */
#ifndef SLUICE_KUBECONFIG_H
#define SLUICE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define SL_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct sl_kube_blob {
	char *data;		/* PEM bytes, NUL-terminated */
	size_t len;
};

struct sl_kubeconfig {
	char *server;		/* https://host:port, no trailing slash */
	char *ca_file;		/* NULL: ca_data or the system's */
	struct sl_kube_blob ca_data;
	bool insecure;		/* insecure-skip-tls-verify */
	char *token;		/* a static bearer token */
	char *token_file;	/* re-read: projected tokens rotate */
	char *cert_file, *key_file;
	struct sl_kube_blob cert_data, key_data;
	char *origin;		/* "in-cluster" or the kubeconfig path, for messages */
};

/* path NULL: in-cluster (sa_dir is SL_SA_DIR unless testing). */
int sl_kubeconfig_load(const char *path, const char *sa_dir, struct sl_kubeconfig *kc,
		       struct sl_err *err);
void sl_kubeconfig_free(struct sl_kubeconfig *kc);
/* The token to send now (read from token_file if set); NULL: none. The
 * caller frees it. */
char *sl_kubeconfig_token(const struct sl_kubeconfig *kc, struct sl_err *err);

#endif
