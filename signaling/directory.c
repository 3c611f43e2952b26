/* amgw — the meeting directory (see directory.h for the file format).
 *
 * The text is checked with AmgwIniCheck (config.h), so problems name their
 * line.  A successful load replaces the whole content at once; a failed one
 * leaves it as it was.  Pins are secrets: no log line or problem shows one,
 * and freed pins are wiped.
 */
#include "amgw/directory.h"
#include "amgw/config.h"
#include "amgw/debug.h"
#include "amgw/util.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define GST_CAT_DEFAULT amgw_directory_debug

G_DEFINE_QUARK (amgw-directory-error-quark, amgw_directory_error)

#define DIRECTORY_DEFAULT_CHECK_INTERVAL_MS 1000
#define DIRECTORY_GROUP_PREFIX "meeting "
#define DIRECTORY_MAX_TIME_CHARS 64
#define DIRECTORY_MAX_ROOM_CHARS 256
#define DIRECTORY_MAX_ORGANIZER_CHARS 256
#define DIRECTORY_MAX_ENDPOINT_CHARS 512
#define DIRECTORY_MAX_ID_CHARS 128
#define DIRECTORY_MAX_PROVIDER_CHARS 128
#define DIRECTORY_MAX_PIN_CHARS 32

static const char *const meeting_keys[] = {
  "room", "organizer", "start", "end", "id", "pin", "endpoint", "protocol", "provider", NULL
};

typedef struct {
  GPtrArray *meetings;   /* AmgwMeeting*, file order */
  GHashTable *by_id;     /* calendar_event_id -> AmgwMeeting* (transfer none) */
} Content;

/* What stat says about the file; a change of any field means "re-read". */
typedef struct {
  int stat_errno;        /* 0 when stat worked */
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  struct timespec ctime;
} FileStamp;

struct _AmgwDirectory {
  char *path;            /* (nullable) */
  Content *content;
  FileStamp stamp;       /* of the last load attempt */
  gint64 next_check_ms;  /* monotonic */
  guint check_interval_ms;
};

/* ---- meetings ---- */

static void
wipe_free (char *s)
{
  if (s == NULL)
    return;
  explicit_bzero (s, strlen (s));
  g_free (s);
}

void
amgw_meeting_free (AmgwMeeting *meeting)
{
  if (meeting == NULL)
    return;
  g_free (meeting->calendar_event_id);
  g_free (meeting->room);
  g_free (meeting->organizer);
  g_free (meeting->id);
  wipe_free (meeting->pin);
  g_free (meeting->endpoint);
  g_free (meeting->protocol);
  g_free (meeting->provider);
  g_free (meeting);
}

AmgwMeeting *
amgw_meeting_copy (const AmgwMeeting *meeting)
{
  AmgwMeeting *copy;

  g_return_val_if_fail (meeting != NULL, NULL);

  copy = g_new0 (AmgwMeeting, 1);
  copy->calendar_event_id = g_strdup (meeting->calendar_event_id);
  copy->room = g_strdup (meeting->room);
  copy->organizer = g_strdup (meeting->organizer);
  copy->id = g_strdup (meeting->id);
  copy->pin = g_strdup (meeting->pin);
  copy->endpoint = g_strdup (meeting->endpoint);
  copy->protocol = g_strdup (meeting->protocol);
  copy->provider = g_strdup (meeting->provider);
  copy->start_ms = meeting->start_ms;
  copy->end_ms = meeting->end_ms;
  return copy;
}

static Content *
content_new (void)
{
  Content *content = g_new0 (Content, 1);

  content->meetings = g_ptr_array_new_with_free_func ((GDestroyNotify) amgw_meeting_free);
  content->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  return content;
}

static void
content_free (Content *content)
{
  if (content == NULL)
    return;
  g_hash_table_unref (content->by_id);
  g_ptr_array_unref (content->meetings);
  g_free (content);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Content, content_free)

/* ---- parsing ---- */

