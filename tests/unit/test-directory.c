/* Unit tests for the meeting directory (signaling/directory.c). */
#include "amgw/directory.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <string.h>

/* 2026-11-22T09:00:00Z in ms since the epoch. */
#define T9 G_GINT64_CONSTANT (1795338000000)
#define HOUR G_GINT64_CONSTANT (3600000)

#define MEETING(id, extra) \
  "[meeting " id "]\nstart = 2026-11-22T09:00:00Z\nend = 2026-11-22T10:00:00Z\n" \
  "endpoint = sip:1@b.example\n" extra

typedef struct {
  const char *name;
  const char *text;
  gssize len;
  gboolean ok;
  const char *expect[4];
  const char *secret;
} DirCase;

static const DirCase cases[] = {
  { "empty", "", -1, TRUE, { NULL }, NULL },
  { "comments", "# nothing yet\n", -1, TRUE, { NULL }, NULL },
  { "minimal", MEETING ("a", ""), -1, TRUE, { NULL }, NULL },
  { "bom-crlf", "\xEF\xBB\xBF[meeting a]\r\nstart = 2026-11-22T09:00:00Z\r\n"
    "end = 2026-11-22T10:00:00Z\r\nendpoint = sip:1@b.example\r\n", -1, TRUE, { NULL }, NULL },
  { "id-chars", MEETING ("AAMkAGI2+/=_-.:@~!$%&*", ""), -1, TRUE, { NULL }, NULL },

  { "unknown-group", "[meetings]\n", -1, FALSE,
    { "m.ini:1: [meetings]: unknown group: each group is [meeting CALENDAR_EVENT_ID]" }, NULL },
  { "empty-id", "[meeting ]\n", -1, FALSE, { "m.ini:1: [meeting ]: the calendarEventId must be" },
    NULL },
  { "id-quote", MEETING ("a\"b", ""), -1, FALSE, { "m.ini:1: [meeting a\"b]: the calendarEventId" },
    NULL },
  { "id-space", MEETING ("a b", ""), -1, FALSE, { "the calendarEventId must be 1 to 256" }, NULL },
  { "id-non-ascii", MEETING ("caf\xc3\xa9", ""), -1, FALSE, { "the calendarEventId must be" },
    NULL },
  { "missing-keys", "[meeting a]\nroom = x\n", -1, FALSE,
    { "m.ini:1: [meeting a] endpoint: missing (required)",
      "m.ini:1: [meeting a] start: missing (required)",
      "m.ini:1: [meeting a] end: missing (required)" }, NULL },
  { "empty-endpoint", "[meeting a]\nstart = 2026-11-22T09:00:00Z\nend = 2026-11-22T10:00:00Z\n"
    "endpoint =\n", -1, FALSE, { "m.ini:4: [meeting a] endpoint: empty (required)" }, NULL },
  { "end-before-start", "[meeting a]\nstart = 2026-11-22T10:00:00Z\nend = 2026-11-22T09:00:00Z\n"
    "endpoint = x\n", -1, FALSE, { "m.ini:3: [meeting a] end: must be after start" }, NULL },
  { "end-equals-start", "[meeting a]\nstart = 2026-11-22T10:00:00Z\nend = 2026-11-22T11:00:00+01:00\n"
    "endpoint = x\n", -1, FALSE, { "[meeting a] end: must be after start" }, NULL },
  { "no-offset", "[meeting a]\nstart = 2026-11-22T09:00:00\nend = 2026-11-22T10:00:00Z\n"
    "endpoint = x\n", -1, FALSE,
    { "m.ini:2: [meeting a] start: not an ISO 8601 date and time with an offset" }, NULL },
  { "date-only", "[meeting a]\nstart = 2026-11-22\nend = 2026-11-23\nendpoint = x\n", -1, FALSE,
    { "[meeting a] start: not an ISO 8601", "[meeting a] end: not an ISO 8601" }, NULL },
  { "bad-date", "[meeting a]\nstart = 2026-13-40T09:00:00Z\nend = tomorrow\nendpoint = x\n", -1,
    FALSE, { "[meeting a] start: not an ISO", "[meeting a] end: not an ISO" }, NULL },
  { "protocol", MEETING ("a", "protocol = XMPP\n"), -1, FALSE,
    { "m.ini:5: [meeting a] protocol: must be SIP, SIPS or H323" }, NULL },
  { "protocol-empty", MEETING ("a", "protocol =\n"), -1, FALSE,
    { "[meeting a] protocol: must be SIP, SIPS or H323" }, NULL },
  { "pin", MEETING ("a", "pin = 12ab-secret\n"), -1, FALSE,
    { "m.ini:5: [meeting a] pin: use digits, '*' and '#' only" }, "12ab-secret" },
  { "pin-long", MEETING ("a", "pin = 123456789012345678901234567890123\n"), -1, FALSE,
    { "[meeting a] pin: longer than 32" }, "123456789012345678901234567890123" },
  { "pin-bad-escape", MEETING ("a", "pin = 1234\\q9876\n"), -1, FALSE,
    { "[meeting a] pin: invalid escape" }, "9876" },
  { "endpoint-space", "[meeting a]\nstart = 2026-11-22T09:00:00Z\nend = 2026-11-22T10:00:00Z\n"
    "endpoint = sip:1@b example\n", -1, FALSE, { "[meeting a] endpoint: must not contain spaces" },
    NULL },
  { "unknown-key", MEETING ("a", "title = x\n"), -1, FALSE, { "m.ini:5: [meeting a] title: unknown key" },
    NULL },
  { "duplicate-key", MEETING ("a", "endpoint = sip:2@b.example\n"), -1, FALSE,
    { "m.ini:5: [meeting a] endpoint: duplicate key (first at line 4)" }, NULL },
  { "duplicate-group", MEETING ("a", "") MEETING ("a", ""), -1, FALSE,
    { "m.ini:5: [meeting a]: duplicate group (first at line 1)" }, NULL },
  { "duplicate-id-spacing", MEETING ("a", "") MEETING (" a", ""), -1, FALSE,
    { "m.ini:5: [meeting  a]: the same calendarEventId as the group at line 1" }, NULL },
  { "non-utf8", MEETING ("a", "organizer = \xc3\x28\n"), -1, FALSE, { "m.ini:5: not valid UTF-8" },
    NULL },
  { "junk", "junk\n[meeting a\n", -1, FALSE,
    { "m.ini:1: not a [group] header", "m.ini:2: group header without ']'" }, NULL },
  { "organizer-too-long", NULL, -1, FALSE, { "[meeting a] organizer: longer than 256" }, NULL },
};

