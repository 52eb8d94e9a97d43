/*
 * limits.c - the policy's volume limits, counted per user over a sliding
 * hour: sixty one-minute buckets per limit, so memory per user is fixed
 * (about 1 KiB) whatever the limit, and the table holds a bounded number
 * of users.  One mutex; each call is a few dozen additions.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/daemon.h"
#include "coffer/policy.h"

#define BUCKETS 60            /* minutes in the window */

struct counter {
	int64_t user;             /* 0: free slot */
	int64_t minute[BUCKETS];  /* which minute bucket i counts */
	uint32_t count[POLICY_LIMIT_COUNT_][BUCKETS];
	int64_t last;             /* minute of the last event */
};

struct limits {
	pthread_mutex_t lock;
	size_t n;
	struct counter *c;
};

int
limits_new(size_t max_users, struct limits **out)
{
	struct limits *l = NULL;

	if (max_users == 0 || max_users > 1000000)
		return COFFER_ERR_INVALID;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->c = calloc(max_users, sizeof(*l->c))) == NULL) {
		free(l);
		return COFFER_ERR_NOMEM;
	}
	l->n = max_users;
	pthread_mutex_init(&l->lock, NULL);
	*out = l;
	return COFFER_OK;
}

void
limits_free(struct limits *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l->c);
	free(l);
}

/* The user's slot, a free one, or one idle for the whole window. */
static struct counter *
slot(struct limits *l, int64_t user, int64_t now_min)
{
	struct counter *freeslot = NULL;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->c[i].user == user)
			return &l->c[i];
		if (freeslot == NULL && (l->c[i].user == 0 ||
		    l->c[i].last <= now_min - BUCKETS))
			freeslot = &l->c[i];
	}
	if (freeslot != NULL) {
		memset(freeslot, 0, sizeof(*freeslot));
		freeslot->user = user;
	}
	return freeslot;
}

/* Events of kind w in the last BUCKETS minutes. */
static uint64_t
window(const struct counter *c, enum policy_limit w, int64_t now_min)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < BUCKETS; i++)
		if (c->minute[i] > now_min - BUCKETS)
			sum += c->count[w][i];
	return sum;
}

int
limits_take(struct limits *l, int64_t user, enum policy_limit w,
    uint32_t max, uint32_t n, time_t now)
{
	int64_t now_min = (int64_t)now / 60;
	struct counter *c;
	size_t b = (size_t)(now_min % BUCKETS);
	int rc = COFFER_OK;

	if (max == POLICY_UNLIMITED || (unsigned)w >= POLICY_LIMIT_COUNT_)
		return COFFER_OK;
	pthread_mutex_lock(&l->lock);
	if ((c = slot(l, user, now_min)) == NULL) {
		rc = COFFER_ERR_BUSY;
		goto out;
	}
	if (window(c, w, now_min) + n > max) {
		rc = COFFER_ERR_DENIED;
		goto out;
	}
	if (c->minute[b] != now_min) {
		/* A new minute reuses the bucket of an hour ago. */
		for (size_t k = 0; k < POLICY_LIMIT_COUNT_; k++)
			c->count[k][b] = 0;
		c->minute[b] = now_min;
	}
	c->count[w][b] += n;
	c->last = now_min;
out:
	pthread_mutex_unlock(&l->lock);
	return rc;
}
