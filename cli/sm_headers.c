/*
 * sm_headers.c: what sendmail does to the header section: find the
 * recipients of To:, Cc: and Bcc: for -t (addrlist.c parses them),
 * remove Bcc: so that no copy shows who else got it, and add the From:
 * a script left out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "addrlist.h"
#include "sendmail.h"

/* The field body of h if it is named name, else NULL. */
static const char *
header_value(const struct sm_header *h, const char *name)
{
	size_t	n = strlen(name);

	if (strncasecmp(h->text, name, n) != 0 || h->text[n] != ':')
		return NULL;
	return h->text + n + 1;
}

int
sm_has_header(const struct sm_msg *m, const char *name)
{
	size_t	i;

	for (i = 0; i < m->nh; i++)
		if (header_value(&m->h[i], name) != NULL)
			return 1;
	return 0;
}

int
sm_header_push(struct sm_msg *m, const char *text, size_t len)
{
	struct sm_header	*v;
	size_t			 cap;

	if (m->nh == m->hcap) {
		cap = m->hcap ? m->hcap * 2 : 16;
		if ((v = reallocarray(m->h, cap, sizeof(*v))) == NULL)
			return -1;
		m->h = v;
		m->hcap = cap;
	}
	if ((m->h[m->nh].text = strndup(text, len)) == NULL)
		return -1;
	m->h[m->nh].len = len;
	m->nh++;
	return 0;
}

int
sm_add_header(struct sm_msg *m, const char *text)
{
	if (sm_header_push(m, text, strlen(text)) == -1) {
		fprintf(stderr, "%s: out of memory\n", sm_progname);
		return EX_OSERR;
	}
	m->size += strlen(text) + 2;
	return 0;
}

void
sm_remove_bcc(struct sm_msg *m)
{
	size_t	i, j;

	for (i = j = 0; i < m->nh; i++) {
		if (header_value(&m->h[i], "Bcc") != NULL) {
			m->size -= m->h[i].len + 2;
			free(m->h[i].text);
			continue;
		}
		m->h[j++] = m->h[i];
	}
	m->nh = j;
}

int
sm_extract(const struct sm_msg *m,
    int (*add)(void *, const char *, char *, size_t), void *arg)
{
	static const char *const names[] = { "To", "Cc", "Bcc" };
	const char	*v;
	char		 err[SM_ERR_MAX];
	size_t		 i, k;

	for (i = 0; i < m->nh; i++)
		for (k = 0; k < 3; k++) {
			if ((v = header_value(&m->h[i], names[k])) == NULL)
				continue;
			if (addrlist_parse(v, strlen(v), add, arg, err,
			    sizeof(err)) == -1) {
				fprintf(stderr, "%s: %s: header: %s\n",
				    sm_progname, names[k], err);
				return EX_DATAERR;
			}
		}
	return 0;
}

/* The full name as a quoted-string: quotes and backslashes escaped,
 * control characters turned into spaces. */
static int
quote_name(const char *name, char *buf, size_t len)
{
	size_t	n = 0;

	if (len < 3)
		return -1;
	buf[n++] = '"';
	for (; *name != '\0'; name++) {
		if (n + 4 >= len)
			return -1;
		if (*name == '"' || *name == '\\')
			buf[n++] = '\\';
		buf[n++] = (unsigned char)*name < 0x20 || *name == 0x7f ?
		    ' ' : *name;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return 0;
}

int
sm_from_header(const char *addr, const char *fullname, char *buf,
    size_t len)
{
	char	name[512];
	int	n;

	if (fullname != NULL && fullname[0] != '\0') {
		if (quote_name(fullname, name, sizeof(name)) == -1)
			return -1;
		n = snprintf(buf, len, "From: %s <%s>", name, addr);
	} else
		n = snprintf(buf, len, "From: %s", addr);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