static void
test_case (gconstpointer data)
{
  const DirCase *c = data;
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwDirectory) dir = NULL;
  g_autofree char *long_text = NULL;
  const char *text = c->text;

  if (text == NULL) {
    g_autofree char *organizer = g_strnfill (257, 'o');
    long_text = g_strdup_printf (MEETING ("a", "organizer = %s\n"), organizer);
    text = long_text;
  }
  dir = amgw_directory_load_data (text, c->len, "m.ini", problems, &error);
  amgw_test_dump_problems (problems);
  if (c->ok) {
    g_assert_no_error (error);
    g_assert_nonnull (dir);
    g_assert_cmpuint (problems->len, ==, 0);
  } else {
    g_assert_null (dir);
    g_assert_error (error, AMGW_DIRECTORY_ERROR, AMGW_DIRECTORY_ERROR_INVALID);
    g_assert_true (g_str_has_prefix (error->message, g_ptr_array_index (problems, 0)));
  }
  for (guint i = 0; i < G_N_ELEMENTS (c->expect) && c->expect[i] != NULL; i++) {
    if (!amgw_test_problems_contain (problems, c->expect[i]))
      g_error ("no problem contains \"%s\"", c->expect[i]);
  }
  if (c->secret != NULL) {
    g_assert_false (amgw_test_problems_contain (problems, c->secret));
    g_assert_null (strstr (error->message, c->secret));
  }
}

