/* A whole meeting through the real amgw binary, with real peers on both
 * legs, in a network namespace with only loopback:
 *
 *   headless Chromium (tests/support/browser.c) plays the Alexa device: the
 *   fake Alexa cloud hands amgw's InitiateInboundCall offer to the page and
 *   the page's answer goes back as CallRinging / CallInProgress /
 *   CallAccepted; the page sends a PAGE_TONE sine and measures what it hears;
 *
 *   baresip (tests/support/baresip.c) plays the meeting bridge: it answers
 *   at once, plays a BRIDGE_TONE WAV, records what it hears and logs the SIP
 *   messages and DTMF it receives.
 *
 * A JoinMeeting directive starts each meeting and EndMeeting ends it.  Each
 * meeting checks: the INVITE reached baresip and baresip decoded the meeting
 * id and pin (dial-template "meet": both go as RFC 4733 digits); amgw sent
 * InitiateInboundCall and the page answered and connected; media crosses
 * amgw (GET /v1/calls/{id} "relay": passthrough or transcoding per
 * direction, packets_out growing); the page hears BRIDGE_TONE and baresip's
 * recording holds PAGE_TONE; EndMeeting brings a BYE to baresip and
 * CallEnded (SUCCESS) to the fake cloud; the call record is stored (the
 * operators' view says "ended", amgw.db's call_records has the row and
 * sessions has none).
 *
 * Cases: /meeting/opus-pcmu (page Opus, bridge PCMU: transcoding both ways),
 * /meeting/pcmu-passthrough, /meeting/g722-bridge (page Opus, bridge G.722),
 * /meeting/hold-resume (CallUpdate CALL_HOLD from the Alexa side becomes a
 * re-INVITE with a=sendonly or a=inactive at baresip and the page receives
 * nothing; CALL_RESUME restores audio both ways: the page hears the bridge
 * again, and a capture on lo shows the page's tone in the PCMU amgw sends
 * baresip, since baresip's recording stops at a re-INVITE),
 * /meeting/loop (three short meetings on one daemon, alternating between a
 * PCMU and a G.722 bridge, for scripts/test's valgrind run of the daemon).
 *
 * Every wait is a generous bounded poll (shared machines, valgrind in CI);
 * no duration is asserted.  The phases' timings go to the test log. */
#include "../integration/common.h"
#include "../integration/sip-common.h"
#include "baresip.h"
#include "browser.h"

#include <signal.h>
#include <sqlite3.h>

#define PAGE_TONE 1000.0
#define BRIDGE_TONE 440.0
#define TONE_TOLERANCE 30.0
#define MEETING_ID "8642"
#define MEETING_PIN "1357"
#define BRIDGE_USER "meet"
#define BRIDGE_DIGITS MEETING_ID "#" MEETING_PIN "#"
#define DTMF_PAUSE_MS 1000
#define BARESIP_LIFETIME_S 600      /* baresip -t: it ends on its own */
#define BARESIP_TONE_S 300          /* longer than any meeting (aufile hangs up at its end) */
#define JITTER_BUFFER_MS 60
#define STEP_WAIT_MS 30000          /* one phase (signaling, ICE + DTLS, digits) */
#define MEDIA_WAIT_MS 60000         /* media to show up, under valgrind too */
#define MIN_LEVEL_DB -50.0          /* the tones arrive at -9 to -16 dBFS */

/* ------------------------------------------------------------------------ */
/* The rig: one daemon, one page, one bridge (two for the loop)             */
/* ------------------------------------------------------------------------ */

typedef struct {
  const char *alexa_codecs;    /* [media] codecs */
  const char *sip_codecs;      /* [sip] codecs */
  /* What baresip offers and accepts; a second baresip with other codecs
   * when [1] is set (the loop alternates). */
  const char *bridge_codecs[2];
} RigSpec;

typedef struct {
  Fx *fx;
  AmgwBrowser *page;
  AmgwBaresip *bridges[2];
  AmgwBaresip *bridge;         /* the one the meeting dials */
  guint16 amgw_sip, rtp_min;
} Rig;

