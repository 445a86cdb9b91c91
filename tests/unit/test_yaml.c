/*
 * test_yaml.c - the canonical YAML writer and the YAML reader.
 *
 * Expected texts come from kubectl v1.32 (`kubectl patch --local -f
 * x.json --type merge -p '{}' -o yaml` prints any object through the same
 * sigs.k8s.io/yaml path as `kubectl get -o yaml`), except that kubectl
 * folds strings longer than 80 columns and we never fold (gfs_yaml.h),
 * and where a test says otherwise.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_render.h"
#include "gfs_yaml.h"
#include "tap.h"

/* ---- helpers ---- */

/* The YAML of a JSON text, or "<error ...>"; free() the result. */
static char *emit_text(const char *json_text)
{
	json_error_t jerr;
	json_t *v = json_loads(json_text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	struct gfs_buf b = GFS_BUF_INIT(1 << 20);
	char *out;

	if (!v)
		return strdup("<bad test JSON>");
	if (gfs_yaml_emit(&b, v) < 0) {
		gfs_buf_release(&b);
		out = strdup("<emit error>");
	} else {
		out = gfs_buf_detach(&b, NULL);
	}
	json_decref(v);
	return out;
}

/* The YAML of {"k": s} for a string s of n bytes. */
static char *emit_value(const char *s, size_t n, int as_key)
{
	json_t *v = json_object();
	struct gfs_buf b = GFS_BUF_INIT(1 << 20);

	if (as_key)
		json_object_setn_new(v, s, n, json_integer(1));
	else
		json_object_set_new(v, "k", json_stringn(s, n));
	int rc = gfs_yaml_emit(&b, v);
	json_decref(v);
	if (rc < 0) {
		gfs_buf_release(&b);
		return strdup("<emit error>");
	}
	return gfs_buf_detach(&b, NULL);
}

/* Parses yaml and checks the value equals the JSON text want, types
 * included (1 is not 1.0). */
static int parsed_equals(const char *yaml, const char *want)
{
	json_t *got = NULL,
	       *exp = json_loads(want, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	int same = gfs_yaml_parse(&got, yaml, strlen(yaml), NULL) == 0 && exp &&
		   json_equal(got, exp);
	if (!same) {
		char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
		printf("#   parse(%s) = %s, expected %s\n", yaml,
		       g ? g : gfs_error_last(), want);
		free(g);
	}
	json_decref(got);
	json_decref(exp);
	return same;
}

/* ---- writing strings ---- */

/* clang-format off */
static const struct {
	const char *in;
	const char *out;
} quoting[] = {
	{"plain", "plain"},
	{"yes", "\"yes\""},
	{"Yes", "\"Yes\""},
	{"YES", "\"YES\""},
	{"y", "\"y\""},
	{"Y", "\"Y\""},
	{"n", "\"n\""},
	{"no", "\"no\""},
	{"on", "\"on\""},
	{"Off", "\"Off\""},
	{"true", "\"true\""},
	{"False", "\"False\""},
	{"TRUE", "\"TRUE\""},
	{"null", "\"null\""},
	{"Null", "\"Null\""},
	{"~", "\"~\""},
	{"", "\"\""},
	{"nil", "nil"},
	{"1", "\"1\""},
	{"-1", "\"-1\""},
	{"+1", "\"+1\""},
	{"1_000", "\"1_000\""},
	{"1_", "\"1_\""},
	{"0x1F", "\"0x1F\""},
	{"0o17", "\"0o17\""},
	{"0b101", "\"0b101\""},
	{"0b-1", "\"0b-1\""},
	{"017", "\"017\""},
	{"08", "\"08\""},
	{"09.5", "\"09.5\""},
	{"1.0", "\"1.0\""},
	{"1.", "\"1.\""},
	{".5", "\".5\""},
	{"-.5", "\"-.5\""},
	{"1e3", "\"1e3\""},
	{"1E+3", "\"1E+3\""},
	{".inf", "\".inf\""},
	{"-.Inf", "\"-.Inf\""},
	{".NaN", "\".NaN\""},
	/* Ours: numbers that do not fit are refused when read (kubectl
	 * writes these plain and reads 1e999 as a string). */
	{"1e999", "\"1e999\""},
	{"1e-999", "\"1e-999\""},
	{"9223372036854775808", "\"9223372036854775808\""},
	{"123456789012345678901234567890", "\"123456789012345678901234567890\""},
	{"0x1_0000_0000_0000_0000", "\"0x1_0000_0000_0000_0000\""},
	{"0999999999999999999999", "\"0999999999999999999999\""},
	{"._5", "._5"},
	{".5_5", "\".5_5\""},
	{"1:20", "\"1:20\""},
	{"1:60", "1:60"},
	{"-1:20:30.5", "\"-1:20:30.5\""},
	{"2024-01-15", "\"2024-01-15\""},
	{"2024-02-30", "2024-02-30"},
	{"2024-1-5", "\"2024-1-5\""},
	{"2024-01-15T10:00:00Z", "\"2024-01-15T10:00:00Z\""},
	{"2024-01-15t10:00:00.5+01:00", "\"2024-01-15t10:00:00.5+01:00\""},
	{"2024-01-15 10:00:00", "\"2024-01-15 10:00:00\""},
	{"2024-01-15T10:00:00", "2024-01-15T10:00:00"},
	{"12:30", "\"12:30\""},
	{"*", "'*'"},
	{"&a", "'&a'"},
	{"!tag", "'!tag'"},
	{"|", "'|'"},
	{">", "'>'"},
	{"%", "'%'"},
	{"@", "'@'"},
	{"`", "'`'"},
	{"'", "''''"},
	{"\"", "'\"'"},
	{"#", "'#'"},
	{"a #b", "'a #b'"},
	{"a#b", "a#b"},
	{"a: b", "'a: b'"},
	{"a:b", "a:b"},
	{":a", ":a"},
	{"?", "'?'"},
	{"? a", "'? a'"},
	{"-", "'-'"},
	{"- a", "'- a'"},
	{"-a", "-a"},
	{"---", "'---'"},
	{"...", "'...'"},
	{"[a]", "'[a]'"},
	{"{a}", "'{a}'"},
	{"a,b", "a,b"},
	{",a", "',a'"},
	{"<<", "<<"},
	{"=", "="},
	{" lead", "' lead'"},
	{"trail ", "'trail '"},
	{"  ", "'  '"},
	{"a  b", "a  b"},
	{"it's", "it's"},
	{"say \"hi\"", "say \"hi\""},
	{"back\\slash", "back\\slash"},
	{"a\011b", "\"a\\tb\""},
	{"\007", "\"\\a\""},
	{"\033[0m", "\"\\e[0m\""},
	{"\302\240", "\302\240"},
	{"h\303\251llo \342\230\203", "h\303\251llo \342\230\203"},
	{"\346\227\245\346\234\254\350\252\236", "\346\227\245\346\234\254\350\252\236"},
	{"\360\237\230\200", "\"\\U0001F600\""},
	{"0", "\"0\""},
	{"-0", "\"-0\""},
	{"+0", "\"+0\""},
	{"00", "\"00\""},
	{"0.0", "\"0.0\""},
	{"3.14", "\"3.14\""},
	{"6.02e23", "\"6.02e23\""},
	{"1_0.5", "\"1_0.5\""},
	{"0x", "0x"},
	{"0xG", "0xG"},
	{"+", "+"},
	{"1 2", "1 2"},
	{"a\015b", "\"a\\rb\""},
};
/* clang-format on */

static void emit_quotes_strings_only_where_yaml_needs_it(void)
{
	char want[256];
	for (size_t k = 0; k < GFS_ARRAY_SIZE(quoting); k++) {
		char *got = emit_value(quoting[k].in, strlen(quoting[k].in), 0);
		snprintf(want, sizeof(want), "k: %s\n", quoting[k].out);
		CHECK_STR(got, want);
		free(got);
	}
}

static void emit_quotes_keys_like_values(void)
{
	char want[256];
	for (size_t k = 0; k < GFS_ARRAY_SIZE(quoting); k++) {
		const char *in = quoting[k].in;
		char *got = emit_value(in, strlen(in), 1);
		if (strcmp(in, "<<") == 0) /* ours: plain it would read as a merge key */
			snprintf(want, sizeof(want), "\"<<\": 1\n");
		else if (strchr(in, '\r')) /* a line break: not a simple key */
			snprintf(want, sizeof(want), "? %s\n: 1\n", quoting[k].out);
		else
			snprintf(want, sizeof(want), "%s: 1\n", quoting[k].out);
		CHECK_STR(got, want);
		free(got);
	}
}

static void emit_writes_multiline_strings_as_literal_blocks(void)
{
	static const struct {
		const char *json, *yaml;
	} cases[] = {
	    {"{\"k\": \"a\\nb\\n\"}", "k: |\n  a\n  b\n"},
	    {"{\"k\": \"a\\nb\"}", "k: |-\n  a\n  b\n"},
	    {"{\"k\": \"a\\n\\n\", \"z\": 1}", "k: |+\n  a\n\nz: 1\n"},
	    /* The last value keeps its newlines, and no "..." follows. */
	    {"{\"k\": \"a\\n\\n\"}", "k: |+\n  a\n\n"},
	    {"{\"k\": \"a\\n\\nb\\n\"}", "k: |\n  a\n\n  b\n"},
	    {"{\"k\": \" a\\nb\\n\"}", "k: |2\n   a\n  b\n"},
	    {"{\"k\": \"\\nb\"}", "k: |2-\n\n  b\n"},
	    {"{\"k\": \"yes\\nno\\n\"}", "k: |\n  yes\n  no\n"},
	    /* A space before a newline cannot be kept in a block. */
	    {"{\"k\": \"a \\nb\"}", "k: \"a \\nb\"\n"},
	    {"{\"k\": \"a\\tb\\n\"}", "k: \"a\\tb\\n\"\n"},
	    {"{\"a\": [\"x\\ny\\n\"]}", "a:\n- |\n  x\n  y\n"},
	    {"{\"a\": [{\"b\": \"x\\ny\"}]}", "a:\n- b: |-\n    x\n    y\n"},
	    /* A multi-line key is a complex key, a literal block too. */
	    {"{\"a\\nb\": 1}", "? |-\n  a\n  b\n: 1\n"},
	    {"\"a\\nb\\n\"", "|\n  a\n  b\n"},
	};
	for (size_t k = 0; k < GFS_ARRAY_SIZE(cases); k++) {
		char *got = emit_text(cases[k].json);
		CHECK_STR(got, cases[k].yaml);
		free(got);
	}
}

static void emit_escapes_unprintable_and_exotic_characters(void)
{
	/* Our own expectations: here kubectl differs (its JSON step folds a
	 * raw NEL into a space, and go-yaml escapes every character after a
	 * leading BOM), but these are what libyaml writes and read back. */
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"\302\205", "k: \"\\N\"\n"},
	    {"\357\273\277a", "k: \"\\uFEFFa\"\n"},
	    /* A line separator is a line break in YAML 1.1: the next line
	     * is indented, and the indent is not part of the value. */
	    {"a\342\200\250b", "k: 'a\342\200\250  b'\n"},
	    {"\000x", "k: \"\\0x\"\n"},
	};
	for (size_t k = 0; k < GFS_ARRAY_SIZE(cases); k++) {
		size_t n = k == 3 ? 2 : strlen(cases[k].in);
		char *got = emit_value(cases[k].in, n, 0);
		CHECK_STR(got, cases[k].out);
		json_t *back = NULL;
		CHECK_INT(gfs_yaml_parse(&back, got, strlen(got), NULL), 0);
		json_t *s = json_object_get(back, "k");
		CHECK(s && json_string_length(s) == n &&
		      memcmp(json_string_value(s), cases[k].in, n) == 0);
		json_decref(back);
		free(got);
	}
}