static gboolean
calendar_event_id_is_valid (const char *s)
{
  gsize n = strlen (s);

  if (n == 0 || n > AMGW_MAX_CALENDAR_EVENT_ID_CHARS)
    return FALSE;
  for (gsize i = 0; i < n; i++) {
    if (s[i] < 0x21 || s[i] > 0x7e || strchr ("[]\\\"", s[i]) != NULL)
      return FALSE;
  }
  return TRUE;
}

/* ISO 8601 with an explicit offset: a time without one would be read in
 * the gateway's local zone, which is never what the operator meant. */
static gboolean
parse_time (const char *s, gint64 *out_ms)
{
  g_autoptr (GDateTime) dt = NULL;
  const char *t;

  if (strlen (s) > DIRECTORY_MAX_TIME_CHARS)
    return FALSE;
  t = strpbrk (s, "Tt");
  if (t == NULL)
    return FALSE;
  if (strpbrk (t, "Zz+-") == NULL)
    return FALSE;
  dt = g_date_time_new_from_iso8601 (s, NULL);
  if (dt == NULL)
    return FALSE;
  *out_ms = g_date_time_to_unix (dt) * 1000 + g_date_time_get_microsecond (dt) / 1000;
  return TRUE;
}

static gboolean
pin_is_valid (const char *s)
{
  gsize n = strlen (s);

  if (n > DIRECTORY_MAX_PIN_CHARS)
    return FALSE;
  for (gsize i = 0; i < n; i++) {
    if (!g_ascii_isdigit (s[i]) && s[i] != '*' && s[i] != '#')
      return FALSE;
  }
  return TRUE;
}

static gboolean
has_space (const char *s)
{
  for (; *s != '\0'; s++) {
    if (g_ascii_isspace (*s))
      return TRUE;
  }
  return FALSE;
}

/* A string of at most @max_chars; NULL when absent, empty or refused. */
static char *
get_text (AmgwIniCheck *check, const char *group, const char *key, guint max_chars)
{
  char *s = amgw_ini_check_get_string (check, group, key);

  if (s != NULL && g_utf8_strlen (s, -1) > max_chars) {
    amgw_ini_check_problem (check, group, key, "longer than %u characters", max_chars);
    wipe_free (s);
    return NULL;
  }
  return s;
}

static char *
get_required (AmgwIniCheck *check, const char *group, const char *key, guint max_chars)
{
  guint before = amgw_ini_check_n_problems (check);
  char *s = get_text (check, group, key, max_chars);

  if (s == NULL && amgw_ini_check_n_problems (check) == before)
    amgw_ini_check_problem (check, group, key, "%s (required)",
        amgw_ini_check_has_key (check, group, key) ? "empty" : "missing");
  return s;
}

static gboolean
get_time (AmgwIniCheck *check, const char *group, const char *key, gint64 *out_ms)
{
  g_autofree char *s = get_required (check, group, key, DIRECTORY_MAX_TIME_CHARS);

  if (s == NULL)
    return FALSE;
  if (!parse_time (s, out_ms)) {
    amgw_ini_check_problem (check, group, key,
        "not an ISO 8601 date and time with an offset (like 2026-11-22T09:00:00Z)");
    return FALSE;
  }
  return TRUE;
}

