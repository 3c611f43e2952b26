/* Integration test of the SIP bridge leg (signaling/sip-leg.c) against a
 * real SIP user agent: baresip (Debian package baresip-core) plays the
 * meeting bridge on 127.0.0.1, auto-answers and plays a WAV file, while
 * tshark captures loopback.  The capture, not amgw's own word, shows what
 * reached the bridge:
 *
 *  - the INVITE's Request-URI (sip:<id>@127.0.0.1:<port> with the default
 *    dial template);
 *  - the meeting digits after [sip] dtmf-pause, decoded from the RFC 4733
 *    events (one digit per RTP timestamp) or from the SIP INFO requests
 *    (application/dtmf-relay, "Signal=<digit>");
 *  - RTP from amgw's media port to the port of baresip's SDP answer;
 *  - the BYE after EndMeeting, with CallEnded SUCCESS at the fake cloud.
 *
 * With [sip] dtmf = inband the digits are Q.23 tone pairs in the G.711
 * audio (PCMU, or PCMA when baresip accepts only that): a DTMF detector
 * (tests/support/dtmf-detect.c) finds them in what baresip recorded and in
 * the RTP payload of the capture, with their lengths, gaps and levels.
 *
 * Audio content is not checked otherwise: the scripted Alexa leg of
 * amgw-testd has no media, so what flows toward baresip is the DTMF itself
 * (and amgw's silence frames around it).
 *
 * amgw-testd runs with AMGW_TESTD_REAL_SIP=1 (see test-sip-sipp.c). */
#include "common.h"
#include "sip-common.h"
#include "baresip.h"
#include "capture.h"
#include "dtmf-detect.h"

#include <gio/gio.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>

#define MEETING_ID "8642"
#define MEETING_PIN "1357"
#define DTMF_PAUSE_MS 1000
#define SAFETY_S 120                /* baresip -t, dumpcap -a duration: they end on their own */
/* amgw's in-band DTMF (media/rtp-session.c): 100 ms tone pairs, 100 ms
 * apart, each tone at -10 dBm0 (amplitude 7040 of 32768: -16.4 dBFS). */
#define INBAND_TONE_MS 100.0
#define INBAND_GAP_MS 100.0
#define INBAND_TONE_DBFS -16.4
#define INBAND_MS_TOLERANCE 5.0     /* on the wire: the detector's estimate, a few ms */
#define MAX_TS_GAP_SAMPLES 16000    /* a timestamp jump counts as 2 s of silence at most */

static const char *skip_reason;

/* ------------------------------------------------------------------------ */
/* baresip as the bridge (tests/support/baresip.c)                          */
/* ------------------------------------------------------------------------ */

/* baresip answers only a Request-URI whose user part is an account's: the
 * account is <sip:@user@127.0.0.1>.  G.711, a 10 s 440 Hz WAV, and no
 * jitter buffer: the scripted Alexa leg sends no audio, so the only RTP
 * toward baresip is the DTMF, which baresip's jitter buffer (1.0.0) then
 * loses or holds back (see baresip.c). */
static AmgwBaresip *
baresip_start (const char *user, const char *codecs)
{
  AmgwBaresipOptions opt = {
    .user = user, .codecs = codecs, .tone_hz = 440.0, .tone_seconds = 10,
    .jitter_buffer = FALSE, .timeout_s = SAFETY_S,
  };
  g_autoptr (GError) error = NULL;
  AmgwBaresip *b = amgw_baresip_start (&opt, &error);

  if (b == NULL)
    g_test_fail_printf ("baresip did not start: %s", error->message);
  return b;
}

/* ------------------------------------------------------------------------ */
/* The capture on lo                                                         */
/* ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------ */
/* What the capture shows                                                    */
/* ------------------------------------------------------------------------ */

typedef struct {
  double time;
  guint sport, dport;
  char *method;          /* requests */
  char *ruri;
  guint status;          /* responses */
  char *cseq_method;
  guint cseq;
  guint media_port;      /* first m= port of an SDP body, 0 if none */
  char *text;            /* the whole datagram */
} SipMsg;

static void
sip_msg_free (gpointer p)
{
  SipMsg *m = p;

  g_free (m->method);
  g_free (m->ruri);
  g_free (m->cseq_method);
  g_free (m->text);
  g_free (m);
}