/* kubectl would fold these at 80 columns; gfs_yaml.h promises no folding
 * (a long string stays one line: an edit to it is a one-line diff). */
static void emit_never_folds_long_strings(void)
{
	char *got = emit_text(
	    "{\"description\": \"APIVersion defines the versioned schema of this "
	    "representation of an object. Servers should convert recognized schemas.\","
	    " \"k\": [\"a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f "
	    "g h i j"
	    " k l m n o p q r s t u v w x y z\", \"'quoted' a b c d e f g h i j k l m n "
	    "o p q"
	    " r s t u v w x y z a b c d e f g h i j k l m n o p\", \"tab\\t a b c d e f "
	    "g h i"
	    " j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o p q r s t "
	    "u v"
	    " w x y z\"]}");
	CHECK_STR(
	    got,
	    "description: APIVersion defines the versioned schema of this "
	    "representation of an object. Servers should convert recognized schemas.\n"
	    "k:\n"
	    "- a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k "
	    "l"
	    " m n o p q r s t u v w x y z\n"
	    "- '''quoted'' a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e "
	    "f"
	    " g h i j k l m n o p'\n"
	    "- \"tab\\t a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f "
	    "g h"
	    " i j k l m n o p q r s t u v w x y z\"\n");
	free(got);
}

static void emit_writes_long_keys_as_complex_keys(void)
{
	char key[140], want[300];
	memset(key, 'k', 129);
	key[129] = '\0';
	char *got = emit_value(key, 129, 1);
	snprintf(want, sizeof(want), "? %s\n: 1\n", key);
	CHECK_STR(got, want);
	free(got);
	got = emit_value(key, 128, 1);
	key[128] = '\0';
	snprintf(want, sizeof(want), "%s: 1\n", key);
	CHECK_STR(got, want);
	free(got);
}

