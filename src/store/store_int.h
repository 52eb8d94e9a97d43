/*
 * store_int.h - what the store's files share (store.c owns the
 * connection; reqstore.c keeps change requests on it).  Not public.
 */
#ifndef COFFER_STORE_INT_H
#define COFFER_STORE_INT_H

#include <sqlite3.h>
#include "coffer/store.h"

/* The connection of st (borrowed). */
sqlite3 *store_sqlite(struct store *st);
/* SQLite result code -> Coffer status (as store.c maps them). */
int store_db_status(int rc);

#endif
