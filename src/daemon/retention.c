/*
 * retention.c - erases tombstones whose retention period has ended
 * (docs/requests.md §6).  A sweeping thread with its own database
 * connection; every erasure is audited before it is committed.  The same
 * thread refreshes the query planner's statistics every hour.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffer/audit.h"
#include "coffer/log.h"
#include "coffer/policy.h"
#include "coffer/reqstore.h"
#include "coffer/retention.h"
#include "coffer/schema.h"
#include "coffer/store.h"

/* SQLite's advice for long-lived connections: optimize hourly or daily. */
#define STATISTICS_EVERY_S 3600

struct retention {
	struct daemon_ctx *d;
	unsigned every_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;          /* under lock */
	int running;       /* the thread was started */
};

/* "365d", "90s": the period as the policy would write it. */
static void
period_text(int64_t s, char *buf, size_t bufsz)
{
	if (s % 86400 == 0)
		snprintf(buf, bufsz, "%lldd", (long long)(s / 86400));
	else if (s % 3600 == 0)
		snprintf(buf, bufsz, "%lldh", (long long)(s / 3600));
	else if (s % 60 == 0)
		snprintf(buf, bufsz, "%lldm", (long long)(s / 60));
	else
		snprintf(buf, bufsz, "%llds", (long long)s);
}

/* "a,b,c" */
static void
join_names(const char *const *names, size_t n, char *buf, size_t bufsz)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < n && off < bufsz; i++)
		off += (size_t)snprintf(buf + off, bufsz - off, "%s%s",
		    i ? "," : "", names[i]);
}

static int
audit_erase(struct daemon_ctx *d, const struct policy *p,
    const struct kind_def *k, int64_t id, int status, const char *reason)
{
	struct audit_event e;

	memset(&e, 0, sizeof(e));
	e.op = "record.erase";
	e.kind = k->name;
	e.target_id = id;
	e.decision = status == COFFER_OK ? AUDIT_ALLOWED : AUDIT_ERROR;
	e.reason = reason;
	e.status = status;
	e.policy_hash = policy_hash(p);
	return audit_append(d->audit, &e, NULL);
}

/*
 * Erase one tombstone at version in its own transaction: the values, the
 * change sets of its history and closed requests, then the audit record,
 * then the commit.  COFFER_ERR_CONFLICT: it changed meanwhile (skipped).
 */
static int
erase_one(struct daemon_ctx *d, struct store *st, const struct policy *p,
    const struct kind_def *k, int64_t id, int64_t version, int64_t keep)
{
	const char *names[POLICY_MAX_FIELDS];
	char fields[400], period[24], reason[600];
	size_t nf = schema_erasable_fields(k, names, POLICY_MAX_FIELDS);
	size_t nh = 0, nr = 0;
	int rc;

	join_names(names, nf, fields, sizeof(fields));
	period_text(keep, period, sizeof(period));
	pthread_mutex_lock(&d->write_lock);
	if ((rc = store_begin(st)) != COFFER_OK)
		goto unlock;
	if ((rc = store_record_erase(st, k, id, version, names, nf)) !=
	    COFFER_OK ||
	    (rc = store_purge_erase(st, k->name, id, &nh, &nr)) != COFFER_OK) {
		store_rollback(st);
		goto unlock;
	}
	snprintf(reason, sizeof(reason), "retention of %s after deletion "
	    "ended: %s %lld erased (%s); %zu history and %zu request change "
	    "sets", period, k->name, (long long)id, nf ? fields : "no fields",
	    nh, nr);
	if ((rc = audit_erase(d, p, k, id, COFFER_OK, reason)) != COFFER_OK) {
		store_rollback(st);
		rc = COFFER_ERR_AUDIT;
		goto unlock;
	}
	if ((rc = store_commit(st)) != COFFER_OK) {
		store_rollback(st);
		snprintf(reason, sizeof(reason), "erasing %s %lld at the end of "
		    "its retention failed at commit and was rolled back: %s",
		    k->name, (long long)id, coffer_strerror(rc));
		(void)audit_erase(d, p, k, id, rc, reason);
	}
unlock:
	pthread_mutex_unlock(&d->write_lock);
	return rc;
}

/*
 * Close the pending requests whose expiry has passed, as the request
 * operations do lazily (h_requests.c), so that a quiet vault closes them
 * on time too and their tombstones can be erased: one transaction, each
 * with its request.expire record (no actor: the daemon), committed only
 * after the records are durable.
 */