/* ---- writing numbers and structure ---- */

static void emit_writes_numbers_like_kubectl(void)
{
	/* JSON number as jansson reads it -> kubectl's text. A float with an
	 * integral value prints as an integer (encoding/json writes 1.0 as
	 * 1); other floats in Go's shortest %g form. */
	static const struct {
		const char *json, *yaml;
	} cases[] = {
	    {"1.0", "1"},
	    {"2.5", "2.5"},
	    {"0.1", "0.1"},
	    {"-0.0", "0"},
	    {"0.0", "0"},
	    {"1e-05", "1e-05"},
	    {"0.0001", "0.0001"},
	    {"0.000001", "1e-06"},
	    {"0.0000001", "1e-07"},
	    {"123456.7", "123456.7"},
	    {"1234567.5", "1.2345675e+06"},
	    {"999999.5", "999999.5"},
	    {"1e6", "1000000"},
	    {"100000000.0", "100000000"},
	    {"1e20", "1e+20"},
	    {"1e21", "1e+21"},
	    {"1.5e300", "1.5e+300"},
	    /* Ours: kubectl writes the digits of these (9300000000000000000),
	     * which would read back as an integer out of range. */
	    {"9.3e18", "9.3e+18"},
	    {"9223372036854775808.0", "9.223372036854776e+18"},
	    {"-9223372036854775808.0", "-9.223372036854776e+18"},
	    {"18446744073709551616.0", "1.8446744073709552e+19"},
	    {"0.30000000000000004", "0.30000000000000004"},
	    {"5e-324", "5e-324"},
	    {"1.7976931348623157e308", "1.7976931348623157e+308"},
	    {"3.141592653589793", "3.141592653589793"},
	    {"-2.5e-10", "-2.5e-10"},
	    {"4611686018427388928.0", "4611686018427389000"},
	    {"9007199254740993.0", "9007199254740992"},
	    {"9223372036854775807", "9223372036854775807"},
	    {"-9223372036854775808", "-9223372036854775808"},
	    {"42", "42"},
	    {"true", "true"},
	    {"false", "false"},
	    {"null", "null"},
	};
	char json[128], want[128];
	for (size_t k = 0; k < GFS_ARRAY_SIZE(cases); k++) {
		snprintf(json, sizeof(json), "{\"x\": %s}", cases[k].json);
		snprintf(want, sizeof(want), "x: %s\n", cases[k].yaml);
		char *got = emit_text(json);
		CHECK_STR(got, want);
		free(got);
	}
}

static void emit_formats_nested_collections_like_kubectl(void)
{
	char *got =
	    emit_text("{\"l\": [[1, 2], [{\"a\": 1, \"b\": []}], {}, [], [[\"x\"]]],"
		      " \"m\": {\"nn\": {\"o\": [{\"p\": {\"q\": null}}]}}, \"e\": {},"
		      " \"z\": [{\"name\": \"a\", \"ports\": [{\"port\": 80}]}]}");
	CHECK_STR(got, "e: {}\n"
		       "l:\n"
		       "- - 1\n"
		       "  - 2\n"
		       "- - a: 1\n"
		       "    b: []\n"
		       "- {}\n"
		       "- []\n"
		       "- - - x\n"
		       "m:\n"
		       "  nn:\n"
		       "    o:\n"
		       "    - p:\n"
		       "        q: null\n"
		       "z:\n"
		       "- name: a\n"
		       "  ports:\n"
		       "  - port: 80\n");
	free(got);
}

static void emit_writes_root_values_without_document_markers(void)
{
	static const struct {
		const char *json, *yaml;
	} cases[] = {
	    {"{}", "{}\n"},           {"[]", "[]\n"},
	    {"null", "null\n"},       {"\"x\"", "x\n"},
	    {"\"yes\"", "\"yes\"\n"}, {"[1, \"a\"]", "- 1\n- a\n"},
	    {"{\"a\": 1}", "a: 1\n"},
	};
	for (size_t k = 0; k < GFS_ARRAY_SIZE(cases); k++) {
		char *got = emit_text(cases[k].json);
		CHECK_STR(got, cases[k].yaml);
		free(got);
	}
}

static void emit_orders_keys_as_go_yaml_does(void)
{
	/* Not byte order: digit runs compare as numbers and non-letters sort
	 * before letters (go-yaml's keyList.Less). */
	char *got =
	    emit_text("{\"a10\":1,\"a9\":1,\"A\":1,\"_b\":1,\"b\":1,\"a\":1,\"B\":1,"
		      "\"a-b\":1,\"aa\":1,\"\\u00e9\":1,\"\\u2603\":1,\"z\":1,\"Z\":1,"
		      "\"~\":1,\"node2\":1,\"node10\":1,\"x01\":1,\"x1\":1,\"\":1}");
	CHECK_STR(got,
		  "\"\": 1\n_b: 1\n\"~\": 1\n\342\230\203: 1\nA: 1\nB: 1\nZ: 1\na: 1\n"
		  "a-b: 1\na9: 1\na10: 1\naa: 1\nb: 1\nnode2: 1\nnode10: 1\nx1: 1\n"
		  "x01: 1\nz: 1\n\303\251: 1\n");
	free(got);
}

