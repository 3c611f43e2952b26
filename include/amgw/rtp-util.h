/* amgw — what both legs' media need: RFC 3550 receiver statistics, and RTCP
 * sender/receiver reports.  (Their timers: amgw_media_timer_new() in
 * amgw/media-loops.h.) */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The receiver's view of one source (RFC 3550 A.1, A.3, A.8). */
typedef struct {
  gboolean started;
  guint32 ssrc;
  guint16 max_seq;
  guint32 cycles;
  guint32 base_seq;
  guint32 received;
  guint32 expected_prior, received_prior;
  double jitter;            /* in RTP units */
  gint64 last_transit;
} AmgwRtpRecvStats;

/* One RTP packet arrived (@arrival_us: monotonic). */
void amgw_rtp_recv_stats_update (AmgwRtpRecvStats *s, guint16 seq, guint32 ts, guint32 ssrc,
    guint clock_rate, gint64 arrival_us);
double amgw_rtp_recv_stats_jitter_ms (const AmgwRtpRecvStats *s, guint clock_rate);
/* Packets expected but not received so far (RFC 3550 A.3; never negative). */
guint64 amgw_rtp_recv_stats_lost (const AmgwRtpRecvStats *s);

/* An RTCP compound packet: an SR when @packets_sent > 0 (else an RR), with
 * a report block about @recv when it has a source (its interval counters
 * move on), and an SDES CNAME.  (transfer full) */
GBytes *amgw_rtcp_report_new (guint32 ssrc, guint64 packets_sent, guint64 octets_sent,
    guint32 rtp_ts, AmgwRtpRecvStats *recv, const char *cname);

/* Packets of another source (the other leg's, through a relay) renumbered
 * into a leg's own outgoing stream: its SSRC, sequence numbers following
 * the leg's, timestamps on the leg's clock.  Sequence and timestamp gaps
 * (losses) and the source's timing go through unchanged; a new source
 * SSRC, a jump of more than AMGW_RTP_RENUMBER_MAX_JUMP sequence numbers,
 * or amgw_rtp_renumber_reset() re-anchors (and sets the marker bit). */
#define AMGW_RTP_RENUMBER_MAX_JUMP 1000

typedef struct {
  gboolean anchored;
  guint32 source_ssrc;
  guint16 seq_delta;
  guint32 ts_delta;
} AmgwRtpRenumber;

/* The leg's side of it: next sequence number to send, last timestamp sent
 * (valid when @sent_any). */
typedef struct {
  guint32 ssrc;
  guint16 next_seq;
  guint32 last_ts;
  gboolean sent_any;
} AmgwRtpStreamOut;

void amgw_rtp_renumber_reset (AmgwRtpRenumber *r);
/* Rewrites @pkt (at least 12 bytes) in place; @now_ts is the leg's RTP
 * clock now (for re-anchoring) and @out moves on. */
void amgw_rtp_renumber (AmgwRtpRenumber *r, guint8 *pkt, AmgwRtpStreamOut *out, guint32 now_ts);

G_END_DECLS