/* What one meeting expects. */
typedef struct {
  const char *page_mime;       /* the codec the page ends up with: "audio/opus", ... */
  gboolean passthrough;        /* both directions; else both transcode */
  const char *alexa_codec;     /* the relay's names: "OPUS", "PCMU", "G722" */
  const char *bridge_codec;
  guint bridge_index;          /* which of the rig's bridges to dial */
  guint media_ms;              /* media after both sides heard each other */
} MeetingSpec;

typedef struct {
  char *sid;
  gsize bridge_mark;           /* baresip's log before the meeting */
  guint recordings_before;
  gint64 t0;
} Meeting;

static gboolean
near (double value, double target, double tolerance)
{
  return value > target - tolerance && value < target + tolerance;
}

static double
jnum (const cJSON *root, const char *path, double fallback)
{
  const cJSON *j = jget (root, path);
  return cJSON_IsNumber (j) ? j->valuedouble : fallback;
}

static double
since_s (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / 1e6;
}

static char *
json_text (const cJSON *j)
{
  char *t, *copy;

  if (j == NULL)
    return g_strdup ("(none)");
  t = cJSON_PrintUnformatted (j);
  copy = g_strdup (t);
  cJSON_free (t);
  return copy;
}

static void
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
static Rig *
rig_start (const RigSpec *spec)
{
  const char *binary = g_getenv ("AMGW_BINARY");
  AmgwBaresipOptions bopt = {
    .user = BRIDGE_USER, .tone_hz = BRIDGE_TONE,
    .tone_seconds = BARESIP_TONE_S, .jitter_buffer = TRUE, .timeout_s = BARESIP_LIFETIME_S,
  };
  g_autoptr (GError) error = NULL;
  g_autofree char *extra = NULL;
  FxOptions opt = { 0, };
  Rig *rig;

  if (binary == NULL || !g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("AMGW_BINARY does not name the amgw binary");
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

static cJSON *
call_view (Rig *rig, const char *sid)
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
static gboolean
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
static gboolean
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
static gboolean
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
    view = call_view (rig, m->sid);
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
    view = call_view (rig, m->sid);
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
static gboolean
page_hears (Rig *rig, double hz, guint tries, double *heard, double *level)
{
  g_autoptr (GError) error = NULL;

  *heard = 0;
  *level = -200;
  for (guint i = 0; i < tries; i++) {
    if (!amgw_browser_hear (rig->page, 1000, heard, level, &error)) {
      g_test_fail_printf ("the page cannot listen: %s", error->message);
      return FALSE;
    }
    if (near (*heard, hz, TONE_TOLERANCE) && *level > MIN_LEVEL_DB)
      return TRUE;
  }
  return FALSE;
}

static double
page_packets_in (Rig *rig)
{
  cJSON *s = amgw_browser_stats (rig->page, NULL);
  double n = s ? amgw_browser_stat_number (s, "inbound.packetsReceived", 0) : 0;

  cJSON_Delete (s);
  return n;
}

static gboolean
meeting_check_page_hears_bridge (Rig *rig, Meeting *m)
{
  double heard, level;

  if (!page_hears (rig, BRIDGE_TONE, 30, &heard, &level)) {
    cJSON *stats = amgw_browser_stats (rig->page, NULL);
    cJSON *view = call_view (rig, m->sid);
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
static gboolean
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
static gboolean
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
  if (!near (hz, PAGE_TONE, TONE_TOLERANCE) || level < MIN_LEVEL_DB) {
    g_test_fail_printf ("baresip heard %.0f Hz at %.1f dBFS, not the page's %.0f Hz", hz, level,
        PAGE_TONE);
    return FALSE;
  }
  return TRUE;
}

/* The call record: in the operators' view and in amgw.db. */
static gboolean
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
    view = call_view (rig, m->sid);
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

static void
meeting_clear (Meeting *m)
{
  g_clear_pointer (&m->sid, g_free);
}

/* One whole meeting; FALSE at the first phase that failed (the others
 * would only repeat it).  EndMeeting runs in any case once a session
 * exists, so that both legs are hung up for the clean-up. */
static gboolean
run_meeting (Rig *rig, const MeetingSpec *spec)
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

/* ------------------------------------------------------------------------ */
/* The cases                                                                 */
/* ------------------------------------------------------------------------ */

static const RigSpec rig_opus_pcmu = { "opus", "PCMU", { "PCMU" } };
static const RigSpec rig_pcmu = { "PCMU", "PCMU", { "PCMU" } };
static const RigSpec rig_g722 = { "opus", "G722", { "G722" } };
/* The loop: amgw offers PCMU and G.722 to the bridge; two bridges answer
 * one each.  (Not a page choosing among amgw's Alexa codecs: Chromium
 * answers with its setCodecPreferences() choice but sends with the first
 * codec of amgw's offer, which amgw rightly drops.) */
static const RigSpec rig_loop = { "opus", "PCMU, G722", { "PCMU", "G722" } };

static const MeetingSpec meet_opus_pcmu = {
  .page_mime = "audio/opus", .alexa_codec = "OPUS", .bridge_codec = "PCMU", .media_ms = 3000,
};
static const MeetingSpec meet_pcmu = {
  .page_mime = "audio/PCMU", .passthrough = TRUE, .alexa_codec = "PCMU", .bridge_codec = "PCMU",
  .media_ms = 3000,
};
static const MeetingSpec meet_g722 = {
  .page_mime = "audio/opus", .alexa_codec = "OPUS", .bridge_codec = "G722", .media_ms = 3000,
};
static const MeetingSpec meet_loop_pcmu = {
  .page_mime = "audio/opus", .alexa_codec = "OPUS", .bridge_codec = "PCMU", .bridge_index = 0,
  .media_ms = 1000,
};
static const MeetingSpec meet_loop_g722 = {
  .page_mime = "audio/opus", .alexa_codec = "OPUS", .bridge_codec = "G722", .bridge_index = 1,
  .media_ms = 1000,
};

typedef struct {
  const RigSpec *rig;
  const MeetingSpec *meeting;
} Case;

static const Case case_opus_pcmu = { &rig_opus_pcmu, &meet_opus_pcmu };
static const Case case_pcmu = { &rig_pcmu, &meet_pcmu };
static const Case case_g722 = { &rig_g722, &meet_g722 };

static void
test_meeting (gconstpointer data)
{
  const Case *c = data;
  gint64 t0 = g_get_monotonic_time ();
  Rig *rig = rig_start (c->rig);

  if (rig == NULL)
    return;
  g_test_message ("peers and daemon up after %.2f s", since_s (t0));
  run_meeting (rig, c->meeting);
  rig_free (rig);
  g_test_message ("whole case: %.2f s", since_s (t0));
}

/* Renegotiation from the Alexa side, as test-webrtc.c does it: the page's
 * new offer in CallUpdate, amgw's answer back in CallUpdateResponse,
 * CallUpdateAck. */
static gboolean
renegotiate (Rig *rig, Meeting *m, const char *type, const char *direction)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = NULL, *extra = NULL;
  FakeCloudRequest *req;
  cJSON *o, *d;

  if (!amgw_browser_set_direction (rig->page, direction, &error)
      || (offer = amgw_browser_offer (rig->page, FALSE, &error)) == NULL) {
    g_test_fail_printf ("the page cannot make its %s offer: %s", type, error->message);
    return FALSE;
  }
  o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "renegotiationType", type);
  d = cJSON_AddObjectToObject (o, "sdpDetails");
  cJSON_AddStringToObject (d, "type", "OFFER");
  cJSON_AddStringToObject (d, "value", offer);
  extra = json_text (o);
  cJSON_Delete (o);
  fake_cloud_reset_requests (rig->fx->fc);
  g_assert_cmpuint (fx_event (rig->fx, "CallUpdate", m->sid, extra, NULL), ==, 200);
  req = fake_cloud_wait_signal (rig->fx->fc, "CallUpdateResponse", m->sid, STEP_WAIT_MS);
  if (req == NULL) {
    g_test_fail_printf ("no CallUpdateResponse to %s", type);
    return FALSE;
  }
  g_assert_null (req->validation_error);
  if (!amgw_browser_apply_answer (rig->page, jstr (req->json, "sdpDetails.value"), &error)) {
    g_test_fail_printf ("the page refuses amgw's answer to %s: %s", type, error->message);
    return FALSE;
  }
  g_assert_cmpuint (fx_event (rig->fx, "CallUpdateAck", m->sid, NULL, NULL), ==, 200);
  return !g_test_failed ();
}

/* The first INVITE baresip received after the @skip first ones (since the
 * meeting began) whose SDP has one of @directions (NULL-terminated:
 * "a=sendonly", ...) or, with @or_none, no direction attribute at all. */
static gboolean
wait_reinvite (Rig *rig, Meeting *m, guint skip, const char *const *directions, gboolean or_none,
    guint *index)
{
  gint64 end = g_get_monotonic_time () + (gint64) STEP_WAIT_MS * 1000;

  do {
    g_autoptr (GPtrArray) invites = amgw_baresip_requests (rig->bridge, "INVITE", m->bridge_mark);

    for (guint i = skip; i < invites->len; i++) {
      const char *text = invites->pdata[i];
      gboolean any = strstr (text, "a=sendrecv") || strstr (text, "a=sendonly")
          || strstr (text, "a=recvonly") || strstr (text, "a=inactive");
      gboolean match = or_none && !any;

      for (guint k = 0; directions[k] != NULL && !match; k++)
        match = strstr (text, directions[k]) != NULL;
      if (match) {
        *index = i;
        return TRUE;
      }
    }
    g_usleep (100 * 1000);
  } while (g_get_monotonic_time () < end);
  return FALSE;
}

/* ---- What reaches the bridge, from a capture on lo ----
 *
 * baresip 1.0.0 stops feeding its recording at the first re-INVITE (its
 * player restarts; it still receives: its status line shows the rx bit
 * rate, and the same happens between two baresips with /hold and /resume),
 * so after a hold the recording cannot tell what the bridge hears.  The
 * capture can: the PCMU that amgw sends to baresip's RTP ports, decoded. */

typedef struct {
  GSubprocess *proc;
  char *dir;
  char *pcap;
  char *log;
} Capture;

static void
capture_free (Capture *c)
{
  if (c == NULL)
    return;
  amgw_peer_stop_process (c->proc, SIGKILL, 0);
  if (g_test_failed ()) {
    g_autofree char *log = amgw_peer_read_text (c->log);
    g_printerr ("---- capture log ----\n%s\n---------------------\n", log);
  }
  if (g_getenv ("AMGW_KEEP_TEST_FILES") == NULL)
    amgw_peer_remove_tree (c->dir);
  else
    g_printerr ("capture kept in %s\n", c->pcap);
  g_clear_object (&c->proc);
  g_free (c->pcap);
  g_free (c->log);
  g_free (c->dir);
  g_free (c);
}

static Capture *
capture_start (void)
{
  g_autofree char *dumpcap = g_find_program_in_path ("dumpcap");
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  Capture *c = g_new0 (Capture, 1);

  c->dir = g_dir_make_tmp ("amgw-pcap-XXXXXX", &error);
  g_assert_no_error (error);
  c->pcap = g_build_filename (c->dir, "lo.pcapng", NULL);
  c->log = g_build_filename (c->dir, "capture.log", NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
      | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdout_file_path (launcher, c->log);
  /* dumpcap: one process that SIGINT stops after writing the file; the
   * namespace has only lo, and only this test's traffic. */
  c->proc = g_subprocess_launcher_spawn (launcher, &error, dumpcap ? "dumpcap" : "tshark",
      "-n", "-q", "-i", "lo", "-f", "udp", "-w", c->pcap, "-a", "duration:600", NULL);
  if (c->proc == NULL || !amgw_peer_wait_file_has (c->log, "Capturing on", 20000)) {
    g_test_fail_printf ("the capture did not start: %s", error ? error->message : c->log);
    capture_free (c);
    return NULL;
  }
  g_usleep (500 * 1000);    /* the filter in place */
  return c;
}

static void
capture_stop (Capture *c)
{
  g_usleep (300 * 1000);
  amgw_peer_stop_process (c->proc, SIGINT, 10000);
}

/* G.711 mu-law to linear (ITU-T G.711: sign, 3-bit exponent, 4-bit
 * mantissa, bias 0x84, bits inverted on the wire). */
static gint16
ulaw_to_linear (guint8 u)
{
  int t;

  u = ~u;
  t = ((u & 0x0F) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return (gint16) ((u & 0x80) ? (0x84 - t) : (t - 0x84));
}

/* The PCMU audio (payload type 0) that left amgw's RTP ports [@min, @max]
 * for baresip's (BARESIP_RTP_MIN-MAX) after @after_epoch (wall clock),
 * in capture order.  (transfer full) */
#define BARESIP_RTP_MIN 10000
#define BARESIP_RTP_MAX 10100
static GArray *
capture_pcmu_to_bridge (Capture *c, guint min, guint max, double after_epoch)
{
  g_autofree char *filter = g_strdup_printf ("rtp && rtp.p_type == 0 && udp.srcport >= %u && "
      "udp.srcport <= %u && udp.dstport >= %u && udp.dstport <= %u", min, max, BARESIP_RTP_MIN,
      BARESIP_RTP_MAX);
  const char *argv[] = { "tshark", "-n", "-r", c->pcap, "-o", "rtp.heuristic_rtp:TRUE", "-Y",
    filter, "-T", "fields", "-e", "frame.time_epoch", "-e", "rtp.payload", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  GArray *pcm = g_array_new (FALSE, FALSE, sizeof (gint16));
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
          &status, &error)) {
    g_test_fail_printf ("tshark -r: %s", error->message);
    return pcm;
  }
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], "\t", -1);
    const char *hex;

    if (g_strv_length (f) < 2 || g_ascii_strtod (f[0], NULL) < after_epoch)
      continue;
    hex = f[1];
    for (gsize k = 0; g_ascii_isxdigit (hex[k]) && g_ascii_isxdigit (hex[k + 1]); k += 2) {
      /* tshark writes payload bytes as "aa:bb:..." or "aabb...". */
      gint16 v = ulaw_to_linear ((guint8) ((g_ascii_xdigit_value (hex[k]) << 4)
          | g_ascii_xdigit_value (hex[k + 1])));
      g_array_append_val (pcm, v);
      if (hex[k + 2] == ':')
        k++;
    }
  }
  return pcm;
}

