/*
 * hostport.c - "HOST:PORT" / "[V6]:PORT" parsing, strict about the port so
 * that 99999 is an error rather than port 34463.
 */
#include <stdlib.h>
#include <string.h>

#include "coffer/err.h"
#include "coffer/hostport.h"

static int
port_ok(const char *p)
{
	size_t n = strlen(p);
	unsigned long v;

	if (n == 0 || n >= HOSTPORT_PORT_MAX || strspn(p, "0123456789") != n)
		return 0;
	v = strtoul(p, NULL, 10);
	return v >= 1 && v <= 65535;
}

int
hostport_split(const char *spec, char host[HOSTPORT_HOST_MAX],
    char port[HOSTPORT_PORT_MAX])
{
	const char *h = spec, *colon;
	size_t hlen;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (close == NULL || close[1] != ':')
			return COFFER_ERR_USAGE;
		h = spec + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strchr(spec, ':')) == NULL ||
		    strchr(colon + 1, ':') != NULL)
			return COFFER_ERR_USAGE;
		hlen = (size_t)(colon - spec);
	}
	if (hlen == 0 || hlen >= HOSTPORT_HOST_MAX || !port_ok(colon + 1))
		return COFFER_ERR_USAGE;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	return COFFER_OK;
}