/* Parses one [meeting ID] group; NULL when it has a problem (reported). */
static AmgwMeeting *
parse_meeting (AmgwIniCheck *check, const char *group, const char *calendar_event_id)
{
  g_autoptr (AmgwMeeting) meeting = g_new0 (AmgwMeeting, 1);
  g_auto (GStrv) keys = amgw_ini_check_get_keys (check, group);
  g_autofree char *protocol = NULL;
  guint before = amgw_ini_check_n_problems (check);
  gboolean have_start, have_end;

  for (guint i = 0; keys[i] != NULL; i++) {
    if (!g_strv_contains (meeting_keys, keys[i]))
      amgw_ini_check_problem (check, group, keys[i],
          "unknown key (known here: room, organizer, start, end, id, pin, endpoint, protocol, "
          "provider)");
  }

  meeting->calendar_event_id = g_strdup (calendar_event_id);
  meeting->room = get_text (check, group, "room", DIRECTORY_MAX_ROOM_CHARS);
  meeting->organizer = get_text (check, group, "organizer", DIRECTORY_MAX_ORGANIZER_CHARS);
  meeting->id = get_text (check, group, "id", DIRECTORY_MAX_ID_CHARS);
  meeting->provider = get_text (check, group, "provider", DIRECTORY_MAX_PROVIDER_CHARS);

  meeting->pin = get_text (check, group, "pin", DIRECTORY_MAX_PIN_CHARS);
  if (meeting->pin != NULL && !pin_is_valid (meeting->pin))
    amgw_ini_check_problem (check, group, "pin", "use digits, '*' and '#' only (at most %d)",
        DIRECTORY_MAX_PIN_CHARS);

  meeting->endpoint = get_required (check, group, "endpoint", DIRECTORY_MAX_ENDPOINT_CHARS);
  if (meeting->endpoint != NULL && has_space (meeting->endpoint))
    amgw_ini_check_problem (check, group, "endpoint", "must not contain spaces");

  protocol = get_text (check, group, "protocol", 8);
  if (protocol == NULL && !amgw_ini_check_has_key (check, group, "protocol"))
    meeting->protocol = g_strdup ("SIP");
  else if (protocol != NULL && (g_ascii_strcasecmp (protocol, "SIP") == 0
          || g_ascii_strcasecmp (protocol, "SIPS") == 0
          || g_ascii_strcasecmp (protocol, "H323") == 0))
    meeting->protocol = g_ascii_strup (protocol, -1);
  else if (protocol != NULL || amgw_ini_check_n_problems (check) == before)
    amgw_ini_check_problem (check, group, "protocol", "must be SIP, SIPS or H323");

  have_start = get_time (check, group, "start", &meeting->start_ms);
  have_end = get_time (check, group, "end", &meeting->end_ms);
  if (have_start && have_end && meeting->start_ms >= meeting->end_ms)
    amgw_ini_check_problem (check, group, "end", "must be after start");

  if (amgw_ini_check_n_problems (check) != before)
    return NULL;
  return g_steal_pointer (&meeting);
}

static void
report_too_big (const char *name, GPtrArray *problems, GError **error)
{
  g_autoptr (AmgwIniCheck) check = amgw_ini_check_new (name);

  amgw_ini_check_problem (check, NULL, NULL, "larger than %d bytes (AMGW_MAX_DIRECTORY_BYTES)",
      AMGW_MAX_DIRECTORY_BYTES);
  amgw_ini_check_finish (check, problems, AMGW_DIRECTORY_ERROR, AMGW_DIRECTORY_ERROR_TOO_BIG,
      error);
}