static char *
hex_to_text (const char *hex)
{
  gsize n = strlen (hex) / 2;
  char *out = g_malloc (n + 1);

  for (gsize i = 0; i < n; i++)
    out[i] = (char) ((g_ascii_xdigit_value (hex[2 * i]) << 4) | g_ascii_xdigit_value (hex[2 * i + 1]));
  out[n] = '\0';
  return out;
}

static GPtrArray *
capture_sip (AmgwCapture *c)
{
  static const char *const args[] = {
    "-Y", "sip", "-T", "fields", "-E", "occurrence=f",
    "-e", "frame.time_relative", "-e", "udp.srcport", "-e", "udp.dstport",
    "-e", "sip.Method", "-e", "sip.r-uri", "-e", "sip.Status-Code", "-e", "sip.CSeq.method",
    "-e", "sip.CSeq.seq", "-e", "sdp.media.port", "-e", "udp.payload", NULL
  };
  g_auto (GStrv) lines = amgw_capture_read (c, args);
  GPtrArray *msgs = g_ptr_array_new_with_free_func (sip_msg_free);

  for (guint i = 0; lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], "\t", -1);
    SipMsg *m;

    if (g_strv_length (f) < 10)
      continue;
    m = g_new0 (SipMsg, 1);
    m->time = g_ascii_strtod (f[0], NULL);
    m->sport = atoi (f[1]);
    m->dport = atoi (f[2]);
    m->method = *f[3] ? g_strdup (f[3]) : NULL;
    m->ruri = *f[4] ? g_strdup (f[4]) : NULL;
    m->status = atoi (f[5]);
    m->cseq_method = g_strdup (f[6]);
    m->cseq = atoi (f[7]);
    m->media_port = atoi (f[8]);
    m->text = hex_to_text (f[9]);
    g_ptr_array_add (msgs, m);
  }
  return msgs;
}

typedef struct {
  char digit;
  guint32 ts;
  double first, last;
  guint packets;
  gboolean ended;        /* an end-of-event packet came */
} Event;

typedef struct {
  GArray *events;        /* Event: the RFC 4733 digits, one per RTP timestamp */
  guint rtp_packets;     /* RTP packets from amgw's media port to baresip's */
  guint rtp_elsewhere;   /* RTP packets from amgw's port range to any other port */
  guint amgw_port;
} RtpSeen;

static const char event_chars[] = "0123456789*#ABCD";

/* RTP from amgw's port range [@min, @max] (RFC 4733 events decoded by
 * payload type: from the SDP in the same capture, or rtp.pt 101's default). */
static void
capture_rtp (AmgwCapture *c, guint min, guint max, guint bridge_port, RtpSeen *seen)
{
  static const char *const args[] = {
    "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp", "-T", "fields", "-E", "occurrence=f",
    "-e", "frame.time_relative", "-e", "udp.srcport", "-e", "udp.dstport",
    "-e", "rtp.timestamp", "-e", "rtpevent.event_id", "-e", "rtpevent.end_of_event", NULL
  };
  g_auto (GStrv) lines = amgw_capture_read (c, args);

  seen->events = g_array_new (FALSE, TRUE, sizeof (Event));
  for (guint i = 0; lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], "\t", -1);
    guint sport, dport, id;
    guint32 ts;
    double t;
    Event *last;

    if (g_strv_length (f) < 6)
      continue;
    t = g_ascii_strtod (f[0], NULL);
    sport = atoi (f[1]);
    dport = atoi (f[2]);
    if (sport < min || sport > max)
      continue;
    if (dport != bridge_port) {
      seen->rtp_elsewhere++;
      continue;
    }
    if (seen->amgw_port == 0)
      seen->amgw_port = sport;
    if (sport == seen->amgw_port)
      seen->rtp_packets++;
    if (*f[4] == '\0')
      continue;
    id = atoi (f[4]);
    ts = (guint32) g_ascii_strtoull (f[3], NULL, 10);
    last = seen->events->len ? &g_array_index (seen->events, Event, seen->events->len - 1) : NULL;
    if (last == NULL || last->ts != ts) {
      Event e = { .digit = id < 16 ? event_chars[id] : '?', .ts = ts, .first = t };
      g_array_append_val (seen->events, e);
      last = &g_array_index (seen->events, Event, seen->events->len - 1);
    }
    last->last = t;
    last->packets++;
    if (g_ascii_strcasecmp (f[5], "1") == 0 || g_ascii_strcasecmp (f[5], "True") == 0)
      last->ended = TRUE;
  }
}

