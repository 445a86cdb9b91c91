/*
 * sops_setup.c - the keys of secrets: sops: recipients (the config's, or
 * .sops.yaml creation rules) and the identities from SOPS' environment.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_strv.h"
#include "gfs_yaml.h"
#include "sops_internal.h"

static int sops_recipients_check(char *const *r, const char *where)
{
	unsigned char pub[GFS_AGE_KEY_LEN];
	for (size_t i = 0; r && r[i]; i++)
		if (gfs_age_recipient_parse(pub, r[i]) < 0)
			return gfs_error_set(
			    -EINVAL,
			    "%s: \"%s\" is not an age recipient (age1..., "
			    "as age-keygen -y prints)",
			    where, r[i]);
	return 0;
}

char *const *sops_recipients_for(const struct gfs_sops *s, const char *path)
{
	if (s->recipients)
		return s->recipients;
	for (size_t i = 0; i < s->n_rules; i++)
		if (!s->rules[i].has_re ||
		    regexec(&s->rules[i].re, path, 0, NULL, 0) == 0)
			return s->rules[i].age;
	return NULL;
}

/* Recipients of one rule: `age` as "age1..,age1.." or a list, and the
 * age lists of its key_groups. */
static int sops_rule_age(char ***out, const json_t *rule)
{
	const json_t *age = json_object_get(rule, "age"), *g, *e;
	size_t i, j;
	int rc = 0;
	if (json_is_string(age)) {
		char *copy = strdup(json_string_value(age)), *save = NULL;
		if (!copy)
			return -ENOMEM;
		for (char *t = strtok_r(copy, ", \n\t", &save); t && rc == 0;
		     t = strtok_r(NULL, ", \n\t", &save))
			rc = gfs_strv_push(out, t);
		free(copy);
	}
	json_array_foreach(age, i, e) if (rc == 0 && json_is_string(e)) rc =
	    gfs_strv_push(out, json_string_value(e));
	json_array_foreach(json_object_get(rule, "key_groups"), i, g)
	{
		json_array_foreach(json_object_get(g, "age"), j,
				   e) if (rc == 0 && json_is_string(e)) rc =
		    gfs_strv_push(out, json_string_value(e));
	}
	return rc;
}

/*
 * How much a path_regex costs glibc's regcomp. It builds a tree in which
 * "a+" becomes "aa*" and "a{n,m}" up to m copies of "a", so nested
 * repetitions multiply: "v++++...+" (30 plus signs) asks for 2^30 nodes,
 * and a hostile .sops.yaml in the repository could take all memory.
 * re_cost() estimates that tree's size without building it; sops' own
 * regexps (Go's RE2 syntax) refuse "++" and counts over 1000 for the same
 * reason. Back-references (\1..\9) are refused too: they are not in
 * sops' syntax and make matching exponential.
 */
#define SOPS_RE_MAX_LEN   1024
#define SOPS_RE_MAX_COST  50000L
#define SOPS_RE_MAX_DEPTH 32

struct re_scan {
	const char *p;
	const char *why; /* set when the pattern is refused */
};

static long re_alternation(struct re_scan *r, int depth);

/* A bracket expression from just after its '['; r->p ends after ']'. */
static void re_bracket(struct re_scan *r)
{
	const char *p = r->p;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']') {
		if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
			char end = p[1];
			p += 2;
			while (*p && !(p[0] == end && p[1] == ']'))
				p++;
			if (!*p)
				break;
			p += 2;
		} else {
			p++;
		}
	}
	if (!*p) {
		r->why = "an unterminated bracket expression";
		r->p = p;
		return;
	}
	r->p = p + 1;
}

/* A repetition count "{n}", "{n,}" or "{n,m}" from just after its '{':
 * the largest number of copies it makes, or -1 when it is not a count
 * (glibc then reads the '{' as itself). */
static long re_count(struct re_scan *r)
{
	const char *p = r->p;
	long n = 0, m = -1;
	/* glibc also reads "{,m}" as "{0,m}". */
	if ((*p < '0' || *p > '9') && *p != ',')
		return -1;
	while (*p >= '0' && *p <= '9' && n <= 100000)
		n = n * 10 + (*p++ - '0');
	if (*p == ',') {
		p++;
		m = 0;
		if (*p >= '0' && *p <= '9')
			while (*p >= '0' && *p <= '9' && m <= 100000)
				m = m * 10 + (*p++ - '0');
		else
			m = n; /* "{n,}": n copies and a star */
	}
	if (*p != '}')
		return -1;
	r->p = p + 1;
	if (n > 1000 || m > 1000) {
		r->why = "a repetition count over 1000";
		return -1;
	}
	return (m > n ? m : n) + 1;
}

