/*
 * cofferd.c - the Coffer daemon: opens one vault (unseals the master key,
 * derives the subkeys, takes the vault lock), makes itself undumpable,
 * listens on a Unix socket (and optionally TCP) and serves sessions until
 * SIGTERM/SIGINT.  Usage and exit codes: cofferd --help, docs/man/cofferd.8.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "coffer/access.h"
#include "coffer/audit.h"
#include "coffer/daemon.h"
#include "coffer/hostport.h"
#include "coffer/idrot.h"
#include "coffer/keys.h"
#include "coffer/log.h"
#include "coffer/passphrase.h"
#include "coffer/policy.h"
#include "coffer/retention.h"
#include "coffer/schedule.h"
#include "coffer/server.h"
#include "coffer/vault.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILURE_ = 1,  /* runtime failure */
	EXIT_USAGE = 2,
	EXIT_VAULT = 3,     /* the vault cannot be opened */
	EXIT_BUSY = 4,      /* another daemon serves this vault */
	EXIT_LISTEN = 5,    /* cannot create the listening socket */
	EXIT_POLICY = 6     /* the policy is invalid (or --check --policy) */
};

#define LIMITS_USERS 4096   /* users counted at once for volume limits */
#define DB_MEMORY_DEFAULT_MIB 128u /* --db-memory: see store_memory_limit */
#define WORKERS_MAX 256

struct options {
	const char *vault;
	const char *key_file;
	const char *pass_file;
	const char *socket;
	const char *listen;
	const char *run_as;
	const char *policy;     /* --policy FILE, or NULL */
	const char *backup_dir; /* --backup-dir DIR: scheduled backups */
	uint64_t backup_every_ms;
	unsigned backup_keep;
	unsigned max_clients;
	unsigned idle_timeout;
	unsigned retention_every;   /* seconds between retention sweeps */
	unsigned audit_segment_kib;
	unsigned db_memory_mib;     /* SQLite's shared memory budget */
	unsigned workers;           /* event-loop threads; 0 = by CPU count */
	int syslog;
	int verbose;
	int check;
};

static const char usage_text[] =
"usage: cofferd [-d DIR] [-k KEYFILE | -p PASSFILE] [-s SOCKET] [-l HOST:PORT]\n"
"               [--max-clients N] [--idle-timeout SEC] [--workers N]\n"
"               [--syslog] [-v]\n"
"               [--policy FILE]\n"
"               [--backup-dir DIR --backup-every INTERVAL [--backup-keep K]]\n"
"       cofferd --check [-d DIR] [-k KEYFILE | -p PASSFILE]\n"
"       cofferd --check --policy FILE\n"
"\n"
"Serve one Coffer vault: an encrypted (SQLCipher) database of customers,\n"
"calls, follow-ups, deals, products and notes.  Clients (coffer) connect\n"
"over the Unix socket, or over TCP if --listen is given, and authenticate\n"
"with their Ed25519 key; every message is then encrypted and authenticated.\n"
"cofferd runs in the foreground and logs to stderr (--syslog: to syslog).\n"
"\n"
"options:\n"
"  -d, --vault DIR        vault directory (default $COFFER_VAULT, else\n"
"                         /var/lib/coffer); made by coffer-admin init\n"
"  -k, --key-file FILE    key file that unseals the master key (default\n"
"                         DIR/master.key for a key-file vault); must be 0600\n"
"  -p, --passphrase-file FILE\n"
"                         first line is the administrator passphrase, for\n"
"                         a passphrase vault (default: ask on the terminal)\n"
"  -s, --socket PATH      Unix socket (default DIR/cofferd.sock), mode 0660\n"
"  -l, --listen HOST:PORT also accept TCP connections (off by default; use a\n"
"                         loopback address unless you mean otherwise)\n"
"  -u, --user NAME        started as root: switch to this user (and its\n"
"                         group) before touching the vault\n"
"      --policy FILE      access policy (default DIR/policy.yaml; if that\n"
"                         does not exist, the built-in default policy);\n"
"                         must not be writable by group or others\n"
"      --max-clients N    sessions at once (default 256)\n"
"      --idle-timeout SEC close sessions idle this long (default 900, 0 = never)\n"
"      --workers N        threads serving requests, shared by all sessions\n"
"                         (default: 2 per CPU); reports, lists, imports,\n"
"                         exports and backups get a thread of their own\n"
"      --retention-every SEC\n"
"                         how often deleted records whose retention period\n"
"                         (the policy's `retention`) has ended are erased\n"
"                         (default 3600; also once at start); the same sweep\n"
"                         closes expired change requests\n"
"      --db-memory MIB    memory all sessions' database page caches share\n"
"                         (default 128; 0 = no limit, each session's own\n"
"                         cache then grows to 64 MiB)\n"
"      --audit-segment-size KIB\n"
"                         start a new audit segment file past this size\n"
"                         (default 65536 KiB); sealed segments are read-only\n";

