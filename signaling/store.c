/* amgw — durable state in SQLite: LWA tokens, active sessions, call records.
 *
 * Every statement is prepared once at open and kept in AmgwStore; values are
 * bound, never formatted into SQL.  Secrets are bound SQLITE_STATIC (no copy
 * inside SQLite) and the bindings cleared right after the step.
 */
#include "amgw/store.h"
#include "amgw/debug.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GST_CAT_DEFAULT amgw_store_debug

G_DEFINE_QUARK (amgw-store-error-quark, amgw_store_error)

#define STORE_FILE_NAME "amgw.db"
#define STORE_SCHEMA_VERSION 1
#define STORE_BUSY_TIMEOUT_MS 5000
/* Call records kept; older ones are dropped as new ones arrive. */
#define STORE_MAX_CALL_RECORDS 100000

/* The schema of version 1, applied in one transaction to an empty database. */
static const char schema_v1[] =
  "CREATE TABLE tokens ("
  "  id INTEGER PRIMARY KEY CHECK (id = 1),"
  "  access_token TEXT,"
  "  refresh_token TEXT,"
  "  expires_at_ms INTEGER NOT NULL DEFAULT 0,"
  "  unlinked INTEGER NOT NULL DEFAULT 0,"
  "  updated_ms INTEGER NOT NULL);"
  "CREATE TABLE sessions ("
  "  session_id TEXT PRIMARY KEY NOT NULL,"
  "  room TEXT NOT NULL,"
  "  direction TEXT NOT NULL,"
  "  state TEXT NOT NULL,"
  "  bridge_protocol TEXT,"
  "  bridge_target TEXT,"
  "  alexa_party TEXT,"
  "  created_ms INTEGER NOT NULL,"
  "  answered_ms INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX sessions_created ON sessions (created_ms);"
  "CREATE TABLE call_records ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  session_id TEXT NOT NULL UNIQUE,"
  "  room TEXT NOT NULL,"
  "  direction TEXT NOT NULL,"
  "  bridge_protocol TEXT,"
  "  bridge_target TEXT,"
  "  alexa_party TEXT,"
  "  started_ms INTEGER NOT NULL,"
  "  answered_ms INTEGER NOT NULL DEFAULT 0,"
  "  ended_ms INTEGER NOT NULL,"
  "  duration_ms INTEGER NOT NULL DEFAULT 0,"
  "  outcome TEXT NOT NULL,"
  "  reason TEXT);"
  "CREATE INDEX call_records_ended ON call_records (ended_ms);";

struct _AmgwStore {
  sqlite3 *db;
  char *path;

  sqlite3_stmt *load_tokens;
  sqlite3_stmt *save_tokens;
  sqlite3_stmt *put_session;
  sqlite3_stmt *delete_session;
  sqlite3_stmt *list_sessions;
  sqlite3_stmt *add_call_record;
  sqlite3_stmt *trim_call_records;
  sqlite3_stmt *get_call_record;
  sqlite3_stmt *list_call_records;
};

