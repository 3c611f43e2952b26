/* amgw — the JSON amgw exchanges with Alexa (docs/WIRE.md sections 1 to 3).
 *
 * Bodies are checked before cJSON sees them (size, NUL bytes, UTF-8, nesting
 * depth: cJSON's parser recurses), then read member by member without
 * trusting any JSON type.  Error messages name the member by its path
 * ("request.sdpDetails.type") and never contain a token; SDP bodies are
 * logged at LOG level only.
 */
#include "amgw/wire.h"

#include "amgw/debug.h"
#include "amgw/util.h"

#include <string.h>

#define GST_CAT_DEFAULT amgw_wire_debug

G_DEFINE_QUARK (amgw-wire-error-quark, amgw_wire_error)

/* A private name for cJSON so its autoptr cannot clash with another module's. */
typedef cJSON WireJson;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WireJson, cJSON_Delete)

/* ---- names --------------------------------------------------------------- */

static const char *const signal_names[AMGW_SIGNAL_N] = {
  [AMGW_SIGNAL_INITIATE_INBOUND_CALL] = "InitiateInboundCall",
  [AMGW_SIGNAL_INITIATE_OUTBOUND_CALL] = "InitiateOutboundCall",
  [AMGW_SIGNAL_CALL_RINGING] = "CallRinging",
  [AMGW_SIGNAL_CALL_RINGING_ACK] = "CallRingingAck",
  [AMGW_SIGNAL_CALL_IN_PROGRESS] = "CallInProgress",
  [AMGW_SIGNAL_CALL_IN_PROGRESS_ACK] = "CallInProgressAck",
  [AMGW_SIGNAL_CALL_ACCEPTED] = "CallAccepted",
  [AMGW_SIGNAL_CALL_ACCEPTED_ACK] = "CallAcceptedAck",
  [AMGW_SIGNAL_CALL_UPDATE] = "CallUpdate",
  [AMGW_SIGNAL_CALL_UPDATE_RESPONSE] = "CallUpdateResponse",
  [AMGW_SIGNAL_CALL_UPDATE_ACK] = "CallUpdateAck",
  [AMGW_SIGNAL_CALL_ENDED] = "CallEnded",
};

static const char *const sdp_type_names[] = {
  [AMGW_SDP_NONE] = NULL,
  [AMGW_SDP_OFFER] = "OFFER",
  [AMGW_SDP_ANSWER] = "ANSWER",
};

static const char *const renegotiation_names[] = {
  [AMGW_RENEGOTIATION_NONE] = NULL,
  [AMGW_RENEGOTIATION_CALL_HOLD] = "CALL_HOLD",
  [AMGW_RENEGOTIATION_CALL_RESUME] = "CALL_RESUME",
  [AMGW_RENEGOTIATION_CALL_UPDATE] = "CALL_UPDATE",
};

static const char *const result_code_names[] = {
  [AMGW_RESULT_NONE] = NULL,
  [AMGW_RESULT_SUCCESS] = "SUCCESS",
  [AMGW_RESULT_DEVICE_BUSY] = "DEVICE_BUSY",
  [AMGW_RESULT_SESSION_TIMEOUT] = "SESSION_TIMEOUT",
  [AMGW_RESULT_UNAUTHORIZED] = "UNAUTHORIZED",
  [AMGW_RESULT_INTERNAL_ERROR] = "INTERNAL_ERROR",
};

static const char *
name_of (const char *const *names, guint n, guint value)
{
  return value < n ? names[value] : NULL;
}

static gboolean
value_of (const char *const *names, guint n, const char *name, guint *out)
{
  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++) {
    if (names[i] != NULL && strcmp (names[i], name) == 0) {
      *out = i;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
amgw_signal_type_name (AmgwSignalType t)
{
  return name_of (signal_names, G_N_ELEMENTS (signal_names), (guint) t);
}

const char *
amgw_sdp_type_name (AmgwSdpType t)
{
  return name_of (sdp_type_names, G_N_ELEMENTS (sdp_type_names), (guint) t);
}

const char *
amgw_renegotiation_name (AmgwRenegotiation r)
{
  return name_of (renegotiation_names, G_N_ELEMENTS (renegotiation_names), (guint) r);
}

const char *
amgw_result_code_name (AmgwResultCode c)
{
  return name_of (result_code_names, G_N_ELEMENTS (result_code_names), (guint) c);
}

gboolean
amgw_signal_type_from_name (const char *name, AmgwSignalType *out)
{
  guint v;

  g_return_val_if_fail (out != NULL, FALSE);
  if (name != NULL && g_str_has_prefix (name, AMGW_SIGNAL_TYPE_PREFIX))
    name += strlen (AMGW_SIGNAL_TYPE_PREFIX);
  if (!value_of (signal_names, G_N_ELEMENTS (signal_names), name, &v))
    return FALSE;
  *out = (AmgwSignalType) v;
  return TRUE;
}

gboolean
amgw_sdp_type_from_name (const char *name, AmgwSdpType *out)
{
  guint v;

  g_return_val_if_fail (out != NULL, FALSE);
  if (!value_of (sdp_type_names, G_N_ELEMENTS (sdp_type_names), name, &v))
    return FALSE;
  *out = (AmgwSdpType) v;
  return TRUE;
}

gboolean
amgw_renegotiation_from_name (const char *name, AmgwRenegotiation *out)
{
  guint v;

  g_return_val_if_fail (out != NULL, FALSE);
  if (!value_of (renegotiation_names, G_N_ELEMENTS (renegotiation_names), name, &v))
    return FALSE;
  *out = (AmgwRenegotiation) v;
  return TRUE;
}

gboolean
amgw_result_code_from_name (const char *name, AmgwResultCode *out)
{
  guint v;

  g_return_val_if_fail (out != NULL, FALSE);
  if (!value_of (result_code_names, G_N_ELEMENTS (result_code_names), name, &v))
    return FALSE;
  *out = (AmgwResultCode) v;
  return TRUE;
}

/* What each CallSignaling message carries, and who sends it (WIRE.md 1, 2). */
typedef struct {
  AmgwSdpType sdp;          /* NONE: no sdpDetails */
  gboolean renegotiation;   /* renegotiationType */
  gboolean participants;
  gboolean call_result;
  gboolean partner_sends;   /* section 1 */
  gboolean alexa_sends;     /* section 2 */
} SignalRule;

static const SignalRule signal_rules[AMGW_SIGNAL_N] = {
  [AMGW_SIGNAL_INITIATE_INBOUND_CALL] = { AMGW_SDP_OFFER, FALSE, TRUE, FALSE, TRUE, FALSE },
  [AMGW_SIGNAL_INITIATE_OUTBOUND_CALL] = { AMGW_SDP_OFFER, FALSE, TRUE, FALSE, FALSE, TRUE },
  [AMGW_SIGNAL_CALL_RINGING] = { AMGW_SDP_NONE, FALSE, FALSE, FALSE, TRUE, TRUE },
  [AMGW_SIGNAL_CALL_RINGING_ACK] = { AMGW_SDP_NONE, FALSE, FALSE, FALSE, TRUE, TRUE },
  [AMGW_SIGNAL_CALL_IN_PROGRESS] = { AMGW_SDP_ANSWER, FALSE, FALSE, FALSE, TRUE, TRUE },
  [AMGW_SIGNAL_CALL_IN_PROGRESS_ACK] = { AMGW_SDP_NONE, FALSE, FALSE, FALSE, TRUE, TRUE },
  [AMGW_SIGNAL_CALL_ACCEPTED] = { AMGW_SDP_ANSWER, FALSE, FALSE, FALSE, TRUE, TRUE },
  [AMGW_SIGNAL_CALL_ACCEPTED_ACK] = { AMGW_SDP_NONE, FALSE, FALSE, FALSE, TRUE, TRUE },
  [AMGW_SIGNAL_CALL_UPDATE] = { AMGW_SDP_OFFER, TRUE, FALSE, FALSE, TRUE, TRUE },
  [AMGW_SIGNAL_CALL_UPDATE_RESPONSE] = { AMGW_SDP_ANSWER, TRUE, FALSE, FALSE, TRUE, TRUE },
  [AMGW_SIGNAL_CALL_UPDATE_ACK] = { AMGW_SDP_NONE, FALSE, FALSE, FALSE, TRUE, TRUE },
  [AMGW_SIGNAL_CALL_ENDED] = { AMGW_SDP_NONE, FALSE, FALSE, TRUE, TRUE, TRUE },
};

/* ---- character classes --------------------------------------------------- */

/* Printable ASCII; never '"' or '\''; @allow_space for ' ', @allow_backslash for '\\'. */
static gboolean
is_ascii_word (const char *s, gsize max_len, gboolean allow_space, gboolean allow_backslash)
{
  gsize n;

  if (s == NULL)
    return FALSE;
  n = strnlen (s, max_len + 1);
  if (n == 0 || n > max_len)
    return FALSE;
  for (gsize i = 0; i < n; i++) {
    guchar c = (guchar) s[i];
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\'')
      return FALSE;
    if (c == ' ' && !allow_space)
      return FALSE;
    if (c == '\\' && !allow_backslash)
      return FALSE;
  }
  return TRUE;
}

/* Valid UTF-8 without control characters (C0, DEL, C1). */
static gboolean
is_plain_text (const char *s)
{
  if (s == NULL || !g_utf8_validate (s, -1, NULL))
    return FALSE;
  for (const char *p = s; *p != '\0'; p = g_utf8_next_char (p)) {
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return FALSE;
  }
  return TRUE;
}

/* An SDP body as text: valid UTF-8, no control character but CR, LF and TAB. */
static gboolean
is_sdp_text (const char *s, gsize len)
{
  if (!g_utf8_validate_len (s, len, NULL))
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    guchar c = (guchar) s[i];
    if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f)
      return FALSE;
  }
  return TRUE;
}

