/* A whole meeting through a real amgw daemon, Chromium as the Alexa device
 * and baresip as the meeting bridge: see meeting.h. */
#include "meeting.h"
#include "../integration/sip-common.h"

#include <sqlite3.h>

#define MEETING_ID "8642"
#define MEETING_PIN "1357"
#define BRIDGE_DIGITS MEETING_ID "#" MEETING_PIN "#"
#define DTMF_PAUSE_MS 1000
#define BARESIP_LIFETIME_S 600      /* baresip -t: it ends on its own */
#define BARESIP_TONE_S 300          /* longer than any meeting (aufile hangs up at its end) */
#define JITTER_BUFFER_MS 60

const RigSpec rig_opus_pcmu = { "opus", "PCMU", { "PCMU" } };
const MeetingSpec meet_opus_pcmu = {
  .page_mime = "audio/opus", .alexa_codec = "OPUS", .bridge_codec = "PCMU", .media_ms = 3000,
};

/* ------------------------------------------------------------------------ */
/* The rig: one daemon, one page, one bridge (two for the loop)             */
/* ------------------------------------------------------------------------ */

void
rig_free (Rig *rig)
{
  if (rig == NULL)
    return;
  if (rig->fx != NULL) {
    if (rig->fx->d != NULL) {
      fx_free (rig->fx);
    } else {
      fake_cloud_free (rig->fx->fc);
      g_free (rig->fx);
    }
  }
  amgw_browser_free (rig->page);
  amgw_baresip_free (rig->bridges[0]);
  amgw_baresip_free (rig->bridges[1]);
  g_free (rig);
}

/* NULL after g_test_skip() (a peer or the binary is missing) or a failure. */
Rig *
rig_start (const RigSpec *spec, const char *binary)
{
  AmgwBaresipOptions bopt = {
    .user = BRIDGE_USER, .tone_hz = BRIDGE_TONE,
    .tone_seconds = BARESIP_TONE_S, .jitter_buffer = TRUE, .timeout_s = BARESIP_LIFETIME_S,
  };
  g_autoptr (GError) error = NULL;
  g_autofree char *extra = NULL;
  FxOptions opt = { 0, };
  Rig *rig;

  if (binary == NULL || !g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip_printf ("no amgw binary to run (%s): set AMGW_BINARY", binary ? binary : "none");
    return NULL;
  }
  rig = g_new0 (Rig, 1);
  rig->page = amgw_browser_start (PAGE_TONE, &error);
  if (rig->page == NULL)
    goto no_peer;
  for (guint i = 0; i < G_N_ELEMENTS (rig->bridges) && spec->bridge_codecs[i]; i++) {
    bopt.codecs = spec->bridge_codecs[i];
    rig->bridges[i] = amgw_baresip_start (&bopt, &error);
    if (rig->bridges[i] == NULL)
      goto no_peer;
    g_test_message ("baresip (%s) on 127.0.0.1:%u", spec->bridge_codecs[i],
        amgw_baresip_get_port (rig->bridges[i]));
  }
  rig->bridge = rig->bridges[0];

  rig->amgw_sip = free_port ();
  rig->rtp_min = free_port () & ~1u;
  if (rig->rtp_min > 65000)
    rig->rtp_min = 40000;
  /* [provider bridge] dial-template = meet: the Request-URI's user is
   * baresip's account, and the meeting id and the pin both go as DTMF,
   * dtmf-pause after the answer.  [media] rtp ports serve both legs. */
  extra = g_strdup_printf (
      "\n[media]\nrtp-port-min = %u\nrtp-port-max = %u\nice-timeout = 20000\n"
      "codecs = %s\njitter-buffer = %u\n"
      "\n[sip]\nlisten = 127.0.0.1:%u\ndtmf = rfc4733\ndtmf-pause = %u\n"
      "invite-timeout = 20000\ncodecs = %s\n"
      "\n[provider bridge]\ndial-template = " BRIDGE_USER "\n",
      rig->rtp_min, rig->rtp_min + 199, spec->alexa_codecs, JITTER_BUFFER_MS,
      rig->amgw_sip, DTMF_PAUSE_MS, spec->sip_codecs);
  opt.binary = binary;
  opt.extra = extra;
  rig->fx = fx_start (&opt);
  if (rig->fx->d == NULL) {
    g_test_fail_printf ("amgw did not start with [media] codecs = %s, [sip] codecs = %s",
        spec->alexa_codecs, spec->sip_codecs);
    rig_free (rig);
    return NULL;
  }
  g_test_message ("amgw SIP on %u, RTP %u-%u; [media] codecs = %s, [sip] codecs = %s",
      rig->amgw_sip, rig->rtp_min, rig->rtp_min + 199, spec->alexa_codecs, spec->sip_codecs);
  return rig;

  /* ERRORS */
no_peer:
  {
    if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
      g_test_skip (error->message);
    else
      g_test_fail_printf ("a peer did not start: %s", error ? error->message : "?");
    rig_free (rig);
    return NULL;
  }
}