static gboolean
hold_and_resume (Rig *rig, Meeting *m)
{
  static const char *const held[] = { "a=sendonly", "a=inactive", NULL };
  static const char *const resumed[] = { "a=sendrecv", NULL };
  guint hold_index = 0, resume_index = 0;
  double before, after, level = -200, heard = 0, resumed_epoch, out_at_resume = -1, hz;
  g_autoptr (GArray) pcm = NULL;
  Capture *cap;
  gint64 t, end;
  cJSON *view;

  cap = capture_start ();
  if (cap == NULL)
    return FALSE;

  /* Hold: the page sends only; amgw puts the bridge on hold. */
  t = g_get_monotonic_time ();
  if (!renegotiate (rig, m, "CALL_HOLD", "sendonly"))
    goto failed;
  if (!wait_reinvite (rig, m, 1, held, FALSE, &hold_index)) {
    g_autoptr (GPtrArray) invites = amgw_baresip_requests (rig->bridge, "INVITE", m->bridge_mark);
    g_test_fail_printf ("baresip received no re-INVITE with a=sendonly or a=inactive "
        "(%u INVITEs in its trace)", invites->len);
    goto failed;
  }
  g_test_message ("[%s] hold: re-INVITE at baresip after %.2f s", m->sid, since_s (t));
  /* The page receives nothing while it holds. */
  g_usleep (1000 * 1000);
  before = page_packets_in (rig);
  g_usleep (1500 * 1000);
  after = page_packets_in (rig);
  g_test_message ("[%s] on hold: the page received %.0f packets in 1.5 s", m->sid, after - before);
  if (after - before >= 5)
    g_test_fail_printf ("the page still receives audio on hold (%.0f packets in 1.5 s)",
        after - before);

  /* Resume. */
  t = g_get_monotonic_time ();
  if (!renegotiate (rig, m, "CALL_RESUME", "sendrecv"))
    goto failed;
  resumed_epoch = g_get_real_time () / 1e6;
  view = call_view (rig, m->sid);
  out_at_resume = jnum (view, "relay.to_bridge.packets_out", -1);
  cJSON_Delete (view);
  if (!wait_reinvite (rig, m, hold_index + 1, resumed, TRUE, &resume_index)) {
    g_test_fail_printf ("baresip received no re-INVITE with a=sendrecv after the hold");
    goto failed;
  }
  g_test_message ("[%s] resume: re-INVITE at baresip after %.2f s", m->sid, since_s (t));
  if (!page_hears (rig, BRIDGE_TONE, 30, &heard, &level)) {
    g_test_fail_printf ("after resume the page heard %.0f Hz at %.1f dBFS, not %.0f Hz", heard,
        level, BRIDGE_TONE);
    goto failed;
  }
  g_test_message ("[%s] after resume the page hears %.0f Hz at %.1f dBFS (%.2f s)", m->sid,
      heard, level, since_s (t));
  /* Toward the bridge: 3 s of packets after the resume (polled). */
  end = g_get_monotonic_time () + (gint64) MEDIA_WAIT_MS * 1000;
  do {
    g_usleep (250 * 1000);
    view = call_view (rig, m->sid);
    after = jnum (view, "relay.to_bridge.packets_out", -1);
    cJSON_Delete (view);
  } while (after < out_at_resume + 150 && g_get_monotonic_time () < end);
  capture_stop (cap);
  pcm = capture_pcmu_to_bridge (cap, rig->rtp_min, rig->rtp_min + 199, resumed_epoch + 1.0);
  hz = amgw_audio_dominant_hz ((const gint16 *) pcm->data, MIN (pcm->len, 8000 * 2), 8000,
      &level);
  g_test_message ("[%s] after resume amgw sent baresip %.2f s of PCMU: %.0f Hz at %.1f dBFS",
      m->sid, pcm->len / 8000.0, hz, level);
  if (pcm->len < 8000 || !near (hz, PAGE_TONE, TONE_TOLERANCE) || level < MIN_LEVEL_DB)
    g_test_fail_printf ("after resume the bridge got %.2f s of audio at %.0f Hz, %.1f dBFS, "
        "not the page's %.0f Hz", pcm->len / 8000.0, hz, level, PAGE_TONE);
  capture_free (cap);
  return !g_test_failed ();

failed:
  capture_free (cap);
  return FALSE;
}