/* A meeting endpoint (host, URI): no whitespace, controls, invisible format
 * characters, quotes or backslashes, since it ends up in a SIP URI. */
static gboolean
is_meeting_endpoint (const char *s)
{
  gsize n = strnlen (s, AMGW_MAX_MEETING_ENDPOINT_LEN + 1);

  if (n == 0 || n > AMGW_MAX_MEETING_ENDPOINT_LEN || !g_utf8_validate (s, -1, NULL))
    return FALSE;
  for (const char *p = s; *p != '\0'; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    if (g_unichar_isspace (c) || g_unichar_iscntrl (c) || g_unichar_type (c) == G_UNICODE_FORMAT
        || c == '"' || c == '\'' || c == '\\')
      return FALSE;
  }
  return TRUE;
}

static gboolean
session_id_is_valid (const char *s)
{
  return is_ascii_word (s, AMGW_MAX_SESSION_ID_LEN, FALSE, FALSE);
}

/* We accept more than we produce (UUIDs): any printable ASCII but quotes. */
static gboolean
message_id_is_valid (const char *s)
{
  return is_ascii_word (s, AMGW_MAX_MESSAGE_ID_LEN, TRUE, TRUE);
}

/* Alexa allows letters, digits, spaces and _ - = # ; : ? @ &; we accept any
 * printable ASCII but quotes and backslashes (the value is echoed). */
static gboolean
endpoint_id_is_valid (const char *s)
{
  return is_ascii_word (s, AMGW_MAX_ENDPOINT_ID_LEN, TRUE, FALSE);
}

static gboolean
correlation_token_is_valid (const char *s)
{
  return is_ascii_word (s, AMGW_MAX_CORRELATION_TOKEN_LEN, FALSE, FALSE);
}

static gboolean
token_is_valid (const char *s)
{
  return is_ascii_word (s, AMGW_MAX_TOKEN_LEN, FALSE, FALSE);
}

/* For error messages and logs: a short, escaped rendering of a value that is
 * not a secret, so a hostile value cannot forge log lines.  (transfer full) */
static char *
shown (const char *s)
{
  g_autofree char *cut = NULL;

  if (s == NULL)
    return g_strdup ("(null)");
  cut = g_strndup (s, 48);
  if (strlen (s) > 48) {
    g_autofree char *esc = g_strescape (cut, NULL);
    return g_strdup_printf ("\"%s\"...", esc);
  } else {
    g_autofree char *esc = g_strescape (cut, NULL);
    return g_strdup_printf ("\"%s\"", esc);
  }
}

/* Lenient copy of an informational text: controls become spaces, invalid
 * UTF-8 becomes U+FFFD, and past AMGW_MAX_TEXT_LEN bytes it is cut on a
 * character boundary.  (transfer full) */
static char *
lenient_text (const char *s)
{
  g_autofree char *valid = g_utf8_make_valid (s, -1);
  GString *out = g_string_sized_new (MIN (strlen (valid), AMGW_MAX_TEXT_LEN));

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    gsize clen = (gsize) (g_utf8_next_char (p) - p);
    if (out->len + clen > AMGW_MAX_TEXT_LEN)
      break;
    if (g_unichar_iscntrl (c))
      g_string_append_c (out, ' ');
    else
      g_string_append_len (out, p, (gssize) clen);
  }
  return g_string_free (out, FALSE);
}

/* ---- reading JSON -------------------------------------------------------- */

/* Finds the first problem that cJSON must not see: nesting deeper than
 * AMGW_MAX_JSON_DEPTH (cJSON recurses per level), or an escaped NUL (\u0000),
 * which cJSON would turn into a silently shortened C string.  Brackets inside
 * strings do not count. */
static gboolean
scan_json_structure (const char *body, gsize len, gsize *where, const char **what)
{
  guint depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < len; i++) {
    char c = body[i];

    if (in_string) {
      if (c == '\\') {
        if (i + 5 < len && body[i + 1] == 'u' && memcmp (body + i + 2, "0000", 4) == 0) {
          *where = i;
          *what = "an escaped NUL (\\u0000) in a string";
          return FALSE;
        }
        i++;   /* the escaped character cannot end the string */
      } else if (c == '"') {
        in_string = FALSE;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = TRUE;
        break;
      case '[':
      case '{':
        if (++depth > AMGW_MAX_JSON_DEPTH) {
          *where = i;
          *what = "nesting deeper than " G_STRINGIFY (AMGW_MAX_JSON_DEPTH) " levels";
          return FALSE;
        }
        break;
      case ']':
      case '}':
        if (depth > 0)
          depth--;
        break;
      default:
        break;
    }
  }
  return TRUE;
}

/* Checks @body and parses it.  @what names the body in messages ("event",
 * "directive"); with @directive every code is INVALID_DIRECTIVE. */
