/* A whole meeting through the real amgw binary (the build's), with real
 * peers on both legs, in a network namespace with only loopback: Chromium
 * plays the Alexa device, baresip the meeting bridge.  The rig and the
 * phases of a meeting, and what each checks, are in tests/support/meeting.h
 * (tests/e2e/test-container.c runs the same meeting against the image).
 *
 * Cases: /meeting/opus-pcmu (page Opus, bridge PCMU: transcoding both ways),
 * /meeting/pcmu-passthrough, /meeting/g722-bridge (page Opus, bridge G.722),
 * /meeting/hold-resume (CallUpdate CALL_HOLD from the Alexa side becomes a
 * re-INVITE with a=sendonly or a=inactive at baresip and the page receives
 * nothing; CALL_RESUME restores audio both ways: the page hears the bridge
 * again, and a capture on lo shows the page's tone in the PCMU amgw sends
 * baresip, since baresip's recording stops at a re-INVITE),
 * /meeting/loop (three short meetings on one daemon, alternating between a
 * PCMU and a G.722 bridge, for scripts/test's valgrind run of the daemon). */
#include "meeting.h"
#include "capture.h"
#include "dtmf-detect.h"

#include <signal.h>

/* ------------------------------------------------------------------------ */
/* The cases                                                                 */
/* ------------------------------------------------------------------------ */

static const RigSpec rig_pcmu = { "PCMU", "PCMU", { "PCMU" } };
static const RigSpec rig_g722 = { "opus", "G722", { "G722" } };
/* The loop: amgw offers PCMU and G.722 to the bridge; two bridges answer
 * one each.  (Not a page choosing among amgw's Alexa codecs: Chromium
 * answers with its setCodecPreferences() choice but sends with the first
 * codec of amgw's offer, which amgw rightly drops.) */
static const RigSpec rig_loop = { "opus", "PCMU, G722", { "PCMU", "G722" } };

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

  meeting_case_run (c->rig, c->meeting, g_getenv ("AMGW_BINARY"));
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

/* The PCMU audio (payload type 0) that left amgw's RTP ports [@min, @max]
 * for baresip's (BARESIP_RTP_MIN-MAX) after @after_epoch (wall clock),
 * in capture order.  (transfer full) */
#define BARESIP_RTP_MIN 10000
#define BARESIP_RTP_MAX 10100
static GArray *
capture_pcmu_to_bridge (AmgwCapture *c, guint min, guint max, double after_epoch)
{
  g_autofree char *filter = g_strdup_printf ("rtp && rtp.p_type == 0 && udp.srcport >= %u && "
      "udp.srcport <= %u && udp.dstport >= %u && udp.dstport <= %u", min, max, BARESIP_RTP_MIN,
      BARESIP_RTP_MAX);
  const char *args[] = { "-o", "rtp.heuristic_rtp:TRUE", "-Y", filter, "-T", "fields",
    "-e", "frame.time_epoch", "-e", "rtp.payload", NULL };
  g_auto (GStrv) lines = amgw_capture_read (c, args);
  GArray *pcm = g_array_new (FALSE, FALSE, sizeof (gint16));

  for (guint i = 0; lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], "\t", -1);
    const char *hex;

    if (g_strv_length (f) < 2 || g_ascii_strtod (f[0], NULL) < after_epoch)
      continue;
    hex = f[1];
    for (gsize k = 0; g_ascii_isxdigit (hex[k]) && g_ascii_isxdigit (hex[k + 1]); k += 2) {
      /* tshark writes payload bytes as "aa:bb:..." or "aabb...". */
      gint16 v = amgw_test_ulaw_to_linear ((guint8) ((g_ascii_xdigit_value (hex[k]) << 4)
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
  AmgwCapture *cap;
  gint64 t, end;
  cJSON *view;

  cap = amgw_capture_start (600);
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
  before = rig_page_packets_in (rig);
  g_usleep (1500 * 1000);
  after = rig_page_packets_in (rig);
  g_test_message ("[%s] on hold: the page received %.0f packets in 1.5 s", m->sid, after - before);
  if (after - before >= 5)
    g_test_fail_printf ("the page still receives audio on hold (%.0f packets in 1.5 s)",
        after - before);

  /* Resume. */
  t = g_get_monotonic_time ();
  if (!renegotiate (rig, m, "CALL_RESUME", "sendrecv"))
    goto failed;
  resumed_epoch = g_get_real_time () / 1e6;
  view = rig_call_view (rig, m->sid);
  out_at_resume = jnum (view, "relay.to_bridge.packets_out", -1);
  cJSON_Delete (view);
  if (!wait_reinvite (rig, m, hold_index + 1, resumed, TRUE, &resume_index)) {
    g_test_fail_printf ("baresip received no re-INVITE with a=sendrecv after the hold");
    goto failed;
  }
  g_test_message ("[%s] resume: re-INVITE at baresip after %.2f s", m->sid, since_s (t));
  if (!rig_page_hears (rig, BRIDGE_TONE, 30, &heard, &level)) {
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
    view = rig_call_view (rig, m->sid);
    after = jnum (view, "relay.to_bridge.packets_out", -1);
    cJSON_Delete (view);
  } while (after < out_at_resume + 150 && g_get_monotonic_time () < end);
  amgw_capture_stop (cap);
  pcm = capture_pcmu_to_bridge (cap, rig->rtp_min, rig->rtp_min + 199, resumed_epoch + 1.0);
  hz = amgw_audio_dominant_hz ((const gint16 *) pcm->data, MIN (pcm->len, 8000 * 2), 8000,
      &level);
  g_test_message ("[%s] after resume amgw sent baresip %.2f s of PCMU: %.0f Hz at %.1f dBFS",
      m->sid, pcm->len / 8000.0, hz, level);
  if (pcm->len < 8000 || !tone_near (hz, PAGE_TONE, TONE_TOLERANCE) || level < MIN_LEVEL_DB)
    g_test_fail_printf ("after resume the bridge got %.2f s of audio at %.0f Hz, %.1f dBFS, "
        "not the page's %.0f Hz", pcm->len / 8000.0, hz, level, PAGE_TONE);
  amgw_capture_free (cap);
  return !g_test_failed ();

failed:
  amgw_capture_free (cap);
  return FALSE;
}

static void
test_hold_resume (void)
{
  gint64 t0 = g_get_monotonic_time ();
  Rig *rig = rig_start (&rig_opus_pcmu, g_getenv ("AMGW_BINARY"));
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
  Rig *rig = rig_start (&rig_loop, g_getenv ("AMGW_BINARY"));

  if (rig == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (meetings); i++) {
    gint64 t = g_get_monotonic_time ();
    gboolean ok = meeting_run (rig, meetings[i]);

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