static void emit_depends_only_on_the_keys_not_their_insertion_order(void)
{
	/* This set has no consistent go-yaml order ("0o17" < "2024" < "08" <
	 * "0o17"); kubectl's output then varies run to run, ours must not. */
	char *a =
	    emit_text("{\"0o17\":1,\"2024\":2,\"08\":3,\"b\":4,\"a\":{\"y\":1,\"x\":2}}");
	char *b =
	    emit_text("{\"a\":{\"x\":2,\"y\":1},\"b\":4,\"08\":3,\"2024\":2,\"0o17\":1}");
	char *c =
	    emit_text("{\"08\":3,\"a\":{\"y\":1,\"x\":2},\"0o17\":1,\"b\":4,\"2024\":2}");
	CHECK_STR(a, b);
	CHECK_STR(a, c);
	free(a);
	free(b);
	free(c);
}

static void emit_fails_with_efbig_past_the_buffer_limit(void)
{
	json_t *v = json_loads("{\"a\": \"0123456789\", \"b\": [1, 2, 3]}", 0, NULL);
	struct gfs_buf b = GFS_BUF_INIT(10);
	CHECK_INT(gfs_yaml_emit(&b, v), -EFBIG);
	gfs_buf_release(&b);
	struct gfs_buf ok = GFS_BUF_INIT(1024);
	CHECK_INT(gfs_yaml_emit(&ok, v), 0);
	CHECK_STR(ok.data, "a: \"0123456789\"\nb:\n- 1\n- 2\n- 3\n");
	gfs_buf_release(&ok);
	json_decref(v);
}

static void emit_appends_to_what_the_buffer_holds(void)
{
	json_t *v = json_loads("{\"a\": 1}", 0, NULL);
	struct gfs_buf b = GFS_BUF_INIT(1024);
	gfs_buf_adds(&b, "# head\n");
	CHECK_INT(gfs_yaml_emit(&b, v), 0);
	CHECK_STR(b.data, "# head\na: 1\n");
	gfs_buf_release(&b);
	json_decref(v);
}

/* ---- reading ---- */

static void parse_types_plain_scalars_as_go_yaml_v2(void)
{
	/* A float with an integral value is an integer (1.0 -> 1), unless
	 * it is past int64 (kept a real). Numbers that do not fit are
	 * refused (parse_refuses_numbers_that_do_not_fit). */
	/* clang-format off */
	static const struct {
		const char *scalar, *json;
	} cases[] = {
		{"yes", "true"}, {"Yes", "true"}, {"y", "true"}, {"on", "true"},
		{"TRUE", "true"}, {"n", "false"}, {"No", "false"}, {"OFF", "false"},
		{"false", "false"}, {"null", "null"}, {"~", "null"}, {"", "null"},
		{"Null", "null"}, {"nil", "\"nil\""}, {"nULL", "\"nULL\""}, {"1", "1"},
		{"+1", "1"}, {"-1", "-1"}, {"1_000", "1000"}, {"1_", "1"}, {"0x1F", "31"},
		{"0o17", "15"}, {"017", "15"}, {"0b101", "5"}, {"0b-101", "-5"},
		{"08", "8"}, {"09.5", "9.5"}, {"1.0", "1"}, {"1.5", "1.5"}, {"1.", "1"},
		{".5", "0.5"}, {"-.5", "-0.5"}, {"1e3", "1000"}, {"1E+3", "1000"},
		{".5_5", "0.55"}, {"._5", "\"._5\""},
		{"1:20", "\"1:20\""}, {"2024-01-15", "\"2024-01-15\""},
		{"2024-01-15T10:00:00Z", "\"2024-01-15T10:00:00Z\""}, {"0.0", "0"},
		{"-0", "0"}, {"0.1", "0.1"}, {"1.5e-7", "1.5e-07"}, {"1e21", "1e21"},
		{"9223372036854775807", "9223372036854775807"},
		{"-9223372036854775808", "-9223372036854775808"},
		{"9.3e18", "9.3e18"}, {"1e20", "1e20"}, {"5e-324", "5e-324"},
		{"1.7976931348623157e308", "1.7976931348623157e308"},
		{"0e-999", "0"}, {"-0.0e999", "0"}, {"0x", "\"0x\""},
		{"+", "\"+\""}, {"-x", "\"-x\""}, {"a b", "\"a b\""},
	};
	/* clang-format on */
	char yaml[128], want[128];
	for (size_t k = 0; k < GFS_ARRAY_SIZE(cases); k++) {
		snprintf(yaml, sizeof(yaml), "v: %s\n", cases[k].scalar);
		snprintf(want, sizeof(want), "{\"v\": %s}", cases[k].json);
		CHECK(parsed_equals(yaml, want));
	}
}

static void parse_reads_quoted_and_block_scalars_as_strings(void)
{
	CHECK(parsed_equals(
	    "a: 'yes'\nb: \"1.0\"\nc: \"\"\nd: |\n  x\n  y\ne: >-\n  p\n  q\n",
	    "{\"a\": \"yes\", \"b\": \"1.0\", \"c\": \"\", \"d\": \"x\\ny\\n\","
	    " \"e\": \"p q\"}"));
	CHECK(parsed_equals("a: \"tab\\there \\u263A \\x41\"\n",
			    "{\"a\": \"tab\\there \\u263a A\"}"));
	CHECK(parsed_equals("a: 'it''s'\n", "{\"a\": \"it's\"}"));
	CHECK(parsed_equals("a: \"nul\\0byte\"\n", "{\"a\": \"nul\\u0000byte\"}"));
}