static cJSON *
parse_json_text (const char *body, gsize len, gsize max_len, const char *what,
    gboolean directive, GError **error)
{
  g_autofree char *copy = NULL;
  const char *end = NULL, *problem = NULL;
  gsize where = 0;
  cJSON *root;

  if (body == NULL || len == 0)
    goto empty;
  if (len > max_len)
    goto too_big;
  if (memchr (body, '\0', len) != NULL)
    goto nul_byte;
  if (!g_utf8_validate_len (body, len, &end))
    goto not_utf8;
  if (!scan_json_structure (body, len, &where, &problem))
    goto bad_structure;

  /* cJSON gets a NUL-terminated copy, so it can never read past the body and
   * rejects trailing garbage. */
  copy = g_malloc (len + 1);
  memcpy (copy, body, len);
  copy[len] = '\0';
  root = cJSON_ParseWithLengthOpts (copy, len + 1, &end, TRUE);
  if (root == NULL)
    goto syntax;
  return root;

  /* ERRORS */
empty:
  {
    g_set_error (error, AMGW_WIRE_ERROR,
        directive ? AMGW_WIRE_ERROR_INVALID_DIRECTIVE : AMGW_WIRE_ERROR_INVALID_JSON,
        "%s: empty body", what);
    return NULL;
  }
too_big:
  {
    g_set_error (error, AMGW_WIRE_ERROR,
        directive ? AMGW_WIRE_ERROR_INVALID_DIRECTIVE : AMGW_WIRE_ERROR_TOO_BIG,
        "%s: body of %" G_GSIZE_FORMAT " bytes is over the limit of %" G_GSIZE_FORMAT,
        what, len, max_len);
    return NULL;
  }
nul_byte:
  {
    g_set_error (error, AMGW_WIRE_ERROR,
        directive ? AMGW_WIRE_ERROR_INVALID_DIRECTIVE : AMGW_WIRE_ERROR_INVALID_JSON,
        "%s: NUL byte at offset %" G_GSIZE_FORMAT, what,
        (gsize) ((const char *) memchr (body, '\0', len) - body));
    return NULL;
  }
not_utf8:
  {
    g_set_error (error, AMGW_WIRE_ERROR,
        directive ? AMGW_WIRE_ERROR_INVALID_DIRECTIVE : AMGW_WIRE_ERROR_INVALID_JSON,
        "%s: not valid UTF-8 at offset %" G_GSIZE_FORMAT, what, (gsize) (end - body));
    return NULL;
  }
bad_structure:
  {
    g_set_error (error, AMGW_WIRE_ERROR,
        directive ? AMGW_WIRE_ERROR_INVALID_DIRECTIVE : AMGW_WIRE_ERROR_INVALID_JSON,
        "%s: %s at offset %" G_GSIZE_FORMAT, what, problem, where);
    return NULL;
  }
syntax:
  {
    gsize at = end != NULL && end >= copy && end <= copy + len ? (gsize) (end - copy) : 0;
    g_set_error (error, AMGW_WIRE_ERROR,
        directive ? AMGW_WIRE_ERROR_INVALID_DIRECTIVE : AMGW_WIRE_ERROR_INVALID_JSON,
        "%s: invalid JSON near offset %" G_GSIZE_FORMAT, what, at);
    return NULL;
  }
}

/* How member readers report: in a directive every problem is INVALID_DIRECTIVE. */
typedef struct {
  gboolean directive;
} Reader;

static const Reader event_reader = { FALSE };
static const Reader directive_reader = { TRUE };

static void reader_fail (const Reader *r, GError **error, AmgwWireError code,
    const char *format, ...) G_GNUC_PRINTF (4, 5);

static void
reader_fail (const Reader *r, GError **error, AmgwWireError code, const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error_literal (error, AMGW_WIRE_ERROR,
      r->directive ? AMGW_WIRE_ERROR_INVALID_DIRECTIVE : code, msg);
}

/* @obj's member @key, compared case-sensitively (cJSON_GetObjectItem is not);
 * a JSON null counts as absent. */
static const cJSON *
member (const cJSON *obj, const char *key)
{
  const cJSON *m;

  if (!cJSON_IsObject (obj))
    return NULL;
  m = cJSON_GetObjectItemCaseSensitive (obj, key);
  return cJSON_IsNull (m) ? NULL : m;
}

static const char *
json_type_name (const cJSON *item)
{
  if (cJSON_IsString (item))
    return "a string";
  if (cJSON_IsNumber (item))
    return "a number";
  if (cJSON_IsBool (item))
    return "a boolean";
  if (cJSON_IsArray (item))
    return "an array";
  if (cJSON_IsObject (item))
    return "an object";
  return "something else";
}

/* Reads @path.@key as an object into *@out (NULL when absent and not @required). */
static gboolean
read_object (const Reader *r, const cJSON *parent, const char *path, const char *key,
    gboolean required, const cJSON **out, GError **error)
{
  const cJSON *m = member (parent, key);

  *out = NULL;
  if (m == NULL) {
    if (!required)
      return TRUE;
    reader_fail (r, error, AMGW_WIRE_ERROR_MISSING_FIELD, "%s.%s: missing", path, key);
    return FALSE;
  }
  if (!cJSON_IsObject (m)) {
    reader_fail (r, error, AMGW_WIRE_ERROR_WRONG_TYPE, "%s.%s: expected an object, got %s",
        path, key, json_type_name (m));
    return FALSE;
  }
  *out = m;
  return TRUE;
}

/* Reads @path.@key as a string of 1..@max_len bytes (transfer none).  An
 * empty optional string reads as absent; an empty required one is missing. */
static gboolean
read_string (const Reader *r, const cJSON *parent, const char *path, const char *key,
    gboolean required, gsize max_len, const char **out, GError **error)
{
  const cJSON *m = member (parent, key);
  gsize n;

  *out = NULL;
  if (m == NULL)
    goto absent;
  if (!cJSON_IsString (m) || m->valuestring == NULL)
    goto wrong_type;
  n = strnlen (m->valuestring, max_len + 1);
  if (n == 0)
    goto absent;
  if (n > max_len)
    goto too_long;
  *out = m->valuestring;
  return TRUE;

  /* ERRORS */
absent:
  {
    if (!required)
      return TRUE;
    reader_fail (r, error, AMGW_WIRE_ERROR_MISSING_FIELD, "%s.%s: missing", path, key);
    return FALSE;
  }
wrong_type:
  {
    reader_fail (r, error, AMGW_WIRE_ERROR_WRONG_TYPE, "%s.%s: expected a string, got %s",
        path, key, json_type_name (m));
    return FALSE;
  }
too_long:
  {
    reader_fail (r, error, AMGW_WIRE_ERROR_TOO_BIG,
        "%s.%s: longer than %" G_GSIZE_FORMAT " bytes", path, key, max_len);
    return FALSE;
  }
}

/* ---- signals: memory ----------------------------------------------------- */

static void
participant_free (gpointer p)
{
  AmgwParticipant *participant = p;

  g_free (participant->value);
  g_free (participant);
}

AmgwSignal *
amgw_signal_new (AmgwSignalType type, const char *session_id)
{
  AmgwSignal *s = g_new0 (AmgwSignal, 1);

  s->type = type;
  s->session_id = g_strdup (session_id);
  return s;
}

void
amgw_signal_free (AmgwSignal *s)
{
  if (s == NULL)
    return;
  g_free (s->session_id);
  g_free (s->sdp);
  g_clear_pointer (&s->participants, g_ptr_array_unref);
  g_free (s->caller_name);
  g_free (s->result_message);
  g_free (s);
}

void
amgw_signal_add_participant (AmgwSignal *s, AmgwAddressType type, const char *value,
    gboolean is_originator)
{
  AmgwParticipant *p;

  g_return_if_fail (s != NULL);

  if (s->participants == NULL)
    s->participants = g_ptr_array_new_with_free_func (participant_free);
  p = g_new0 (AmgwParticipant, 1);
  p->type = type;
  p->value = g_strdup (value);
  p->is_originator = is_originator;
  g_ptr_array_add (s->participants, p);
}

/* ---- signals: building (WIRE.md section 1) ------------------------------- */

static gboolean
check_sdp (AmgwSdpType sdp_type, const char *sdp, AmgwSdpType expected, const char *op,
    GError **error)
{
  gsize n;

  if (sdp_type != expected) {
    g_set_error (error, AMGW_WIRE_ERROR,
        sdp_type == AMGW_SDP_NONE ? AMGW_WIRE_ERROR_MISSING_FIELD : AMGW_WIRE_ERROR_INVALID_VALUE,
        "sdpDetails.type: expected \"%s\" for %s, got %s", amgw_sdp_type_name (expected), op,
        sdp_type == AMGW_SDP_NONE ? "none" : amgw_sdp_type_name (sdp_type) != NULL
        ? amgw_sdp_type_name (sdp_type) : "an unknown value");
    return FALSE;
  }
  if (sdp == NULL || sdp[0] == '\0') {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_MISSING_FIELD,
        "sdpDetails.value: missing for %s", op);
    return FALSE;
  }
  n = strnlen (sdp, AMGW_MAX_SDP_BYTES + 1);
  if (n > AMGW_MAX_SDP_BYTES) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_TOO_BIG,
        "sdpDetails.value: over %d bytes", AMGW_MAX_SDP_BYTES);
    return FALSE;
  }
  if (!is_sdp_text (sdp, n)) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "sdpDetails.value: not UTF-8 text (control characters other than CR, LF, TAB?)");
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_participant (const AmgwParticipant *p, guint i, GError **error)
{
  if (p == NULL || (guint) p->type > AMGW_ADDRESS_RAW_ADDRESS) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "participants[%u].id.type: not a known address type", i);
    return FALSE;
  }
  if (p->value == NULL || p->value[0] == '\0') {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_MISSING_FIELD,
        "participants[%u].id.value: missing", i);
    return FALSE;
  }
  if (strnlen (p->value, AMGW_MAX_ADDRESS_LEN + 1) > AMGW_MAX_ADDRESS_LEN) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_TOO_BIG,
        "participants[%u].id.value: longer than %d bytes", i, AMGW_MAX_ADDRESS_LEN);
    return FALSE;
  }
  if (!is_plain_text (p->value)) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "participants[%u].id.value: not UTF-8 text without control characters", i);
    return FALSE;
  }
  return TRUE;
}

