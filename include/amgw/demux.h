/* amgw — what arrives on a WebRTC 5-tuple (RFC 7983): STUN, DTLS, RTP or
 * RTCP (rtcp-mux, RFC 5761), told apart by the first bytes. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  AMGW_PACKET_UNKNOWN,  /* drop */
  AMGW_PACKET_STUN,     /* 0..3 */
  AMGW_PACKET_DTLS,     /* 20..63 */
  AMGW_PACKET_RTP,      /* 128..191, payload type not in 64..95 */
  AMGW_PACKET_RTCP,     /* 128..191, packet type 192..223 */
} AmgwPacketKind;

/* The smallest RTP header and the largest datagram amgw accepts. */
#define AMGW_RTP_MIN_BYTES 12
#define AMGW_MAX_DATAGRAM_BYTES 1500

/* Classifies one datagram; never reads past @len. */
AmgwPacketKind amgw_packet_classify (const guint8 *data, gsize len);

G_END_DECLS
