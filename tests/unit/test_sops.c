/*
 * test_sops.c - age and SOPS against published vectors and files made by
 * the real tools (tests/fixtures/sops/SOURCES.md), and the properties the
 * mount relies on: stable bytes, one changed line per changed value,
 * refusal of a tampered file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_age.h"
#include "gfs_sops.h"
#include "gfs_yaml.h"
#include "tap.h"

#define MOCK_RECIPIENT "age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun"
#define FLUX_RECIPIENT "age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29"

static char *slurp(const char *name, size_t *len)
{
	char path[1024];
	const char *root = getenv("GFS_ROOT");
	snprintf(path, sizeof(path), "%s/tests/fixtures/sops/%s",
		 root && *root ? root : ".", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	char *copy = malloc(n + 1);
	memcpy(copy, buf, n + 1);
	return copy;
}

static struct gfs_sops *sops_with(const char *keyfile, const char *recipient)
{
	size_t len = 0, n = 0;
	struct gfs_age_identity *ids = NULL;
	char *text = slurp(keyfile, &len);
	char *r[] = {(char *)recipient, NULL};
	struct gfs_sops *s = NULL;
	if (text && gfs_age_identities_parse(&ids, &n, keyfile, text, len) == 0) {
		struct gfs_sops_opts o = {.recipients = r, .ids = ids, .n_ids = n};
		if (gfs_sops_new(&s, &o) < 0)
			s = NULL;
	}
	gfs_age_identities_free(ids, n);
	free(text);
	return s;
}

static json_t *parse(const char *text, size_t len)
{
	json_t *v = NULL;
	return gfs_yaml_parse(&v, text, len, NULL) == 0 ? v : NULL;
}

static void bech32_identity_gives_the_published_recipient(void)
{
	struct gfs_age_identity id;
	char r[GFS_AGE_RECIPIENT_SIZE];
	unsigned char pub[GFS_AGE_KEY_LEN];
	size_t len = 0;
	char *text = slurp("sops-mock-identity.txt", &len);
	CHECK(text != NULL);
	if (!text)
		return;
	text[strcspn(text, "\n")] = '\0';
	CHECK_INT(gfs_age_identity_parse(&id, text), 0);
	gfs_age_recipient_format(r, id.public);
	CHECK_STR(r, MOCK_RECIPIENT);
	CHECK_INT(gfs_age_recipient_parse(pub, MOCK_RECIPIENT), 0);
	CHECK(memcmp(pub, id.public, 32) == 0);
	/* One character off breaks the checksum; mixed case is refused. */
	char bad[] = MOCK_RECIPIENT;
	bad[10] = bad[10] == 'q' ? 'p' : 'q';
	CHECK_INT(gfs_age_recipient_parse(pub, bad), -EINVAL);
	char mixed[] = MOCK_RECIPIENT;
	mixed[5] = (char)(mixed[5] - 32);
	CHECK_INT(gfs_age_recipient_parse(pub, mixed), -EINVAL);
	text[20] = text[20] == 'Q' ? 'P' : 'Q';
	CHECK_INT(gfs_age_identity_parse(&id, text), -EINVAL);
	free(text);
}

static void age_decrypts_the_sops_published_vector(void)
{
	size_t len = 0, n = 0, flen = 0, plen = 0;
	struct gfs_age_identity *ids = NULL;
	char *key = slurp("sops-mock-identity.txt", &len);
	CHECK_INT(gfs_age_identities_parse(&ids, &n, "mock", key, len), 0);
	char *armored = slurp("sops-mock-encrypted-key.age", &len);
	unsigned char *file = NULL, *plain = NULL;
	CHECK_INT(gfs_age_dearmor(&file, &flen, armored, len), 0);
	CHECK_INT(gfs_age_decrypt(&plain, &plen, ids, n, file, flen), 0);
	CHECK_INT(plen, 4);
	CHECK(plain && memcmp(plain, "data", 4) == 0);
	/* A flipped payload byte, or a flipped header byte, is refused. */
	file[flen - 1] ^= 1;
	free(plain);
	plain = NULL;
	CHECK_INT(gfs_age_decrypt(&plain, &plen, ids, n, file, flen), -EINVAL);
	file[flen - 1] ^= 1;
	file[30] ^= 1;
	CHECK(gfs_age_decrypt(&plain, &plen, ids, n, file, flen) < 0);
	free(file);
	free(armored);
	free(key);
	gfs_age_identities_free(ids, n);
}