static Content *
content_parse (const char *data, gsize len, const char *name, GPtrArray *problems,
    GError **error)
{
  g_autoptr (AmgwIniCheck) check = amgw_ini_check_new (name);
  g_autoptr (Content) content = NULL;
  g_autoptr (GHashTable) seen = NULL;   /* calendarEventId -> group (transfer none) */
  g_auto (GStrv) groups = NULL;
  gboolean too_many = FALSE;

  if (len > AMGW_MAX_DIRECTORY_BYTES)
    goto too_big;

  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  content = content_new ();
  amgw_ini_check_scan (check, data, len);
  groups = amgw_ini_check_get_groups (check);
  for (guint i = 0; groups[i] != NULL; i++) {
    const char *g = groups[i];
    g_autofree char *calendar_event_id = NULL;
    const char *other_group;
    AmgwMeeting *meeting;

    if (!g_str_has_prefix (g, DIRECTORY_GROUP_PREFIX)) {
      amgw_ini_check_problem (check, g, NULL,
          "unknown group: each group is [meeting CALENDAR_EVENT_ID]");
      continue;
    }
    calendar_event_id = g_strstrip (g_strdup (g + strlen (DIRECTORY_GROUP_PREFIX)));
    if (!calendar_event_id_is_valid (calendar_event_id)) {
      amgw_ini_check_problem (check, g, NULL,
          "the calendarEventId must be 1 to %d characters of visible ASCII except [ ] \\ \"",
          AMGW_MAX_CALENDAR_EVENT_ID_CHARS);
      continue;
    }
    if (content->meetings->len >= AMGW_MAX_MEETINGS) {
      if (!too_many)
        amgw_ini_check_problem (check, g, NULL, "too many meetings (at most %d)",
            AMGW_MAX_MEETINGS);
      too_many = TRUE;
      continue;
    }
    other_group = g_hash_table_lookup (seen, calendar_event_id);
    if (other_group != NULL) {
      amgw_ini_check_problem (check, g, NULL, "the same calendarEventId as the group at line %u",
          amgw_ini_check_get_line (check, other_group, NULL));
      continue;
    }
    g_hash_table_insert (seen, g_strdup (calendar_event_id), (gpointer) g);
    meeting = parse_meeting (check, g, calendar_event_id);
    if (meeting == NULL)
      continue;
    g_ptr_array_add (content->meetings, meeting);
    g_hash_table_insert (content->by_id, meeting->calendar_event_id, meeting);
  }

  if (!amgw_ini_check_finish (check, problems, AMGW_DIRECTORY_ERROR,
          AMGW_DIRECTORY_ERROR_INVALID, error))
    return NULL;
  return g_steal_pointer (&content);

  /* ERRORS */
too_big:
  report_too_big (name, problems, error);
  return NULL;
}

/* ---- the file ---- */

static void
stamp_take (const char *path, FileStamp *stamp)
{
  struct stat st;

  memset (stamp, 0, sizeof *stamp);
  if (stat (path, &st) < 0) {
    stamp->stat_errno = errno != 0 ? errno : EIO;
    return;
  }
  stamp->dev = st.st_dev;
  stamp->ino = st.st_ino;
  stamp->size = st.st_size;
  stamp->mtime = st.st_mtim;
  stamp->ctime = st.st_ctim;
}