static void parse_makes_every_key_a_string(void)
{
	/* sigs.k8s.io/yaml's conversion; floats at float32 precision. */
	CHECK(parsed_equals("80: a\n", "{\"80\": \"a\"}"));
	CHECK(parsed_equals("yes: a\nno: b\n", "{\"true\": \"a\", \"false\": \"b\"}"));
	CHECK(parsed_equals("'yes': a\n", "{\"yes\": \"a\"}"));
	CHECK(parsed_equals("0x10: a\n", "{\"16\": \"a\"}"));
	CHECK(parsed_equals("1.5: a\n1e3: b\n1e7: c\n",
			    "{\"1.5\": \"a\", \"1000\": \"b\", \"1e+07\": \"c\"}"));
	CHECK(parsed_equals("3.14159265358979: a\n-0.0: b\n",
			    "{\"3.1415927\": \"a\", \"-0\": \"b\"}"));
	CHECK(parsed_equals(".inf: a\n", "{\".inf\": \"a\"}"));
	CHECK(parsed_equals("2024-01-15: a\n", "{\"2024-01-15\": \"a\"}"));
	CHECK(parsed_equals("{a: 1, 'b c': [x, {d: e}]}",
			    "{\"a\": 1, \"b c\": [\"x\", {\"d\": \"e\"}]}"));
}

static void parse_follows_explicit_tags(void)
{
	CHECK(parsed_equals("a: !!str 12\nb: !!str yes\n",
			    "{\"a\": \"12\", \"b\": \"yes\"}"));
	CHECK(parsed_equals("a: !!int \"12\"\nb: !!float 3\nc: !!float 2.5\n",
			    "{\"a\": 12, \"b\": 3, \"c\": 2.5}"));
	CHECK(parsed_equals("a: !!bool \"yes\"\nb: !!null ''\n",
			    "{\"a\": true, \"b\": null}"));
	CHECK(parsed_equals("a: !!timestamp 2024-01-15\n", "{\"a\": \"2024-01-15\"}"));
	CHECK(
	    parsed_equals("a: !!map {x: 1}\nb: !!seq [1]\nc: !!map\n  d: !!seq\n  - e\n",
			  "{\"a\": {\"x\": 1}, \"b\": [1], \"c\": {\"d\": [\"e\"]}}"));
	CHECK(parsed_equals("!!map\n!!str a: !!int 1\n", "{\"a\": 1}"));
	CHECK(parsed_equals("a: !<tag:yaml.org,2002:int> '7'\n", "{\"a\": 7}"));
	/* The non-specific tag: a scalar is a string, a collection itself. */
	CHECK(parsed_equals("a: ! 12\nb: ! {c: ! [yes]}\n",
			    "{\"a\": \"12\", \"b\": {\"c\": [true]}}"));
}

/* go-yaml drops any other tag (the text becomes a string) and decodes
 * !!binary to raw bytes: either way kubectl would send something else
 * than the file says. */
static void parse_refuses_tags_it_does_not_resolve(void)
{
	static const char supported[] =
	    " (only !!str, !!int, !!float, !!bool, !!null, !!map and !!seq are "
	    "supported)";
	static const struct {
		const char *yaml;
		int line, column;
		const char *tag;
	} cases[] = {
	    {"a: !foo 12\n", 1, 4, "!foo"},
	    {"a: !foo\n  b: 1\n", 1, 4, "!foo"},
	    {"a: !foo [1]\n", 1, 4, "!foo"},
	    {"a:\n- b\n- !Ref c\n", 3, 3, "!Ref"},
	    {"!foo a: 1\n", 1, 1, "!foo"},
	    {"!foo\na: 1\n", 1, 1, "!foo"},
	    {"a: !!python/object:os.system x\n", 1, 4, "!!python/object:os.system"},
	    {"a: !!set {x: null}\n", 1, 4, "!!set"},
	    {"a: !!omap [b: 1]\n", 1, 4, "!!omap"},
	    {"a: !!merge {b: 1}\n", 1, 4, "!!merge"},
	    {"a: !<tag:example.com,2000:x> 1\n", 1, 4, "!<tag:example.com,2000:x>"},
	    {"%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n", 3, 4,
	     "!<tag:example.com,2000:x>"},
	    {"a: !x%01y 1\n", 1, 4, "!x?y"},
	    {"a: !xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
	     "1\n",
	     1, 4, "!xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."},
	};
	char want[300];
	for (size_t k = 0; k < GFS_ARRAY_SIZE(cases); k++) {
		struct gfs_yaml_error err;
		json_t *v = NULL;
		CHECK_INT(gfs_yaml_parse(&v, cases[k].yaml, strlen(cases[k].yaml), &err),
			  -EINVAL);
		CHECK(v == NULL);
		CHECK_INT(err.line, cases[k].line);
		CHECK_INT(err.column, cases[k].column);
		snprintf(want, sizeof(want), "unknown tag %s%s", cases[k].tag, supported);
		CHECK_STR(err.reason, want);
		json_decref(v);
	}
}

static void parse_refuses_a_tag_on_the_wrong_kind_of_node(void)
{
	static const struct {
		const char *yaml, *reason;
	} cases[] = {
	    {"a: !!map [1]\n", "the value does not match its tag !!map"},
	    {"a: !!seq {b: 1}\n", "the value does not match its tag !!seq"},
	    {"a: !!map x\n", "the value does not match its tag !!map"},
	    {"a: !!seq x\n", "the value does not match its tag !!seq"},
	    {"a: !!str {b: 1}\n", "the value does not match its tag !!str"},
	    {"a: !!int [1]\n", "the value does not match its tag !!int"},
	};
	for (size_t k = 0; k < GFS_ARRAY_SIZE(cases); k++) {
		struct gfs_yaml_error err;
		json_t *v = NULL;
		CHECK_INT(gfs_yaml_parse(&v, cases[k].yaml, strlen(cases[k].yaml), &err),
			  -EINVAL);
		CHECK_INT(err.line, 1);
		CHECK_INT(err.column, 4);
		CHECK_STR(err.reason, cases[k].reason);
		json_decref(v);
	}
}

/* go-yaml makes a float of an integer past int64 (a 30-digit number
 * loses its digits), a string of a float past a double's range or of a
 * non-decimal integer that does not fit, and 0 of 1e-400. */