/* Split: C11 promises string literals of 4095 bytes only. */
static const char usage_more[] =
"      --backup-dir DIR   take scheduled online backups into new directories\n"
"                         DIR/coffer-VAULTID-YYYYMMDDTHHMMSS.mmmZ (DIR: an\n"
"                         existing absolute path outside the vault)\n"
"      --backup-every INTERVAL\n"
"                         how often: a number, fractions allowed, with unit\n"
"                         s, m, h or d (none: hours), e.g. 6, 0.5, 30s, 15m;\n"
"                         at least 1 s; the first one is due one interval\n"
"                         after start; a failure is logged, audited, shown by\n"
"                         `coffer status` and retried at the next interval\n"
"      --backup-keep K    keep the newest K scheduled backups (default 7),\n"
"                         removing older ones this vault's daemon made; nothing\n"
"                         else in DIR is ever removed\n"
"      --syslog           log to syslog instead of stderr\n"
"      --check            open the vault, check keys, database and the audit\n"
"                         log's tail as a start would, print \"vault OK\" and\n"
"                         exit; with --policy FILE: only\n"
"                         validate FILE, print \"policy OK\" or each error\n"
"                         as FILE:LINE:COL: message, no vault needed\n"
"  -v, --verbose          log each failed request too\n"
"  -h, --help             this text;  -V, --version  the version\n";

/* Split: C11 promises string literals of 4095 bytes only. */
static const char usage_tail[] =
"\n"
"signals: SIGTERM, SIGINT stop after open requests are answered; SIGHUP\n"
"reloads the policy: a valid new one replaces the old, a broken one is\n"
"logged and the old one stays in force.\n"
"\n"
"exit status: 0 stopped normally, 1 runtime failure, 2 usage, 3 the vault\n"
"could not be opened (wrong key, bad permissions, damaged), 4 another\n"
"process holds the vault, 5 the socket could not be created, 6 the policy\n"
"is invalid (also --check --policy on a broken file).\n";

static struct server *g_server; /* for the signal handler only */
static const struct options *g_opts; /* for the reload hook only */

#define BUILTIN_POLICY "built-in default policy"

static void
on_stop(int sig)
{
	(void)sig;
	if (g_server != NULL)
		server_stop(g_server);
}

static void
on_hup(int sig)
{
	(void)sig;
	if (g_server != NULL)
		server_reload(g_server);
}

/*
 * Two event-loop workers per CPU: a worker waits on the write lock and the
 * disk during a write, and the other keeps serving reads meanwhile.
 */
static unsigned
default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > WORKERS_MAX / 2)
		n = WORKERS_MAX / 2;
	return 2 * (unsigned)n;
}

