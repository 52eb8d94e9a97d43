/*
 * report_xlsx.h - the spreadsheet form of `coffer report` (report_xlsx.c,
 * through libxlsxwriter): one workbook with a sheet per level and a sheet
 * describing the report.  Private to src/client.
 */
#ifndef COFFER_REPORT_XLSX_H
#define COFFER_REPORT_XLSX_H

#include <cbor.h>
#include "coffer/client.h"

/*
 * Write the report.kpi answer res as a workbook to a new file at path
 * (created exclusively, mode 0600, never over an existing file: the
 * figures are internal data).  tz names the zone the days are in (it is
 * already set in TZ); c->now is the generation time.  On failure the
 * file is removed, fail() is called and COFFER_ERR_CONFLICT (the file
 * exists), COFFER_ERR_IO, COFFER_ERR_NOMEM or COFFER_ERR_PROTO (res is
 * not a report) is returned.
 */
int report_xlsx_write(struct ctx *c, const char *path, const char *tz,
    const cbor_item_t *res);

#endif
