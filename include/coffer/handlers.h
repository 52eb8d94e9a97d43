/*
 * handlers.h - one function per operation of the wire protocol
 * (docs/protocol.md, "Operations").  A handler validates its arguments,
 * asks access_decide() (under r->policy), does the work and returns a result map in *result
 * (a new reference the dispatcher releases).  On error it returns the
 * status and fills detail; it never writes to the connection itself.
 */
#ifndef COFFER_HANDLERS_H
#define COFFER_HANDLERS_H

#include <cbor.h>
#include "coffer/daemon.h"

typedef int (*handler_fn)(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *detail);

int handle_status(struct request *, const cbor_item_t *, cbor_item_t **,
    struct coffer_errdetail *);
int handle_whoami(struct request *, const cbor_item_t *, cbor_item_t **,
    struct coffer_errdetail *);
int handle_record_get(struct request *, const cbor_item_t *, cbor_item_t **,
    struct coffer_errdetail *);
int handle_record_list(struct request *, const cbor_item_t *, cbor_item_t **,
    struct coffer_errdetail *);
int handle_record_create(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_record_update(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_record_delete(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
/* The full value of one field of one record (docs/protocol.md). */
int handle_record_reveal(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_user_list(struct request *, const cbor_item_t *, cbor_item_t **,
    struct coffer_errdetail *);
int handle_user_add(struct request *, const cbor_item_t *, cbor_item_t **,
    struct coffer_errdetail *);
int handle_user_update(struct request *, const cbor_item_t *, cbor_item_t **,
    struct coffer_errdetail *);
/* The audit trail, for the compliance officer (h_audit.c). */
int handle_audit_search(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_audit_show(struct request *, const cbor_item_t *, cbor_item_t **,
    struct coffer_errdetail *);
int handle_audit_checkpoint(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_audit_export(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
/*
 * Count n events against the caller's volume limit (h_records.c); over
 * the limit: COFFER_ERR_DENIED with detail and an alert.volume record.
 */
int handler_volume(struct request *r, enum policy_limit which, uint32_t n,
    struct coffer_errdetail *detail);

/*
 * Create one record of kind k as record.create would under the create
 * decision dec (owner, schema, writable fields, no write-up, store), but
 * without counting it against the volume limit: a bulk caller counts
 * once (h_records.c).
 */
int handler_create_checked(struct request *r, struct access_decision *dec,
    const struct kind_def *k, const cbor_item_t *given, int64_t *id,
    struct coffer_errdetail *d);

/* Lead-list imports in three steps (h_import.c, docs/import.md §6). */
int handle_import_begin(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_import_rows(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_import_commit(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);

/* Change requests and record history (h_requests.c, docs/requests.md). */
int handle_request_create(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_request_list(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_request_show(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_request_approve(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_request_reject(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_request_withdraw(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_record_history(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);

/* An online backup into a new directory (h_backup.c, docs/backup.md). */
int handle_backup_create(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);

/* The working day (h_workflow.c, docs/workflow.md). */
int handle_customer_screen(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_followup_done(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_customer_assign(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_customer_distribute(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_customer_transfer(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_workflow_today(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);

/* The do-not-call list (h_dnc.c, docs/dnc.md). */
int handle_dnc_add(struct request *, const cbor_item_t *, cbor_item_t **,
    struct coffer_errdetail *);
int handle_dnc_remove(struct request *, const cbor_item_t *, cbor_item_t **,
    struct coffer_errdetail *);
int handle_dnc_approve(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
int handle_dnc_reject(struct request *, const cbor_item_t *, cbor_item_t **,
    struct coffer_errdetail *);
int handle_dnc_list(struct request *, const cbor_item_t *, cbor_item_t **,
    struct coffer_errdetail *);
int handle_dnc_check(struct request *, const cbor_item_t *, cbor_item_t **,
    struct coffer_errdetail *);

/* KPI reports (h_report.c, docs/reports.md). */
int handle_report_kpi(struct request *, const cbor_item_t *,
    cbor_item_t **, struct coffer_errdetail *);
#endif
