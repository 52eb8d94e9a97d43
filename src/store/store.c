/*
 * store.c - the encrypted database: SQLCipher 4 opened with a raw key,
 * migrations, users, and records of the kinds in schema.c with their row
 * scope pushed into SQL.  Tables, indexes and rules: docs/schema.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "coffer/keys.h"
#include "coffer/msg.h"
#include "coffer/store.h"
#include "store_int.h"

#define KINDS_MAX 8        /* room in the statement cache */
#define SQL_MAX 4096       /* longest statement we build */
#define FILTERS_MAX 16
/* Rows sampled per index by store_optimize (SQLite suggests 100-1000). */
#define STORE_ANALYSIS_LIMIT 1000
#define APPLICATION_ID 0x436f6666 /* "Coff" in the database header */
#define SCOPES (SCOPE_ALL + 1)
/*
 * Page cache per connection, in KiB (negative for SQLite).  Every miss costs
 * a page decryption and HMAC check, so this is what keeps point reads fast
 * on a million-customer vault; it is only allocated as pages are touched.
 */
#define CACHE_KIB "-65536"

struct store {
	sqlite3 *db;
	const struct kind_def *kinds;
	size_t nkinds;
	/* point reads, per kind and effective scope: the hot path */
	sqlite3_stmt *get[KINDS_MAX][SCOPES];
	sqlite3_stmt *user_by_name;
	sqlite3_stmt *user_by_id;
	/*
	 * The last INSERT, kept while the next one has the same text: a bulk
	 * create (an import) would otherwise compile the same statement for
	 * every row, which cost more than the insert itself.
	 */
	sqlite3_stmt *insert;
	char insert_sql[SQL_MAX];
};

struct store_bulk {
	struct store *st;
	sqlite3_stmt *ins;
	size_t nfields;
};

/* Migrations --------------------------------------------------------- */

/*
 * Version 1: everything.  The CHECK constraints repeat schema.c's rules as a
 * second line of defence; STRICT makes SQLite refuse values of the wrong
 * type instead of converting them.  Lengths are in bytes (octet_length).
 */
#define LEN(c, lo, hi) "octet_length(" c ") BETWEEN " #lo " AND " #hi
#define SERVER_COLS \
	"id INTEGER PRIMARY KEY," \
	"version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)," \
	"created INTEGER NOT NULL," \
	"updated INTEGER NOT NULL,"
#define TIME_CHECK(c) "CHECK (" c " BETWEEN 0 AND 4102444800)"
/*
 * Enumerations are spelt as OR chains: SQLite evaluates "x IN (list)" in a
 * CHECK by building a temporary index for every row, which made bulk loads
 * three times slower.
 */
#define IS4(c, a, b, d, e) \
	"(" c " = '" a "' OR " c " = '" b "' OR " c " = '" d "' OR " \
	c " = '" e "')"
#define INTENTS(c) IS4(c, "none", "low", "medium", "high")
#define LEVELS(c) IS4(c, "public", "internal", "confidential", "secret")

static const char *const migration_1[] = {
	"PRAGMA application_id = 1131374182;"
	"CREATE TABLE migrations ("
	" version INTEGER PRIMARY KEY,"
	" applied INTEGER NOT NULL,"
	" description TEXT NOT NULL) STRICT;"

	"CREATE TABLE users ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE CHECK (" LEN("name", 1, 64)
	"  AND name GLOB '[A-Za-z0-9]*' AND name NOT GLOB '*[^A-Za-z0-9._-]*'),"
	" display TEXT NOT NULL DEFAULT '' CHECK (" LEN("display", 0, 128) "),"
	" role TEXT NOT NULL"
	"  CHECK " IS4("role", "agent", "manager", "compliance", "admin") ","
	" team TEXT NOT NULL DEFAULT '' CHECK (" LEN("team", 0, 64) "),"
	" manager_id INTEGER REFERENCES users(id) ON DELETE RESTRICT"
	"  CHECK (manager_id <> id),"
	" clearance TEXT NOT NULL"
	"  CHECK " LEVELS("clearance") ","
	" pubkey BLOB NOT NULL CHECK (length(pubkey) = 32),"
	" active INTEGER NOT NULL DEFAULT 1 CHECK (active = 0 OR active = 1),"
	" version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL) STRICT;"
	"CREATE INDEX users_team ON users(team);"
	"CREATE INDEX users_manager ON users(manager_id);",

	"CREATE TABLE customers (" SERVER_COLS
	" name TEXT NOT NULL CHECK (" LEN("name", 1, 100) "),"
	" phone TEXT NOT NULL CHECK (length(phone) BETWEEN 9 AND 16"
	"  AND phone NOT GLOB '*[^0-9+-]*'),"
	" email TEXT CHECK (" LEN("email", 3, 254)
	"  AND email GLOB '?*@?*.?*'),"
	" company TEXT CHECK (" LEN("company", 0, 200) "),"
	" address TEXT CHECK (" LEN("address", 0, 300) "),"
	" needs TEXT CHECK (" LEN("needs", 0, 2000) "),"
	" intent TEXT CHECK " INTENTS("intent") ","
	" stage TEXT DEFAULT 'new' CHECK (stage = 'new' OR stage = 'screened'"
	"  OR stage = 'excluded' OR stage = 'contacted' OR stage = 'following'"
	"  OR stage = 'won' OR stage = 'lost'),"
	" exclude_reason TEXT CHECK (" LEN("exclude_reason", 0, 500) "),"
	" owner_id INTEGER REFERENCES users(id),"
	" source_list TEXT CHECK (" LEN("source_list", 0, 100) "),"
	" do_not_call INTEGER DEFAULT 0"
	"  CHECK (do_not_call = 0 OR do_not_call = 1),"
	" label TEXT CHECK " LEVELS("label") ") STRICT;"
	"CREATE INDEX customers_owner ON customers(owner_id);"
	"CREATE INDEX customers_stage ON customers(stage);"
	"CREATE INDEX customers_source ON customers(source_list);",

	"CREATE TABLE products (" SERVER_COLS
	" name TEXT NOT NULL CHECK (" LEN("name", 1, 100) "),"
	" spec TEXT CHECK (" LEN("spec", 0, 4000) "),"
	" list_price INTEGER CHECK (list_price BETWEEN 0 AND 1000000000000),"
	" price_floor INTEGER CHECK (price_floor BETWEEN 0 AND 1000000000000),"
	" marketing_strategy TEXT CHECK (" LEN("marketing_strategy", 0, 8000)
	")) STRICT;",

	"CREATE TABLE calls (" SERVER_COLS
	" customer_id INTEGER NOT NULL"
	"  REFERENCES customers(id) ON DELETE RESTRICT,"
	" agent_id INTEGER REFERENCES users(id),"
	" started INTEGER NOT NULL " TIME_CHECK("started") ","
	" duration INTEGER NOT NULL CHECK (duration BETWEEN 0 AND 86400),"
	" outcome TEXT CHECK (outcome = 'answered' OR outcome = 'no_answer'"
	"  OR outcome = 'busy' OR outcome = 'voicemail'"
	"  OR outcome = 'wrong_number' OR outcome = 'refused'),"
	" intent TEXT CHECK " INTENTS("intent") ","
	" notes TEXT CHECK (" LEN("notes", 0, 4000) ")) STRICT;"
	"CREATE INDEX calls_customer ON calls(customer_id);"
	"CREATE INDEX calls_agent ON calls(agent_id);",

	"CREATE TABLE followups (" SERVER_COLS
	" customer_id INTEGER NOT NULL"
	"  REFERENCES customers(id) ON DELETE RESTRICT,"
	" agent_id INTEGER REFERENCES users(id),"
	" due INTEGER NOT NULL " TIME_CHECK("due") ","
	" kind TEXT NOT NULL CHECK (kind = 'callback' OR kind = 'revisit'"
	"  OR kind = 'after_sales'),"
	" status TEXT DEFAULT 'open'"
	"  CHECK (status = 'open' OR status = 'done' OR status = 'cancelled'),"
	" outcome TEXT CHECK (" LEN("outcome", 0, 2000) ")) STRICT;"
	"CREATE INDEX followups_customer ON followups(customer_id);"
	"CREATE INDEX followups_agent ON followups(agent_id);"
	"CREATE INDEX followups_status_due ON followups(status, due);",

	"CREATE TABLE deals (" SERVER_COLS
	" customer_id INTEGER NOT NULL"
	"  REFERENCES customers(id) ON DELETE RESTRICT,"
	" agent_id INTEGER REFERENCES users(id),"
	" product_id INTEGER NOT NULL"
	"  REFERENCES products(id) ON DELETE RESTRICT,"
	" amount INTEGER NOT NULL CHECK (amount BETWEEN 0 AND 1000000000000),"
	" contract_no TEXT CHECK (" LEN("contract_no", 1, 64) "),"
	" payment_status TEXT DEFAULT 'unpaid' CHECK " IS4("payment_status",
	"unpaid", "partial", "paid", "refunded") ","
	" satisfaction INTEGER CHECK (satisfaction BETWEEN 1 AND 5),"
	" closed INTEGER " TIME_CHECK("closed") ") STRICT;"
	"CREATE INDEX deals_customer ON deals(customer_id);"
	"CREATE INDEX deals_agent ON deals(agent_id);"
	"CREATE INDEX deals_product ON deals(product_id);",

	"CREATE TABLE notes (" SERVER_COLS
	" kind TEXT NOT NULL CHECK " IS4("kind", "market_research",
	"competitor", "feedback", "other") ","
	" subject TEXT NOT NULL CHECK (" LEN("subject", 1, 200) "),"
	" body TEXT CHECK (" LEN("body", 0, 8000) "),"
	" customer_id INTEGER REFERENCES customers(id) ON DELETE RESTRICT,"
	" department TEXT CHECK (" LEN("department", 0, 64) "),"
	" author_id INTEGER REFERENCES users(id)) STRICT;"
	"CREATE INDEX notes_author ON notes(author_id);"
	"CREATE INDEX notes_customer ON notes(customer_id);"
	"CREATE INDEX notes_kind ON notes(kind);",
	NULL
};


/*
 * Version 2: change requests (docs/requests.md).  A request's content is
 * immutable (triggers refuse changing it); only its state moves, and every
 * move is also a row of request_events, so the state column is a cache of
 * the last event and the history cannot be rewritten by an UPDATE.
 * Approvals and record history are append-only.  Records get a tombstone
 * flag: a deleted record stays, with its history, out of reads and lists.
 */
#define TOMBSTONE(t) "ALTER TABLE " t " ADD COLUMN deleted INTEGER NOT NULL" \
	" DEFAULT 0 CHECK (deleted = 0 OR deleted = 1);"
#define APPEND_ONLY(t) \
	"CREATE TRIGGER " t "_no_update BEFORE UPDATE ON " t \
	" BEGIN SELECT RAISE(ABORT, '" t " rows are immutable'); END;" \
	"CREATE TRIGGER " t "_no_delete BEFORE DELETE ON " t \
	" BEGIN SELECT RAISE(ABORT, '" t " rows are immutable'); END;"
#define REQ_STATES(c) "(" c " = 'pending' OR " c " = 'approved' OR " c \
	" = 'rejected' OR " c " = 'withdrawn' OR " c " = 'expired' OR " c \
	" = 'conflicted' OR " c " = 'applied')"

