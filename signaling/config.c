/* amgw — configuration: an INI file read with GKeyFile, checked line by line.
 *
 * GKeyFile parses values (escapes, booleans); AmgwIniCheck scans the text
 * first so that every problem names its line, duplicates are caught, and one
 * run reports every problem.  No problem message carries a value: a secret
 * typed into the wrong key must not end up in a log.
 */
#include "amgw/config.h"
#include "amgw/debug.h"
#include "amgw/util.h"

#include <gio/gio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GST_CAT_DEFAULT amgw_config_debug

G_DEFINE_QUARK (amgw-config-error-quark, amgw_config_error)

/* Names (groups, keys) are cut to this many characters in problems. */
#define INI_MAX_NAME_CHARS 80
/* Key names: letters, digits, '-', '_', '.', at most this long. */
#define INI_MAX_KEY_CHARS 64

#define CONFIG_MIN_SECRET_CHARS 16
#define CONFIG_MAX_CALLS 100000
#define CONFIG_MIN_TIMEOUT_MS 100
#define CONFIG_MAX_TIMEOUT_MS (10 * 60 * 1000)
#define CONFIG_MAX_RETRIES 10
#define CONFIG_MIN_RTP_PORT 1024
#define CONFIG_MAX_ENDPOINT_ID_CHARS 256
#define CONFIG_MAX_ROOM_NAME_CHARS 128
#define CONFIG_MAX_FRIENDLY_NAME_CHARS 128
#define CONFIG_MAX_ADDRESS_CHARS 256
#define CONFIG_MAX_HOST_CHARS 253
#define CONFIG_MAX_INTERFACES 64
#define CONFIG_MAX_INTERFACE_CHARS 64
#define CONFIG_MAX_SIP_URI_CHARS 512
#define CONFIG_MAX_DIAL_TEMPLATE_CHARS 256
#define CONFIG_MAX_PROVIDER_NAME_CHARS 64
#define CONFIG_MIN_SESSION_EXPIRES_S 90      /* RFC 4028 Min-SE */
#define CONFIG_MAX_SESSION_EXPIRES_S 86400
#define CONFIG_MAX_DTMF_PAUSE_MS 60000

#define EMBEDDED_DEFAULT_NAME "<embedded default>"

/* ------------------------------------------------------------------------ */
/* AmgwIniCheck                                                              */
/* ------------------------------------------------------------------------ */

typedef struct {
  char *name;
  guint line;
} IniKey;

typedef struct {
  char *name;
  guint line;
  GPtrArray *keys;          /* IniKey*, file order */
  GHashTable *key_index;    /* name -> IniKey* (transfer none) */
} IniGroup;

typedef struct {
  guint line;
  guint seq;
  char *text;
} IniProblem;

struct _AmgwIniCheck {
  char *name;
  GKeyFile *key_file;
  GPtrArray *groups;        /* IniGroup*, file order */
  GHashTable *group_index;  /* name -> IniGroup* (transfer none) */
  GPtrArray *problems;      /* IniProblem* */
  guint n_dropped;          /* problems past AMGW_INI_MAX_PROBLEMS */
  guint seq;
  gboolean scanned;
  gboolean key_file_failed; /* GKeyFile refused the checked text: values unknown */
};

static void
ini_key_free (gpointer p)
{
  IniKey *key = p;

  g_free (key->name);
  g_free (key);
}

static void
ini_group_free (gpointer p)
{
  IniGroup *group = p;

  g_free (group->name);
  g_ptr_array_unref (group->keys);
  g_hash_table_unref (group->key_index);
  g_free (group);
}

static void
ini_problem_free (gpointer p)
{
  IniProblem *problem = p;

  g_free (problem->text);
  g_free (problem);
}

AmgwIniCheck *
amgw_ini_check_new (const char *name)
{
  AmgwIniCheck *check = g_new0 (AmgwIniCheck, 1);

  check->name = g_strdup (name != NULL ? name : "<config>");
  check->key_file = g_key_file_new ();
  check->groups = g_ptr_array_new_with_free_func (ini_group_free);
  check->group_index = g_hash_table_new (g_str_hash, g_str_equal);
  check->problems = g_ptr_array_new_with_free_func (ini_problem_free);
  return check;
}

void
amgw_ini_check_free (AmgwIniCheck *check)
{
  if (check == NULL)
    return;
  g_free (check->name);
  g_key_file_free (check->key_file);
  g_hash_table_unref (check->group_index);
  g_ptr_array_unref (check->groups);
  g_ptr_array_unref (check->problems);
  g_free (check);
}

/* A name fit for a problem line: at most INI_MAX_NAME_CHARS characters.
 * Names come from lines the scanner validated (UTF-8, no controls). */
static char *
ini_shorten (const char *name)
{
  g_autofree char *head = NULL;

  if (g_utf8_strlen (name, INI_MAX_NAME_CHARS + 1) <= INI_MAX_NAME_CHARS)
    return g_strdup (name);
  head = g_utf8_substring (name, 0, INI_MAX_NAME_CHARS);
  return g_strconcat (head, "...", NULL);
}

static void
ini_add_problem (AmgwIniCheck *check, guint line, const char *group, const char *key,
    const char *message)
{
  IniProblem *problem;
  g_autofree char *g = NULL, *k = NULL;

  if (check->problems->len >= AMGW_INI_MAX_PROBLEMS) {
    check->n_dropped++;
    return;
  }
  if (group != NULL)
    g = ini_shorten (group);
  if (key != NULL)
    k = ini_shorten (key);

  problem = g_new0 (IniProblem, 1);
  problem->line = line;
  problem->seq = check->seq++;
  if (g != NULL && k != NULL)
    problem->text = g_strdup_printf ("%s:%u: [%s] %s: %s", check->name, line, g, k, message);
  else if (g != NULL)
    problem->text = g_strdup_printf ("%s:%u: [%s]: %s", check->name, line, g, message);
  else if (k != NULL)
    problem->text = g_strdup_printf ("%s:%u: %s: %s", check->name, line, k, message);
  else
    problem->text = g_strdup_printf ("%s:%u: %s", check->name, line, message);
  GST_DEBUG ("%s", problem->text);
  g_ptr_array_add (check->problems, problem);
}

