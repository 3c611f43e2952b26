/* Fuzz target: the relay's packet path and the RFC 4733 digit detector.
 *
 * The input is read twice:
 *  - as records for the detector: [len byte][4-byte timestamp][payload],
 *    the payload 4 + (len & 0x0f) bytes (the last record takes what is left,
 *    so short payloads come too);
 *  - as RTP packets for passthrough relays (no pipeline: fast): the whole
 *    input, the same with a valid version and the relay's payload type (so
 *    the deeper checks are reached), and every record's payload.
 * Whatever a relay hands on must be what it was given but for the payload
 * type. */
#include "amgw/relay.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
  const guint8 *expect;          /* what the push was given */
  gsize expect_len;
  guint out_pt;
  guint64 sent;
} Check;

static void
check_send (const guint8 *rtp, gsize len, gpointer user_data)
{
  Check *c = user_data;

  if (len != c->expect_len || len < 12 || rtp[0] != c->expect[0] ||
      rtp[1] != ((c->expect[1] & 0x80) | c->out_pt) ||
      memcmp (rtp + 2, c->expect + 2, len - 2) != 0)
    abort ();
  c->sent++;
}

/* What a transcoding relay makes: RTP of the output payload type. */
static void
decoded_send (const guint8 *rtp, gsize len, gpointer user_data)
{
  Check *c = user_data;

  if (len < 12 || (rtp[0] & 0xc0) != 0x80 || (rtp[1] & 0x7f) != c->out_pt)
    abort ();
  c->sent++;
}

static void
push (AmgwRelay *r, Check *c, const guint8 *rtp, gsize len)
{
  /* An exact-size copy, so a sanitizer sees any read past the end. */
  guint8 *copy = len ? g_memdup2 (rtp, len) : NULL;

  c->expect = copy;
  c->expect_len = len;
  amgw_relay_push_rtp (r, copy, len);
  g_free (copy);
}

static void
detect (AmgwDtmfDetector *d, guint32 ts, const guint8 *payload, gsize len)
{
  guint8 *copy = len ? g_memdup2 (payload, len) : NULL;
  char digit = amgw_dtmf_detector_push (d, ts, copy, len);

  if (digit != 0 && (len < AMGW_DTMF_EVENT_BYTES || strchr ("0123456789*#ABCD", digit) == NULL))
    abort ();
  /* The same packet again is never a new digit. */
  if (amgw_dtmf_detector_push (d, ts, copy, len) != 0)
    abort ();
  g_free (copy);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  AmgwAudioFormat pcmu = { .codec = AMGW_AUDIO_PCMU, .pt = 0 };
  AmgwAudioFormat opus_in = { .codec = AMGW_AUDIO_OPUS, .pt = 111 };
  AmgwAudioFormat opus_out = { .codec = AMGW_AUDIO_OPUS, .pt = 96 };
  Check pcmu_check = { .out_pt = 0 }, opus_check = { .out_pt = 96 };
  Check decoded_check = { .out_pt = 0 };
  AmgwDtmfDetector detector = { 0 };
  AmgwRelay *to_pcmu, *to_opus, *opus_to_pcmu;
  AmgwRelayStats s;
  guint64 pushed = 0;
  GError *error = NULL;

  to_pcmu = amgw_relay_new (&pcmu, &pcmu, 0, "fuzz", check_send, &pcmu_check, &error);
  to_opus = amgw_relay_new (&opus_in, &opus_out, 0, "fuzz", check_send, &opus_check, &error);
  /* Transcoding: what the packets carry goes through amgwopusdec. */
  opus_to_pcmu = amgw_relay_new (&opus_in, &pcmu, 0, "fuzz", decoded_send, &decoded_check,
      &error);
  if (to_pcmu == NULL || to_opus == NULL || opus_to_pcmu == NULL ||
      !amgw_relay_is_passthrough (to_pcmu) || amgw_relay_is_passthrough (opus_to_pcmu))
    abort ();

  push (to_pcmu, &pcmu_check, data, size);
  push (to_opus, &opus_check, data, size);
  pushed++;
  if (size >= 2) {
    guint8 *fixed = g_memdup2 (data, size);

    fixed[0] = (guint8) (0x80 | (fixed[0] & 0x3f));
    fixed[1] = (guint8) (fixed[1] & 0x80);
    push (to_pcmu, &pcmu_check, fixed, size);
    fixed[1] |= 111;
    push (to_opus, &opus_check, fixed, size);
    push (opus_to_pcmu, &decoded_check, fixed, size);
    pushed++;
    g_free (fixed);
  }

  for (size_t at = 0; at < size;) {
    gsize len = AMGW_DTMF_EVENT_BYTES + (data[at] & 0x0f);
    guint32 ts = 0;

    at++;
    for (guint i = 0; i < 4 && at < size; i++, at++)
      ts = ts << 8 | data[at];
    len = MIN (len, size - at);
    detect (&detector, ts, data + at, len);
    push (to_pcmu, &pcmu_check, data + at, len);
    push (to_opus, &opus_check, data + at, len);
    pushed++;
    at += len;
  }

  amgw_relay_get_stats (to_pcmu, &s);
  if (s.packets_in != pushed || s.packets_out != pcmu_check.sent ||
      s.packets_out + s.packets_invalid != s.packets_in || s.transcoding)
    abort ();
  amgw_relay_get_stats (to_opus, &s);
  if (s.packets_in != pushed || s.packets_out != opus_check.sent ||
      s.packets_out + s.packets_invalid != s.packets_in)
    abort ();
  amgw_relay_free (to_pcmu);
  amgw_relay_free (to_opus);
  amgw_relay_free (opus_to_pcmu);
  return 0;
}
