/* amgw — what both legs' media need: timers on a media loop's context, RFC
 * 3550 receiver statistics, and RTCP sender/receiver reports. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A timeout on @context (a media loop): g_source_remove() would look in the
 * default context, so media code keeps the GSource.  (transfer full) */
GSource *amgw_media_timeout_add (GMainContext *context, guint ms, GSourceFunc fn, gpointer data);
/* Destroys and drops *@source; NULL-safe, idempotent. */
void amgw_media_source_clear (GSource **source);

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

/* An RTCP compound packet: an SR when @packets_sent > 0 (else an RR), with
 * a report block about @recv when it has a source (its interval counters
 * move on), and an SDES CNAME.  (transfer full) */
GBytes *amgw_rtcp_report_new (guint32 ssrc, guint64 packets_sent, guint64 octets_sent,
    guint32 rtp_ts, AmgwRtpRecvStats *recv, const char *cname);

G_END_DECLS
