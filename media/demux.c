/* amgw — RFC 7983 demultiplexing of a WebRTC 5-tuple. */
#include "amgw/demux.h"

AmgwPacketKind
amgw_packet_classify (const guint8 *data, gsize len)
{
  guint8 b;

  if (data == NULL || len == 0 || len > AMGW_MAX_DATAGRAM_BYTES)
    return AMGW_PACKET_UNKNOWN;
  b = data[0];
  if (b <= 3)
    return len >= 20 ? AMGW_PACKET_STUN : AMGW_PACKET_UNKNOWN;
  if (b >= 20 && b <= 63)
    return len >= 13 ? AMGW_PACKET_DTLS : AMGW_PACKET_UNKNOWN;   /* a DTLS record header */
  if (b >= 128 && b <= 191) {
    if (len < 8)
      return AMGW_PACKET_UNKNOWN;
    /* RTCP packet types 192..223 sit where RTP has marker + payload type
     * 64..95, which RFC 5761 keeps free for that reason. */
    if (data[1] >= 192 && data[1] <= 223)
      return AMGW_PACKET_RTCP;
    return len >= AMGW_RTP_MIN_BYTES ? AMGW_PACKET_RTP : AMGW_PACKET_UNKNOWN;
  }
  return AMGW_PACKET_UNKNOWN;
}