/* InitiateInboundCall: 1..AMGW_MAX_PARTICIPANTS, exactly one originator, a callee. */
static gboolean
check_inbound_participants (const GPtrArray *participants, GError **error)
{
  guint originators = 0;

  if (participants == NULL || participants->len == 0) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_MISSING_FIELD,
        "participants: missing for InitiateInboundCall");
    return FALSE;
  }
  if (participants->len > AMGW_MAX_PARTICIPANTS) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_TOO_BIG,
        "participants: %u, more than %d", participants->len, AMGW_MAX_PARTICIPANTS);
    return FALSE;
  }
  for (guint i = 0; i < participants->len; i++) {
    const AmgwParticipant *p = g_ptr_array_index (participants, i);
    if (!check_participant (p, i, error))
      return FALSE;
    if (p->is_originator)
      originators++;
  }
  if (originators != 1) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "participants: expected exactly one originator, got %u", originators);
    return FALSE;
  }
  if (participants->len < 2) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_MISSING_FIELD,
        "participants: no callee (a participant that is not the originator)");
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_optional_text (const char *s, const char *what, GError **error)
{
  if (s == NULL)
    return TRUE;
  if (strnlen (s, AMGW_MAX_TEXT_LEN + 1) > AMGW_MAX_TEXT_LEN) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_TOO_BIG,
        "%s: longer than %d bytes", what, AMGW_MAX_TEXT_LEN);
    return FALSE;
  }
  if (!is_plain_text (s)) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "%s: not UTF-8 text without control characters", what);
    return FALSE;
  }
  return TRUE;
}

/* Everything amgw_signal_to_json() promises to check, in wire order. */
static gboolean
check_signal (const AmgwSignal *s, const SignalRule *rule, const char *op, GError **error)
{
  if (!session_id_is_valid (s->session_id)) {
    g_autofree char *v = shown (s->session_id);
    g_set_error (error, AMGW_WIRE_ERROR,
        s->session_id == NULL ? AMGW_WIRE_ERROR_MISSING_FIELD : AMGW_WIRE_ERROR_INVALID_VALUE,
        "sessionId: %s is not 1..%d printable ASCII characters without spaces or quotes",
        v, AMGW_MAX_SESSION_ID_LEN);
    return FALSE;
  }
  if (rule->participants && !check_inbound_participants (s->participants, error))
    return FALSE;
  if (rule->renegotiation && amgw_renegotiation_name (s->renegotiation) == NULL) {
    g_set_error (error, AMGW_WIRE_ERROR,
        s->renegotiation == AMGW_RENEGOTIATION_NONE ? AMGW_WIRE_ERROR_MISSING_FIELD
        : AMGW_WIRE_ERROR_INVALID_VALUE,
        "renegotiationType: missing or unknown for %s", op);
    return FALSE;
  }
  if (rule->sdp != AMGW_SDP_NONE && !check_sdp (s->sdp_type, s->sdp, rule->sdp, op, error))
    return FALSE;
  if (s->type == AMGW_SIGNAL_INITIATE_INBOUND_CALL
      && !check_optional_text (s->caller_name, "customParams.callerName", error))
    return FALSE;
  if (rule->call_result) {
    if (amgw_result_code_name (s->result_code) == NULL) {
      g_set_error (error, AMGW_WIRE_ERROR,
          s->result_code == AMGW_RESULT_NONE ? AMGW_WIRE_ERROR_MISSING_FIELD
          : AMGW_WIRE_ERROR_INVALID_VALUE,
          "callResult.code: missing or unknown for %s", op);
      return FALSE;
    }
    if (!check_optional_text (s->result_message, "callResult.message", error))
      return FALSE;
  }
  return TRUE;
}

/* cJSON's text, copied so that callers free it with g_free(). */
static char *
print_json (const cJSON *root)
{
  char *printed = cJSON_PrintUnformatted (root);
  char *out;

  if (printed == NULL)
    g_error ("amgw-wire: out of memory printing JSON");
  out = g_strdup (printed);
  cJSON_free (printed);
  return out;
}

char *
amgw_signal_to_json (const AmgwSignal *s, GError **out_error)
{
  /* Errors are made locally so that the log has them whatever the caller asked. */
  GError *local = NULL, **error = &local;
  g_autoptr (WireJson) root = NULL;
  g_autofree char *type = NULL;
  const SignalRule *rule;
  const char *op = NULL;
  char *out;

  g_return_val_if_fail (s != NULL, NULL);
  g_return_val_if_fail (out_error == NULL || *out_error == NULL, NULL);

  op = amgw_signal_type_name (s->type);
  if (op == NULL)
    goto unknown_type;
  rule = &signal_rules[s->type];
  if (!rule->partner_sends)
    goto not_ours;
  if (!check_signal (s, rule, op, error))
    goto invalid;

  root = cJSON_CreateObject ();
  type = g_strconcat (AMGW_SIGNAL_TYPE_PREFIX, op, NULL);
  cJSON_AddStringToObject (root, "type", type);
  cJSON_AddStringToObject (root, "sessionId", s->session_id);
  if (rule->participants) {
    cJSON *array = cJSON_AddArrayToObject (root, "participants");
    for (guint i = 0; i < s->participants->len; i++) {
      const AmgwParticipant *p = g_ptr_array_index (s->participants, i);
      cJSON *item = cJSON_CreateObject ();
      cJSON *id = cJSON_AddObjectToObject (item, "id");
      cJSON_AddStringToObject (id, "type", amgw_address_type_to_string (p->type));
      cJSON_AddStringToObject (id, "value", p->value);
      cJSON_AddBoolToObject (item, "isOriginator", p->is_originator);
      cJSON_AddItemToArray (array, item);
    }
  }
  if (rule->renegotiation)
    cJSON_AddStringToObject (root, "renegotiationType", amgw_renegotiation_name (s->renegotiation));
  if (rule->sdp != AMGW_SDP_NONE) {
    cJSON *sdp = cJSON_AddObjectToObject (root, "sdpDetails");
    cJSON_AddStringToObject (sdp, "type", amgw_sdp_type_name (s->sdp_type));
    cJSON_AddStringToObject (sdp, "value", s->sdp);
  }
  if (s->type == AMGW_SIGNAL_INITIATE_INBOUND_CALL && s->caller_name != NULL) {
    cJSON *custom = cJSON_AddObjectToObject (root, "customParams");
    cJSON_AddStringToObject (custom, "callerName", s->caller_name);
  }
  if (rule->call_result) {
    cJSON *result = cJSON_AddObjectToObject (root, "callResult");
    cJSON_AddStringToObject (result, "code", amgw_result_code_name (s->result_code));
    if (s->result_message != NULL)
      cJSON_AddStringToObject (result, "message", s->result_message);
  }

  out = print_json (root);
  GST_DEBUG ("[%s] built %s", s->session_id, op);
  if (rule->sdp != AMGW_SDP_NONE)
    GST_LOG ("[%s] %s SDP:\n%s", s->session_id, op, s->sdp);
  return out;

  /* ERRORS */
unknown_type:
  {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "type: %d is not a CallSignaling operation", (int) s->type);
    goto invalid;
  }
not_ours:
  {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "type: %s is sent by Alexa, never to it", op);
    goto invalid;
  }
invalid:
  {
    GST_DEBUG ("cannot build %s: %s", op != NULL ? op : "a signal", local->message);
    g_propagate_error (out_error, local);
    return NULL;
  }
}