static const char sample[] =
  "# sample\n"
  "[meeting ev-1]\n"
  "room = Board\n"
  "organizer = Ada Lovelace\n"
  "start = 2026-11-22T09:00:00Z\n"
  "end = 2026-11-22T10:00:00Z\n"
  "endpoint = sip:7001@bridge.example\n"
  "protocol = sips\n"
  "id = 7001\n"
  "pin = 12*34#\n"
  "provider = Example\n"
  "\n"
  "[meeting ev-2]\n"            /* any room, 09:30 - 11:00 */
  "start = 2026-11-22T10:30:00+01:00\n"
  "end = 2026-11-22T11:00:00Z\n"
  "endpoint = 198.51.100.1\n"
  "protocol = h323\n"
  "\n"
  "[meeting ev-3]\n"            /* the Lobby by endpoint-id, 09:00 - 09:30 */
  "room = lobby-ep\n"
  "start = 2026-11-22T09:00:00Z\n"
  "end = 2026-11-22T09:30:00Z\n"
  "endpoint = sip:3@bridge.example\n"
  "\n"
  "[meeting ev-4]\n"            /* Board again, 09:05 - 09:15, inside ev-1 */
  "room = Board\n"
  "start = 2026-11-22T09:05:00Z\n"
  "end = 2026-11-22T09:15:00Z\n"
  "endpoint = sip:4@bridge.example\n";

static void
test_lookup (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwDirectory) dir = amgw_directory_load_data (sample, -1, "s.ini", NULL, &error);
  g_autoptr (AmgwMeeting) copy = NULL;
  const AmgwMeeting *m;

  g_assert_no_error (error);
  g_assert_cmpuint (amgw_directory_size (dir), ==, 4);
  g_assert_null (amgw_directory_get_path (dir));

  m = amgw_directory_lookup (dir, "ev-1");
  g_assert_nonnull (m);
  g_assert_cmpstr (m->calendar_event_id, ==, "ev-1");
  g_assert_cmpstr (m->room, ==, "Board");
  g_assert_cmpstr (m->organizer, ==, "Ada Lovelace");
  g_assert_cmpint (m->start_ms, ==, T9);
  g_assert_cmpint (m->end_ms, ==, T9 + HOUR);
  g_assert_cmpstr (m->endpoint, ==, "sip:7001@bridge.example");
  g_assert_cmpstr (m->protocol, ==, "SIPS");
  g_assert_cmpstr (m->id, ==, "7001");
  g_assert_cmpstr (m->pin, ==, "12*34#");
  g_assert_cmpstr (m->provider, ==, "Example");

  copy = amgw_meeting_copy (m);
  g_assert_true (copy != m);
  g_assert_cmpstr (copy->pin, ==, "12*34#");
  g_assert_cmpint (copy->end_ms, ==, m->end_ms);

  m = amgw_directory_lookup (dir, "ev-2");
  g_assert_null (m->room);
  g_assert_null (m->organizer);
  g_assert_null (m->pin);
  g_assert_null (m->id);
  g_assert_cmpstr (m->protocol, ==, "H323");
  g_assert_cmpint (m->start_ms, ==, T9 + HOUR / 2);

  m = amgw_directory_lookup (dir, "ev-3");
  g_assert_cmpstr (m->protocol, ==, "SIP");   /* the default */

  g_assert_null (amgw_directory_lookup (dir, "ev-5"));
  g_assert_null (amgw_directory_lookup (dir, "EV-1"));
  g_assert_null (amgw_directory_lookup (dir, ""));
  g_assert_null (amgw_directory_lookup (dir, NULL));
}

typedef struct {
  const char *room;
  const char *endpoint_id;
  gint64 now;
  const char *expect;       /* calendarEventId, NULL = none */
} CurrentCase;