static void age_round_trips_across_chunk_boundaries(void)
{
	/* Two identities from a key file, as age-keygen writes them. */
	struct gfs_age_identity *ids = NULL;
	size_t n = 0;
	const char *keys =
	    "# two keys\n"
	    "AGE-SECRET-KEY-1G0Q5K9TV4REQ3ZSQRMTMG8NSWQGYT0T7TZ33RAZEE0GZYVZN0APSU24RK7\n"
	    "\n"
	    "AGE-SECRET-KEY-"
	    "1RH87A5Z54ZGUR9S0AS3R6WHFSEFNPLYMAKF5Z2CEU7R06VRJ0A3Q7242AM\n";
	CHECK_INT(gfs_age_identities_parse(&ids, &n, "keys", keys, strlen(keys)), 0);
	CHECK_INT(n, 2);
	if (n != 2)
		return;
	unsigned char r[2][GFS_AGE_KEY_LEN];
	memcpy(r[0], ids[0].public, 32);
	memcpy(r[1], ids[1].public, 32);
	static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 2 * 65536, 200000};
	for (size_t i = 0; i < GFS_ARRAY_SIZE(sizes); i++) {
		unsigned char *data = malloc(sizes[i] + 1), *plain = NULL;
		struct gfs_buf file = GFS_BUF_INIT(1u << 20);
		size_t plen = 0;
		for (size_t j = 0; j < sizes[i]; j++)
			data[j] = (unsigned char)(j * 7);
		CHECK_INT(gfs_age_encrypt(&file, (const unsigned char(*)[32])r, 2, data,
					  sizes[i]),
			  0);
		/* Either identity opens it. */
		CHECK_INT(gfs_age_decrypt(&plain, &plen, &ids[1], 1, file.data, file.len),
			  0);
		CHECK_INT(plen, sizes[i]);
		CHECK(plen == sizes[i] && memcmp(plain, data, plen) == 0);
		free(plain);
		plain = NULL;
		CHECK_INT(gfs_age_decrypt(&plain, &plen, &ids[0], 1, file.data, file.len),
			  0);
		free(plain);
		plain = NULL;
		/* A truncated file never decrypts to a prefix. */
		if (sizes[i] > 65536) {
			CHECK(gfs_age_decrypt(&plain, &plen, ids, 2, file.data,
					      file.len - 17 - 65536) < 0);
			free(plain);
			plain = NULL;
		}
		/* Armor round trip. */
		struct gfs_buf arm = GFS_BUF_INIT(4u << 20);
		unsigned char *back = NULL;
		size_t blen = 0;
		CHECK_INT(gfs_age_armor(&arm, file.data, file.len), 0);
		CHECK_INT(gfs_age_dearmor(&back, &blen, arm.data, arm.len), 0);
		CHECK(blen == file.len && memcmp(back, file.data, blen) == 0);
		free(back);
		gfs_buf_release(&arm);
		gfs_buf_release(&file);
		free(data);
	}
	/* Nobody else opens it. */
	struct gfs_buf file = GFS_BUF_INIT(1u << 20);
	unsigned char *plain = NULL;
	size_t plen = 0;
	CHECK_INT(gfs_age_encrypt(&file, (const unsigned char(*)[32])r, 1, "x", 1), 0);
	CHECK_INT(gfs_age_decrypt(&plain, &plen, &ids[1], 1, file.data, file.len),
		  -EACCES);
	gfs_buf_release(&file);
	gfs_age_identities_free(ids, n);
}