static int
parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-')
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* The schedule options come together: a directory and an interval. */
static int
check_schedule_options(struct options *o)
{
	if (o->backup_dir == NULL && (o->backup_every_ms != 0 ||
	    o->backup_keep != 0)) {
		fputs("cofferd: --backup-every and --backup-keep need "
		    "--backup-dir\n", stderr);
		return EXIT_USAGE;
	}
	if (o->backup_dir == NULL)
		return EXIT_OK;
	if (o->backup_every_ms == 0) {
		fputs("cofferd: --backup-dir needs --backup-every\n", stderr);
		return EXIT_USAGE;
	}
	if (o->backup_dir[0] != '/' ||
	    strlen(o->backup_dir) > SCHEDULE_DIR_MAX) {
		fprintf(stderr, "cofferd: --backup-dir %s: must be an absolute "
		    "path of at most %d bytes\n", o->backup_dir,
		    SCHEDULE_DIR_MAX);
		return EXIT_USAGE;
	}
	if (o->backup_keep == 0)
		o->backup_keep = 7;
	return EXIT_OK;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "vault", required_argument, NULL, 'd' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "user", required_argument, NULL, 'u' },
		{ "policy", required_argument, NULL, 'P' },
		{ "max-clients", required_argument, NULL, 'M' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "workers", required_argument, NULL, 'W' },
		{ "retention-every", required_argument, NULL, 'R' },
		{ "audit-segment-size", required_argument, NULL, 'A' },
		{ "db-memory", required_argument, NULL, 'D' },
		{ "backup-dir", required_argument, NULL, 'B' },
		{ "backup-every", required_argument, NULL, 'E' },
		{ "backup-keep", required_argument, NULL, 'K' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "check", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->vault = getenv("COFFER_VAULT");
	if (o->vault == NULL || o->vault[0] == '\0')
		o->vault = "/var/lib/coffer";
	o->max_clients = 256;
	o->idle_timeout = 900;
	o->retention_every = RETENTION_EVERY_DEFAULT;
	o->db_memory_mib = DB_MEMORY_DEFAULT_MIB;
	while ((c = getopt_long(argc, argv, "d:k:p:s:l:u:vhV", longopts, NULL))
	    != -1) {
		switch (c) {
		case 'd': o->vault = optarg; break;
		case 'k': o->key_file = optarg; break;
		case 'p': o->pass_file = optarg; break;
		case 's': o->socket = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'u': o->run_as = optarg; break;
		case 'P': o->policy = optarg; break;
		case 'B': o->backup_dir = optarg; break;
		case 'E':
			if (schedule_parse_interval(optarg, &o->backup_every_ms)
			    != COFFER_OK) {
				fprintf(stderr, "cofferd: --backup-every %s: not an "
				    "interval from 1s to 366d (e.g. 6, 0.5h, 30s, "
				    "15m, 1d; no unit: hours)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'K':
			if (parse_uint(optarg, SCHEDULE_KEEP_MAX,
			    &o->backup_keep) < 0 || o->backup_keep == 0) {
				fprintf(stderr, "cofferd: --backup-keep %s: not a "
				    "number from 1 to %d\n", optarg,
				    SCHEDULE_KEEP_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'S': o->syslog = 1; break;
		case 'C': o->check = 1; break;
		case 'v': o->verbose = 1; break;
		case 'M':
			if (parse_uint(optarg, 65536, &o->max_clients) < 0 ||
			    o->max_clients == 0) {
				fprintf(stderr, "cofferd: --max-clients %s: not a "
				    "number from 1 to 65536\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'A':
			if (parse_uint(optarg, 4u * 1024 * 1024,
			    &o->audit_segment_kib) < 0 ||
			    o->audit_segment_kib == 0) {
				fprintf(stderr, "cofferd: --audit-segment-size "
				    "%s: not a number of KiB from 1 to 4194304\n",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'D':
			if (parse_uint(optarg, 1024 * 1024, &o->db_memory_mib)
			    < 0) {
				fprintf(stderr, "cofferd: --db-memory %s: not a "
				    "number of MiB from 0 to 1048576\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'I':
			if (parse_uint(optarg, 86400 * 7, &o->idle_timeout) < 0) {
				fprintf(stderr, "cofferd: --idle-timeout %s: not "
				    "a number of seconds\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'W':
			if (parse_uint(optarg, WORKERS_MAX, &o->workers) < 0 ||
			    o->workers == 0) {
				fprintf(stderr, "cofferd: --workers %s: not a "
				    "number from 1 to %d\n", optarg, WORKERS_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'R':
			if (parse_uint(optarg, RETENTION_EVERY_MAX,
			    &o->retention_every) < 0 || o->retention_every == 0) {
				fprintf(stderr, "cofferd: --retention-every %s: "
				    "not a number of seconds from 1 to %u\n",
				    optarg, RETENTION_EVERY_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(usage_more, stdout);
			fputs(usage_tail, stdout);
			return -1;
		case 'V': printf("cofferd %s\n", COFFER_VERSION); return -1;
		default:
			fputs("Try 'cofferd --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cofferd: unexpected argument '%s'\n",
		    argv[optind]);
		return EXIT_USAGE;
	}
	if (check_schedule_options(o) != EXIT_OK)
		return EXIT_USAGE;
	if (o->listen != NULL) {
		char host[HOSTPORT_HOST_MAX], port[HOSTPORT_PORT_MAX];

		if (hostport_split(o->listen, host, port) != COFFER_OK) {
			fprintf(stderr, "cofferd: --listen %s: expected "
			    "HOST:PORT or [V6ADDR]:PORT with a port from 1 to "
			    "65535\n", o->listen);
			return EXIT_USAGE;
		}
	}
	if (o->key_file != NULL && access(o->key_file, F_OK) != 0) {
		fprintf(stderr, "cofferd: --key-file %s: %s\n", o->key_file,
		    strerror(errno));
		return EXIT_VAULT;
	}
	if (o->key_file != NULL && o->pass_file != NULL) {
		fputs("cofferd: give --key-file or --passphrase-file, not "
		    "both\n", stderr);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/*
 * Started as root with --user: become that user for good before the vault
 * is opened, so the daemon never holds keys with root privileges.  A TCP
 * port below 1024 is therefore not available; use a higher one.
 */
static int
drop_privileges(const char *name)
{
	struct passwd *pw;

	if (name == NULL) {
		if (geteuid() == 0)
			log_warn("running as root; start with --user NAME to "
			    "run as an unprivileged user");
		return COFFER_OK;
	}
	if ((pw = getpwnam(name)) == NULL) {
		log_err("--user %s: no such user", name);
		return COFFER_ERR_USAGE;
	}
	if (geteuid() != 0 && geteuid() != pw->pw_uid) {
		log_err("--user %s: only root can switch users", name);
		return COFFER_ERR_USAGE;
	}
	if (geteuid() == 0 && (setgroups(1, &pw->pw_gid) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)) {
		log_err("--user %s: cannot switch: %s", name, strerror(errno));
		return COFFER_ERR_PERM;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		log_err("--user %s: root could be regained; stopping", name);
		return COFFER_ERR_PERM;
	}
	return COFFER_OK;
}

/* Nothing of this process may end up in a core file or be ptraced. */
static void
harden_process(void)
{
	struct rlimit nocore = { 0, 0 };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		log_warn("cannot set no-new-privileges: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_warn("cannot make the process undumpable: %s",
		    strerror(errno));
	if (setrlimit(RLIMIT_CORE, &nocore) != 0)
		log_warn("cannot disable core dumps: %s", strerror(errno));
	umask(077);
}

static int
open_vault(const struct options *o, struct vault **v)
{
	char *pass = NULL;
	size_t passlen = 0;
	unsigned from = 0, to = 0;
	int rc, needs;

	errno = 0;
	needs = vault_needs_passphrase(o->vault);
	if (needs < 0) {
		rc = -needs;
		log_err("vault %s: %s%s%s", o->vault, coffer_strerror(rc),
		    rc == COFFER_ERR_IO && errno ? ": " : "",
		    rc == COFFER_ERR_IO && errno ? strerror(errno) : "");
		return rc;
	}
	if (needs) {
		if ((pass = sodium_malloc(PASSPHRASE_MAX)) == NULL)
			return COFFER_ERR_NOMEM;
		rc = passphrase_get(o->pass_file, "Vault passphrase: ", 0, pass,
		    PASSPHRASE_MAX, &passlen);
		if (rc != COFFER_OK) {
			log_err("vault %s: no passphrase (%s): give "
			    "--passphrase-file or run on a terminal", o->vault,
			    coffer_strerror(rc));
			goto out;
		}
	}
	errno = 0;
	rc = vault_open(o->vault, o->key_file, pass, passlen, v);
	if (rc != COFFER_OK)
		log_err("vault %s: cannot open: %s%s%s", o->vault,
		    coffer_strerror(rc), rc == COFFER_ERR_IO && errno ? ": " : "",
		    rc == COFFER_ERR_IO && errno ? strerror(errno) : "");
	else if (vault_rekey_recovered(*v, &from, &to) != VAULT_REKEY_NONE)
		log_warn("vault %s: interrupted database key rotation %u -> %u "
		    "settled: generation %u in force", o->vault, from, to,
		    vault_key_generation(*v, KEYS_SUB_DATABASE));
out:
	if (pass != NULL)
		sodium_free(pass);
	return rc;
}

static int
sign_identity(void *arg, unsigned char sig[64], const unsigned char *m,
    size_t len)
{
	const struct vault *v = arg;

	return crypto_sign_detached(sig, NULL, m, len,
	    vault_identity_sk(v)) == 0 ? COFFER_OK : COFFER_ERR_CRYPTO;
}

/*
 * Open the database once at start, to fail early on a wrong key or a
 * damaged file.  The daemon keeps this connection for its whole run, so
 * the WAL is not checkpointed and removed each time the last session ends.
 */
static int
check_database(struct vault *v, struct store **st)
{
	int rc = vault_store_open(v, 0, st);

	if (rc != COFFER_OK)
		log_err("database %s: %s", vault_store_path(v),
		    coffer_strerror(rc));
	return rc;
}

/*
 * Before any session: statistics for the tables that have none or stale
 * ones (store_optimize).  A vault that cannot gather them still serves,
 * with slower lists; the retention sweep tries again within the hour.
 */
static void
gather_statistics(struct store *st)
{
	struct timespec a, b;
	long ms;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = store_optimize(st);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (long)(b.tv_sec - a.tv_sec) * 1000 +
	    (b.tv_nsec - a.tv_nsec) / 1000000;
	if (rc != COFFER_OK)
		log_warn("database statistics not gathered: %s; lists may be "
		    "slow until the next try", coffer_strerror(rc));
	else if (ms >= 100)
		log_info("database statistics gathered in %ld ms", ms);
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/*
 * Open the audit log in DIR/audit (made by coffer-admin with the vault).
 * A log that is missing or fails its start-up check is not continued: the
 * daemon refuses to start and says what failed where.
 */
static int
open_audit(struct vault *v, unsigned segment_kib, struct audit_log **out)
{
	struct coffer_errdetail det = { "", "" };
	struct audit_options ao;
	char dir[PATH_MAX], origin[64];
	int rc;

	if (vault_audit_path(v, dir, sizeof(dir)) != COFFER_OK)
		return COFFER_ERR_USAGE;
	vault_audit_origin(v, origin, sizeof(origin));
	memset(&ao, 0, sizeof(ao));
	ao.dir = dir;
	ao.origin = origin;
	ao.create = 0; /* made with the vault; a missing log is an error */
	ao.segment_max_bytes = (size_t)segment_kib * 1024;
	vault_audit_prev_pks(v, &ao.prev_pks, &ao.nprev_pks); /* rotations */
	rc = audit_open(&ao, vault_audit_sign_sk(v), vault_audit_hash_key(v),
	    &det, out);
	if (rc != COFFER_OK)
		log_err("audit log %s: %s%s%s", dir, coffer_strerror(rc),
		    det.message[0] ? ": " : "", det.message);
	if (rc == COFFER_ERR_NOT_FOUND)
		log_err("the vault's audit log is missing; cofferd will not "
		    "start a new one over an existing vault (restore it from "
		    "a backup)");
	return rc;
}

/* --- the policy ---------------------------------------------------- */

/*
 * Where the policy comes from: --policy FILE, else DIR/policy.yaml, else
 * (*src NULL) the default policy compiled into the binary.
 */
static int
policy_source(const struct options *o, char *buf, size_t bufsz,
    const char **src)
{
	struct stat sb;

	*src = o->policy;
	if (o->policy != NULL)
		return COFFER_OK;
	if (snprintf(buf, bufsz, "%s/policy.yaml", o->vault) >= (int)bufsz)
		return COFFER_ERR_USAGE;
	*src = lstat(buf, &sb) != 0 && errno == ENOENT ? NULL : buf;
	return COFFER_OK;
}

/* "FILE:LINE:COL: message", as policy_check_file prints it. */
static void
policy_error_text(const struct policy_error *e, char *buf, size_t bufsz)
{
	if (e->line > 0)
		snprintf(buf, bufsz, "%s:%u:%u: %s", e->file, e->line,
		    e->column, e->message);
	else
		snprintf(buf, bufsz, "%s: %s", e->file, e->message);
}

/* Every error of a broken policy file into the log, one line each. */
static void
log_policy_errors(const char *path)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return;
	(void)policy_check_file(path, f);
	fclose(f);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		log_err("policy: %s", line);
	free(text);
}

/*
 * Load and compile the policy.  reason gets what the audit record says:
 * where it came from, or the first error.  Errors are logged, all of them.
 */
static int
load_policy(const struct options *o, struct policy **out, char *reason,
    size_t reasonsz)
{
	struct policy_error e;
	char path[PATH_MAX];
	const char *src = NULL;
	int rc;

	memset(&e, 0, sizeof(e));
	*out = NULL;
	if ((rc = policy_source(o, path, sizeof(path), &src)) != COFFER_OK) {
		snprintf(reason, reasonsz, "policy path too long");
		return rc;
	}
	if (src != NULL)
		rc = policy_load(src, out, &e);
	else
		rc = policy_load_buffer(BUILTIN_POLICY, access_default_policy,
		    access_default_policy_len, out, &e);
	if (rc != COFFER_OK) {
		policy_error_text(&e, reason, reasonsz);
		if (src != NULL)
			log_policy_errors(src);
		else
			log_err("policy: %s", reason);
		return rc;
	}
	if (src == NULL)
		log_info("using the built-in default policy");
	else
		log_info("policy %s loaded", src);
	snprintf(reason, reasonsz, "loaded %.512s", src != NULL ? src :
	    "the " BUILTIN_POLICY);
	return COFFER_OK;
}

/* Each load, good or bad, is an audit record: op policy.load. */
static int
audit_policy_load(struct daemon_ctx *d, int rc, const char *reason)
{
	int arc = dispatch_audit_event(d, "policy.load", NULL, rc, reason);

	if (arc != COFFER_OK)
		log_err("policy.load: the audit log cannot be written");
	return arc;
}

/*
 * SIGHUP, in the accept thread: a valid new policy replaces the old one
 * once no request is using it (write lock); a broken one changes nothing.
 */
static void
reload_policy(struct daemon_ctx *d)
{
	struct policy *np = NULL, *old;
	char reason[640];
	int rc;

	log_info("SIGHUP: reloading the policy");
	rc = load_policy(g_opts, &np, reason, sizeof(reason));
	if (rc == COFFER_OK) {
		pthread_rwlock_wrlock(&d->policy_lock);
		old = d->policy;
		d->policy = np;
		pthread_rwlock_unlock(&d->policy_lock);
		policy_free(old);
	} else
		log_err("SIGHUP: the new policy is invalid; the policy in "
		    "force stays");
	(void)audit_policy_load(d, rc, reason);
}

/* `cofferd --check --policy FILE`: "policy OK" on stdout, errors on stderr. */
static int
check_policy(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (f == NULL)
		return EXIT_FAILURE_;
	rc = policy_check_file(path, f);
	fclose(f);
	fputs(text != NULL ? text : "", rc == COFFER_OK ? stdout : stderr);
	free(text);
	return rc == COFFER_OK ? EXIT_OK : EXIT_POLICY;
}

/* The policy in force at start; its load is audited, failed or not. */
static int
start_policy(const struct options *o, struct daemon_ctx *d)
{
	char reason[640];
	int rc;

	g_opts = o;
	rc = load_policy(o, &d->policy, reason, sizeof(reason));
	if (audit_policy_load(d, rc, reason) != COFFER_OK)
		return EXIT_VAULT;
	if (rc != COFFER_OK) {
		log_err("not starting: the policy is invalid");
		return EXIT_POLICY;
	}
	if (limits_new(LIMITS_USERS, &d->limits) != COFFER_OK)
		return EXIT_FAILURE_;
	return EXIT_OK;
}

/*
 * Writers first: under a steady stream of requests a reader-preferring
 * lock could put a SIGHUP off forever.  No thread takes the read lock
 * twice (dispatch passes the policy down), so this cannot deadlock.
 */
static void
init_policy_lock(pthread_rwlock_t *l)
{
	pthread_rwlockattr_t a;

	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(l, &a);
	pthread_rwlockattr_destroy(&a);
}

static void
ctx_free(struct daemon_ctx *d)
{
	audit_close(d->audit);
	policy_free(d->policy);
	limits_free(d->limits);
	pthread_rwlock_destroy(&d->policy_lock);
	pthread_mutex_destroy(&d->write_lock);
	pthread_mutex_destroy(&d->backup_lock);
}

/*
 * --backup-dir must be usable now: a backup made in it would pass
 * backup_check_path (absolute, clean, an existing directory the daemon
 * can write, outside the vault).  Later failures are the schedule's to
 * report; a wrong directory at start is a configuration error.
 */
static int
check_backup_dir(const struct options *o, struct vault *v)
{
	struct coffer_errdetail det = { "", "" };
	char id[SCHEDULE_ID_LEN + 1], name[SCHEDULE_NAME_LEN + 1];
	char path[SCHEDULE_PATH_MAX];
	int rc;

	if (o->backup_dir == NULL)
		return EXIT_OK;
	schedule_vault_id(vault_identity_pk(v), id);
	schedule_backup_name(id, time(NULL), 0, name);
	snprintf(path, sizeof(path), "%s/%s", o->backup_dir, name);
	rc = backup_check_path(path, vault_dir(v), &det);
	/* conflict: a backup of this very second exists; the dir is fine */
	if (rc != COFFER_OK && rc != COFFER_ERR_CONFLICT) {
		log_err("--backup-dir %s: %s", o->backup_dir, det.message);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* --check: the audit log must open and pass its start-up verification. */
static int
check_audit(struct vault *v, const struct options *o)
{
	struct audit_log *l = NULL;

	if (open_audit(v, o->audit_segment_kib, &l) != COFFER_OK)
		return EXIT_VAULT;
	audit_close(l);
	return EXIT_OK;
}

/* The backup schedule, when --backup-dir is given. */
static int
start_schedule(const struct options *o, struct daemon_ctx *d)
{
	struct schedule_config c;
	int rc;

	if (o->backup_dir == NULL)
		return COFFER_OK;
	c.dir = o->backup_dir;
	c.every_ms = o->backup_every_ms;
	c.keep = o->backup_keep;
	if ((rc = schedule_start(d, &c, &d->schedule)) != COFFER_OK) {
		log_err("cannot start the backup schedule: %s",
		    coffer_strerror(rc));
		return rc;
	}
	log_info("scheduled backups into %s every %llu.%03llu s, keeping %u",
	    o->backup_dir, (unsigned long long)(o->backup_every_ms / 1000),
	    (unsigned long long)(o->backup_every_ms % 1000), o->backup_keep);
	return COFFER_OK;
}

static int
serve(const struct options *o, struct vault *v)
{
	struct daemon_ctx d;
	struct server_config sc;
	struct retention *ret = NULL;
	struct idrot idrot[IDROT_MAX];
	char sock[PATH_MAX], fpr[USERKEY_FPR_TEXT];
	int rc, ex, exit_code;

	memset(&d, 0, sizeof(d));
	d.started = time(NULL);
	pthread_mutex_init(&d.write_lock, NULL);
	pthread_mutex_init(&d.backup_lock, NULL);
	init_policy_lock(&d.policy_lock);
	d.keys.db_path = vault_store_path(v);
	d.keys.db_key = vault_db_key(v);
	d.keys.identity_pk = vault_identity_pk(v);
	d.keys.sign = sign_identity;
	d.keys.sign_arg = v;
	d.keys.vault_dir = vault_dir(v);
	d.keys.backup_key = vault_backup_key(v);
	if (vault_identity_rotations(v, idrot, IDROT_MAX, &d.keys.nidrot) !=
	    COFFER_OK)
		log_warn("%s/" IDROT_FILE ": damaged; clients that pinned an "
		    "earlier daemon key will see a key mismatch", o->vault);
	d.keys.idrot = idrot;
	if (open_audit(v, o->audit_segment_kib, &d.audit) != COFFER_OK) {
		ctx_free(&d);
		return EXIT_VAULT;
	}
	if ((ex = start_policy(o, &d)) != EXIT_OK) {
		ctx_free(&d);
		return ex;
	}

	if (o->socket != NULL)
		snprintf(sock, sizeof(sock), "%s", o->socket);
	else if (snprintf(sock, sizeof(sock), "%s/cofferd.sock", o->vault) >=
	    (int)sizeof(sock)) {
		ctx_free(&d);
		return EXIT_USAGE;
	}
	memset(&sc, 0, sizeof(sc));
	sc.socket_path = sock;
	sc.tcp_listen = o->listen;
	sc.max_clients = o->max_clients;
	sc.handshake_timeout = 10;
	sc.idle_timeout = o->idle_timeout;
	sc.workers = o->workers > 0 ? o->workers : default_workers();
	sc.reload = reload_policy;
	rc = server_open(&d, &sc, &g_server);
	if (rc != COFFER_OK) {
		log_err("cannot listen on %s%s%s: %s", sock,
		    o->listen ? " / " : "", o->listen ? o->listen : "",
		    rc == COFFER_ERR_IO ? strerror(errno) :
		    rc == COFFER_ERR_BUSY ? "a daemon is already serving it" :
		    coffer_strerror(rc));
		ctx_free(&d);
		return EXIT_LISTEN;
	}
	if (dispatch_audit_event(&d, "daemon.start", NULL, COFFER_OK, NULL) !=
	    COFFER_OK) {
		log_err("the audit log cannot be written; not starting");
		server_close(g_server);
		ctx_free(&d);
		return EXIT_VAULT;
	}
	install_signals();
	if (start_schedule(o, &d) != COFFER_OK) {
		server_close(g_server);
		g_server = NULL;
		dispatch_audit_event(&d, "daemon.stop", NULL, COFFER_OK, NULL);
		ctx_free(&d);
		return EXIT_FAILURE_;
	}
	if ((rc = retention_start(&d, o->retention_every, &ret)) != COFFER_OK)
		log_err("cannot start the retention sweep: %s; deleted records "
		    "are kept until restart", coffer_strerror(rc));
	userkey_fingerprint(vault_identity_pk(v), fpr, sizeof(fpr));
	log_info("serving vault %s on unix:%s%s%s (daemon key %s)",
	    vault_dir(v), sock, o->listen ? " and tcp:" : "",
	    o->listen ? o->listen : "", fpr);
	/* Fails only if its workers cannot start: then stop as on SIGTERM. */
	exit_code = server_run(g_server) == COFFER_OK ? EXIT_OK : EXIT_FAILURE_;
	retention_stop(ret);
	/* a backup in progress finishes first; its records precede the stop */
	schedule_stop(d.schedule);
	d.schedule = NULL;
	server_close(g_server);
	g_server = NULL;
	dispatch_audit_event(&d, "daemon.stop", NULL, COFFER_OK, NULL);
	ctx_free(&d);
	log_info("stopped");
	return exit_code;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct vault *v = NULL;
	struct store *st = NULL;
	int rc, ex;

	if ((ex = parse_options(argc, argv, &o)) != EXIT_OK)
		return ex < 0 ? EXIT_OK : ex;
	log_init("cofferd", o.syslog, o.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
#ifdef COFFER_BENCH_NO_AUDIT
	/* make BENCH_AUDIT_OFF=1: requests are not audited (benchmark only) */
	log_warn("*** BENCHMARK BUILD: REQUESTS ARE NOT AUDITED ***");
	log_warn("*** built with BENCH_AUDIT_OFF=1 for docs/performance.md; "
	    "never serve real data with it ***");
#endif
	if (o.check && o.policy != NULL)
		return check_policy(o.policy);
	if (drop_privileges(o.run_as) != COFFER_OK)
		return EXIT_USAGE;
	harden_process();
	if (sodium_init() < 0) {
		log_err("libsodium failed to initialise");
		return EXIT_FAILURE_;
	}
	store_memory_limit((int64_t)o.db_memory_mib * 1024 * 1024);
	if (open_vault(&o, &v) != COFFER_OK)
		return EXIT_VAULT;
	if ((rc = vault_lock(v)) != COFFER_OK) {
		log_err("vault %s: %s", o.vault, rc == COFFER_ERR_BUSY ?
		    "in use by another cofferd or coffer-admin" :
		    coffer_strerror(rc));
		vault_close(v);
		return rc == COFFER_ERR_BUSY ? EXIT_BUSY : EXIT_VAULT;
	}
	if (check_database(v, &st) != COFFER_OK) {
		vault_close(v);
		return EXIT_VAULT;
	}
	if ((ex = check_backup_dir(&o, v)) != EXIT_OK) {
		store_close(st);
		vault_close(v);
		return ex;
	}
	if (o.check) {
		ex = check_audit(v, &o);
		if (ex == EXIT_OK)
			printf("vault OK: %s\n", vault_dir(v));
	} else {
		gather_statistics(st);
		ex = serve(&o, v);
	}
	store_close(st);
	vault_close(v);
	return ex;
}