/* ---- signals: parsing (WIRE.md section 2) -------------------------------- */

static gboolean
read_sdp_details (const cJSON *request, AmgwSdpType expected, const char *op, AmgwSignal *s,
    GError **error)
{
  const Reader *r = &event_reader;
  const cJSON *details;
  const char *type, *value;
  AmgwSdpType sdp_type;
  gsize n;

  if (!read_object (r, request, "request", "sdpDetails", TRUE, &details, error))
    return FALSE;
  if (!read_string (r, details, "request.sdpDetails", "type", TRUE, 16, &type, error))
    return FALSE;
  if (!amgw_sdp_type_from_name (type, &sdp_type) || sdp_type != expected) {
    g_autofree char *v = shown (type);
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "request.sdpDetails.type: expected \"%s\" for %s, got %s",
        amgw_sdp_type_name (expected), op, v);
    return FALSE;
  }
  if (!read_string (r, details, "request.sdpDetails", "value", TRUE, AMGW_MAX_SDP_BYTES, &value,
          error))
    return FALSE;
  n = strlen (value);
  if (!is_sdp_text (value, n)) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "request.sdpDetails.value: control characters other than CR, LF, TAB");
    return FALSE;
  }
  s->sdp_type = sdp_type;
  s->sdp = g_strndup (value, n);
  return TRUE;
}

/* InitiateOutboundCall: participants with a callee.  Participants with an
 * id type we do not know are skipped (a newer Alexa may add types). */
static gboolean
read_participants (const cJSON *request, AmgwSignal *s, GError **error)
{
  const Reader *r = &event_reader;
  const cJSON *array = member (request, "participants");
  const cJSON *item;
  guint i = 0, callees = 0;

  if (array == NULL)
    goto missing;
  if (!cJSON_IsArray (array))
    goto wrong_type;
  if (cJSON_GetArraySize (array) > AMGW_MAX_PARTICIPANTS)
    goto too_many;

  cJSON_ArrayForEach (item, array) {
    g_autofree char *path = g_strdup_printf ("request.participants[%u]", i);
    g_autofree char *id_path = g_strdup_printf ("request.participants[%u].id", i);
    const cJSON *id, *originator;
    const char *type, *value;
    AmgwAddressType address_type;
    gboolean is_originator = FALSE;

    i++;
    if (!cJSON_IsObject (item)) {
      g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_WRONG_TYPE,
          "%s: expected an object, got %s", path, json_type_name (item));
      return FALSE;
    }
    if (!read_object (r, item, path, "id", TRUE, &id, error)
        || !read_string (r, id, id_path, "type", TRUE, AMGW_MAX_FIELD_LEN, &type, error)
        || !read_string (r, id, id_path, "value", TRUE, AMGW_MAX_ADDRESS_LEN, &value, error))
      return FALSE;
    if (!is_plain_text (value)) {
      g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
          "%s.value: control characters", id_path);
      return FALSE;
    }
    /* isOriginator: "if not set, the default is false" (seed 000). */
    originator = member (item, "isOriginator");
    if (originator != NULL) {
      if (!cJSON_IsBool (originator)) {
        g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_WRONG_TYPE,
            "%s.isOriginator: expected a boolean, got %s", path, json_type_name (originator));
        return FALSE;
      }
      is_originator = cJSON_IsTrue (originator);
    }
    if (!amgw_address_type_from_string (type, &address_type)) {
      g_autofree char *v = shown (type);
      GST_DEBUG ("[%s] skipping %s of unknown id type %s", s->session_id, path, v);
      continue;
    }
    amgw_signal_add_participant (s, address_type, value, is_originator);
    if (!is_originator)
      callees++;
  }
  if (callees == 0)
    goto no_callee;
  return TRUE;

  /* ERRORS */
missing:
  {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_MISSING_FIELD,
        "request.participants: missing for InitiateOutboundCall");
    return FALSE;
  }
wrong_type:
  {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_WRONG_TYPE,
        "request.participants: expected an array, got %s", json_type_name (array));
    return FALSE;
  }
too_many:
  {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_TOO_BIG,
        "request.participants: more than %d", AMGW_MAX_PARTICIPANTS);
    return FALSE;
  }
no_callee:
  {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "request.participants: no callee (a participant that is not the originator)");
    return FALSE;
  }
}

static gboolean
read_call_result (const cJSON *request, AmgwSignal *s, GError **error)
{
  const Reader *r = &event_reader;
  const cJSON *result, *message;
  const char *code;

  if (!read_object (r, request, "request", "callResult", TRUE, &result, error))
    return FALSE;
  if (!read_string (r, result, "request.callResult", "code", TRUE, AMGW_MAX_FIELD_LEN, &code,
          error))
    return FALSE;
  if (!amgw_result_code_from_name (code, &s->result_code)) {
    g_autofree char *v = shown (code);
    /* Lenient: a call that ended must end here too, whatever the reason. */
    GST_DEBUG ("[%s] unknown callResult.code %s, reading it as INTERNAL_ERROR",
        s->session_id, v);
    s->result_code = AMGW_RESULT_INTERNAL_ERROR;
  }
  message = member (result, "message");
  if (message != NULL) {
    if (!cJSON_IsString (message) || message->valuestring == NULL) {
      g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_WRONG_TYPE,
          "request.callResult.message: expected a string, got %s", json_type_name (message));
      return FALSE;
    }
    s->result_message = lenient_text (message->valuestring);
  }
  return TRUE;
}

static gboolean
read_caller_name (const cJSON *request, AmgwSignal *s, GError **error)
{
  const Reader *r = &event_reader;
  const cJSON *custom, *name;

  if (!read_object (r, request, "request", "customParams", FALSE, &custom, error))
    return FALSE;
  name = member (custom, "callerName");
  if (name == NULL)
    return TRUE;
  if (!cJSON_IsString (name) || name->valuestring == NULL) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_WRONG_TYPE,
        "request.customParams.callerName: expected a string, got %s", json_type_name (name));
    return FALSE;
  }
  if (name->valuestring[0] != '\0')
    s->caller_name = lenient_text (name->valuestring);
  return TRUE;
}

AmgwSignal *
amgw_signal_parse_event (const char *body, gsize len, GError **out_error)
{
  GError *local = NULL, **error = &local;
  const Reader *r = &event_reader;
  g_autoptr (WireJson) root = NULL;
  g_autoptr (AmgwSignal) s = NULL;
  const cJSON *request, *version, *context, *session;
  const char *type, *session_id;
  const SignalRule *rule;
  AmgwSignalType t;
  const char *op = NULL;

  g_return_val_if_fail (out_error == NULL || *out_error == NULL, NULL);

  root = parse_json_text (body, len, AMGW_MAX_EVENT_BYTES, "event", FALSE, error);
  if (root == NULL)
    goto failed;
  if (!cJSON_IsObject (root))
    goto not_object;

  /* The envelope's other members are not used, but their types are checked. */
  version = member (root, "version");
  context = member (root, "context");
  session = member (root, "session");
  if ((version != NULL && !cJSON_IsString (version))
      || (context != NULL && !cJSON_IsObject (context))
      || (session != NULL && !cJSON_IsObject (session)))
    goto bad_envelope;

  if (!read_object (r, root, "event", "request", TRUE, &request, error)
      || !read_string (r, request, "request", "type", TRUE, AMGW_MAX_FIELD_LEN, &type, error))
    goto failed;
  if (!amgw_signal_type_from_name (type, &t))
    goto unknown_type;
  rule = &signal_rules[t];
  op = amgw_signal_type_name (t);
  if (!rule->alexa_sends)
    goto not_theirs;
  if (!read_string (r, request, "request", "sessionId", TRUE, AMGW_MAX_SESSION_ID_LEN, &session_id,
          error))
    goto failed;
  if (!session_id_is_valid (session_id))
    goto bad_session_id;

  s = amgw_signal_new (t, session_id);
  if (rule->renegotiation) {
    const char *reneg;
    if (!read_string (r, request, "request", "renegotiationType", TRUE, AMGW_MAX_FIELD_LEN, &reneg,
            error))
      goto failed;
    if (!amgw_renegotiation_from_name (reneg, &s->renegotiation)) {
      g_autofree char *v = shown (reneg);
      g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
          "request.renegotiationType: %s is not CALL_HOLD, CALL_RESUME or CALL_UPDATE", v);
      goto failed;
    }
  }
  if (rule->sdp != AMGW_SDP_NONE && !read_sdp_details (request, rule->sdp, op, s, error))
    goto failed;
  if (rule->participants
      && (!read_participants (request, s, error) || !read_caller_name (request, s, error)))
    goto failed;
  if (rule->call_result && !read_call_result (request, s, error))
    goto failed;

  GST_DEBUG ("[%s] parsed %s", s->session_id, op);
  if (s->sdp != NULL)
    GST_LOG ("[%s] %s SDP:\n%s", s->session_id, op, s->sdp);
  return g_steal_pointer (&s);

  /* ERRORS */