cJSON *
rig_call_view (Rig *rig, const char *sid)
{
  guint status = 0;
  cJSON *j = fx_get_call (rig->fx, sid, &status);

  if (status != 200) {
    g_test_message ("GET /v1/calls/%s: %u", sid, status);
    cJSON_Delete (j);
    return NULL;
  }
  return j;
}

static char *
sdp_details_of (const char *type, const char *sdp)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON *d = cJSON_AddObjectToObject (o, "sdpDetails");
  char *text;

  cJSON_AddStringToObject (d, "type", type);
  cJSON_AddStringToObject (d, "value", sdp);
  text = json_text (o);
  cJSON_Delete (o);
  return text;
}

/* ------------------------------------------------------------------------ */
/* The phases of a meeting                                                   */
/* ------------------------------------------------------------------------ */

/* JoinMeeting; the page answers amgw's InitiateInboundCall and connects. */
gboolean
meeting_join (Rig *rig, Meeting *m, const MeetingSpec *spec)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *payload = NULL, *answer = NULL, *details = NULL;
  g_autoptr (GPtrArray) recordings = amgw_baresip_recordings (rig->bridge);
  FakeCloudRequest *req;
  cJSON *resp;

  m->t0 = g_get_monotonic_time ();
  m->bridge_mark = amgw_baresip_log_mark (rig->bridge);
  m->recordings_before = recordings->len;
  /* No codec preference: the page takes what amgw offers. */
  if (!amgw_browser_open (rig->page, NULL, &error)) {
    g_test_fail_printf ("the page cannot open a peer connection: %s", error->message);
    return FALSE;
  }
  fake_cloud_reset_requests (rig->fx->fc);
  payload = g_strdup_printf ("{\"meeting\": {\"id\": \"" MEETING_ID "\", \"pin\": \""
      MEETING_PIN "\", \"endpoint\": \"127.0.0.1:%u\", \"protocol\": \"SIP\","
      " \"provider\": \"bridge\"}}", amgw_baresip_get_port (rig->bridge));
  resp = fx_directive (rig->fx, "Alexa.MeetingClientController", "JoinMeeting",
      "room-boardroom", BOARDROOM_TOKEN, payload);
  if (g_strcmp0 (jstr (resp, "event.header.name"), "Response") != 0) {
    g_test_fail_printf ("JoinMeeting answered %s: %s", jstr (resp, "event.header.name"),
        jstr (resp, "event.payload.message"));
    cJSON_Delete (resp);
    return FALSE;
  }
  cJSON_Delete (resp);

  req = fake_cloud_wait_signal (rig->fx->fc, "InitiateInboundCall", NULL, STEP_WAIT_MS);
  if (req == NULL) {
    g_test_fail_printf ("no InitiateInboundCall at the fake cloud within %u ms", STEP_WAIT_MS);
    return FALSE;
  }
  g_assert_null (req->validation_error);
  m->sid = g_strdup (req->session_id);
  g_test_message ("[%s] InitiateInboundCall after %.2f s", m->sid, since_s (m->t0));
  answer = amgw_browser_answer (rig->page, jstr (req->json, "sdpDetails.value"), &error);
  if (answer == NULL) {
    g_test_fail_printf ("the page cannot answer amgw's offer: %s\n%s", error->message,
        jstr (req->json, "sdpDetails.value"));
    return FALSE;
  }
  details = sdp_details_of ("ANSWER", answer);
  g_assert_cmpuint (fx_event (rig->fx, "CallRinging", m->sid, NULL, NULL), ==, 200);
  g_assert_cmpuint (fx_event (rig->fx, "CallInProgress", m->sid, details, NULL), ==, 200);
  g_assert_cmpuint (fx_event (rig->fx, "CallAccepted", m->sid, details, NULL), ==, 200);
  if (fake_cloud_wait_signal (rig->fx->fc, "CallAcceptedAck", m->sid, STEP_WAIT_MS) == NULL) {
    g_test_fail_printf ("no CallAcceptedAck");
    return FALSE;
  }
  if (!amgw_browser_wait_connected (rig->page, STEP_WAIT_MS, &error)) {
    g_test_fail_printf ("the page did not connect to amgw: %s",
        error ? error->message : "failed");
    return FALSE;
  }
  g_test_message ("[%s] the page connected (ICE, DTLS) after %.2f s", m->sid, since_s (m->t0));
  {
    cJSON *stats = amgw_browser_stats (rig->page, NULL);
    const char *mime = stats ? amgw_browser_stat_string (stats, "codec.mimeType") : NULL;

    if (g_ascii_strcasecmp (mime ? mime : "", spec->page_mime) != 0)
      g_test_fail_printf ("the page uses %s, not %s", mime, spec->page_mime);
    cJSON_Delete (stats);
  }
  return !g_test_failed ();
}