static gboolean
ini_key_name_is_valid (const char *s, gsize n)
{
  if (n == 0 || n > INI_MAX_KEY_CHARS)
    return FALSE;
  for (gsize i = 0; i < n; i++) {
    if (!g_ascii_isalnum (s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
      return FALSE;
  }
  return TRUE;
}

/* What GKeyFile accepts as a group name: not empty, no brackets, no
 * control characters. */
static gboolean
ini_group_name_is_valid (const char *s, gsize n)
{
  if (n == 0)
    return FALSE;
  for (gsize i = 0; i < n; i++) {
    if (s[i] == '[' || s[i] == ']' || g_ascii_iscntrl (s[i]))
      return FALSE;
  }
  return TRUE;
}

typedef struct {
  IniGroup *group;          /* the current group, NULL before the first one */
  gboolean under_bad_header;/* keys after a broken header are dropped quietly */
  GString *clean;           /* the accepted lines, for GKeyFile */
} IniScan;

static void
ini_scan_header (AmgwIniCheck *check, IniScan *scan, const char *s, const char *e, guint lineno)
{
  const char *close, *after;
  IniGroup *group;
  g_autofree char *name = NULL;

  close = memchr (s, ']', e - s);
  if (close == NULL)
    goto no_close;
  for (after = close + 1; after < e && (*after == ' ' || *after == '\t'); after++)
    ;
  if (after != e)
    goto trailing_text;
  if (!ini_group_name_is_valid (s + 1, close - s - 1))
    goto bad_name;

  name = g_strndup (s + 1, close - s - 1);
  group = g_hash_table_lookup (check->group_index, name);
  if (group != NULL) {
    g_autofree char *message =
        g_strdup_printf ("duplicate group (first at line %u): write each group once", group->line);
    ini_add_problem (check, lineno, name, NULL, message);
  } else {
    group = g_new0 (IniGroup, 1);
    group->name = g_strdup (name);
    group->line = lineno;
    group->keys = g_ptr_array_new_with_free_func (ini_key_free);
    group->key_index = g_hash_table_new (g_str_hash, g_str_equal);
    g_ptr_array_add (check->groups, group);
    g_hash_table_insert (check->group_index, group->name, group);
  }
  scan->group = group;
  scan->under_bad_header = FALSE;
  g_string_append_printf (scan->clean, "[%s]", name);
  return;

  /* ERRORS */
no_close:
  ini_add_problem (check, lineno, NULL, NULL, "group header without ']': expected [name]");
  goto drop_group;
trailing_text:
  ini_add_problem (check, lineno, NULL, NULL, "text after a group header's ']'");
  goto drop_group;
bad_name:
  ini_add_problem (check, lineno, NULL, NULL,
      "invalid group name: it must not be empty nor contain brackets or control characters");
  goto drop_group;
drop_group:
  /* Its keys must not slip into the previous group. */
  scan->group = NULL;
  scan->under_bad_header = TRUE;
}

static void
ini_scan_line (AmgwIniCheck *check, IniScan *scan, const char *line, gsize n, guint lineno)
{
  const char *s = line, *e = line + n, *eq, *key_end;
  g_autofree char *key = NULL;
  IniKey *existing, *entry;

  if (!g_utf8_validate_len (line, n, NULL))
    goto not_utf8;

  while (s < e && (*s == ' ' || *s == '\t'))
    s++;
  if (s == e || *s == '#')
    return;
  if (*s == ';')
    goto semicolon;
  if (*s == '[') {
    ini_scan_header (check, scan, s, e, lineno);
    return;
  }

  eq = memchr (s, '=', e - s);
  if (eq == NULL)
    goto not_a_pair;
  for (key_end = eq; key_end > s && (key_end[-1] == ' ' || key_end[-1] == '\t'); key_end--)
    ;
  if (!ini_key_name_is_valid (s, key_end - s))
    goto bad_key;
  key = g_strndup (s, key_end - s);

  if (scan->group == NULL) {
    if (!scan->under_bad_header)
      ini_add_problem (check, lineno, NULL, key, "key outside any group: put it under a [group] header");
    return;
  }

  existing = g_hash_table_lookup (scan->group->key_index, key);
  if (existing != NULL)
    goto duplicate;

  entry = g_new0 (IniKey, 1);
  entry->name = g_steal_pointer (&key);
  entry->line = lineno;
  g_ptr_array_add (scan->group->keys, entry);
  g_hash_table_insert (scan->group->key_index, entry->name, entry);
  /* GKeyFile gives "Encoding" in the first group a meaning of its own (and
   * fails the whole file on a value other than UTF-8); no amgw format has
   * such a key, so it is only an unknown key. */
  if (strcmp (entry->name, "Encoding") == 0)
    return;
  /* GKeyFile keeps trailing blanks in a value; a "token = abc " that does
   * not match "abc" helps nobody.  A wanted one is written \s. */
  while (e > eq + 1 && (e[-1] == ' ' || e[-1] == '\t'))
    e--;
  g_string_append_len (scan->clean, s, e - s);
  return;

  /* ERRORS */
not_utf8:
  ini_add_problem (check, lineno, NULL, NULL, "not valid UTF-8 text (or a NUL byte)");
  /* If it was a group header, its keys must not land in the group before. */
  while (s < e && (*s == ' ' || *s == '\t'))
    s++;
  if (s < e && *s == '[') {
    scan->group = NULL;
    scan->under_bad_header = TRUE;
  }
  return;
semicolon:
  ini_add_problem (check, lineno, NULL, NULL, "';' does not start a comment here: use '#'");
  return;
not_a_pair:
  ini_add_problem (check, lineno, scan->group ? scan->group->name : NULL, NULL,
      "not a [group] header, a key = value pair or a # comment");
  return;
bad_key:
  ini_add_problem (check, lineno, scan->group ? scan->group->name : NULL, NULL,
      "invalid key name: use letters, digits, '-', '_' and '.' (at most 64)");
  return;
duplicate:
  {
    g_autofree char *message = g_strdup_printf ("duplicate key (first at line %u): set it once",
        existing->line);
    ini_add_problem (check, lineno, scan->group->name, key, message);
  }
}

void
amgw_ini_check_scan (AmgwIniCheck *check, const char *data, gsize len)
{
  IniScan scan = { NULL, FALSE, NULL };
  const char *p = data, *end = data + len;
  guint lineno = 0;
  g_autoptr (GError) error = NULL;

  g_return_if_fail (check != NULL);
  g_return_if_fail (data != NULL || len == 0);
  g_return_if_fail (!check->scanned);
  check->scanned = TRUE;

  if (len == 0)
    return;

  scan.clean = g_string_sized_new (len + 1);
  if (len >= 3 && memcmp (p, "\xEF\xBB\xBF", 3) == 0)
    p += 3;

  while (p < end) {
    const char *nl = memchr (p, '\n', end - p);
    gsize n = (nl != NULL ? nl : end) - p;

    lineno++;
    if (n > 0 && p[n - 1] == '\r')
      n--;
    ini_scan_line (check, &scan, p, n, lineno);
    /* One line out per line in, so GKeyFile's view keeps the numbering. */
    g_string_append_c (scan.clean, '\n');
    p = nl != NULL ? nl + 1 : end;
  }

  /* Every line left is one GKeyFile accepts; its message could quote a
   * line (and so a secret), so it is not passed on. */
  if (!g_key_file_load_from_data (check->key_file, scan.clean->str, scan.clean->len,
          G_KEY_FILE_NONE, &error)) {
    GST_WARNING ("%s: GKeyFile refused the checked text (code %d)", check->name, error->code);
    ini_add_problem (check, 0, NULL, NULL, "cannot be read as a key file");
    check->key_file_failed = TRUE;
  }
  /* The text holds secrets. */
  explicit_bzero (scan.clean->str, scan.clean->len);
  g_string_free (scan.clean, TRUE);
}

char **
amgw_ini_check_get_groups (AmgwIniCheck *check)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  char **groups;

  for (guint i = 0; i < check->groups->len; i++) {
    IniGroup *group = g_ptr_array_index (check->groups, i);
    g_strv_builder_add (builder, group->name);
  }
  groups = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return groups;
}

char **
amgw_ini_check_get_keys (AmgwIniCheck *check, const char *group_name)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  IniGroup *group = g_hash_table_lookup (check->group_index, group_name);
  char **keys;

  for (guint i = 0; group != NULL && i < group->keys->len; i++) {
    IniKey *key = g_ptr_array_index (group->keys, i);
    g_strv_builder_add (builder, key->name);
  }
  keys = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return keys;
}

guint
amgw_ini_check_get_line (AmgwIniCheck *check, const char *group_name, const char *key_name)
{
  IniGroup *group;
  IniKey *key = NULL;

  if (group_name == NULL)
    return 0;
  group = g_hash_table_lookup (check->group_index, group_name);
  if (group == NULL)
    return 0;
  if (key_name != NULL)
    key = g_hash_table_lookup (group->key_index, key_name);
  return key != NULL ? key->line : group->line;
}

gboolean
amgw_ini_check_has_key (AmgwIniCheck *check, const char *group_name, const char *key_name)
{
  IniGroup *group = g_hash_table_lookup (check->group_index, group_name);

  return group != NULL && g_hash_table_contains (group->key_index, key_name);
}

char *
amgw_ini_check_get_string (AmgwIniCheck *check, const char *group, const char *key)
{
  g_autoptr (GError) error = NULL;
  char *value;

  if (!amgw_ini_check_has_key (check, group, key) || check->key_file_failed)
    return NULL;
  value = g_key_file_get_string (check->key_file, group, key, &error);
  /* On a bad escape GKeyFile sets @error and still returns a value. */
  if (g_error_matches (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE))
    goto bad_escape;
  if (value == NULL)
    goto unreadable;
  if (*value == '\0')
    goto empty;
  if (g_utf8_strlen (value, AMGW_INI_MAX_VALUE_CHARS + 1) > AMGW_INI_MAX_VALUE_CHARS)
    goto too_long;
  for (const char *p = value; *p != '\0'; p++) {
    if (g_ascii_iscntrl (*p))
      goto control;
  }
  return value;

  /* ERRORS */
bad_escape:
  amgw_ini_check_problem (check, group, key,
      "invalid escape sequence in the value: write \\\\ for a backslash");
  if (value == NULL)
    return NULL;
  goto wipe;
unreadable:
  amgw_ini_check_problem (check, group, key, "cannot be read");
  return NULL;
empty:
  g_free (value);
  return NULL;
too_long:
  amgw_ini_check_problem (check, group, key, "value longer than %d characters",
      AMGW_INI_MAX_VALUE_CHARS);
  goto wipe;
control:
  amgw_ini_check_problem (check, group, key, "control character in the value");
  goto wipe;
wipe:
  explicit_bzero (value, strlen (value));
  g_free (value);
  return NULL;
}

void
amgw_ini_check_problem (AmgwIniCheck *check, const char *group, const char *key,
    const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  ini_add_problem (check, amgw_ini_check_get_line (check, group, key), group, key, message);
}

guint
amgw_ini_check_n_problems (AmgwIniCheck *check)
{
  return check->problems->len + check->n_dropped;
}

static gint
ini_problem_compare (gconstpointer a, gconstpointer b)
{
  const IniProblem *pa = *(const IniProblem *const *) a;
  const IniProblem *pb = *(const IniProblem *const *) b;

  if (pa->line != pb->line)
    return pa->line < pb->line ? -1 : 1;
  return pa->seq < pb->seq ? -1 : pa->seq > pb->seq;
}

