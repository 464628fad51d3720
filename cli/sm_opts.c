/*
 * sm_opts.c: sendmail's command line, as scripts and mail clients write
 * it: sendmail 8's letters (-t -i -f -F -bX -oX -q -N -R -V ...), the
 * ones that mean nothing here accepted and ignored, operands taken as
 * recipients from the first one on (no permutation: "+" below).
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "maildrop.h"
#include "proto.h"
#include "sendmail.h"

const char	*sm_progname = "sendmail";

#define SM_OPTSTRING	"+:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:q::r:tvx"

static int
opt_fail(char *err, size_t errlen, const char *what, int ch)
{
	snprintf(err, errlen, "%s -%c", what, ch);
	return EX_USAGE;
}

/* -bX */
static int
opt_mode(struct sm_opts *o, const char *arg, char *err, size_t errlen)
{
	if (strcmp(arg, "m") == 0)
		o->mode = SM_MODE_SEND;
	else if (strcmp(arg, "p") == 0)
		o->mode = SM_MODE_MAILQ;
	else if (strcmp(arg, "i") == 0)
		o->mode = SM_MODE_NEWALIASES;
	else if (strcmp(arg, "s") == 0)
		o->mode = SM_MODE_SMTP;
	else {
		snprintf(err, errlen, "-b%.20s is not supported", arg);
		return EX_USAGE;
	}
	return 0;
}

/* -oX: only -oi means something; the delivery and error modes (-odi,
 * -odb, -oem, ...) and the rest are sendmail.cf options we need not. */
static void
opt_o(struct sm_opts *o, const char *arg)
{
	if (strcmp(arg, "i") == 0)
		o->ignore_dots = 1;
}

/* -q alone, or with a queue selection, flushes; -q30m asks for a
 * daemon that retries every 30 minutes, which qmgr already is. */
static void
opt_q(struct sm_opts *o, const char *arg)
{
	size_t	n;

	if (arg == NULL || arg[0] == '\0') {
		o->mode = SM_MODE_FLUSH;
		return;
	}
	n = strspn(arg, "0123456789smhdw");
	o->mode = n == strlen(arg) && isdigit((unsigned char)arg[0]) ?
	    SM_MODE_NOTHING : SM_MODE_FLUSH;
}

static int
opt_dsn(struct sm_opts *o, int ch, const char *arg, char *err,
    size_t errlen)
{
	size_t	i;

	switch (ch) {
	case 'N':
		if (maildrop_notify_parse(arg, &o->notify) == -1)
			return opt_fail(err, errlen, "bad NOTIFY list for", ch);
		return 0;
	case 'R':
		if (strcasecmp(arg, "full") == 0)
			o->ret = QM_RET_FULL;
		else if (strcasecmp(arg, "hdrs") == 0)
			o->ret = QM_RET_HDRS;
		else
			return opt_fail(err, errlen, "full or hdrs after", ch);
		return 0;
	default:	/* 'V': sent as xtext, so printable ASCII only */
		for (i = 0; arg[i] != '\0'; i++)
			if (arg[i] < 0x21 || arg[i] > 0x7e)
				break;
		if (arg[i] != '\0' || i == 0 || i > MAILDROP_ENVID_MAX / 3)
			return opt_fail(err, errlen, "bad envelope id for",
			    ch);
		o->envid = arg;
		return 0;
	}
}

static int
opt_one(struct sm_opts *o, int ch, const char *arg, char *err, size_t errlen)
{
	switch (ch) {
	case 'B':
		if (strcasecmp(arg, "7bit") != 0 &&
		    strcasecmp(arg, "8bitmime") != 0)
			return opt_fail(err, errlen, "7BIT or 8BITMIME after",
			    ch);
		return 0;
	case 'C':
		o->conf = arg;
		return 0;
	case 'F':
		o->fullname = arg;
		return 0;
	case 'N': case 'R': case 'V':
		return opt_dsn(o, ch, arg, err, errlen);
	case 'b':
		return opt_mode(o, arg, err, errlen);
	case 'f': case 'r':
		o->sender = arg;
		return 0;
	case 'i':
		o->ignore_dots = 1;
		return 0;
	case 'o':
		opt_o(o, arg);
		return 0;
	case 'q':
		opt_q(o, arg);
		return 0;
	case 't':
		o->extract = 1;
		return 0;
	case 'v':
		o->verbose = 1;
		return 0;
	case ':':
		return opt_fail(err, errlen, "a value is needed after", optopt);
	case '?':
		return opt_fail(err, errlen, "unknown option", optopt);
	default:	/* -G -I -L -O -U -X -c -e -h -m -n -p -x: no-ops */
		return 0;
	}
}

int
sm_opts_parse(int argc, char **argv, const char *progname,
    struct sm_opts *o, char *err, size_t errlen)
{
	int	ch, rc;

	memset(o, 0, sizeof(*o));
	if (strcmp(progname, "mailq") == 0)
		o->mode = SM_MODE_MAILQ;
	else if (strcmp(progname, "newaliases") == 0)
		o->mode = SM_MODE_NEWALIASES;
	optind = 0;		/* glibc: start afresh (the unit tests) */
	opterr = 0;
	while ((ch = getopt(argc, argv, SM_OPTSTRING)) != -1)
		if ((rc = opt_one(o, ch, optarg, err, errlen)) != 0)
			return rc;
	o->rcpts = argv + optind;
	o->nrcpts = argc - optind;
	if (o->mode != SM_MODE_SEND && o->nrcpts != 0) {
		snprintf(err, errlen, "no operands are taken with this mode");
		return EX_USAGE;
	}
	if (o->mode == SM_MODE_SEND && o->nrcpts == 0 && !o->extract) {
		snprintf(err, errlen, "no recipients given (and no -t)");
		return EX_USAGE;
	}
	return 0;
}
