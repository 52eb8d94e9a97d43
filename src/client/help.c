/*
 * help.c - the coffer client's help texts (see help.h).  Keep in step with
 * docs/man/coffer.1.  Each literal stays under the 4095 characters C11
 * promises to support.
 */
#include <string.h>

#include "coffer/help.h"

static const char global_head[] =
"usage: coffer [global options] COMMAND [arguments]\n"
"\n"
"coffer is the command-line client of the Coffer record vault.  It connects\n"
"to the vault daemon cofferd, authenticates with your Ed25519 key, and lists,\n"
"shows, creates, updates and deletes records (customers, calls, follow-ups,\n"
"deals, products, notes), for administrators users, and for compliance\n"
"officers the audit trail.\n"
"\n"
"Global options (before the command):\n"
"  -S, --socket PATH        the daemon's Unix socket (default: $COFFER_SOCKET,\n"
"                           else /run/coffer/cofferd.sock)\n"
"  -H, --host HOST:PORT     connect over TCP instead ([ADDR]:PORT for IPv6)\n"
"  -u, --user NAME          your user name (default: $COFFER_USER, else your\n"
"                           login name)\n"
"  -k, --key FILE           your secret key (default: $COFFER_KEY, else\n"
"                           ~/.config/coffer/NAME.key)\n"
"      --known-hosts FILE   pinned daemon keys (default: $COFFER_KNOWN_HOSTS,\n"
"                           else ~/.config/coffer/known_hosts)\n"
"      --passphrase-file FILE  read the key's passphrase from the first line\n"
"                           of FILE, which must be mode 0600 (default:\n"
"                           $COFFER_PASSPHRASE_FILE, else ask on the terminal)\n"
"      --json               print the result as one JSON document on stdout\n"
"  -q, --quiet              print only what scripts need (no headers, totals\n"
"                           or notices; create prints just the new id)\n"
"  -h, --help               this help; 'coffer COMMAND --help' for a command\n"
"      --version            print the version and exit\n"
"\n"
"Commands:\n";

static const char global_tail[] =
"\n"
"KIND is customer, call, followup, deal, product or note (singular or\n"
"plural); 'coffer fields KIND' lists a kind's fields and their types.\n"
"\n"
"Values (FIELD=VALUE) are converted by the field's type:\n"
"  integer, record id   decimal: duration=95, customer_id=12\n"
"  money                yuan with at most 2 decimals: amount=1234.50\n"
"                       (sent as 123450 fen)\n"
"  time                 UTC: Unix seconds, 2024-05-01, 2024-05-01T14:30,\n"
"                       2024-05-01T14:30:15, now, +3d, -2h, +30m, +1w, +45s\n"
"  boolean              true/false, yes/no, on/off, 1/0\n"
"  text, phone, e-mail  as given (UTF-8); an enum must be one of its values\n"
"Tables print times as ISO-8601 UTC and money as yuan with 2 decimals;\n"
"--json prints the daemon's values unchanged (Unix seconds, fen).\n"
"\n"
"Exit status:\n"
"   0  success\n"
"   1  the daemon reported an error not listed below\n"
"   2  usage error: bad arguments, unknown field, bad value\n"
"   3  cannot connect, I/O or protocol failure\n"
"   4  authentication failed\n"
"   5  permission denied\n"
"   6  not found\n"
"   7  invalid data (refused by the daemon's validation)\n"
"   8  conflict: the record changed meanwhile, or a duplicate\n"
"   9  the daemon's key differs from the pinned one\n"
"  10  daemon unavailable (shutting down, busy) or its audit log unavailable\n"
"  11  local key file problem (wrong passphrase, bad permissions, missing)\n"
"\n"
"Examples:\n"
"  coffer keygen -o ~/.config/coffer/$USER.key\n"
"  coffer list customers --filter stage=new --limit 20\n"
"  coffer create customer name=张三 phone=13812345678 intent=high\n"
"  coffer update customer 12 stage=screened\n"
"  coffer create followup customer_id=12 due=+3d kind=callback\n"
"  coffer --json show deal 7 | jq .record.amount\n"
"\n"
"See coffer(1) for the environment, files and the daemon-key pinning.\n";