static void
test_current (void)
{
  static const CurrentCase current[] = {
    { "Board", "board-ep", T9 - 1, NULL },                    /* before everything */
    { "Board", "board-ep", T9, "ev-1" },                      /* start is inside */
    { "Board", "board-ep", T9 + 5 * 60000 - 1, "ev-1" },
    { "Board", "board-ep", T9 + 5 * 60000, "ev-4" },          /* started last */
    { "Board", "board-ep", T9 + 15 * 60000 - 1, "ev-4" },
    { "Board", "board-ep", T9 + 15 * 60000, "ev-1" },         /* end is outside */
    { "Board", "board-ep", T9 + HOUR / 2 - 1, "ev-1" },
    { "Board", "board-ep", T9 + HOUR / 2, "ev-2" },           /* any room, started last */
    { "Board", "board-ep", T9 + HOUR, "ev-2" },               /* ev-1 ended */
    { "Board", "board-ep", T9 + 2 * HOUR - 1, "ev-2" },
    { "Board", "board-ep", T9 + 2 * HOUR, NULL },
    { "Lobby", "lobby-ep", T9, "ev-3" },                      /* by endpoint-id */
    { "Lobby", "lobby-ep", T9 + HOUR / 2, "ev-2" },           /* ev-3 ended, ev-2 any room */
    { "Lobby", NULL, T9, NULL },                              /* ev-3 names the endpoint only */
    { NULL, "lobby-ep", T9 + 1, "ev-3" },
    { "Other", "other-ep", T9, NULL },
    { "Other", "other-ep", T9 + HOUR / 2, "ev-2" },
    { NULL, NULL, T9 + HOUR / 2, "ev-2" },
  };
  g_autoptr (AmgwDirectory) dir = amgw_directory_load_data (sample, -1, "s.ini", NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (current); i++) {
    const CurrentCase *c = &current[i];
    const AmgwMeeting *m = amgw_directory_current (dir, c->room, c->endpoint_id, c->now);
    const char *got = m != NULL ? m->calendar_event_id : NULL;

    if (g_strcmp0 (got, c->expect) != 0)
      g_error ("case %u: expected %s, got %s", i, c->expect, got);
  }
}

/* Two meetings that started together: the first in the file wins. */
static void
test_current_tie (void)
{
  static const char text[] =
    MEETING ("first", "") MEETING ("second", "");
  g_autoptr (AmgwDirectory) dir = amgw_directory_load_data (text, -1, "t.ini", NULL, NULL);
  const AmgwMeeting *m = amgw_directory_current (dir, "Any", NULL, T9);

  g_assert_cmpstr (m->calendar_event_id, ==, "first");
}

static void
test_too_big (void)
{
  gsize len = AMGW_MAX_DIRECTORY_BYTES + 1;
  g_autofree char *text = g_malloc (len);
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwDirectory) dir = NULL;

  memset (text, '#', len);
  dir = amgw_directory_load_data (text, len, "big.ini", problems, &error);
  g_assert_null (dir);
  g_assert_error (error, AMGW_DIRECTORY_ERROR, AMGW_DIRECTORY_ERROR_TOO_BIG);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (problems, 0), "big.ini:0: larger than"));
}

static void
test_too_many (void)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwDirectory) dir = NULL;

  for (int i = 0; i < AMGW_MAX_MEETINGS; i++)
    g_string_append_printf (text, "[meeting m%d]\nstart=2026-01-01T00:00:00Z\n"
        "end=2026-01-01T01:00:00Z\nendpoint=e\n", i);
  dir = amgw_directory_load_data (text->str, text->len, "t.ini", problems, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (amgw_directory_size (dir), ==, AMGW_MAX_MEETINGS);
  g_clear_pointer (&dir, amgw_directory_free);

  g_string_append (text, "[meeting one-more]\nstart=2026-01-01T00:00:00Z\n"
      "end=2026-01-01T01:00:00Z\nendpoint=e\n");
  dir = amgw_directory_load_data (text->str, text->len, "t.ini", problems, &error);
  g_assert_null (dir);
  g_assert_error (error, AMGW_DIRECTORY_ERROR, AMGW_DIRECTORY_ERROR_INVALID);
  g_assert_true (amgw_test_problems_contain (problems, "t.ini:40001: [meeting one-more]: too many meetings"));
}

