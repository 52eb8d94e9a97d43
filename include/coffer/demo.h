/*
 * demo.h - a reproducible generator of realistic telesales data (Chinese
 * names, mainland phone numbers, companies, calls, follow-ups, deals,
 * products, notes) for demo vaults, tests and benchmarks.  The same seed,
 * options and store contents give byte-identical records.
 */
#ifndef COFFER_DEMO_H
#define COFFER_DEMO_H

#include <stddef.h>
#include <stdint.h>
#include "coffer/store.h"

#define DEMO_DEFAULT_CUSTOMERS 10000
#define DEMO_DEFAULT_CALLS 3.0   /* average calls per customer */
#define DEMO_BATCH 10000         /* customers per transaction */

struct demo_options {
	uint64_t seed;
	size_t customers;          /* 0: DEMO_DEFAULT_CUSTOMERS */
	double calls_per_customer; /* average; 0: DEFAULT_CALLS; < 0: none */
	const int64_t *agent_ids;  /* owners of the customers; >= 1 needed */
	size_t nagents;
	int64_t author_id;         /* author of the notes; 0: first agent */
	int64_t now;               /* dates are spread around it; 0: time() */
	/* called after each batch of DEMO_BATCH customers (the last one
	   with done == total on success) */
	void (*progress)(void *arg, size_t done, size_t total);
	void *progress_arg;
};

/*
 * Add ~20 products, o->customers customers spread over the agents with
 * their calls, follow-ups and deals, and about one note per hundred
 * customers.  The users named in o must already exist.  Works in batches
 * of DEMO_BATCH customers, each its own transaction; on error the current
 * batch is rolled back and earlier batches stay.  Ends by gathering the
 * planner's statistics (store_optimize).  COFFER_ERR_USAGE for bad
 * options or a user id that names no user (checked before any write).
 */
int demo_fill(struct store *st, const struct demo_options *o);

#endif
