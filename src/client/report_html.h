/*
 * report_html.h - the HTML form of `coffer report` (report_html.c): one
 * self-contained page, inline SVG charts, no script, nothing fetched.
 * Private to src/client.
 */
#ifndef COFFER_REPORT_HTML_H
#define COFFER_REPORT_HTML_H

#include <cbor.h>
#include "coffer/client.h"

/*
 * Write the report.kpi answer res (with its "weeks") as a page to a new
 * file at path (created exclusively, mode 0600: the figures are internal
 * data).  fail()s and returns COFFER_ERR_IO / EXISTS-style statuses on
 * error.
 */
int report_html_write(struct ctx *c, const char *path, const char *tz,
    const cbor_item_t *res);

#endif