not_object:
  {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_EVENT,
        "event: expected a JSON object, got %s", json_type_name (root));
    goto failed;
  }
bad_envelope:
  {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_WRONG_TYPE,
        "event: version must be a string, context and session objects");
    goto failed;
  }
unknown_type:
  {
    g_autofree char *v = shown (type);
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_EVENT,
        "request.type: %s is not an Alexa.Comms.CallSignaling event", v);
    goto failed;
  }
not_theirs:
  {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_EVENT,
        "request.type: %s is sent to Alexa, never by it", op);
    goto failed;
  }
bad_session_id:
  {
    g_autofree char *v = shown (session_id);
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "request.sessionId: %s is not 1..%d printable ASCII characters without spaces or quotes",
        v, AMGW_MAX_SESSION_ID_LEN);
    goto failed;
  }
failed:
  {
    GST_DEBUG ("rejected an event: %s", local->message);
    g_propagate_error (out_error, local);
    return NULL;
  }
}

/* ---- directives (WIRE.md section 3) -------------------------------------- */

static const struct {
  const char *namespace_, *name;
  AmgwDirectiveKind kind;
} directive_kinds[] = {
  { "Alexa.Discovery", "Discover", AMGW_DIRECTIVE_DISCOVER },
  { "Alexa.MeetingClientController", "JoinMeeting", AMGW_DIRECTIVE_JOIN_MEETING },
  { "Alexa.MeetingClientController", "EndMeeting", AMGW_DIRECTIVE_END_MEETING },
  { "Alexa.MeetingClientController", "JoinScheduledMeeting", AMGW_DIRECTIVE_JOIN_SCHEDULED_MEETING },
  { "Alexa.Calendar", "GetCurrentMeeting", AMGW_DIRECTIVE_GET_CURRENT_MEETING },
  { "Alexa.Authorization", "AcceptGrant", AMGW_DIRECTIVE_ACCEPT_GRANT },
};

const char *
amgw_directive_kind_name (AmgwDirectiveKind kind)
{
  for (guint i = 0; i < G_N_ELEMENTS (directive_kinds); i++) {
    if (directive_kinds[i].kind == kind)
      return directive_kinds[i].name;
  }
  return "Unknown";
}

void
amgw_directive_free (AmgwDirective *d)
{
  if (d == NULL)
    return;
  g_free (d->namespace_);
  g_free (d->name);
  g_free (d->message_id);
  g_free (d->correlation_token);
  g_free (d->payload_version);
  g_free (d->endpoint_id);
  g_free (d->scope_type);
  g_free (d->scope_token);
  g_free (d->scope_partition);
  g_free (d->scope_user_id);
  g_free (d->meeting_id);
  g_free (d->meeting_pin);
  g_free (d->meeting_endpoint);
  g_free (d->meeting_protocol);
  g_free (d->meeting_provider);
  g_free (d->calendar_event_id);
  g_free (d->grant_type);
  g_free (d->grant_code);
  g_free (d->grantee_token);
  if (d->endpoint_json != NULL)
    cJSON_Delete (d->endpoint_json);
  g_free (d);
}

static gboolean
directive_invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
directive_invalid (GError **error, const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error_literal (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, msg);
  return FALSE;
}

/* What an ErrorResponse echoes, taken quietly before the strict reading so
 * that it is there even when that fails: correlationToken, endpointId and a
 * copy of the endpoint, each only when well formed. */
static void
capture_echo (AmgwDirective *d, const cJSON *header, const cJSON *endpoint)
{
  const cJSON *token = member (header, "correlationToken");
  const cJSON *endpoint_id;

  if (cJSON_IsString (token) && correlation_token_is_valid (token->valuestring))
    d->correlation_token = g_strdup (token->valuestring);
  if (!cJSON_IsObject (endpoint))
    return;
  d->endpoint_json = cJSON_Duplicate (endpoint, TRUE);
  endpoint_id = member (endpoint, "endpointId");
  if (cJSON_IsString (endpoint_id) && endpoint_id_is_valid (endpoint_id->valuestring))
    d->endpoint_id = g_strdup (endpoint_id->valuestring);
}

/* Header names: printable ASCII without spaces or quotes. */
static gboolean
read_header_word (const cJSON *header, const char *key, gsize max_len, char **out,
    GError **error)
{
  const char *v;

  if (!read_string (&directive_reader, header, "directive.header", key, TRUE, max_len, &v, error))
    return FALSE;
  if (!is_ascii_word (v, max_len, FALSE, FALSE)) {
    g_autofree char *shown_v = shown (v);
    return directive_invalid (error, "directive.header.%s: %s has characters that are not allowed",
        key, shown_v);
  }
  *out = g_strdup (v);
  return TRUE;
}