static char *
events_string (GArray *events)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < events->len; i++)
    g_string_append_c (s, g_array_index (events, Event, i).digit);
  return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------------------ */
/* The cases                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct {
  const char *provider;      /* meeting.provider */
  const char *user;          /* the Request-URI's user part amgw must dial */
  const char *digits;        /* what must reach the bridge, in order */
  gboolean info;             /* SIP INFO, else RFC 4733 */
  int pause_before;          /* index in @digits after which dtmf-pause separates, or -1 */
  gboolean inband;           /* [sip] dtmf = inband (else rfc4733) */
  const char *codecs;        /* baresip's codecs (NULL: the harness's default, G.711) */
  guint answer_pt;           /* with @inband: the payload type baresip answers */
} Case;

/* [provider chime]: SIP INFO.  [provider webex]: a fixed user part, so the
 * id and the pin both go as DTMF, separated by dtmf-pause.  @inband: in-band
 * tones by default, [sip] dtmf = inband. */
static Fx *
fx_start_bridge (guint16 sip_port, guint16 rtp_min, guint16 rtp_max, gboolean inband)
{
  g_autofree char *extra = NULL;
  FxOptions opt = { 0, };

  extra = g_strdup_printf ("\n[sip]\nlisten = 127.0.0.1:%u\ndtmf = %s\ndtmf-pause = %u\n"
      "invite-timeout = 10000\n"
      "\n[media]\nrtp-port-min = %u\nrtp-port-max = %u\n"
      "\n[provider chime]\ndtmf = info\n"
      "\n[provider webex]\ndial-template = meet\n",
      sip_port, inband ? "inband" : "rfc4733", DTMF_PAUSE_MS, rtp_min, rtp_max);
  opt.extra = extra;
  g_setenv ("AMGW_TESTD_REAL_SIP", "1", TRUE);
  return fx_start (&opt);
}

