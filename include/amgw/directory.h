/* amgw — the meeting directory: calendarEventId -> meeting.
 *
 * JoinScheduledMeeting resolves its calendarEventId here, and
 * Alexa.Calendar.GetCurrentMeeting asks for the meeting a room has now.  The
 * directory is a file named by [meetings] directory in the configuration,
 * re-read when it changes (a stat at most once a second), so operators can
 * edit it live; an edit with any problem is not taken: the previous content
 * stays, and the problems are logged as warnings (GST_DEBUG=amgw-directory:2).
 *
 * File format: an INI file read with GLib's GKeyFile, checked like the
 * configuration (every problem reported as "FILE:LINE: [group] key: message";
 * unknown groups and keys, duplicate groups and keys are problems).  One
 * group per meeting:
 *
 *   [meeting CALENDAR_EVENT_ID]
 *   room = Board Room          # optional: a room NAME or endpoint-id; not set = any room
 *   organizer = Ada Lovelace   # optional: GetCurrentMeeting's organizerName
 *   start = 2026-11-22T09:00:00Z        # required: ISO 8601 with an offset (Z or +01:00)
 *   end = 2026-11-22T10:00:00+00:00     # required: after start; the meeting is [start, end)
 *   endpoint = sip:7001@bridge.example  # required: what to dial on the bridge
 *   protocol = SIP             # SIP (default), SIPS or H323; any case; stored upper case
 *   id = 7001                  # optional: the bridge's meeting id
 *   pin = 1234#                # optional: digits, '*' and '#' (secret: never logged)
 *   provider = Example Bridge  # optional: for operators
 *
 * CALENDAR_EVENT_ID: 1 to 256 characters, visible ASCII except [ ] \ and ".
 * Values: at most 512 characters (room, organizer 256; id, provider 128;
 * pin 32), no control characters.  At most AMGW_MAX_MEETINGS meetings and
 * AMGW_MAX_DIRECTORY_BYTES bytes.  Lines starting with '#' are comments.
 *
 * Used from the control loop only.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AMGW_DIRECTORY_ERROR (amgw_directory_error_quark ())
GQuark amgw_directory_error_quark (void);

typedef enum {
  AMGW_DIRECTORY_ERROR_IO,       /* the file cannot be read */
  AMGW_DIRECTORY_ERROR_TOO_BIG,  /* over AMGW_MAX_DIRECTORY_BYTES */
  AMGW_DIRECTORY_ERROR_INVALID,  /* one or more problems; see @problems */
} AmgwDirectoryError;

#define AMGW_MAX_DIRECTORY_BYTES (4 * 1024 * 1024)
#define AMGW_MAX_MEETINGS 10000
#define AMGW_MAX_CALENDAR_EVENT_ID_CHARS 256

typedef struct {
  char *calendar_event_id;
  char *room;        /* (nullable) a room NAME or endpoint-id; NULL = any room */
  char *organizer;   /* (nullable) */
  char *id;          /* (nullable) the bridge's meeting id */
  char *pin;         /* (nullable) secret */
  char *endpoint;    /* what to dial */
  char *protocol;    /* "SIP", "SIPS" or "H323" */
  char *provider;    /* (nullable) */
  gint64 start_ms;   /* wall clock, ms since the epoch */
  gint64 end_ms;     /* > start_ms */
} AmgwMeeting;

typedef struct _AmgwDirectory AmgwDirectory;

/* A directory backed by @path (nullable: an empty directory that never
 * changes).  Loads the file at once; when that fails the directory starts
 * empty, the problems are logged, and it is tried again when the file
 * changes.  Call amgw_directory_reload() to get the problems.  (transfer full) */
AmgwDirectory *amgw_directory_new (const char *path);

/* Reads the file again now, changed or not.  On failure keeps the previous
 * content, appends every problem to @problems (strings, transfer full; make
 * the array with g_free as its free function) and sets @error.  TRUE
 * without doing anything for a directory without a file. */
gboolean amgw_directory_reload (AmgwDirectory *dir, GPtrArray *problems, GError **error);

/* Parses text in memory (@len -1: NUL-terminated); @name stands for the file
 * in problems.  The result has no file.  (transfer full) (nullable) */
AmgwDirectory *amgw_directory_load_data (const char *data, gssize len, const char *name,
    GPtrArray *problems, GError **error);

/* The meeting with this calendarEventId.  Re-reads the file first if it
 * changed.  The pointer is valid until the next call on @dir (which may
 * re-read the file): use amgw_meeting_copy() to keep it.
 * (transfer none) (nullable) */
const AmgwMeeting *amgw_directory_lookup (AmgwDirectory *dir, const char *calendar_event_id);

/* The meeting of this room (matched by @room_name or @endpoint_id, either
 * nullable; meetings without a room match every room) whose [start, end)
 * contains @now_ms; of several, the one that started last (the first in the
 * file when they started together).  Same lifetime as amgw_directory_lookup.
 * (transfer none) (nullable) */
const AmgwMeeting *amgw_directory_current (AmgwDirectory *dir, const char *room_name,
    const char *endpoint_id, gint64 now_ms);

/* The number of meetings (after re-reading a changed file). */
guint amgw_directory_size (AmgwDirectory *dir);

/* How often lookups may stat the file; default 1000 ms, 0 = at every lookup
 * (for tests). */
void amgw_directory_set_check_interval (AmgwDirectory *dir, guint interval_ms);

/* (transfer none) (nullable) */
const char *amgw_directory_get_path (AmgwDirectory *dir);

void amgw_directory_free (AmgwDirectory *dir);

/* (transfer full) */
AmgwMeeting *amgw_meeting_copy (const AmgwMeeting *meeting);
/* Frees @meeting, wiping its pin first. */
void amgw_meeting_free (AmgwMeeting *meeting);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwDirectory, amgw_directory_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwMeeting, amgw_meeting_free)

G_END_DECLS
