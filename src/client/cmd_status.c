/*
 * cmd_status.c - `coffer status` and `coffer whoami`: the daemon's state
 * and the caller's identity as the daemon sees it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "coffer/client.h"

int
cmd_status(struct ctx *c, int argc, char **argv)
{
	(void)argv;
	return simple_call(c, argc, "status");
}

int
cmd_whoami(struct ctx *c, int argc, char **argv)
{
	(void)argv;
	return simple_call(c, argc, "whoami");
}