/* The repetition operators after an atom whose tree costs `cost`. */
static long re_repeats(struct re_scan *r, long cost)
{
	for (int ops = 0;; ops++) {
		/* Stacked operators: RE2 (sops' syntax) takes one, and a '?'
		 * after it (non-greedy), nothing more. glibc takes any number,
		 * and its epsilon closures then cost time our tree estimate
		 * does not see (found by fuzz_sops: "~++++++++b???????r???..."
		 * took 3.6 s in regcomp, ten times that under ASan). */
		bool op = *r->p == '*' || *r->p == '?' || *r->p == '+' ||
			  (*r->p == '{' &&
			   ((r->p[1] >= '0' && r->p[1] <= '9') || r->p[1] == ','));
		if (op && (ops >= 2 || (ops == 1 && *r->p != '?'))) {
			r->why = "stacked repetition operators (such as \"a++\" or "
				 "\"a???\"), which sops' own syntax refuses too";
			return cost;
		}
		if (*r->p == '*' || *r->p == '?') {
			r->p++;
			cost += 1;
		} else if (*r->p == '+') {
			r->p++;
			cost = cost * 2 + 1;
		} else if (*r->p == '{') {
			r->p++;
			long copies = re_count(r);
			if (copies < 0) {
				r->p--; /* a literal '{': the next atom */
				if (r->why)
					return cost;
				break;
			}
			cost = cost * copies + 1;
		} else {
			break;
		}
		if (cost > SOPS_RE_MAX_COST)
			return cost;
	}
	return cost;
}

/* One atom and its repetitions. */
static long re_piece(struct re_scan *r, int depth)
{
	long cost = 1;
	char c = *r->p++;
	if (c == '(') {
		cost = re_alternation(r, depth + 1) + 1;
		if (r->why || cost > SOPS_RE_MAX_COST)
			return cost;
		if (*r->p != ')') {
			r->why = "an unbalanced parenthesis";
			return cost;
		}
		r->p++;
	} else if (c == '[') {
		re_bracket(r);
	} else if (c == '\\') {
		if (*r->p >= '1' && *r->p <= '9')
			r->why = "a back-reference (\\1..\\9)";
		else if (*r->p)
			r->p++;
	}
	return re_repeats(r, cost);
}

static long re_alternation(struct re_scan *r, int depth)
{
	long cost = 0;
	if (depth > SOPS_RE_MAX_DEPTH) {
		r->why = "more than 32 nested groups";
		return cost;
	}
	while (*r->p && *r->p != ')' && !r->why && cost <= SOPS_RE_MAX_COST) {
		if (*r->p == '|') {
			r->p++;
			cost++;
			continue;
		}
		/* A '{' that opens no count is a literal; so is a leading
		 * repetition operator (glibc accepts "*a"). */
		if (*r->p == '*' || *r->p == '+' || *r->p == '?' || *r->p == '{') {
			r->p++;
			cost += re_repeats(r, 1);
			continue;
		}
		cost += re_piece(r, depth);
	}
	return cost;
}

/* NULL when regcomp may be given the pattern, else why not. */
static const char *sops_regex_refusal(const char *re)
{
	if (strlen(re) > SOPS_RE_MAX_LEN)
		return "longer than 1024 characters";
	struct re_scan r = {.p = re};
	long cost = 0;
	while (!r.why && *r.p && cost <= SOPS_RE_MAX_COST) {
		cost += re_alternation(&r, 0);
		if (*r.p == ')') { /* glibc reads a stray ')' as itself */
			r.p++;
			cost += re_repeats(&r, 1);
		}
	}
	if (r.why)
		return r.why;
	if (cost > SOPS_RE_MAX_COST)
		return "too many nested repetitions (such as \"a++\" or "
		       "\"(a{100}){100}\")";
	return NULL;
}

static int sops_rules_parse(struct gfs_sops *s, const char *text, size_t len)
{
	struct gfs_yaml_error yerr = {0};
	json_t *doc = NULL, *rule;
	size_t i;
	int rc = gfs_yaml_parse(&doc, text, len, &yerr);
	if (rc < 0)
		return gfs_error_set(-EINVAL, ".sops.yaml, line %d: %s", yerr.line,
				     yerr.reason);
	const json_t *rules = json_object_get(doc, "creation_rules");
	if (!json_is_array(rules) || json_array_size(rules) > SOPS_MAX_RULES) {
		json_decref(doc);
		return gfs_error_set(-EINVAL, ".sops.yaml has no creation_rules list");
	}
	s->rules = calloc(json_array_size(rules) + 1, sizeof(*s->rules));
	if (!s->rules)
		rc = -ENOMEM;
	json_array_foreach(rules, i, rule)
	{
		if (rc < 0)
			break;
		struct sops_rule *r = &s->rules[s->n_rules++];
		const char *re = json_string_value(json_object_get(rule, "path_regex"));
		const char *why = re ? sops_regex_refusal(re) : NULL;
		if (why) {
			rc = gfs_error_set(-EINVAL,
					   ".sops.yaml, creation rule %zu: path_regex "
					   "is refused: %s; write a simpler pattern",
					   i + 1, why);
			break;
		}
		if (re && regcomp(&r->re, re, REG_EXTENDED | REG_NOSUB) != 0) {
			rc = gfs_error_set(-EINVAL,
					   ".sops.yaml, creation rule %zu: path_regex "
					   "\"%s\" is not a regular expression gitopsfs "
					   "reads (POSIX extended)",
					   i + 1, re);
			break;
		}
		r->has_re = re != NULL;
		rc = sops_rule_age(&r->age, rule);
		if (rc == 0)
			rc = sops_recipients_check(r->age, ".sops.yaml");
	}
	json_decref(doc);
	return rc;
}

