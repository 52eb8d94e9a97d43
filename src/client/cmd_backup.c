/*
 * cmd_backup.c - `coffer backup DIR`: an online backup taken by the daemon
 * on its own machine; `coffer backup verify DIR`: a backup checked here,
 * without a daemon; and the "backup" lines of `coffer status` (the
 * daemon's schedule).  docs/backup.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "coffer/backup.h"
#include "coffer/client.h"

/* ---- coffer backup verify DIR [--key DAEMON.pub] ------------------------ */

/*
 * The key the backup must be signed with: --key FILE, else the one this
 * client pinned for the daemon it talks to (-S / -H, known_hosts).  There
 * is no unpinned mode: a backup checked against the key it names itself
 * proves nothing about where it came from.
 */
static int
verify_pin(struct ctx *c, const char *keyfile, unsigned char pk[32],
    char *from, size_t fromsz)
{
	char ep[KH_ENDPOINT_MAX];
	int rc;

	if (keyfile != NULL) {
		errno = 0;
		rc = userkey_load_public(keyfile, pk);
		if (rc == COFFER_ERR_INVALID)
			return fail(c, COFFER_ERR_USAGE, "backup verify: --key "
			    "%s: not a coffer public key (one line "
			    "\"coffer-ed25519 BASE64\", like the vault's "
			    "daemon.pub)", keyfile);
		if (rc != COFFER_OK)
			return fail(c, rc, "backup verify: --key %s: %s",
			    keyfile, rc == COFFER_ERR_IO && errno ?
			    strerror(errno) : coffer_strerror(rc));
		snprintf(from, fromsz, "--key %s", keyfile);
		return COFFER_OK;
	}
	rc = c->hostport != NULL ? kh_endpoint_tcp(c->hostport, ep,
	    sizeof(ep)) : kh_endpoint_unix(c->socket_path, ep, sizeof(ep));
	if (rc != COFFER_OK)
		return fail(c, COFFER_ERR_USAGE, "backup verify: the daemon "
		    "address is not usable: %s", coffer_strerror(rc));
	rc = kh_lookup(c->known_hosts, ep, pk);
	if (rc == COFFER_ERR_NOT_FOUND)
		return fail(c, COFFER_ERR_USAGE, "backup verify: no key is "
		    "pinned for %s in %s: give --key DAEMON.pub (a copy of the "
		    "vault's daemon.pub), or -S/-H for the daemon you pinned",
		    ep, c->known_hosts);
	if (rc != COFFER_OK)
		return fail(c, rc, "backup verify: %s: the entry for %s cannot "
		    "be used: %s", c->known_hosts, ep, coffer_strerror(rc));
	snprintf(from, fromsz, "known_hosts entry for %s", ep);
	return COFFER_OK;
}

static int
verify_opts(struct ctx *c, int argc, char **argv, const char **keyfile)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	*keyfile = NULL;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (opt == 'h') {
			show_help("backup verify");
			return -1;
		}
		if (opt != 'K')
			return bad_option(c, "backup verify", argv, opt);
		*keyfile = optarg;
	}
	if (optind + 1 != argc)
		return fail(c, COFFER_ERR_USAGE, "backup verify: usage: coffer "
		    "backup verify DIR [--key DAEMON.pub]");
	return COFFER_OK;
}

static int
verify_json(const struct backup_info *bi, const char *dir, const char *fpr,
    const char *from)
{
	cbor_item_t *m = msg_new_map();
	int rc = COFFER_ERR_NOMEM;

	if (m == NULL)
		return rc;
	if (msg_put_str(m, "result", "ok") == COFFER_OK &&
	    msg_put_str(m, "backup", dir) == COFFER_OK &&
	    msg_put_str(m, "manifest", bi->id) == COFFER_OK &&
	    msg_put_str(m, "vault_key", fpr) == COFFER_OK &&
	    msg_put_str(m, "pinned_by", from) == COFFER_OK &&
	    msg_put_uint(m, "created", bi->m.created) == COFFER_OK &&
	    msg_put_uint(m, "files", bi->m.nfiles) == COFFER_OK &&
	    msg_put_uint(m, "audit_records", bi->audit_records) == COFFER_OK &&
	    msg_put_bool(m, "database_checked", bi->db_checked) == COFFER_OK)
		rc = print_json(m);
	cbor_decref(&m);
	return rc;
}