/* The INVITE at baresip, its answer, and the id and pin digits it decoded. */
gboolean
meeting_check_bridge_joined (Rig *rig, Meeting *m)
{
  g_autofree char *ruri = g_strdup_printf ("INVITE sip:" BRIDGE_USER "@127.0.0.1:%u SIP/2.0",
      amgw_baresip_get_port (rig->bridge));
  g_autofree char *played = g_strdup_printf ("[%s] DTMF played out", m->sid);
  g_autofree char *digits = NULL;
  g_autoptr (GPtrArray) invites = NULL;
  gint64 end;

  if (!amgw_baresip_wait_log (rig->bridge, "Call established", m->bridge_mark, STEP_WAIT_MS)) {
    g_test_fail_printf ("baresip did not establish the call");
    return FALSE;
  }
  invites = amgw_baresip_requests (rig->bridge, "INVITE", m->bridge_mark);
  if (invites->len == 0 || !g_str_has_prefix (invites->pdata[0], ruri)) {
    g_test_fail_printf ("baresip's trace lacks \"%s\"", ruri);
    return FALSE;
  }
  g_test_message ("[%s] the bridge answered; after %.2f s", m->sid, since_s (m->t0));
  if (!wait_log (rig->fx, played, STEP_WAIT_MS))
    g_test_fail_printf ("amgw did not finish the digits (no \"%s\")", played);
  /* baresip's jitter buffer hands the events on with the audio. */
  end = g_get_monotonic_time () + (gint64) STEP_WAIT_MS * 1000;
  do {
    g_free (digits);
    digits = amgw_baresip_digits (rig->bridge, FALSE, m->bridge_mark);
    if (strcmp (digits, BRIDGE_DIGITS) == 0)
      break;
    g_usleep (100 * 1000);
  } while (g_get_monotonic_time () < end);
  g_test_message ("[%s] baresip decoded \"%s\" after %.2f s", m->sid, digits, since_s (m->t0));
  g_assert_cmpstr (digits, ==, BRIDGE_DIGITS);
  return !g_test_failed ();
}