static void parse_refuses_numbers_that_do_not_fit(void)
{
	static const char int_range[] =
	    "integer out of range; quote it to make it a string";
	static const char num_range[] =
	    "number out of range; quote it to make it a string";
	static const struct {
		const char *yaml;
		int column;
		const char *reason;
	} cases[] = {
	    {"v: 123456789012345678901234567890\n", 4, int_range},
	    {"v: 9223372036854775808\n", 4, int_range},
	    {"v: -9223372036854775809\n", 4, int_range},
	    {"v: 18446744073709551615\n", 4, int_range},
	    {"v: 1_000_000_000_000_000_000_000\n", 4, int_range},
	    {"v: 0x10000000000000000\n", 4, int_range},
	    {"v: 0x8000000000000000\n", 4, int_range},
	    {"v: -0x8000000000000001\n", 4, int_range},
	    {"v: 0o2000000000000000000000\n", 4, int_range},
	    {"v: 01000000000000000000000\n", 4, int_range},
	    {"v: 0999999999999999999999\n", 4, int_range},
	    {"v: 0b10000000000000000000000000000000000000000000000000000000000000000\n",
	     4, int_range},
	    {"v: 0b-10000000000000000000000000000000000000000000000000000000000000001\n",
	     4, int_range},
	    {"v: !!int 99999999999999999999\n", 4, int_range},
	    {"v: !!float 99999999999999999999\n", 4, int_range},
	    {"123456789012345678901234567890: a\n", 1, int_range},
	    {"- 1\n- 99999999999999999999\n", 3, int_range},
	    {"v: 1e400\n", 4, num_range},
	    {"v: -1e400\n", 4, num_range},
	    {"v: 1.8e308\n", 4, num_range},
	    {"v: .5e400\n", 4, num_range},
	    {"v: 1e-400\n", 4, num_range},
	    {"v: -.1e-400\n", 4, num_range},
	    {"v: !!float 1e400\n", 4, num_range},
	    {"1e400: a\n", 1, num_range},
	};
	for (size_t k = 0; k < GFS_ARRAY_SIZE(cases); k++) {
		struct gfs_yaml_error err;
		json_t *v = NULL;
		CHECK_INT(gfs_yaml_parse(&v, cases[k].yaml, strlen(cases[k].yaml), &err),
			  -EINVAL);
		CHECK(v == NULL);
		CHECK_INT(err.column, cases[k].column);
		CHECK_STR(err.reason, cases[k].reason);
		json_decref(v);
	}
	/* Quoted, each is the string it says; at the edges, a number. */
	CHECK(parsed_equals(
	    "a: '123456789012345678901234567890'\nb: \"1e400\"\n",
	    "{\"a\": \"123456789012345678901234567890\", \"b\": \"1e400\"}"));
	CHECK(parsed_equals("a: 9223372036854775807\nb: -9223372036854775808\n"
			    "c: 0x7FFFFFFFFFFFFFFF\nd: -0x8000000000000000\n",
			    "{\"a\": 9223372036854775807, \"b\": -9223372036854775808,"
			    " \"c\": 9223372036854775807, \"d\": -9223372036854775808}"));
}

static void parse_gives_null_for_an_empty_document(void)
{
	CHECK(parsed_equals("", "null"));
	CHECK(parsed_equals("# only a comment\n", "null"));
	CHECK(parsed_equals("---\n", "null"));
	CHECK(parsed_equals("--- a\n...\n", "\"a\""));
	CHECK(parsed_equals("\357\273\277a: 1\n", "{\"a\": 1}"));
	json_t *v = NULL;
	CHECK_INT(gfs_yaml_parse(&v, NULL, 0, NULL), 0);
	CHECK(json_is_null(v));
	json_decref(v);
}

static void parse_reports_errors_with_line_and_column(void)
{
	static const struct {
		const char *yaml;
		int line, column;
		const char *reason;
	} cases[] = {
	    {"a: b: c\n", 1, 5, "mapping values are not allowed in this context"},
	    {"a:\n  b: c\n d: e\n", 3, 2,
	     "did not find expected key (while parsing a block mapping at line 1, column "
	     "1)"},
	    {"a: [1, 2\n", 2, 1,
	     "did not find expected ',' or ']' (while parsing a flow sequence at line 1, "
	     "column 4)"},
	    {"a: 'open\n", 2, 1,
	     "found unexpected end of stream (while scanning a quoted scalar at line 1, "
	     "column 4)"},
	    {"a: \"\\q\"\n", 1, 5,
	     "found unknown escape character (while parsing a quoted scalar at line 1, "
	     "column 4)"},
	    {"a:\n\t- b\n", 2, 1,
	     "found character that cannot start any token (a tab; YAML indents with "
	     "spaces)"},
	    {"a: 1\na: 2\n", 2, 1, "duplicate key \"a\""},
	    {"top:\n  x: 1\n  y: 2\n  x: 3\n", 4, 3, "duplicate key \"x\""},
	    {"80: a\n\"80\": b\n", 2, 1, "duplicate key \"80\""},
	    {"a: &x 1\n", 1, 4, "anchors are not supported"},
	    {"a: &x {b: 1}\n", 1, 4, "anchors are not supported"},
	    {"a: *x\n", 1, 4, "aliases are not supported"},
	    {"*x : 1\n", 1, 1, "aliases are not supported"},
	    {"<<: {b: 1}\n", 1, 1, "merge keys (<<) are not supported"},
	    {"? [a, b]\n: 1\n", 1, 3, "a mapping key must be a string, not a sequence"},
	    {"? {a: 1}\n: 1\n", 1, 3, "a mapping key must be a string, not a mapping"},
	    {"~: 1\n", 1, 1, "a mapping key cannot be null"},
	    {"a: 1\n---\nb: 2\n", 2, 1,
	     "more than one document (a file holds one object)"},
	    {"a: .nan\n", 1, 4, "NaN and infinity are not valid JSON numbers"},
	    {"- -.inf\n", 1, 3, "NaN and infinity are not valid JSON numbers"},
	    {"a: !!binary aGk=\n", 1, 4,
	     "!!binary is not supported (write the base64 text without the tag)"},
	    {"a: !!int abc\n", 1, 4, "the value does not match its tag !!int"},
	    {"a: !!bool maybe\n", 1, 4, "the value does not match its tag !!bool"},
	    {"a: b\nc: \001\n", 2, 4, "control characters are not allowed (byte 0x01)"},
	    {"a: \"\377\"\n", 1, 5, "invalid leading UTF-8 octet (byte 0xFF)"},
	    {"\303\251\303\251: \"\377\"\n", 1, 6,
	     "invalid leading UTF-8 octet (byte 0xFF)"},
	};
	char msg[320];
	for (size_t k = 0; k < GFS_ARRAY_SIZE(cases); k++) {
		struct gfs_yaml_error err;
		json_t *v = (json_t *)1;
		int rc = gfs_yaml_parse(&v, cases[k].yaml, strlen(cases[k].yaml), &err);
		CHECK_INT(rc, -EINVAL);
		CHECK(v == NULL);
		CHECK_INT(err.line, cases[k].line);
		CHECK_INT(err.column, cases[k].column);
		CHECK_STR(err.reason, cases[k].reason);
		snprintf(msg, sizeof(msg), "line %d, column %d: %s", cases[k].line,
			 cases[k].column, cases[k].reason);
		CHECK_STR(gfs_error_last(), msg);
	}
}