gboolean
amgw_ini_check_finish (AmgwIniCheck *check, GPtrArray *problems, GQuark domain, gint code,
    GError **error)
{
  guint total = amgw_ini_check_n_problems (check);
  IniProblem *first;

  if (total == 0)
    return TRUE;

  g_ptr_array_sort (check->problems, ini_problem_compare);
  for (guint i = 0; problems != NULL && i < check->problems->len; i++) {
    IniProblem *problem = g_ptr_array_index (check->problems, i);
    g_ptr_array_add (problems, g_strdup (problem->text));
  }
  if (problems != NULL && check->n_dropped > 0)
    g_ptr_array_add (problems, g_strdup_printf ("%s:0: %u more problems not shown",
            check->name, check->n_dropped));

  first = g_ptr_array_index (check->problems, 0);
  if (total == 1)
    g_set_error_literal (error, domain, code, first->text);
  else
    g_set_error (error, domain, code, "%s (and %u more problem%s)", first->text, total - 1,
        total - 1 == 1 ? "" : "s");
  return FALSE;
}

gboolean
amgw_ini_read_file (const char *path, gsize max_bytes, char **data, gsize *len,
    gboolean *too_big, GError **error)
{
  g_autofree char *buffer = NULL;
  struct stat st;
  gsize have = 0;
  int fd, saved_errno;

  *data = NULL;
  *len = 0;
  *too_big = FALSE;

  /* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    goto open_failed;
  if (fstat (fd, &st) < 0)
    goto read_failed;
  if (!S_ISREG (st.st_mode))
    goto not_regular;
  if ((guint64) st.st_size > max_bytes)
    goto too_big;

  buffer = g_malloc (max_bytes + 2);
  while (have < max_bytes + 1) {
    gssize r = read (fd, buffer + have, max_bytes + 1 - have);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      goto read_failed;
    if (r == 0)
      break;
    have += r;
  }
  close (fd);
  if (have > max_bytes) {
    /* It grew between fstat and read. */
    explicit_bzero (buffer, have);
    *too_big = TRUE;
    return TRUE;
  }
  buffer[have] = '\0';
  *data = g_realloc (g_steal_pointer (&buffer), have + 1);
  *len = have;
  return TRUE;

  /* ERRORS */
open_failed:
  saved_errno = errno;
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno), "cannot open %s: %s",
      path, g_strerror (saved_errno));
  return FALSE;
read_failed:
  saved_errno = errno;
  close (fd);
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno), "cannot read %s: %s",
      path, g_strerror (saved_errno));
  return FALSE;
not_regular:
  close (fd);
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "cannot read %s: not a regular file",
      path);
  return FALSE;
too_big:
  close (fd);
  *too_big = TRUE;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Small parsers                                                             */
/* ------------------------------------------------------------------------ */

static const char *const address_type_names[] = {
  [AMGW_ADDRESS_COMMUNICATION_PROFILE_ID] = "COMMUNICATION_PROFILE_ID",
  [AMGW_ADDRESS_PHONE_NUMBER] = "PHONE_NUMBER",
  [AMGW_ADDRESS_RAW_ADDRESS] = "RAW_ADDRESS",
};

static const char *const dtmf_mode_names[] = {
  [AMGW_DTMF_RFC4733] = "rfc4733",
  [AMGW_DTMF_INFO] = "info",
  [AMGW_DTMF_INBAND] = "inband",
};

const char *
amgw_address_type_to_string (AmgwAddressType type)
{
  if ((guint) type >= G_N_ELEMENTS (address_type_names))
    return "COMMUNICATION_PROFILE_ID";
  return address_type_names[type];
}