static void base64_is_strict(void)
{
	unsigned char *out = NULL;
	size_t n = 0;
	CHECK_INT(gfs_base64_decode(&out, &n, "YWI", 3, false), 0);
	CHECK(n == 2 && memcmp(out, "ab", 2) == 0);
	free(out);
	out = NULL;
	CHECK_INT(gfs_base64_decode(&out, &n, "YWJ", 3, false), -EINVAL); /* bits set */
	CHECK_INT(gfs_base64_decode(&out, &n, "YWI=", 4, false), -EINVAL);
	CHECK_INT(gfs_base64_decode(&out, &n, "YWI=", 4, true), 0);
	free(out);
	out = NULL;
	CHECK_INT(gfs_base64_decode(&out, &n, "YW I", 4, true), -EINVAL);
}

/* A file made by sops (via Flux's test data) decrypts and verifies. */
static void sops_decrypts_files_made_by_sops(void)
{
	static const struct {
		const char *file, *key, *field, *value;
	} cases[] = {
	    {"flux-algorithms-age.yaml", "flux-keys-age.txt", "stringData", "value"},
	    {"flux-global-secret.yaml", "flux-keys-age-global.txt", "stringData",
	     "global-value"},
	};
	for (size_t i = 0; i < GFS_ARRAY_SIZE(cases); i++) {
		struct gfs_sops *s = sops_with(cases[i].key, FLUX_RECIPIENT);
		size_t len = 0;
		char *text = slurp(cases[i].file, &len);
		json_t *doc = text ? parse(text, len) : NULL, *plain = NULL;
		CHECK(s && doc);
		if (!s || !doc)
			continue;
		CHECK(gfs_sops_is_encrypted(doc));
		CHECK_INT(gfs_sops_decrypt(&plain, s, doc), 0);
		const char *v = json_string_value(
		    json_object_get(json_object_get(plain, cases[i].field), "key"));
		CHECK_STR(v, cases[i].value);
		CHECK(json_object_get(plain, "sops") == NULL);
		json_decref(plain);
		plain = NULL;
		/* Tampering with a clear field breaks the MAC (it covers all). */
		json_t *md = json_object_get(doc, "metadata");
		json_object_set_new(md, "name", json_string("other"));
		CHECK_INT(gfs_sops_decrypt(&plain, s, doc), -EINVAL);
		CHECK(strstr(gfs_error_last(), "MAC") != NULL);
		json_decref(doc);
		free(text);
		gfs_sops_free(s);
	}
	/* The other key opens neither file's data key. */
	struct gfs_sops *s = sops_with("sops-mock-identity.txt", MOCK_RECIPIENT);
	size_t len = 0;
	char *text = slurp("flux-algorithms-age.yaml", &len);
	json_t *doc = parse(text, len), *plain = NULL;
	CHECK_INT(gfs_sops_decrypt(&plain, s, doc), -EACCES);
	json_decref(doc);
	free(text);
	gfs_sops_free(s);
}

static const char secret_yaml[] = "apiVersion: v1\n"
				  "data:\n"
				  "  password: c2VjcmV0\n"
				  "  user: YWRtaW4=\n"
				  "kind: Secret\n"
				  "metadata:\n"
				  "  name: db\n"
				  "  namespace: default\n"
				  "type: Opaque\n";

static char *render(struct gfs_sops *s, const json_t *plain)
{
	struct gfs_buf out = GFS_BUF_INIT(1u << 20);
	if (gfs_sops_render(&out, s, "default/secrets/db.yaml", plain, true) < 0) {
		printf("# render: %s\n", gfs_error_last());
		gfs_buf_release(&out);
		return NULL;
	}
	return gfs_buf_detach(&out, NULL);
}

static int lines_differing(const char *a, const char *b)
{
	int n = 0;
	while (*a || *b) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
		if (la != lb || memcmp(a, b, la) != 0)
			n++;
		a += la + (a[la] ? 1 : 0);
		b += lb + (b[lb] ? 1 : 0);
	}
	return n;
}