static void parse_refuses_a_nul_byte(void)
{
	struct gfs_yaml_error err;
	json_t *v = NULL;
	CHECK_INT(gfs_yaml_parse(&v, "a: b\0c\n", 7, &err), -EINVAL);
	CHECK_INT(err.line, 1);
	CHECK_INT(err.column, 5);
	CHECK_STR(err.reason, "control characters are not allowed (byte 0x00)");
}

/* {"a": [{"a": [... {}]}]}: maps and lists alternating, `levels` of
 * them in all, the innermost empty. */
static json_t *nested_value(int levels)
{
	json_t *v = levels % 2 ? json_object() : json_array();
	for (int k = levels - 1; k > 0; k--) {
		json_t *outer = k % 2 ? json_object() : json_array();
		if (json_is_object(outer))
			json_object_set_new(outer, "a", v);
		else
			json_array_append_new(outer, v);
		v = outer;
	}
	return v;
}

/* What jansson accepts from the API server (JSON_PARSER_MAX_DEPTH), the
 * renderer writes and the parser reads: the same limit everywhere. */
static void round_trip_holds_at_the_nesting_limit(void)
{
	char *json = malloc(2 * GFS_YAML_MAX_DEPTH + 3);
	json_t *v, *back = NULL;
	struct gfs_buf b = GFS_BUF_INIT(64u << 20);

	CHECK(json != NULL);
	if (!json)
		return;
	memset(json, '[', GFS_YAML_MAX_DEPTH);
	memset(json + GFS_YAML_MAX_DEPTH, ']', GFS_YAML_MAX_DEPTH);
	json[2 * GFS_YAML_MAX_DEPTH] = '\0';
	v = json_loads(json, 0, NULL);
	CHECK(v != NULL);
	CHECK_INT(gfs_yaml_emit(&b, v), 0);
	CHECK_INT(gfs_yaml_parse(&back, b.data, b.len, NULL), 0);
	CHECK(json_equal(back, v));
	json_decref(back);
	json_decref(v);
	/* One level more is past jansson's limit too. */
	memmove(json + 1, json, 2 * GFS_YAML_MAX_DEPTH);
	json[2 * GFS_YAML_MAX_DEPTH + 1] = ']';
	json[2 * GFS_YAML_MAX_DEPTH + 2] = '\0';
	CHECK(json_loads(json, 0, NULL) == NULL);
	free(json);

	/* Block maps and lists alternating: 2 KiB of indentation at the bottom. */
	gfs_buf_reset(&b);
	back = NULL;
	v = nested_value(GFS_YAML_MAX_DEPTH);
	CHECK_INT(gfs_yaml_emit(&b, v), 0);
	CHECK_INT(gfs_yaml_parse(&back, b.data, b.len, NULL), 0);
	CHECK(json_equal(back, v));
	json_decref(back);
	json_decref(v);
	gfs_buf_release(&b);
}

static void emit_refuses_nesting_past_the_limit(void)
{
	json_t *v = nested_value(GFS_YAML_MAX_DEPTH + 1);
	struct gfs_buf b = GFS_BUF_INIT(64u << 20);
	char want[128];

	CHECK_INT(gfs_yaml_emit(&b, v), -EINVAL);
	snprintf(want, sizeof(want),
		 "cannot write YAML: maps and lists nested deeper than %d levels",
		 GFS_YAML_MAX_DEPTH);
	CHECK_STR(gfs_error_last(), want);
	json_decref(v);
	gfs_buf_release(&b);
}

static void parse_refuses_nesting_past_the_limit(void)
{
	size_t n = GFS_YAML_MAX_DEPTH + 1, len = 0;
	char *yaml = malloc(n * (2 * n + 4));
	char want[64];
	json_t *v = NULL;
	struct gfs_yaml_error err;

	CHECK(yaml != NULL);
	if (!yaml)
		return;
	snprintf(want, sizeof(want), "nested deeper than %d levels", GFS_YAML_MAX_DEPTH);
	memset(yaml, '[', n);
	memset(yaml + n, ']', n);
	CHECK_INT(gfs_yaml_parse(&v, yaml, 2 * n, &err), -EINVAL);
	CHECK(v == NULL);
	CHECK_INT(err.line, 1);
	CHECK_INT(err.column, (int)n);
	CHECK_STR(err.reason, want);
	/* a:\n  a:\n    a: ... x */
	for (size_t k = 0; k < n; k++) {
		memset(yaml + len, ' ', 2 * k);
		len += 2 * k;
		const char *line = k + 1 < n ? "a:\n" : "a: x\n";
		memcpy(yaml + len, line, strlen(line));
		len += strlen(line);
	}
	CHECK_INT(gfs_yaml_parse(&v, yaml, len, &err), -EINVAL);
	CHECK_INT(err.line, (int)n);
	CHECK_INT(err.column, (int)(2 * n - 1));
	CHECK_STR(err.reason, want);
	free(yaml);
}

/* A tiny deterministic generator, so a failure reproduces. */
static unsigned long fuzz_state = 12345;
static unsigned fuzz_next(void)
{
	fuzz_state = fuzz_state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(fuzz_state >> 33);
}

static void parse_one_fuzzed(const char *data, size_t len, int *bad)
{
	json_t *v = NULL;
	struct gfs_yaml_error err;
	int rc = gfs_yaml_parse(&v, data, len, &err);
	if (rc == 0 && !v)
		(*bad)++;
	if (rc < 0 &&
	    (rc != -EINVAL || v || err.line < 1 || err.column < 1 || !err.reason[0]))
		(*bad)++;
	json_decref(v);
}