/* ---- the file ---- */

typedef struct {
  char *tmp;
  char *path;
} FileFixture;

static void
file_set_up (FileFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->tmp = g_dir_make_tmp ("amgw-directory-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->tmp, "meetings.ini", NULL);
}

static void
file_tear_down (FileFixture *f, gconstpointer data)
{
  g_remove (f->path);
  g_rmdir (f->tmp);
  g_free (f->path);
  g_free (f->tmp);
}

static void
write_file (FileFixture *f, const char *text)
{
  g_autoptr (GError) error = NULL;

  /* g_file_set_contents renames a new file into place: a new inode each
   * time, as editors that save atomically do. */
  g_file_set_contents (f->path, text, -1, &error);
  g_assert_no_error (error);
}

static void
test_reload_on_change (FileFixture *f, gconstpointer data)
{
  g_autoptr (AmgwDirectory) dir = NULL;
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  FILE *fp;

  write_file (f, MEETING ("one", ""));
  dir = amgw_directory_new (f->path);
  g_assert_cmpstr (amgw_directory_get_path (dir), ==, f->path);
  amgw_directory_set_check_interval (dir, 0);
  g_assert_nonnull (amgw_directory_lookup (dir, "one"));
  g_assert_cmpuint (amgw_directory_size (dir), ==, 1);

  /* An edit is seen at the next lookup. */
  write_file (f, MEETING ("one", "") MEETING ("two", ""));
  g_assert_nonnull (amgw_directory_lookup (dir, "two"));
  g_assert_cmpuint (amgw_directory_size (dir), ==, 2);

  /* An edit in place (same inode, other size) too. */
  fp = fopen (f->path, "a");
  g_assert_nonnull (fp);
  fputs (MEETING ("three", ""), fp);
  fclose (fp);
  g_assert_nonnull (amgw_directory_lookup (dir, "three"));

  /* A broken edit keeps the previous content. */
  write_file (f, MEETING ("four", "protocol = carrier-pigeon\n"));
  g_assert_null (amgw_directory_lookup (dir, "four"));
  g_assert_nonnull (amgw_directory_lookup (dir, "one"));
  g_assert_nonnull (amgw_directory_current (dir, "Board", NULL, T9));
  g_assert_cmpuint (amgw_directory_size (dir), ==, 3);

  /* An explicit reload says why. */
  g_assert_false (amgw_directory_reload (dir, problems, &error));
  g_assert_error (error, AMGW_DIRECTORY_ERROR, AMGW_DIRECTORY_ERROR_INVALID);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (problems, 0), f->path));
  g_assert_nonnull (strstr (g_ptr_array_index (problems, 0), ":5: [meeting four] protocol:"));
  g_assert_cmpuint (amgw_directory_size (dir), ==, 3);
  g_clear_error (&error);

  /* Fixed: taken. */
  write_file (f, MEETING ("four", "protocol = H323\n"));
  g_assert_nonnull (amgw_directory_lookup (dir, "four"));
  g_assert_null (amgw_directory_lookup (dir, "one"));
  g_assert_cmpuint (amgw_directory_size (dir), ==, 1);

  /* Deleted: the content stays. */
  g_assert_cmpint (g_remove (f->path), ==, 0);
  g_assert_nonnull (amgw_directory_lookup (dir, "four"));
  g_assert_false (amgw_directory_reload (dir, NULL, &error));
  g_assert_error (error, AMGW_DIRECTORY_ERROR, AMGW_DIRECTORY_ERROR_IO);
  g_assert_nonnull (amgw_directory_lookup (dir, "four"));
}

