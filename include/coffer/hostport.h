/*
 * hostport.h - the one parser for "HOST:PORT" and "[V6ADDR]:PORT", used by
 * cofferd --listen and coffer -H, so both accept and refuse the same text.
 */
#ifndef COFFER_HOSTPORT_H
#define COFFER_HOSTPORT_H

#include <stddef.h>

#define HOSTPORT_HOST_MAX 256
#define HOSTPORT_PORT_MAX 6   /* "65535" + NUL */

/*
 * Split spec into host and port.  The host is non-empty; the port is a
 * decimal number from 1 to 65535.  COFFER_ERR_USAGE otherwise.
 */
int hostport_split(const char *spec, char host[HOSTPORT_HOST_MAX],
    char port[HOSTPORT_PORT_MAX]);

#endif
