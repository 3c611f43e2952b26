/* Unit tests for the SQLite state store (signaling/store.c), on real files. */
#include "amgw/store.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  char *tmp;         /* the test's own folder */
  char *state_dir;   /* tmp/state/sub: does not exist at the start */
  AmgwStore *store;
} Fixture;

static void
rm_rf (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *child = g_build_filename (path, name, NULL);
    if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
      rm_rf (child);
    else
      g_remove (child);
  }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (path);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->tmp = g_dir_make_tmp ("amgw-store-XXXXXX", &error);
  g_assert_no_error (error);
  f->state_dir = g_build_filename (f->tmp, "state", "sub", NULL);
  f->store = amgw_store_open (f->state_dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->store);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->store, amgw_store_close);
  rm_rf (f->tmp);
  g_free (f->tmp);
  g_free (f->state_dir);
}

static void
reopen (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  g_clear_pointer (&f->store, amgw_store_close);
  f->store = amgw_store_open (f->state_dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->store);
}

static char *
db_path (Fixture *f)
{
  return g_build_filename (f->state_dir, "amgw.db", NULL);
}

/* Runs @sql on the database file with a separate connection. */
static void
raw_exec (Fixture *f, const char *sql)
{
  g_autofree char *path = db_path (f);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

static char *
raw_query_text (Fixture *f, const char *sql)
{
  g_autofree char *path = db_path (f);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *value = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

static void
test_files (Fixture *f, gconstpointer data)
{
  g_autofree char *path = db_path (f);
  GStatBuf st;

  g_assert_cmpstr (amgw_store_get_path (f->store), ==, path);
  g_assert_cmpint (g_stat (f->state_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

static void
test_modes_despite_umask (gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("amgw-store-XXXXXX", &error);
  g_autofree char *state = g_build_filename (tmp, "s", NULL);
  g_autofree char *path = g_build_filename (state, "amgw.db", NULL);
  g_autofree char *wal = g_build_filename (state, "amgw.db-wal", NULL);
  g_autoptr (AmgwStore) store = NULL;
  mode_t old = umask (GPOINTER_TO_UINT (data));
  GStatBuf st;

  store = amgw_store_open (state, &error);
  umask (old);
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (state, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  /* The write-ahead log holds the same secrets. */
  g_assert_true (amgw_store_delete_session (store, "x", &error));
  g_assert_cmpint (g_stat (wal, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_clear_pointer (&store, amgw_store_close);

  /* An existing file that is too open is narrowed. */
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  store = amgw_store_open (state, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_clear_pointer (&store, amgw_store_close);
  rm_rf (tmp);
}

static void
test_wal (Fixture *f, gconstpointer data)
{
  g_autofree char *mode = raw_query_text (f, "PRAGMA journal_mode");
  g_autofree char *version = raw_query_text (f, "PRAGMA user_version");

  g_assert_cmpstr (mode, ==, "wal");
  g_assert_cmpstr (version, ==, "1");
}

static void
test_tokens (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  AmgwTokens tokens = { 0 }, loaded = { 0 };

  /* Nothing stored: FALSE without an error. */
  g_assert_false (amgw_store_load_tokens (f->store, &loaded, &error));
  g_assert_no_error (error);
  g_assert_null (loaded.access_token);

  tokens.access_token = g_strdup ("Atza|access-1");
  tokens.refresh_token = g_strdup ("Atzr|refresh-1");
  tokens.expires_at_ms = G_GINT64_CONSTANT (1795000000123);
  g_assert_true (amgw_store_save_tokens (f->store, &tokens, &error));
  g_assert_no_error (error);

  g_assert_true (amgw_store_load_tokens (f->store, &loaded, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (loaded.access_token, ==, "Atza|access-1");
  g_assert_cmpstr (loaded.refresh_token, ==, "Atzr|refresh-1");
  g_assert_cmpint (loaded.expires_at_ms, ==, G_GINT64_CONSTANT (1795000000123));
  g_assert_false (loaded.unlinked);
  amgw_tokens_clear (&loaded);

  /* Replaced, with NULLs and the unlinked flag. */
  amgw_tokens_clear (&tokens);
  tokens.refresh_token = g_strdup ("Atzr|refresh-2");
  tokens.unlinked = TRUE;
  g_assert_true (amgw_store_save_tokens (f->store, &tokens, &error));
  amgw_tokens_clear (&tokens);

  reopen (f);
  g_assert_true (amgw_store_load_tokens (f->store, &loaded, &error));
  g_assert_no_error (error);
  g_assert_null (loaded.access_token);
  g_assert_cmpstr (loaded.refresh_token, ==, "Atzr|refresh-2");
  g_assert_cmpint (loaded.expires_at_ms, ==, 0);
  g_assert_true (loaded.unlinked);

  amgw_tokens_clear (&loaded);
  g_assert_null (loaded.access_token);
  g_assert_null (loaded.refresh_token);
  g_assert_cmpint (loaded.expires_at_ms, ==, 0);
  g_assert_false (loaded.unlinked);
  /* Idempotent, and NULL-safe. */
  amgw_tokens_clear (&loaded);
  amgw_tokens_clear (NULL);

  /* One row only. */
  {
    g_autofree char *n = raw_query_text (f, "SELECT count(*) FROM tokens");
    g_assert_cmpstr (n, ==, "1");
  }
}

static void
test_sessions (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = NULL;
  AmgwSessionRow a = {
    .session_id = "s-a", .room = "Board", .direction = "to-alexa", .state = "ringing",
    .bridge_protocol = "SIP", .bridge_target = "sip:7001@bridge.example",
    .alexa_party = "amzn1.comms.x", .created_ms = 2000, .answered_ms = 0,
  };
  AmgwSessionRow b = {
    .session_id = "s-b", .room = "Lobby", .direction = "from-alexa", .state = "setup",
    .created_ms = 1000,
  };
  AmgwSessionRow bad = a;
  const AmgwSessionRow *row;

  g_assert_true (amgw_store_put_session (f->store, &a, &error));
  g_assert_no_error (error);
  g_assert_true (amgw_store_put_session (f->store, &b, &error));
  g_assert_no_error (error);

  /* Replace by session_id. */
  a.state = "active";
  a.answered_ms = 2500;
  g_assert_true (amgw_store_put_session (f->store, &a, &error));

  rows = amgw_store_list_sessions (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 2);
  row = g_ptr_array_index (rows, 0);    /* oldest first */
  g_assert_cmpstr (row->session_id, ==, "s-b");
  g_assert_cmpstr (row->direction, ==, "from-alexa");
  g_assert_null (row->bridge_protocol);
  g_assert_null (row->bridge_target);
  g_assert_null (row->alexa_party);
  g_assert_cmpint (row->created_ms, ==, 1000);
  row = g_ptr_array_index (rows, 1);
  g_assert_cmpstr (row->session_id, ==, "s-a");
  g_assert_cmpstr (row->room, ==, "Board");
  g_assert_cmpstr (row->state, ==, "active");
  g_assert_cmpstr (row->bridge_protocol, ==, "SIP");
  g_assert_cmpstr (row->bridge_target, ==, "sip:7001@bridge.example");
  g_assert_cmpstr (row->alexa_party, ==, "amzn1.comms.x");
  g_assert_cmpint (row->answered_ms, ==, 2500);
  g_clear_pointer (&rows, g_ptr_array_unref);

  /* Survives a restart. */
  reopen (f);
  g_assert_true (amgw_store_delete_session (f->store, "s-b", &error));
  g_assert_true (amgw_store_delete_session (f->store, "never-there", &error));
  g_assert_no_error (error);
  rows = amgw_store_list_sessions (f->store, &error);
  g_assert_cmpuint (rows->len, ==, 1);
  g_assert_cmpstr (((AmgwSessionRow *) g_ptr_array_index (rows, 0))->session_id, ==, "s-a");
  g_clear_pointer (&rows, g_ptr_array_unref);

  /* Awkward values are data, not SQL. */
  bad.session_id = "x'); DROP TABLE sessions; --";
  g_assert_true (amgw_store_put_session (f->store, &bad, &error));
  rows = amgw_store_list_sessions (f->store, &error);
  g_assert_cmpuint (rows->len, ==, 2);
  g_clear_pointer (&rows, g_ptr_array_unref);

  /* Refused rows. */
  bad.direction = "sideways";
  g_assert_false (amgw_store_put_session (f->store, &bad, &error));
  g_assert_error (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_SQL);
  g_clear_error (&error);
  bad.direction = "to-alexa";
  bad.session_id = NULL;
  g_assert_false (amgw_store_put_session (f->store, &bad, &error));
  g_assert_error (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_SQL);
  g_clear_error (&error);
}

static AmgwCallRecord
make_record (const char *id, gint64 ended)
{
  AmgwCallRecord rec = {
    .session_id = (char *) id, .room = "Board", .direction = "to-alexa",
    .bridge_protocol = "H323", .bridge_target = "198.51.100.20", .alexa_party = "amzn1.x",
    .started_ms = ended - 60000, .answered_ms = ended - 50000, .ended_ms = ended,
    .duration_ms = 50000, .outcome = "SUCCESS", .reason = "bridge hung up",
  };
  return rec;
}

static void
test_call_records (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (AmgwCallRecord) got = NULL;
  AmgwCallRecord r1 = make_record ("c-1", 100000);
  AmgwCallRecord r2 = make_record ("c-2", 300000);
  AmgwCallRecord r3 = make_record ("c-3", 200000);

  r3.bridge_protocol = NULL;
  r3.bridge_target = NULL;
  r3.alexa_party = NULL;
  r3.reason = NULL;
  r3.answered_ms = 0;
  r3.duration_ms = 0;
  r3.outcome = "SESSION_TIMEOUT";
  r3.direction = "from-alexa";

  g_assert_true (amgw_store_add_call_record (f->store, &r1, &error));
  g_assert_true (amgw_store_add_call_record (f->store, &r2, &error));
  g_assert_true (amgw_store_add_call_record (f->store, &r3, &error));
  g_assert_no_error (error);

  got = amgw_store_get_call_record (f->store, "c-1", &error);
  g_assert_no_error (error);
  g_assert_nonnull (got);
  g_assert_cmpstr (got->session_id, ==, "c-1");
  g_assert_cmpstr (got->room, ==, "Board");
  g_assert_cmpstr (got->direction, ==, "to-alexa");
  g_assert_cmpstr (got->bridge_protocol, ==, "H323");
  g_assert_cmpstr (got->bridge_target, ==, "198.51.100.20");
  g_assert_cmpstr (got->alexa_party, ==, "amzn1.x");
  g_assert_cmpint (got->started_ms, ==, 40000);
  g_assert_cmpint (got->answered_ms, ==, 50000);
  g_assert_cmpint (got->ended_ms, ==, 100000);
  g_assert_cmpint (got->duration_ms, ==, 50000);
  g_assert_cmpstr (got->outcome, ==, "SUCCESS");
  g_assert_cmpstr (got->reason, ==, "bridge hung up");
  g_clear_pointer (&got, amgw_call_record_free);

  /* Absent: NULL without an error. */
  got = amgw_store_get_call_record (f->store, "nope", &error);
  g_assert_no_error (error);
  g_assert_null (got);

  reopen (f);
  records = amgw_store_list_call_records (f->store, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, 3);
  g_assert_cmpstr (((AmgwCallRecord *) g_ptr_array_index (records, 0))->session_id, ==, "c-2");
  g_assert_cmpstr (((AmgwCallRecord *) g_ptr_array_index (records, 1))->session_id, ==, "c-3");
  g_assert_cmpstr (((AmgwCallRecord *) g_ptr_array_index (records, 2))->session_id, ==, "c-1");
  got = g_ptr_array_steal_index (records, 1);
  g_assert_null (got->bridge_protocol);
  g_assert_null (got->reason);
  g_assert_cmpstr (got->outcome, ==, "SESSION_TIMEOUT");
  g_clear_pointer (&got, amgw_call_record_free);
  g_clear_pointer (&records, g_ptr_array_unref);

  records = amgw_store_list_call_records (f->store, 2, &error);
  g_assert_cmpuint (records->len, ==, 2);
  g_clear_pointer (&records, g_ptr_array_unref);
  records = amgw_store_list_call_records (f->store, 0, &error);
  g_assert_cmpuint (records->len, ==, 0);
  g_clear_pointer (&records, g_ptr_array_unref);

  /* The same session again replaces its record. */
  r1.outcome = "DEVICE_BUSY";
  g_assert_true (amgw_store_add_call_record (f->store, &r1, &error));
  got = amgw_store_get_call_record (f->store, "c-1", &error);
  g_assert_cmpstr (got->outcome, ==, "DEVICE_BUSY");
  records = amgw_store_list_call_records (f->store, 10, &error);
  g_assert_cmpuint (records->len, ==, 3);

  r1.outcome = NULL;
  g_assert_false (amgw_store_add_call_record (f->store, &r1, &error));
  g_assert_error (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_SQL);
}

static void
test_newer_schema_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwStore) store = NULL;
  g_autofree char *version = NULL;

  g_clear_pointer (&f->store, amgw_store_close);
  raw_exec (f, "PRAGMA user_version = 2");
  store = amgw_store_open (f->state_dir, &error);
  g_assert_null (store);
  g_assert_error (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_SCHEMA);
  g_assert_nonnull (strstr (error->message, "version 2"));
  /* Left untouched. */
  version = raw_query_text (f, "PRAGMA user_version");
  g_assert_cmpstr (version, ==, "2");
}

static void
test_not_a_database (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwStore) store = NULL;
  g_autofree char *path = db_path (f);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);
  g_autofree char *junk = g_strnfill (8192, 'x');

  g_clear_pointer (&f->store, amgw_store_close);
  g_remove (wal);
  g_remove (shm);
  g_assert_true (g_file_set_contents (path, junk, -1, NULL));
  store = amgw_store_open (f->state_dir, &error);
  g_assert_null (store);
  g_assert_error (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_OPEN);
}

static void
test_state_dir_is_a_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("amgw-store-XXXXXX", &error);
  g_autofree char *file = g_build_filename (tmp, "file", NULL);
  g_autoptr (AmgwStore) store = NULL;

  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  store = amgw_store_open (file, &error);
  g_assert_null (store);
  g_assert_error (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_OPEN);
  rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/store/files", test_files);
  ADD ("/store/wal", test_wal);
  ADD ("/store/tokens", test_tokens);
  ADD ("/store/sessions", test_sessions);
  ADD ("/store/call-records", test_call_records);
  ADD ("/store/newer-schema-refused", test_newer_schema_refused);
  ADD ("/store/not-a-database", test_not_a_database);
#undef ADD
  g_test_add_data_func ("/store/modes-despite-umask/000", GUINT_TO_POINTER (0),
      test_modes_despite_umask);
  g_test_add_data_func ("/store/modes-despite-umask/277", GUINT_TO_POINTER (0277),
      test_modes_despite_umask);
  g_test_add_func ("/store/state-dir-is-a-file", test_state_dir_is_a_file);
  return g_test_run ();
}