/* Lookups stat the file at most once per interval. */
static void
test_check_throttled (FileFixture *f, gconstpointer data)
{
  g_autoptr (AmgwDirectory) dir = NULL;

  write_file (f, MEETING ("one", ""));
  dir = amgw_directory_new (f->path);    /* default: 1000 ms */
  g_assert_nonnull (amgw_directory_lookup (dir, "one"));
  write_file (f, MEETING ("two", ""));
  /* Within the second: not seen yet (the test runs well under it). */
  g_assert_nonnull (amgw_directory_lookup (dir, "one"));
  g_assert_null (amgw_directory_lookup (dir, "two"));
  /* Setting the interval drops the wait. */
  amgw_directory_set_check_interval (dir, 60000);
  g_assert_nonnull (amgw_directory_lookup (dir, "two"));
  write_file (f, MEETING ("three", ""));
  g_assert_null (amgw_directory_lookup (dir, "three"));
}

static void
test_starts_broken (FileFixture *f, gconstpointer data)
{
  g_autoptr (AmgwDirectory) dir = NULL;
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;

  /* Missing at first: empty, and picked up once it exists. */
  dir = amgw_directory_new (f->path);
  amgw_directory_set_check_interval (dir, 0);
  g_assert_cmpuint (amgw_directory_size (dir), ==, 0);
  g_assert_false (amgw_directory_reload (dir, problems, &error));
  g_assert_error (error, AMGW_DIRECTORY_ERROR, AMGW_DIRECTORY_ERROR_IO);
  g_assert_cmpuint (problems->len, ==, 1);
  g_clear_error (&error);

  write_file (f, "[meeting x]\n");
  g_assert_cmpuint (amgw_directory_size (dir), ==, 0);
  write_file (f, MEETING ("x", ""));
  g_assert_cmpuint (amgw_directory_size (dir), ==, 1);
  g_clear_pointer (&dir, amgw_directory_free);

  /* Broken at first: empty. */
  write_file (f, "[meeting x]\n");
  dir = amgw_directory_new (f->path);
  g_assert_cmpuint (amgw_directory_size (dir), ==, 0);
}

static void
test_no_file (void)
{
  g_autoptr (AmgwDirectory) dir = amgw_directory_new (NULL);
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (amgw_directory_size (dir), ==, 0);
  g_assert_true (amgw_directory_reload (dir, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (amgw_directory_lookup (dir, "x"));
  g_assert_null (amgw_directory_current (dir, "Board", "b", T9));
}

/* docker/meetings.ini, the documented example, must load as it is. */
static void
test_example_file (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "docker", "meetings.ini",
      NULL);
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwDirectory) dir = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_test_skip ("docker/meetings.ini not found");
    return;
  }
  dir = amgw_directory_new (path);
  g_assert_true (amgw_directory_reload (dir, problems, &error));
  amgw_test_dump_problems (problems);
  g_assert_no_error (error);
  g_assert_cmpuint (amgw_directory_size (dir), >=, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *path = g_strdup_printf ("/directory/case/%s", cases[i].name);
    g_test_add_data_func (path, &cases[i], test_case);
  }
  g_test_add_func ("/directory/lookup", test_lookup);
  g_test_add_func ("/directory/current", test_current);
  g_test_add_func ("/directory/current-tie", test_current_tie);
  g_test_add_func ("/directory/too-big", test_too_big);
  g_test_add_func ("/directory/too-many", test_too_many);
  g_test_add_func ("/directory/no-file", test_no_file);
  g_test_add_func ("/directory/example-file", test_example_file);
  g_test_add ("/directory/reload-on-change", FileFixture, NULL, file_set_up,
      test_reload_on_change, file_tear_down);
  g_test_add ("/directory/check-throttled", FileFixture, NULL, file_set_up, test_check_throttled,
      file_tear_down);
  g_test_add ("/directory/starts-broken", FileFixture, NULL, file_set_up, test_starts_broken,
      file_tear_down);
  return g_test_run ();
}
