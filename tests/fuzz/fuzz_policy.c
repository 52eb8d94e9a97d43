/*
 * fuzz_policy.c - libFuzzer harness for the policy parser and compiler
 * (strict YAML tree, validation, tables).  Beyond "no crash": a policy that
 * loads must answer decisions for every role, kind and action, with
 * treatment vectors in range, and its check must agree with the load.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "coffer/err.h"
#include "coffer/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
exercise(const struct policy *p)
{
	const struct kind_def *kinds;
	struct policy_decision d;
	struct policy_subject s;
	struct policy_row row = { "secret", 1, "excluded" };
	size_t nk, r, k, a, f;

	kinds = schema_kinds(&nk);
	for (r = 0; r < policy_role_count(p); r++) {
		s.role = policy_role_name(p, (int)r);
		s.clearance = policy_level_name(p, 0);
		s.user_id = 1;
		s.team = "t";
		for (k = 0; k < nk; k++) {
			for (a = 0; a < POLICY_RECORD_ACTIONS; a++) {
				if (policy_decide(p, &s, (enum policy_action)a,
				    &kinds[k], &d) != COFFER_OK)
					continue;
				for (f = 0; d.fields != NULL && f < d.nfields; f++)
					if (d.fields[f] > POLICY_OMIT ||
					    (d.formats != NULL && d.formats[f] >=
					    MASK_FORMAT_COUNT_))
						abort();
				(void)policy_check_row(p, &d, &row, "phone");
			}
		}
		for (a = POLICY_USER_READ; a < POLICY_ACTION_COUNT_; a++)
			(void)policy_decide(p, &s, (enum policy_action)a, NULL,
			    &d);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	struct policy_error err;
	FILE *devnull;
	int rc, rc2;

	rc = policy_load_buffer("fuzz.yaml", data, size, &p, &err);
	if ((rc == COFFER_OK) != (p != NULL))
		abort();
	if (p != NULL)
		exercise(p);
	policy_free(p);
	devnull = fopen("/dev/null", "w");
	if (devnull == NULL)
		return 0;
	rc2 = policy_check_buffer("fuzz.yaml", data, size, devnull);
	fclose(devnull);
	if (rc2 != rc && rc != COFFER_ERR_NOMEM && rc2 != COFFER_ERR_NOMEM)
		abort();
	return 0;
}