static int
expire_requests(struct daemon_ctx *d, struct store *st,
    const struct policy *p, int64_t now)
{
	struct store_request q;
	struct audit_event e;
	int64_t ids[RETENTION_BATCH];
	char reason[64];
	size_t i, n = 0;
	int rc;

	/* every writer holds write_lock: what is due cannot change under us */
	pthread_mutex_lock(&d->write_lock);
	if ((rc = store_request_due(st, now, ids, RETENTION_BATCH, &n)) !=
	    COFFER_OK || n == 0 || (rc = store_begin(st)) != COFFER_OK)
		goto unlock;
	for (i = 0; i < n; i++) {
		if ((rc = store_request_get(st, ids[i], &q)) != COFFER_OK)
			goto rollback;
		rc = store_request_set_state(st, q.id, "pending", "expired", 0,
		    now);
		if (rc == COFFER_OK) {
			snprintf(reason, sizeof(reason), "request %lld expired "
			    "unapproved", (long long)q.id);
			memset(&e, 0, sizeof(e));
			e.op = "request.expire";
			e.kind = q.kind;
			e.target_id = q.record_id;
			e.decision = AUDIT_DENIED;
			e.reason = reason;
			e.status = COFFER_OK;
			e.policy_hash = policy_hash(p);
			if (audit_append(d->audit, &e, NULL) != COFFER_OK)
				rc = COFFER_ERR_AUDIT;
		}
		store_request_clear(&q);
		if (rc != COFFER_OK)
			goto rollback;
	}
	if ((rc = store_commit(st)) == COFFER_OK)
		goto unlock;
rollback:
	store_rollback(st);
unlock:
	pthread_mutex_unlock(&d->write_lock);
	return rc;
}

int
retention_sweep(struct daemon_ctx *d, struct store *st, int64_t now,
    size_t *erased)
{
	const struct kind_def *kinds;
	int64_t ids[RETENTION_BATCH], versions[RETENTION_BATCH], keep;
	size_t nk, ki, i, n, count = 0;
	int rc = COFFER_OK;

	kinds = schema_kinds(&nk);
	/* the policy in force, held still for the whole sweep */
	pthread_rwlock_rdlock(&d->policy_lock);
	if (d->policy != NULL)
		rc = expire_requests(d, st, d->policy, now);
	for (ki = 0; ki < nk && rc == COFFER_OK && d->policy != NULL; ki++) {
		if ((keep = policy_retention(d->policy, &kinds[ki])) <= 0)
			continue;
		rc = store_tombstones_due(st, &kinds[ki], now - keep, ids,
		    versions, RETENTION_BATCH, &n);
		for (i = 0; rc == COFFER_OK && i < n; i++) {
			rc = erase_one(d, st, d->policy, &kinds[ki], ids[i],
			    versions[i], keep);
			if (rc == COFFER_OK)
				count++;
			else if (rc == COFFER_ERR_CONFLICT)
				rc = COFFER_OK;   /* changed meanwhile: next sweep */
		}
	}
	pthread_rwlock_unlock(&d->policy_lock);
	if (erased != NULL)
		*erased = count;
	return rc;
}

/* Statistics that went stale since the start (store_optimize), refreshed
 * under the write mutex: optimize writes, and every writer holds it. */
static void
refresh_statistics(struct daemon_ctx *d, struct store *st, time_t *last)
{
	time_t now = time(NULL);
	int rc;

	if (now - *last < STATISTICS_EVERY_S && now >= *last)
		return;
	*last = now;
	pthread_mutex_lock(&d->write_lock);
	rc = store_optimize(st);
	pthread_mutex_unlock(&d->write_lock);
	if (rc != COFFER_OK)
		log_warn("retention: database statistics not refreshed: %s",
		    coffer_strerror(rc));
}

static void *
sweeper(void *arg)
{
	struct retention *r = arg;
	struct store *st = NULL;
	struct timespec until;
	time_t stats_at = time(NULL);	/* gathered at start (cofferd.c) */
	size_t n = 0;
	int rc;

	rc = store_open(r->d->keys.db_path, r->d->keys.db_key, 0, &st);
	if (rc != COFFER_OK) {
		log_err("retention: cannot open the database: %s; tombstones "
		    "will not be erased until restart", coffer_strerror(rc));
		return NULL;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		pthread_mutex_unlock(&r->lock);
		rc = retention_sweep(r->d, st, (int64_t)time(NULL), &n);
		if (rc != COFFER_OK)
			log_err("retention: sweep stopped: %s (erased %zu); "
			    "retrying in %u s", coffer_strerror(rc), n,
			    r->every_s);
		else if (n > 0)
			log_info("retention: erased %zu tombstone%s whose "
			    "retention ended", n, n == 1 ? "" : "s");
		refresh_statistics(r->d, st, &stats_at);
		pthread_mutex_lock(&r->lock);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += r->every_s;
		while (!r->stop && pthread_cond_timedwait(&r->wake, &r->lock,
		    &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&r->lock);
	store_close(st);
	return NULL;
}

int
retention_start(struct daemon_ctx *d, unsigned every_s,
    struct retention **out)
{
	struct retention *r = NULL;
	pthread_condattr_t ca;
	int rc = COFFER_ERR_NOMEM;

	*out = NULL;
	if (every_s == 0 || every_s > RETENTION_EVERY_MAX)
		return COFFER_ERR_INVALID;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return COFFER_ERR_NOMEM;
	r->d = d;
	r->every_s = every_s;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&r->thread, NULL, sweeper, r) != 0) {
		rc = COFFER_ERR_INTERNAL;
		goto fail;
	}
	r->running = 1;
	*out = r;
	return COFFER_OK;
fail:
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return rc;
}

void
retention_stop(struct retention *r)
{
	if (r == NULL)
		return;
	if (r->running) {
		pthread_mutex_lock(&r->lock);
		r->stop = 1;
		pthread_cond_signal(&r->wake);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
	}
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
