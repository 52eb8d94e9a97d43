/*
 * schedule.h - backups the daemon takes on its own every interval
 * (cofferd --backup-dir/--backup-every/--backup-keep), with the same code
 * path as the backup.create operation, old ones pruned, and the outcome
 * reported by `coffer status`.  Behaviour: docs/backup.md section 8.
 */
#ifndef COFFER_SCHEDULE_H
#define COFFER_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "coffer/daemon.h"
#include "coffer/err.h"

#define SCHEDULE_EVERY_MIN_MS 1000ull                   /* 1 s */
#define SCHEDULE_EVERY_MAX_MS (366ull * 86400 * 1000)   /* 366 days */
#define SCHEDULE_KEEP_MAX 10000
#define SCHEDULE_DIR_MAX 900          /* bytes of --backup-dir */
#define SCHEDULE_ID_LEN 16            /* vault id in a backup's name */
/* "coffer-" ID "-" YYYYMMDD "T" HHMMSS "." mmm "Z" */
#define SCHEDULE_NAME_LEN (7 + SCHEDULE_ID_LEN + 1 + 20)
#define SCHEDULE_PATH_MAX 1024        /* dir + "/" + name + NUL fits */

struct schedule_config {
	const char *dir;      /* absolute, an existing directory; borrowed */
	uint64_t every_ms;    /* SCHEDULE_EVERY_MIN_MS..MAX */
	unsigned keep;        /* 1..SCHEDULE_KEEP_MAX */
};

/*
 * An interval: a decimal number (fractions allowed, "0.001") with an
 * optional unit s, m, h or d; no unit means hours.  *ms gets it in
 * milliseconds, rounded to the nearest; COFFER_ERR_INVALID for anything
 * else or outside SCHEDULE_EVERY_MIN_MS..SCHEDULE_EVERY_MAX_MS.
 */
int schedule_parse_interval(const char *s, uint64_t *ms);

/*
 * The vault id used in backup names: the first SCHEDULE_ID_LEN base64
 * characters of the identity key's fingerprint, '+' as '-' and '/' as
 * '_' (out gets SCHEDULE_ID_LEN + 1 bytes).
 */
void schedule_vault_id(const unsigned char identity_pk[32],
    char out[SCHEDULE_ID_LEN + 1]);

/*
 * The name of a scheduled backup taken at Unix time sec + ms/1000:
 * "coffer-ID-20261128T053021.123Z" (UTC), so names sort by time.
 * out gets SCHEDULE_NAME_LEN + 1 bytes.
 */
void schedule_backup_name(const char *id, time_t sec, unsigned ms,
    char out[SCHEDULE_NAME_LEN + 1]);

/* 1 if name has exactly the form schedule_backup_name gives for id. */
int schedule_name_is_ours(const char *id, const char *name);

/*
 * What the prune callback is told before a backup is removed; a status
 * other than COFFER_OK keeps the backup (e.g. the removal could not be
 * recorded in the audit log).
 */
typedef int (*schedule_prune_fn)(void *arg, const char *path,
    const char *manifest_id);

/*
 * Remove the oldest scheduled backups in dir beyond the newest keep.  Only
 * entries named as schedule_name_is_ours(id) that are real directories
 * (no symlink), with a real "audit" subdirectory and a MANIFEST that
 * parses and is signed by pk count; anything else in dir is never
 * touched.  before(arg, ...) runs before each removal.  *removed (may be
 * NULL) gets how many were removed.
 */
int schedule_prune(const char *dir, const char *id,
    const unsigned char pk[32], unsigned keep, schedule_prune_fn before,
    void *arg, unsigned *removed);

/* What `coffer status` reports ("backup" in the status reply). */
struct schedule_status {
	int enabled;              /* 0: no schedule; nothing else is set */
	char dir[SCHEDULE_DIR_MAX + 1];
	uint64_t every_ms;
	unsigned keep;
	int running;              /* a scheduled backup is being taken */
	time_t next;              /* when the next one is due (Unix time) */
	uint64_t taken, failed;   /* since start */
	time_t last_ok;           /* 0: none yet */
	char last_ok_path[SCHEDULE_PATH_MAX];
	char last_ok_manifest[65];
	time_t last_fail;         /* 0: none yet */
	char last_error[256];     /* why the last failure failed */
};

struct backup_schedule;

/*
 * Start the schedule thread for d: the first backup is due one interval
 * from now.  d must outlive schedule_stop.  c->dir is copied.
 */
int schedule_start(struct daemon_ctx *d, const struct schedule_config *c,
    struct backup_schedule **out);

/* Wait for a backup in progress, stop the thread, free.  NULL is allowed. */
void schedule_stop(struct backup_schedule *s);

/* A consistent copy of the schedule's state; s NULL: enabled 0. */
void schedule_get_status(struct backup_schedule *s,
    struct schedule_status *st);

/*
 * The one online backup path (h_backup.c), for backup.create and the
 * schedule.  who is the actor of the "started" record that lands inside
 * the backup; label is put before "started: backup to PATH" in it ("" or
 * "scheduled, ").  Backups are serialised on d->backup_lock: wait 1
 * waits for one in progress, wait 0 returns COFFER_ERR_BUSY at once
 * (a request thread holds the policy read lock and must not wait: see
 * h_backup.c).  path is checked by backup_check_path first.
 */
int backup_take(struct daemon_ctx *d, struct store *st,
    const struct request *who, const char *label, const char *path,
    int wait, char id[65], struct coffer_errdetail *detail);

/*
 * An absolute path of a directory to be made: no "." or ".." component,
 * no trailing '/', its parent an existing directory the daemon may write
 * to, the path itself not there yet and not inside the vault directory.
 */
int backup_check_path(const char *path, const char *vault_dir,
    struct coffer_errdetail *detail);

#endif