static const char *const migration_2[] = {
	TOMBSTONE("customers") TOMBSTONE("products") TOMBSTONE("calls")
	TOMBSTONE("followups") TOMBSTONE("deals") TOMBSTONE("notes")
	/*
	 * Row scope, tombstone and label filter of a list are answered from
	 * this index alone (the row id comes with it), so counting an
	 * agent's customers or finding the customers behind their calls
	 * reads no table pages.
	 */
	"DROP INDEX customers_owner;"
	"CREATE INDEX customers_scope ON customers(owner_id, deleted, label);"
	"CREATE INDEX calls_customer_live ON calls(customer_id, deleted);"
	"DROP INDEX calls_customer;",

	"CREATE TABLE change_requests ("
	" id INTEGER PRIMARY KEY,"
	" kind TEXT NOT NULL CHECK (" LEN("kind", 1, 16) "),"
	" record_id INTEGER NOT NULL CHECK (record_id > 0),"
	" base_version INTEGER NOT NULL CHECK (base_version >= 1),"
	" op TEXT NOT NULL CHECK (op = 'update' OR op = 'delete'),"
	" fields BLOB NOT NULL CHECK (length(fields) BETWEEN 1 AND 65536),"
	" reason TEXT NOT NULL CHECK (" LEN("reason", 1, 500) "),"
	" requester_id INTEGER NOT NULL REFERENCES users(id),"
	" created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL CHECK (expires > created),"
	" need INTEGER NOT NULL CHECK (need BETWEEN 1 AND 8),"
	" roles TEXT NOT NULL DEFAULT '' CHECK (" LEN("roles", 0, 200) "),"
	" hash BLOB NOT NULL CHECK (length(hash) = 32),"
	" state TEXT NOT NULL DEFAULT 'pending' CHECK " REQ_STATES("state") ","
	" updated INTEGER NOT NULL) STRICT;"
	"CREATE INDEX change_requests_state ON change_requests(state, expires);"
	"CREATE INDEX change_requests_requester ON"
	" change_requests(requester_id);"
	"CREATE INDEX change_requests_record ON"
	" change_requests(kind, record_id);"
	"CREATE TRIGGER change_requests_content BEFORE UPDATE OF id, kind,"
	" record_id, base_version, op, fields, reason, requester_id, created,"
	" expires, need, roles, hash ON change_requests"
	" BEGIN SELECT RAISE(ABORT, 'a change request is immutable'); END;"
	"CREATE TRIGGER change_requests_state BEFORE UPDATE OF state"
	" ON change_requests WHEN OLD.state <> 'pending'"
	" AND NOT (OLD.state = 'approved' AND (NEW.state = 'applied'"
	" OR NEW.state = 'conflicted'))"
	" BEGIN SELECT RAISE(ABORT, 'request is no longer pending'); END;"
	"CREATE TRIGGER change_requests_no_delete BEFORE DELETE ON"
	" change_requests BEGIN SELECT RAISE(ABORT,"
	" 'change_requests rows are immutable'); END;",

	"CREATE TABLE request_events ("
	" id INTEGER PRIMARY KEY,"
	" request_id INTEGER NOT NULL REFERENCES change_requests(id),"
	" state TEXT NOT NULL CHECK " REQ_STATES("state") ","
	" actor_id INTEGER REFERENCES users(id),"
	" time INTEGER NOT NULL) STRICT;"
	"CREATE INDEX request_events_request ON request_events(request_id);"
	APPEND_ONLY("request_events"),

	"CREATE TABLE approvals ("
	" id INTEGER PRIMARY KEY,"
	" request_id INTEGER NOT NULL REFERENCES change_requests(id),"
	" approver_id INTEGER NOT NULL REFERENCES users(id),"
	" role TEXT NOT NULL CHECK (" LEN("role", 1, 32) "),"
	" decision TEXT NOT NULL CHECK (decision = 'approve'"
	"  OR decision = 'reject'),"
	" comment TEXT NOT NULL CHECK (" LEN("comment", 0, 500) "),"
	" time INTEGER NOT NULL,"
	" signature BLOB NOT NULL CHECK (length(signature) = 64),"
	" statement_hash BLOB NOT NULL CHECK (length(statement_hash) = 32),"
	" UNIQUE (request_id, approver_id)) STRICT;"
	APPEND_ONLY("approvals"),

	"CREATE TABLE record_history ("
	" id INTEGER PRIMARY KEY,"
	" kind TEXT NOT NULL CHECK (" LEN("kind", 1, 16) "),"
	" record_id INTEGER NOT NULL,"
	" version INTEGER NOT NULL,"
	" request_id INTEGER NOT NULL REFERENCES change_requests(id),"
	" op TEXT NOT NULL CHECK (op = 'update' OR op = 'delete'),"
	" requester_id INTEGER NOT NULL REFERENCES users(id),"
	" approvers TEXT NOT NULL CHECK (" LEN("approvers", 0, 600) "),"
	" time INTEGER NOT NULL,"
	" fields BLOB NOT NULL) STRICT;"
	"CREATE INDEX record_history_record ON record_history(kind, record_id);"
	APPEND_ONLY("record_history"),
	NULL
};

/*
 * Version 3: purge (docs/requests.md §7).  `purge` joins the ops of a
 * request and of a history row: SQLite cannot alter a CHECK, and
 * rebuilding change_requests would mean dropping a table four others
 * refer to, so the CHECK text is widened in place (the documented
 * writable_schema procedure for changes that do not alter what is stored;
 * every existing row satisfies the wider check).  Then the single
 * sanctioned exception to the immutability of requests and history:
 * their `fields` may become the purge marker X'A0' (an empty CBOR map),
 * and nothing else about the row may change, only for a customer that is
 * tombstoned and purged (name '[purged]'), and for a request only once it
 * is closed.  Everything else still aborts.
 */
#define OPS_OLD "CHECK (op = ''update'' OR op = ''delete'')"
#define OPS_NEW "CHECK (op = ''update'' OR op = ''delete'' OR op = ''purge'')"
#define PURGED_CUSTOMER(idcol) "OLD.kind = 'customer' AND EXISTS (SELECT 1" 	" FROM customers c WHERE c.id = OLD." idcol " AND c.deleted = 1" 	" AND c.name = '[purged]')"
static const char *const migration_3[] = {
	"PRAGMA writable_schema = ON;"
	"UPDATE sqlite_schema SET sql = replace(sql, '" OPS_OLD "', '" OPS_NEW
	"') WHERE type = 'table' AND name IN ('change_requests',"
	" 'record_history');"
	"PRAGMA writable_schema = RESET;",

	"DROP TRIGGER change_requests_content;"
	"CREATE TRIGGER change_requests_content BEFORE UPDATE OF id, kind,"
	" record_id, base_version, op, reason, requester_id, created,"
	" expires, need, roles, hash ON change_requests"
	" BEGIN SELECT RAISE(ABORT, 'a change request is immutable'); END;"
	"CREATE TRIGGER change_requests_purge BEFORE UPDATE OF fields"
	" ON change_requests WHEN NOT (NEW.fields = X'A0'"
	" AND OLD.state <> 'pending' AND " PURGED_CUSTOMER("record_id") ")"
	" BEGIN SELECT RAISE(ABORT, 'a change request is immutable'); END;"
	"DROP TRIGGER record_history_no_update;"
	"CREATE TRIGGER record_history_no_update BEFORE UPDATE ON"
	" record_history WHEN NOT (NEW.fields = X'A0' AND NEW.id IS OLD.id"
	" AND NEW.kind IS OLD.kind AND NEW.record_id IS OLD.record_id"
	" AND NEW.version IS OLD.version AND NEW.request_id IS OLD.request_id"
	" AND NEW.op IS OLD.op AND NEW.requester_id IS OLD.requester_id"
	" AND NEW.approvers IS OLD.approvers AND NEW.time IS OLD.time"
	" AND " PURGED_CUSTOMER("record_id") ")"
	" BEGIN SELECT RAISE(ABORT, 'record_history rows are immutable'); END;",
	NULL
};

/*
 * Version 4: retention (docs/requests.md §6).  A tombstone whose retention
 * period has ended is erased like a purged customer, for any kind, so the
 * sanctioned exception to the immutability of requests and history now
 * names records marked `erased` (set only together with `deleted`), not
 * customers named '[purged]'.  Customers purged before keep their marker
 * and are marked erased here.
 */
#define ERASABLE(t) "ALTER TABLE " t " ADD COLUMN erased INTEGER NOT NULL" \
	" DEFAULT 0 CHECK (erased = 0 OR (erased = 1 AND deleted = 1));"
#define ERASED_ONE(kind, t, idcol) "(OLD.kind = '" kind "' AND EXISTS" \
	" (SELECT 1 FROM " t " x WHERE x.id = OLD." idcol " AND x.erased = 1))"
#define ERASED(idcol) "(" ERASED_ONE("customer", "customers", idcol) \
	" OR " ERASED_ONE("call", "calls", idcol) \
	" OR " ERASED_ONE("followup", "followups", idcol) \
	" OR " ERASED_ONE("deal", "deals", idcol) \
	" OR " ERASED_ONE("product", "products", idcol) \
	" OR " ERASED_ONE("note", "notes", idcol) ")"
static const char *const migration_4[] = {
	ERASABLE("customers") ERASABLE("products") ERASABLE("calls")
	ERASABLE("followups") ERASABLE("deals") ERASABLE("notes")
	"UPDATE customers SET erased = 1 WHERE deleted = 1"
	" AND name = '" STORE_PURGED_TEXT "';"
	"CREATE INDEX customers_erasable ON customers(deleted, erased, updated);"
	"CREATE INDEX calls_erasable ON calls(deleted, erased, updated);"
	"CREATE INDEX followups_erasable ON followups(deleted, erased, updated);"
	"CREATE INDEX deals_erasable ON deals(deleted, erased, updated);"
	"CREATE INDEX products_erasable ON products(deleted, erased, updated);"
	"CREATE INDEX notes_erasable ON notes(deleted, erased, updated);",

	"DROP TRIGGER change_requests_purge;"
	"CREATE TRIGGER change_requests_erase BEFORE UPDATE OF fields"
	" ON change_requests WHEN NOT (NEW.fields = X'A0'"
	" AND OLD.state <> 'pending' AND " ERASED("record_id") ")"
	" BEGIN SELECT RAISE(ABORT, 'a change request is immutable'); END;"
	"DROP TRIGGER record_history_no_update;"
	"CREATE TRIGGER record_history_no_update BEFORE UPDATE ON"
	" record_history WHEN NOT (NEW.fields = X'A0' AND NEW.id IS OLD.id"
	" AND NEW.kind IS OLD.kind AND NEW.record_id IS OLD.record_id"
	" AND NEW.version IS OLD.version AND NEW.request_id IS OLD.request_id"
	" AND NEW.op IS OLD.op AND NEW.requester_id IS OLD.requester_id"
	" AND NEW.approvers IS OLD.approvers AND NEW.time IS OLD.time"
	" AND " ERASED("record_id") ")"
	" BEGIN SELECT RAISE(ABORT, 'record_history rows are immutable'); END;",
	NULL
};

/*
 * Version 5: reports (docs/reports.md).  A KPI report scans an agent's
 * calls of a period and, for each, asks whether an earlier call of the
 * same customer exists; both are answered from these two covering
 * indexes without touching the table (docs/performance.md, "Reports").
 * calls_agent is a prefix of calls_agent_time and goes.
 */
static const char *const migration_5[] = {
	"CREATE INDEX calls_agent_time ON calls(agent_id, started, deleted,"
	" outcome, duration, intent, customer_id);"
	"DROP INDEX calls_agent;"
	"CREATE INDEX calls_customer_time ON calls(customer_id, deleted,"
	" started, intent);",
	NULL
};

/*
 * Version 6: the do-not-call list (docs/dnc.md).  One row per listed
 * number (normalised, as customers.phone is stored), with who listed it
 * and, while a removal waits for a manager, who asked for it; the
 * CHECK keeps the three removal columns set or unset together.  Every
 * add and every step of a removal is also a row of dnc_events, which
 * the database keeps append-only.  customers_phone lets `dnc add` flag
 * every customer with the number without reading the whole table.
 */
#define DNC_PHONE(c) "length(" c ") BETWEEN 9 AND 16 AND " c \
	" NOT GLOB '*[^0-9+-]*'"
static const char *const migration_6[] = {
	"CREATE TABLE dnc_list ("
	" phone TEXT PRIMARY KEY CHECK (" DNC_PHONE("phone") "),"
	" reason TEXT NOT NULL CHECK (" LEN("reason", 1, 500) "),"
	" added_by INTEGER NOT NULL REFERENCES users(id),"
	" added INTEGER NOT NULL,"
	" remove_by INTEGER REFERENCES users(id),"
	" remove_reason TEXT CHECK (" LEN("remove_reason", 1, 500) "),"
	" remove_asked INTEGER,"
	" CHECK ((remove_by IS NULL) = (remove_reason IS NULL) AND"
	"  (remove_by IS NULL) = (remove_asked IS NULL))"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX dnc_list_pending ON dnc_list(remove_asked)"
	" WHERE remove_asked IS NOT NULL;",

	"CREATE TABLE dnc_events ("
	" id INTEGER PRIMARY KEY,"
	" phone TEXT NOT NULL CHECK (" DNC_PHONE("phone") "),"
	" event TEXT NOT NULL CHECK (event = 'add' OR event = 'readd'"
	"  OR event = 'remove_request' OR event = 'remove_approve'"
	"  OR event = 'remove_reject'),"
	" actor_id INTEGER NOT NULL REFERENCES users(id),"
	" reason TEXT NOT NULL CHECK (" LEN("reason", 0, 500) "),"
	" time INTEGER NOT NULL) STRICT;"
	"CREATE INDEX dnc_events_phone ON dnc_events(phone);"
	APPEND_ONLY("dnc_events")
	"CREATE INDEX customers_phone ON customers(phone);",
	NULL
};

/*
 * Version 7: the first calls (docs/reports.md §2.2, §5).  "Is this the
 * customer's first live call (first with intent)?" was a probe per call
 * of the period into calls_customer_time, at random pages of an index
 * far larger than the page cache: 4.7 us a call (docs/performance.md
 * §10).  call_firsts keeps the answer instead, one row per customer with
 * a live call: its first live call and its first live call with intent
 * medium or high, ordered by (started, id), with the started time and
 * agent of each, so a report counts a range of an index.  Triggers keep
 * it in the transaction of every write to calls: an insert can only
 * move a first earlier; an update of a column the order or attribution
 * reads (a tombstone, an erasure, a correction) or a delete recomputes
 * the customer's row from its live calls.  The migration fills it from
 * the calls there are.
 */
#define LIVE_FIRST(cid, cond) "(SELECT e.id FROM calls e" \
	" WHERE e.customer_id = " cid " AND e.deleted = 0" cond \
	" ORDER BY e.started, e.id LIMIT 1)"
#define WITH_INTENT " AND (e.intent = 'medium' OR e.intent = 'high')"
#define FIRSTS_COLS "(customer_id, first_id, first_started, first_agent," \
	" intent_id, intent_started, intent_agent)"
/* The firsts of the customers cid ranges over (those with a live call). */
#define FIRSTS_OF(cid) "SELECT f.customer_id, f.id, f.started, f.agent_id," \
	" i.id, i.started, i.agent_id FROM calls f LEFT JOIN calls i" \
	" ON i.id = " LIVE_FIRST(cid, WITH_INTENT) \
	" WHERE f.id = " LIVE_FIRST(cid, "")