static char *
join_bridge (Fx *fx, guint16 port, const char *provider)
{
  g_autofree char *payload = g_strdup_printf ("{\"meeting\": {\"id\": \"" MEETING_ID
      "\", \"pin\": \"" MEETING_PIN "\", \"endpoint\": \"127.0.0.1:%u\", \"protocol\": \"SIP\","
      " \"provider\": \"%s\"}}", port, provider);
  g_autofree char *answer_sdp = sdp_details (FALSE);
  cJSON *answer = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting",
      "room-boardroom", BOARDROOM_TOKEN, payload);
  FakeCloudRequest *req;
  char *sid;

  assert_response (answer);
  cJSON_Delete (answer);
  req = fake_cloud_wait_signal (fx->fc, "InitiateInboundCall", NULL, WAIT_MS);
  g_assert_nonnull (req);
  if (req == NULL)
    return g_strdup ("none");
  sid = g_strdup (req->session_id);
  /* The scripted Alexa leg: the device rings and accepts. */
  g_assert_cmpuint (fx_event (fx, "CallRinging", sid, NULL, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallRingingAck", sid, WAIT_MS));
  g_assert_cmpuint (fx_event (fx, "CallAccepted", sid, answer_sdp, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallAcceptedAck", sid, WAIT_MS));
  return sid;
}

static void
end_meeting (Fx *fx)
{
  cJSON *answer = fx_directive (fx, "Alexa.MeetingClientController", "EndMeeting",
      "room-boardroom", BOARDROOM_TOKEN, "{}");

  if (g_strcmp0 (jstr (answer, "event.header.name"), "Response") != 0)
    g_test_fail_printf ("EndMeeting: %s", jstr (answer, "event.payload.message"));
  cJSON_Delete (answer);
}

static const SipMsg *
find_request (GPtrArray *msgs, const char *method, guint from_port)
{
  for (guint i = 0; i < msgs->len; i++) {
    const SipMsg *m = msgs->pdata[i];
    if (g_strcmp0 (m->method, method) == 0 && (from_port == 0 || m->sport == from_port))
      return m;
  }
  return NULL;
}

static const SipMsg *
find_response (GPtrArray *msgs, const char *method, guint status_min, guint status_max)
{
  for (guint i = 0; i < msgs->len; i++) {
    const SipMsg *m = msgs->pdata[i];
    if (m->method == NULL && g_strcmp0 (m->cseq_method, method) == 0 && m->status >= status_min
        && m->status <= status_max)
      return m;
  }
  return NULL;
}

/* The digit of an INFO's application/dtmf-relay body ("Signal=8\r\n..."). */
static char
info_signal (const SipMsg *m)
{
  const char *body = strstr (m->text, "\r\n\r\n");
  const char *sig;

  if (body == NULL || strstr (m->text, "application/dtmf-relay") == NULL)
    return '?';
  sig = strstr (body, "Signal=");
  if (sig == NULL)
    return '?';
  sig += strlen ("Signal=");
  while (*sig == ' ')
    sig++;
  return *sig;
}

/* ------------------------------------------------------------------------ */
/* In-band DTMF: on the wire and in baresip's recording                      */
/* ------------------------------------------------------------------------ */

/* tshark's hex bytes ("ff7e..." or "ff:7e:..."). (transfer full) */
static guint8 *
hex_to_bytes (const char *hex, gsize *len)
{
  guint8 *out = g_malloc (strlen (hex) / 2 + 1);
  gsize n = 0;

  for (const char *p = hex; p[0] && p[1];) {
    if (!g_ascii_isxdigit (p[0])) {
      p++;
      continue;
    }
    out[n++] = (guint8) ((g_ascii_xdigit_value (p[0]) << 4) | g_ascii_xdigit_value (p[1]));
    p += 2;
  }
  *len = n;
  return out;
}

/* The G.711 audio (payload type @pt: 0 PCMU, 8 PCMA) from amgw's
 * @amgw_port to baresip's @bridge_port, into @det on the RTP timeline:
 * packets in order as sent, a jump in the timestamps as silence, a packet
 * that overlaps the one before played after it (as a receiver without a
 * jitter buffer does).  Returns the packets fed. */
static guint
capture_feed_g711 (AmgwCapture *c, guint amgw_port, guint bridge_port, guint pt,
    AmgwInbandDtmf *det)
{
  static const char *const args[] = {
    "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp", "-T", "fields", "-E", "occurrence=f",
    "-e", "udp.srcport", "-e", "udp.dstport", "-e", "rtp.p_type", "-e", "rtp.timestamp",
    "-e", "rtp.payload", NULL
  };
  g_auto (GStrv) lines = amgw_capture_read (c, args);
  guint32 last_ts = 0, next_ts = 0;
  guint fed = 0, behind = 0, jumps = 0, overlaps = 0;
  gint32 widest_jump = 0, widest_overlap = 0;

  for (guint i = 0; lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], "\t", -1);
    g_autofree guint8 *payload = NULL;
    gsize len = 0;
    guint32 ts;
    gint32 step;

    if (g_strv_length (f) < 5 || (guint) atoi (f[0]) != amgw_port
        || (guint) atoi (f[1]) != bridge_port || (guint) atoi (f[2]) != pt)
      continue;
    ts = (guint32) g_ascii_strtoull (f[3], NULL, 10);
    payload = hex_to_bytes (f[4], &len);
    step = (gint32) (ts - next_ts);
    if (fed > 0 && (gint32) (ts - last_ts) <= 0) {
      behind++;               /* a step back or a repeat: amgw never sends one (checked below) */
      continue;
    }
    if (fed > 0 && step > 0) {
      jumps++;
      widest_jump = MAX (widest_jump, step);
      amgw_inband_dtmf_push_silence (det, MIN (step, MAX_TS_GAP_SAMPLES));
    } else if (fed > 0 && step < 0) {
      overlaps++;
      widest_overlap = MAX (widest_overlap, -step);
    }
    amgw_inband_dtmf_push_g711 (det, payload, len, pt == 8);
    last_ts = ts;
    next_ts = ts + (guint32) len;
    fed++;
  }
  amgw_inband_dtmf_finish (det);
  g_test_message ("%u %s packets toward baresip in the capture; timestamp jumps: %u (widest "
      "%d samples), overlaps: %u (widest %d)", fed, pt == 8 ? "PCMA" : "PCMU", jumps,
      widest_jump, overlaps, widest_overlap);
  if (behind > 0)
    g_test_fail_printf ("%u RTP packets toward baresip step back in the timestamps", behind);
  return fed;
}

/* The in-band digits in @det (from @where): the digits; with @strict (the
 * wire, amgw's own timeline) also 100 ms tones 100 ms apart, the id and
 * the pin dtmf-pause apart, each tone at -10 dBm0 and no twist.  baresip's
 * recording follows its playout, so there the figures are only shown. */
static void
check_inband (const char *where, AmgwInbandDtmf *det, const Case *tc, gboolean strict)
{
  guint n = 0, rate = amgw_inband_dtmf_get_rate (det);
  const AmgwInbandDtmfTone *t = amgw_inband_dtmf_get_tones (det, &n);
  g_autofree char *digits = amgw_inband_dtmf_get_digits (det);

  g_test_message ("%s: \"%s\" in %.2f s of audio at %u Hz", where, digits,
      (double) amgw_inband_dtmf_get_position (det) / rate, rate);
  for (guint i = 0; i < n; i++) {
    double len_ms = (double) (t[i].end - t[i].start) * 1000 / rate;
    double gap_ms = i > 0 ? ((double) t[i].start - (double) t[i - 1].end) * 1000 / rate : 0;

    g_test_message ("  '%c' at %.3f s: %.1f ms, %.1f ms after the last; row %.2f, column "
        "%.2f dBFS, twist %+.2f dB, tones %.1f %% of the energy", t[i].digit,
        (double) t[i].start / rate, len_ms, gap_ms, t[i].row_dbfs, t[i].col_dbfs,
        t[i].twist_db, t[i].fraction * 100);
    if (!strict)
      continue;
    if (fabs (len_ms - INBAND_TONE_MS) > INBAND_MS_TOLERANCE)
      g_test_fail_printf ("%s: digit %u ('%c') lasts %.1f ms", where, i, t[i].digit, len_ms);
    if (i > 0 && (int) i - 1 == tc->pause_before) {
      if (gap_ms < DTMF_PAUSE_MS)
        g_test_fail_printf ("%s: only %.0f ms between the id and the pin (dtmf-pause %u)",
            where, gap_ms, DTMF_PAUSE_MS);
    } else if (i > 0 && fabs (gap_ms - INBAND_GAP_MS) > INBAND_MS_TOLERANCE) {
      g_test_fail_printf ("%s: %.1f ms between digits %u and %u", where, gap_ms, i - 1, i);
    }
    if (fabs (t[i].row_dbfs - INBAND_TONE_DBFS) > 1 || fabs (t[i].col_dbfs - INBAND_TONE_DBFS) > 1)
      g_test_fail_printf ("%s: digit %u ('%c') at %.2f/%.2f dBFS, not %.1f", where, i,
          t[i].digit, t[i].row_dbfs, t[i].col_dbfs, INBAND_TONE_DBFS);
    if (fabs (t[i].twist_db) > 1)
      g_test_fail_printf ("%s: digit %u ('%c') has a twist of %.2f dB", where, i, t[i].digit,
          t[i].twist_db);
  }
  g_assert_cmpstr (digits, ==, tc->digits);
}

/* The digits baresip heard: its recording of the call (-dec.wav), which
 * baresip has closed (stopped). */
static void
check_recording (AmgwBaresip *b, const Case *tc)
{
  g_autoptr (GPtrArray) recs = amgw_baresip_recordings (b);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwInbandDtmf) det = NULL;
  g_autofree gint16 *samples = NULL;
  gsize n = 0;
  guint rate = 0;

  if (recs->len != 1) {
    g_test_fail_printf ("%u recordings of the call, not 1", recs->len);
    return;
  }
  if (!amgw_wav_read (recs->pdata[0], &rate, &samples, &n, &error)) {
    g_test_fail_printf ("baresip's recording: %s", error->message);
    return;
  }
  det = amgw_inband_dtmf_new (rate, NULL);
  amgw_inband_dtmf_push (det, samples, n);
  amgw_inband_dtmf_finish (det);
  check_inband ("baresip's recording", det, tc, FALSE);
}