gboolean
amgw_address_type_from_string (const char *s, AmgwAddressType *out)
{
  for (guint i = 0; s != NULL && i < G_N_ELEMENTS (address_type_names); i++) {
    if (g_ascii_strcasecmp (s, address_type_names[i]) == 0) {
      *out = (AmgwAddressType) i;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
amgw_dtmf_mode_to_string (AmgwDtmfMode mode)
{
  if ((guint) mode >= G_N_ELEMENTS (dtmf_mode_names))
    return "rfc4733";
  return dtmf_mode_names[mode];
}

gboolean
amgw_dtmf_mode_from_string (const char *s, AmgwDtmfMode *out)
{
  for (guint i = 0; s != NULL && i < G_N_ELEMENTS (dtmf_mode_names); i++) {
    if (g_ascii_strcasecmp (s, dtmf_mode_names[i]) == 0) {
      *out = (AmgwDtmfMode) i;
      return TRUE;
    }
  }
  return FALSE;
}

static gboolean
ip_address_is_valid (const char *s)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (s);

  return address != NULL;
}

static gboolean
host_name_is_valid (const char *host)
{
  gsize n = strlen (host);

  if (n == 0 || n > CONFIG_MAX_HOST_CHARS || host[0] == '.' || host[0] == '-')
    return FALSE;
  for (gsize i = 0; i < n; i++) {
    if (!g_ascii_isalnum (host[i]) && host[i] != '-' && host[i] != '.' && host[i] != '_')
      return FALSE;
  }
  /* All digits and dots: it must be a real IPv4 address, not 999.1.1.1. */
  if (strspn (host, "0123456789.") == n)
    return ip_address_is_valid (host);
  return TRUE;
}

/* Parses "host:port" or "[IPv6]:port" with a port in @min_port..65535.
 * Returns NULL on success, else why not (transfer full).  Never quotes @s. */
static char *
parse_host_port (const char *s, guint min_port, char **host_out, guint16 *port_out)
{
  g_autofree char *host = NULL;
  const char *colon, *port_text;
  guint64 port;

  if (s[0] == '[') {
    const char *close = strchr (s, ']');
    g_autoptr (GInetAddress) address = NULL;

    if (close == NULL)
      return g_strdup ("missing ']' after the IPv6 address: expected [address]:port");
    host = g_strndup (s + 1, close - s - 1);
    address = g_inet_address_new_from_string (host);
    if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6)
      return g_strdup ("not an IPv6 address between '[' and ']'");
    if (close[1] != ':')
      return g_strdup ("expected [address]:port");
    colon = close + 1;
  } else {
    colon = strrchr (s, ':');
    if (colon == NULL)
      return g_strdup ("expected host:port (or [IPv6 address]:port)");
    if (memchr (s, ':', colon - s) != NULL) {
      const char *first = strchr (s, ':');
      gboolean scheme = first > s;

      for (const char *p = s; p < first; p++)
        scheme = scheme && g_ascii_isalpha (*p);
      if (scheme)
        return g_strdup ("expected host:port, not a URI");
      return g_strdup ("an IPv6 address needs brackets: [address]:port");
    }
    host = g_strndup (s, colon - s);
    if (!host_name_is_valid (host))
      return g_strdup ("not a valid host name or IPv4 address before ':'");
  }

  port_text = colon + 1;
  if (strlen (port_text) > 5
      || !g_ascii_string_to_unsigned (port_text, 10, min_port, 65535, &port, NULL))
    return g_strdup_printf ("the port must be a number from %u to 65535", min_port);

  if (host_out != NULL)
    *host_out = g_steal_pointer (&host);
  if (port_out != NULL)
    *port_out = (guint16) port;
  return NULL;
}

static gboolean
endpoint_id_is_valid (const char *s)
{
  gsize n = strlen (s);

  if (n == 0 || n > CONFIG_MAX_ENDPOINT_ID_CHARS)
    return FALSE;
  for (gsize i = 0; i < n; i++) {
    if (!g_ascii_isalnum (s[i]) && strchr ("_.:@-", s[i]) == NULL)
      return FALSE;
  }
  return TRUE;
}

/* Room names appear in URLs (/v1/rooms/{room}/test-call) and logs. */
static gboolean
room_name_is_valid (const char *s)
{
  if (*s == '\0' || g_utf8_strlen (s, -1) > CONFIG_MAX_ROOM_NAME_CHARS)
    return FALSE;
  return strpbrk (s, "/?#%\\\"") == NULL;
}

static char *
resolve_path (const char *base_dir, const char *path)
{
  return g_canonicalize_filename (path, base_dir);
}

static void
wipe_string (char **s)
{
  if (*s == NULL)
    return;
  explicit_bzero (*s, strlen (*s));
  g_clear_pointer (s, g_free);
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */
/* ------------------------------------------------------------------------ */

static const char *const gateway_keys[] = {
  "listen", "state-dir", "forwarding-secret", "max-calls", "drain-timeout", "cpu-limit", NULL
};
static const char *const alexa_keys[] = {
  "api-url", "lwa-url", "client-id", "client-secret", "refresh-token", "request-timeout",
  "max-retries", "setup-timeout", "ring-timeout", NULL
};
static const char *const media_keys[] = {
  "public-ip", "rtp-port-min", "rtp-port-max", "stun-server", "turn-server", "turn-user",
  "turn-password", "interfaces", "dtls-certificate", "dtls-private-key", "ice-timeout", "codecs",
  "jitter-buffer", "batching", NULL
};
static const char *const sip_keys[] = {
  "listen", "public-ip", "user", "password", "dtmf", "outbound-proxy", "register", "registrar",
  "ca-file", "dial-template", "dtmf-pause", "invite-timeout", "session-expires",
  "inactivity-timeout", "codecs", NULL
};
static const char *const provider_keys[] = {
  "dial-template", "dtmf", "dtmf-pause", NULL
};
static const char *const meetings_keys[] = {
  "directory", NULL
};
static const char *const room_keys[] = {
  "endpoint-id", "friendly-name", "token", "alexa-address-type", "alexa-address",
  "supports-scheduled-meeting", NULL
};

typedef struct {
  AmgwIniCheck *check;
  AmgwConfig *config;
  const char *base_dir;
  GHashTable *endpoint_ids;   /* endpoint-id -> room group name (transfer none) */
  GHashTable *room_names;     /* room NAME -> room group name (transfer none) */
  gboolean too_many_rooms;
  GHashTable *provider_names; /* lower-case provider NAME (owned) -> group name (transfer none) */
} Loader;

static void
provider_free (gpointer p)
{
  AmgwSipProvider *provider = p;

  g_free (provider->name);
  g_free (provider->dial_template);
  g_free (provider);
}

static void
room_free (gpointer p)
{
  AmgwRoom *room = p;

  g_free (room->name);
  g_free (room->endpoint_id);
  g_free (room->friendly_name);
  wipe_string (&room->token);
  g_free (room->alexa_address);
  g_free (room);
}

void
amgw_config_free (AmgwConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->listen_host);
  g_free (config->state_dir);
  wipe_string (&config->forwarding_secret);
  g_free (config->api_url);
  g_free (config->lwa_url);
  g_free (config->client_id);
  wipe_string (&config->client_secret);
  wipe_string (&config->refresh_token);
  g_free (config->media_public_ip);
  g_free (config->stun_server);
  g_free (config->turn_server);
  g_free (config->turn_user);
  wipe_string (&config->turn_password);
  g_strfreev (config->interfaces);
  g_strfreev (config->media_codecs);
  g_strfreev (config->sip_codecs);
  g_free (config->sip_listen);
  g_free (config->sip_public_ip);
  g_free (config->sip_user);
  wipe_string (&config->sip_password);
  g_free (config->sip_outbound_proxy);
  g_free (config->sip_registrar);
  g_free (config->sip_ca_file);
  g_free (config->sip_dial_template);
  if (config->sip_providers != NULL)
    g_ptr_array_unref (config->sip_providers);
  g_free (config->meetings_directory);
  g_free (config->dtls_certificate);
  g_free (config->dtls_private_key);
  if (config->rooms != NULL)
    g_ptr_array_unref (config->rooms);
  g_free (config->source);
  g_free (config);
}

static AmgwConfig *
config_new_with_defaults (const char *source)
{
  AmgwConfig *config = g_new0 (AmgwConfig, 1);

  config->listen_host = g_strdup ("127.0.0.1");
  config->listen_port = 8080;
  config->state_dir = g_build_filename (g_get_user_data_dir (), "amgw", NULL);
  config->max_calls = 100;
  config->drain_timeout_s = 30;
  config->cpu_limit_percent = 90;
  config->api_url = g_strdup ("https://api.amazonalexa.com");
  config->lwa_url = g_strdup ("https://api.amazon.com/auth/o2/token");
  config->request_timeout_ms = 10000;
  config->max_retries = 4;
  config->setup_timeout_ms = 30000;
  config->ice_timeout_ms = 20000;
  {
    static const char *const alexa[] = { "OPUS", "G722", "PCMU", "PCMA", NULL };
    static const char *const sip[] = { "OPUS", "G722", "PCMU", "PCMA", NULL };
    config->media_codecs = g_strdupv ((char **) alexa);
    config->sip_codecs = g_strdupv ((char **) sip);
  }
  config->jitter_buffer_ms = 60;
  config->batching_us = 1000;
  config->ring_timeout_ms = 60000;
  config->rtp_port_min = 10000;
  config->rtp_port_max = 20000;
  config->sip_dtmf = AMGW_DTMF_RFC4733;
  config->sip_dial_template = g_strdup ("{id}");
  config->sip_dtmf_pause_ms = 2000;
  config->sip_invite_timeout_ms = 60000;
  config->sip_session_expires_s = 1800;
  config->sip_inactivity_timeout_ms = 30000;
  config->sip_providers = g_ptr_array_new_with_free_func (provider_free);
  config->rooms = g_ptr_array_new_with_free_func (room_free);
  config->source = g_strdup (source);
  return config;
}

static void
check_known_keys (Loader *loader, const char *group, const char *const *known)
{
  g_auto (GStrv) keys = amgw_ini_check_get_keys (loader->check, group);
  g_autofree char *list = NULL;

  for (guint i = 0; keys[i] != NULL; i++) {
    if (g_strv_contains (known, keys[i]))
      continue;
    if (list == NULL)
      list = g_strjoinv (", ", (char **) known);
    amgw_ini_check_problem (loader->check, group, keys[i], "unknown key (known here: %s)", list);
  }
}

/* Sets *@out when the key is present and valid; leaves the default otherwise. */
static void
get_uint (Loader *loader, const char *group, const char *key, guint min, guint max, guint *out)
{
  g_autofree char *s = amgw_ini_check_get_string (loader->check, group, key);
  guint64 value;

  if (s == NULL)
    return;
  if (!g_ascii_string_to_unsigned (s, 10, min, max, &value, NULL)) {
    amgw_ini_check_problem (loader->check, group, key, "not a whole number from %u to %u", min,
        max);
    return;
  }
  *out = (guint) value;
}

static void
get_bool (Loader *loader, const char *group, const char *key, gboolean *out)
{
  static const char *const yes[] = { "true", "yes", "on", "1", NULL };
  static const char *const no[] = { "false", "no", "off", "0", NULL };
  g_autofree char *s = amgw_ini_check_get_string (loader->check, group, key);

  if (s == NULL)
    return;
  for (guint i = 0; yes[i] != NULL; i++) {
    if (g_ascii_strcasecmp (s, yes[i]) == 0) {
      *out = TRUE;
      return;
    }
  }
  for (guint i = 0; no[i] != NULL; i++) {
    if (g_ascii_strcasecmp (s, no[i]) == 0) {
      *out = FALSE;
      return;
    }
  }
  amgw_ini_check_problem (loader->check, group, key, "not a boolean: use true or false");
}

/* A string with at most @max_chars characters; replaces *@out when valid. */
static void
get_text (Loader *loader, const char *group, const char *key, guint max_chars, char **out)
{
  char *s = amgw_ini_check_get_string (loader->check, group, key);

  if (s == NULL)
    return;
  if (g_utf8_strlen (s, -1) > max_chars) {
    amgw_ini_check_problem (loader->check, group, key, "longer than %u characters", max_chars);
    wipe_string (&s);
    return;
  }
  g_free (*out);
  *out = s;
}

static void
get_url (Loader *loader, const char *group, const char *key, char **out)
{
  g_autofree char *s = amgw_ini_check_get_string (loader->check, group, key);

  if (s == NULL)
    return;
  if (!g_uri_is_valid (s, G_URI_FLAGS_NONE, NULL)) {
    amgw_ini_check_problem (loader->check, group, key, "not a valid absolute URL");
    return;
  }
  if (!amgw_url_is_allowed (s)) {
    amgw_ini_check_problem (loader->check, group, key,
        "not allowed: use https://, or http:// to a loopback host only");
    return;
  }
  g_free (*out);
  *out = g_steal_pointer (&s);
}

static void
get_ip (Loader *loader, const char *group, const char *key, char **out)
{
  g_autofree char *s = amgw_ini_check_get_string (loader->check, group, key);

  if (s == NULL)
    return;
  if (!ip_address_is_valid (s)) {
    amgw_ini_check_problem (loader->check, group, key, "not an IPv4 or IPv6 address");
    return;
  }
  g_free (*out);
  *out = g_steal_pointer (&s);
}

/* A "host:port" kept as text. */
static void
get_host_port (Loader *loader, const char *group, const char *key, guint min_port, char **out)
{
  g_autofree char *s = amgw_ini_check_get_string (loader->check, group, key);
  g_autofree char *why = NULL;

  if (s == NULL)
    return;
  why = parse_host_port (s, min_port, NULL, NULL);
  if (why != NULL) {
    amgw_ini_check_problem (loader->check, group, key, "%s", why);
    return;
  }
  g_free (*out);
  *out = g_steal_pointer (&s);
}

static void
get_secret (Loader *loader, const char *group, const char *key, guint min_chars, char **out)
{
  char *s = amgw_ini_check_get_string (loader->check, group, key);

  if (s == NULL)
    return;
  if (g_utf8_strlen (s, -1) < min_chars) {
    amgw_ini_check_problem (loader->check, group, key, "too short (at least %u characters)",
        min_chars);
    wipe_string (&s);
    return;
  }
  wipe_string (out);
  *out = s;
}

static void
load_gateway (Loader *loader)
{
  const char *g = "gateway";
  AmgwConfig *config = loader->config;
  g_autofree char *listen = NULL, *state_dir = NULL;

  check_known_keys (loader, g, gateway_keys);

  listen = amgw_ini_check_get_string (loader->check, g, "listen");
  if (listen != NULL) {
    g_autofree char *host = NULL, *why = NULL;
    guint16 port = 0;

    why = parse_host_port (listen, 0, &host, &port);
    if (why != NULL) {
      amgw_ini_check_problem (loader->check, g, "listen", "%s", why);
    } else {
      g_free (config->listen_host);
      config->listen_host = g_steal_pointer (&host);
      config->listen_port = port;
    }
  }

  state_dir = amgw_ini_check_get_string (loader->check, g, "state-dir");
  if (state_dir != NULL) {
    g_free (config->state_dir);
    config->state_dir = resolve_path (loader->base_dir, state_dir);
  }

  get_secret (loader, g, "forwarding-secret", CONFIG_MIN_SECRET_CHARS, &config->forwarding_secret);
  get_uint (loader, g, "max-calls", 1, CONFIG_MAX_CALLS, &config->max_calls);
  get_uint (loader, g, "drain-timeout", 0, 86400, &config->drain_timeout_s);
  get_uint (loader, g, "cpu-limit", 0, 100, &config->cpu_limit_percent);
}

static void
load_alexa (Loader *loader)
{
  const char *g = "alexa";
  AmgwConfig *config = loader->config;

  check_known_keys (loader, g, alexa_keys);
  get_url (loader, g, "api-url", &config->api_url);
  get_url (loader, g, "lwa-url", &config->lwa_url);
  get_text (loader, g, "client-id", AMGW_INI_MAX_VALUE_CHARS, &config->client_id);
  get_secret (loader, g, "client-secret", 1, &config->client_secret);
  get_secret (loader, g, "refresh-token", 1, &config->refresh_token);
  get_uint (loader, g, "request-timeout", CONFIG_MIN_TIMEOUT_MS, CONFIG_MAX_TIMEOUT_MS,
      &config->request_timeout_ms);
  get_uint (loader, g, "max-retries", 0, CONFIG_MAX_RETRIES, &config->max_retries);
  get_uint (loader, g, "setup-timeout", CONFIG_MIN_TIMEOUT_MS, CONFIG_MAX_TIMEOUT_MS,
      &config->setup_timeout_ms);
  get_uint (loader, g, "ring-timeout", CONFIG_MIN_TIMEOUT_MS, CONFIG_MAX_TIMEOUT_MS,
      &config->ring_timeout_ms);
}

static void
load_interfaces (Loader *loader, const char *g)
{
  g_autofree char *s = amgw_ini_check_get_string (loader->check, g, "interfaces");
  g_auto (GStrv) parts = NULL;
  g_autoptr (GStrvBuilder) builder = NULL;
  guint n = 0;

  if (s == NULL)
    return;
  builder = g_strv_builder_new ();
  parts = g_strsplit_set (s, ";,", -1);
  for (guint i = 0; parts[i] != NULL; i++) {
    char *name = g_strstrip (parts[i]);
    gsize len = strlen (name);
    gboolean ok = len > 0 && len <= CONFIG_MAX_INTERFACE_CHARS;

    if (len == 0)
      continue;
    for (gsize j = 0; ok && j < len; j++)
      ok = g_ascii_isgraph (name[j]) && name[j] != '/';
    if (!ok) {
      amgw_ini_check_problem (loader->check, g, "interfaces",
          "entry %u is not an interface name or address (at most %d characters, no spaces)",
          i + 1, CONFIG_MAX_INTERFACE_CHARS);
      return;
    }
    if (++n > CONFIG_MAX_INTERFACES) {
      amgw_ini_check_problem (loader->check, g, "interfaces", "more than %d entries",
          CONFIG_MAX_INTERFACES);
      return;
    }
    g_strv_builder_add (builder, name);
  }
  if (n > 0) {
    g_strfreev (loader->config->interfaces);
    loader->config->interfaces = g_strv_builder_end (builder);
  }
}

/* A codec preference: opus, G722, PCMU, PCMA in some order, each once. */
static void
get_codecs (Loader *loader, const char *g, char ***out)
{
  static const char *const known[] = { "OPUS", "G722", "PCMU", "PCMA" };
  g_autofree char *s = amgw_ini_check_get_string (loader->check, g, "codecs");
  g_auto (GStrv) parts = NULL;
  g_autoptr (GStrvBuilder) builder = NULL;
  guint seen = 0;

  if (s == NULL)
    return;
  builder = g_strv_builder_new ();
  parts = g_strsplit_set (s, ";, ", -1);
  for (guint i = 0; parts[i] != NULL; i++) {
    guint k;

    if (*parts[i] == '\0')
      continue;
    for (k = 0; k < G_N_ELEMENTS (known); k++)
      if (g_ascii_strcasecmp (parts[i], known[k]) == 0)
        break;
    if (k == G_N_ELEMENTS (known) || strlen (parts[i]) > 8) {
      amgw_ini_check_problem (loader->check, g, "codecs",
          "unknown codec \"%.16s\": use opus, G722, PCMU and PCMA", parts[i]);
      return;
    }
    if (seen & (1u << k)) {
      amgw_ini_check_problem (loader->check, g, "codecs", "%s is listed twice", known[k]);
      return;
    }
    seen |= 1u << k;
    g_strv_builder_add (builder, known[k]);
  }
  if (seen == 0) {
    amgw_ini_check_problem (loader->check, g, "codecs", "lists no codec");
    return;
  }
  g_strfreev (*out);
  *out = g_strv_builder_end (builder);
}

static void
load_media (Loader *loader)
{
  const char *g = "media";
  AmgwConfig *config = loader->config;
  guint port_min = config->rtp_port_min, port_max = config->rtp_port_max;

  check_known_keys (loader, g, media_keys);
  get_ip (loader, g, "public-ip", &config->media_public_ip);
  get_uint (loader, g, "rtp-port-min", CONFIG_MIN_RTP_PORT, 65535, &port_min);
  get_uint (loader, g, "rtp-port-max", CONFIG_MIN_RTP_PORT, 65535, &port_max);
  if (port_min >= port_max) {
    const char *at = amgw_ini_check_has_key (loader->check, g, "rtp-port-max")
        ? "rtp-port-max" : "rtp-port-min";
    amgw_ini_check_problem (loader->check, g, at,
        "rtp-port-min (%u) must be below rtp-port-max (%u)", port_min, port_max);
  }
  config->rtp_port_min = (guint16) port_min;
  config->rtp_port_max = (guint16) port_max;

  get_host_port (loader, g, "stun-server", 1, &config->stun_server);
  get_host_port (loader, g, "turn-server", 1, &config->turn_server);
  get_text (loader, g, "turn-user", AMGW_INI_MAX_VALUE_CHARS, &config->turn_user);
  get_secret (loader, g, "turn-password", 1, &config->turn_password);
  if (config->turn_server != NULL && (config->turn_user == NULL || config->turn_password == NULL))
    amgw_ini_check_problem (loader->check, g, "turn-server",
        "a TURN server needs turn-user and turn-password");
  load_interfaces (loader, g);
  get_uint (loader, g, "ice-timeout", CONFIG_MIN_TIMEOUT_MS, CONFIG_MAX_TIMEOUT_MS,
      &config->ice_timeout_ms);
  get_codecs (loader, g, &config->media_codecs);
  get_uint (loader, g, "jitter-buffer", 10, 500, &config->jitter_buffer_ms);
  get_uint (loader, g, "batching", 0, 5000, &config->batching_us);
  {
    g_autofree char *cert = amgw_ini_check_get_string (loader->check, g, "dtls-certificate");
    g_autofree char *key = amgw_ini_check_get_string (loader->check, g, "dtls-private-key");

    if ((cert == NULL) != (key == NULL))
      amgw_ini_check_problem (loader->check, g, cert ? "dtls-certificate" : "dtls-private-key",
          "dtls-certificate and dtls-private-key go together");
    g_free (config->dtls_certificate);
    g_free (config->dtls_private_key);
    config->dtls_certificate = cert ? resolve_path (loader->base_dir, cert) : NULL;
    config->dtls_private_key = key ? resolve_path (loader->base_dir, key) : NULL;
  }
}

/* A sip: or sips: URI with a host (for outbound-proxy and registrar). */
static void
get_sip_uri (Loader *loader, const char *group, const char *key, char **out)
{
  g_autofree char *s = amgw_ini_check_get_string (loader->check, group, key);
  const char *rest;

  if (s == NULL)
    return;
  if (g_ascii_strncasecmp (s, "sip:", 4) == 0)
    rest = s + 4;
  else if (g_ascii_strncasecmp (s, "sips:", 5) == 0)
    rest = s + 5;
  else {
    amgw_ini_check_problem (loader->check, group, key, "not a sip: or sips: URI");
    return;
  }
  if (strlen (s) > CONFIG_MAX_SIP_URI_CHARS) {
    amgw_ini_check_problem (loader->check, group, key, "longer than %d characters",
        CONFIG_MAX_SIP_URI_CHARS);
    return;
  }
  if (*rest == '\0' || *rest == ';' || *rest == ':' || strpbrk (s, " \t<>\"") != NULL) {
    amgw_ini_check_problem (loader->check, group, key,
        "not a valid SIP URI: expected sip:host[:port][;params]");
    return;
  }
  g_free (*out);
  *out = g_steal_pointer (&s);
}

/* A dial template: the Request-URI's user part, with {id}, {pin} and
 * {endpoint} as the only placeholders. */
static void
get_dial_template (Loader *loader, const char *group, const char *key, char **out)
{
  g_autofree char *s = amgw_ini_check_get_string (loader->check, group, key);

  if (s == NULL)
    return;
  if (g_utf8_strlen (s, -1) > CONFIG_MAX_DIAL_TEMPLATE_CHARS) {
    amgw_ini_check_problem (loader->check, group, key, "longer than %d characters",
        CONFIG_MAX_DIAL_TEMPLATE_CHARS);
    return;
  }
  for (const char *p = s; *p != '\0'; p++) {
    if (*p == '{') {
      if (g_str_has_prefix (p, "{id}") || g_str_has_prefix (p, "{pin}")
          || g_str_has_prefix (p, "{endpoint}")) {
        p = strchr (p, '}');
        continue;
      }
      amgw_ini_check_problem (loader->check, group, key,
          "unknown placeholder: use {id}, {pin} and {endpoint}");
      return;
    }
    if (*p == '}' || *p == '@' || g_ascii_isspace (*p)) {
      amgw_ini_check_problem (loader->check, group, key,
          "the template is the URI's user part: no '@', blanks or stray '}'");
      return;
    }
  }
  g_free (*out);
  *out = g_steal_pointer (&s);
}

static gboolean
get_dtmf (Loader *loader, const char *group, AmgwDtmfMode *out)
{
  g_autofree char *dtmf = amgw_ini_check_get_string (loader->check, group, "dtmf");

  if (dtmf == NULL)
    return FALSE;
  if (!amgw_dtmf_mode_from_string (dtmf, out)) {
    amgw_ini_check_problem (loader->check, group, "dtmf", "must be rfc4733, info or inband");
    return FALSE;
  }
  return TRUE;
}

static void
load_sip (Loader *loader)
{
  const char *g = "sip";
  AmgwConfig *config = loader->config;
  g_autofree char *ca_file = NULL;

  check_known_keys (loader, g, sip_keys);
  get_host_port (loader, g, "listen", 0, &config->sip_listen);
  get_ip (loader, g, "public-ip", &config->sip_public_ip);
  get_text (loader, g, "user", AMGW_INI_MAX_VALUE_CHARS, &config->sip_user);
  get_secret (loader, g, "password", 1, &config->sip_password);
  get_dtmf (loader, g, &config->sip_dtmf);
  get_sip_uri (loader, g, "outbound-proxy", &config->sip_outbound_proxy);
  get_bool (loader, g, "register", &config->sip_register);
  get_sip_uri (loader, g, "registrar", &config->sip_registrar);
  if (config->sip_register && config->sip_registrar == NULL
      && !amgw_ini_check_has_key (loader->check, g, "registrar"))
    amgw_ini_check_problem (loader->check, g, "register", "register = true needs a registrar");
  if (config->sip_register && config->sip_user == NULL)
    amgw_ini_check_problem (loader->check, g, "register", "register = true needs a user");
  ca_file = amgw_ini_check_get_string (loader->check, g, "ca-file");
  if (ca_file != NULL) {
    g_free (config->sip_ca_file);
    config->sip_ca_file = resolve_path (loader->base_dir, ca_file);
  }
  get_dial_template (loader, g, "dial-template", &config->sip_dial_template);
  get_uint (loader, g, "dtmf-pause", 0, CONFIG_MAX_DTMF_PAUSE_MS, &config->sip_dtmf_pause_ms);
  get_uint (loader, g, "invite-timeout", CONFIG_MIN_TIMEOUT_MS, CONFIG_MAX_TIMEOUT_MS,
      &config->sip_invite_timeout_ms);
  get_uint (loader, g, "session-expires", CONFIG_MIN_SESSION_EXPIRES_S,
      CONFIG_MAX_SESSION_EXPIRES_S, &config->sip_session_expires_s);
  get_uint (loader, g, "inactivity-timeout", CONFIG_MIN_TIMEOUT_MS, CONFIG_MAX_TIMEOUT_MS,
      &config->sip_inactivity_timeout_ms);  get_codecs (loader, g, &config->sip_codecs);
}

static void
load_provider (Loader *loader, const char *g)
{
  AmgwIniCheck *check = loader->check;
  g_autofree char *name = NULL, *folded = NULL;
  AmgwSipProvider *provider;

  name = g_strstrip (g_strdup (g + strlen ("provider")));
  if (*name == '\0') {
    amgw_ini_check_problem (check, g, NULL, "a provider group needs a name: [provider NAME]");
    return;
  }
  if (g_utf8_strlen (name, -1) > CONFIG_MAX_PROVIDER_NAME_CHARS) {
    amgw_ini_check_problem (check, g, NULL, "provider name longer than %d characters",
        CONFIG_MAX_PROVIDER_NAME_CHARS);
    return;
  }
  folded = g_utf8_casefold (name, -1);
  if (g_hash_table_contains (loader->provider_names, folded)) {
    const char *other = g_hash_table_lookup (loader->provider_names, folded);
    amgw_ini_check_problem (check, g, NULL,
        "provider %s is already at line %u (names match case-insensitively)", name,
        amgw_ini_check_get_line (check, other, NULL));
    return;
  }
  if (loader->config->sip_providers->len >= AMGW_MAX_PROVIDERS) {
    amgw_ini_check_problem (check, g, NULL, "too many providers (at most %d)", AMGW_MAX_PROVIDERS);
    return;
  }
  check_known_keys (loader, g, provider_keys);
  g_hash_table_insert (loader->provider_names, g_steal_pointer (&folded), (gpointer) g);

  provider = g_new0 (AmgwSipProvider, 1);
  provider->name = g_steal_pointer (&name);
  g_ptr_array_add (loader->config->sip_providers, provider);
  get_dial_template (loader, g, "dial-template", &provider->dial_template);
  provider->has_dtmf = get_dtmf (loader, g, &provider->dtmf);
  /* G_MAXUINT is out of range: still there after get_uint, the key was
   * absent, empty or wrong (a problem already). */
  provider->dtmf_pause_ms = G_MAXUINT;
  get_uint (loader, g, "dtmf-pause", 0, CONFIG_MAX_DTMF_PAUSE_MS, &provider->dtmf_pause_ms);
  provider->has_dtmf_pause = provider->dtmf_pause_ms != G_MAXUINT;
  if (!provider->has_dtmf_pause)
    provider->dtmf_pause_ms = 0;
}

static void
load_meetings (Loader *loader)
{
  const char *g = "meetings";
  g_autofree char *directory = NULL;

  check_known_keys (loader, g, meetings_keys);
  directory = amgw_ini_check_get_string (loader->check, g, "directory");
  if (directory != NULL) {
    g_free (loader->config->meetings_directory);
    loader->config->meetings_directory = resolve_path (loader->base_dir, directory);
  }
}

/* A required string: a problem when absent or empty (once: a value that
 * amgw_ini_check_get_string refused is already a problem).  (transfer full) */
static char *
get_required (Loader *loader, const char *group, const char *key)
{
  guint before = amgw_ini_check_n_problems (loader->check);
  char *s = amgw_ini_check_get_string (loader->check, group, key);

  if (s == NULL && amgw_ini_check_n_problems (loader->check) == before)
    amgw_ini_check_problem (loader->check, group, key, "%s (required)",
        amgw_ini_check_has_key (loader->check, group, key) ? "empty" : "missing");
  return s;
}

static void
load_room (Loader *loader, const char *g)
{
  AmgwIniCheck *check = loader->check;
  g_autofree char *name = NULL, *type = NULL;
  AmgwRoom *room;

  name = g_strstrip (g_strdup (g + strlen ("room")));
  if (*name == '\0') {
    amgw_ini_check_problem (check, g, NULL, "a room group needs a name: [room NAME]");
    return;
  }
  if (!room_name_is_valid (name)) {
    amgw_ini_check_problem (check, g, NULL,
        "invalid room name: at most %d characters, none of / ? # %% \\ \"",
        CONFIG_MAX_ROOM_NAME_CHARS);
    return;
  }
  if (g_hash_table_contains (loader->room_names, name)) {
    const char *other = g_hash_table_lookup (loader->room_names, name);
    amgw_ini_check_problem (check, g, NULL, "a room named %s is already at line %u", name,
        amgw_ini_check_get_line (check, other, NULL));
    return;
  }
  if (loader->config->rooms->len >= AMGW_MAX_ROOMS) {
    if (!loader->too_many_rooms)
      amgw_ini_check_problem (check, g, NULL, "too many rooms (at most %d)", AMGW_MAX_ROOMS);
    loader->too_many_rooms = TRUE;
    return;
  }

  check_known_keys (loader, g, room_keys);

  room = g_new0 (AmgwRoom, 1);
  room->name = g_steal_pointer (&name);
  g_hash_table_insert (loader->room_names, room->name, (gpointer) g);
  room->alexa_address_type = AMGW_ADDRESS_COMMUNICATION_PROFILE_ID;
  g_ptr_array_add (loader->config->rooms, room);

  room->endpoint_id = get_required (loader, g, "endpoint-id");
  if (room->endpoint_id == NULL) {
    /* reported */
  } else if (!endpoint_id_is_valid (room->endpoint_id)) {
    amgw_ini_check_problem (check, g, "endpoint-id",
        "must be 1 to %d characters of A-Z a-z 0-9 _ . : @ -", CONFIG_MAX_ENDPOINT_ID_CHARS);
  } else {
    const char *other = g_hash_table_lookup (loader->endpoint_ids, room->endpoint_id);
    if (other != NULL)
      amgw_ini_check_problem (check, g, "endpoint-id",
          "duplicate endpoint-id: [%s] at line %u has it too", other,
          amgw_ini_check_get_line (check, other, "endpoint-id"));
    else
      g_hash_table_insert (loader->endpoint_ids, room->endpoint_id, (gpointer) g);
  }

  get_text (loader, g, "friendly-name", CONFIG_MAX_FRIENDLY_NAME_CHARS, &room->friendly_name);
  if (room->friendly_name == NULL)
    room->friendly_name = g_strdup (room->name);

  room->token = get_required (loader, g, "token");

  type = amgw_ini_check_get_string (check, g, "alexa-address-type");
  if (type != NULL && !amgw_address_type_from_string (type, &room->alexa_address_type))
    amgw_ini_check_problem (check, g, "alexa-address-type",
        "must be COMMUNICATION_PROFILE_ID, PHONE_NUMBER or RAW_ADDRESS");

  room->alexa_address = get_required (loader, g, "alexa-address");
  if (room->alexa_address != NULL
      && g_utf8_strlen (room->alexa_address, -1) > CONFIG_MAX_ADDRESS_CHARS)
    amgw_ini_check_problem (check, g, "alexa-address", "longer than %d characters",
        CONFIG_MAX_ADDRESS_CHARS);

  get_bool (loader, g, "supports-scheduled-meeting", &room->supports_scheduled_meeting);
}

/* The folder relative paths resolve against: @name's folder, absolute. */
static char *
base_dir_for (const char *name)
{
  g_autofree char *dir = g_path_get_dirname (name);

  return g_canonicalize_filename (dir, NULL);
}

static AmgwConfig *
config_load (const char *data, gsize len, const char *name, GPtrArray *problems,
    GError **error)
{
  g_autoptr (AmgwIniCheck) check = amgw_ini_check_new (name);
  g_autoptr (AmgwConfig) config = NULL;
  g_autoptr (GHashTable) endpoint_ids = NULL;
  g_autoptr (GHashTable) room_names = NULL;
  g_autoptr (GHashTable) provider_names = NULL;
  g_autofree char *base_dir = NULL;
  g_auto (GStrv) groups = NULL;
  Loader loader;

  amgw_debug_init ();

  if (len > AMGW_MAX_CONFIG_BYTES)
    goto too_big;

  config = config_new_with_defaults (name);
  base_dir = base_dir_for (name);
  endpoint_ids = g_hash_table_new (g_str_hash, g_str_equal);
  room_names = g_hash_table_new (g_str_hash, g_str_equal);
  provider_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  loader = (Loader) { check, config, base_dir, endpoint_ids, room_names, FALSE, provider_names };

  amgw_ini_check_scan (check, data, len);
  groups = amgw_ini_check_get_groups (check);
  for (guint i = 0; groups[i] != NULL; i++) {
    const char *g = groups[i];

    if (strcmp (g, "gateway") == 0)
      load_gateway (&loader);
    else if (strcmp (g, "alexa") == 0)
      load_alexa (&loader);
    else if (strcmp (g, "media") == 0)
      load_media (&loader);
    else if (strcmp (g, "sip") == 0)
      load_sip (&loader);
    else if (strcmp (g, "meetings") == 0)
      load_meetings (&loader);
    else if (strcmp (g, "room") == 0 || g_str_has_prefix (g, "room "))
      load_room (&loader, g);
    else if (strcmp (g, "provider") == 0 || g_str_has_prefix (g, "provider "))
      load_provider (&loader, g);
    else
      amgw_ini_check_problem (check, g, NULL,
          "unknown group (known: gateway, alexa, media, sip, meetings, room NAME, provider NAME)");
  }
  if (!amgw_ini_check_finish (check, problems, AMGW_CONFIG_ERROR, AMGW_CONFIG_ERROR_INVALID,
          error)) {
    GST_INFO ("%s: %u problem(s)", name, amgw_ini_check_n_problems (check));
    return NULL;
  }
  GST_INFO ("%s: %u room(s), HTTP API on %s:%u, state in %s", name, config->rooms->len,
      config->listen_host, config->listen_port, config->state_dir);
  return g_steal_pointer (&config);

  /* ERRORS */
too_big:
  amgw_ini_check_problem (check, NULL, NULL, "larger than %d bytes (AMGW_MAX_CONFIG_BYTES)",
      AMGW_MAX_CONFIG_BYTES);
  amgw_ini_check_finish (check, problems, AMGW_CONFIG_ERROR, AMGW_CONFIG_ERROR_TOO_BIG, error);
  return NULL;
}

AmgwConfig *
amgw_config_load_file (const char *path, GPtrArray *problems, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) read_error = NULL;
  gsize len = 0;
  gboolean too_big = FALSE;
  AmgwConfig *config;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  amgw_debug_init ();
  if (!amgw_ini_read_file (path, AMGW_MAX_CONFIG_BYTES, &data, &len, &too_big, &read_error))
    goto read_failed;
  if (too_big) {
    g_autoptr (AmgwIniCheck) check = amgw_ini_check_new (path);
    amgw_ini_check_problem (check, NULL, NULL, "larger than %d bytes (AMGW_MAX_CONFIG_BYTES)",
        AMGW_MAX_CONFIG_BYTES);
    amgw_ini_check_finish (check, problems, AMGW_CONFIG_ERROR, AMGW_CONFIG_ERROR_TOO_BIG, error);
    return NULL;
  }
  config = config_load (data, len, path, problems, error);
  explicit_bzero (data, len);
  return config;

  /* ERRORS */
read_failed:
  GST_WARNING ("%s", read_error->message);
  if (problems != NULL)
    g_ptr_array_add (problems, g_strdup_printf ("%s:0: %s", path, read_error->message));
  g_set_error_literal (error, AMGW_CONFIG_ERROR, AMGW_CONFIG_ERROR_IO, read_error->message);
  return NULL;
}