/* Recompute one customer's row; guard: an extra condition, or "". */
#define RECOMPUTE(cid, guard) \
	"DELETE FROM call_firsts WHERE customer_id = " cid guard ";" \
	"INSERT INTO call_firsts " FIRSTS_COLS " " FIRSTS_OF(cid) guard ";"
#define CALL_MOVED(c) "NEW." c " IS NOT OLD." c
static const char *const migration_7[] = {
	"CREATE TABLE call_firsts ("
	" customer_id INTEGER PRIMARY KEY,"
	" first_id INTEGER NOT NULL,"
	" first_started INTEGER NOT NULL,"
	" first_agent INTEGER,"
	" intent_id INTEGER,"
	" intent_started INTEGER,"
	" intent_agent INTEGER,"
	" CHECK ((intent_id IS NULL) = (intent_started IS NULL))) STRICT;"
	"INSERT INTO call_firsts " FIRSTS_COLS " SELECT f.customer_id, f.id,"
	" f.started, f.agent_id, i.id, i.started, i.agent_id"
	" FROM (SELECT DISTINCT customer_id AS cid FROM calls) k"
	" JOIN calls f ON f.id = " LIVE_FIRST("k.cid", "")
	" LEFT JOIN calls i ON i.id = " LIVE_FIRST("k.cid", WITH_INTENT) ";"
	"CREATE INDEX call_firsts_first ON call_firsts(first_agent,"
	" first_started);"
	"CREATE INDEX call_firsts_intent ON call_firsts(intent_agent,"
	" intent_started);",

	/*
	 * The follow-up and deal groups: an agent's rows of the period
	 * only (follow-ups from the index alone), where the agent_id
	 * indexes, prefixes of these, fetched every row the agent ever
	 * had.  A deal's time is an expression (closed, else created).
	 * The sales figures read each deal's customer's label: from
	 * customers_label, a few MB, instead of a random page of the
	 * customers table per deal.
	 */
	"CREATE INDEX followups_agent_due ON followups(agent_id, due,"
	" deleted, status, updated);"
	"DROP INDEX followups_agent;"
	"CREATE INDEX deals_agent_time ON deals(agent_id,"
	" coalesce(closed, created));"
	"DROP INDEX deals_agent;"
	"CREATE INDEX customers_label ON customers(id, label);",

	"CREATE TRIGGER calls_first_insert AFTER INSERT ON calls"
	" WHEN NEW.deleted = 0 BEGIN"
	" INSERT INTO call_firsts (customer_id, first_id, first_started,"
	" first_agent) VALUES (NEW.customer_id, NEW.id, NEW.started,"
	" NEW.agent_id) ON CONFLICT (customer_id) DO UPDATE SET"
	" first_id = excluded.first_id, first_started = excluded.first_started,"
	" first_agent = excluded.first_agent"
	" WHERE excluded.first_started < first_started"
	" OR (excluded.first_started = first_started"
	" AND excluded.first_id < first_id);"
	" UPDATE call_firsts SET intent_id = NEW.id,"
	" intent_started = NEW.started, intent_agent = NEW.agent_id"
	" WHERE customer_id = NEW.customer_id"
	" AND (NEW.intent = 'medium' OR NEW.intent = 'high')"
	" AND (intent_id IS NULL OR NEW.started < intent_started"
	" OR (NEW.started = intent_started AND NEW.id < intent_id));"
	" END;",

	"CREATE TRIGGER calls_first_update AFTER UPDATE OF id, customer_id,"
	" agent_id, started, intent, deleted ON calls"
	" WHEN " CALL_MOVED("id") " OR " CALL_MOVED("customer_id")
	" OR " CALL_MOVED("agent_id") " OR " CALL_MOVED("started")
	" OR " CALL_MOVED("intent") " OR " CALL_MOVED("deleted") " BEGIN "
	RECOMPUTE("OLD.customer_id", "")
	RECOMPUTE("NEW.customer_id", " AND NEW.customer_id IS NOT"
	" OLD.customer_id")
	" END;",

	"CREATE TRIGGER calls_first_delete AFTER DELETE ON calls"
	" WHEN OLD.deleted = 0 BEGIN "
	RECOMPUTE("OLD.customer_id", "")
	" END;",
	NULL
};

/*
 * Version 8: calls counted per agent and 15-minute slot (docs/reports.md
 * §5, docs/schema.md §3.2).  The calls group summed every call of the
 * period, about 0.5 us a call: 4.5-5 s for a company year of 9.7
 * million (docs/performance.md §10.1).  call_slots keeps, per agent and
 * slot = started / 900, the live calls, connected calls and connected
 * talk seconds, so a report adds the whole slots of its period from here
 * and reads only the partial slots at either end from calls.  A row
 * exists exactly while its slot has a live call: the table equals the
 * GROUP BY of live calls the migration fills it with.  Triggers keep it
 * in the transaction of every write to calls: an insert adds the call; an
 * update of a column a figure reads (a correction, a tombstone, an
 * erasure, which tombstones) takes the old call out and puts the new one
 * in; a delete takes the call out.  A call with no agent counts for
 * nobody (docs/reports.md §1) and has no row.  The counters are derived
 * from calls, so the migration rebuilds them whole rather than trust a
 * table a vault taken back to an earlier version may have left.
 */
#define SLOT_OF(c) "(" c ".started / 900)" /* started >= 0: floor */
#define SLOT_CONN(c) "(CASE WHEN " c ".outcome = 'answered' OR " c \
	".outcome = 'refused' THEN 1 ELSE 0 END)"
#define SLOT_TALK(c) "(CASE WHEN " c ".outcome = 'answered' OR " c \
	".outcome = 'refused' THEN " c ".duration ELSE 0 END)"
#define SLOT_LIVE(c) c ".deleted = 0 AND " c ".agent_id IS NOT NULL"
#define SLOT_FIGS_CHANGED "NEW.agent_id IS NOT OLD.agent_id" \
	" OR NEW.started IS NOT OLD.started OR NEW.outcome IS NOT OLD.outcome" \
	" OR NEW.duration IS NOT OLD.duration OR NEW.deleted IS NOT OLD.deleted"
#define SLOT_ADD(c) "INSERT INTO call_slots (agent_id, slot, calls," \
	" connected, talk) VALUES (" c ".agent_id, " SLOT_OF(c) ", 1, " \
	SLOT_CONN(c) ", " SLOT_TALK(c) ") ON CONFLICT (agent_id, slot)" \
	" DO UPDATE SET calls = calls + 1," \
	" connected = connected + excluded.connected," \
	" talk = talk + excluded.talk;"
#define SLOT_SUB(c) "UPDATE call_slots SET calls = calls - 1," \
	" connected = connected - " SLOT_CONN(c) "," \
	" talk = talk - " SLOT_TALK(c) \
	" WHERE agent_id = " c ".agent_id AND slot = " SLOT_OF(c) ";" \
	"DELETE FROM call_slots WHERE agent_id = " c ".agent_id" \
	" AND slot = " SLOT_OF(c) " AND calls = 0;"
static const char *const migration_8[] = {
	"DROP TRIGGER IF EXISTS calls_slot_insert;"
	"DROP TRIGGER IF EXISTS calls_slot_unset;"
	"DROP TRIGGER IF EXISTS calls_slot_set;"
	"DROP TRIGGER IF EXISTS calls_slot_delete;"
	"DROP TABLE IF EXISTS call_slots;"
	"CREATE TABLE call_slots ("
	" agent_id INTEGER NOT NULL,"
	" slot INTEGER NOT NULL,"
	" calls INTEGER NOT NULL CHECK (calls >= 0),"
	" connected INTEGER NOT NULL CHECK (connected BETWEEN 0 AND calls),"
	" talk INTEGER NOT NULL CHECK (talk >= 0),"
	" PRIMARY KEY (agent_id, slot)) STRICT, WITHOUT ROWID;"
	"INSERT INTO call_slots (agent_id, slot, calls, connected, talk)"
	" SELECT c.agent_id, " SLOT_OF("c") ", count(*), sum(" SLOT_CONN("c")
	"), sum(" SLOT_TALK("c") ") FROM calls c INDEXED BY calls_agent_time"
	" WHERE " SLOT_LIVE("c") " GROUP BY c.agent_id, " SLOT_OF("c") ";",

	"CREATE TRIGGER calls_slot_insert AFTER INSERT ON calls"
	" WHEN " SLOT_LIVE("NEW") " BEGIN " SLOT_ADD("NEW") " END;"
	"CREATE TRIGGER calls_slot_unset AFTER UPDATE OF agent_id, started,"
	" outcome, duration, deleted ON calls WHEN " SLOT_LIVE("OLD")
	" AND (" SLOT_FIGS_CHANGED ") BEGIN " SLOT_SUB("OLD") " END;"
	"CREATE TRIGGER calls_slot_set AFTER UPDATE OF agent_id, started,"
	" outcome, duration, deleted ON calls WHEN " SLOT_LIVE("NEW")
	" AND (" SLOT_FIGS_CHANGED ") BEGIN " SLOT_ADD("NEW") " END;"
	"CREATE TRIGGER calls_slot_delete AFTER DELETE ON calls"
	" WHEN " SLOT_LIVE("OLD") " BEGIN " SLOT_SUB("OLD") " END;",
	NULL
};

/*
 * Version 9: customer lists (docs/schema.md §3.2, §4).  An agent's list
 * counted the agent's whole scope for its total and read and sorted the
 * whole scope for a page of 50, since customers_scope orders an owner's
 * rows by label, not id: 35 ms of CPU a list at a million customers
 * (docs/performance.md).  customers_scope_id walks an owner's live rows
 * in id order with the label at hand, so a page at offset o reads o +
 * limit index entries and the rows it returns.  customer_counts keeps the
 * live customers per owner and label (0 and '' where a customer has none:
 * user ids start at 1 and a label is never empty), so a total by scope
 * and label adds a few rows.  A row exists exactly while it counts a live
 * customer: the table equals the GROUP BY the migration fills it with.
 * Triggers keep it in the transaction of every write to customers: an
 * insert adds the customer; an update of owner_id, deleted or label (a
 * reassignment, a transfer, a relabel, a tombstone, an erasure) takes the
 * old row out and puts the new one in; a delete takes it out.  Derived
 * data, so rebuilt whole, as call_slots; the index too, for a vault taken
 * back to an earlier version that still has it.
 */
#define CC_OWNER(c) "coalesce(" c ".owner_id, 0)"
#define CC_LABEL(c) "coalesce(" c ".label, '')"
#define CC_CHANGED "NEW.owner_id IS NOT OLD.owner_id" \
	" OR NEW.deleted IS NOT OLD.deleted OR NEW.label IS NOT OLD.label"
#define CC_ADD(c) "INSERT INTO customer_counts (owner_id, label, n)" \
	" VALUES (" CC_OWNER(c) ", " CC_LABEL(c) ", 1)" \
	" ON CONFLICT (owner_id, label) DO UPDATE SET n = n + 1;"
#define CC_SUB(c) "UPDATE customer_counts SET n = n - 1" \
	" WHERE owner_id = " CC_OWNER(c) " AND label = " CC_LABEL(c) ";" \
	"DELETE FROM customer_counts WHERE owner_id = " CC_OWNER(c) \
	" AND label = " CC_LABEL(c) " AND n = 0;"
static const char *const migration_9[] = {
	"DROP INDEX IF EXISTS customers_scope_id;"
	"CREATE INDEX customers_scope_id ON customers(owner_id, deleted, id,"
	" label);",

	"DROP TRIGGER IF EXISTS customers_count_insert;"
	"DROP TRIGGER IF EXISTS customers_count_unset;"
	"DROP TRIGGER IF EXISTS customers_count_set;"
	"DROP TRIGGER IF EXISTS customers_count_delete;"
	"DROP TABLE IF EXISTS customer_counts;"
	"CREATE TABLE customer_counts ("
	" owner_id INTEGER NOT NULL,"
	" label TEXT NOT NULL,"
	" n INTEGER NOT NULL CHECK (n >= 0),"
	" PRIMARY KEY (owner_id, label)) STRICT, WITHOUT ROWID;"
	"INSERT INTO customer_counts (owner_id, label, n)"
	" SELECT " CC_OWNER("c") ", " CC_LABEL("c") ", count(*)"
	" FROM customers c INDEXED BY customers_scope WHERE c.deleted = 0"
	" GROUP BY 1, 2;",

	"CREATE TRIGGER customers_count_insert AFTER INSERT ON customers"
	" WHEN NEW.deleted = 0 BEGIN " CC_ADD("NEW") " END;"
	"CREATE TRIGGER customers_count_unset AFTER UPDATE OF owner_id,"
	" deleted, label ON customers WHEN OLD.deleted = 0"
	" AND (" CC_CHANGED ") BEGIN " CC_SUB("OLD") " END;"
	"CREATE TRIGGER customers_count_set AFTER UPDATE OF owner_id,"
	" deleted, label ON customers WHEN NEW.deleted = 0"
	" AND (" CC_CHANGED ") BEGIN " CC_ADD("NEW") " END;"
	"CREATE TRIGGER customers_count_delete AFTER DELETE ON customers"
	" WHEN OLD.deleted = 0 BEGIN " CC_SUB("OLD") " END;",
	NULL
};