int gfs_sops_new(struct gfs_sops **out, const struct gfs_sops_opts *o)
{
	struct gfs_sops *s = calloc(1, sizeof(*s));
	int rc = s ? 0 : -ENOMEM;
	if (rc == 0) {
		pthread_mutex_init(&s->lock, NULL);
		s->last = json_object();
		s->base = json_object();
		s->ids = o->n_ids ? malloc(o->n_ids * sizeof(*s->ids)) : NULL;
		if (!s->last || !s->base || (o->n_ids && !s->ids))
			rc = -ENOMEM;
	}
	if (rc == 0 && !o->n_ids)
		rc = gfs_error_set(-EINVAL, "secrets: sops needs an age identity");
	if (rc == 0) {
		memcpy(s->ids, o->ids, o->n_ids * sizeof(*s->ids));
		s->n_ids = o->n_ids;
	}
	if (rc == 0 && o->recipients && o->recipients[0]) {
		rc = gfs_strv_dup(&s->recipients, (const char *const *)o->recipients);
		if (rc == 0)
			rc = sops_recipients_check(s->recipients,
						   ".gitopsfs.yaml sops.age");
	} else if (rc == 0 && o->rules) {
		rc = sops_rules_parse(s, o->rules, o->rules_len);
	} else if (rc == 0) {
		rc = gfs_error_set(
		    -EINVAL, "secrets: sops needs the age recipients to encrypt to: "
			     "add `sops: {age: [age1...]}` to .gitopsfs.yaml (age-keygen "
			     "-y KEYFILE prints a key's recipient), or a .sops.yaml "
			     "with creation_rules");
	}
	if (rc < 0) {
		gfs_sops_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void gfs_sops_free(struct gfs_sops *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_rules; i++) {
		if (s->rules[i].has_re)
			regfree(&s->rules[i].re);
		gfs_strv_free(s->rules[i].age);
	}
	free(s->rules);
	gfs_strv_free(s->recipients);
	gfs_age_identities_free(s->ids, s->n_ids);
	json_decref(s->last);
	json_decref(s->base);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Reads a key file (at most 1 MiB) and appends its identities. */
static int sops_key_file(struct gfs_age_identity **ids, size_t *n, const char *path,
			 const char *what)
{
	char name[PATH_MAX + 64];
	FILE *f = fopen(path, "re");
	if (!f)
		return gfs_error_set(-errno == -ENOENT ? -ENOENT : -EINVAL, "%s %s: %s",
				     what, path, strerror(errno));
	struct gfs_buf b = GFS_BUF_INIT(1u << 20);
	char chunk[4096];
	size_t got;
	int rc = 0;
	while (rc == 0 && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = gfs_buf_add(&b, chunk, got);
	fclose(f);
	explicit_bzero(chunk, sizeof(chunk));
	snprintf(name, sizeof(name), "%s %s", what, path);
	if (rc < 0)
		rc = gfs_error_set(-EINVAL, "%s is too large for an age key file", name);
	else
		rc = gfs_age_identities_parse(ids, n, name, b.data, b.len);
	explicit_bzero(b.data, b.len);
	gfs_buf_release(&b);
	return rc;
}

int gfs_sops_identities_load(struct gfs_age_identity **ids, size_t *n)
{
	const char *key = getenv("SOPS_AGE_KEY"), *file = getenv("SOPS_AGE_KEY_FILE");
	int rc = 0;
	*ids = NULL;
	*n = 0;
	if (key && *key)
		rc = gfs_age_identities_parse(ids, n, "SOPS_AGE_KEY", key, strlen(key));
	if (rc == 0 && file && *file)
		rc = sops_key_file(ids, n, file, "SOPS_AGE_KEY_FILE");
	if (rc == 0 && !(key && *key) && !(file && *file)) {
		/* sops' own default place. */
		char path[PATH_MAX];
		const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
		if (xdg && *xdg)
			snprintf(path, sizeof(path), "%s/sops/age/keys.txt", xdg);
		else
			snprintf(path, sizeof(path), "%s/.config/sops/age/keys.txt",
				 home ? home : "");
		rc = sops_key_file(ids, n, path, "age key file");
		if (rc == -ENOENT)
			rc = 0;
	}
	if (rc == 0 && *n == 0)
		rc = gfs_error_set(
		    -ENOKEY,
		    "secrets: sops needs an age identity to decrypt Secrets: set "
		    "SOPS_AGE_KEY_FILE to a key file made by age-keygen (in a pod, "
		    "mount it from a Secret), or SOPS_AGE_KEY to the key itself");
	if (rc < 0) {
		gfs_age_identities_free(*ids, *n);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}