static void
verify_text(const struct backup_info *bi, const char *dir, const char *fpr,
    const char *from)
{
	char t[32];

	out_time((int64_t)bi->m.created, t, sizeof(t));
	printf("backup      %s\n", dir);
	printf("manifest    sha256:%s\n", bi->id);
	printf("vault key   %s (pinned: %s)\n", fpr, from);
	printf("created     %s\n", t);
	printf("files       %zu, sizes and SHA-256 as listed\n", bi->m.nfiles);
	printf("audit log   %" PRIu64 " records, all covered by the signed "
	    "checkpoint\n", bi->audit_records);
	printf("database    not opened: that needs the vault's recovery "
	    "material ('coffer-admin backup verify')\n");
	printf("result      OK\n");
}

/*
 * Everything backup_verify checks without the recovery material: the
 * manifest signed by the pinned key, every file's size and hash, nothing
 * missing or extra, the audit log up to its checkpoint.
 */
int
cmd_backup_verify(struct ctx *c, int argc, char **argv)
{
	struct coffer_errdetail d;
	struct backup_info bi;
	unsigned char pin[32];
	char from[KH_ENDPOINT_MAX + 64], fpr[USERKEY_FPR_TEXT];
	const char *keyfile, *dir;
	int rc;

	memset(&bi, 0, sizeof(bi));
	if ((rc = verify_opts(c, argc, argv, &keyfile)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	dir = argv[argc - 1];
	if ((rc = verify_pin(c, keyfile, pin, from, sizeof(from))) !=
	    COFFER_OK)
		return rc;
	memset(&d, 0, sizeof(d));
	rc = backup_verify(dir, pin, NULL, &bi, &d);
	if (rc == COFFER_ERR_NOMEM)
		return fail(c, rc, "backup verify: out of memory");
	if (rc != COFFER_OK) {
		/* 9 for another key than the pinned one, else 7: the
		 * backup is not good (coffer(1)) */
		if (!c->json)
			printf("result      FAULT\n");
		return fail(c, rc == COFFER_ERR_HOSTKEY ? rc :
		    COFFER_ERR_INVALID, "backup verify: %s/%s: %s", dir,
		    d.field[0] ? d.field : BACKUP_MANIFEST_FILE,
		    d.message[0] ? d.message : coffer_strerror(rc));
	}
	userkey_fingerprint(bi.m.vault_pk, fpr, sizeof(fpr));
	if (c->json)
		rc = verify_json(&bi, dir, fpr, from);
	else
		verify_text(&bi, dir, fpr, from);
	backup_info_free(&bi);
	return rc;
}

/* ---- the "backup" part of `coffer status` ------------------------------- */

static void
interval_text(uint64_t ms, char *buf, size_t bufsz)
{
	if (ms % 86400000u == 0)
		snprintf(buf, bufsz, "%" PRIu64 "d", ms / 86400000u);
	else if (ms % 3600000u == 0)
		snprintf(buf, bufsz, "%" PRIu64 "h", ms / 3600000u);
	else if (ms % 60000u == 0)
		snprintf(buf, bufsz, "%" PRIu64 "m", ms / 60000u);
	else if (ms % 1000u == 0)
		snprintf(buf, bufsz, "%" PRIu64 "s", ms / 1000u);
	else
		snprintf(buf, bufsz, "%" PRIu64 " ms", ms);
}

/* A text value of the map, sanitized for the terminal ("" if absent). */
static void
text_of(const cbor_item_t *m, const char *key, char *buf, size_t bufsz)
{
	char raw[1200];

	if (msg_get_str(m, key, raw, sizeof(raw)) != COFFER_OK)
		raw[0] = '\0';
	out_sanitize(raw, 0, buf, bufsz);
}

static void
time_of(const cbor_item_t *m, const char *key, char *buf, size_t bufsz,
    uint64_t *v)
{
	*v = 0;
	if (msg_get_uint(m, key, v) != COFFER_OK || *v > INT64_MAX)
		*v = 0;
	out_time((int64_t)*v, buf, bufsz);
}

/*
 * backup:        every 6h into DIR, keeping 7; 3 taken, 0 failed since start
 * backup ok:     TIME PATH manifest sha256:ID
 * backup failed: TIME REASON
 * backup next:   TIME
 */
void
print_backup_status(const cbor_item_t *status)
{
	const cbor_item_t *b = msg_get(status, "backup");
	char dir[1200], path[1200], err[600], id[80], every[32], t[32];
	uint64_t ms = 0, keep = 0, taken = 0, failed = 0, ok_at, fail_at, v;
	int on = 0, running = 0;

	if (b == NULL || !cbor_isa_map(b))
		return;
	if (msg_get_bool(b, "scheduled", &on) != COFFER_OK || !on) {
		printf("backup:        not scheduled (cofferd --backup-dir)\n");
		return;
	}
	text_of(b, "dir", dir, sizeof(dir));
	(void)msg_get_uint(b, "every_ms", &ms);
	(void)msg_get_uint(b, "keep", &keep);
	(void)msg_get_uint(b, "taken", &taken);
	(void)msg_get_uint(b, "failed", &failed);
	(void)msg_get_bool(b, "running", &running);
	interval_text(ms, every, sizeof(every));
	printf("backup:        every %s into %s, keeping %" PRIu64 "; %" PRIu64
	    " taken, %" PRIu64 " failed since start\n", every, dir, keep, taken,
	    failed);
	time_of(b, "last_ok", t, sizeof(t), &ok_at);
	if (ok_at != 0) {
		text_of(b, "last_ok_path", path, sizeof(path));
		text_of(b, "last_ok_manifest", id, sizeof(id));
		printf("backup ok:     %s %s manifest sha256:%s\n", t, path, id);
	}
	time_of(b, "last_fail", t, sizeof(t), &fail_at);
	if (fail_at != 0) {
		text_of(b, "last_error", err, sizeof(err));
		printf("backup failed: %s %s%s\n", t, err, ok_at > fail_at ?
		    " (succeeded since)" : "");
	}
	time_of(b, "next", t, sizeof(t), &v);
	printf("backup next:   %s%s\n", t, running ? " (one is running now)" :
	    "");
}

/* ---- coffer backup DIR -------------------------------------------------- */

/* An online backup on the daemon's machine (docs/backup.md). */
int
cmd_backup(struct ctx *c, int argc, char **argv)
{
	cbor_item_t *args = NULL, *res = NULL;
	char path[1024], id[65];
	uint64_t ms = 0;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return fail(c, COFFER_ERR_USAGE, "backup: usage: coffer backup "
		    "DIR (a new directory, absolute path on the daemon's "
		    "machine) or coffer backup verify DIR [--key DAEMON.pub]");
	if ((args = msg_new_map()) == NULL ||
	    msg_put_str(args, "path", argv[1]) != COFFER_OK) {
		if (args != NULL)
			cbor_decref(&args);
		return fail(c, COFFER_ERR_NOMEM, "backup: out of memory");
	}
	if ((rc = call(c, "backup.create", args, &res)) != COFFER_OK)
		return rc;
	if (c->json)
		rc = print_json(res);
	else if (msg_get_str(res, "path", path, sizeof(path)) != COFFER_OK ||
	    msg_get_str(res, "manifest", id, sizeof(id)) != COFFER_OK)
		rc = fail(c, COFFER_ERR_PROTO, "backup: malformed answer");
	else {
		(void)msg_get_uint(res, "ms", &ms);
		printf("backup written to %s on the daemon's machine\n"
		    "manifest sha256:%s\ntook %llu ms; check it with "
		    "'coffer backup verify %s' (files, signature, audit log) "
		    "or 'coffer-admin backup verify %s' (also the database)\n",
		    path, id, (unsigned long long)ms, path, path);
	}
	cbor_decref(&res);
	return rc;
}