struct migration {
	int version;
	const char *description;
	const char *const *sql; /* statements, NULL-terminated */
	int raw_schema;         /* 1: edits sqlite_schema (defensive off) */
};

static const struct migration migrations[] = {
	{ 1, "initial schema", migration_1, 0 },
	{ 2, "change requests, approvals, history, tombstones", migration_2,
	    0 },
	{ 3, "purge", migration_3, 1 },
	{ 4, "retention of tombstones", migration_4, 0 },
	{ 5, "report indexes", migration_5, 0 },
	{ 6, "do-not-call list", migration_6, 0 },
	{ 7, "first calls for reports", migration_7, 0 },
	{ 8, "calls per agent and 15-minute slot", migration_8, 0 },
	{ 9, "customer lists: id-ordered scope index, counts", migration_9,
	    0 },
};

/* Small helpers ------------------------------------------------------ */

/* SQLite result -> Coffer status.  Needs extended result codes on. */
static int
db_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return COFFER_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return COFFER_ERR_BUSY;
	case SQLITE_NOMEM:
		return COFFER_ERR_NOMEM;
	case SQLITE_NOTADB:
		return COFFER_ERR_KEY;
	case SQLITE_INTERRUPT:	/* store_interrupt: the daemon is stopping */
		return COFFER_ERR_UNAVAILABLE;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
		return COFFER_ERR_IO;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_CHECK ||
		    rc == SQLITE_CONSTRAINT_NOTNULL ||
		    rc == SQLITE_CONSTRAINT_DATATYPE)
			return COFFER_ERR_INVALID;
		return COFFER_ERR_CONFLICT;
	default:
		return COFFER_ERR_DB;
	}
}

static int
exec_sql(sqlite3 *db, const char *sql)
{
	return db_status(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

/* Reset a statement so it holds no read snapshot and no stale values. */
static void
stmt_done(sqlite3_stmt *s)
{
	if (s != NULL) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
}

static int
prepare(struct store *st, const char *sql, int persistent,
    sqlite3_stmt **out)
{
	return db_status(sqlite3_prepare_v3(st->db, sql, -1,
	    persistent ? SQLITE_PREPARE_PERSISTENT : 0, out, NULL));
}

struct sqlbuf {
	char s[SQL_MAX];
	size_t n;
	int overflow;
};

static void sb_add(struct sqlbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Only names from the static schema tables are ever formatted in here. */
static void
sb_add(struct sqlbuf *b, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	w = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= sizeof(b->s) - b->n)
		b->overflow = 1;
	else
		b->n += (size_t)w;
}

static int
query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL)) != SQLITE_OK)
		return db_status(rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? COFFER_OK : db_status(rc == SQLITE_DONE ?
	    SQLITE_ERROR : rc);
}

/* Opening ------------------------------------------------------------ */

/*
 * SQLite creates files with the umask's mode; a vault must be 0600 from
 * the first byte, so we create it ourselves.  The -wal and -shm files
 * inherit the main file's mode.
 */
static int
prepare_file(const char *path, int create)
{
	struct stat sb;
	int fd;

	if (lstat(path, &sb) == 0)
		return S_ISREG(sb.st_mode) ? COFFER_OK : COFFER_ERR_IO;
	if (errno != ENOENT)
		return COFFER_ERR_IO;
	if (!create)
		return COFFER_ERR_NOT_FOUND;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return errno == EEXIST ? COFFER_OK : COFFER_ERR_IO;
	close(fd);
	return COFFER_OK;
}

/*
 * Raw-key syntax x'<64 hex>': SQLCipher uses the bytes as the encryption
 * key and skips PBKDF2 (our key already comes from a KDF).  The hex copy
 * lives in guarded memory and is wiped by sodium_free.
 */
static int
apply_key(sqlite3 *db, const unsigned char key[32])
{
	const size_t len = 2 + 64 + 1;
	char *k;
	int rc;

	if ((k = sodium_malloc(len + 1)) == NULL)
		return COFFER_ERR_NOMEM;
	k[0] = 'x';
	k[1] = '\'';
	sodium_bin2hex(k + 2, 65, key, 32);
	k[66] = '\'';
	k[67] = '\0';
	rc = sqlite3_key(db, k, (int)len);
	sodium_free(k);
	return rc == SQLITE_OK ? COFFER_OK : COFFER_ERR_KEY;
}

/*
 * cipher_memory_security stays at its default (off since SQLCipher 4.5):
 * turning it on wipes every SQLite allocation and costs several times the
 * read speed; SQLCipher locks and wipes its own key material either way.
 */
static int
configure(sqlite3 *db)
{
	int rc;

	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	sqlite3_busy_timeout(db, 5000);
	/* The first read decrypts page 1: a wrong key fails right here. */
	if ((rc = exec_sql(db, "SELECT count(*) FROM sqlite_master"))
	    != COFFER_OK)
		return rc;
	return exec_sql(db, "PRAGMA journal_mode = WAL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = ON;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA temp_store = MEMORY;"
	    "PRAGMA cache_size = " CACHE_KIB ";");
}

void
store_memory_limit(int64_t bytes)
{
	sqlite3_soft_heap_limit64(bytes);
}

static int
record_migration(sqlite3 *db, const struct migration *m)
{
	sqlite3_stmt *s = NULL;
	char sql[64];
	int rc;

	/* REPLACE: a vault taken back to an earlier version (as tests do)
	 * may still hold the row of a step it runs again */
	rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO migrations"
	    " (version, applied, description) VALUES (?1, ?2, ?3)", -1, &s,
	    NULL);
	if (rc != SQLITE_OK)
		return db_status(rc);
	sqlite3_bind_int(s, 1, m->version);
	sqlite3_bind_int64(s, 2, (int64_t)time(NULL));
	sqlite3_bind_text(s, 3, m->description, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_status(rc);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", m->version);
	return exec_sql(db, sql);
}

static int
run_steps(sqlite3 *db, const char *const *sql)
{
	int rc = COFFER_OK;

	for (; *sql != NULL && rc == COFFER_OK; sql++)
		rc = exec_sql(db, *sql);
	return rc;
}

/*
 * Bring the schema to STORE_SCHEMA_VERSION in one IMMEDIATE transaction,
 * re-reading the version inside it so two processes opening a new vault
 * at once do not both run the steps.
 */
static int
migrate(sqlite3 *db, int create)
{
	int64_t v = 0, app = 0;
	size_t i;
	int rc;

	if ((rc = exec_sql(db, "BEGIN IMMEDIATE")) != COFFER_OK)
		return rc;
	if ((rc = query_int(db, "PRAGMA user_version", &v)) != COFFER_OK ||
	    (rc = query_int(db, "PRAGMA application_id", &app)) != COFFER_OK)
		goto out;
	rc = COFFER_ERR_DB;
	if (v > STORE_SCHEMA_VERSION || (v > 0 && app != APPLICATION_ID) ||
	    (v == 0 && !create))
		goto out; /* newer, foreign, or never initialised */
	rc = COFFER_OK;
	for (i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		if (migrations[i].version <= v)
			continue;
		if (migrations[i].raw_schema)
			sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 0,
			    (int *)NULL);
		rc = run_steps(db, migrations[i].sql);
		if (migrations[i].raw_schema)
			sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1,
			    (int *)NULL);
		if (rc != COFFER_OK ||
		    (rc = record_migration(db, &migrations[i])) != COFFER_OK)
			goto out;
	}
	rc = exec_sql(db, "COMMIT");
out:
	if (rc != COFFER_OK)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int
store_open(const char *path, const unsigned char key[32], int create,
    struct store **out)
{
	struct store *st = NULL;
	int rc, flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE;

	if (path == NULL || key == NULL || out == NULL)
		return COFFER_ERR_USAGE;
	*out = NULL;
	if (sodium_init() < 0)
		return COFFER_ERR_INTERNAL;
	if ((rc = prepare_file(path, create)) != COFFER_OK)
		return rc;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return COFFER_ERR_NOMEM;
	st->kinds = schema_kinds(&st->nkinds);
	rc = COFFER_ERR_INTERNAL;
	if (st->nkinds > KINDS_MAX)
		goto out;
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		rc = COFFER_ERR_DB;
		goto out;
	}
	/* library code does not print: SQLCipher logs to stderr otherwise */
	sqlite3_exec(st->db, "PRAGMA cipher_log_level = NONE", NULL, NULL,
	    NULL);
	if ((rc = apply_key(st->db, key)) != COFFER_OK ||
	    (rc = configure(st->db)) != COFFER_OK ||
	    (rc = migrate(st->db, create)) != COFFER_OK)
		goto out;
	*out = st;
	st = NULL; /* transferred */
out:
	store_close(st);
	return rc;
}

void
store_interrupt(struct store *st)
{
	if (st != NULL && st->db != NULL)
		sqlite3_interrupt(st->db);
}

/*
 * No "PRAGMA optimize" at close: statistics are gathered by the daemon at
 * start and hourly, under its write mutex (store_optimize).  At close it
 * came at no set time, a vault got statistics only once a daemon had
 * stopped cleanly, and a login's connection could wait up to the busy
 * timeout for the write lock while a writer waited on it.
 */
void
store_close(struct store *st)
{
	size_t i, j;

	if (st == NULL)
		return;
	for (i = 0; i < KINDS_MAX; i++)
		for (j = 0; j < SCOPES; j++)
			sqlite3_finalize(st->get[i][j]);
	sqlite3_finalize(st->user_by_name);
	sqlite3_finalize(st->user_by_id);
	sqlite3_finalize(st->insert);
	if (st->db != NULL)
		sqlite3_close_v2(st->db);
	free(st);
}

int
store_optimize(struct store *st)
{
	char sql[96];

	if (st == NULL || st->db == NULL)
		return COFFER_ERR_INVALID;
	snprintf(sql, sizeof(sql), "PRAGMA analysis_limit = %d; "
	    "PRAGMA optimize = 0x10002;", STORE_ANALYSIS_LIMIT);
	return exec_sql(st->db, sql);
}

/* Transactions ------------------------------------------------------- */

int
store_begin(struct store *st)
{
	return exec_sql(st->db, "BEGIN IMMEDIATE");
}

int
store_commit(struct store *st)
{
	return exec_sql(st->db, "COMMIT");
}

void
store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Our own transaction around a multi-step write, unless the caller has one. */
static int
tx_enter(struct store *st, int *began)
{
	int rc;

	*began = 0;
	if (!sqlite3_get_autocommit(st->db))
		return COFFER_OK;
	if ((rc = store_begin(st)) == COFFER_OK)
		*began = 1;
	return rc;
}

static int
tx_leave(struct store *st, int began, int rc)
{
	if (!began)
		return rc;
	if (rc == COFFER_OK && (rc = store_commit(st)) == COFFER_OK)
		return rc;
	store_rollback(st);
	return rc;
}

/* Users -------------------------------------------------------------- */

static const char *const role_names[] = {
	[ROLE_AGENT] = "agent", [ROLE_MANAGER] = "manager",
	[ROLE_COMPLIANCE] = "compliance", [ROLE_ADMIN] = "admin",
};
static const char *const levels[] = { "public", "internal", "confidential",
	"secret", NULL };

#define USER_COLS "u.id, u.name, u.display, u.role, u.team, u.manager_id, " \
	"u.clearance, u.pubkey, u.active, u.version, u.created, u.updated"

const char *
store_role_name(enum user_role r)
{
	if (r < ROLE_AGENT || r > ROLE_ADMIN)
		return NULL;
	return role_names[r];
}

int
store_role_parse(const char *s, enum user_role *out)
{
	int r;

	for (r = ROLE_AGENT; s != NULL && r <= ROLE_ADMIN; r++) {
		if (strcmp(s, role_names[r]) == 0) {
			*out = (enum user_role)r;
			return COFFER_OK;
		}
	}
	return COFFER_ERR_INVALID;
}

static void
copy_col(char *dst, size_t dstsz, sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(dst, dstsz, "%s", t != NULL ? (const char *)t : "");
}

static int
user_from_row(sqlite3_stmt *s, struct store_user *u)
{
	int r;

	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(s, 0);
	copy_col(u->name, sizeof(u->name), s, 1);
	copy_col(u->display, sizeof(u->display), s, 2);
	if (store_role_parse((const char *)sqlite3_column_text(s, 3), &u->role)
	    != COFFER_OK)
		return COFFER_ERR_DB;
	copy_col(u->team, sizeof(u->team), s, 4);
	u->manager_id = sqlite3_column_int64(s, 5);
	copy_col(u->clearance, sizeof(u->clearance), s, 6);
	if (sqlite3_column_bytes(s, 7) != 32)
		return COFFER_ERR_DB;
	memcpy(u->pubkey, sqlite3_column_blob(s, 7), 32);
	r = sqlite3_column_int(s, 8);
	u->active = r != 0;
	u->version = sqlite3_column_int64(s, 9);
	u->created = sqlite3_column_int64(s, 10);
	u->updated = sqlite3_column_int64(s, 11);
	return COFFER_OK;
}

static int
user_fetch(sqlite3_stmt *s, struct store_user *u)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		rc = user_from_row(s, u);
	else
		rc = rc == SQLITE_DONE ? COFFER_ERR_NOT_FOUND : db_status(rc);
	stmt_done(s);
	return rc;
}

