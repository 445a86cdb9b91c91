/*
 * yaml_scalar.c - go-yaml v2's plain-scalar resolver and Go's float
 * formatting, rewritten in C (see yaml_scalar.h for why).
 *
 * The rules, in go-yaml v2's order (resolve.go):
 *  - exact words: y Y yes Yes YES true True TRUE on On ON (true), n N no No
 *    NO false False FALSE off Off OFF (false), "" ~ null Null NULL (null),
 *    .nan .NaN .NAN, [+-].inf .Inf .INF (float);
 *  - starting with '.': whatever Go's strconv.ParseFloat accepts;
 *  - starting with a digit or sign: a timestamp (Go's time.Parse with the
 *    layouts "2006-1-2T15:4:5.999999999Z07:00", the same with 't',
 *    "2006-1-2 15:4:5.999999999" and "2006-1-2"); else, with every '_'
 *    removed, an int (strconv.ParseInt base 0: 0x, 0o, 0b, leading-0
 *    octal), a uint64, a float matching
 *    ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ that does not
 *    overflow, or "0b" followed by a signed binary number ("0b-1");
 *  - anything else is a string.
 * Where go-yaml quietly changes a number that does not fit (an integer
 * past int64 becomes a uint64 or a float, or a string when it is not
 * decimal; a float past a double's range becomes a string, one below it
 * 0), we say so instead (GFS_YAML_INT_RANGE, GFS_YAML_FLOAT_RANGE).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"
#include "yaml_scalar.h"

/* ---- exact words ---- */

struct gfs_yaml_word {
	const char *text;
	enum gfs_yaml_kind kind;
	int value; /* bool value, or sign of an infinity (0 for NaN) */
};

/* clang-format off */
static const struct gfs_yaml_word gfs_yaml_words[] = {
	{"y", GFS_YAML_BOOL, 1},       {"Y", GFS_YAML_BOOL, 1},
	{"yes", GFS_YAML_BOOL, 1},     {"Yes", GFS_YAML_BOOL, 1},
	{"YES", GFS_YAML_BOOL, 1},     {"true", GFS_YAML_BOOL, 1},
	{"True", GFS_YAML_BOOL, 1},    {"TRUE", GFS_YAML_BOOL, 1},
	{"on", GFS_YAML_BOOL, 1},      {"On", GFS_YAML_BOOL, 1},
	{"ON", GFS_YAML_BOOL, 1},      {"n", GFS_YAML_BOOL, 0},
	{"N", GFS_YAML_BOOL, 0},       {"no", GFS_YAML_BOOL, 0},
	{"No", GFS_YAML_BOOL, 0},      {"NO", GFS_YAML_BOOL, 0},
	{"false", GFS_YAML_BOOL, 0},   {"False", GFS_YAML_BOOL, 0},
	{"FALSE", GFS_YAML_BOOL, 0},   {"off", GFS_YAML_BOOL, 0},
	{"Off", GFS_YAML_BOOL, 0},     {"OFF", GFS_YAML_BOOL, 0},
	{"", GFS_YAML_NULL, 0},        {"~", GFS_YAML_NULL, 0},
	{"null", GFS_YAML_NULL, 0},    {"Null", GFS_YAML_NULL, 0},
	{"NULL", GFS_YAML_NULL, 0},    {".nan", GFS_YAML_FLOAT, 0},
	{".NaN", GFS_YAML_FLOAT, 0},   {".NAN", GFS_YAML_FLOAT, 0},
	{".inf", GFS_YAML_FLOAT, 1},   {".Inf", GFS_YAML_FLOAT, 1},
	{".INF", GFS_YAML_FLOAT, 1},   {"+.inf", GFS_YAML_FLOAT, 1},
	{"+.Inf", GFS_YAML_FLOAT, 1},  {"+.INF", GFS_YAML_FLOAT, 1},
	{"-.inf", GFS_YAML_FLOAT, -1}, {"-.Inf", GFS_YAML_FLOAT, -1},
	{"-.INF", GFS_YAML_FLOAT, -1},
};
/* clang-format on */

static bool gfs_yaml_word_lookup(struct gfs_yaml_scalar *out, const char *s, size_t len)
{
	for (size_t k = 0; k < GFS_ARRAY_SIZE(gfs_yaml_words); k++) {
		const struct gfs_yaml_word *w = &gfs_yaml_words[k];
		if (strlen(w->text) != len || memcmp(w->text, s, len) != 0)
			continue;
		out->kind = w->kind;
		out->b = w->value != 0;
		if (w->kind == GFS_YAML_FLOAT)
			out->f = w->value ? w->value * INFINITY : NAN;
		return true;
	}
	return false;
}