static gboolean
read_header (AmgwDirective *d, const cJSON *header, GError **error)
{
  const Reader *r = &directive_reader;
  const char *message_id, *token;

  if (!read_header_word (header, "namespace", AMGW_MAX_FIELD_LEN, &d->namespace_, error)
      || !read_header_word (header, "name", AMGW_MAX_FIELD_LEN, &d->name, error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (directive_kinds); i++) {
    if (strcmp (directive_kinds[i].namespace_, d->namespace_) == 0
        && strcmp (directive_kinds[i].name, d->name) == 0)
      d->kind = directive_kinds[i].kind;
  }

  if (!read_string (r, header, "directive.header", "messageId", TRUE, AMGW_MAX_MESSAGE_ID_LEN,
          &message_id, error))
    return FALSE;
  if (!message_id_is_valid (message_id))
    return directive_invalid (error,
        "directive.header.messageId: not 1..%d printable ASCII characters without quotes",
        AMGW_MAX_MESSAGE_ID_LEN);
  d->message_id = g_strdup (message_id);

  /* Already captured when valid; here an invalid one becomes an error. */
  if (!read_string (r, header, "directive.header", "correlationToken", FALSE,
          AMGW_MAX_CORRELATION_TOKEN_LEN, &token, error))
    return FALSE;
  if (token != NULL && !correlation_token_is_valid (token))
    return directive_invalid (error,
        "directive.header.correlationToken: not printable ASCII without spaces or quotes");

  if (!read_header_word (header, "payloadVersion", 8, &d->payload_version, error))
    return FALSE;
  if (strcmp (d->payload_version, "3") != 0) {
    g_autofree char *v = shown (d->payload_version);
    return directive_invalid (error, "directive.header.payloadVersion: expected \"3\", got %s", v);
  }
  return TRUE;
}

/* endpoint.scope, or payload.scope for Discover.  The token is never shown. */
static gboolean
read_scope (AmgwDirective *d, const cJSON *parent, const char *path, GError **error)
{
  const Reader *r = &directive_reader;
  g_autofree char *scope_path = g_strconcat (path, ".scope", NULL);
  const cJSON *scope;
  const char *type, *token, *partition, *user_id;

  if (!read_object (r, parent, path, "scope", TRUE, &scope, error)
      || !read_string (r, scope, scope_path, "type", TRUE, AMGW_MAX_FIELD_LEN, &type, error))
    return FALSE;
  if (strcmp (type, "BearerToken") != 0 && strcmp (type, "BearerTokenWithPartition") != 0) {
    g_autofree char *v = shown (type);
    return directive_invalid (error,
        "%s.type: expected \"BearerToken\" or \"BearerTokenWithPartition\", got %s", scope_path, v);
  }
  d->scope_type = g_strdup (type);
  if (!read_string (r, scope, scope_path, "token", TRUE, AMGW_MAX_TOKEN_LEN, &token, error))
    return FALSE;
  if (!token_is_valid (token))
    return directive_invalid (error, "%s.token: not printable ASCII without spaces or quotes",
        scope_path);
  d->scope_token = g_strdup (token);
  if (!read_string (r, scope, scope_path, "partition", FALSE, AMGW_MAX_FIELD_LEN, &partition, error)
      || !read_string (r, scope, scope_path, "userId", FALSE, AMGW_MAX_FIELD_LEN, &user_id, error))
    return FALSE;
  if ((partition != NULL && !is_plain_text (partition))
      || (user_id != NULL && !is_plain_text (user_id)))
    return directive_invalid (error, "%s: partition or userId has control characters", scope_path);
  d->scope_partition = g_strdup (partition);
  d->scope_user_id = g_strdup (user_id);
  return TRUE;
}

static gboolean
read_endpoint (AmgwDirective *d, const cJSON *directive, GError **error)
{
  const Reader *r = &directive_reader;
  const cJSON *endpoint;
  const char *endpoint_id;

  if (!read_object (r, directive, "directive", "endpoint", TRUE, &endpoint, error)
      || !read_string (r, endpoint, "directive.endpoint", "endpointId", TRUE,
          AMGW_MAX_ENDPOINT_ID_LEN, &endpoint_id, error))
    return FALSE;
  if (!endpoint_id_is_valid (endpoint_id))
    return directive_invalid (error,
        "directive.endpoint.endpointId: not 1..%d printable ASCII characters without quotes",
        AMGW_MAX_ENDPOINT_ID_LEN);
  if (d->endpoint_id == NULL)
    d->endpoint_id = g_strdup (endpoint_id);
  return read_scope (d, endpoint, "directive.endpoint", error);
}

/* A meeting string member that Alexa types as a string: absent (NULL, when
 * not @required) or a string; a wrong type is INVALID_DIRECTIVE.  Its value
 * is the caller's to check. */
static gboolean
read_meeting_string (const cJSON *meeting, const char *key, gboolean required, const char **out,
    GError **error)
{
  const cJSON *m = member (meeting, key);

  *out = NULL;
  if (m == NULL) {
    if (required)
      return directive_invalid (error, "directive.payload.meeting.%s: missing", key);
    return TRUE;
  }
  if (!cJSON_IsString (m) || m->valuestring == NULL)
    return directive_invalid (error, "directive.payload.meeting.%s: expected a string, got %s",
        key, json_type_name (m));
  *out = m->valuestring;
  return TRUE;
}

/* An optional meeting text (id, pin): INVALID_VALUE when unusable.  Empty
 * reads as absent.  Values are not shown: a pin is private. */
static gboolean
read_meeting_text (const cJSON *meeting, const char *key, char **out, GError **error)
{
  const char *v;

  if (!read_meeting_string (meeting, key, FALSE, &v, error))
    return FALSE;
  if (v == NULL || v[0] == '\0')
    return TRUE;
  if (strnlen (v, AMGW_MAX_FIELD_LEN + 1) > AMGW_MAX_FIELD_LEN || !is_plain_text (v)) {
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "directive.payload.meeting.%s: longer than %d bytes or control characters", key,
        AMGW_MAX_FIELD_LEN);
    return FALSE;
  }
  *out = g_strdup (v);
  return TRUE;
}

static gboolean
read_meeting (AmgwDirective *d, const cJSON *payload, GError **error)
{
  const Reader *r = &directive_reader;
  const char *path = "directive.payload.meeting";
  const cJSON *meeting;
  const char *endpoint, *protocol, *provider;
  static const char *const protocols[] = { "SIP", "SIPS", "H323" };

  if (!read_object (r, payload, "directive.payload", "meeting", TRUE, &meeting, error))
    return FALSE;

  if (!read_meeting_string (meeting, "endpoint", TRUE, &endpoint, error))
    return FALSE;
  if (!is_meeting_endpoint (endpoint)) {
    g_autofree char *v = shown (endpoint);
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "%s.endpoint: %s is not a host or URI of 1..%d bytes without spaces, controls "
        "or quotes", path, v, AMGW_MAX_MEETING_ENDPOINT_LEN);
    return FALSE;
  }
  d->meeting_endpoint = g_strdup (endpoint);

  if (!read_meeting_string (meeting, "protocol", TRUE, &protocol, error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (protocols); i++) {
    if (g_ascii_strcasecmp (protocol, protocols[i]) == 0)
      d->meeting_protocol = g_strdup (protocols[i]);
  }
  if (d->meeting_protocol == NULL) {
    g_autofree char *v = shown (protocol);
    g_set_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE,
        "%s.protocol: %s is not SIP, SIPS or H323", path, v);
    return FALSE;
  }

  if (!read_string (r, meeting, path, "provider", TRUE, AMGW_MAX_FIELD_LEN, &provider, error))
    return FALSE;
  if (!is_plain_text (provider))
    return directive_invalid (error, "%s.provider: control characters", path);
  d->meeting_provider = g_strdup (provider);

  return read_meeting_text (meeting, "id", &d->meeting_id, error)
      && read_meeting_text (meeting, "pin", &d->meeting_pin, error);
}

static gboolean
read_grant (AmgwDirective *d, const cJSON *payload, GError **error)
{
  const Reader *r = &directive_reader;
  const cJSON *grant, *grantee;
  const char *type, *code, *token;

  if (!read_object (r, payload, "directive.payload", "grant", TRUE, &grant, error)
      || !read_string (r, grant, "directive.payload.grant", "type", TRUE, AMGW_MAX_FIELD_LEN,
          &type, error))
    return FALSE;
  if (strcmp (type, "OAuth2.AuthorizationCode") != 0) {
    g_autofree char *v = shown (type);
    return directive_invalid (error,
        "directive.payload.grant.type: expected \"OAuth2.AuthorizationCode\", got %s", v);
  }
  d->grant_type = g_strdup (type);
  if (!read_string (r, grant, "directive.payload.grant", "code", TRUE, AMGW_MAX_TOKEN_LEN, &code,
          error))
    return FALSE;
  if (!token_is_valid (code))
    return directive_invalid (error,
        "directive.payload.grant.code: not printable ASCII without spaces or quotes");
  d->grant_code = g_strdup (code);

  if (!read_object (r, payload, "directive.payload", "grantee", FALSE, &grantee, error)
      || !read_string (r, grantee, "directive.payload.grantee", "token", FALSE, AMGW_MAX_TOKEN_LEN,
          &token, error))
    return FALSE;
  if (token != NULL && !token_is_valid (token))
    return directive_invalid (error,
        "directive.payload.grantee.token: not printable ASCII without spaces or quotes");
  d->grantee_token = g_strdup (token);
  return TRUE;
}

static gboolean
read_directive (AmgwDirective *d, const cJSON *directive, const cJSON *header, GError **error)
{
  const Reader *r = &directive_reader;
  const cJSON *payload;
  const char *calendar_event_id;

  if (!read_header (d, header, error))
    return FALSE;
  if (d->kind == AMGW_DIRECTIVE_UNKNOWN)
    return TRUE;   /* the caller answers INVALID_DIRECTIVE, naming it */

  if (!read_object (r, directive, "directive", "payload", TRUE, &payload, error))
    return FALSE;

  switch (d->kind) {
    case AMGW_DIRECTIVE_DISCOVER:
      return read_scope (d, payload, "directive.payload", error);
    case AMGW_DIRECTIVE_ACCEPT_GRANT:
      return read_grant (d, payload, error);
    case AMGW_DIRECTIVE_JOIN_MEETING:
      return read_endpoint (d, directive, error) && read_meeting (d, payload, error);
    case AMGW_DIRECTIVE_JOIN_SCHEDULED_MEETING:
      if (!read_endpoint (d, directive, error)
          || !read_string (r, payload, "directive.payload", "calendarEventId", TRUE,
              AMGW_MAX_FIELD_LEN, &calendar_event_id, error))
        return FALSE;
      if (!is_plain_text (calendar_event_id))
        return directive_invalid (error, "directive.payload.calendarEventId: control characters");
      d->calendar_event_id = g_strdup (calendar_event_id);
      return TRUE;
    case AMGW_DIRECTIVE_END_MEETING:
    case AMGW_DIRECTIVE_GET_CURRENT_MEETING:
      return read_endpoint (d, directive, error);
    case AMGW_DIRECTIVE_UNKNOWN:
    default:
      return TRUE;
  }
}