AmgwConfig *
amgw_config_load_data (const char *data, gssize len, const char *name, GPtrArray *problems,
    GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len < 0)
    len = strlen (data);
  return config_load (data != NULL ? data : "", (gsize) len, name != NULL ? name : "<config>",
      problems, error);
}

static const char default_text[] =
  "# amgw configuration: an INI file read with GLib's GKeyFile.\n"
  "#\n"
  "# Lines are [group] headers, key = value pairs or # comments (';' does not\n"
  "# start a comment).  Names are case-sensitive.  An unknown group or key, a\n"
  "# key set twice and a group written twice are errors; `amgw --check-config\n"
  "# FILE` lists every problem with its line.  An empty value means \"not set\":\n"
  "# the default applies.  Blanks around a value are dropped; in values write\n"
  "# \\\\ for a backslash and \\s for a leading or trailing space.  Times are in\n"
  "# milliseconds.  Relative paths are relative to this file's folder.\n"
  "\n"
  "[gateway]\n"
  "# The HTTP API (directives, events, health, metrics): host:port or\n"
  "# [IPv6]:port.  Port 0 picks a free port.\n"
  "listen = 127.0.0.1:8080\n"
  "# The state database (amgw.db: tokens, active sessions, call records), in a\n"
  "# folder of mode 0700.  Empty: $XDG_DATA_HOME/amgw.\n"
  "state-dir =\n"
  "# The bearer secret the skill must send on /v1/alexa/*; at least 16\n"
  "# characters.  Not set: the daemon makes one (see README).\n"
  "#forwarding-secret =\n"
  "# Calls at the same time, 1 to 100000.\n"
  "max-calls = 100\n"
  "# SIGTERM drains: no new meetings, and the active ones may go on for this\n"
  "# long (seconds, 0 to 86400) before they are ended.  A second SIGTERM, or\n"
  "# SIGINT, stops at once.\n"
  "drain-timeout = 30\n"
  "# Above this share of all cores (percent, 1 to 100; 0: no limit) /readyz\n"
  "# answers 429.\n"
  "cpu-limit = 90\n"
  "\n"
  "[alexa]\n"
  "# The Alexa CallSignaling API; https://, or http:// to a loopback host only.\n"
  "api-url = https://api.amazonalexa.com\n"
  "# The Login with Amazon token endpoint; the same rule.\n"
  "lwa-url = https://api.amazon.com/auth/o2/token\n"
  "# The skill's Login with Amazon client.\n"
  "#client-id =\n"
  "#client-secret =\n"
  "# An optional bootstrap refresh token.  Tokens from AcceptGrant are kept in\n"
  "# the state database.\n"
  "#refresh-token =\n"
  "# One HTTP request to Alexa or LWA, 100 to 600000 ms.\n"
  "request-timeout = 10000\n"
  "# Retries after the first attempt, 0 to 10.\n"
  "max-retries = 4\n"
  "# InitiateInboundCall until CallRinging, 100 to 600000 ms.\n"
  "setup-timeout = 30000\n"
  "# Ringing until CallAccepted, 100 to 600000 ms.\n"
  "ring-timeout = 60000\n"
  "\n"
  "[media]\n"
  "# The address announced in SDP and ICE when behind NAT.\n"
  "#public-ip =\n"
  "# UDP ports for RTP, 1024 to 65535, rtp-port-min below rtp-port-max.\n"
  "rtp-port-min = 10000\n"
  "rtp-port-max = 20000\n"
  "# ICE servers, host:port.  A TURN server needs turn-user and turn-password.\n"
  "#stun-server =\n"
  "#turn-server =\n"
  "#turn-user =\n"
  "#turn-password =\n"
  "# Interfaces or addresses ICE may use, separated by ';' or ','.  Not set: all.\n"
  "#interfaces =\n"
  "# The DTLS certificate and key (PEM) of the WebRTC leg; not set: an ECDSA\n"
  "# P-256 certificate is made at every start.\n"
  "#dtls-certificate =\n"
  "#dtls-private-key =\n"
  "# ICE and the DTLS handshake must complete within this, 100 to 600000 ms.\n"
  "ice-timeout = 20000\n"
  "# The codecs offered to the Alexa device, in order of preference: opus,\n"
  "# G722, PCMU, PCMA.  When the device and the bridge end up with the same\n"
  "# codec, packets pass through untranscoded.\n"
  "codecs = opus, G722, PCMU, PCMA\n"
  "# The jitter buffer of transcoded media, 10 to 500 ms.\n"
  "jitter-buffer = 60\n"
  "# A busy media loop (woken twice within this many microseconds) polls its\n"
  "# sockets at most once per interval, handling what came meanwhile in one\n"
  "# go: up to this much delay per packet under load, much less CPU.  0 to\n"
  "# 5000; 0 polls for every packet.\n"
  "batching = 1000\n"
  "\n"
  "[sip]\n"
  "# The SIP user agent's address, host:port.  Not set: the SIP stack chooses.\n"
  "#listen =\n"
  "# The address announced in SIP (kept apart from [media] public-ip).\n"
  "#public-ip =\n"
  "# Digest credentials towards the bridge.\n"
  "#user =\n"
  "#password =\n"
  "# How DTMF (a meeting pin) reaches the bridge: rfc4733, info or inband.\n"
  "dtmf = rfc4733\n"
  "# Every request goes through this proxy when set: a sip: or sips: URI.\n"
  "#outbound-proxy =\n"
  "# Register with registrar (a sip: or sips: URI) as user.\n"
  "register = false\n"
  "#registrar =\n"
  "# PEM file of the CAs that verify SIPS bridges.  Not set: the system's.\n"
  "#ca-file =\n"
  "# The Request-URI's user part: sip:<template>@<endpoint>.  Placeholders:\n"
  "# {id}, {pin}, {endpoint}; a pin in the template is not sent as DTMF.\n"
  "dial-template = {id}\n"
  "# From the answer to the first DTMF digit of the pin, 0 to 60000 ms.\n"
  "dtmf-pause = 2000\n"
  "# No final answer to the INVITE within this: the call ends\n"
  "# (SESSION_TIMEOUT), 100 to 600000 ms.\n"
  "invite-timeout = 60000\n"
  "# Session timers (RFC 4028), 90 to 86400 seconds.\n"
  "session-expires = 1800\n"
  "# No RTP from the bridge for this long: the call ends, 100 to 600000 ms.\n"
  "inactivity-timeout = 30000\n"
  "# The codecs offered to meeting bridges, in order of preference.\n"
  "codecs = opus, G722, PCMU, PCMA\n"
  "\n"
  "[meetings]\n"
  "# The meeting directory: calendarEventId -> meeting (see meetings.ini).  It is\n"
  "# read again when it changes.\n"
  "#directory = meetings.ini\n"
  "\n"
  "# One group per Alexa endpoint (at most 1024):\n"
  "#\n"
  "# [room NAME]\n"
  "# # Required, unique: 1 to 256 characters of A-Z a-z 0-9 _ . : @ -\n"
  "# endpoint-id =\n"
  "# # Default: NAME.\n"
  "# friendly-name =\n"
  "# # Required: the account-linked bearer token of directive scopes.\n"
  "# token =\n"
  "# # COMMUNICATION_PROFILE_ID (default), PHONE_NUMBER or RAW_ADDRESS.\n"
  "# alexa-address-type = COMMUNICATION_PROFILE_ID\n"
  "# # Required: the Alexa device to call.\n"
  "# alexa-address =\n"
  "# supports-scheduled-meeting = false\n"
  "\n"
  "# Per meeting provider (JoinMeeting's meeting.provider, matched\n"
  "# case-insensitively; at most 256), overrides of [sip]:\n"
  "#\n"
  "# [provider NAME]\n"
  "# dial-template = {id}\n"
  "# dtmf = rfc4733\n"
  "# dtmf-pause = 2000\n";