static char *
page_stats_text (Rig *rig)
{
  cJSON *stats = amgw_browser_stats (rig->page, NULL);
  char *text = json_text (stats);

  cJSON_Delete (stats);
  return text;
}

static gboolean
relay_direction_ok (const cJSON *view, const char *dir, const char *mode, const char *from,
    const char *to)
{
  g_autofree char *p_mode = g_strdup_printf ("relay.%s.mode", dir);
  g_autofree char *p_from = g_strdup_printf ("relay.%s.from", dir);
  g_autofree char *p_to = g_strdup_printf ("relay.%s.to", dir);
  const char *got_mode = jstr (view, p_mode), *got_from = jstr (view, p_from);
  const char *got_to = jstr (view, p_to);

  if (g_strcmp0 (got_mode, mode) != 0 || g_ascii_strcasecmp (got_from ? got_from : "", from) != 0
      || g_ascii_strcasecmp (got_to ? got_to : "", to) != 0) {
    g_test_fail_printf ("relay.%s: mode %s from %s to %s; expected %s from %s to %s", dir,
        got_mode, got_from, got_to, mode, from, to);
    return FALSE;
  }
  return TRUE;
}

/* The relay between the legs, in the operators' view: its mode per
 * direction, and packets_out growing both ways. */
gboolean
meeting_check_relay (Rig *rig, Meeting *m, const MeetingSpec *spec)
{
  const char *mode = spec->passthrough ? "passthrough" : "transcoding";
  double to_bridge = -1, to_alexa = -1;
  gint64 end = g_get_monotonic_time () + (gint64) MEDIA_WAIT_MS * 1000;
  cJSON *view = NULL;
  gboolean grew = FALSE;

  /* "relay" is null until the legs are joined. */
  do {
    cJSON_Delete (view);
    view = rig_call_view (rig, m->sid);
    if (cJSON_IsObject (jget (view, "relay"))
        && jnum (view, "relay.to_bridge.packets_out", 0) > 0
        && jnum (view, "relay.to_alexa.packets_out", 0) > 0)
      break;
    g_usleep (200 * 1000);
  } while (g_get_monotonic_time () < end);
  if (!cJSON_IsObject (jget (view, "relay"))) {
    g_autofree char *text = json_text (view), *page = page_stats_text (rig);
    g_test_fail_printf ("no \"relay\" object in GET /v1/calls/%s after %u ms: %s\npage: %s",
        m->sid, MEDIA_WAIT_MS, text, page);
    cJSON_Delete (view);
    return FALSE;
  }
  {
    g_autofree char *text = json_text (jget (view, "relay"));
    g_test_message ("[%s] relay after %.2f s: %s", m->sid, since_s (m->t0), text);
  }
  relay_direction_ok (view, "to_bridge", mode, spec->alexa_codec, spec->bridge_codec);
  relay_direction_ok (view, "to_alexa", mode, spec->bridge_codec, spec->alexa_codec);
  to_bridge = jnum (view, "relay.to_bridge.packets_out", -1);
  to_alexa = jnum (view, "relay.to_alexa.packets_out", -1);
  cJSON_Delete (view);
  view = NULL;

  /* Growing: polled, never timed. */
  end = g_get_monotonic_time () + (gint64) MEDIA_WAIT_MS * 1000;
  do {
    g_usleep (500 * 1000);
    cJSON_Delete (view);
    view = rig_call_view (rig, m->sid);
    grew = jnum (view, "relay.to_bridge.packets_out", -1) > to_bridge + 10
        && jnum (view, "relay.to_alexa.packets_out", -1) > to_alexa + 10;
  } while (!grew && g_get_monotonic_time () < end);
  if (!grew) {
    g_autofree char *text = json_text (view), *page = page_stats_text (rig);
    g_test_fail_printf ("relay packets_out did not grow both ways (to_bridge from %.0f, "
        "to_alexa from %.0f): %s\npage: %s", to_bridge, to_alexa, text, page);
  }
  cJSON_Delete (view);
  return !g_test_failed ();
}

