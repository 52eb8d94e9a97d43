/*
 * schedule.c - scheduled backups: a thread that takes an online backup
 * every interval into DIR/coffer-ID-TIMESTAMP (backup_take, the path of
 * backup.create), audits the outcome, prunes its own old backups and keeps
 * what `coffer status` reports.  docs/backup.md section 8.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffer/backup.h"
#include "coffer/keys.h"
#include "coffer/log.h"
#include "coffer/schedule.h"

#define SCHEDULE_PREFIX "coffer-"
#define PRUNE_MAX 100000   /* entries of DIR looked at */

struct backup_schedule {
	struct daemon_ctx *d;
	char dir[SCHEDULE_DIR_MAX + 1];
	uint64_t every_ms;
	unsigned keep;
	char id[SCHEDULE_ID_LEN + 1];
	pthread_t thread;
	pthread_mutex_t mu;          /* guards everything below */
	pthread_cond_t cv;           /* schedule_stop wakes the thread */
	int stop;
	uint64_t due_mono;           /* next backup, CLOCK_MONOTONIC ms */
	struct schedule_status st;   /* what status reports (next: unset) */
};

/* --- pure parts: interval, names ------------------------------------- */

static uint64_t
unit_ms(const char *u)
{
	if (u[0] == '\0' || strcmp(u, "h") == 0)
		return 3600000ull;
	if (strcmp(u, "s") == 0)
		return 1000ull;
	if (strcmp(u, "m") == 0)
		return 60000ull;
	if (strcmp(u, "d") == 0)
		return 86400000ull;
	return 0;
}

/*
 * Digits with at most one '.', then the unit.  Parsed by hand rather than
 * with strtod, which would also take "inf", "1e3", hex and spaces.
 */
int
schedule_parse_interval(const char *s, uint64_t *ms)
{
	uint64_t whole = 0, frac = 0, scale = 1, unit, v;
	const char *p = s;
	int digits = 0, fdigits = 0;

	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (whole > SCHEDULE_EVERY_MAX_MS)
			return COFFER_ERR_INVALID;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, fdigits++)
			if (fdigits < 9) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
	if (digits + fdigits == 0 || (unit = unit_ms(p)) == 0 ||
	    whole > SCHEDULE_EVERY_MAX_MS)
		return COFFER_ERR_INVALID;
	/* frac/scale < 1 and unit <= 8.64e7: frac * unit fits in 64 bits */
	v = whole * unit + (frac * unit + scale / 2) / scale;
	if (v < SCHEDULE_EVERY_MIN_MS || v > SCHEDULE_EVERY_MAX_MS)
		return COFFER_ERR_INVALID;
	*ms = v;
	return COFFER_OK;
}

void
schedule_vault_id(const unsigned char identity_pk[32],
    char out[SCHEDULE_ID_LEN + 1])
{
	char fpr[USERKEY_FPR_TEXT];
	size_t i;

	userkey_fingerprint(identity_pk, fpr, sizeof(fpr));
	/* "SHA256:" + base64; keep the start, file-name safe */
	for (i = 0; i < SCHEDULE_ID_LEN; i++) {
		char c = fpr[7 + i];

		out[i] = c == '+' ? '-' : c == '/' ? '_' : c;
	}
	out[SCHEDULE_ID_LEN] = '\0';
}

void
schedule_backup_name(const char *id, time_t sec, unsigned ms,
    char out[SCHEDULE_NAME_LEN + 1])
{
	char stamp[32] = "";
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	snprintf(out, SCHEDULE_NAME_LEN + 1, SCHEDULE_PREFIX "%.16s-%.15s.%03uZ",
	    id, stamp, ms % 1000);
}

int
schedule_name_is_ours(const char *id, const char *name)
{
	/* after the id: "-" then this shape; 'd' a digit */
	static const char shape[] = "-ddddddddTdddddd.dddZ";
	const char *t;
	size_t i;

	if (strlen(name) != SCHEDULE_NAME_LEN ||
	    strncmp(name, SCHEDULE_PREFIX, 7) != 0 ||
	    strncmp(name + 7, id, SCHEDULE_ID_LEN) != 0)
		return 0;
	t = name + 7 + SCHEDULE_ID_LEN;
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? !(t[i] >= '0' && t[i] <= '9') :
		    t[i] != shape[i])
			return 0;
	return 1;
}

/* --- pruning --------------------------------------------------------- */