static void
run_case (gconstpointer data)
{
  const Case *tc = data;
  Fx *fx;
  AmgwBaresip *b;
  AmgwCapture *c;
  guint16 bport;
  g_autofree char *sid = NULL, *ruri = NULL, *got = NULL, *bs_invite = NULL, *bslog = NULL;
  g_autoptr (GPtrArray) msgs = NULL;
  guint16 amgw_sip = 0, rtp_min = 0;
  const SipMsg *invite, *ok, *bye;
  FakeCloudRequest *req;
  guint timeout_ms, n = strlen (tc->digits);
  gint64 t0 = g_get_monotonic_time (), t_done;
  RtpSeen rtp = { 0, };

  if (skip_reason != NULL) {
    g_test_skip (skip_reason);
    return;
  }

  c = amgw_capture_start (SAFETY_S);
  b = baresip_start (tc->user, tc->codecs);
  if (b == NULL) {
    amgw_capture_free (c);
    return;
  }
  bport = amgw_baresip_get_port (b);
  amgw_sip = free_port ();
  rtp_min = free_port () & ~1u;
  if (rtp_min > 65000)
    rtp_min = 40000;
  fx = fx_start_bridge (amgw_sip, rtp_min, rtp_min + 99, tc->inband);
  g_test_message ("baresip on 127.0.0.1:%u, amgw SIP on %u, RTP %u-%u", bport, amgw_sip,
      rtp_min, rtp_min + 99);

  sid = join_bridge (fx, bport, tc->provider);
  if (!wait_log (fx, "the bridge answered", WAIT_MS)) {
    g_test_fail_printf ("baresip did not answer");
  } else {
    /* The digits follow dtmf-pause after the answer: 100 ms tone + 100 ms
     * gap each in RFC 4733 and in-band, one INFO every 250 ms; generously
     * more. */
    timeout_ms = DTMF_PAUSE_MS * 2 + n * 600 + 10000;
    if (!wait_log (fx, tc->info ? "DTMF (SIP INFO) sent" : "DTMF played out", timeout_ms))
      g_test_fail_printf ("amgw did not finish sending the digits within %u ms", timeout_ms);
  }
  t_done = g_get_monotonic_time ();
  /* Let the last INFO's 200 and the end packets land. */
  g_usleep (400 * 1000);
  end_meeting (fx);
  req = fake_cloud_wait_signal (fx->fc, "CallEnded", sid, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_cmpstr (req ? jstr (req->json, "callResult.code") : NULL, ==, "SUCCESS");
  /* baresip sees the BYE. */
  if (!amgw_baresip_wait_log (b, "BYE sip:", 0, 5000))
    g_test_fail_printf ("no BYE in baresip's SIP trace");
  amgw_capture_stop (c);

  /* ---- SIP, from the capture ---- */
  msgs = capture_sip (c);
  invite = find_request (msgs, "INVITE", amgw_sip);
  g_assert_nonnull (invite);
  ruri = g_strdup_printf ("sip:%s@127.0.0.1:%u", tc->user, bport);
  g_assert_cmpstr (invite ? invite->ruri : NULL, ==, ruri);
  if (invite) {
    g_assert_cmpuint (invite->dport, ==, bport);
    g_assert_nonnull (strstr (invite->text, "telephone-event/8000"));
    /* The pin is never in the URI with these templates. */
    g_assert_null (strstr (invite->ruri, MEETING_PIN));
    /* A SIP call over UDP names a sip: Contact on amgw's SIP port (the
     * bridge sends its in-dialog requests there), never the sips: one. */
    {
      g_autofree char *contact = g_strdup_printf ("Contact: <sip:127.0.0.1:%u", amgw_sip);
      if (strstr (invite->text, contact) == NULL)
        g_test_fail_printf ("the INVITE lacks \"%s\": %s", contact, invite->text);
    }
  }
  /* ... and baresip's own trace shows the same Request-URI. */
  bslog = amgw_baresip_log (b);
  bs_invite = g_strdup_printf ("INVITE %s SIP/2.0", ruri);
  if (strstr (bslog, bs_invite) == NULL)
    g_test_fail_printf ("no \"%s\" in baresip's SIP trace", bs_invite);
  ok = find_response (msgs, "INVITE", 200, 200);
  g_assert_nonnull (ok);
  g_assert_cmpuint (ok ? ok->sport : 0, ==, bport);
  g_assert_cmpuint (ok ? ok->media_port : 0, >, 0);
  bye = find_request (msgs, "BYE", amgw_sip);
  g_assert_nonnull (bye);
  g_assert_nonnull (find_response (msgs, "BYE", 200, 200));

  /* ---- The digits ---- */
  capture_rtp (c, rtp_min, rtp_min + 99, ok ? ok->media_port : 0, &rtp);
  g_test_message ("RTP from amgw's port %u to baresip's %u: %u packets (%u elsewhere)",
      rtp.amgw_port, ok ? ok->media_port : 0, rtp.rtp_packets, rtp.rtp_elsewhere);
  got = events_string (rtp.events);
  if (tc->info) {
    g_autoptr (GString) info_digits = g_string_new (NULL);
    GArray *cseqs = g_array_new (FALSE, FALSE, sizeof (guint));
    double first = -1, last = -1;
    guint ok_count = 0;

    for (guint i = 0; i < msgs->len; i++) {
      const SipMsg *m = msgs->pdata[i];
      gboolean dup = FALSE;

      if (m->method == NULL && g_strcmp0 (m->cseq_method, "INFO") == 0 && m->status == 200)
        ok_count++;
      if (g_strcmp0 (m->method, "INFO") != 0 || m->sport != amgw_sip)
        continue;
      for (guint j = 0; j < cseqs->len; j++)
        dup |= g_array_index (cseqs, guint, j) == m->cseq;
      if (dup)
        continue;   /* a retransmission */
      g_array_append_val (cseqs, m->cseq);
      g_string_append_c (info_digits, info_signal (m));
      if (first < 0)
        first = m->time;
      last = m->time;
    }
    g_array_unref (cseqs);
    g_test_message ("SIP INFO digits: \"%s\" (%u answered 200), first %.0f ms after the 200 "
        "to the INVITE, last %.0f ms after the first", info_digits->str, ok_count,
        ok ? (first - ok->time) * 1000 : -1, (last - first) * 1000);
    g_assert_cmpstr (info_digits->str, ==, tc->digits);
    g_assert_cmpuint (ok_count, ==, n);
    /* No RFC 4733 event besides. */
    g_assert_cmpstr (got, ==, "");
    if (ok && first >= 0)
      g_assert_cmpfloat (first - ok->time, >=, DTMF_PAUSE_MS / 1000.0 - 0.05);
  } else if (tc->inband) {
    g_autoptr (AmgwInbandDtmf) wire = amgw_inband_dtmf_new (8000, NULL);
    guint answer_pt = G_MAXUINT, fed;
    const char *m = ok ? strstr (ok->text, "m=audio ") : NULL;

    /* baresip answered the codec it was given... */
    if (m == NULL || sscanf (m, "m=audio %*u RTP/AVP %u", &answer_pt) != 1)
      g_test_fail_printf ("no m=audio line in baresip's answer");
    g_assert_cmpuint (answer_pt, ==, tc->answer_pt);
    /* ... and amgw sent the digits as tones in it, no RFC 4733 event. */
    g_assert_cmpstr (got, ==, "");
    g_assert_cmpuint (rtp.rtp_packets, >, 0);
    g_assert_cmpuint (rtp.rtp_elsewhere, ==, 0);
    fed = capture_feed_g711 (c, rtp.amgw_port, ok ? ok->media_port : 0, tc->answer_pt, wire);
    g_assert_cmpuint (fed, >, 0);
    check_inband ("on the wire", wire, tc, TRUE);
    /* baresip's recording is complete once it has quit. */
    amgw_baresip_stop (b);
    check_recording (b, tc);
  } else {
    const Event *e0 = rtp.events->len ? &g_array_index (rtp.events, Event, 0) : NULL;

    g_test_message ("RFC 4733 digits: \"%s\" (%u events), first %.0f ms after the 200 to the "
        "INVITE", got, rtp.events->len, e0 && ok ? (e0->first - ok->time) * 1000 : -1);
    g_assert_cmpstr (got, ==, tc->digits);
    for (guint i = 0; i < rtp.events->len; i++) {
      const Event *e = &g_array_index (rtp.events, Event, i);
      g_test_message ("  '%c' ts %u: %u packets, %.3f-%.3f s%s", e->digit, e->ts, e->packets,
          e->first, e->last, e->ended ? ", ended" : "");
      if (!e->ended)
        g_test_fail_printf ("digit %u ('%c') has no end-of-event packet", i, e->digit);
      if (i > 0) {
        const Event *p = &g_array_index (rtp.events, Event, i - 1);
        double gap = e->first - p->last;
        if ((int) i - 1 == tc->pause_before) {
          if (gap < DTMF_PAUSE_MS / 1000.0 - 0.1)
            g_test_fail_printf ("only %.0f ms between the id and the pin (dtmf-pause %u)",
                gap * 1000, DTMF_PAUSE_MS);
        } else if (gap > 0.5) {
          g_test_fail_printf ("%.0f ms between digits %u and %u", gap * 1000, i - 1, i);
        }
      }
    }
    if (e0 && ok)
      g_assert_cmpfloat (e0->first - ok->time, >=, DTMF_PAUSE_MS / 1000.0 - 0.05);
    g_assert_cmpuint (rtp.rtp_packets, >, 0);
    g_assert_cmpuint (rtp.rtp_elsewhere, ==, 0);
  }
  /* ... and baresip decoded the same digits: "received event: '1' (end=1)"
   * per RFC 4733 event, "call: received DTMF: '1' (duration=160)" per INFO.
   * It has no in-band detector: then nothing. */
  {
    g_autofree char *heard = amgw_baresip_digits (b, tc->info, 0);
    g_test_message ("baresip decoded: \"%s\"", heard);
    g_assert_cmpstr (heard, ==, tc->inband ? "" : tc->digits);
  }
  g_test_message ("join to digits sent: %.1f s; whole case %.1f s",
      (t_done - t0) / 1e6, (g_get_monotonic_time () - t0) / 1e6);
  /* The pin stays out of amgw's log (4 digits alone would match
   * timestamps: look for it as the digits string and as a JSON value). */
  g_assert_false (log_contains (fx, MEETING_PIN "#"));
  g_assert_false (log_contains (fx, "\"" MEETING_PIN "\""));
  g_assert_false (log_contains (fx, "Signal="));

  g_array_unref (rtp.events);
  fx_free (fx);
  amgw_baresip_free (b);
  amgw_capture_free (c);
}

static const Case case_rfc4733 = {
  .provider = "zoom", .user = MEETING_ID, .digits = MEETING_PIN "#", .pause_before = -1,
};
static const Case case_info = {
  .provider = "chime", .user = MEETING_ID, .digits = MEETING_PIN "#", .info = TRUE,
  .pause_before = -1,
};
static const Case case_id_and_pin = {
  .provider = "webex", .user = "meet", .digits = MEETING_ID "#" MEETING_PIN "#",
  .pause_before = 4,
};
/* In-band: the id and the pin (webex's fixed user part) as tones. */
static const Case case_inband = {
  .provider = "webex", .user = "meet", .digits = MEETING_ID "#" MEETING_PIN "#",
  .pause_before = 4, .inband = TRUE, .codecs = "PCMU", .answer_pt = 0,
};
static const Case case_inband_pcma = {
  .provider = "webex", .user = "meet", .digits = MEETING_ID "#" MEETING_PIN "#",
  .pause_before = 4, .inband = TRUE, .codecs = "PCMA", .answer_pt = 8,
};

int
main (int argc, char **argv)
{
  g_autofree char *baresip = g_find_program_in_path ("baresip");
  g_autofree char *tshark = g_find_program_in_path ("tshark");

  g_test_init (&argc, &argv, NULL);
  /* A failed check still reaches the clean-up, which prints amgw's,
   * baresip's and tshark's logs and ends both peers. */
  g_test_set_nonfatal_assertions ();
  if (baresip == NULL)
    skip_reason = "baresip (Debian package baresip-core) is not installed";
  else if (!g_file_test ("/usr/lib/baresip/modules/aufile.so", G_FILE_TEST_EXISTS))
    skip_reason = "baresip's aufile module is missing";
  else if (tshark == NULL)
    skip_reason = "tshark is not installed";
  else if (!testd_has_sip ())
    skip_reason = "amgw-testd has no SIP leg (it needs amgw_media_dep and -DAMGW_TESTD_HAVE_SIP)";
  g_test_add_data_func ("/sip-baresip/rfc4733", &case_rfc4733, run_case);
  g_test_add_data_func ("/sip-baresip/info", &case_info, run_case);
  g_test_add_data_func ("/sip-baresip/rfc4733-id-and-pin", &case_id_and_pin, run_case);
  g_test_add_data_func ("/sip-baresip/inband", &case_inband, run_case);
  g_test_add_data_func ("/sip-baresip/inband-pcma", &case_inband_pcma, run_case);
  return g_test_run ();
}