/* The page hears @hz (its WebAudio analyser, 1 s at a time). */
gboolean
rig_page_hears (Rig *rig, double hz, guint tries, double *heard, double *level)
{
  g_autoptr (GError) error = NULL;

  *heard = 0;
  *level = -200;
  for (guint i = 0; i < tries; i++) {
    if (!amgw_browser_hear (rig->page, 1000, heard, level, &error)) {
      g_test_fail_printf ("the page cannot listen: %s", error->message);
      return FALSE;
    }
    if (tone_near (*heard, hz, TONE_TOLERANCE) && *level > MIN_LEVEL_DB)
      return TRUE;
  }
  return FALSE;
}

double
rig_page_packets_in (Rig *rig)
{
  cJSON *s = amgw_browser_stats (rig->page, NULL);
  double n = s ? amgw_browser_stat_number (s, "inbound.packetsReceived", 0) : 0;

  cJSON_Delete (s);
  return n;
}

gboolean
meeting_check_page_hears_bridge (Rig *rig, Meeting *m)
{
  double heard, level;

  if (!rig_page_hears (rig, BRIDGE_TONE, 30, &heard, &level)) {
    cJSON *stats = amgw_browser_stats (rig->page, NULL);
    cJSON *view = rig_call_view (rig, m->sid);
    g_autofree char *s = json_text (stats), *v = json_text (view);

    g_test_fail_printf ("the page heard %.0f Hz at %.1f dBFS, not the bridge's %.0f Hz\n"
        "page: %s\namgw: %s", heard, level, BRIDGE_TONE, s, v);
    cJSON_Delete (stats);
    cJSON_Delete (view);
    return FALSE;
  }
  g_test_message ("[%s] the page hears %.0f Hz at %.1f dBFS after %.2f s", m->sid, heard,
      level, since_s (m->t0));
  return TRUE;
}

/* The current recording of this meeting (NULL before baresip opened it). */
static char *
meeting_recording (Rig *rig, Meeting *m)
{
  g_autoptr (GPtrArray) recordings = amgw_baresip_recordings (rig->bridge);

  if (recordings->len <= m->recordings_before)
    return NULL;
  return g_strdup (recordings->pdata[recordings->len - 1]);
}

/* The dominant frequency of @path's samples from @from_s for @len_s. */
static gboolean
recording_tone (const char *path, double from_s, double len_s, double *hz, double *level,
    double *total)
{
  g_autoptr (GError) error = NULL;

  if (!amgw_wav_dominant_hz (path, from_s, len_s, hz, level, total, &error)) {
    g_test_message ("%s", error->message);
    return FALSE;
  }
  return TRUE;
}

static double
recording_seconds (const char *path)
{
  g_autofree gint16 *samples = NULL;
  gsize n = 0;
  guint rate = 0;

  if (path == NULL || !amgw_wav_read (path, &rate, &samples, &n, NULL))
    return 0;
  return (double) n / rate;
}