static void parse_survives_arbitrary_bytes(void)
{
	static const char seed[] =
	    "a: [1, {b: 'c', d: \"e\\n\"}]\nf:\n  - g: |\n      h\n  - ~\n"
	    "? i\n: !!str j\nk: &l m\nn: *l\n--- \n";
	static const char alphabet[] =
	    "-:?[]{},'\"!&*|>#%@` \n\t\\.0123456789abyn~\303\251\0";
	char buf[256];
	int bad = 0;

	for (int round = 0; round < 20000; round++) {
		size_t len = fuzz_next() % sizeof(buf);
		if (round % 2) {
			for (size_t k = 0; k < len; k++)
				buf[k] = alphabet[fuzz_next() % (sizeof(alphabet) - 1)];
		} else {
			len = sizeof(seed) - 1;
			memcpy(buf, seed, len);
			for (int m = fuzz_next() % 6; m >= 0; m--) {
				unsigned c =
				    round % 4
					? (unsigned char)alphabet[fuzz_next() %
								  (sizeof(alphabet) - 1)]
					: fuzz_next();
				buf[fuzz_next() % len] = (char)c;
			}
		}
		parse_one_fuzzed(buf, len, &bad);
	}
	CHECK_INT(bad, 0);
}

/* ---- round trips ---- */

static void round_trip_keeps_every_quoted_string(void)
{
	for (size_t k = 0; k < GFS_ARRAY_SIZE(quoting); k++) {
		for (int as_key = 0; as_key < 2; as_key++) {
			const char *s = quoting[k].in;
			char *yaml = emit_value(s, strlen(s), as_key);
			json_t *v = NULL;
			CHECK_INT(gfs_yaml_parse(&v, yaml, strlen(yaml), NULL), 0);
			json_t *want = json_object();
			if (as_key)
				json_object_set_new(want, s, json_integer(1));
			else
				json_object_set_new(want, "k", json_string(s));
			if (!json_equal(v, want))
				printf("#   round trip of \"%s\" (key %d) gave a "
				       "different value\n",
				       s, as_key);
			CHECK(json_equal(v, want));
			json_decref(want);
			json_decref(v);
			free(yaml);
		}
	}
}

static char *golden_path(const char *name, const char *ext)
{
	const char *root = getenv("GFS_ROOT");
	char *path = malloc(4096);
	snprintf(path, 4096, "%s/tests/unit/golden/%s.%s", root && *root ? root : ".",
		 name, ext);
	return path;
}

/* Numbers compare by value: a float 2.0 written as 2 reads back as the
 * integer 2, which is the same JSON number. */
static int same_value(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (size_t k = 0; k < json_array_size(a); k++)
			if (!same_value(json_array_get(a, k), json_array_get(b, k)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		const char *key;
		json_t *value;
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, key, value)
		{
			if (!same_value(value, json_object_get(b, key)))
				return 0;
		}
		return 1;
	}
	return json_equal(a, b);
}

static void round_trip_golden_objects(void)
{
	static const char *const names[] = {"deployment", "service",   "configmap",
					    "secret",     "namespace", "clusterrole",
					    "widget",     "cronjob",   "statefulset"};
	for (size_t k = 0; k < GFS_ARRAY_SIZE(names); k++) {
		char *path = golden_path(names[k], "json");
		json_t *obj = json_load_file(path, 0, NULL), *back = NULL;
		struct gfs_buf first = GFS_BUF_INIT(1 << 20),
			       second = GFS_BUF_INIT(1 << 20);
		CHECK(obj != NULL);
		if (!obj)
			printf(
			    "#   cannot read %s (set GFS_ROOT to the repository root)\n",
			    path);
		/* The raw object, status and managedFields included. */
		CHECK_INT(gfs_yaml_emit(&first, obj), 0);
		CHECK_INT(gfs_yaml_parse(&back, first.data, first.len, NULL), 0);
		CHECK(same_value(back, obj));
		CHECK_INT(gfs_yaml_emit(&second, back), 0);
		CHECK_STR(second.data, first.data);
		json_decref(back);
		json_decref(obj);
		gfs_buf_release(&first);
		gfs_buf_release(&second);
		free(path);
	}
}

int main(void)
{
	TAP_RUN(emit_quotes_strings_only_where_yaml_needs_it);
	TAP_RUN(emit_quotes_keys_like_values);
	TAP_RUN(emit_writes_multiline_strings_as_literal_blocks);
	TAP_RUN(emit_escapes_unprintable_and_exotic_characters);
	TAP_RUN(emit_never_folds_long_strings);
	TAP_RUN(emit_writes_long_keys_as_complex_keys);
	TAP_RUN(emit_writes_numbers_like_kubectl);
	TAP_RUN(emit_formats_nested_collections_like_kubectl);
	TAP_RUN(emit_writes_root_values_without_document_markers);
	TAP_RUN(emit_orders_keys_as_go_yaml_does);
	TAP_RUN(emit_depends_only_on_the_keys_not_their_insertion_order);
	TAP_RUN(emit_fails_with_efbig_past_the_buffer_limit);
	TAP_RUN(emit_appends_to_what_the_buffer_holds);
	TAP_RUN(parse_types_plain_scalars_as_go_yaml_v2);
	TAP_RUN(parse_reads_quoted_and_block_scalars_as_strings);
	TAP_RUN(parse_makes_every_key_a_string);
	TAP_RUN(parse_follows_explicit_tags);
	TAP_RUN(parse_refuses_tags_it_does_not_resolve);
	TAP_RUN(parse_refuses_a_tag_on_the_wrong_kind_of_node);
	TAP_RUN(parse_refuses_numbers_that_do_not_fit);
	TAP_RUN(parse_gives_null_for_an_empty_document);
	TAP_RUN(parse_reports_errors_with_line_and_column);
	TAP_RUN(parse_refuses_a_nul_byte);
	TAP_RUN(parse_refuses_nesting_past_the_limit);
	TAP_RUN(emit_refuses_nesting_past_the_limit);
	TAP_RUN(parse_survives_arbitrary_bytes);
	TAP_RUN(round_trip_keeps_every_quoted_string);
	TAP_RUN(round_trip_golden_objects);
	TAP_RUN(round_trip_holds_at_the_nesting_limit);
	return tap_done();
}
