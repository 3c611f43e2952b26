/* amgw — RFC 3550 receiver statistics, RTCP reports. */
#include "amgw/rtp-util.h"

#include <gst/rtp/gstrtcpbuffer.h>
#include <string.h>

void
amgw_rtp_recv_stats_update (AmgwRtpRecvStats *s, guint16 seq, guint32 ts, guint32 ssrc,
    guint clock_rate, gint64 arrival_us)
{
  gint64 transit, d;

  if (!s->started || s->ssrc != ssrc) {
    memset (s, 0, sizeof *s);
    s->started = TRUE;
    s->ssrc = ssrc;
    s->max_seq = seq;
    s->base_seq = seq;
  } else {
    guint16 delta = seq - s->max_seq;
    if (delta < 0x8000) {   /* in order, maybe with a gap */
      if (seq < s->max_seq)
        s->cycles += 0x10000;
      s->max_seq = seq;
    }
  }
  s->received++;
  if (clock_rate) {
    transit = arrival_us * clock_rate / G_USEC_PER_SEC - ts;
    if (s->received > 1) {
      d = ABS (transit - s->last_transit);
      s->jitter += (d - s->jitter) / 16.0;
    }
    s->last_transit = transit;
  }
}

double
amgw_rtp_recv_stats_jitter_ms (const AmgwRtpRecvStats *s, guint clock_rate)
{
  return clock_rate ? s->jitter * 1000.0 / clock_rate : 0;
}

static guint64
ntp_now (void)
{
  gint64 us = g_get_real_time ();
  guint64 secs = us / G_USEC_PER_SEC + G_GUINT64_CONSTANT (2208988800);
  guint64 frac = ((guint64) (us % G_USEC_PER_SEC) << 32) / G_USEC_PER_SEC;

  return (secs << 32) | frac;
}

guint64
amgw_rtp_recv_stats_lost (const AmgwRtpRecvStats *s)
{
  gint64 expected;

  if (!s->started)
    return 0;
  expected = (gint64) s->cycles + s->max_seq - s->base_seq + 1;
  return expected > (gint64) s->received ? (guint64) (expected - s->received) : 0;
}

GBytes *
amgw_rtcp_report_new (guint32 ssrc, guint64 packets_sent, guint64 octets_sent, guint32 rtp_ts,
    AmgwRtpRecvStats *recv, const char *cname)
{
  GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
  GstRTCPPacket packet;
  GstBuffer *buf = gst_rtcp_buffer_new (1400);
  GstMapInfo map;
  GBytes *bytes;

  gst_rtcp_buffer_map (buf, GST_MAP_READWRITE, &rtcp);
  if (packets_sent > 0) {
    gst_rtcp_buffer_add_packet (&rtcp, GST_RTCP_TYPE_SR, &packet);
    gst_rtcp_packet_sr_set_sender_info (&packet, ssrc, ntp_now (), rtp_ts,
        (guint32) packets_sent, (guint32) octets_sent);
  } else {
    gst_rtcp_buffer_add_packet (&rtcp, GST_RTCP_TYPE_RR, &packet);
    gst_rtcp_packet_rr_set_ssrc (&packet, ssrc);
  }
  if (recv && recv->started) {
    guint32 ext_max = recv->cycles + recv->max_seq;
    guint32 expected = ext_max - recv->base_seq + 1;
    gint32 lost = (gint32) (expected - recv->received);
    guint32 exp_int = expected - recv->expected_prior;
    guint32 rec_int = recv->received - recv->received_prior;
    gint32 lost_int = (gint32) (exp_int - rec_int);
    guint8 fraction = (exp_int == 0 || lost_int <= 0) ? 0 : (guint8) ((lost_int << 8) / exp_int);

    gst_rtcp_packet_add_rb (&packet, recv->ssrc, fraction, CLAMP (lost, 0, 0x7fffff), ext_max,
        (guint32) recv->jitter, 0, 0);
    recv->expected_prior = expected;
    recv->received_prior = recv->received;
  }
  gst_rtcp_buffer_add_packet (&rtcp, GST_RTCP_TYPE_SDES, &packet);
  gst_rtcp_packet_sdes_add_item (&packet, ssrc);
  gst_rtcp_packet_sdes_add_entry (&packet, GST_RTCP_SDES_CNAME, strlen (cname),
      (const guint8 *) cname);
  gst_rtcp_buffer_unmap (&rtcp);

  gst_buffer_map (buf, &map, GST_MAP_READ);
  bytes = g_bytes_new (map.data, map.size);
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  return bytes;
}

/* ------------------------------------------------------------------------ */
/* Renumbering another source into a leg's stream */

void
amgw_rtp_renumber_reset (AmgwRtpRenumber *r)
{
  r->anchored = FALSE;
}

void
amgw_rtp_renumber (AmgwRtpRenumber *r, guint8 *pkt, AmgwRtpStreamOut *out, guint32 now_ts)
{
  guint32 ssrc = GST_READ_UINT32_BE (pkt + 8);
  guint16 seq = GST_READ_UINT16_BE (pkt + 2);
  guint32 ts = GST_READ_UINT32_BE (pkt + 4);
  guint16 out_seq;
  guint32 out_ts;

  if (r->anchored && ssrc == r->source_ssrc) {
    gint16 ahead = (gint16) (guint16) (seq + r->seq_delta - out->next_seq);
    if (ahead > AMGW_RTP_RENUMBER_MAX_JUMP || ahead < -AMGW_RTP_RENUMBER_MAX_JUMP)
      r->anchored = FALSE;
  }
  if (!r->anchored || ssrc != r->source_ssrc) {
    /* Never step back over what was sent: timestamps only move on. */
    guint32 start = now_ts;
    if (out->sent_any && (gint32) (start - out->last_ts) <= 0)
      start = out->last_ts + 1;
    r->anchored = TRUE;
    r->source_ssrc = ssrc;
    r->seq_delta = (guint16) (out->next_seq - seq);
    r->ts_delta = start - ts;
    pkt[1] |= 0x80;
  }
  out_seq = (guint16) (seq + r->seq_delta);
  out_ts = ts + r->ts_delta;
  GST_WRITE_UINT16_BE (pkt + 2, out_seq);
  GST_WRITE_UINT32_BE (pkt + 4, out_ts);
  GST_WRITE_UINT32_BE (pkt + 8, out->ssrc);
  if (!out->sent_any || (gint16) (guint16) (out_seq - out->next_seq) >= 0)
    out->next_seq = (guint16) (out_seq + 1);
  if (!out->sent_any || (gint32) (out_ts - out->last_ts) > 0)
    out->last_ts = out_ts;
  out->sent_any = TRUE;
}