/* The cached statements and their text, for prepare and finalize. */
#define STORE_STATEMENTS(X) \
  X (load_tokens, \
      "SELECT access_token, refresh_token, expires_at_ms, unlinked FROM tokens WHERE id = 1") \
  X (save_tokens, \
      "INSERT INTO tokens (id, access_token, refresh_token, expires_at_ms, unlinked, updated_ms) " \
      "VALUES (1, ?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET " \
      "access_token = excluded.access_token, refresh_token = excluded.refresh_token, " \
      "expires_at_ms = excluded.expires_at_ms, unlinked = excluded.unlinked, " \
      "updated_ms = excluded.updated_ms") \
  X (put_session, \
      "INSERT INTO sessions (session_id, room, direction, state, bridge_protocol, " \
      "bridge_target, alexa_party, created_ms, answered_ms) " \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (session_id) DO UPDATE SET " \
      "room = excluded.room, direction = excluded.direction, state = excluded.state, " \
      "bridge_protocol = excluded.bridge_protocol, bridge_target = excluded.bridge_target, " \
      "alexa_party = excluded.alexa_party, created_ms = excluded.created_ms, " \
      "answered_ms = excluded.answered_ms") \
  X (delete_session, "DELETE FROM sessions WHERE session_id = ?1") \
  X (list_sessions, \
      "SELECT session_id, room, direction, state, bridge_protocol, bridge_target, alexa_party, " \
      "created_ms, answered_ms FROM sessions ORDER BY created_ms, rowid") \
  X (add_call_record, \
      "INSERT INTO call_records (session_id, room, direction, bridge_protocol, bridge_target, " \
      "alexa_party, started_ms, answered_ms, ended_ms, duration_ms, outcome, reason) " \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) " \
      "ON CONFLICT (session_id) DO UPDATE SET room = excluded.room, " \
      "direction = excluded.direction, bridge_protocol = excluded.bridge_protocol, " \
      "bridge_target = excluded.bridge_target, alexa_party = excluded.alexa_party, " \
      "started_ms = excluded.started_ms, answered_ms = excluded.answered_ms, " \
      "ended_ms = excluded.ended_ms, duration_ms = excluded.duration_ms, " \
      "outcome = excluded.outcome, reason = excluded.reason") \
  X (trim_call_records, \
      "DELETE FROM call_records WHERE id <= (SELECT id FROM call_records " \
      "ORDER BY id DESC LIMIT 1 OFFSET ?1)") \
  X (get_call_record, \
      "SELECT session_id, room, direction, bridge_protocol, bridge_target, alexa_party, " \
      "started_ms, answered_ms, ended_ms, duration_ms, outcome, reason " \
      "FROM call_records WHERE session_id = ?1") \
  X (list_call_records, \
      "SELECT session_id, room, direction, bridge_protocol, bridge_target, alexa_party, " \
      "started_ms, answered_ms, ended_ms, duration_ms, outcome, reason " \
      "FROM call_records ORDER BY ended_ms DESC, id DESC LIMIT ?1")

static gboolean
set_sql_error (AmgwStore *store, GError **error, const char *what)
{
  g_set_error (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_SQL, "%s: %s (%d)", what,
      sqlite3_errmsg (store->db), sqlite3_extended_errcode (store->db));
  GST_WARNING ("%s: %s: %s", store->path, what, sqlite3_errmsg (store->db));
  return FALSE;
}

/* Resets a cached statement for its next use and drops its bindings, which
 * may point at the caller's (secret) strings. */