static bool gfs_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ---- timestamps (Go's time.Parse with go-yaml's four layouts) ---- */

/* Go's getnum(s, false): one digit, or two when two are there. */
static bool gfs_ts_num(const char **p, const char *end, int *out)
{
	if (*p >= end || !gfs_is_digit(**p))
		return false;
	int v = *(*p)++ - '0';
	if (*p < end && gfs_is_digit(**p))
		v = v * 10 + (*(*p)++ - '0');
	*out = v;
	return true;
}

static int gfs_ts_days_in(int month, int year)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
	return month == 2 && leap ? 29 : days[month - 1];
}

/* "15:4:5" then an optional ".999999999" (Go also takes a comma). */
static bool gfs_ts_clock(const char **p, const char *end)
{
	int h, m, sec;
	if (!gfs_ts_num(p, end, &h) || h > 23 || *p >= end || **p != ':')
		return false;
	(*p)++;
	if (!gfs_ts_num(p, end, &m) || m > 59 || *p >= end || **p != ':')
		return false;
	(*p)++;
	if (!gfs_ts_num(p, end, &sec) || sec > 59)
		return false;
	if (end - *p >= 2 && (**p == '.' || **p == ',') && gfs_is_digit((*p)[1])) {
		(*p)++;
		while (*p < end && gfs_is_digit(**p))
			(*p)++;
	}
	return true;
}

/* "Z07:00": a Z, or +hh:mm / -hh:mm with two digits each. */
static bool gfs_ts_zone(const char *p, const char *end)
{
	if (end - p == 1 && *p == 'Z')
		return true;
	if (end - p != 6 || (p[0] != '+' && p[0] != '-') || p[3] != ':')
		return false;
	if (!gfs_is_digit(p[1]) || !gfs_is_digit(p[2]) || !gfs_is_digit(p[4]) ||
	    !gfs_is_digit(p[5]))
		return false;
	int hh = (p[1] - '0') * 10 + p[2] - '0', mm = (p[4] - '0') * 10 + p[5] - '0';
	return hh <= 24 && mm <= 60;
}

static bool gfs_ts_match(const char *s, size_t len)
{
	const char *p = s + 5, *end = s + len;
	int year = 0, month, day;

	if (len < 5 || s[4] != '-')
		return false;
	for (int k = 0; k < 4; k++) {
		if (!gfs_is_digit(s[k]))
			return false;
		year = year * 10 + s[k] - '0';
	}
	if (!gfs_ts_num(&p, end, &month) || month < 1 || month > 12)
		return false;
	if (p >= end || *p++ != '-' || !gfs_ts_num(&p, end, &day))
		return false;
	if (day < 1 || day > gfs_ts_days_in(month, year))
		return false;
	if (p == end)
		return true;
	if (*p == 'T' || *p == 't') {
		p++;
		return gfs_ts_clock(&p, end) && gfs_ts_zone(p, end);
	}
	if (*p != ' ')
		return false;
	/* A space in a Go layout matches any run of spaces. */
	while (p < end && *p == ' ')
		p++;
	return gfs_ts_clock(&p, end) && p == end;
}

/* ---- numbers ---- */

/* Go's strconv.ParseUint(s, base, 64) for base 0 (prefixes 0b 0o 0x and a
 * leading 0 for octal) or an explicit base. No sign, no underscores (the
 * caller removed them). Returns 0, -EINVAL on a syntax error, or -ERANGE
 * for well-formed digits whose value does not fit. */
static int gfs_parse_uint(uint64_t *out, const char *s, size_t len, int base)
{
	uint64_t n = 0;
	bool overflow = false;

	if (len == 0)
		return -EINVAL;
	if (base == 0) {
		base = 10;
		if (s[0] == '0') {
			char c = (char)tolower((unsigned char)(len >= 3 ? s[1] : 0));
			base = c == 'b' ? 2 : c == 'o' ? 8 : c == 'x' ? 16 : 8;
			size_t skip = (c == 'b' || c == 'o' || c == 'x') ? 2 : 1;
			s += skip;
			len -= skip;
		}
	}
	for (size_t k = 0; k < len; k++) {
		int c = tolower((unsigned char)s[k]), d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'z')
			d = c - 'a' + 10;
		else
			return -EINVAL;
		if (d >= base)
			return -EINVAL;
		if (n > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			overflow = true;
		n = n * (uint64_t)base + (uint64_t)d;
	}
	if (overflow)
		return -ERANGE;
	*out = n;
	return 0;
}

