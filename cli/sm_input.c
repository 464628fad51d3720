/*
 * sm_input.c: the message on sendmail's standard input. Lines end in LF
 * (a CR before it is dropped); a lone "." ends the input unless -i; a
 * leading mbox "From " line is dropped. The header is kept in memory for
 * -t and the added From:, the body goes to an unlinked temporary file.
 * A NUL or a CR inside a line is refused, never passed on mangled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "sendmail.h"

struct line {
	char	*p;
	size_t	 len;
	size_t	 cap;
	size_t	 no;		/* line number, for messages */
};

static int
in_fail(int code, const struct line *l, const char *why)
{
	fprintf(stderr, "%s: line %zu: %s\n", sm_progname, l->no, why);
	return code;
}

/* One line without its end into l: 1, 0 at EOF, or a sysexits code
 * (negated) after saying why. max bounds the line. */
static int
in_line(FILE *in, struct line *l, size_t max)
{
	char	*p;
	int	 c;

	l->len = 0;
	l->no++;
	while ((c = getc_unlocked(in)) != EOF && c != '\n') {
		if (l->len + 2 > l->cap) {
			if (l->cap >= max)
				return -in_fail(EX_DATAERR, l, "message too "
				    "large");
			if ((p = realloc(l->p, l->cap ? l->cap * 2 : 1024))
			    == NULL)
				return -in_fail(EX_OSERR, l, "out of memory");
			l->p = p;
			l->cap = l->cap ? l->cap * 2 : 1024;
		}
		l->p[l->len++] = (char)c;
	}
	if (ferror(in))
		return -in_fail(EX_IOERR, l, strerror(errno));
	if (c == EOF && l->len == 0)
		return 0;
	if (l->len > 0 && l->p[l->len - 1] == '\r')
		l->len--;
	l->p[l->len] = '\0';
	if (memchr(l->p, '\0', l->len) != NULL)
		return -in_fail(EX_DATAERR, l, "NUL byte in the message");
	if (memchr(l->p, '\r', l->len) != NULL)
		return -in_fail(EX_DATAERR, l, "CR inside a line");
	return 1;
}

/* RFC 5322 §2.2: a field name is printable ASCII but ':', then ':'. */
static int
is_header(const char *s)
{
	size_t	n = 0;

	while (s[n] > 0x20 && s[n] < 0x7f && s[n] != ':')
		n++;
	return n > 0 && s[n] == ':';
}

/* A folded line joins the header above it. */
static int
fold_header(struct sm_msg *m, const char *s, size_t len)
{
	struct sm_header	*h = &m->h[m->nh - 1];
	char			*p;

	if ((p = realloc(h->text, h->len + len + 2)) == NULL)
		return -1;
	p[h->len] = '\n';
	memcpy(p + h->len + 1, s, len + 1);
	h->text = p;
	h->len += len + 1;
	return 0;
}

/* A line of the header section: 1 if it was one, 0 if it starts the
 * body, or a negated sysexits code. */
static int
in_header(struct sm_msg *m, const struct line *l)
{
	int	rc;

	if (l->len == 0)
		return 0;
	if ((l->p[0] == ' ' || l->p[0] == '\t') && m->nh > 0)
		rc = fold_header(m, l->p, l->len);
	else if (is_header(l->p))
		rc = sm_header_push(m, l->p, l->len);
	else
		return 0;
	if (rc == -1)
		return -in_fail(EX_OSERR, l, "out of memory");
	if ((m->hbytes += l->len + 2) > SM_HEADER_MAX)
		return -in_fail(EX_DATAERR, l, "header section too large");
	return 1;
}

static int
in_body(struct sm_msg *m, const struct line *l)
{
	if (fwrite(l->p, 1, l->len, m->body) != l->len ||
	    putc('\n', m->body) == EOF)
		return in_fail(EX_IOERR, l, "cannot write the temporary "
		    "file");
	return 0;
}

static void
note_8bit(struct sm_msg *m, const struct line *l)
{
	size_t	i;

	for (i = 0; i < l->len && !m->eightbit; i++)
		if ((unsigned char)l->p[i] >= 0x80)
			m->eightbit = 1;
}

static int
in_loop(FILE *in, int ignore_dots, uint64_t limit, struct sm_msg *m,
    struct line *l)
{
	int	rc, header = 1;

	while ((rc = in_line(in, l, limit + 2)) == 1) {
		if (!ignore_dots && l->len == 1 && l->p[0] == '.')
			break;
		if (l->no == 1 && strncmp(l->p, "From ", 5) == 0)
			continue;
		note_8bit(m, l);
		if ((m->size += l->len + 2) > limit)
			return in_fail(EX_DATAERR, l, "message too large");
		if (header && (rc = in_header(m, l)) != 0) {
			if (rc < 0)
				return -rc;
			continue;
		}
		/* the empty line that ended the header is not body */
		if (header && (header = 0, l->len == 0))
			continue;
		if ((rc = in_body(m, l)) != 0)
			return rc;
	}
	return rc < 0 ? -rc : 0;
}

int
sm_read(FILE *in, int ignore_dots, uint64_t limit, struct sm_msg *m)
{
	struct line	l = { NULL, 0, 0, 0 };
	int		rc;

	memset(m, 0, sizeof(*m));
	if ((m->body = tmpfile()) == NULL) {
		fprintf(stderr, "%s: cannot make a temporary file: %s\n",
		    sm_progname, strerror(errno));
		return EX_CANTCREAT;
	}
	rc = in_loop(in, ignore_dots, limit, m, &l);
	free(l.p);
	if (rc == 0 && (fflush(m->body) == EOF || ferror(m->body))) {
		fprintf(stderr, "%s: cannot write the temporary file: %s\n",
		    sm_progname, strerror(errno));
		rc = EX_IOERR;
	}
	return rc;
}

void
sm_msg_free(struct sm_msg *m)
{
	size_t	i;

	for (i = 0; i < m->nh; i++)
		free(m->h[i].text);
	free(m->h);
	if (m->body != NULL)
		fclose(m->body);
	memset(m, 0, sizeof(*m));
}