gboolean
amgw_directive_parse (const char *body, gsize len, AmgwDirective **out, GError **out_error)
{
  GError *local = NULL, **error = &local;
  const Reader *r = &directive_reader;
  g_autoptr (WireJson) root = NULL;
  g_autoptr (AmgwDirective) d = NULL;
  const cJSON *directive, *header, *endpoint;
  gboolean ok;

  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (out_error == NULL || *out_error == NULL, FALSE);
  *out = NULL;

  root = parse_json_text (body, len, AMGW_MAX_DIRECTIVE_BYTES, "directive", TRUE, error);
  if (root == NULL)
    goto failed;
  if (!cJSON_IsObject (root))
    goto not_object;
  if (!read_object (r, root, "body", "directive", TRUE, &directive, error)
      || !read_object (r, directive, "directive", "header", TRUE, &header, error))
    goto failed;

  d = g_new0 (AmgwDirective, 1);
  endpoint = member (directive, "endpoint");
  capture_echo (d, header, endpoint);
  ok = read_directive (d, directive, header, error);
  *out = g_steal_pointer (&d);
  if (!ok)
    goto failed;
  GST_DEBUG ("directive %s.%s (%s) for %s", (*out)->namespace_, (*out)->name,
      amgw_directive_kind_name ((*out)->kind),
      (*out)->endpoint_id != NULL ? (*out)->endpoint_id : "no endpoint");
  return TRUE;

  /* ERRORS */
not_object:
  {
    directive_invalid (error, "directive: expected a JSON object, got %s", json_type_name (root));
    goto failed;
  }
failed:
  {
    GST_DEBUG ("rejected a directive: %s", local->message);
    g_propagate_error (out_error, local);
    return FALSE;
  }
}

/* ---- answers ------------------------------------------------------------- */

/* Adds a string that may come from anywhere: made valid UTF-8 first. */
static void
add_text (cJSON *obj, const char *key, const char *value)
{
  if (value != NULL && g_utf8_validate (value, -1, NULL)) {
    cJSON_AddStringToObject (obj, key, value);
  } else {
    g_autofree char *valid = g_utf8_make_valid (value != NULL ? value : "", -1);
    cJSON_AddStringToObject (obj, key, valid);
  }
}

/* {"event": {"header": {...}}} with a new messageId; returns the event object. */
static cJSON *
new_event (cJSON *root, const AmgwDirective *d, const char *namespace_, const char *name)
{
  g_autofree char *message_id = amgw_uuid_new ();
  cJSON *event = cJSON_AddObjectToObject (root, "event");
  cJSON *header = cJSON_AddObjectToObject (event, "header");

  add_text (header, "namespace", namespace_);
  add_text (header, "name", name);
  cJSON_AddStringToObject (header, "messageId", message_id);
  if (d != NULL && d->correlation_token != NULL)
    add_text (header, "correlationToken", d->correlation_token);
  cJSON_AddStringToObject (header, "payloadVersion", "3");
  return event;
}

/* "endpoint": {"endpointId", "scope"} echoed from @d, when it has an endpoint id. */
static void
add_endpoint_echo (cJSON *event, const AmgwDirective *d)
{
  cJSON *endpoint;
  const cJSON *scope;

  if (d == NULL || d->endpoint_id == NULL)
    return;
  endpoint = cJSON_AddObjectToObject (event, "endpoint");
  add_text (endpoint, "endpointId", d->endpoint_id);
  scope = member (d->endpoint_json, "scope");
  if (cJSON_IsObject (scope))
    cJSON_AddItemToObject (endpoint, "scope", cJSON_Duplicate (scope, TRUE));
}

static char *
build_response (const AmgwDirective *d, const char *namespace_, const char *name, cJSON *payload)
{
  g_autoptr (WireJson) root = cJSON_CreateObject ();
  cJSON *event = new_event (root, d, namespace_, name);
  cJSON *context;

  add_endpoint_echo (event, d);
  cJSON_AddItemToObject (event, "payload", payload != NULL ? payload : cJSON_CreateObject ());
  context = cJSON_AddObjectToObject (root, "context");
  cJSON_AddArrayToObject (context, "properties");
  return print_json (root);
}

char *
amgw_response_build (const AmgwDirective *d, const char *namespace_, const char *name,
    cJSON *payload)
{
  return build_response (d, namespace_ != NULL ? namespace_ : "Alexa",
      name != NULL ? name : "Response", payload);
}

char *
amgw_error_response_build (const AmgwDirective *d, const char *type, const char *message)
{
  cJSON *payload = cJSON_CreateObject ();
  g_autofree char *text = lenient_text (message != NULL ? message : "");

  add_text (payload, "type", type != NULL ? type : "INTERNAL_ERROR");
  cJSON_AddStringToObject (payload, "message", text);
  GST_DEBUG ("ErrorResponse %s: %s", type != NULL ? type : "INTERNAL_ERROR", text);
  return build_response (d, "Alexa", "ErrorResponse", payload);
}

static cJSON *
new_capability (const char *interface, const char *version)
{
  cJSON *cap = cJSON_CreateObject ();

  cJSON_AddStringToObject (cap, "type", "AlexaInterface");
  cJSON_AddStringToObject (cap, "interface", interface);
  cJSON_AddStringToObject (cap, "version", version);
  return cap;
}

char *
amgw_discover_response_build (const AmgwDirective *d, const AmgwDiscoverEndpoint *eps, guint n)
{
  g_autoptr (WireJson) root = cJSON_CreateObject ();
  cJSON *event, *payload, *endpoints;

  g_return_val_if_fail (eps != NULL || n == 0, NULL);

  event = new_event (root, d, "Alexa.Discovery", "Discover.Response");
  payload = cJSON_AddObjectToObject (event, "payload");
  endpoints = cJSON_AddArrayToObject (payload, "endpoints");
  for (guint i = 0; i < n; i++) {
    const AmgwDiscoverEndpoint *ep = &eps[i];
    const char *friendly = ep->friendly_name != NULL ? ep->friendly_name : ep->endpoint_id;
    g_autofree char *description = ep->description != NULL ? g_strdup (ep->description)
        : g_strdup_printf ("amgw meeting room %s", friendly != NULL ? friendly : "");
    cJSON *item = cJSON_CreateObject ();
    cJSON *categories, *caps, *cap;

    add_text (item, "endpointId", ep->endpoint_id);
    cJSON_AddStringToObject (item, "manufacturerName", "amgw");
    add_text (item, "friendlyName", friendly);
    add_text (item, "description", description);
    categories = cJSON_AddArrayToObject (item, "displayCategories");
    cJSON_AddItemToArray (categories, cJSON_CreateString ("OTHER"));
    cJSON_AddObjectToObject (item, "cookie");
    caps = cJSON_AddArrayToObject (item, "capabilities");

    cap = new_capability ("Alexa.MeetingClientController", "1.0");
    cJSON_AddBoolToObject (cap, "supportsScheduledMeeting", ep->supports_scheduled_meeting);
    cJSON_AddObjectToObject (cap, "properties");
    cJSON_AddItemToArray (caps, cap);
    cap = new_capability ("Alexa.Calendar", "1.0");
    cJSON_AddObjectToObject (cap, "properties");
    cJSON_AddItemToArray (caps, cap);
    cJSON_AddItemToArray (caps, new_capability ("Alexa", "3"));

    cJSON_AddItemToArray (endpoints, item);
  }
  GST_DEBUG ("Discover.Response with %u endpoints", n);
  return print_json (root);
}