/* The MANIFEST of path: a regular file, parsed, signed by pk. */
static int
manifest_ok(const char *path, const unsigned char pk[32], char id[65])
{
	struct backup_manifest m;
	char mp[SCHEDULE_PATH_MAX + 16], *buf = NULL;
	struct stat sb;
	ssize_t n;
	size_t got = 0;
	int fd, rc = COFFER_ERR_PROTO;

	memset(&m, 0, sizeof(m));
	snprintf(mp, sizeof(mp), "%s/" BACKUP_MANIFEST_FILE, path);
	if ((fd = open(mp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return COFFER_ERR_NOT_FOUND;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > BACKUP_MANIFEST_MAX ||
	    (buf = malloc((size_t)sb.st_size + 1)) == NULL)
		goto out;
	while (got < (size_t)sb.st_size &&
	    (n = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)n;
	if (got != (size_t)sb.st_size)
		goto out;
	if ((rc = backup_manifest_parse(buf, got, pk, &m, NULL)) ==
	    COFFER_OK)
		backup_manifest_id(buf, got, id);
	backup_manifest_free(&m);
out:
	free(buf);
	close(fd);
	return rc;
}

/* path and path/audit are directories, not symlinks (backup_remove_dir
 * would follow a symlinked audit). */
static int
real_dirs(const char *path)
{
	char sub[SCHEDULE_PATH_MAX + 8];
	struct stat sb;

	if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return 0;
	snprintf(sub, sizeof(sub), "%s/audit", path);
	return lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir that look like our backups, sorted (oldest first). */
static int
list_ours(const char *dir, const char *id, char ***out, size_t *n)
{
	char **v = NULL, **nv;
	struct dirent *e;
	size_t cap = 0, seen = 0;
	DIR *dp;
	int rc = COFFER_OK;

	*out = NULL;
	*n = 0;
	if ((dp = opendir(dir)) == NULL)
		return COFFER_ERR_IO;
	while ((e = readdir(dp)) != NULL && ++seen < PRUNE_MAX) {
		if (!schedule_name_is_ours(id, e->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = COFFER_ERR_NOMEM;
				break;
			}
			v = nv;
		}
		if ((v[*n] = strdup(e->d_name)) == NULL) {
			rc = COFFER_ERR_NOMEM;
			break;
		}
		(*n)++;
	}
	closedir(dp);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_name);
	*out = v;
	return rc;
}

static void
free_names(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
schedule_prune(const char *dir, const char *id, const unsigned char pk[32],
    unsigned keep, schedule_prune_fn before, void *arg, unsigned *removed)
{
	char path[SCHEDULE_PATH_MAX], mid[65];
	char **names = NULL;
	size_t n = 0, i, valid = 0, drop;
	unsigned char *ok = NULL;
	int rc;

	if (removed != NULL)
		*removed = 0;
	if (strlen(dir) > SCHEDULE_DIR_MAX)
		return COFFER_ERR_INVALID; /* so every path below fits */
	if ((rc = list_ours(dir, id, &names, &n)) != COFFER_OK || n == 0)
		goto out;
	if ((ok = calloc(n, 1)) == NULL) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		ok[i] = real_dirs(path) && manifest_ok(path, pk, mid) ==
		    COFFER_OK;
		valid += ok[i];
	}
	drop = valid > keep ? valid - keep : 0;
	for (i = 0; i < n && drop > 0; i++) {
		if (!ok[i])
			continue;
		drop--;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		/* re-read: the id recorded is the one removed */
		if (manifest_ok(path, pk, mid) != COFFER_OK ||
		    (before != NULL && before(arg, path, mid) != COFFER_OK))
			continue;
		backup_remove_dir(path);
		if (removed != NULL)
			(*removed)++;
	}
out:
	free(ok);
	free_names(names, n);
	return rc;
}

/* --- the thread ------------------------------------------------------ */

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The actor of the schedule's records: the daemon itself (no user id,
 * key fingerprint or session). */
static void
daemon_actor(struct daemon_ctx *d, struct request *who)
{
	memset(who, 0, sizeof(*who));
	who->d = d;
	who->user = "cofferd";
	who->peer = "schedule";
}

static int
record_prune(void *arg, const char *path, const char *mid)
{
	struct backup_schedule *s = arg;
	struct request who;
	char reason[SCHEDULE_PATH_MAX + 128];
	int rc;

	daemon_actor(s->d, &who);
	snprintf(reason, sizeof(reason), "scheduled backup %s removed (keep "
	    "%u), manifest sha256:%s", path, s->keep, mid);
	rc = dispatch_audit_event(s->d, "backup.prune", &who, COFFER_OK,
	    reason);
	if (rc != COFFER_OK)
		log_err("scheduled backup %s kept: its removal cannot be "
		    "recorded in the audit log", path);
	else
		log_info("scheduled backup %s removed (keep %u)", path,
		    s->keep);
	return rc;
}

/* The outcome record and log line; the status fields under s->mu. */
static void
report(struct backup_schedule *s, const char *path, int rc,
    const char *id, const struct coffer_errdetail *det)
{
	struct request who;
	char reason[SCHEDULE_PATH_MAX + 256], why[224];
	time_t now = time(NULL);

	daemon_actor(s->d, &who);
	snprintf(why, sizeof(why), "%s%s%s", coffer_errname(rc),
	    det->message[0] ? ": " : "", det->message);
	if (rc == COFFER_OK) {
		snprintf(reason, sizeof(reason), "scheduled backup to %s, "
		    "manifest sha256:%s", path, id);
		log_info("scheduled backup to %s: manifest sha256:%s", path, id);
	} else {
		snprintf(reason, sizeof(reason), "scheduled backup to %s "
		    "failed: %s", path, why);
		log_err("scheduled backup to %s failed: %s; next try in one "
		    "interval", path, why);
	}
	if (dispatch_audit_event(s->d, "backup.create", &who, rc, reason) !=
	    COFFER_OK)
		log_err("scheduled backup to %s: the outcome cannot be "
		    "recorded in the audit log", path);
	pthread_mutex_lock(&s->mu);
	if (rc == COFFER_OK) {
		s->st.taken++;
		s->st.last_ok = now;
		snprintf(s->st.last_ok_path, sizeof(s->st.last_ok_path), "%s",
		    path);
		snprintf(s->st.last_ok_manifest,
		    sizeof(s->st.last_ok_manifest), "%s", id);
	} else {
		s->st.failed++;
		s->st.last_fail = now;
		snprintf(s->st.last_error, sizeof(s->st.last_error), "%s", why);
	}
	pthread_mutex_unlock(&s->mu);
}

/* One scheduled backup on a connection of its own, then the pruning. */
static void
run_once(struct backup_schedule *s)
{
	struct coffer_errdetail det = { "", "" };
	struct store *st = NULL;
	struct request who;
	struct timespec ts;
	char name[SCHEDULE_NAME_LEN + 1], path[SCHEDULE_PATH_MAX];
	char id[65] = "";
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	schedule_backup_name(s->id, ts.tv_sec, (unsigned)(ts.tv_nsec /
	    1000000), name);
	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	daemon_actor(s->d, &who);
	rc = store_open(s->d->keys.db_path, s->d->keys.db_key, 0, &st);
	if (rc != COFFER_OK)
		coffer_detail(&det, rc, "", "cannot open the database");
	else
		rc = backup_take(s->d, st, &who, "scheduled, ", path, 1, id,
		    &det);
	store_close(st);
	report(s, path, rc, id, &det);
	if (rc == COFFER_OK && schedule_prune(s->dir, s->id,
	    s->d->keys.identity_pk, s->keep, record_prune, s, NULL) !=
	    COFFER_OK)
		log_warn("scheduled backups in %s: cannot prune old ones",
		    s->dir);
}

/* The next slot after due that is still ahead of now: a backup that
 * overran its interval does not cause a burst of catch-up backups. */
static uint64_t
next_due(uint64_t due, uint64_t every, uint64_t now)
{
	due += every;
	if (due <= now)
		due = now + every;
	return due;
}

static void
wait_until(struct backup_schedule *s, uint64_t due)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(due / 1000);
	ts.tv_nsec = (long)(due % 1000) * 1000000L;
	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

static void *
schedule_main(void *arg)
{
	struct backup_schedule *s = arg;
	uint64_t now;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		now = mono_ms();
		if (now < s->due_mono) {
			wait_until(s, s->due_mono);
			continue;
		}
		s->st.running = 1;
		pthread_mutex_unlock(&s->mu);
		run_once(s);
		pthread_mutex_lock(&s->mu);
		s->st.running = 0;
		s->due_mono = next_due(s->due_mono, s->every_ms, mono_ms());
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int
schedule_start(struct daemon_ctx *d, const struct schedule_config *c,
    struct backup_schedule **out)
{
	struct backup_schedule *s;
	pthread_condattr_t ca;

	if (c->dir == NULL || strlen(c->dir) > SCHEDULE_DIR_MAX ||
	    c->every_ms < SCHEDULE_EVERY_MIN_MS ||
	    c->every_ms > SCHEDULE_EVERY_MAX_MS || c->keep == 0 ||
	    c->keep > SCHEDULE_KEEP_MAX)
		return COFFER_ERR_INVALID;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return COFFER_ERR_NOMEM;
	s->d = d;
	snprintf(s->dir, sizeof(s->dir), "%s", c->dir);
	s->every_ms = c->every_ms;
	s->keep = c->keep;
	schedule_vault_id(d->keys.identity_pk, s->id);
	s->st.enabled = 1;
	snprintf(s->st.dir, sizeof(s->st.dir), "%s", c->dir);
	s->st.every_ms = c->every_ms;
	s->st.keep = c->keep;
	s->due_mono = mono_ms() + c->every_ms;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&s->thread, NULL, schedule_main, s) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return COFFER_ERR_INTERNAL;
	}
	*out = s;
	return COFFER_OK;
}

void
schedule_stop(struct backup_schedule *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void
schedule_get_status(struct backup_schedule *s, struct schedule_status *st)
{
	uint64_t now;

	memset(st, 0, sizeof(*st));
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	now = mono_ms();
	st->next = time(NULL) + (s->due_mono > now ?
	    (time_t)((s->due_mono - now + 999) / 1000) : 0);
	pthread_mutex_unlock(&s->mu);
}
