/*
 * h_backup.c - backup.create: an online backup of the vault taken by the
 * running daemon into a new directory on its machine, while it keeps
 * serving (docs/backup.md section 7).  Only the key_admin privilege.
 * backup_take is also the scheduled backups' path (schedule.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coffer/access.h"
#include "coffer/args.h"
#include "coffer/backup.h"
#include "coffer/handlers.h"
#include "coffer/log.h"
#include "coffer/msg.h"
#include "coffer/schedule.h"

#define PATH_ARG_MAX 1024

/* What the record written before the snapshot needs. */
struct pre_record {
	struct daemon_ctx *d;
	const struct request *who;
	const char *label;
	const char *path;
};

/*
 * The backup.create record that lands inside the backup, appended after
 * the database snapshot is fixed and before the log is copied; the
 * request's own record (dispatch.c), or the schedule's, follows it with
 * the outcome.
 */
static int
record_start(void *arg)
{
	const struct pre_record *p = arg;
	char reason[PATH_ARG_MAX + 64];

	snprintf(reason, sizeof(reason), "%sstarted: backup to %s", p->label,
	    p->path);
	return dispatch_audit_event(p->d, "backup.create", p->who, COFFER_OK,
	    reason);
}

int
backup_check_path(const char *path, const char *vault_dir,
    struct coffer_errdetail *d)
{
	char parent[PATH_MAX], realp[PATH_MAX], realv[PATH_MAX];
	const char *slash, *c;
	struct stat sb;
	size_t vl;

	if (path[0] != '/')
		return coffer_detail(d, COFFER_ERR_INVALID, "path", "must be "
		    "an absolute path on the daemon's machine");
	for (c = path; *c != '\0'; c++)
		if (c[0] == '/' && (c[1] == '/' || c[1] == '\0' ||
		    (c[1] == '.' && (c[2] == '/' || c[2] == '\0' ||
		    (c[2] == '.' && (c[3] == '/' || c[3] == '\0'))))))
			return coffer_detail(d, COFFER_ERR_INVALID, "path",
			    "no empty, '.' or '..' component and no "
			    "trailing '/'");
	slash = strrchr(path, '/');
	if (slash == path)
		return coffer_detail(d, COFFER_ERR_INVALID, "path", "not "
		    "directly under /");
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
	if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return coffer_detail(d, COFFER_ERR_NOT_FOUND, "path", "%s is "
		    "not an existing directory", parent);
	if (lstat(path, &sb) == 0)
		return coffer_detail(d, COFFER_ERR_CONFLICT, "path", "%s "
		    "already exists (a backup goes into a new directory)", path);
	if (errno != ENOENT)
		return coffer_detail(d, COFFER_ERR_IO, "path", "%s: %s", path,
		    strerror(errno));
	if (access(parent, W_OK | X_OK) != 0)
		return coffer_detail(d, COFFER_ERR_PERM, "path", "the daemon "
		    "cannot write to %s", parent);
	if (realpath(parent, realp) == NULL || realpath(vault_dir, realv) ==
	    NULL)
		return coffer_detail(d, COFFER_ERR_IO, "path", "cannot resolve "
		    "%s", parent);
	vl = strlen(realv);
	if (strncmp(realp, realv, vl) == 0 && (realp[vl] == '\0' ||
	    realp[vl] == '/'))
		return coffer_detail(d, COFFER_ERR_INVALID, "path", "not inside "
		    "the vault directory");
	return COFFER_OK;
}

static int
backup_result(const char *path, const char *id, uint64_t ms,
    cbor_item_t **result)
{
	cbor_item_t *res = msg_new_map();

	if (res == NULL)
		return COFFER_ERR_NOMEM;
	if (msg_put_str(res, "path", path) != COFFER_OK ||
	    msg_put_str(res, "manifest", id) != COFFER_OK ||
	    msg_put_uint(res, "ms", ms) != COFFER_OK) {
		cbor_decref(&res);
		return COFFER_ERR_NOMEM;
	}
	*result = res;
	return COFFER_OK;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Serialised: a request thread holds the policy read lock for its whole
 * dispatch, and the schedule thread takes that lock (for each audit
 * record) while it holds backup_lock.  A request waiting here for
 * backup_lock while a SIGHUP reload waits for the write lock would close
 * the circle, so only the schedule waits; a request is told to retry.
 */
static int
backup_lock(struct daemon_ctx *d, int wait, struct coffer_errdetail *det)
{
	if (wait) {
		pthread_mutex_lock(&d->backup_lock);
		return COFFER_OK;
	}
	if (pthread_mutex_trylock(&d->backup_lock) == 0)
		return COFFER_OK;
	return coffer_detail(det, COFFER_ERR_BUSY, "", "another backup (the "
	    "daemon's scheduled one) is in progress; try again when it is "
	    "done");
}

int
backup_take(struct daemon_ctx *d, struct store *st,
    const struct request *who, const char *label, const char *path,
    int wait, char id[65], struct coffer_errdetail *det)
{
	struct backup_online o;
	struct pre_record pre;
	int rc;

	if (d->keys.backup_key == NULL || d->keys.vault_dir == NULL)
		return coffer_detail(det, COFFER_ERR_INTERNAL, "", "this daemon "
		    "has no backup key");
	if ((rc = backup_lock(d, wait, det)) != COFFER_OK)
		return rc;
	/* checked under the lock: the other backup may have made path */
	if ((rc = backup_check_path(path, d->keys.vault_dir, det)) !=
	    COFFER_OK)
		goto out;
	pre.d = d;
	pre.who = who;
	pre.label = label;
	pre.path = path;
	memset(&o, 0, sizeof(o));
	o.vault_dir = d->keys.vault_dir;
	o.st = st;
	o.backup_key = d->keys.backup_key;
	o.identity_pk = d->keys.identity_pk;
	o.sign = d->keys.sign;
	o.sign_arg = d->keys.sign_arg;
	o.audit = d->audit;
	o.before_audit = record_start;
	o.before_arg = &pre;
	id[0] = '\0';
	rc = backup_create_online(&o, path, id, det);
out:
	pthread_mutex_unlock(&d->backup_lock);
	return rc;
}

int
handle_backup_create(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct access_decision dec;
	char path[PATH_ARG_MAX], id[65];
	uint64_t t0 = now_ms();
	int rc;

	if (access_decide(r->policy, &r->subject, ACT_BACKUP, NULL, &dec) !=
	    COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "", "%s",
		    dec.pd.reason);
	if ((rc = args_text(args, "path", path, sizeof(path), 1, d)) !=
	    COFFER_OK)
		return rc;
	if ((rc = backup_take(r->d, r->st, r, "", path, 0, id, d)) !=
	    COFFER_OK) {
		log_warn("backup to %s failed: %s", path, d->message[0] ?
		    d->message : coffer_strerror(rc));
		return rc;
	}
	snprintf(r->audit_reason, sizeof(r->audit_reason), "backup to %.60s, "
	    "manifest sha256:%s", path, id);
	log_info("backup to %s by %s: manifest sha256:%s", path, r->user, id);
	return backup_result(path, id, now_ms() - t0, result);
}