const char *
amgw_config_default_text (void)
{
  return default_text;
}

AmgwConfig *
amgw_config_new_default (void)
{
  g_autoptr (GError) error = NULL;
  AmgwConfig *config;

  config = amgw_config_load_data (default_text, sizeof default_text - 1, EMBEDDED_DEFAULT_NAME,
      NULL, &error);
  /* The embedded text is tested; failing here is a bug. */
  g_assert_no_error (error);
  return config;
}

const AmgwRoom *
amgw_config_find_room (const AmgwConfig *config, const char *endpoint_id)
{
  g_return_val_if_fail (config != NULL, NULL);

  for (guint i = 0; endpoint_id != NULL && i < config->rooms->len; i++) {
    const AmgwRoom *room = g_ptr_array_index (config->rooms, i);
    if (g_strcmp0 (room->endpoint_id, endpoint_id) == 0)
      return room;
  }
  return NULL;
}

const AmgwSipProvider *
amgw_config_find_provider (const AmgwConfig *config, const char *name)
{
  g_return_val_if_fail (config != NULL, NULL);

  if (name == NULL || config->sip_providers == NULL)
    return NULL;
  for (guint i = 0; i < config->sip_providers->len; i++) {
    const AmgwSipProvider *provider = g_ptr_array_index (config->sip_providers, i);
    g_autofree char *a = g_utf8_casefold (provider->name, -1);
    g_autofree char *b = g_utf8_casefold (name, -1);

    if (strcmp (a, b) == 0)
      return provider;
  }
  return NULL;
}

const AmgwRoom *
amgw_config_find_room_by_name (const AmgwConfig *config, const char *name)
{
  g_return_val_if_fail (config != NULL, NULL);

  for (guint i = 0; name != NULL && i < config->rooms->len; i++) {
    const AmgwRoom *room = g_ptr_array_index (config->rooms, i);
    if (g_strcmp0 (room->name, name) == 0)
      return room;
  }
  return NULL;
}