static gboolean
stamp_equal (const FileStamp *a, const FileStamp *b)
{
  return a->stat_errno == b->stat_errno && a->dev == b->dev && a->ino == b->ino
      && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec
      && a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec
      && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

gboolean
amgw_directory_reload (AmgwDirectory *dir, GPtrArray *problems, GError **error)
{
  g_autoptr (GError) read_error = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;
  gboolean too_big = FALSE;
  Content *content;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (dir->path == NULL)
    return TRUE;

  /* Stamp before reading: a change during the read is seen next time. */
  stamp_take (dir->path, &dir->stamp);
  if (!amgw_ini_read_file (dir->path, AMGW_MAX_DIRECTORY_BYTES, &data, &len, &too_big,
          &read_error))
    goto read_failed;
  if (too_big) {
    report_too_big (dir->path, problems, error);
    return FALSE;
  }
  content = content_parse (data, len, dir->path, problems, error);
  explicit_bzero (data, len);
  if (content == NULL)
    return FALSE;

  content_free (dir->content);
  dir->content = content;
  GST_INFO ("%s: %u meeting(s)", dir->path, content->meetings->len);
  return TRUE;

  /* ERRORS */
read_failed:
  if (problems != NULL)
    g_ptr_array_add (problems, g_strdup_printf ("%s:0: %s", dir->path, read_error->message));
  g_set_error_literal (error, AMGW_DIRECTORY_ERROR, AMGW_DIRECTORY_ERROR_IO,
      read_error->message);
  return FALSE;
}

/* Reloads and logs what went wrong: for loads nobody asked for. */
static void
reload_and_log (AmgwDirectory *dir)
{
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;

  if (amgw_directory_reload (dir, problems, &error))
    return;
  for (guint i = 0; i < problems->len; i++)
    GST_WARNING ("%s", (const char *) g_ptr_array_index (problems, i));
  GST_WARNING ("%s: not taken; keeping the previous content (%u meeting(s))", dir->path,
      dir->content->meetings->len);
}

/* A cheap stat at most every check_interval_ms; re-read when it changed. */
static void
refresh (AmgwDirectory *dir)
{
  FileStamp now_stamp;
  gint64 now;

  if (dir->path == NULL)
    return;
  now = amgw_now_ms ();
  if (dir->check_interval_ms > 0 && now < dir->next_check_ms)
    return;
  dir->next_check_ms = now + dir->check_interval_ms;
  stamp_take (dir->path, &now_stamp);
  if (stamp_equal (&now_stamp, &dir->stamp))
    return;
  GST_DEBUG ("%s changed, reading it again", dir->path);
  reload_and_log (dir);
}

AmgwDirectory *
amgw_directory_new (const char *path)
{
  AmgwDirectory *dir;

  amgw_debug_init ();

  dir = g_new0 (AmgwDirectory, 1);
  dir->path = g_strdup (path);
  dir->content = content_new ();
  dir->check_interval_ms = DIRECTORY_DEFAULT_CHECK_INTERVAL_MS;
  if (dir->path != NULL) {
    reload_and_log (dir);
    dir->next_check_ms = amgw_now_ms () + dir->check_interval_ms;
  }
  return dir;
}

AmgwDirectory *
amgw_directory_load_data (const char *data, gssize len, const char *name, GPtrArray *problems,
    GError **error)
{
  AmgwDirectory *dir;
  Content *content;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  amgw_debug_init ();
  if (len < 0)
    len = strlen (data);
  content = content_parse (data, (gsize) len, name != NULL ? name : "<meetings>", problems,
      error);
  if (content == NULL)
    return NULL;
  dir = g_new0 (AmgwDirectory, 1);
  dir->content = content;
  dir->check_interval_ms = DIRECTORY_DEFAULT_CHECK_INTERVAL_MS;
  return dir;
}

void
amgw_directory_free (AmgwDirectory *dir)
{
  if (dir == NULL)
    return;
  content_free (dir->content);
  g_free (dir->path);
  g_free (dir);
}

void
amgw_directory_set_check_interval (AmgwDirectory *dir, guint interval_ms)
{
  g_return_if_fail (dir != NULL);

  dir->check_interval_ms = interval_ms;
  dir->next_check_ms = 0;
}

const char *
amgw_directory_get_path (AmgwDirectory *dir)
{
  g_return_val_if_fail (dir != NULL, NULL);
  return dir->path;
}

const AmgwMeeting *
amgw_directory_lookup (AmgwDirectory *dir, const char *calendar_event_id)
{
  g_return_val_if_fail (dir != NULL, NULL);

  if (calendar_event_id == NULL)
    return NULL;
  refresh (dir);
  return g_hash_table_lookup (dir->content->by_id, calendar_event_id);
}

const AmgwMeeting *
amgw_directory_current (AmgwDirectory *dir, const char *room_name, const char *endpoint_id,
    gint64 now_ms)
{
  const AmgwMeeting *best = NULL;

  g_return_val_if_fail (dir != NULL, NULL);

  refresh (dir);
  for (guint i = 0; i < dir->content->meetings->len; i++) {
    const AmgwMeeting *m = g_ptr_array_index (dir->content->meetings, i);

    if (m->room != NULL && g_strcmp0 (m->room, room_name) != 0
        && g_strcmp0 (m->room, endpoint_id) != 0)
      continue;
    if (now_ms < m->start_ms || now_ms >= m->end_ms)
      continue;
    if (best == NULL || m->start_ms > best->start_ms)
      best = m;
  }
  return best;
}

guint
amgw_directory_size (AmgwDirectory *dir)
{
  g_return_val_if_fail (dir != NULL, 0);

  refresh (dir);
  return dir->content->meetings->len;
}