/* EndMeeting: BYE at baresip, CallEnded at the fake cloud. */
gboolean
meeting_end (Rig *rig, Meeting *m)
{
  g_autoptr (GPtrArray) byes = NULL;
  FakeCloudRequest *req;
  cJSON *resp;
  gint64 t_end = g_get_monotonic_time (), end;

  resp = fx_directive (rig->fx, "Alexa.MeetingClientController", "EndMeeting",
      "room-boardroom", BOARDROOM_TOKEN, "{}");
  if (g_strcmp0 (jstr (resp, "event.header.name"), "Response") != 0)
    g_test_fail_printf ("EndMeeting answered %s: %s", jstr (resp, "event.header.name"),
        jstr (resp, "event.payload.message"));
  cJSON_Delete (resp);
  req = fake_cloud_wait_signal (rig->fx->fc, "CallEnded", m->sid, STEP_WAIT_MS);
  if (req == NULL) {
    g_test_fail_printf ("no CallEnded at the fake cloud");
  } else {
    g_assert_null (req->validation_error);
    g_assert_cmpstr (jstr (req->json, "callResult.code"), ==, "SUCCESS");
  }
  end = g_get_monotonic_time () + (gint64) STEP_WAIT_MS * 1000;
  do {
    g_clear_pointer (&byes, g_ptr_array_unref);
    byes = amgw_baresip_requests (rig->bridge, "BYE", m->bridge_mark);
    if (byes->len > 0)
      break;
    g_usleep (100 * 1000);
  } while (g_get_monotonic_time () < end);
  if (byes->len == 0)
    g_test_fail_printf ("no BYE in baresip's SIP trace");
  /* baresip closes the recording with the call. */
  if (!amgw_baresip_wait_log (rig->bridge, "terminated (duration", m->bridge_mark,
          STEP_WAIT_MS))
    g_test_fail_printf ("baresip did not end the call");
  g_test_message ("[%s] EndMeeting to CallEnded and BYE: %.2f s", m->sid, since_s (t_end));
  amgw_browser_close (rig->page, NULL);
  return !g_test_failed ();
}

/* What baresip heard: the page's tone over the last seconds of its
 * recording (the end is cut: the BYE may clip the last frames). */
gboolean
meeting_check_bridge_heard_page (Rig *rig, Meeting *m)
{
  g_autofree char *path = meeting_recording (rig, m);
  double hz = 0, level = -200, total = 0, from, len;

  if (path == NULL) {
    g_test_fail_printf ("baresip made no recording");
    return FALSE;
  }
  total = recording_seconds (path);
  from = MAX (0, total - 2.3);
  len = MIN (2.0, total - 0.3 - from);
  if (len < 0.2 || !recording_tone (path, from, len, &hz, &level, &total)) {
    g_test_fail_printf ("baresip's recording is %.2f s long: nothing to analyse", total);
    return FALSE;
  }
  g_test_message ("[%s] baresip's recording: %.2f s; %.2f-%.2f s: %.0f Hz at %.1f dBFS",
      m->sid, total, from, from + len, hz, level);
  if (!tone_near (hz, PAGE_TONE, TONE_TOLERANCE) || level < MIN_LEVEL_DB) {
    g_test_fail_printf ("baresip heard %.0f Hz at %.1f dBFS, not the page's %.0f Hz", hz, level,
        PAGE_TONE);
    return FALSE;
  }
  return TRUE;
}