static void
stmt_done (sqlite3_stmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

static gboolean
exec_sql (AmgwStore *store, const char *sql, GError **error)
{
  if (sqlite3_exec (store->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return set_sql_error (store, error, sql);
  return TRUE;
}

/* A PRAGMA that answers one text row; returns it (transfer full). */
static char *
pragma_text (AmgwStore *store, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  char *value = NULL;
  int rc;

  if (sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
    set_sql_error (store, error, sql);
    return NULL;
  }
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  else if (rc != SQLITE_DONE)
    set_sql_error (store, error, sql);
  else
    value = g_strdup ("");
  sqlite3_finalize (stmt);
  return value;
}

static gboolean
get_user_version (AmgwStore *store, int *version, GError **error)
{
  g_autofree char *text = pragma_text (store, "PRAGMA user_version", error);

  if (text == NULL)
    return FALSE;
  *version = atoi (text);
  return TRUE;
}

static gboolean
migrate (AmgwStore *store, GError **error)
{
  g_autofree char *set_version = NULL;
  int version;

  if (!exec_sql (store, "BEGIN IMMEDIATE", error))
    return FALSE;
  /* Read inside the write transaction: two processes cannot both migrate. */
  if (!get_user_version (store, &version, error))
    goto rollback;
  if (version > STORE_SCHEMA_VERSION)
    goto too_new;
  if (version < 0)
    goto broken;
  if (version == 0) {
    if (!exec_sql (store, schema_v1, error))
      goto rollback;
    set_version = g_strdup_printf ("PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
    if (!exec_sql (store, set_version, error))
      goto rollback;
    GST_INFO ("%s: created schema version %d", store->path, STORE_SCHEMA_VERSION);
  }
  /* Versions 2 and later add their steps here, each from the one before. */
  return exec_sql (store, "COMMIT", error);

  /* ERRORS */
too_new:
  g_set_error (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_SCHEMA,
      "%s has schema version %d, newer than this amgw's %d: refusing to touch it",
      store->path, version, STORE_SCHEMA_VERSION);
  GST_ERROR ("%s: schema version %d is newer than %d", store->path, version,
      STORE_SCHEMA_VERSION);
  goto rollback;
broken:
  g_set_error (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_SCHEMA,
      "%s has an invalid schema version %d", store->path, version);
  goto rollback;
rollback:
  sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

static gboolean
prepare_statements (AmgwStore *store, GError **error)
{
#define PREPARE(name, sql) \
  if (sqlite3_prepare_v3 (store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &store->name, NULL) \
      != SQLITE_OK) \
    return set_sql_error (store, error, "prepare " #name);
  STORE_STATEMENTS (PREPARE)
#undef PREPARE
  return TRUE;
}

/* Creates @path with mode 0600 when missing and narrows an existing file to
 * 0600, before SQLite opens it (its -wal and -shm files take the same mode). */
static gboolean
create_private_file (const char *path, GError **error)
{
  int fd, saved_errno;

  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
  if (fd < 0)
    goto failed;
  if (fchmod (fd, 0600) < 0)
    goto failed_close;
  close (fd);
  return TRUE;

  /* ERRORS */
failed_close:
  saved_errno = errno;
  close (fd);
  errno = saved_errno;
  goto failed;
failed:
  saved_errno = errno;
  g_set_error (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_OPEN, "cannot create %s: %s", path,
      g_strerror (saved_errno));
  return FALSE;
}

AmgwStore *
amgw_store_open (const char *state_dir, GError **error)
{
  g_autoptr (AmgwStore) store = NULL;
  g_autofree char *journal_mode = NULL;
  GStatBuf st;
  gboolean created;
  int rc, saved_errno;

  g_return_val_if_fail (state_dir != NULL && *state_dir != '\0', NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  amgw_debug_init ();

  store = g_new0 (AmgwStore, 1);
  store->path = g_build_filename (state_dir, STORE_FILE_NAME, NULL);

  created = !g_file_test (state_dir, G_FILE_TEST_EXISTS);
  if (g_mkdir_with_parents (state_dir, 0700) < 0)
    goto mkdir_failed;
  /* mkdir's mode goes through the umask; ours must be exactly 0700. */
  if (created && g_chmod (state_dir, 0700) < 0)
    goto mkdir_failed;
  if (g_stat (state_dir, &st) == 0 && (st.st_mode & 077) != 0)
    GST_WARNING ("%s is accessible to other users (mode %03o); amgw.db holds tokens", state_dir,
        (unsigned) (st.st_mode & 0777));

  if (!create_private_file (store->path, error))
    return NULL;

  rc = sqlite3_open_v2 (store->path, &store->db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
  if (rc != SQLITE_OK)
    goto open_failed;

  sqlite3_busy_timeout (store->db, STORE_BUSY_TIMEOUT_MS);
  journal_mode = pragma_text (store, "PRAGMA journal_mode = WAL", error);
  if (journal_mode == NULL)
    goto not_a_database;
  if (g_ascii_strcasecmp (journal_mode, "wal") != 0)
    goto no_wal;
  if (!exec_sql (store, "PRAGMA synchronous = NORMAL", error)
      || !exec_sql (store, "PRAGMA foreign_keys = ON", error)
      || !exec_sql (store, "PRAGMA secure_delete = ON", error))
    return NULL;
  if (!migrate (store, error))
    return NULL;
  if (!prepare_statements (store, error))
    return NULL;

  GST_INFO ("opened %s (schema version %d)", store->path, STORE_SCHEMA_VERSION);
  return g_steal_pointer (&store);

  /* ERRORS */
mkdir_failed:
  saved_errno = errno;
  g_set_error (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_OPEN, "cannot create %s: %s",
      state_dir, g_strerror (saved_errno));
  GST_ERROR ("cannot create %s: %s", state_dir, g_strerror (saved_errno));
  return NULL;
open_failed:
  g_set_error (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_OPEN, "cannot open %s: %s",
      store->path, store->db != NULL ? sqlite3_errmsg (store->db) : sqlite3_errstr (rc));
  GST_ERROR ("cannot open %s: %s", store->path, sqlite3_errstr (rc));
  return NULL;
not_a_database:
  /* pragma_text set an SQL error; an unreadable file is an open error. */
  g_prefix_error (error, "%s: ", store->path);
  if (error != NULL && *error != NULL)
    (*error)->code = AMGW_STORE_ERROR_OPEN;
  return NULL;
no_wal:
  g_set_error (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_OPEN,
      "%s: cannot switch to WAL mode (journal mode is %s)", store->path, journal_mode);
  return NULL;
}

void
amgw_store_close (AmgwStore *store)
{
  if (store == NULL)
    return;
#define FINALIZE(name, sql) g_clear_pointer (&store->name, sqlite3_finalize);
  STORE_STATEMENTS (FINALIZE)
#undef FINALIZE
  if (store->db != NULL) {
    if (sqlite3_close (store->db) != SQLITE_OK)
      GST_WARNING ("%s: close: %s", store->path, sqlite3_errmsg (store->db));
    else
      GST_DEBUG ("closed %s", store->path);
  }
  g_free (store->path);
  g_free (store);
}

const char *
amgw_store_get_path (AmgwStore *store)
{
  g_return_val_if_fail (store != NULL, NULL);
  return store->path;
}

/* ---- helpers for rows ---- */

static void
bind_text (sqlite3_stmt *stmt, int index, const char *value)
{
  if (value != NULL)
    sqlite3_bind_text (stmt, index, value, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, index);
}

static char *
column_text (sqlite3_stmt *stmt, int index)
{
  if (sqlite3_column_type (stmt, index) == SQLITE_NULL)
    return NULL;
  return g_strdup ((const char *) sqlite3_column_text (stmt, index));
}

static gboolean
step_done (AmgwStore *store, sqlite3_stmt *stmt, const char *what, GError **error)
{
  int rc = sqlite3_step (stmt);
  gboolean ok = rc == SQLITE_DONE;

  if (!ok)
    set_sql_error (store, error, what);
  stmt_done (stmt);
  return ok;
}

static gboolean
direction_is_valid (const char *direction)
{
  return g_strcmp0 (direction, "to-alexa") == 0 || g_strcmp0 (direction, "from-alexa") == 0;
}

/* ---- tokens ---- */

gboolean
amgw_store_load_tokens (AmgwStore *store, AmgwTokens *out, GError **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  memset (out, 0, sizeof *out);
  stmt = store->load_tokens;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE) {
    stmt_done (stmt);
    return FALSE;
  }
  if (rc != SQLITE_ROW) {
    set_sql_error (store, error, "load tokens");
    stmt_done (stmt);
    return FALSE;
  }
  out->access_token = column_text (stmt, 0);
  out->refresh_token = column_text (stmt, 1);
  out->expires_at_ms = sqlite3_column_int64 (stmt, 2);
  out->unlinked = sqlite3_column_int (stmt, 3) != 0;
  stmt_done (stmt);
  GST_DEBUG ("loaded tokens: access %s, refresh %s, expires at %" G_GINT64_FORMAT "%s",
      out->access_token ? "present" : "absent", out->refresh_token ? "present" : "absent",
      out->expires_at_ms, out->unlinked ? ", unlinked" : "");
  return TRUE;
}

gboolean
amgw_store_save_tokens (AmgwStore *store, const AmgwTokens *tokens, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (tokens != NULL, FALSE);

  stmt = store->save_tokens;
  bind_text (stmt, 1, tokens->access_token);
  bind_text (stmt, 2, tokens->refresh_token);
  sqlite3_bind_int64 (stmt, 3, tokens->expires_at_ms);
  sqlite3_bind_int (stmt, 4, tokens->unlinked ? 1 : 0);
  sqlite3_bind_int64 (stmt, 5, g_get_real_time () / 1000);
  if (!step_done (store, stmt, "save tokens", error))
    return FALSE;
  GST_DEBUG ("saved tokens (expires at %" G_GINT64_FORMAT "%s)", tokens->expires_at_ms,
      tokens->unlinked ? ", unlinked" : "");
  return TRUE;
}

static void
wipe_free (char **s)
{
  if (*s == NULL)
    return;
  explicit_bzero (*s, strlen (*s));
  g_clear_pointer (s, g_free);
}

void
amgw_tokens_clear (AmgwTokens *tokens)
{
  if (tokens == NULL)
    return;
  wipe_free (&tokens->access_token);
  wipe_free (&tokens->refresh_token);
  tokens->expires_at_ms = 0;
  tokens->unlinked = FALSE;
}

/* ---- sessions ---- */

void
amgw_session_row_free (AmgwSessionRow *row)
{
  if (row == NULL)
    return;
  g_free (row->session_id);
  g_free (row->room);
  g_free (row->direction);
  g_free (row->state);
  g_free (row->bridge_protocol);
  g_free (row->bridge_target);
  g_free (row->alexa_party);
  g_free (row);
}

gboolean
amgw_store_put_session (AmgwStore *store, const AmgwSessionRow *row, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (row != NULL, FALSE);

  if (row->session_id == NULL || row->room == NULL || row->state == NULL)
    goto incomplete;
  if (!direction_is_valid (row->direction))
    goto bad_direction;

  stmt = store->put_session;
  bind_text (stmt, 1, row->session_id);
  bind_text (stmt, 2, row->room);
  bind_text (stmt, 3, row->direction);
  bind_text (stmt, 4, row->state);
  bind_text (stmt, 5, row->bridge_protocol);
  bind_text (stmt, 6, row->bridge_target);
  bind_text (stmt, 7, row->alexa_party);
  sqlite3_bind_int64 (stmt, 8, row->created_ms);
  sqlite3_bind_int64 (stmt, 9, row->answered_ms);
  if (!step_done (store, stmt, "put session", error))
    return FALSE;
  GST_DEBUG ("[%s] session stored: %s", row->session_id, row->state);
  return TRUE;

  /* ERRORS */
incomplete:
  g_set_error_literal (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_SQL,
      "session row without session_id, room or state");
  return FALSE;
bad_direction:
  g_set_error_literal (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_SQL,
      "session direction must be to-alexa or from-alexa");
  return FALSE;
}

gboolean
amgw_store_delete_session (AmgwStore *store, const char *session_id, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (session_id != NULL, FALSE);

  stmt = store->delete_session;
  bind_text (stmt, 1, session_id);
  if (!step_done (store, stmt, "delete session", error))
    return FALSE;
  GST_DEBUG ("[%s] session deleted", session_id);
  return TRUE;
}

GPtrArray *
amgw_store_list_sessions (AmgwStore *store, GError **error)
{
  g_autoptr (GPtrArray) rows = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (store != NULL, NULL);

  rows = g_ptr_array_new_with_free_func ((GDestroyNotify) amgw_session_row_free);
  stmt = store->list_sessions;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    AmgwSessionRow *row = g_new0 (AmgwSessionRow, 1);

    row->session_id = column_text (stmt, 0);
    row->room = column_text (stmt, 1);
    row->direction = column_text (stmt, 2);
    row->state = column_text (stmt, 3);
    row->bridge_protocol = column_text (stmt, 4);
    row->bridge_target = column_text (stmt, 5);
    row->alexa_party = column_text (stmt, 6);
    row->created_ms = sqlite3_column_int64 (stmt, 7);
    row->answered_ms = sqlite3_column_int64 (stmt, 8);
    g_ptr_array_add (rows, row);
  }
  if (rc != SQLITE_DONE) {
    set_sql_error (store, error, "list sessions");
    stmt_done (stmt);
    return NULL;
  }
  stmt_done (stmt);
  return g_steal_pointer (&rows);
}

/* ---- call records ---- */

void
amgw_call_record_free (AmgwCallRecord *rec)
{
  if (rec == NULL)
    return;
  g_free (rec->session_id);
  g_free (rec->room);
  g_free (rec->direction);
  g_free (rec->bridge_protocol);
  g_free (rec->bridge_target);
  g_free (rec->alexa_party);
  g_free (rec->outcome);
  g_free (rec->reason);
  g_free (rec);
}

gboolean
amgw_store_add_call_record (AmgwStore *store, const AmgwCallRecord *rec, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (rec != NULL, FALSE);

  if (rec->session_id == NULL || rec->room == NULL || rec->outcome == NULL)
    goto incomplete;
  if (!direction_is_valid (rec->direction))
    goto bad_direction;

  stmt = store->add_call_record;
  bind_text (stmt, 1, rec->session_id);
  bind_text (stmt, 2, rec->room);
  bind_text (stmt, 3, rec->direction);
  bind_text (stmt, 4, rec->bridge_protocol);
  bind_text (stmt, 5, rec->bridge_target);
  bind_text (stmt, 6, rec->alexa_party);
  sqlite3_bind_int64 (stmt, 7, rec->started_ms);
  sqlite3_bind_int64 (stmt, 8, rec->answered_ms);
  sqlite3_bind_int64 (stmt, 9, rec->ended_ms);
  sqlite3_bind_int64 (stmt, 10, rec->duration_ms);
  bind_text (stmt, 11, rec->outcome);
  bind_text (stmt, 12, rec->reason);
  if (!step_done (store, stmt, "add call record", error))
    return FALSE;

  /* Keep the table bounded; a failure here loses nothing that matters. */
  sqlite3_bind_int (store->trim_call_records, 1, STORE_MAX_CALL_RECORDS);
  if (!step_done (store, store->trim_call_records, "trim call records", NULL))
    GST_WARNING ("%s: cannot trim call records", store->path);

  GST_DEBUG ("[%s] call record: %s", rec->session_id, rec->outcome);
  return TRUE;

  /* ERRORS */
incomplete:
  g_set_error_literal (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_SQL,
      "call record without session_id, room or outcome");
  return FALSE;
bad_direction:
  g_set_error_literal (error, AMGW_STORE_ERROR, AMGW_STORE_ERROR_SQL,
      "call record direction must be to-alexa or from-alexa");
  return FALSE;
}

static AmgwCallRecord *
call_record_from_row (sqlite3_stmt *stmt)
{
  AmgwCallRecord *rec = g_new0 (AmgwCallRecord, 1);

  rec->session_id = column_text (stmt, 0);
  rec->room = column_text (stmt, 1);
  rec->direction = column_text (stmt, 2);
  rec->bridge_protocol = column_text (stmt, 3);
  rec->bridge_target = column_text (stmt, 4);
  rec->alexa_party = column_text (stmt, 5);
  rec->started_ms = sqlite3_column_int64 (stmt, 6);
  rec->answered_ms = sqlite3_column_int64 (stmt, 7);
  rec->ended_ms = sqlite3_column_int64 (stmt, 8);
  rec->duration_ms = sqlite3_column_int64 (stmt, 9);
  rec->outcome = column_text (stmt, 10);
  rec->reason = column_text (stmt, 11);
  return rec;
}

AmgwCallRecord *
amgw_store_get_call_record (AmgwStore *store, const char *session_id, GError **error)
{
  sqlite3_stmt *stmt;
  AmgwCallRecord *rec = NULL;
  int rc;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (session_id != NULL, NULL);

  stmt = store->get_call_record;
  bind_text (stmt, 1, session_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    rec = call_record_from_row (stmt);
  else if (rc != SQLITE_DONE)
    set_sql_error (store, error, "get call record");
  stmt_done (stmt);
  return rec;
}

GPtrArray *
amgw_store_list_call_records (AmgwStore *store, guint limit, GError **error)
{
  g_autoptr (GPtrArray) records = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (store != NULL, NULL);

  records = g_ptr_array_new_with_free_func ((GDestroyNotify) amgw_call_record_free);
  stmt = store->list_call_records;
  sqlite3_bind_int64 (stmt, 1, limit);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (records, call_record_from_row (stmt));
  if (rc != SQLITE_DONE) {
    set_sql_error (store, error, "list call records");
    stmt_done (stmt);
    return NULL;
  }
  stmt_done (stmt);
  return g_steal_pointer (&records);
}