int
store_user_get(struct store *st, const char *name, struct store_user *u)
{
	int rc;

	if (st->user_by_name == NULL && (rc = prepare(st, "SELECT " USER_COLS
	    " FROM users u WHERE u.name = ?1", 1, &st->user_by_name))
	    != COFFER_OK)
		return rc;
	sqlite3_bind_text(st->user_by_name, 1, name, -1, SQLITE_STATIC);
	return user_fetch(st->user_by_name, u);
}

int
store_user_get_id(struct store *st, int64_t id, struct store_user *u)
{
	int rc;

	if (st->user_by_id == NULL && (rc = prepare(st, "SELECT " USER_COLS
	    " FROM users u WHERE u.id = ?1", 1, &st->user_by_id)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(st->user_by_id, 1, id);
	return user_fetch(st->user_by_id, u);
}

/* Printable text: no C0 controls or DEL (names end up on terminals). */
static int
printable(const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max && s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	}
	return i < max;
}

static int
login_name_ok(const char *s)
{
	size_t i, n = strnlen(s, 65);

	if (n < 1 || n > 64 || !((s[0] >= 'a' && s[0] <= 'z') ||
	    (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int
level_ok(const char *s)
{
	size_t i;

	for (i = 0; levels[i] != NULL; i++)
		if (strcmp(s, levels[i]) == 0)
			return 1;
	return 0;
}

static int
user_check(struct store *st, const struct store_user *u,
    struct coffer_errdetail *d)
{
	struct store_user m;
	int rc;

	if (!login_name_ok(u->name))
		return coffer_detail(d, COFFER_ERR_INVALID, "name", "name: 1 to "
		    "64 letters, digits, '.', '_' or '-', starting with a letter"
		    " or digit");
	if (!printable(u->display, sizeof(u->display)))
		return coffer_detail(d, COFFER_ERR_INVALID, "display",
		    "display: control character or too long");
	if (!printable(u->team, sizeof(u->team)))
		return coffer_detail(d, COFFER_ERR_INVALID, "team",
		    "team: control character or too long");
	if (store_role_name(u->role) == NULL)
		return coffer_detail(d, COFFER_ERR_INVALID, "role",
		    "role: must be one of agent, manager, compliance, admin");
	if (strnlen(u->clearance, sizeof(u->clearance)) == sizeof(u->clearance)
	    || !level_ok(u->clearance))
		return coffer_detail(d, COFFER_ERR_INVALID, "clearance",
		    "clearance: must be one of public, internal, confidential, "
		    "secret");
	if (u->manager_id < 0 || (u->manager_id != 0 && u->manager_id == u->id))
		return coffer_detail(d, COFFER_ERR_INVALID, "manager",
		    "manager: not a valid user");
	if (u->manager_id == 0)
		return COFFER_OK;
	rc = store_user_get_id(st, u->manager_id, &m);
	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, "manager",
		    "manager: no such user");
	return rc;
}

/* Columns 1..7 of users in the order both add and update bind them. */
static void
user_bind(sqlite3_stmt *s, const struct store_user *u, int64_t now)
{
	sqlite3_bind_text(s, 1, u->display, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, role_names[u->role], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, u->team, -1, SQLITE_STATIC);
	if (u->manager_id > 0)
		sqlite3_bind_int64(s, 4, u->manager_id);
	else
		sqlite3_bind_null(s, 4);
	sqlite3_bind_text(s, 5, u->clearance, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 6, u->pubkey, 32, SQLITE_STATIC);
	sqlite3_bind_int(s, 7, u->active ? 1 : 0);
	sqlite3_bind_int64(s, 8, now);
}

int
store_user_add(struct store *st, struct store_user *u,
    struct coffer_errdetail *detail)
{
	sqlite3_stmt *s = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc;

	if ((rc = user_check(st, u, detail)) != COFFER_OK)
		return rc;
	rc = prepare(st, "INSERT INTO users (display, role, team, manager_id, "
	    "clearance, pubkey, active, created, updated, name, version) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, 1)", 0, &s);
	if (rc != COFFER_OK)
		return rc;
	user_bind(s, u, now);
	sqlite3_bind_text(s, 9, u->name, -1, SQLITE_STATIC);
	rc = db_status(sqlite3_step(s));
	sqlite3_finalize(s);
	if (rc == COFFER_ERR_CONFLICT)
		return coffer_detail(detail, rc, "name", "name: %s already exists",
		    u->name);
	if (rc != COFFER_OK)
		return rc;
	u->id = sqlite3_last_insert_rowid(st->db);
	u->version = 1;
	u->created = u->updated = now;
	return COFFER_OK;
}

int
store_user_update(struct store *st, const struct store_user *u,
    struct coffer_errdetail *detail)
{
	sqlite3_stmt *s = NULL;
	struct store_user cur, chk;
	int rc;

	if ((rc = store_user_get_id(st, u->id, &cur)) != COFFER_OK)
		return rc;
	/* The login name never changes: check the new values under the old. */
	chk = *u;
	memcpy(chk.name, cur.name, sizeof(chk.name));
	if ((rc = user_check(st, &chk, detail)) != COFFER_OK)
		return rc;
	rc = prepare(st, "UPDATE users SET display = ?1, role = ?2, team = ?3, "
	    "manager_id = ?4, clearance = ?5, pubkey = ?6, active = ?7, "
	    "updated = ?8, version = version + 1 WHERE id = ?9", 0, &s);
	if (rc != COFFER_OK)
		return rc;
	user_bind(s, u, (int64_t)time(NULL));
	sqlite3_bind_int64(s, 9, u->id);
	rc = db_status(sqlite3_step(s));
	sqlite3_finalize(s);
	if (rc == COFFER_OK && sqlite3_changes(st->db) != 1)
		rc = COFFER_ERR_NOT_FOUND;
	return rc;
}

cbor_item_t *
store_user_to_map(const struct store_user *u)
{
	cbor_item_t *m = msg_new_map();
	char fpr[USERKEY_FPR_TEXT];
	const char *role = store_role_name(u->role);

	if (m == NULL)
		return NULL;
	userkey_fingerprint(u->pubkey, fpr, sizeof(fpr));
	if (msg_put_int(m, "id", u->id) != COFFER_OK ||
	    msg_put_str(m, "name", u->name) != COFFER_OK ||
	    msg_put_str(m, "display", u->display) != COFFER_OK ||
	    msg_put_str(m, "role", role != NULL ? role : "") != COFFER_OK ||
	    msg_put_str(m, "team", u->team) != COFFER_OK ||
	    msg_put_str(m, "clearance", u->clearance) != COFFER_OK ||
	    msg_put_bool(m, "active", u->active) != COFFER_OK ||
	    msg_put_str(m, "fingerprint", fpr) != COFFER_OK ||
	    msg_put_bytes(m, "pubkey", u->pubkey, 32) != COFFER_OK ||
	    msg_put_int(m, "version", u->version) != COFFER_OK ||
	    msg_put_int(m, "created", u->created) != COFFER_OK ||
	    msg_put_int(m, "updated", u->updated) != COFFER_OK) {
		cbor_decref(&m);
		return NULL;
	}
	return m;
}

static int
user_list_push(sqlite3_stmt *s, cbor_item_t *arr)
{
	struct store_user u;
	cbor_item_t *m;
	const unsigned char *mgr;
	int rc;

	if ((rc = user_from_row(s, &u)) != COFFER_OK)
		return rc;
	if ((m = store_user_to_map(&u)) == NULL)
		return COFFER_ERR_NOMEM;
	mgr = sqlite3_column_text(s, 12);
	if (mgr != NULL && msg_put_str(m, "manager", (const char *)mgr) !=
	    COFFER_OK) {
		cbor_decref(&m);
		return COFFER_ERR_NOMEM;
	}
	return msg_push(arr, m);
}

int
store_user_list(struct store *st, cbor_item_t **out)
{
	sqlite3_stmt *s = NULL;
	cbor_item_t *arr = NULL;
	int rc;

	if ((rc = prepare(st, "SELECT " USER_COLS ", m.name FROM users u "
	    "LEFT JOIN users m ON m.id = u.manager_id ORDER BY u.id", 0, &s))
	    != COFFER_OK)
		return rc;
	rc = COFFER_ERR_NOMEM;
	if ((arr = msg_new_array()) == NULL)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = user_list_push(s, arr)) != COFFER_OK)
			goto out;
	}
	if ((rc = db_status(rc)) != COFFER_OK)
		goto out;
	*out = arr;
	arr = NULL; /* transferred */
out:
	sqlite3_finalize(s);
	if (arr != NULL)
		cbor_decref(&arr);
	return rc;
}

/* Records: SQL pieces ------------------------------------------------ */

static int
kind_index(const struct store *st, const struct kind_def *k, size_t *idx)
{
	if (k < st->kinds || k >= st->kinds + st->nkinds)
		return COFFER_ERR_INTERNAL; /* not one of schema.c's kinds */
	*idx = (size_t)(k - st->kinds);
	return COFFER_OK;
}

static const struct field_def *
owner_field(const struct kind_def *k)
{
	size_t i;

	for (i = 0; i < k->nfields; i++)
		if (k->fields[i].flags & FF_OWNER)
			return &k->fields[i];
	return NULL;
}

/* The FT_REF field that leads to the owning customer (VIA_CUSTOMER). */
static const struct field_def *
customer_ref(const struct kind_def *k)
{
	size_t i;

	for (i = 0; i < k->nfields; i++)
		if (k->fields[i].type == FT_REF &&
		    strcmp(k->fields[i].ref_kind, "customer") == 0)
			return &k->fields[i];
	return NULL;
}

/* Is user within manager's TEAM scope (SQL_TEAM_USERS)? */
static int
in_team(struct store *st, int64_t manager, int64_t user)
{
	sqlite3_stmt *s = NULL;
	int found = 0;

	if (prepare(st, "SELECT 1 WHERE ?2 IN (" SQL_TEAM_USERS("?1") ")", 0,
	    &s) != COFFER_OK)
		return 0;
	sqlite3_bind_int64(s, 1, manager);
	sqlite3_bind_int64(s, 2, user);
	found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return found;
}

/*
 * The scope a request really gets for kind k: shared kinds are visible to
 * every scope but NONE, and a scope that names nobody (team "", user 0)
 * sees nothing rather than every row whose owner is unset.
 */
static enum scope_kind
eff_scope(const struct kind_def *k, const struct store_scope *s)
{
	if (s == NULL || s->kind <= SCOPE_NONE || s->kind > SCOPE_ALL)
		return SCOPE_NONE;
	if (k->scope == SCOPE_SHARED)
		return SCOPE_ALL;
	if (s->kind == SCOPE_OWN && s->user_id <= 0)
		return SCOPE_NONE;
	if (s->kind == SCOPE_TEAM && (s->user_id <= 0 || s->team[0] == '\0'))
		return SCOPE_NONE;
	return s->kind;
}

static void
bind_scope(sqlite3_stmt *s, int idx, enum scope_kind sk,
    const struct store_scope *sc)
{
	if (sk == SCOPE_OWN || sk == SCOPE_TEAM)
		sqlite3_bind_int64(s, idx, sc->user_id);
}

/* The owning user's id as an expression over row t. */
static int
sql_owner(struct sqlbuf *b, const struct kind_def *k)
{
	const struct kind_def *ck = schema_kind("customer");
	const struct field_def *of, *ref;

	if (k->scope == SCOPE_VIA_OWNER_FIELD) {
		if ((of = owner_field(k)) == NULL)
			return COFFER_ERR_INTERNAL;
		sb_add(b, "t.%s", of->name);
		return COFFER_OK;
	}
	if (ck == NULL || (of = owner_field(ck)) == NULL ||
	    (ref = customer_ref(k)) == NULL)
		return COFFER_ERR_INTERNAL;
	sb_add(b, "(SELECT c.%s FROM %s c WHERE c.id = t.%s)", of->name,
	    ck->table, ref->name);
	return COFFER_OK;
}

static void
sql_columns(struct sqlbuf *b, const struct kind_def *k)
{
	size_t i;

	for (i = 0; i < k->nfields; i++)
		sb_add(b, "%st.%s", i ? ", " : "", k->fields[i].name);
}

/*
 * Point read: every column plus one computed "in scope" column, so a single
 * indexed lookup tells NOT_FOUND from DENIED.  ?1 is the id, ?2 the scope.
 */
static int
sql_get_rows(struct sqlbuf *b, const struct kind_def *k, enum scope_kind sk,
    int tombstones);

static int
sql_get(struct sqlbuf *b, const struct kind_def *k, enum scope_kind sk)
{
	return sql_get_rows(b, k, sk, 0);
}

/* As sql_get; tombstones 1 also finds deleted rows, flagged last. */
static int
sql_get_rows(struct sqlbuf *b, const struct kind_def *k, enum scope_kind sk,
    int tombstones)
{
	int rc = COFFER_OK;

	sb_add(b, "SELECT ");
	sql_columns(b, k);
	if (sk == SCOPE_NONE) {
		sb_add(b, ", 0");
	} else if (sk == SCOPE_ALL) {
		sb_add(b, ", 1");
	} else if (sk == SCOPE_OWN) {
		sb_add(b, ", coalesce(");
		rc = sql_owner(b, k);
		sb_add(b, " = ?2, 0)");
	} else {
		sb_add(b, ", coalesce(");
		rc = sql_owner(b, k);
		sb_add(b, " IN (%s), 0)", SQL_TEAM_USERS("?2"));
	}
	if (tombstones)
		sb_add(b, ", t.deleted FROM %s t WHERE t.id = ?1", k->table);
	else
		sb_add(b, " FROM %s t WHERE t.id = ?1 AND t.deleted = 0",
		    k->table);
	return rc != COFFER_OK ? rc : b->overflow ? COFFER_ERR_INTERNAL :
	    COFFER_OK;
}

static int sql_label_set(struct sqlbuf *b, const char *alias,
    const char *none, unsigned allow);

/*
 * The WHERE condition of a list in scope.  Rows reached through a customer
 * are selected by customer id set so the customer_id index drives it; the
 * label filter joins that set (a customer's label checked once, not once
 * per call: an agent's count of calls at a million customers took 0.5-0.8
 * s with a probe per row, 0.3-0.4 s so).  sql_label_cond adds the rest.
 */
static int
sql_scope_cond(struct sqlbuf *b, const struct kind_def *k,
    enum scope_kind sk, const struct store_scope *scope)
{
	const struct kind_def *ck = schema_kind("customer");
	const struct field_def *of, *ref;
	const char *team = SQL_TEAM_USERS("?");

	if (sk == SCOPE_ALL)
		return COFFER_OK;
	if (k->scope == SCOPE_VIA_OWNER_FIELD) {
		if ((of = owner_field(k)) == NULL)
			return COFFER_ERR_INTERNAL;
		if (sk == SCOPE_OWN)
			sb_add(b, " AND t.%s = ?", of->name);
		else
			sb_add(b, " AND t.%s IN (%s)", of->name, team);
		return COFFER_OK;
	}
	if (ck == NULL || (of = owner_field(ck)) == NULL ||
	    (ref = customer_ref(k)) == NULL)
		return COFFER_ERR_INTERNAL;
	sb_add(b, " AND t.%s IN (SELECT c.id FROM %s c WHERE c.%s", ref->name,
	    ck->table, of->name);
	if (sk == SCOPE_OWN)
		sb_add(b, " = ?");
	else
		sb_add(b, " IN (%s)", team);
	if (scope != NULL && scope->label_filter) {
		sb_add(b, " AND ");
		if (sql_label_set(b, "c", " IS NULL", scope->label_allow) !=
		    COFFER_OK)
			return COFFER_ERR_INTERNAL;
	}
	sb_add(b, ")");
	return COFFER_OK;
}

/* Values ------------------------------------------------------------- */

static int
item_int64(const cbor_item_t *v, int64_t *out)
{
	return msg_item_int(v, out) == COFFER_OK;
}

/* Bind a validated value; phones are stored in normalised form. */
static int
bind_value(sqlite3_stmt *s, int idx, const struct field_def *f,
    const cbor_item_t *v)
{
	char norm[32], raw[65];
	const char *txt;
	int64_t x;

	if (v == NULL || cbor_is_null(v))
		return db_status(sqlite3_bind_null(s, idx));
	switch (f->type) {
	case FT_PHONE:
		if (msg_item_str(v, raw, sizeof(raw)) != COFFER_OK ||
		    schema_normalize_phone(raw, norm, sizeof(norm)) != COFFER_OK)
			return COFFER_ERR_INVALID;
		return db_status(sqlite3_bind_text(s, idx, norm, -1,
		    SQLITE_TRANSIENT));
	case FT_TEXT:
	case FT_ENUM:
	case FT_EMAIL:
		if (!cbor_isa_string(v) || !cbor_string_is_definite(v))
			return COFFER_ERR_INVALID;
		/* libcbor may hold "" as a NULL handle; SQLite would bind NULL */
		txt = (const char *)cbor_string_handle(v);
		return db_status(sqlite3_bind_text(s, idx, txt != NULL ? txt :
		    "", (int)cbor_string_length(v), SQLITE_STATIC));
	case FT_BOOL:
		if (!cbor_is_bool(v))
			return COFFER_ERR_INVALID;
		return db_status(sqlite3_bind_int(s, idx, cbor_get_bool(v)));
	default:
		if (!item_int64(v, &x))
			return COFFER_ERR_INVALID;
		return db_status(sqlite3_bind_int64(s, idx, x));
	}
}

/* One row (columns in field order) as a record map; NULLs are omitted.
 * The schema's field names are distinct (test_schema), so no lookups. */
static int
row_to_map(sqlite3_stmt *s, const struct kind_def *k, cbor_item_t **out)
{
	cbor_item_t *m = msg_new_map();
	const struct field_def *f;
	const char *txt;
	int rc = COFFER_OK;
	size_t i;

	if (m == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < k->nfields && rc == COFFER_OK; i++) {
		f = &k->fields[i];
		if (sqlite3_column_type(s, (int)i) == SQLITE_NULL)
			continue;
		switch (f->type) {
		case FT_TEXT:
		case FT_ENUM:
		case FT_PHONE:
		case FT_EMAIL:
			txt = (const char *)sqlite3_column_text(s, (int)i);
			rc = txt != NULL ? msg_put_fresh(m, f->name,
			    msg_new_str(txt)) : COFFER_ERR_NOMEM;
			break;
		case FT_BOOL:
			rc = msg_put_fresh(m, f->name,
			    msg_new_bool(sqlite3_column_int(s, (int)i)));
			break;
		default:
			rc = msg_put_fresh(m, f->name,
			    msg_new_int(sqlite3_column_int64(s, (int)i)));
			break;
		}
	}
	if (rc != COFFER_OK) {
		cbor_decref(&m);
		return rc;
	}
	*out = m;
	return COFFER_OK;
}

/* Point reads -------------------------------------------------------- */

static int
get_stmt(struct store *st, const struct kind_def *k, enum scope_kind sk,
    sqlite3_stmt **out)
{
	struct sqlbuf b = { .n = 0 };
	size_t ki;
	int rc;

	if ((rc = kind_index(st, k, &ki)) != COFFER_OK)
		return rc;
	if (st->get[ki][sk] == NULL) {
		if ((rc = sql_get(&b, k, sk)) != COFFER_OK ||
		    (rc = prepare(st, b.s, 1, &st->get[ki][sk])) != COFFER_OK)
			return rc;
	}
	*out = st->get[ki][sk];
	return COFFER_OK;
}

/*
 * Look a row up with its scope flag.  On COFFER_OK the statement is on the
 * row and the caller must stmt_done() it; otherwise it is already reset.
 */
static int
row_lookup(struct store *st, const struct kind_def *k, int64_t id,
    const struct store_scope *scope, sqlite3_stmt **out, int *in_scope)
{
	enum scope_kind sk = eff_scope(k, scope);
	sqlite3_stmt *s;
	int rc;

	if ((rc = get_stmt(st, k, sk, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	bind_scope(s, 2, sk, scope);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		stmt_done(s);
		return rc == SQLITE_DONE ? COFFER_ERR_NOT_FOUND : db_status(rc);
	}
	*in_scope = sqlite3_column_int(s, (int)k->nfields);
	*out = s;
	return COFFER_OK;
}

int
store_record_get(struct store *st, const struct kind_def *k, int64_t id,
    const struct store_scope *scope, cbor_item_t **out)
{
	sqlite3_stmt *s = NULL;
	int rc, in_scope = 0;

	if ((rc = row_lookup(st, k, id, scope, &s, &in_scope)) != COFFER_OK)
		return rc;
	rc = in_scope ? row_to_map(s, k, out) : COFFER_ERR_DENIED;
	stmt_done(s);
	return rc;
}

/* Existence, scope and version of a row about to be written. */
static int
row_check(struct store *st, const struct kind_def *k, int64_t id,
    int64_t expected_version, const struct store_scope *scope)
{
	const struct field_def *vf = schema_field(k, "version");
	sqlite3_stmt *s = NULL;
	int rc, in_scope = 0;

	if (vf == NULL)
		return COFFER_ERR_INTERNAL;
	if ((rc = row_lookup(st, k, id, scope, &s, &in_scope)) != COFFER_OK)
		return rc;
	if (!in_scope)
		rc = COFFER_ERR_DENIED;
	else if (sqlite3_column_int64(s, (int)(vf - k->fields)) !=
	    expected_version)
		rc = COFFER_ERR_CONFLICT;
	stmt_done(s);
	return rc;
}

/* Reference and owner checks ----------------------------------------- */

static int
user_exists(struct store *st, int64_t id)
{
	struct store_user u;

	return store_user_get_id(st, id, &u);
}

/* An FT_REF must name an existing record the request may see. */
static int
check_ref(struct store *st, const struct field_def *f, int64_t id,
    const struct store_scope *scope, struct coffer_errdetail *d)
{
	const struct kind_def *rk = schema_kind(f->ref_kind);
	sqlite3_stmt *s = NULL;
	int rc, in_scope = 0;

	if (rk == NULL)
		return COFFER_ERR_INTERNAL;
	rc = row_lookup(st, rk, id, scope, &s, &in_scope);
	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, f->name,
		    "%s: no such %s", f->name, rk->name);
	if (rc != COFFER_OK)
		return rc;
	stmt_done(s);
	if (!in_scope)
		return coffer_detail(d, COFFER_ERR_DENIED, f->name,
		    "%s: %s %lld is not in your scope", f->name, rk->name,
		    (long long)id);
	return COFFER_OK;
}

/*
 * After a write the row must still be in the writer's scope: an agent
 * cannot hand a customer to someone else, a manager only within the team.
 * owner < 0 means "no owner".
 */
static int
check_owner(struct store *st, const struct field_def *f, int64_t owner,
    enum scope_kind sk, const struct store_scope *scope,
    struct coffer_errdetail *d)
{
	struct store_user u;
	int rc;

	if (owner < 0)
		return sk == SCOPE_ALL ? COFFER_OK : coffer_detail(d,
		    COFFER_ERR_DENIED, f->name, "%s: must be a user in your "
		    "scope", f->name);
	rc = store_user_get_id(st, owner, &u);
	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, f->name,
		    "%s: no such user", f->name);
	if (rc != COFFER_OK)
		return rc;
	/* one's own records are in every scope one has (no subtree walk) */
	if ((sk == SCOPE_OWN && owner != scope->user_id) ||
	    (sk == SCOPE_TEAM && owner != scope->user_id &&
	    !in_team(st, scope->user_id, owner)))
		return coffer_detail(d, COFFER_ERR_DENIED, f->name,
		    "%s: user %lld is not in your scope", f->name,
		    (long long)owner);
	return COFFER_OK;
}

static int
field_of_pair(const struct kind_def *k, const struct cbor_pair *p,
    const struct field_def **f)
{
	char name[64];

	if (msg_item_str(p->key, name, sizeof(name)) != COFFER_OK ||
	    (*f = schema_field(k, name)) == NULL)
		return COFFER_ERR_INVALID;
	return COFFER_OK;
}

/* Every reference, user id and owner in a create/update map. */
static int
check_links(struct store *st, const struct kind_def *k,
    const cbor_item_t *fields, enum scope_kind sk,
    const struct store_scope *scope, struct coffer_errdetail *d)
{
	struct cbor_pair *p = cbor_map_handle(fields);
	size_t i, n = cbor_map_size(fields);
	const struct field_def *f;
	int64_t x;
	int rc = COFFER_OK;

	for (i = 0; i < n && rc == COFFER_OK; i++) {
		if ((rc = field_of_pair(k, &p[i], &f)) != COFFER_OK)
			break;
		if (cbor_is_null(p[i].value)) {
			if (f->flags & FF_OWNER)
				rc = check_owner(st, f, -1, sk, scope, d);
			continue;
		}
		if (f->ref_kind == NULL || !item_int64(p[i].value, &x))
			continue;
		if (f->flags & FF_OWNER)
			rc = check_owner(st, f, x, sk, scope, d);
		else if (f->type == FT_REF)
			rc = check_ref(st, f, x, scope, d);
		else if ((rc = user_exists(st, x)) == COFFER_ERR_NOT_FOUND)
			rc = coffer_detail(d, COFFER_ERR_INVALID, f->name,
			    "%s: no such user", f->name);
	}
	return rc;
}

/* Create ------------------------------------------------------------- */

/* The owner to add when a scoped writer did not name one. */
static int64_t
default_owner(const struct kind_def *k, const cbor_item_t *fields,
    enum scope_kind sk, const struct store_scope *scope)
{
	const struct field_def *of = owner_field(k);

	if (of == NULL || msg_get(fields, of->name) != NULL ||
	    sk == SCOPE_ALL || scope->user_id <= 0)
		return 0;
	return scope->user_id;
}

static int
insert_sql(struct sqlbuf *b, const struct kind_def *k,
    const cbor_item_t *fields, int64_t owner, int *nbind)
{
	struct cbor_pair *p = cbor_map_handle(fields);
	size_t i, n = cbor_map_size(fields);
	const struct field_def *f;
	int nb = 0;

	sb_add(b, "INSERT INTO %s (", k->table);
	for (i = 0; i < n; i++) {
		if (cbor_is_null(p[i].value))
			continue;
		if (field_of_pair(k, &p[i], &f) != COFFER_OK)
			return COFFER_ERR_INVALID;
		sb_add(b, "%s, ", f->name);
		nb++;
	}
	if (owner > 0) {
		sb_add(b, "%s, ", owner_field(k)->name);
		nb++;
	}
	sb_add(b, "version, created, updated) VALUES (");
	for (i = 0; i < (size_t)nb; i++)
		sb_add(b, "?, ");
	sb_add(b, "1, ?, ?)");
	*nbind = nb;
	return b->overflow ? COFFER_ERR_INTERNAL : COFFER_OK;
}

static int
bind_fields(sqlite3_stmt *s, const struct kind_def *k,
    const cbor_item_t *fields, int skip_null, int *idx)
{
	struct cbor_pair *p = cbor_map_handle(fields);
	size_t i, n = cbor_map_size(fields);
	const struct field_def *f;
	int rc;

	for (i = 0; i < n; i++) {
		if (skip_null && cbor_is_null(p[i].value))
			continue;
		if ((rc = field_of_pair(k, &p[i], &f)) != COFFER_OK ||
		    (rc = bind_value(s, (*idx)++, f, p[i].value)) != COFFER_OK)
			return rc;
	}
	return COFFER_OK;
}

static int
do_insert(struct store *st, const struct kind_def *k,
    const cbor_item_t *fields, int64_t owner, int64_t *id)
{
	struct sqlbuf b = { .n = 0 };
	sqlite3_stmt *s = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc, nb = 0, idx = 1;

	if ((rc = insert_sql(&b, k, fields, owner, &nb)) != COFFER_OK)
		return rc;
	if (st->insert != NULL && strcmp(st->insert_sql, b.s) == 0) {
		s = st->insert;
	} else {
		sqlite3_finalize(st->insert);
		st->insert = NULL;
		if ((rc = prepare(st, b.s, 1, &s)) != COFFER_OK)
			return rc;
		st->insert = s;
		snprintf(st->insert_sql, sizeof(st->insert_sql), "%s", b.s);
	}
	if ((rc = bind_fields(s, k, fields, 1, &idx)) != COFFER_OK)
		goto out;
	if (owner > 0)
		sqlite3_bind_int64(s, idx++, owner);
	sqlite3_bind_int64(s, idx++, now);
	sqlite3_bind_int64(s, idx++, now);
	if ((rc = db_status(sqlite3_step(s))) == COFFER_OK)
		*id = sqlite3_last_insert_rowid(st->db);
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

int
store_record_create(struct store *st, const struct kind_def *k,
    const cbor_item_t *fields, const struct store_scope *scope,
    int64_t *id, struct coffer_errdetail *detail)
{
	enum scope_kind sk = eff_scope(k, scope);
	int64_t owner;
	size_t ki;
	int rc, began = 0;

	if ((rc = kind_index(st, k, &ki)) != COFFER_OK ||
	    (rc = schema_validate(k, fields, 1, detail)) != COFFER_OK)
		return rc;
	if (sk == SCOPE_NONE)
		return COFFER_ERR_DENIED;
	owner = default_owner(k, fields, sk, scope);
	if ((rc = tx_enter(st, &began)) != COFFER_OK)
		return rc;
	if ((rc = check_links(st, k, fields, sk, scope, detail)) == COFFER_OK)
		rc = do_insert(st, k, fields, owner, id);
	return tx_leave(st, began, rc);
}

/* Update and delete -------------------------------------------------- */

static int
do_update(struct store *st, const struct kind_def *k, int64_t id,
    int64_t version, const cbor_item_t *fields)
{
	struct cbor_pair *p = cbor_map_handle(fields);
	size_t i, n = cbor_map_size(fields);
	struct sqlbuf b = { .n = 0 };
	const struct field_def *f;
	sqlite3_stmt *s = NULL;
	int rc, idx = 1;

	sb_add(&b, "UPDATE %s SET ", k->table);
	for (i = 0; i < n; i++) {
		if (field_of_pair(k, &p[i], &f) != COFFER_OK)
			return COFFER_ERR_INVALID;
		sb_add(&b, "%s = ?, ", f->name);
	}
	sb_add(&b, "version = version + 1, updated = ? "
	    "WHERE id = ? AND version = ?");
	if (b.overflow)
		return COFFER_ERR_INTERNAL;
	if ((rc = prepare(st, b.s, 0, &s)) != COFFER_OK)
		return rc;
	if ((rc = bind_fields(s, k, fields, 0, &idx)) != COFFER_OK)
		goto out;
	sqlite3_bind_int64(s, idx++, (int64_t)time(NULL));
	sqlite3_bind_int64(s, idx++, id);
	sqlite3_bind_int64(s, idx++, version);
	rc = db_status(sqlite3_step(s));
	if (rc == COFFER_OK && sqlite3_changes(st->db) != 1)
		rc = COFFER_ERR_CONFLICT;
out:
	sqlite3_finalize(s);
	return rc;
}

int
store_record_update(struct store *st, const struct kind_def *k,
    int64_t id, int64_t expected_version, const cbor_item_t *fields,
    const struct store_scope *scope, struct coffer_errdetail *detail)
{
	enum scope_kind sk = eff_scope(k, scope);
	size_t ki;
	int rc, began = 0;

	if ((rc = kind_index(st, k, &ki)) != COFFER_OK ||
	    (rc = schema_validate(k, fields, 0, detail)) != COFFER_OK)
		return rc;
	if ((rc = tx_enter(st, &began)) != COFFER_OK)
		return rc;
	if ((rc = row_check(st, k, id, expected_version, scope)) == COFFER_OK &&
	    (rc = check_links(st, k, fields, sk, scope, detail)) == COFFER_OK)
		rc = do_update(st, k, id, expected_version, fields);
	return tx_leave(st, began, rc);
}

int
store_record_delete(struct store *st, const struct kind_def *k,
    int64_t id, int64_t expected_version, const struct store_scope *scope)
{
	struct sqlbuf b = { .n = 0 };
	sqlite3_stmt *s = NULL;
	size_t ki;
	int rc, began = 0;

	if ((rc = kind_index(st, k, &ki)) != COFFER_OK)
		return rc;
	sb_add(&b, "DELETE FROM %s WHERE id = ?1 AND version = ?2", k->table);
	if ((rc = tx_enter(st, &began)) != COFFER_OK)
		return rc;
	if ((rc = row_check(st, k, id, expected_version, scope)) != COFFER_OK ||
	    (rc = prepare(st, b.s, 0, &s)) != COFFER_OK)
		goto out;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, expected_version);
	/* a restricting foreign key (calls of a customer) gives CONFLICT */
	rc = db_status(sqlite3_step(s));
	if (rc == COFFER_OK && sqlite3_changes(st->db) != 1)
		rc = COFFER_ERR_CONFLICT;
out:
	sqlite3_finalize(s);
	return tx_leave(st, began, rc);
}

/*
 * Tombstone: the row stays (with its history) but leaves every read and
 * list.  Bumps the version like an update, so a request made on the old
 * version conflicts.  The caller has decided scope.
 */
int
store_record_tombstone(struct store *st, const struct kind_def *k,
    int64_t id, int64_t expected_version)
{
	struct sqlbuf b = { .n = 0 };
	sqlite3_stmt *s = NULL;
	size_t ki;
	int rc;

	if ((rc = kind_index(st, k, &ki)) != COFFER_OK)
		return rc;
	sb_add(&b, "UPDATE %s SET deleted = 1, version = version + 1, "
	    "updated = ?3 WHERE id = ?1 AND version = ?2 AND deleted = 0",
	    k->table);
	if ((rc = prepare(st, b.s, 0, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, expected_version);
	sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
	rc = db_status(sqlite3_step(s));
	if (rc == COFFER_OK && sqlite3_changes(st->db) != 1)
		rc = COFFER_ERR_CONFLICT;
	sqlite3_finalize(s);
	return rc;
}

/*
 * The purge marker of a required column: a value its CHECK accepts that
 * says nothing about anyone.  Optional columns become NULL.
 */
static const char *
purge_marker(const struct field_def *f)
{
	if (!(f->flags & FF_REQUIRED))
		return NULL;
	return f->type == FT_PHONE ? STORE_PURGED_PHONE : STORE_PURGED_TEXT;
}

int
store_record_erase(struct store *st, const struct kind_def *k, int64_t id,
    int64_t expected_version, const char *const *names, size_t n)
{
	const struct field_def *f;
	struct sqlbuf b = { .n = 0 };
	sqlite3_stmt *s = NULL;
	size_t i, ki;
	int rc, col = 3;

	if ((rc = kind_index(st, k, &ki)) != COFFER_OK)
		return rc;
	sb_add(&b, "UPDATE %s SET deleted = 1, erased = 1, "
	    "version = version + 1, updated = ?3", k->table);
	for (i = 0; i < n; i++) {
		/* names come from the schema; checked again, never quoted */
		if ((f = schema_field(k, names[i])) == NULL ||
		    (f->flags & (FF_SERVER | FF_OWNER)))
			return COFFER_ERR_INVALID;
		sb_add(&b, ", %s = ?%d", f->name, ++col);
	}
	sb_add(&b, " WHERE id = ?1 AND version = ?2");
	if ((rc = prepare(st, b.s, 0, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, expected_version);
	sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
	for (i = 0; i < n; i++) {
		const char *m = purge_marker(schema_field(k, names[i]));

		if (m != NULL)
			sqlite3_bind_text(s, (int)i + 4, m, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, (int)i + 4);
	}
	rc = db_status(sqlite3_step(s));
	if (rc == COFFER_OK && sqlite3_changes(st->db) != 1)
		rc = COFFER_ERR_CONFLICT;
	sqlite3_finalize(s);
	return rc;
}

int
store_tombstones_due(struct store *st, const struct kind_def *k,
    int64_t deleted_before, int64_t *ids, int64_t *versions, size_t max,
    size_t *n)
{
	struct sqlbuf b = { .n = 0 };
	sqlite3_stmt *s = NULL;
	size_t ki;
	int rc;

	*n = 0;
	if ((rc = kind_index(st, k, &ki)) != COFFER_OK)
		return rc;
	/* a tombstone with a request still open waits for it to close */
	sb_add(&b, "SELECT t.id, t.version FROM %s t WHERE t.deleted = 1 AND "
	    "t.erased = 0 AND t.updated <= ?1 AND NOT EXISTS (SELECT 1 FROM "
	    "change_requests q WHERE q.kind = ?2 AND q.record_id = t.id AND "
	    "q.state IN ('pending', 'approved')) ORDER BY t.updated, t.id "
	    "LIMIT ?3", k->table);
	if ((rc = prepare(st, b.s, 0, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, deleted_before);
	sqlite3_bind_text(s, 2, k->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		ids[*n] = sqlite3_column_int64(s, 0);
		versions[*n] = sqlite3_column_int64(s, 1);
		(*n)++;
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? COFFER_OK : db_status(rc);
	sqlite3_finalize(s);
	return rc;
}

int
store_record_get_any(struct store *st, const struct kind_def *k, int64_t id,
    const struct store_scope *scope, cbor_item_t **out, int *deleted)
{
	enum scope_kind sk = eff_scope(k, scope);
	struct sqlbuf b = { .n = 0 };
	sqlite3_stmt *s = NULL;
	size_t ki;
	int rc;

	*deleted = 0;
	if ((rc = kind_index(st, k, &ki)) != COFFER_OK ||
	    (rc = sql_get_rows(&b, k, sk, 1)) != COFFER_OK ||
	    (rc = prepare(st, b.s, 0, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	bind_scope(s, 2, sk, scope);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		rc = rc == SQLITE_DONE ? COFFER_ERR_NOT_FOUND : db_status(rc);
	else if (!sqlite3_column_int(s, (int)k->nfields))
		rc = COFFER_ERR_DENIED;
	else {
		*deleted = sqlite3_column_int(s, (int)k->nfields + 1) != 0;
		rc = row_to_map(s, k, out);
	}
	sqlite3_finalize(s);
	return rc;
}

sqlite3 *
store_sqlite(struct store *st)
{
	return st->db;
}

int
store_db_status(int rc)
{
	return db_status(rc);
}

int
store_prep(struct store *st, const char *sql, sqlite3_stmt **s)
{
	return db_status(sqlite3_prepare_v2(st->db, sql, -1, s, NULL));
}

int
store_step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? COFFER_OK : db_status(rc);
}

void
store_col_text(char *dst, size_t dstsz, sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	dst[0] = '\0';
	if (t != NULL)
		snprintf(dst, dstsz, "%s", (const char *)t);
}

/* Lists -------------------------------------------------------------- */

/*
 * "(x.label IS NULL OR x.label IN ('public', ...))" from schema.c's enum;
 * none is how "no label" reads (" IS NULL", or " = ''" in customer_counts).
 */
static int
sql_label_set(struct sqlbuf *b, const char *alias, const char *none,
    unsigned allow)
{
	const struct kind_def *ck = schema_kind("customer");
	const struct field_def *lf = ck != NULL ? schema_field(ck, "label") :
	    NULL;
	const char *sep = "";
	size_t i;

	if (lf == NULL || lf->type != FT_ENUM || lf->enum_values == NULL)
		return COFFER_ERR_INTERNAL;
	sb_add(b, "(%s.label%s", alias, none);
	if (allow != 0) {
		sb_add(b, " OR %s.label IN (", alias);
		for (i = 0; lf->enum_values[i] != NULL && i < 32; i++)
			if (allow & (1u << i)) {
				sb_add(b, "%s'%s'", sep, lf->enum_values[i]);
				sep = ", ";
			}
		sb_add(b, ")");
	}
	sb_add(b, ")");
	return COFFER_OK;
}

/*
 * No read-up in lists: the row's label, or its customer's, must be in the
 * scope's allow-list.  Literals only, so parameter numbering is unchanged.
 * The customer's label is probed per row from customers_label: an
 * "IN (SELECT ...)" of every customer with an allowed label built a
 * million-row list for each list of notes or calls (800 ms for an
 * agent's notes at a million customers, 0.05 ms probed).
 */
static int
sql_label_cond(struct sqlbuf *b, const struct kind_def *k,
    enum scope_kind sk, const struct store_scope *scope)
{
	const struct kind_def *ck = schema_kind("customer");
	const struct field_def *ref;

	if (!scope->label_filter || ck == NULL)
		return COFFER_OK;
	if (k == ck) {
		sb_add(b, " AND ");
		return sql_label_set(b, "t", " IS NULL", scope->label_allow);
	}
	if ((ref = customer_ref(k)) == NULL)
		return COFFER_OK; /* not reached through a customer */
	if (k->scope != SCOPE_VIA_OWNER_FIELD && sk != SCOPE_ALL)
		return COFFER_OK; /* in sql_scope_cond's customer set */
	sb_add(b, " AND (t.%s IS NULL OR EXISTS (SELECT 1 FROM %s lc "
	    "INDEXED BY customers_label WHERE lc.id = t.%s AND ", ref->name,
	    ck->table, ref->name);
	if (sql_label_set(b, "lc", " IS NULL", scope->label_allow) !=
	    COFFER_OK)
		return COFFER_ERR_INTERNAL;
	sb_add(b, "))");
	return COFFER_OK;
}

/*
 * " FROM t WHERE <scope> AND <label> AND <filters>"; values bound later.
 * A page in scope ALL walks the table in id order (page 1: "+" keeps the
 * planner off the <kind>_erasable index, deleted = 0 being nearly every
 * row, which it read whole and sorted: 12 s for a page of customers at a
 * million); its count keeps that index, which is smaller than the table.
 */
static int
list_where(struct sqlbuf *b, const struct kind_def *k, enum scope_kind sk,
    const struct store_scope *scope, const struct store_filter *filters,
    size_t nfilters, int page)
{
	const struct field_def *f;
	size_t i;
	int rc;

	sb_add(b, " FROM %s t WHERE %st.deleted = 0", k->table,
	    page && sk == SCOPE_ALL ? "+" : "");
	if ((rc = sql_scope_cond(b, k, sk, scope)) != COFFER_OK ||
	    (rc = sql_label_cond(b, k, sk, scope)) != COFFER_OK)
		return rc;
	for (i = 0; i < nfilters; i++) {
		f = schema_field(k, filters[i].field);
		if (f == NULL || !(f->flags & FF_FILTER) ||
		    filters[i].value == NULL)
			return COFFER_ERR_INVALID;
		if (cbor_is_null(filters[i].value))
			sb_add(b, " AND t.%s IS NULL", f->name);
		else if (schema_validate_value(f, filters[i].value, NULL) !=
		    COFFER_OK)
			return COFFER_ERR_INVALID;
		else
			sb_add(b, " AND t.%s = ?", f->name);
	}
	return b->overflow ? COFFER_ERR_INTERNAL : COFFER_OK;
}

/* Binds scope and filter values; *next gets the next free parameter. */
static int
list_bind(sqlite3_stmt *s, const struct kind_def *k, enum scope_kind sk,
    const struct store_scope *scope, const struct store_filter *filters,
    size_t nfilters, int *next)
{
	int idx = 1, rc;
	size_t i;

	if (sk == SCOPE_OWN || sk == SCOPE_TEAM)
		bind_scope(s, idx++, sk, scope);
	for (i = 0; i < nfilters; i++) {
		if (cbor_is_null(filters[i].value))
			continue;
		if ((rc = bind_value(s, idx++, schema_field(k,
		    filters[i].field), filters[i].value)) != COFFER_OK)
			return rc;
	}
	*next = idx;
	return COFFER_OK;
}

/*
 * A list of customers selected by scope and label alone has its total in
 * customer_counts (migration 9): the same conditions over that table,
 * whose columns are named as the customer's, summed, instead of counting
 * every row of the scope.  Any other filter counts the rows.
 */
static int
counts_where(struct sqlbuf *b, const struct kind_def *k, enum scope_kind sk,
    const struct store_scope *scope, size_t nfilters, int *usable)
{
	const struct kind_def *ck = schema_kind("customer");
	int rc;

	*usable = 0;
	if (k != ck || nfilters > 0)
		return COFFER_OK;
	sb_add(b, " FROM customer_counts t WHERE 1");
	if ((rc = sql_scope_cond(b, k, sk, NULL)) != COFFER_OK)
		return rc;
	if (scope->label_filter) {
		sb_add(b, " AND ");
		if ((rc = sql_label_set(b, "t", " = ''", scope->label_allow)) !=
		    COFFER_OK)
			return rc;
	}
	if (b->overflow)
		return COFFER_ERR_INTERNAL;
	*usable = 1;
	return COFFER_OK;
}

/* *total = SELECT <agg> <where>, with the list's values bound. */
static int
list_count(struct store *st, const char *agg, const char *where,
    const struct kind_def *k, enum scope_kind sk,
    const struct store_scope *scope, const struct store_filter *filters,
    size_t nfilters, uint64_t *total)
{
	struct sqlbuf b = { .n = 0 };
	sqlite3_stmt *s = NULL;
	int rc, idx = 0;

	sb_add(&b, "SELECT %s%s", agg, where);
	if (b.overflow)
		return COFFER_ERR_INTERNAL;
	if ((rc = prepare(st, b.s, 0, &s)) != COFFER_OK)
		return rc;
	if ((rc = list_bind(s, k, sk, scope, filters, nfilters, &idx)) !=
	    COFFER_OK)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*total = (uint64_t)sqlite3_column_int64(s, 0);
		rc = COFFER_OK;
	} else {
		rc = db_status(rc == SQLITE_DONE ? SQLITE_ERROR : rc);
	}
out:
	sqlite3_finalize(s);
	return rc;
}

static int
list_page(struct store *st, const char *where, const struct kind_def *k,
    enum scope_kind sk, const struct store_scope *scope,
    const struct store_filter *filters, size_t nfilters, size_t limit,
    size_t offset, cbor_item_t *arr)
{
	struct sqlbuf b = { .n = 0 };
	sqlite3_stmt *s = NULL;
	cbor_item_t *m = NULL;
	int rc, idx;

	sb_add(&b, "SELECT ");
	sql_columns(&b, k);
	sb_add(&b, "%s ORDER BY t.id LIMIT ? OFFSET ?", where);
	if (b.overflow)
		return COFFER_ERR_INTERNAL;
	if ((rc = prepare(st, b.s, 0, &s)) != COFFER_OK)
		return rc;
	if ((rc = list_bind(s, k, sk, scope, filters, nfilters, &idx)) !=
	    COFFER_OK)
		goto out;
	sqlite3_bind_int64(s, idx++, (int64_t)limit);
	sqlite3_bind_int64(s, idx++, (int64_t)offset);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = row_to_map(s, k, &m)) != COFFER_OK ||
		    (rc = msg_push(arr, m)) != COFFER_OK)
			goto out;
	}
	rc = db_status(rc);
out:
	sqlite3_finalize(s);
	return rc;
}

int
store_record_list(struct store *st, const struct kind_def *k,
    const struct store_filter *filters, size_t nfilters,
    const struct store_scope *scope, size_t limit, size_t offset,
    cbor_item_t **out, uint64_t *total)
{
	enum scope_kind sk = eff_scope(k, scope);
	struct sqlbuf where = { .n = 0 }, pwhere = { .n = 0 },
	    cwhere = { .n = 0 };
	cbor_item_t *arr = NULL;
	size_t ki;
	int rc, counted;

	if ((rc = kind_index(st, k, &ki)) != COFFER_OK)
		return rc;
	if (sk == SCOPE_NONE)
		return COFFER_ERR_DENIED;
	if (nfilters > FILTERS_MAX || (nfilters > 0 && filters == NULL) ||
	    offset > (size_t)INT64_MAX)
		return COFFER_ERR_INVALID;
	if (limit == 0 || limit > STORE_LIST_MAX)
		limit = STORE_LIST_MAX;
	if ((rc = list_where(&where, k, sk, scope, filters, nfilters, 0)) !=
	    COFFER_OK ||
	    (rc = list_where(&pwhere, k, sk, scope, filters, nfilters, 1)) !=
	    COFFER_OK ||
	    (rc = counts_where(&cwhere, k, sk, scope, nfilters, &counted)) !=
	    COFFER_OK)
		return rc;
	if ((arr = msg_new_array()) == NULL)
		return COFFER_ERR_NOMEM;
	if (counted)
		rc = list_count(st, "coalesce(sum(t.n), 0)", cwhere.s, k, sk,
		    scope, NULL, 0, total);
	else
		rc = list_count(st, "count(*)", where.s, k, sk, scope, filters,
		    nfilters, total);
	if (rc != COFFER_OK ||
	    (rc = list_page(st, pwhere.s, k, sk, scope, filters, nfilters, limit,
	    offset, arr)) != COFFER_OK) {
		cbor_decref(&arr);
		return rc;
	}
	*out = arr;
	return COFFER_OK;
}

int
store_customer_facts(struct store *st, int64_t id,
    struct store_customer_facts *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	/* a number on the do-not-call list counts like the flag (dnc.h) */
	if ((rc = prepare(st, "SELECT label, coalesce(do_not_call, 0) OR "
	    "EXISTS (SELECT 1 FROM dnc_list d WHERE d.phone = customers.phone),"
	    " stage FROM customers WHERE id = ?1", 0, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		copy_col(out->label, sizeof(out->label), s, 0);
		out->do_not_call = sqlite3_column_int(s, 1) != 0;
		copy_col(out->stage, sizeof(out->stage), s, 2);
		rc = COFFER_OK;
	} else
		rc = rc == SQLITE_DONE ? COFFER_ERR_NOT_FOUND : db_status(rc);
	sqlite3_finalize(s);
	return rc;
}

/* Stats -------------------------------------------------------------- */

int
store_stats(struct store *st, cbor_item_t **out)
{
	struct sqlbuf b;
	cbor_item_t *m = msg_new_map();
	int64_t n = 0;
	size_t i;
	int rc = COFFER_OK;

	if (m == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < st->nkinds && rc == COFFER_OK; i++) {
		b.n = 0;
		b.overflow = 0;
		sb_add(&b, "SELECT count(*) FROM %s", st->kinds[i].table);
		if ((rc = query_int(st->db, b.s, &n)) == COFFER_OK)
			rc = msg_put_uint(m, st->kinds[i].name, (uint64_t)n);
	}
	if (rc != COFFER_OK) {
		cbor_decref(&m);
		return rc;
	}
	*out = m;
	return COFFER_OK;
}

/* Bulk loading ------------------------------------------------------- */

int
store_bulk_open(struct store *st, const struct kind_def *k,
    const char *const *fields, size_t nfields, struct store_bulk **out)
{
	struct sqlbuf b = { .n = 0 };
	struct store_bulk *bk = NULL;
	const struct field_def *f;
	int has_created = 0, has_updated = 0, rc;
	size_t i, ki;

	if ((rc = kind_index(st, k, &ki)) != COFFER_OK)
		return rc;
	sb_add(&b, "INSERT INTO %s (", k->table);
	for (i = 0; i < nfields; i++) {
		f = schema_field(k, fields[i]);
		if (f == NULL || strcmp(f->name, "id") == 0 ||
		    strcmp(f->name, "version") == 0)
			return COFFER_ERR_USAGE;
		has_created |= strcmp(f->name, "created") == 0;
		has_updated |= strcmp(f->name, "updated") == 0;
		sb_add(&b, "%s, ", f->name); /* the table's name, not input */
	}
	sb_add(&b, "%s%sversion) VALUES (", has_created ? "" : "created, ",
	    has_updated ? "" : "updated, ");
	for (i = 0; i < nfields; i++)
		sb_add(&b, "?%zu, ", i + 1);
	sb_add(&b, "%s%s1)", has_created ? "" : "unixepoch(), ",
	    has_updated ? "" : "unixepoch(), ");
	if (b.overflow)
		return COFFER_ERR_INTERNAL;
	if ((bk = calloc(1, sizeof(*bk))) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = prepare(st, b.s, 1, &bk->ins)) != COFFER_OK) {
		free(bk);
		return rc;
	}
	bk->st = st;
	bk->nfields = nfields;
	*out = bk;
	return COFFER_OK;
}

int
store_bulk_int(struct store_bulk *b, size_t i, int64_t v)
{
	if (i >= b->nfields)
		return COFFER_ERR_USAGE;
	return db_status(sqlite3_bind_int64(b->ins, (int)i + 1, v));
}

int
store_bulk_text(struct store_bulk *b, size_t i, const char *s)
{
	if (i >= b->nfields)
		return COFFER_ERR_USAGE;
	if (s == NULL)
		return db_status(sqlite3_bind_null(b->ins, (int)i + 1));
	return db_status(sqlite3_bind_text(b->ins, (int)i + 1, s, -1,
	    SQLITE_TRANSIENT));
}

int
store_bulk_insert(struct store_bulk *b, int64_t *id)
{
	int rc = db_status(sqlite3_step(b->ins));

	if (rc == COFFER_OK && id != NULL)
		*id = sqlite3_last_insert_rowid(b->st->db);
	stmt_done(b->ins);
	return rc;
}

void
store_bulk_close(struct store_bulk *b)
{
	if (b == NULL)
		return;
	sqlite3_finalize(b->ins);
	free(b);
}