/* Go's strconv.ParseInt(s, base, 64): an optional sign, then ParseUint.
 * Returns 0, -EINVAL or -ERANGE as gfs_parse_uint. */
static int gfs_parse_int(int64_t *out, const char *s, size_t len, int base)
{
	bool neg = false;
	uint64_t u;
	int rc;

	if (len > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		s++;
		len--;
	}
	rc = gfs_parse_uint(&u, s, len, base);
	if (rc < 0)
		return rc;
	if (u > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		return -ERANGE;
	*out = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

static size_t gfs_skip_digits(const char *s, size_t len, size_t k)
{
	while (k < len && gfs_is_digit(s[k]))
		k++;
	return k;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool gfs_yaml_float_syntax(const char *s, size_t len)
{
	size_t k = 0, d;

	if (k < len && (s[k] == '+' || s[k] == '-'))
		k++;
	if (k < len && s[k] == '.') {
		d = gfs_skip_digits(s, len, k + 1);
		if (d == k + 1)
			return false;
		k = d;
	} else {
		d = gfs_skip_digits(s, len, k);
		if (d == k)
			return false;
		k = d;
		if (k < len && s[k] == '.')
			k = gfs_skip_digits(s, len, k + 1);
	}
	if (k < len && (s[k] == 'e' || s[k] == 'E')) {
		k++;
		if (k < len && (s[k] == '+' || s[k] == '-'))
			k++;
		d = gfs_skip_digits(s, len, k);
		if (d == k)
			return false;
		k = d;
	}
	return k == len;
}

/* strtod on text that passed a float syntax check (no underscores).
 * -ERANGE when the value is past a double's range, or when a nonzero
 * text rounds to zero: either way the number would not be what was
 * written. A denormal is kept (Go keeps it too). */
static int gfs_float_read(double *out, const char *s)
{
	bool nonzero = false;

	for (const char *p = s; *p && *p != 'e' && *p != 'E'; p++)
		nonzero |= *p >= '1' && *p <= '9';
	*out = strtod(s, NULL);
	if (isinf(*out) || (*out == 0 && nonzero))
		return -ERANGE;
	return 0;
}

/* s without its underscores, NUL-terminated, in `stack` when it fits or
 * else in a new allocation (free it when != stack). NULL when out of
 * memory: the caller then treats the text as a string. */
static char *gfs_strip_underscores(char *stack, size_t size, const char *s, size_t len,
				   size_t *out_len)
{
	char *buf = len < size ? stack : malloc(len + 1);
	size_t n = 0;

	if (!buf)
		return NULL;
	for (size_t k = 0; k < len; k++)
		if (s[k] != '_')
			buf[n++] = s[k];
	buf[n] = '\0';
	*out_len = n;
	return buf;
}

/* Go's ParseFloat on text starting with '.': ".5", ".5e-3", with '_'
 * allowed only between two digits. Returns 0, -EINVAL when it is not
 * such a float, or -ERANGE (gfs_float_read). */
static int gfs_parse_dot_float(double *out, const char *s, size_t len)
{
	char stack[128], *buf;
	size_t k = 1, n;
	int rc;

	for (size_t j = 0; j < len; j++) {
		if (s[j] != '_')
			continue;
		if (j == 0 || !gfs_is_digit(s[j - 1]) || j + 1 >= len ||
		    !gfs_is_digit(s[j + 1]))
			return -EINVAL;
	}
	while (k < len && (gfs_is_digit(s[k]) || s[k] == '_'))
		k++;
	if (k == 1)
		return -EINVAL;
	if (k < len && (s[k] == 'e' || s[k] == 'E')) {
		k++;
		if (k < len && (s[k] == '+' || s[k] == '-'))
			k++;
		if (k >= len || !gfs_is_digit(s[k]))
			return -EINVAL;
		while (k < len && (gfs_is_digit(s[k]) || s[k] == '_'))
			k++;
	}
	if (k != len)
		return -EINVAL;
	buf = gfs_strip_underscores(stack, sizeof(stack), s, len, &n);
	if (!buf)
		return -EINVAL;
	rc = gfs_float_read(out, buf);
	if (buf != stack)
		free(buf);
	return rc;
}

/* The digit-or-sign branch of go-yaml's resolve, on `plain` (the text
 * with underscores removed). go-yaml tries a uint64 after an int64; we
 * do not, since a number past int64 is refused anyway. */
static void gfs_yaml_resolve_number(struct gfs_yaml_scalar *out, const char *plain,
				    size_t len)
{
	int64_t ignored;
	int rc = gfs_parse_int(&out->i, plain, len, 0);

	/* A leading 0 means octal, and go-yaml reads "09" as the float 9:
	 * such decimal digits past int64 are an integer out of range too. */
	if (rc == -EINVAL && gfs_parse_int(&ignored, plain, len, 10) == -ERANGE)
		rc = -ERANGE;
	if (rc == 0 || rc == -ERANGE) {
		out->kind = rc == 0 ? GFS_YAML_INT : GFS_YAML_INT_RANGE;
		return;
	}
	if (gfs_yaml_float_syntax(plain, len)) {
		rc = gfs_float_read(&out->f, plain);
		out->kind = rc == 0 ? GFS_YAML_FLOAT : GFS_YAML_FLOAT_RANGE;
		return;
	}
	/* go-yaml's own 0b branch: it also takes a sign after the prefix
	 * ("0b-101" is -5). Its "-0b" twin can never add anything. */
	if (len > 2 && plain[0] == '0' && plain[1] == 'b') {
		rc = gfs_parse_int(&out->i, plain + 2, len - 2, 2);
		if (rc == 0)
			out->kind = GFS_YAML_INT;
		else if (rc == -ERANGE)
			out->kind = GFS_YAML_INT_RANGE;
	}
}

void gfs_yaml_scalar_resolve(struct gfs_yaml_scalar *out, const char *s, size_t len,
			     bool timestamps)
{
	memset(out, 0, sizeof(*out));
	out->kind = GFS_YAML_STR;
	if (gfs_yaml_word_lookup(out, s, len))
		return;
	if (s[0] == '.') {
		int rc = gfs_parse_dot_float(&out->f, s, len);
		if (rc == 0)
			out->kind = GFS_YAML_FLOAT;
		else if (rc == -ERANGE)
			out->kind = GFS_YAML_FLOAT_RANGE;
		return;
	}
	if (!gfs_is_digit(s[0]) && s[0] != '+' && s[0] != '-')
		return;
	if (timestamps && gfs_ts_match(s, len)) {
		out->kind = GFS_YAML_TIMESTAMP;
		return;
	}
	/* A NUL is never part of a number (and would cut strtod short). */
	if (memchr(s, '\0', len))
		return;
	char stack[128], *plain;
	size_t n;
	plain = gfs_strip_underscores(stack, sizeof(stack), s, len, &n);
	if (!plain)
		return;
	gfs_yaml_resolve_number(out, plain, n);
	if (plain != stack)
		free(plain);
}

bool gfs_yaml_scalar_is_base60(const char *s, size_t len)
{
	size_t k = 0;
	int groups = 0;

	if (k < len && (s[k] == '+' || s[k] == '-'))
		k++;
	if (k >= len || !gfs_is_digit(s[k]))
		return false;
	while (k < len && (gfs_is_digit(s[k]) || s[k] == '_'))
		k++;
	while (k < len && s[k] == ':') {
		k++;
		if (k >= len || !gfs_is_digit(s[k]))
			return false;
		char first = s[k++];
		if (k < len && gfs_is_digit(s[k])) {
			if (first > '5')
				return false;
			k++;
		}
		groups++;
	}
	if (groups == 0)
		return false;
	if (k < len && s[k] == '.') {
		k++;
		while (k < len && (gfs_is_digit(s[k]) || s[k] == '_'))
			k++;
	}
	return k == len;
}

/* ---- float formatting ---- */

/* A positive float as decimal digits d[0..nd) with the decimal point dp
 * places from the left: value = 0.d1d2... x 10^dp. */
struct gfs_digits {
	char d[32];
	int nd;
	int dp;
};

static bool gfs_digits_roundtrip(const struct gfs_digits *g, double v, int bits)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "0.%.*se%d", g->nd, g->d, g->dp);
	if (bits == 32)
		return strtof(buf, NULL) == (float)v;
	return strtod(buf, NULL) == v;
}

/* Parses printf's "%.*e" text ("1.2345e+06", "5e-324") into g. */
static void gfs_digits_parse(struct gfs_digits *g, const char *text)
{
	const char *p = text;
	g->nd = 0;
	while (*p && *p != 'e') {
		if (gfs_is_digit(*p) && g->nd < (int)sizeof(g->d))
			g->d[g->nd++] = *p;
		p++;
	}
	g->dp = (*p == 'e' ? atoi(p + 1) : 0) + 1;
}

/* Adds one unit in the last place (9.99 -> 10.0 moves the point). */
static void gfs_digits_bump(struct gfs_digits *g)
{
	int k = g->nd - 1;
	while (k >= 0 && g->d[k] == '9')
		g->d[k--] = '0';
	if (k >= 0) {
		g->d[k]++;
		return;
	}
	g->d[0] = '1';
	g->nd = 1;
	g->dp++;
}

static void gfs_digits_trim(struct gfs_digits *g)
{
	while (g->nd > 1 && g->d[g->nd - 1] == '0')
		g->nd--;
}

/* The shortest digits that read back as v (v > 0, finite), choosing the
 * nearest when two candidates of that length both work, as Go does. The
 * correctly rounded n-digit text is nearest; when it fails only the one
 * above can still be inside the (asymmetric, at a power of two) rounding
 * interval, so that is the one other candidate to try. */
static void gfs_digits_shortest(struct gfs_digits *g, double v, int bits)
{
	int maxp = bits == 32 ? 8 : 16;
	char text[64];

	for (int p = 0; p <= maxp; p++) {
		snprintf(text, sizeof(text), "%.*e", p, v);
		gfs_digits_parse(g, text);
		if (gfs_digits_roundtrip(g, v, bits))
			break;
		struct gfs_digits up = *g;
		gfs_digits_bump(&up);
		if (gfs_digits_roundtrip(&up, v, bits)) {
			*g = up;
			break;
		}
	}
	gfs_digits_trim(g);
}

/* Go's fmtE and fmtF for the shortest digits (strconv/ftoa.go). */
static void gfs_digits_format(char *buf, size_t size, const struct gfs_digits *g,
			      bool neg)
{
	int exp = g->dp - 1;
	size_t n = 0;

	if (neg)
		buf[n++] = '-';
	if (exp < -4 || exp >= 6) {
		buf[n++] = g->d[0];
		if (g->nd > 1) {
			buf[n++] = '.';
			memcpy(buf + n, g->d + 1, (size_t)g->nd - 1);
			n += (size_t)g->nd - 1;
		}
		snprintf(buf + n, size - n, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
		return;
	}
	if (g->dp <= 0) {
		buf[n++] = '0';
	} else {
		for (int k = 0; k < g->dp; k++)
			buf[n++] = k < g->nd ? g->d[k] : '0';
	}
	if (g->nd > g->dp) {
		buf[n++] = '.';
		for (int k = g->dp < 0 ? g->dp : 0; k < 0; k++)
			buf[n++] = '0';
		for (int k = g->dp > 0 ? g->dp : 0; k < g->nd; k++)
			buf[n++] = g->d[k];
	}
	buf[n] = '\0';
}

void gfs_yaml_float_format(char buf[40], double f, int bits)
{
	struct gfs_digits g;

	/* Go's float32(f): round to nearest, overflow to infinity (a C cast
	 * of an out-of-range value would be undefined). */
	if (bits == 32 && !isnan(f))
		f = fabs(f) >= 0x1.ffffffp127 ? copysign(INFINITY, f) : (float)f;
	if (isnan(f)) {
		strcpy(buf, ".nan");
		return;
	}
	if (isinf(f)) {
		strcpy(buf, f > 0 ? ".inf" : "-.inf");
		return;
	}
	if (f == 0) {
		strcpy(buf, signbit(f) ? "-0" : "0");
		return;
	}
	gfs_digits_shortest(&g, fabs(f), bits);
	gfs_digits_format(buf, 40, &g, f < 0);
}

enum gfs_yaml_kind gfs_yaml_float_classify(double f, int64_t *i, uint64_t *u)
{
	struct gfs_digits g;
	char text[40];
	size_t n = 0;
	double a = fabs(f);

	if (f == 0) {
		*i = 0; /* Go writes -0 as "-0", which reads back as int 0 */
		return GFS_YAML_INT;
	}
	/* encoding/json switches to exponent form there: a float again. */
	if (a < 1e-6 || a >= 1e21)
		return GFS_YAML_FLOAT;
	gfs_digits_shortest(&g, a, 64);
	if (g.dp < g.nd)
		return GFS_YAML_FLOAT;
	/* json writes the shortest digits padded with zeros, which is not
	 * always the exact value above 2^53; go-yaml reads that text. */
	for (int k = 0; k < g.dp; k++)
		text[n++] = k < g.nd ? g.d[k] : '0';
	text[n] = '\0';
	if (gfs_parse_uint(u, text, n, 10) == 0) {
		if (f < 0 && *u <= (uint64_t)INT64_MAX + 1) {
			*i = (int64_t)(0 - *u);
			return GFS_YAML_INT;
		}
		if (f > 0 && *u <= (uint64_t)INT64_MAX) {
			*i = (int64_t)*u;
			return GFS_YAML_INT;
		}
		if (f > 0)
			return GFS_YAML_UINT;
	}
	return GFS_YAML_FLOAT;
}
