/* amgw — durable state in SQLite (WAL): LWA tokens, active sessions, call records.
 *
 * One AmgwStore per process, used from the control loop only.  The database is
 * STATE_DIR/amgw.db, created with mode 0600 in a 0700 folder because it holds
 * tokens.  Writes are small and synchronous (WAL, synchronous=NORMAL).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AMGW_STORE_ERROR (amgw_store_error_quark ())
GQuark amgw_store_error_quark (void);

typedef enum {
  AMGW_STORE_ERROR_OPEN,      /* cannot create the folder or open the file */
  AMGW_STORE_ERROR_SCHEMA,    /* a newer or broken schema */
  AMGW_STORE_ERROR_SQL,       /* a statement failed */
} AmgwStoreError;

typedef struct _AmgwStore AmgwStore;

/* Opens (creating if needed) @state_dir/amgw.db.  (transfer full) */
AmgwStore *amgw_store_open (const char *state_dir, GError **error);
void amgw_store_close (AmgwStore *store);
/* (transfer none) */
const char *amgw_store_get_path (AmgwStore *store);

/* ---- LWA tokens (one linked account per gateway) ---- */
typedef struct {
  char *access_token;     /* (nullable) secret */
  char *refresh_token;    /* (nullable) secret */
  gint64 expires_at_ms;   /* wall clock, ms since the epoch; 0 = unknown */
  gboolean unlinked;      /* invalid_grant seen: the link is gone */
} AmgwTokens;

/* Returns FALSE without an error when nothing is stored. */
gboolean amgw_store_load_tokens (AmgwStore *store, AmgwTokens *out, GError **error);
gboolean amgw_store_save_tokens (AmgwStore *store, const AmgwTokens *tokens, GError **error);
/* Frees the strings after overwriting them with zeros. */
void amgw_tokens_clear (AmgwTokens *tokens);

/* ---- active sessions: what must be ended after a crash ---- */
typedef struct {
  char *session_id;
  char *room;             /* room NAME */
  char *direction;        /* "to-alexa" (InitiateInboundCall) or "from-alexa" (InitiateOutboundCall) */
  char *state;            /* call state name, for operators */
  char *bridge_protocol;  /* (nullable) SIP, SIPS, H323 */
  char *bridge_target;    /* (nullable) what was dialled: never a pin */
  char *alexa_party;      /* (nullable) the Alexa address */
  gint64 created_ms;      /* wall clock */
  gint64 answered_ms;     /* wall clock, 0 = not answered */
} AmgwSessionRow;

void amgw_session_row_free (AmgwSessionRow *row);
/* Inserts or replaces by session_id. */
gboolean amgw_store_put_session (AmgwStore *store, const AmgwSessionRow *row, GError **error);
gboolean amgw_store_delete_session (AmgwStore *store, const char *session_id, GError **error);
/* (transfer full) (element-type AmgwSessionRow) oldest first */
GPtrArray *amgw_store_list_sessions (AmgwStore *store, GError **error);

/* ---- call records: one per ended call ---- */
typedef struct {
  char *session_id;
  char *room;
  char *direction;
  char *bridge_protocol;  /* (nullable) */
  char *bridge_target;    /* (nullable) */
  char *alexa_party;      /* (nullable) */
  gint64 started_ms;      /* wall clock */
  gint64 answered_ms;     /* 0 = never answered */
  gint64 ended_ms;
  gint64 duration_ms;     /* ended - answered, 0 if never answered */
  char *outcome;          /* callResult code: SUCCESS, DEVICE_BUSY, SESSION_TIMEOUT, UNAUTHORIZED, INTERNAL_ERROR */
  char *reason;           /* (nullable) human-readable */
} AmgwCallRecord;

void amgw_call_record_free (AmgwCallRecord *rec);
gboolean amgw_store_add_call_record (AmgwStore *store, const AmgwCallRecord *rec, GError **error);
/* (transfer full) (nullable): NULL without error when absent */
AmgwCallRecord *amgw_store_get_call_record (AmgwStore *store, const char *session_id, GError **error);
/* (transfer full) (element-type AmgwCallRecord) newest first, at most @limit */
GPtrArray *amgw_store_list_call_records (AmgwStore *store, guint limit, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwStore, amgw_store_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwSessionRow, amgw_session_row_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwCallRecord, amgw_call_record_free)

G_END_DECLS
