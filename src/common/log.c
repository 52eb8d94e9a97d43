/*
 * log.c - the one logging module: stderr with a UTC time stamp in the
 * foreground, syslog(3) when daemonised.  Safe to call from any thread.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "coffer/log.h"

#define LOG_LINE_MAX 1024

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_use_syslog;
static enum log_level log_max = LOG_LVL_INFO;
static char log_ident[32] = "coffer";

static const char *const level_name[] = { "error", "warning", "info",
    "debug" };
static const int level_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
    LOG_DEBUG };

void
log_init(const char *ident, int use_syslog, enum log_level max_level)
{
	pthread_mutex_lock(&log_lock);
	if (ident != NULL)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_max = max_level;
	log_use_syslog = use_syslog != 0;
	if (log_use_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	pthread_mutex_unlock(&log_lock);
}

/*
 * A message may quote something a peer sent (a user name, an operation);
 * control characters become '?' so nobody can forge extra log lines or
 * drive the terminal.
 */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			*s = '?';
	}
}

static void
stamp(char *buf, size_t bufsz)
{
	struct timespec ts;
	struct tm tm;
	char secs[24];
	int ms;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(secs, sizeof(secs), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, bufsz, "(no clock)");
		return;
	}
	ms = (int)(ts.tv_nsec / 1000000L) % 1000;
	snprintf(buf, bufsz, "%.20s.%03dZ", secs, ms);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[LOG_LINE_MAX], when[40];
	va_list ap;

	if ((unsigned)lvl > LOG_LVL_DEBUG)
		lvl = LOG_LVL_DEBUG;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sanitize(line);

	/* One lock for the level check and the write: a line is never torn. */
	pthread_mutex_lock(&log_lock);
	if (lvl <= log_max) {
		if (log_use_syslog) {
			syslog(level_prio[lvl], "%s", line);
		} else {
			stamp(when, sizeof(when));
			fprintf(stderr, "%s %s[%s] %s\n", when, log_ident,
			    level_name[lvl], line);
			fflush(stderr);
		}
	}
	pthread_mutex_unlock(&log_lock);
}