/* The call record: in the operators' view and in amgw.db. */
gboolean
meeting_check_record (Rig *rig, Meeting *m)
{
  g_autofree char *db_path = g_build_filename (amgw_test_daemon_state_dir (rig->fx->d), "amgw.db",
      NULL);
  gint64 end = g_get_monotonic_time () + (gint64) STEP_WAIT_MS * 1000;
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  cJSON *view = NULL;
  gboolean found = FALSE, session_left = TRUE;
  int rc;

  do {
    cJSON_Delete (view);
    view = rig_call_view (rig, m->sid);
    if (g_strcmp0 (jstr (view, "state"), "ended") == 0)
      break;
    g_usleep (100 * 1000);
  } while (g_get_monotonic_time () < end);
  g_assert_cmpstr (jstr (view, "state"), ==, "ended");
  g_assert_cmpstr (jstr (view, "outcome"), ==, "SUCCESS");
  if (cJSON_IsTrue (jget (view, "active")))
    g_test_fail_printf ("the ended call is still active");
  {
    g_autofree char *text = json_text (jget (view, "relay"));
    g_test_message ("[%s] relay at the end: %s", m->sid, text);
  }
  cJSON_Delete (view);

  rc = sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL);
  if (rc != SQLITE_OK) {
    g_test_fail_printf ("cannot open %s: %s", db_path, db ? sqlite3_errmsg (db) : "?");
    sqlite3_close (db);
    return FALSE;
  }
  sqlite3_busy_timeout (db, 10000);
  /* The record may be written just after CallEnded: poll. */
  end = g_get_monotonic_time () + (gint64) STEP_WAIT_MS * 1000;
  do {
    rc = sqlite3_prepare_v2 (db, "SELECT outcome, room, direction, bridge_protocol, ended_ms "
        "FROM call_records WHERE session_id = ?1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
      sqlite3_bind_text (st, 1, m->sid, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (st) == SQLITE_ROW) {
        found = TRUE;
        g_assert_cmpstr ((const char *) sqlite3_column_text (st, 0), ==, "SUCCESS");
        g_assert_cmpstr ((const char *) sqlite3_column_text (st, 1), ==, "boardroom");
        g_assert_cmpstr ((const char *) sqlite3_column_text (st, 2), ==, "to-alexa");
        g_assert_cmpstr ((const char *) sqlite3_column_text (st, 3), ==, "SIP");
        g_assert_cmpint (sqlite3_column_int64 (st, 4), >, 0);
      }
      sqlite3_finalize (st);
      st = NULL;
    }
    if (found)
      break;
    g_usleep (100 * 1000);
  } while (g_get_monotonic_time () < end);
  if (!found)
    g_test_fail_printf ("no call_records row for %s in %s (%s)", m->sid, db_path,
        rc == SQLITE_OK ? "no row" : sqlite3_errmsg (db));
  /* ... and the active session's row is gone. */
  if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM sessions WHERE session_id = ?1", -1, &st,
          NULL) == SQLITE_OK) {
    sqlite3_bind_text (st, 1, m->sid, -1, SQLITE_TRANSIENT);
    session_left = sqlite3_step (st) == SQLITE_ROW && sqlite3_column_int (st, 0) > 0;
    sqlite3_finalize (st);
  }
  if (session_left)
    g_test_fail_printf ("amgw.db still lists session %s as active", m->sid);
  sqlite3_close (db);
  return !g_test_failed ();
}

void
meeting_clear (Meeting *m)
{
  g_clear_pointer (&m->sid, g_free);
}

/* One whole meeting; FALSE at the first phase that failed (the others
 * would only repeat it).  EndMeeting runs in any case once a session
 * exists, so that both legs are hung up for the clean-up. */
gboolean
meeting_run (Rig *rig, const MeetingSpec *spec)
{
  Meeting m = { 0, };
  gboolean ok;

  rig->bridge = rig->bridges[spec->bridge_index];
  ok = meeting_join (rig, &m, spec)
      && meeting_check_bridge_joined (rig, &m)
      && meeting_check_relay (rig, &m, spec)
      && meeting_check_page_hears_bridge (rig, &m);
  if (ok)
    g_usleep (spec->media_ms * 1000);
  if (m.sid != NULL) {
    gboolean was_ok = ok;
    ok = meeting_end (rig, &m) && ok;
    if (was_ok)
      ok = ok && meeting_check_bridge_heard_page (rig, &m) && meeting_check_record (rig, &m);
    g_test_message ("[%s] whole meeting: %.2f s", m.sid, since_s (m.t0));
  }
  meeting_clear (&m);
  return ok;
}
gboolean
meeting_case_run (const RigSpec *rig_spec, const MeetingSpec *spec, const char *binary)
{
  gint64 t0 = g_get_monotonic_time ();
  Rig *rig = rig_start (rig_spec, binary);
  gboolean ok;

  if (rig == NULL)
    return FALSE;
  g_test_message ("peers and daemon up after %.2f s", since_s (t0));
  ok = meeting_run (rig, spec);
  rig_free (rig);
  g_test_message ("whole case: %.2f s", since_s (t0));
  return ok && !g_test_failed ();
}