static void sops_render_is_stable_and_changes_one_value(void)
{
	struct gfs_sops *s = sops_with("flux-keys-age.txt", FLUX_RECIPIENT);
	json_t *plain = parse(secret_yaml, strlen(secret_yaml)), *back = NULL;
	CHECK(s && plain);
	if (!s || !plain)
		return;
	char *one = render(s, plain), *two = render(s, plain);
	CHECK(one && two);
	if (!one || !two)
		return;
	CHECK_STR(two, one);
	CHECK(strstr(one, "c2VjcmV0") == NULL && strstr(one, "YWRtaW4=") == NULL);
	CHECK(strstr(one, "password: ENC[AES256_GCM,data:") != NULL);
	CHECK(strstr(one, "encrypted_regex: ^(data|stringData)$") != NULL);
	json_t *doc = parse(one, strlen(one));
	CHECK_INT(gfs_sops_decrypt(&back, s, doc), 0);
	CHECK(json_equal(back, plain));
	json_decref(back);
	back = NULL;
	/* One value changes: its line, and the MAC and lastmodified. */
	json_object_set_new(json_object_get(plain, "data"), "password",
			    json_string("bmV3"));
	char *three = render(s, plain);
	CHECK(three && strstr(three, "user: ") && strstr(one, "user: "));
	int diff = three ? lines_differing(one, three) : -1;
	printf("# lines differing after one value changed: %d\n", diff);
	CHECK(diff >= 2 && diff <= 3);
	const char *u1 = strstr(one, "user: "), *u3 = strstr(three, "user: ");
	CHECK(u1 && u3 && strncmp(u1, u3, strcspn(u1, "\n")) == 0);
	json_t *doc3 = parse(three, strlen(three));
	CHECK_INT(gfs_sops_decrypt(&back, s, doc3), 0);
	CHECK(json_equal(back, plain));
	/* A ciphertext swapped between keys fails (the path is the AAD). */
	json_t *data = json_object_get(doc3, "data");
	json_t *pw = json_incref(json_object_get(data, "password"));
	json_object_set(data, "password", json_object_get(data, "user"));
	json_object_set_new(data, "user", pw);
	json_decref(back);
	back = NULL;
	CHECK_INT(gfs_sops_decrypt(&back, s, doc3), -EINVAL);
	json_decref(doc);
	json_decref(doc3);
	json_decref(plain);
	free(one);
	free(two);
	free(three);
	gfs_sops_free(s);
}

/* The commit's document is tried after the last one: a value changed and
 * changed back shows the commit's bytes again. */
static void sops_value_changed_back_shows_the_commit_bytes(void)
{
	struct gfs_sops *s = sops_with("flux-keys-age.txt", FLUX_RECIPIENT);
	json_t *plain = parse(secret_yaml, strlen(secret_yaml));
	CHECK(s && plain);
	if (!s || !plain)
		return;
	char *committed = render(s, plain);
	json_t *doc = committed ? parse(committed, strlen(committed)) : NULL;
	CHECK(doc != NULL);
	gfs_sops_free(s);
	/* A new mount: the commit holds `committed`. */
	s = sops_with("flux-keys-age.txt", FLUX_RECIPIENT);
	CHECK_INT(gfs_sops_seed(s, "default/secrets/db.yaml", doc), 0);
	char *again = render(s, plain);
	CHECK_STR(again, committed);
	json_t *pw =
	    json_incref(json_object_get(json_object_get(plain, "data"), "password"));
	json_object_set_new(json_object_get(plain, "data"), "password",
			    json_string("eA=="));
	char *changed = render(s, plain);
	CHECK(changed && committed && strcmp(changed, committed) != 0);
	json_object_set_new(json_object_get(plain, "data"), "password", pw);
	char *back = render(s, plain);
	CHECK_STR(back, committed);
	free(committed);
	free(again);
	free(changed);
	free(back);
	json_decref(doc);
	json_decref(plain);
	gfs_sops_free(s);
}