static const struct help_entry entries[] = {
{ "status", "status",
  "show the daemon's version, uptime and record counts",
"Asks the daemon for its version, uptime, schema version, number of open\n"
"connections and the number of records of each kind you may see.\n"
"\n"
"Example:\n"
"  coffer status\n" },

{ "whoami", "whoami",
  "show the user you are authenticated as",
"Prints your user record as the daemon sees it: name, display name, role,\n"
"team, manager, clearance, whether the account is active and the\n"
"fingerprint of your registered public key.\n"
"\n"
"Example:\n"
"  coffer -u li.na whoami\n" },

{ "keygen", "keygen -o FILE [--no-passphrase] [--comment TEXT]",
  "make a new key pair for a user (local, no daemon)",
"Generates an Ed25519 key pair and writes the secret key to FILE (created\n"
"exclusively, mode 0600; an existing file is never overwritten) and the\n"
"public key to FILE.pub.  Prints the public key line and its fingerprint;\n"
"give FILE.pub to the administrator, who registers it with 'user add'.\n"
"\n"
"The secret key is sealed under a passphrase (Argon2id), asked twice on the\n"
"terminal, or read from --passphrase-file.\n"
"\n"
"Options:\n"
"  -o, --output FILE   where to write the secret key (required)\n"
"      --no-passphrase store the secret key unsealed (tests and demos only;\n"
"                      the file is still mode 0600)\n"
"  -c, --comment TEXT  comment at the end of the public key line\n"
"\n"
"Example:\n"
"  mkdir -p ~/.config/coffer && coffer keygen -o ~/.config/coffer/li.na.key \\\n"
"      --comment 'li.na laptop'\n" },

{ "list", "list KIND [--filter FIELD=VALUE]... [--limit N] [--offset N]",
  "list records of a kind",
"Lists the records of KIND you may see, as a table of the id and the most\n"
"useful fields (all fields with --json).  Filters must all match; only some\n"
"fields can filter ('coffer fields KIND' marks them).  Without -q a line\n"
"with the total follows when not everything was shown.\n"
"\n"
"Options:\n"
"  -f, --filter FIELD=VALUE  only records whose FIELD equals VALUE\n"
"  -n, --limit N             at most N records (the daemon caps it)\n"
"  -o, --offset N            skip the first N records\n"
"\n"
"Examples:\n"
"  coffer list customers --filter stage=new --filter do_not_call=no\n"
"  coffer list followups --filter status=open --limit 50\n"
"  coffer -q list deals --filter payment_status=unpaid | wc -l\n" },

{ "show", "show KIND ID",
  "show one record, field by field",
"Prints every field of record ID of KIND as 'field: value' lines in schema\n"
"order.  Fields you may not see, or that have no value, are left out.  The\n"
"daemon masks fields by policy (phone 138****5678); a line after the\n"
"record names them ('coffer reveal' gives one field in full).\n"
"\n"
"Example:\n"
"  coffer show customer 12\n" },

{ "reveal", "reveal KIND ID FIELD",
  "show one field of one record in full",
"Prints the full value of FIELD of record ID, where lists and 'show' give\n"
"it masked (phone numbers, e-mail, addresses).  Only fields the policy\n"
"marks revealable, within your clearance and row scope; a do-not-call\n"
"customer's number is never revealed to an agent.  Every reveal is\n"
"recorded in the audit trail and counts against your hourly reveal limit\n"
"(exit status 5 once it is reached).\n"
"\n"
"Examples:\n"
"  coffer reveal customer 42 phone\n"
"  coffer --json reveal customer 42 email\n" },

{ "create", "create KIND FIELD=VALUE...",
  "create a record",
"Creates a record of KIND.  Every required field must be given ('coffer\n"
"fields KIND'); id, version, created and updated are set by the daemon.\n"
"Prints the new record, or with -q only its id.\n"
"\n"
"Examples:\n"
"  coffer create customer name=张三 phone='138 1234 5678' source_list=2024-spring\n"
"  coffer create call customer_id=12 started=now duration=95 outcome=answered\n"
"  coffer create deal customer_id=12 product_id=3 amount=12800 closed=now\n"
"  id=$(coffer -q create note kind=feedback subject='price too high')\n" },

{ "update", "update KIND ID FIELD=VALUE... [--version N]",
  "change fields of a record",
"Changes the given fields of record ID.  Updates name the version they\n"
"change, so that two people editing the same record do not overwrite each\n"
"other: without --version coffer fetches the record first and uses its\n"
"current version; with --version N the update fails with exit status 8 if\n"
"the record is no longer at version N.  Fields marked immutable cannot be\n"
"changed.  Prints the updated record (nothing with -q).\n"
"\n"
"Options:\n"
"  -V, --version N   the version you read (from 'show' or --json)\n"
"\n"
"Examples:\n"
"  coffer update customer 12 stage=screened intent=medium\n"
"  coffer update followup 40 status=done outcome='ordered two units' --version 3\n" },

{ "delete", "delete KIND ID [--version N]",
  "delete a record",
"Deletes record ID of KIND.  As with update, --version N makes the delete\n"
"fail (exit status 8) if the record changed after you read it; without it\n"
"the current version is fetched first.\n"
"\n"
"Options:\n"
"  -V, --version N   the version you read\n"
"\n"
"Example:\n"
"  coffer delete note 9\n" },

{ "fields", "fields [KIND]",
  "list the kinds, or a kind's fields and types (local)",
"Without KIND, lists the record kinds.  With KIND, lists its fields: name,\n"
"type, flags and meaning.  Flags: required (must be given to create),\n"
"filter (usable with list --filter), immutable (set on create only),\n"
"daemon (set by the daemon, read only).  Needs no daemon.\n"
"\n"
"Example:\n"
"  coffer fields deal\n" },

{ "user list", "user list",
  "list users (administrators, managers)",
"Lists the users: name, display name, role, team, manager, clearance,\n"
"whether active, and key fingerprint.\n"
"\n"
"Example:\n"
"  coffer user list\n" },

{ "user add",
  "user add NAME --role ROLE --clearance LEVEL --pubkey FILE.pub "
  "[--team T] [--manager M] [--display D]",
  "register a new user (administrators)",
"Registers user NAME with the public key from FILE.pub (made by 'coffer\n"
"keygen').  Compare the printed fingerprint with the one the user sees.\n"
"\n"
"Options:\n"
"  -r, --role ROLE         agent, manager, compliance or admin\n"
"  -c, --clearance LEVEL   highest label the user may read: public,\n"
"                          internal, confidential or secret\n"
"  -p, --pubkey FILE       the user's public key file\n"
"  -t, --team T            team name\n"
"  -m, --manager M         user name of the user's manager\n"
"  -d, --display D         display name (e.g. 李娜)\n"
"\n"
"Example:\n"
"  coffer user add li.na --role agent --clearance internal \\\n"
"      --pubkey li.na.key.pub --team east --manager wang.wei --display 李娜\n" },

{ "user update",
  "user update NAME [--role R] [--clearance C] [--team T] [--manager M] "
  "[--pubkey FILE.pub]",
  "change a user's role, team, manager, clearance or key",
"Changes the given attributes of user NAME; at least one option is needed.\n"
"--pubkey replaces the user's key (after a lost or compromised key).\n"
"Options as for 'user add'.\n"
"\n"
"Example:\n"
"  coffer user update li.na --clearance confidential\n" },

{ "user disable", "user disable NAME",
  "stop a user from logging in",
"Marks user NAME inactive: the daemon refuses their handshake from now on.\n"
"Their records and the audit log are kept.\n"
"\n"
"Example:\n"
"  coffer user disable li.na\n" },

{ "user enable", "user enable NAME",
  "allow a disabled user to log in again",
"Marks user NAME active again.\n"
"\n"
"Example:\n"
"  coffer user enable li.na\n" },

{ "audit search",
  "audit search [--actor NAME] [--actor-id N] [--kind KIND] [--id N] "
  "[--op OP] [--decision D] [--since TIME] [--until TIME] [--limit N] "
  "[--after SEQ]",
  "find audit records (compliance officer)",
"Searches the daemon's audit trail and prints one line per record: seq,\n"
"time (UTC), actor, role, operation, target (kind and id), decision and\n"
"reason.  All given filters must match.  Only the compliance role may read\n"
"the trail; the search is itself recorded.  Records hold names and ids,\n"
"never customer values.\n"
"\n"
"Options:\n"
"      --actor NAME     the user who made the request\n"
"      --actor-id N     the same, by user id\n"
"      --kind KIND      the record kind the request was about\n"
"      --id N           the record id it was about (with --kind: one\n"
"                       customer's, call's, ... whole history)\n"
"      --op OP          operation, e.g. record.get; 'record.*' for a prefix\n"
"      --decision D     allowed, denied, error or pending\n"
"      --since TIME     at or after TIME; --until TIME: before TIME (same\n"
"                       syntax as time values: 2024-05-01, -2h, ...)\n"
"      --limit N        at most N records (1-1000, default 100)\n"
"      --after SEQ      start after record SEQ (the next page)\n"
"\n"
"When more records match, a last line says which --after gives the next\n"
"page.  --json prints {\"records\": [...], \"next\": SEQ|null} with the\n"
"records' own keys (docs/audit-format.md).\n"
"\n"
"Examples:\n"
"  coffer audit search --decision denied --since -1d\n"
"  coffer audit search --kind customer --id 1042\n" },

{ "audit show", "audit show SEQ [--key FILE]",
  "one audit record with its inclusion proof",
"Prints audit record SEQ, its Merkle inclusion proof and the signed\n"
"checkpoint the proof leads to.  The client re-hashes the record and\n"
"checks the proof against the checkpoint's root itself; with --key (the\n"
"log's audit.vkey, or the vault's audit.pub) it also checks the\n"
"checkpoint's signature.  A proof that does not hold is an error.\n"
"\n"
"Options:\n"
"      --key FILE       audit verifier key to check the signature with\n"
"\n"
"Example:\n"
"  coffer audit show 1234 --key audit.vkey\n" },

{ "audit checkpoint", "audit checkpoint",
  "print the newest signed checkpoint of the audit log",
"Prints the daemon's newest signed checkpoint (a C2SP signed note: log\n"
"name, number of records, Merkle root, signature) exactly.  Keep it\n"
"somewhere the vault host cannot change; later 'coffer-verify\n"
"--checkpoint FILE LOGDIR' proves the log still contains everything it\n"
"covered (no truncation, no rollback, no rewritten history).\n"
"\n"
"Example:\n"
"  coffer audit checkpoint > checkpoint-$(date +%F)\n" },

{ "audit export",
  "audit export [filters as for audit search] [--limit N] > FILE.jsonl",
  "export audit records as JSON Lines",
"Writes the matching audit records to stdout, one JSON object per line\n"
"(the field names of coffer-verify: seq, time, op, actor, ...), fetching\n"
"page after page until none is left.  Progress goes to stderr when it is\n"
"a terminal.  --limit N stops after N records (default: all).\n"
"\n"
"Example:\n"
"  coffer audit export --since 2024-05-01 --until 2024-06-01 > may.jsonl\n" },

{ "request update", "request update KIND ID FIELD=VALUE... --reason TEXT "
  "[--version N]",
  "ask for a change that an approver must allow",
"Asks for fields of record ID to be changed.  Nothing changes yet: the\n"
"daemon checks the change as it would check an update (field values, your\n"
"clearance, your scope), stores it as a change request with the record's\n"
"current version, and computes who must approve it (by default your\n"
"manager; the policy may ask for more, docs/requests.md).  When the last\n"
"approval arrives the change is applied, unless the record changed in the\n"
"meantime (the request is then 'conflicted').  Prints the request id.\n"
"\n"
"Options:\n"
"      --reason TEXT  why the change is needed (required; no customer data)\n"
"      --version N    the version you read (default: the current one)\n"
"\n"
"Example:\n"
"  coffer request update customer 12 phone=13912345678 --reason 'new number'\n" },

{ "request delete", "request delete KIND ID --reason TEXT [--version N]",
  "ask for a record to be deleted",
"Asks for record ID to be deleted.  Deleting a customer needs their\n"
"manager and a compliance officer in the default policy.  Once approved the\n"
"record is tombstoned: it leaves every read and list but stays, with its\n"
"history, for the retention period.\n"
"\n"
"Options:\n"
"      --reason TEXT  why (required)\n"
"      --version N    the version you read (default: the current one)\n" },

{ "request purge", "request purge customer ID --reason TEXT [--version N]",
  "ask for a customer's personal data to be erased",
"Asks for the personal data of customer ID to be erased (PIPL): once\n"
"approved (a manager and a compliance officer in the default policy), the\n"
"name becomes [purged], the phone 000000000, e-mail, company, address,\n"
"needs, intent and exclusion reason are emptied, the customer is\n"
"tombstoned, and the old values are erased from its history and from\n"
"every request about it.  Calls, follow-ups and deals stay, keyed by the\n"
"customer id.  For a customer already deleted, give --version (see\n"
"coffer history customer ID).\n"
"\n"
"Options:\n"
"      --reason TEXT  why (required; no customer data)\n"
"      --version N    the version you read (default: the current one)\n" },

{ "requests", "requests [--mine] [--state STATE] [--watch]",
  "your queue of change requests",
"Lists the change requests you may see: those you made and those you may\n"
"decide (YOURS is 'yes' when you can approve or reject it now), newest\n"
"first.  STATE is pending, rejected, withdrawn, expired, conflicted or\n"
"applied.  --watch asks again every 3 seconds and prints the list whenever\n"
"it changed, until interrupted (polling; there is no push).\n"
"\n"
"Options:\n"
"      --mine         only your own requests\n"
"      --state STATE  only requests in this state\n"
"      --watch        keep polling and print changes\n" },

{ "request show", "request show ID",
  "one change request, its diff and decisions",
"Shows change request ID: who asked, why, the record and its version, the\n"
"approvals needed, the decisions so far and the changes as FIELD, OLD and\n"
"NEW.  Values are masked to your clearance exactly as a 'show' of the\n"
"record would be; if you may not read the record (a compliance officer)\n"
"only the field names are shown.\n" },

{ "request withdraw", "request withdraw ID",
  "withdraw your own pending request",
"Withdraws change request ID, which must be yours and still pending.\n" },

{ "approve", "approve ID [--comment TEXT] [--sign-only] [--signature HEX]",
  "approve a change request, signed with your key",
"Approves change request ID.  The approval is signed with your own key\n"
"over the request's hash, your name, the decision and the comment\n"
"(docs/requests.md), so it can be verified later without trusting the\n"
"daemon.  You cannot approve your own request, nor one you are not an\n"
"approver of.  When yours is the last approval needed, the change is\n"
"applied (or the request becomes 'conflicted' if the record changed).\n"
"\n"
"Options:\n"
"      --comment TEXT     a comment kept with the approval\n"
"      --sign-only        print the signature (128 hex digits), send nothing\n"
"      --signature HEX    send this signature instead of signing here\n" },

{ "reject", "reject ID --comment TEXT [--sign-only] [--signature HEX]",
  "reject a change request, signed with your key",
"Rejects change request ID with a comment saying why; signed like an\n"
"approval.  One rejection closes the request.\n"
"\n"
"Options:\n"
"      --comment TEXT     why (required)\n"
"      --sign-only        print the signature, send nothing\n"
"      --signature HEX    send this signature instead of signing here\n" },

{ "history", "history KIND ID",
  "the approved changes of a record",
"Shows the changes applied to record ID through change requests, oldest\n"
"first: version, time, who asked, who approved, and each field's old and\n"
"new value, masked to your clearance as a 'show' would mask them.\n" },

{ "pin-reset", "pin-reset",
  "forget the pinned key of this daemon endpoint (local)",
"Removes the known-hosts lines for the endpoint selected by -S or -H, so\n"
"that the next connection pins whatever key the daemon presents.  Do this\n"
"only after the administrator has confirmed the daemon's new fingerprint\n"
"('coffer-admin pubkey DIR' on the vault host prints it); otherwise you may\n"
"be pinning an impostor.\n"
"\n"
"Example:\n"
"  coffer -H vault.example.cn:7443 pin-reset && coffer -H vault.example.cn:7443 status\n" },

{ "import", "import customers FILE.csv [--list NAME] [--encoding ENC] [--skip-invalid [--rejects OUT]] [--check]",
  "import a lead list from a CSV file (managers)",
"Reads a lead list - a CSV file (RFC 4180) in UTF-8 (with or without a\n"
"BOM) or GB18030/GBK as Excel writes it on Chinese Windows - and creates\n"
"one customer per row, stage new, owned by you, in one transaction: all\n"
"rows or none.  Column headers in Chinese or English are mapped by the\n"
"table in docs/import.md (姓名/name, 电话/手机/phone, 公司/company, ...);\n"
"unknown columns are reported and not imported.  Phone numbers are\n"
"normalised (+86, spaces, dashes) and a number that is twice in the file\n"
"or already in the vault is rejected.  The file is parsed here, in the\n"
"client; the daemon checks every row again.\n"
"\n"
"Every rejected row is printed with its line number and reason, and by\n"
"default nothing is imported (exit 7).  Needs create on customers for a\n"
"team or for all (managers in the default policy).\n"
"\n"
"Options:\n"
"  --list NAME       the lead list's name, stored as each customer's\n"
"                    source_list\n"
"  --encoding ENC    auto (default: UTF-8 if the bytes are valid UTF-8,\n"
"                    else GB18030), utf-8, gb18030 or gbk\n"
"  --skip-invalid    import the good rows; the rejected ones are written\n"
"                    to FILE.csv.rejects.csv (line,status,reason)\n"
"  --rejects OUT     with --skip-invalid: write them to OUT instead\n"
"  --check           check every row (also against the vault) and print\n"
"                    the rejected ones; import nothing\n"
"\n"
"Example:\n"
"  coffer import customers leads-2026-11.csv --list autumn-expo\n" },

{ "backup", "backup DIR | backup verify DIR [--key DAEMON.pub]",
  "take an online backup on the daemon's machine (administrator)",
"Asks the daemon to write a backup of the vault into DIR, a new directory\n"
"given as an absolute path on the daemon's machine (its parent must exist\n"
"and be writable by the daemon).  The daemon keeps serving meanwhile: the\n"
"database is copied from one consistent snapshot, re-encrypted under the\n"
"vault's backup key, with the audit log up to a checkpoint signed for the\n"
"backup and a manifest signed by the daemon's key.  Prints the directory,\n"
"the manifest id (sha256) and the time taken.  Needs the key_admin\n"
"privilege (the administrator in the default policy).  Check and restore\n"
"the backup with 'coffer backup verify' (below) or coffer-admin (backup\n"
"verify with the database check, restore).\n"
"\n"
"'coffer backup verify DIR' checks a backup here, without a daemon: see\n"
"'coffer help backup verify'.\n"
"\n"
"Example:\n"
"  coffer -u admin backup /var/backups/coffer/2026-05-01\n" },

{ "backup verify", "backup verify DIR [--key DAEMON.pub]",
  "check a backup locally, without a daemon",
"Checks the backup in DIR on this machine: the manifest's form and its\n"
"signature by the daemon's key, every file's size and SHA-256, that no\n"
"file is missing or extra, and the audit log inside up to its signed\n"
"checkpoint.  The key is DAEMON.pub (a copy of the vault's daemon.pub)\n"
"or, without --key, the key this client pinned in known_hosts for the\n"
"daemon chosen by -S/-H; with neither it refuses (exit 2).  The database\n"
"copy is not opened: that needs the vault's passphrase or key file\n"
"('coffer-admin backup verify').  Exit status 0 good, 7 damaged or\n"
"incomplete (the file at fault is named), 9 signed by another key.\n"
"\n"
"Example:\n"
"  coffer backup verify /mnt/backups/coffer-AbC-20261128T060000.000Z\n" },

{ "today", "today [--agent NAME] [--limit N] [--until TIME]",
  "what to do now: follow-ups due, then fresh leads to call",
"Lists, in order, the open follow-ups of your customers due by the end of\n"
"today (overdue ones first, oldest first: callbacks, revisits, after-sales\n"
"revisits), then your fresh leads - customers in stage screened, then new,\n"
"never called.  Excluded and do-not-call customers never appear.  Each\n"
"line gives the customer id, the name and phone masked as in 'list', what\n"
"to do and why (the due time and the follow-up's number, or \"fresh\n"
"lead\").  A footer gives the totals and the commands that dial (reveal),\n"
"log the call (call), record a sale (create deal), screen a lead (screen)\n"
"and close a follow-up (done).  A manager may look at the day of one of\n"
"their team with --agent.\n"
"\n"
"Options:\n"
"  -a, --agent NAME   another agent's day (managers, their team only)\n"
"  -n, --limit N      at most N lines (default 50, at most 500)\n"
"  -u, --until TIME   follow-ups due up to TIME (default: the end of today,\n"
"                     local time)\n"
"\n"
"Examples:\n"
"  coffer today\n"
"  coffer -u mgr-north today --agent agent03 --limit 20\n"
"  coffer --json today | jq '.records[].id'\n" },

{ "report", "report [--period day|week|month [--date DAY] | --from DAY "
  "--to DAY] [--tz ZONE] [--team | --company | --agent NAME] [--csv | "
  "--json] [--html FILE] [--xlsx FILE]",
  "KPI figures of a period: per agent, per team, company-wide",
"Prints the figures by which agents are appraised (docs/reports.md): calls\n"
"made and connected, talk time, leads first contacted and leads that\n"
"reached intent, customers converted and the conversion rate, deals, sales\n"
"and average satisfaction, follow-ups done on time, late or overdue, and\n"
"data accuracy (records corrected by approved requests, rejected\n"
"requests).  An agent sees their own figures, a manager those of every\n"
"agent of their team subtree with team totals; company-wide figures need\n"
"the report grant with scope all (else exit status 5).  Sales amounts are\n"
"confidential: they are left out for a user cleared below their label.\n"
"\n"
"The period is a whole local day, week (Monday to Sunday) or month (the\n"
"default: this month), or --from/--to (both days included), in the time\n"
"zone --tz (default Asia/Shanghai).\n"
"\n"
"Options:\n"
"  -p, --period P     day, week or month (default month)\n"
"  -d, --date DAY     the day the period holds (YYYY-MM-DD; default today)\n"
"  -f, --from DAY     first day of a custom period\n"
"  -t, --to DAY       last day of a custom period (included)\n"
"  -z, --tz ZONE      time zone of the days (default Asia/Shanghai)\n"
"  -l, --level L      agent, team or company (default: the widest you may)\n"
"  -T, --team         the same as --level team\n"
"  -C, --company      the same as --level company\n"
"  -a, --agent NAME   one agent of your scope\n"
"  -c, --csv          CSV (RFC 4180) with the derived figures\n"
"  -j, --json         the daemon's answer as JSON\n"
"  -H, --html FILE    also write a self-contained HTML page with charts\n"
"                     (a new file, mode 0600)\n"
"  -x, --xlsx FILE    also write an Excel workbook: a sheet per level and\n"
"                     one on the period and the definitions (a new file,\n"
"                     mode 0600)\n"
"\n"
"Examples:\n"
"  coffer report\n"
"  coffer -u mgr-north report --period week --csv > week.csv\n"
"  coffer report --from 2026-01-01 --to 2026-03-31 --tz UTC --json\n"
"  coffer -u mgr-north report --html q1.html --from 2026-01-01 --to 2026-03-31\n" },

{ "screen", "screen customer ID --stage STAGE [--reason TEXT]",
  "screen a fresh lead: screened, or excluded with a reason",
"Records the screening of a customer (rules 3.1): --stage screened keeps\n"
"them on the call list, --stage excluded (with --reason, required) takes\n"
"them off every call list for good.  The owner agent screens their own\n"
"new (or screened) leads.  Taking an excluded customer back (--stage\n"
"screened or new) is a manager's act, for the owner's team only; an agent\n"
"gets exit status 5.  Customers past screening (contacted, following, won,\n"
"lost) cannot be screened (exit status 8).  Every screening is audited.\n"
"\n"
"Options:\n"
"  -s, --stage STAGE   screened, excluded or new\n"
"  -r, --reason TEXT   why the customer is excluded (up to 500 bytes)\n"
"\n"
"Examples:\n"
"  coffer screen customer 42 --stage screened\n"
"  coffer screen customer 43 --stage excluded --reason '不在服务范围'\n"
"  coffer -u mgr-north screen customer 43 --stage screened\n" },

{ "done", "done FOLLOWUP-ID [--note TEXT]",
  "mark an open follow-up of yours done",
"Closes a follow-up once it is handled: its status goes from open to done\n"
"and it leaves 'coffer today'.  The follow-up's number is the one 'today'\n"
"shows under WHY (follow-up N).  An agent closes their own follow-ups (the\n"
"agent responsible); a manager those of the team subtree.  Another agent's\n"
"follow-up gives exit status 5, an unknown one 6, one already done or\n"
"cancelled exit status 8.  Every completion is audited.\n"
"\n"
"Options:\n"
"  -n, --note TEXT   what came of it, kept as the follow-up's outcome\n"
"                    (up to 2000 bytes)\n"
"\n"
"Examples:\n"
"  coffer done 17\n"
"  coffer done 17 --note '客户已确认订单'\n"
"  coffer -u mgr-north done 18\n" },

{ "assign", "assign customer ID... --to AGENT | --from-pool [--list NAME] "
  "--count N --round-robin A,B,... | --transfer FROM --to AGENT",
  "give customers to agents of your team (managers)",
"Managers (the update grant on customers) give customers of their team to\n"
"an agent of their team subtree; a customer or an agent outside it is\n"
"refused by name (exit status 5).  Open follow-ups the previous owner was\n"
"responsible for move with each customer.  Each form is one audited\n"
"operation in one transaction; the audit record lists the ids moved.\n"
"\n"
"  assign customer ID... --to AGENT\n"
"      the named customers (up to 500) to AGENT\n"
"  assign --from-pool [--list NAME] --count N --round-robin A,B,...\n"
"      up to N unassigned leads - yours, in stage new or screened, not\n"
"      excluded, not do-not-call; of source list NAME if given - oldest\n"
"      first, dealt to the agents in turn (--to AGENT for one agent)\n"
"  assign --transfer FROM --to AGENT\n"
"      every customer of FROM (an agent who leaves) to AGENT\n"
"\n"
"Examples:\n"
"  coffer -u mgr-north assign customer 12 13 14 --to agent02\n"
"  coffer -u mgr-north assign --from-pool --list 2026-spring --count 300 \\\n"
"      --round-robin agent01,agent02,agent03\n"
"  coffer -u mgr-north assign --transfer agent04 --to agent05\n" },

{ "call", "call CUSTOMER-ID --outcome OUTCOME [--intent I] [--duration S] "
  "[--notes TEXT] [--next TIME [--next-kind KIND]]",
  "log a call just made, and schedule the next follow-up",
"Logs a call to the customer started now (a call record: outcome answered,\n"
"no_answer, busy, voicemail, wrong_number or refused; intent none, low,\n"
"medium or high; duration in seconds, default 0; notes) and with --next an\n"
"open follow-up due at TIME (kind callback unless --next-kind revisit or\n"
"after_sales).  Two requests: if the follow-up is refused, the call stays\n"
"logged and coffer says so.  Prints the new ids.  A sale is recorded with\n"
"'coffer create deal'.\n"
"\n"
"Examples:\n"
"  coffer call 42 --outcome answered --intent high --duration 180 --next +3d\n"
"  coffer call 43 --outcome no_answer --next 2026-12-01T10:00\n" },

{ "dnc add", "dnc add PHONE --reason TEXT",
  "put a number on the do-not-call list, at once",
"Puts PHONE (any form: +86 138 1234 5678, 138-1234-5678) on the company's\n"
"do-not-call list the moment a customer asks, effective at once for\n"
"everyone: every customer with the number is flagged do_not_call, a reveal\n"
"of the number is refused to agents and no call to it can be logged.\n"
"Anyone with customer data (agents, managers) may add a number.  Adding a\n"
"number already listed re-flags its customers and cancels a pending\n"
"removal.\n"
"\n"
"Example:\n"
"  coffer dnc add 13812345678 --reason \"customer asked on the call\"\n" },

{ "dnc remove", "dnc remove PHONE --reason TEXT",
  "ask for a number to come off the do-not-call list",
"Files a removal request; the number stays listed until a manager other\n"
"than you approves it with 'coffer dnc approve'.\n" },

{ "dnc approve", "dnc approve PHONE [--comment TEXT]",
  "approve a do-not-call removal (managers)",
"Removes PHONE from the list (a manager; never the person who asked).\n"
"Customers already flagged do_not_call stay flagged: clearing a flag is\n"
"an update of the customer, through a change request.\n" },

{ "dnc reject", "dnc reject PHONE [--comment TEXT]",
  "reject a do-not-call removal (managers)",
"The number stays on the list and the removal request is closed.\n" },

{ "dnc list", "dnc list [--pending] [--limit N] [--offset N]",
  "the do-not-call list (managers, compliance)",
"Lists the numbers (masked as the policy masks customers.phone for you),\n"
"who added each and why; --pending only those with a removal waiting,\n"
"with who asked and why.  Agents use 'coffer dnc check'.\n" },

{ "dnc check", "dnc check PHONE",
  "is this number on the do-not-call list?",
"Any user: prints whether PHONE is listed (-q: yes or no), nothing else.\n" },

{ "help", "help [COMMAND]",
  "this help, or a command's help",
"Prints the overview, or the help of COMMAND ('coffer help user add').\n" },
};

const char *
help_global_head(void)
{
	return global_head;
}

const char *
help_global_tail(void)
{
	return global_tail;
}

const struct help_entry *
help_entries(size_t *n)
{
	*n = sizeof(entries) / sizeof(entries[0]);
	return entries;
}

const struct help_entry *
help_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		if (strcmp(entries[i].name, name) == 0)
			return &entries[i];
	return NULL;
}