static void
test_hold_resume (void)
{
  gint64 t0 = g_get_monotonic_time ();
  Rig *rig = rig_start (&rig_opus_pcmu);
  Meeting m = { 0, };
  gboolean ok;

  if (rig == NULL)
    return;
  /* Before the hold: as every meeting, the recording holds the page's tone
   * (looked at while it is being written). */
  ok = meeting_join (rig, &m, &meet_opus_pcmu)
      && meeting_check_bridge_joined (rig, &m)
      && meeting_check_relay (rig, &m, &meet_opus_pcmu)
      && meeting_check_page_hears_bridge (rig, &m)
      && meeting_check_bridge_heard_page (rig, &m)
      && hold_and_resume (rig, &m);
  if (m.sid != NULL) {
    ok = meeting_end (rig, &m) && ok;
    if (ok)
      meeting_check_record (rig, &m);
  }
  meeting_clear (&m);
  rig_free (rig);
  g_test_message ("whole case: %.2f s", since_s (t0));
}

/* Three short meetings on one daemon, one page and one bridge: what the
 * daemon's valgrind run in scripts/test goes through. */
static void
test_loop (void)
{
  const MeetingSpec *meetings[] = { &meet_loop_pcmu, &meet_loop_g722, &meet_loop_pcmu };
  gint64 t0 = g_get_monotonic_time ();
  Rig *rig = rig_start (&rig_loop);

  if (rig == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (meetings); i++) {
    gint64 t = g_get_monotonic_time ();
    gboolean ok = run_meeting (rig, meetings[i]);

    g_test_message ("meeting %u of %u (%s <-> %s): %s, %.2f s", i + 1,
        (guint) G_N_ELEMENTS (meetings), meetings[i]->alexa_codec, meetings[i]->bridge_codec,
        ok ? "ok" : "failed", since_s (t));
    if (!ok)
      break;
  }
  rig_free (rig);
  g_test_message ("whole case: %.2f s", since_s (t0));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* A failed check still reaches the clean-up, which prints amgw's and
   * baresip's logs and ends every peer. */
  g_test_set_nonfatal_assertions ();
  g_test_add_data_func ("/meeting/opus-pcmu", &case_opus_pcmu, test_meeting);
  g_test_add_data_func ("/meeting/pcmu-passthrough", &case_pcmu, test_meeting);
  g_test_add_data_func ("/meeting/g722-bridge", &case_g722, test_meeting);
  g_test_add_func ("/meeting/hold-resume", test_hold_resume);
  g_test_add_func ("/meeting/loop", test_loop);
  return g_test_run ();
}