static void sops_refuses_a_config_without_recipients(void)
{
	struct gfs_age_identity id;
	struct gfs_sops *s = NULL;
	CHECK_INT(gfs_crypto_random(id.secret, 32), 0);
	struct gfs_sops_opts o = {.ids = &id, .n_ids = 1};
	CHECK_INT(gfs_sops_new(&s, &o), -EINVAL);
	CHECK(strstr(gfs_error_last(), "sops: {age:") != NULL);
	char *bad[] = {"age1notakey", NULL};
	o.recipients = bad;
	CHECK_INT(gfs_sops_new(&s, &o), -EINVAL);
	o.recipients = NULL;
	const char *rules = "creation_rules:\n"
			    "  - path_regex: ^kube-system/\n"
			    "    age: " MOCK_RECIPIENT "\n"
			    "  - path_regex: secrets/.*\\.yaml$\n"
			    "    key_groups:\n"
			    "      - age:\n"
			    "          - " FLUX_RECIPIENT "\n";
	o.rules = rules;
	o.rules_len = strlen(rules);
	CHECK_INT(gfs_sops_new(&s, &o), 0);
	json_t *plain = parse(secret_yaml, strlen(secret_yaml));
	char *out = render(s, plain);
	CHECK(out && strstr(out, "recipient: " FLUX_RECIPIENT) != NULL);
	free(out);
	json_decref(plain);
	gfs_sops_free(s);
	explicit_bzero(&id, sizeof(id));
}

/* A path_regex that would make glibc's regcomp build a huge tree (found by
 * fuzz_sops: "v" and 66 plus signs took gigabytes) is refused with a
 * message; ordinary ones, including counts and classes, are not. */
static void sops_refuses_a_path_regex_that_explodes(void)
{
	struct gfs_age_identity id;
	struct gfs_sops *s = NULL;
	CHECK_INT(gfs_crypto_random(id.secret, 32), 0);
	static const char *const bad[] = {
	    "qvv++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++rny",
	    "((((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+",
	    "((a{100}){100}){100}",
	    "((a{,100}){,100}){,100}",
	    "a{1001}",
	    /* Seconds in regcomp though the tree stays small (fuzz_sops). */
	    "qfv+~++++++++b???????r??????????????\?)??????????????????????+ys02",
	    ")+++++++++++++++++++++++++++++++++++++++++++++++++++++qvv.",
	    "+++",
	    "a+++",
	    "a*??",
	    "(a)\\1",
	    "[a-z",
	};
	static const char *const good[] = {"^kube-system/",
					   "secrets/.*\\.yaml$",
					   "^(prod|staging)/[a-z0-9-]{1,63}/",
					   "[[:alpha:]]+_[]x]?\\.ya?ml",
					   "a{2,}b{,3}c",
					   "a+?b*?c??d{2}?"};
	char rules[512];
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(rules, sizeof(rules),
			 "creation_rules:\n  - path_regex: '%s'\n    age: " MOCK_RECIPIENT
			 "\n",
			 bad[i]);
		struct gfs_sops_opts o = {
		    .rules = rules, .rules_len = strlen(rules), .ids = &id, .n_ids = 1};
		CHECK_INT(gfs_sops_new(&s, &o), -EINVAL);
		CHECK(strstr(gfs_error_last(), "path_regex") != NULL);
		CHECK(s == NULL);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		snprintf(rules, sizeof(rules),
			 "creation_rules:\n  - path_regex: '%s'\n    age: " MOCK_RECIPIENT
			 "\n",
			 good[i]);
		struct gfs_sops_opts o = {
		    .rules = rules, .rules_len = strlen(rules), .ids = &id, .n_ids = 1};
		int rc = gfs_sops_new(&s, &o);
		CHECK_INT(rc, 0);
		if (rc)
			printf("# %s: %s\n", good[i], gfs_error_last());
		gfs_sops_free(s);
		s = NULL;
	}
	explicit_bzero(&id, sizeof(id));
}

int main(void)
{
	TAP_RUN(bech32_identity_gives_the_published_recipient);
	TAP_RUN(age_decrypts_the_sops_published_vector);
	TAP_RUN(age_round_trips_across_chunk_boundaries);
	TAP_RUN(base64_is_strict);
	TAP_RUN(sops_decrypts_files_made_by_sops);
	TAP_RUN(sops_render_is_stable_and_changes_one_value);
	TAP_RUN(sops_value_changed_back_shows_the_commit_bytes);
	TAP_RUN(sops_refuses_a_config_without_recipients);
	TAP_RUN(sops_refuses_a_path_regex_that_explodes);
	return tap_done();
}
