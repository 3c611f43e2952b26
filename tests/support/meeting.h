/* A whole meeting through a real amgw daemon, with real peers on both legs,
 * for the e2e tests (tests/e2e/test-meeting.c runs the build's binary,
 * tests/e2e/test-container.c the container image):
 *
 *   headless Chromium (browser.h) plays the Alexa device: the fake Alexa
 *   cloud hands amgw's InitiateInboundCall offer to the page and the page's
 *   answer goes back as CallRinging / CallInProgress / CallAccepted; the page
 *   sends a PAGE_TONE sine and measures what it hears;
 *
 *   baresip (baresip.h) plays the meeting bridge: it answers at once, plays a
 *   BRIDGE_TONE WAV, records what it hears and logs the SIP messages and DTMF
 *   it receives.
 *
 * A JoinMeeting directive starts each meeting and EndMeeting ends it.  Each
 * meeting (meeting_run()) checks: the INVITE reached baresip and baresip
 * decoded the meeting id and pin (dial-template "meet": both go as RFC 4733
 * digits); amgw sent InitiateInboundCall and the page answered and
 * connected; media crosses amgw (GET /v1/calls/{id} "relay": passthrough or
 * transcoding per direction, packets_out growing); the page hears
 * BRIDGE_TONE and baresip's recording holds PAGE_TONE; EndMeeting brings a
 * BYE to baresip and CallEnded (SUCCESS) to the fake cloud; the call record
 * is stored (the operators' view says "ended", amgw.db's call_records has
 * the row and sessions has none).
 *
 * Every wait is a generous bounded poll (shared machines, valgrind in CI);
 * no duration is asserted.  The phases' timings go to the test log.  The
 * checks fail the test with g_test_fail_printf() (or a non-fatal assertion:
 * call g_test_set_nonfatal_assertions()) and return FALSE.
 *
 * The tests' network namespace has only loopback: the daemon, the fake
 * cloud and the peers all meet on 127.0.0.1.
 */
#pragma once

#include "../integration/common.h"
#include "baresip.h"
#include "browser.h"

G_BEGIN_DECLS

#define PAGE_TONE 1000.0
#define BRIDGE_TONE 440.0
#define TONE_TOLERANCE 30.0
#define BRIDGE_USER "meet"
#define STEP_WAIT_MS 30000          /* one phase (signaling, ICE + DTLS, digits) */
#define MEDIA_WAIT_MS 60000         /* media to show up, under valgrind too */
#define MIN_LEVEL_DB -50.0          /* the tones arrive at -9 to -16 dBFS */

/* The rig: one daemon, one page, one bridge (two for a loop). */
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

/* The page speaks Opus, the bridge PCMU: amgw transcodes both ways. */
extern const RigSpec rig_opus_pcmu;
extern const MeetingSpec meet_opus_pcmu;

static inline gboolean
tone_near (double value, double target, double tolerance)
{
  return value > target - tolerance && value < target + tolerance;
}

static inline double
jnum (const cJSON *root, const char *path, double fallback)
{
  const cJSON *j = jget (root, path);
  return cJSON_IsNumber (j) ? j->valuedouble : fallback;
}

static inline double
since_s (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / 1e6;
}

/* "(none)" for NULL.  (transfer full) */
static inline char *
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

/* Starts the page, the bridges and @binary (called as `BINARY --config
 * FILE`: amgw, or a wrapper that runs it elsewhere) configured for them.
 * NULL after g_test_skip() (a peer or the binary is missing) or a failure.
 * (transfer full) */
Rig *rig_start (const RigSpec *spec, const char *binary);
/* Stops the daemon (SIGTERM, exit status 0 asserted unless the test has
 * failed already; the logs are printed when it has) and the peers. */
void rig_free (Rig *rig);
/* GET /v1/calls/@sid; NULL unless 200.  (transfer full) */
cJSON *rig_call_view (Rig *rig, const char *sid);
/* The page hears @hz (its WebAudio analyser, 1 s at a time, @tries times). */
gboolean rig_page_hears (Rig *rig, double hz, guint tries, double *heard, double *level);
double rig_page_packets_in (Rig *rig);

/* The phases of a meeting, in order; each FALSE once the test failed. */
gboolean meeting_join (Rig *rig, Meeting *m, const MeetingSpec *spec);
gboolean meeting_check_bridge_joined (Rig *rig, Meeting *m);
gboolean meeting_check_relay (Rig *rig, Meeting *m, const MeetingSpec *spec);
gboolean meeting_check_page_hears_bridge (Rig *rig, Meeting *m);
gboolean meeting_check_bridge_heard_page (Rig *rig, Meeting *m);
gboolean meeting_end (Rig *rig, Meeting *m);
gboolean meeting_check_record (Rig *rig, Meeting *m);
void meeting_clear (Meeting *m);

/* One whole meeting on @rig; FALSE at the first phase that failed. */
gboolean meeting_run (Rig *rig, const MeetingSpec *spec);
/* A test case: a rig of @rig_spec around @binary, one meeting_run(), the
 * clean-up; the timings to the test log.  FALSE when skipped or failed. */
gboolean meeting_case_run (const RigSpec *rig_spec, const MeetingSpec *spec,
    const char *binary);

G_END_DECLS
