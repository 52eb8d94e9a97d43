/*
 * log.h - the daemon's one logging module.  Foreground: stderr with a time
 * stamp; daemonised: syslog.  Never pass a key or customer data to it.
 */
#ifndef COFFER_LOG_H
#define COFFER_LOG_H

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* use_syslog != 0 sends to syslog(3) under ident; otherwise stderr. */
void log_init(const char *ident, int use_syslog, enum log_level max_level);
void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
