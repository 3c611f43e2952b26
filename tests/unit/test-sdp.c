/* Unit tests for the WebRTC audio SDP module (media/sdp.c). */
#include "amgw/sdp.h"

#include <string.h>

/* ---- fixtures: SDP as browsers write it ---- */

#define FP_CHROMIUM \
  "3C:4A:9F:12:7B:E0:55:81:AD:6E:0F:C2:93:18:B7:4D:E9:21:70:3F:8A:5C:D6:0B:14:E7:99:2A:C5:6D:80:F3"
#define FP_FIREFOX \
  "a1:0b:5e:77:c4:39:2d:f0:86:1a:ee:53:07:b9:6c:d2:48:91:3f:a5:0e:7d:c8:62:1b:f4:95:2a:d7:40:8e:36"
#define FP_FIREFOX_UPPER \
  "A1:0B:5E:77:C4:39:2D:F0:86:1A:EE:53:07:B9:6C:D2:48:91:3F:A5:0E:7D:C8:62:1B:F4:95:2A:D7:40:8E:36"
#define MSID_CHROMIUM "5b7c3f0e-2d4a-4c1b-9e8f-6a2d1c0b9f3e 8f2e4d6c-1a3b-4c5d-8e7f-0a1b2c3d4e5f"

#define CAND_UDP "candidate:1467250027 1 udp 2122260223 192.168.1.23 56143 typ host generation 0 " \
  "network-id 1 network-cost 10"
#define CAND_TCP "candidate:434161531 1 tcp 1518280447 192.168.1.23 9 typ host tcptype active " \
  "generation 0 network-id 1 network-cost 10"

/* Chromium 120+ createOffer() for an audio-only transceiver, after gathering. */
static const char chromium_offer[] =
  "v=0\r\n"
  "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
  "s=-\r\n"
  "t=0 0\r\n"
  "a=group:BUNDLE 0\r\n"
  "a=extmap-allow-mixed\r\n"
  "a=msid-semantic: WMS 5b7c3f0e-2d4a-4c1b-9e8f-6a2d1c0b9f3e\r\n"
  "m=audio 56143 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
  "c=IN IP4 192.168.1.23\r\n"
  "a=rtcp:9 IN IP4 0.0.0.0\r\n"
  "a=" CAND_UDP "\r\n"
  "a=" CAND_TCP "\r\n"
  "a=ice-ufrag:Yx3B\r\n"
  "a=ice-pwd:qJ4kXw2nP8vR5tL9mZ1cD6fH\r\n"
  "a=ice-options:trickle\r\n"
  "a=fingerprint:sha-256 " FP_CHROMIUM "\r\n"
  "a=setup:actpass\r\n"
  "a=mid:0\r\n"
  "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
  "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
  "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
  "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
  "a=sendrecv\r\n"
  "a=msid:" MSID_CHROMIUM "\r\n"
  "a=rtcp-mux\r\n"
  "a=rtcp-rsize\r\n"
  "a=rtpmap:111 opus/48000/2\r\n"
  "a=rtcp-fb:111 transport-cc\r\n"
  "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
  "a=rtpmap:63 red/48000/2\r\n"
  "a=fmtp:63 111/111\r\n"
  "a=rtpmap:9 G722/8000\r\n"
  "a=rtpmap:0 PCMU/8000\r\n"
  "a=rtpmap:8 PCMA/8000\r\n"
  "a=rtpmap:13 CN/8000\r\n"
  "a=rtpmap:110 telephone-event/48000\r\n"
  "a=rtpmap:126 telephone-event/8000\r\n"
  "a=ssrc:2788515237 cname:Ht5dL8wQz2pXk9Vb\r\n"
  "a=ssrc:2788515237 msid:" MSID_CHROMIUM "\r\n";

/* Chromium's answer to an amgw offer: one codec, setup:active, no candidates yet. */
static const char chromium_answer[] =
  "v=0\r\n"
  "o=- 8372645519032871234 2 IN IP4 127.0.0.1\r\n"
  "s=-\r\n"
  "t=0 0\r\n"
  "a=group:BUNDLE 0\r\n"
  "a=extmap-allow-mixed\r\n"
  "a=msid-semantic: WMS e1d2c3b4-a5f6-4789-b0c1-d2e3f4a5b6c7\r\n"
  "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
  "c=IN IP4 0.0.0.0\r\n"
  "a=rtcp:9 IN IP4 0.0.0.0\r\n"
  "a=ice-ufrag:Lq7Z\r\n"
  "a=ice-pwd:Vt3mK9pR2xW8nB5cQ1hY6jF0\r\n"
  "a=ice-options:trickle\r\n"
  "a=fingerprint:sha-256 " FP_CHROMIUM "\r\n"
  "a=setup:active\r\n"
  "a=mid:0\r\n"
  "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
  "a=sendrecv\r\n"
  "a=msid:e1d2c3b4-a5f6-4789-b0c1-d2e3f4a5b6c7 0c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f\r\n"
  "a=rtcp-mux\r\n"
  "a=rtpmap:111 opus/48000/2\r\n"
  "a=rtcp-fb:111 transport-cc\r\n"
  "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
  "a=ssrc:1093640183 cname:Qm2Zr8Xc4Vb7Nt1K\r\n";

/* Firefox: session-level fingerprint, lower-case hex, /1 channel counts,
 * telephone-event at 8000 only, end-of-candidates. */
static const char firefox_offer[] =
  "v=0\r\n"
  "o=mozilla...THIS_IS_SDPARTA-115.0 3503837352178212371 0 IN IP4 0.0.0.0\r\n"
  "s=-\r\n"
  "t=0 0\r\n"
  "a=fingerprint:sha-256 " FP_FIREFOX "\r\n"
  "a=group:BUNDLE 0\r\n"
  "a=ice-options:trickle\r\n"
  "a=msid-semantic:WMS *\r\n"
  "m=audio 49203 UDP/TLS/RTP/SAVPF 109 9 0 8 101\r\n"
  "c=IN IP4 192.168.1.23\r\n"
  "a=candidate:0 1 UDP 2122252543 192.168.1.23 49203 typ host\r\n"
  "a=candidate:1 1 TCP 2105524479 192.168.1.23 9 typ host tcptype active\r\n"
  "a=sendrecv\r\n"
  "a=end-of-candidates\r\n"
  "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
  "a=extmap:2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level\r\n"
  "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
  "a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1\r\n"
  "a=fmtp:101 0-15\r\n"
  "a=ice-pwd:5c7e0a9d3b1f4e6a8c2d0b9f7e5a3c1d\r\n"
  "a=ice-ufrag:8f2a6c4e\r\n"
  "a=mid:0\r\n"
  "a=msid:{7a3c9e1f-5b2d-4f8a-9c6e-0d1b3a5f7e9c} {2e4a6c8e-0b1d-4f3a-8c5e-7d9f1b3a5c7e}\r\n"
  "a=rtcp-mux\r\n"
  "a=rtpmap:109 opus/48000/2\r\n"
  "a=rtpmap:9 G722/8000/1\r\n"
  "a=rtpmap:0 PCMU/8000\r\n"
  "a=rtpmap:8 PCMA/8000\r\n"
  "a=rtpmap:101 telephone-event/8000/1\r\n"
  "a=setup:actpass\r\n"
  "a=ssrc:2655508255 cname:{9b1d3f5a-7c9e-4b2d-8f6a-1c3e5a7b9d0f}\r\n";

/* Audio, video and a data channel: amgw takes the audio, rejects the rest. */
static const char multi_offer[] =
  "v=0\r\n"
  "o=- 1 2 IN IP4 127.0.0.1\r\n"
  "s=-\r\n"
  "t=0 0\r\n"
  "a=group:BUNDLE a0 v1 d2\r\n"
  "a=ice-ufrag:Yx3B\r\n"
  "a=ice-pwd:qJ4kXw2nP8vR5tL9mZ1cD6fH\r\n"
  "a=fingerprint:sha-256 " FP_CHROMIUM "\r\n"
  "a=setup:actpass\r\n"
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n"
  "c=IN IP4 0.0.0.0\r\n"
  "a=mid:a0\r\n"
  "a=rtcp-mux\r\n"
  "a=rtpmap:111 opus/48000/2\r\n"
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
  "c=IN IP4 0.0.0.0\r\n"
  "a=mid:v1\r\n"
  "a=rtpmap:96 VP8/90000\r\n"
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
  "c=IN IP4 0.0.0.0\r\n"
  "a=mid:d2\r\n"
  "a=sctp-port:5000\r\n";

/* ---- helpers ---- */

static AmgwSdpMedia *
parse_ok (const char *sdp, gssize len)
{
  g_autoptr (GError) error = NULL;
  AmgwSdpMedia *m = amgw_sdp_parse (sdp, len < 0 ? strlen (sdp) : (gsize) len, &error);

  g_assert_no_error (error);
  g_assert_nonnull (m);
  return m;
}

static char *
replace (const char *text, const char *from, const char *to)
{
  GString *s = g_string_new (text);

  if (from != NULL)
    g_assert_cmpuint (g_string_replace (s, from, to, 0), >, 0);
  return g_string_free (s, FALSE);
}

static const AmgwCodec *
codec_at (const AmgwSdpMedia *m, guint i)
{
  g_assert_cmpuint (i, <, m->codecs->len);
  return &g_array_index (m->codecs, AmgwCodec, i);
}

static void
assert_codec (const AmgwCodec *c, AmgwCodecId id, guint pt, guint rate, guint channels,
    const char *fmtp)
{
  g_assert_cmpint (c->id, ==, id);
  g_assert_cmpuint (c->pt, ==, pt);
  g_assert_cmpuint (c->clock_rate, ==, rate);
  g_assert_cmpuint (c->channels, ==, channels);
  g_assert_cmpstr (c->fmtp, ==, fmtp);
}

static void
assert_codecs_equal (const GArray *a, const GArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++) {
    const AmgwCodec *x = &g_array_index (a, AmgwCodec, i), *y = &g_array_index (b, AmgwCodec, i);
    assert_codec (y, x->id, x->pt, x->clock_rate, x->channels, x->fmtp);
    /* A parse names each codec as written; a built list may leave it NULL. */
    if (x->name != NULL && y->name != NULL)
      g_assert_cmpstr (x->name, ==, y->name);
  }
}

/* Every field amgw_sdp_build() writes. */
static void
assert_media_equal (const AmgwSdpMedia *a, const AmgwSdpMedia *b)
{
  g_assert_cmpstr (a->ice_ufrag, ==, b->ice_ufrag);
  g_assert_cmpstr (a->ice_pwd, ==, b->ice_pwd);
  g_assert_cmpint (a->ice_lite, ==, b->ice_lite);
  g_assert_cmpstr (a->fingerprint, ==, b->fingerprint);
  g_assert_cmpint (a->setup, ==, b->setup);
  g_assert_cmpstr (a->mid, ==, b->mid);
  g_assert_cmpint (a->rtcp_mux, ==, b->rtcp_mux);
  g_assert_cmpint (a->bundle, ==, b->bundle);
  g_assert_cmpint (a->direction, ==, b->direction);
  assert_codecs_equal (a->codecs, b->codecs);
  g_assert_cmpuint (a->candidates->len, ==, b->candidates->len);
  for (guint i = 0; i < a->candidates->len; i++)
    g_assert_cmpstr (g_ptr_array_index (a->candidates, i), ==, g_ptr_array_index (b->candidates, i));
  g_assert_cmpint (a->end_of_candidates, ==, b->end_of_candidates);
  g_assert_cmpstr (a->connection_address, ==, b->connection_address);
  g_assert_cmpuint (a->port, ==, b->port);
  g_assert_cmpstr (a->proto, ==, b->proto);
  g_assert_cmpuint (a->ssrc, ==, b->ssrc);
  g_assert_cmpstr (a->cname, ==, b->cname);
  g_assert_cmpstr (a->msid, ==, b->msid);
  g_assert_cmpuint (a->ptime, ==, b->ptime);
  g_assert_cmpuint (a->maxptime, ==, b->maxptime);
}

/* ---- parsing real offers and answers ---- */

static void
test_parse_chromium_offer (void)
{
  g_autoptr (AmgwSdpMedia) m = parse_ok (chromium_offer, -1);

  g_assert_cmpstr (m->ice_ufrag, ==, "Yx3B");
  g_assert_cmpstr (m->ice_pwd, ==, "qJ4kXw2nP8vR5tL9mZ1cD6fH");
  g_assert_false (m->ice_lite);
  g_assert_cmpstr (m->fingerprint, ==, FP_CHROMIUM);
  g_assert_cmpint (m->setup, ==, AMGW_DTLS_SETUP_ACTPASS);
  g_assert_cmpstr (m->mid, ==, "0");
  g_assert_true (m->rtcp_mux);
  g_assert_true (m->bundle);
  g_assert_cmpint (m->direction, ==, AMGW_MEDIA_SENDRECV);
  g_assert_cmpstr (m->connection_address, ==, "192.168.1.23");
  g_assert_cmpuint (m->port, ==, 56143);
  g_assert_cmpstr (m->proto, ==, "UDP/TLS/RTP/SAVPF");
  g_assert_cmpuint (m->ssrc, ==, 2788515237u);
  g_assert_cmpstr (m->cname, ==, "Ht5dL8wQz2pXk9Vb");
  g_assert_cmpstr (m->msid, ==, MSID_CHROMIUM);
  g_assert_cmpuint (m->ptime, ==, 0);
  g_assert_cmpuint (m->maxptime, ==, 0);

  g_assert_cmpuint (m->codecs->len, ==, 8);
  assert_codec (codec_at (m, 0), AMGW_CODEC_OPUS, 111, 48000, 2, "minptime=10;useinbandfec=1");
  assert_codec (codec_at (m, 1), AMGW_CODEC_UNKNOWN, 63, 48000, 2, "111/111");
  g_assert_cmpstr (codec_at (m, 1)->name, ==, "red");
  assert_codec (codec_at (m, 2), AMGW_CODEC_G722, 9, 8000, 1, NULL);
  assert_codec (codec_at (m, 3), AMGW_CODEC_PCMU, 0, 8000, 1, NULL);
  assert_codec (codec_at (m, 4), AMGW_CODEC_PCMA, 8, 8000, 1, NULL);
  assert_codec (codec_at (m, 5), AMGW_CODEC_UNKNOWN, 13, 8000, 1, NULL);
  assert_codec (codec_at (m, 6), AMGW_CODEC_TELEPHONE_EVENT, 110, 48000, 1, NULL);
  assert_codec (codec_at (m, 7), AMGW_CODEC_TELEPHONE_EVENT, 126, 8000, 1, NULL);

  g_assert_cmpuint (m->candidates->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (m->candidates, 0), ==, CAND_UDP);
  g_assert_cmpstr (g_ptr_array_index (m->candidates, 1), ==, CAND_TCP);
  g_assert_false (m->end_of_candidates);

  g_assert_cmpuint (m->n_media, ==, 1);
  g_assert_cmpuint (m->media_index, ==, 0);
  g_assert_cmpstr (m->media_mids[0], ==, "0");
  g_assert_cmpstr (m->media_kinds[0], ==, "audio");
  g_assert_cmpstr (m->media_formats[0], ==, "111");
  g_assert_null (m->media_mids[1]);
}

static void
test_parse_chromium_answer (void)
{
  g_autoptr (AmgwSdpMedia) m = parse_ok (chromium_answer, -1);
  AmgwDtlsSetup role;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (m->setup, ==, AMGW_DTLS_SETUP_ACTIVE);
  g_assert_cmpuint (m->codecs->len, ==, 1);
  assert_codec (codec_at (m, 0), AMGW_CODEC_OPUS, 111, 48000, 2, "minptime=10;useinbandfec=1");
  g_assert_cmpuint (m->candidates->len, ==, 0);
  g_assert_cmpstr (m->connection_address, ==, "0.0.0.0");
  g_assert_cmpuint (m->port, ==, 9);
  g_assert_cmpuint (m->ssrc, ==, 1093640183u);
  g_assert_cmpstr (m->cname, ==, "Qm2Zr8Xc4Vb7Nt1K");
  g_assert_cmpstr (m->msid, ==,
      "e1d2c3b4-a5f6-4789-b0c1-d2e3f4a5b6c7 0c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f");

  /* amgw offered actpass; the browser chose to be the client. */
  g_assert_true (amgw_sdp_dtls_role (m->setup, FALSE, &role, &error));
  g_assert_no_error (error);
  g_assert_cmpint (role, ==, AMGW_DTLS_SETUP_PASSIVE);
}

static void
test_parse_firefox_offer (void)
{
  g_autoptr (AmgwSdpMedia) m = parse_ok (firefox_offer, -1);

  g_assert_cmpstr (m->fingerprint, ==, FP_FIREFOX_UPPER);
  g_assert_cmpstr (m->ice_ufrag, ==, "8f2a6c4e");
  g_assert_cmpstr (m->ice_pwd, ==, "5c7e0a9d3b1f4e6a8c2d0b9f7e5a3c1d");
  g_assert_cmpint (m->setup, ==, AMGW_DTLS_SETUP_ACTPASS);
  g_assert_true (m->bundle);
  g_assert_true (m->end_of_candidates);
  g_assert_cmpuint (m->candidates->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (m->candidates, 0), ==,
      "candidate:0 1 UDP 2122252543 192.168.1.23 49203 typ host");
  g_assert_cmpuint (m->codecs->len, ==, 5);
  assert_codec (codec_at (m, 0), AMGW_CODEC_OPUS, 109, 48000, 2,
      "maxplaybackrate=48000;stereo=1;useinbandfec=1");
  assert_codec (codec_at (m, 1), AMGW_CODEC_G722, 9, 8000, 1, NULL);
  assert_codec (codec_at (m, 4), AMGW_CODEC_TELEPHONE_EVENT, 101, 8000, 1, "0-15");
  g_assert_cmpstr (m->msid, ==,
      "{7a3c9e1f-5b2d-4f8a-9c6e-0d1b3a5f7e9c} {2e4a6c8e-0b1d-4f3a-8c5e-7d9f1b3a5c7e}");
  g_assert_cmpstr (m->cname, ==, "{9b1d3f5a-7c9e-4b2d-8f6a-1c3e5a7b9d0f}");
  g_assert_cmpuint (m->ssrc, ==, 2655508255u);
}

static void
test_parse_multi (void)
{
  g_autoptr (AmgwSdpMedia) offer = parse_ok (multi_offer, -1);
  g_autoptr (AmgwSdpMedia) answer = NULL, reparsed = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) codecs = NULL;
  g_autofree char *text = NULL;
  static const AmgwCodecId prefs[] = { AMGW_CODEC_OPUS, AMGW_CODEC_PCMU };

  /* Session-level ICE and DTLS attributes apply to the m-line. */
  g_assert_cmpstr (offer->ice_ufrag, ==, "Yx3B");
  g_assert_cmpint (offer->setup, ==, AMGW_DTLS_SETUP_ACTPASS);
  g_assert_cmpuint (offer->n_media, ==, 3);
  g_assert_cmpuint (offer->media_index, ==, 0);
  g_assert_cmpstr (offer->mid, ==, "a0");
  g_assert_true (offer->bundle);
  g_assert_cmpstr (offer->media_mids[1], ==, "v1");
  g_assert_cmpstr (offer->media_kinds[2], ==, "application");
  g_assert_cmpstr (offer->media_protos[2], ==, "UDP/DTLS/SCTP");
  g_assert_cmpstr (offer->media_formats[2], ==, "webrtc-datachannel");

  g_assert_true (amgw_sdp_negotiate (offer, prefs, G_N_ELEMENTS (prefs), &codecs, &error));
  answer = amgw_sdp_media_new ();
  answer->ice_ufrag = g_strdup ("amgw");
  answer->ice_pwd = g_strdup ("0123456789abcdefABCDEF");
  answer->fingerprint = g_strdup (FP_CHROMIUM);
  answer->setup = AMGW_DTLS_SETUP_ACTIVE;
  answer->port = 40000;
  g_array_unref (answer->codecs);
  answer->codecs = g_steal_pointer (&codecs);
  text = amgw_sdp_build (answer, 7, 1, offer);

  g_assert_nonnull (strstr (text, "a=group:BUNDLE a0\r\n"));
  g_assert_nonnull (strstr (text, "m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\n"));
  g_assert_nonnull (strstr (text, "a=mid:a0\r\n"));
  g_assert_nonnull (strstr (text, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:v1\r\n"));
  g_assert_nonnull (strstr (text,
      "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:d2\r\n"));
  g_assert_true (strstr (text, "m=audio") < strstr (text, "m=video"));
  g_assert_true (strstr (text, "m=video") < strstr (text, "m=application"));

  reparsed = parse_ok (text, -1);
  g_assert_cmpuint (reparsed->n_media, ==, 3);
  g_assert_cmpuint (reparsed->media_index, ==, 0);
  g_assert_cmpstr (reparsed->mid, ==, "a0");
  g_assert_cmpint (reparsed->setup, ==, AMGW_DTLS_SETUP_ACTIVE);
}

/* A re-offer after a stopped transceiver: the first audio m-line is dead. */
static void
test_parse_second_audio (void)
{
  g_autofree char *sdp = replace (chromium_offer, "m=audio 56143 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n",
      "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:old\r\n"
      "m=audio 56143 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n");
  g_autoptr (AmgwSdpMedia) m = parse_ok (sdp, -1);
  g_autoptr (AmgwSdpMedia) answer = amgw_sdp_media_copy (m);
  g_autoptr (AmgwSdpMedia) reparsed = NULL;
  g_autofree char *text = NULL;

  g_assert_cmpuint (m->n_media, ==, 2);
  g_assert_cmpuint (m->media_index, ==, 1);
  g_assert_cmpstr (m->mid, ==, "0");
  g_assert_cmpstr (m->media_mids[0], ==, "old");

  text = amgw_sdp_build (answer, 1, 1, m);
  g_assert_nonnull (strstr (text, "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:old\r\n"));
  reparsed = parse_ok (text, -1);
  g_assert_cmpuint (reparsed->media_index, ==, 1);
  assert_media_equal (m, reparsed);
}

/* ---- awkward inputs ---- */

typedef struct {
  const char *name;
  const char *base;    /* NULL: chromium_offer */
  const char *from;    /* NULL: the base as is */
  const char *to;
  gint code;           /* -1: parses */
  const char *message; /* a part of the error message */
} ParseCase;

#define OK -1

static const ParseCase parse_cases[] = {
  { "empty", "", NULL, NULL, AMGW_SDP_ERROR_INVALID, "SDP: empty" },
  { "not-sdp", "hello, world\r\n", NULL, NULL, AMGW_SDP_ERROR_INVALID, "SDP: does not start with v=0" },
  { "json", "{\"type\":\"offer\",\"sdp\":\"v=0\"}", NULL, NULL, AMGW_SDP_ERROR_INVALID,
    "does not start with v=0" },
  { "v1", NULL, "v=0\r\n", "v=1\r\n", AMGW_SDP_ERROR_INVALID, "does not start with v=0" },
  { "v00", NULL, "v=0\r\n", "v=00\r\n", AMGW_SDP_ERROR_INVALID, "does not start with v=0" },
  { "bom", NULL, "v=0\r\n", "\xEF\xBB\xBFv=0\r\n", AMGW_SDP_ERROR_INVALID, "does not start with v=0" },
  { "only-version", "v=0\r\n", NULL, NULL, AMGW_SDP_ERROR_UNSUPPORTED, "SDP: no audio m-line" },
  { "non-utf8", NULL, "Ht5dL8wQz2pXk9Vb", "Ht5dL8wQz2p\xC3\x28k9Vb", AMGW_SDP_ERROR_INVALID,
    "SDP: not valid UTF-8" },
  { "control", NULL, "s=-", "s=\x01", AMGW_SDP_ERROR_INVALID, "SDP: contains control characters" },
  { "del", NULL, "s=-", "s=\x7f", AMGW_SDP_ERROR_INVALID, "SDP: contains control characters" },
  { "tab-ok", NULL, "s=-", "s=\t-", OK, NULL },
  { "utf8-ok", NULL, "s=-", "s=caf\xC3\xA9", OK, NULL },
  { "missing-fingerprint", NULL, "a=fingerprint:sha-256 " FP_CHROMIUM "\r\n", "",
    AMGW_SDP_ERROR_INVALID, "SDP: no a=fingerprint:sha-256" },
  { "sha1-only", NULL, "a=fingerprint:sha-256 " FP_CHROMIUM,
    "a=fingerprint:sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB",
    AMGW_SDP_ERROR_UNSUPPORTED, "SDP: no a=fingerprint:sha-256" },
  { "sha1-and-sha256", NULL, "a=fingerprint:sha-256 ",
    "a=fingerprint:sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB\r\n"
    "a=fingerprint:SHA-256 ", OK, NULL },
  { "fingerprint-short", NULL, FP_CHROMIUM, "3C:4A:9F", AMGW_SDP_ERROR_INVALID,
    "not 32 hex bytes separated by colons" },
  { "fingerprint-not-hex", NULL, "3C:4A:9F:12", "3C:4A:9G:12", AMGW_SDP_ERROR_INVALID,
    "not 32 hex bytes" },
  { "fingerprint-no-colons", NULL, "3C:4A:9F:12", "3C4A-9F:12", AMGW_SDP_ERROR_INVALID,
    "not 32 hex bytes" },
  { "missing-ice-ufrag", NULL, "a=ice-ufrag:Yx3B\r\n", "", AMGW_SDP_ERROR_INVALID,
    "SDP: no a=ice-ufrag" },
  { "missing-ice-pwd", NULL, "a=ice-pwd:qJ4kXw2nP8vR5tL9mZ1cD6fH\r\n", "", AMGW_SDP_ERROR_INVALID,
    "SDP: no a=ice-pwd" },
  { "ice-ufrag-short", NULL, "ice-ufrag:Yx3B", "ice-ufrag:Yx3", AMGW_SDP_ERROR_INVALID,
    "SDP: a=ice-ufrag must be 4 to 256 ice-chars" },
  { "ice-ufrag-bad-char", NULL, "ice-ufrag:Yx3B", "ice-ufrag:Yx-3B", AMGW_SDP_ERROR_INVALID,
    "a=ice-ufrag must be" },
  { "ice-pwd-short", NULL, "qJ4kXw2nP8vR5tL9mZ1cD6fH", "qJ4kXw2nP8vR5tL9mZ1cD", AMGW_SDP_ERROR_INVALID,
    "SDP: a=ice-pwd must be 22 to 256 ice-chars" },
  { "ice-pwd-22", NULL, "qJ4kXw2nP8vR5tL9mZ1cD6fH", "qJ4kXw2nP8vR5tL9mZ1c+/", OK, NULL },
  { "missing-setup", NULL, "a=setup:actpass\r\n", "", AMGW_SDP_ERROR_INVALID, "SDP: no a=setup" },
  { "setup-holdconn", NULL, "a=setup:actpass", "a=setup:holdconn", AMGW_SDP_ERROR_UNSUPPORTED,
    "holdconn" },
  { "setup-bogus", NULL, "a=setup:actpass", "a=setup:sideways", AMGW_SDP_ERROR_INVALID,
    "a=setup must be actpass, active or passive" },
  { "video-only", NULL, "m=audio 56143 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
    "m=video 56143 UDP/TLS/RTP/SAVPF 96 97", AMGW_SDP_ERROR_UNSUPPORTED, "SDP: no audio m-line" },
  { "audio-port-0", NULL, "m=audio 56143", "m=audio 0", AMGW_SDP_ERROR_UNSUPPORTED,
    "SDP: the audio m-line is rejected (port 0)" },
  { "audio-port-big", NULL, "m=audio 56143", "m=audio 70000", AMGW_SDP_ERROR_INVALID,
    "port 70000 is over 65535" },
  { "profile-avp", NULL, "UDP/TLS/RTP/SAVPF 111", "RTP/AVP 111", AMGW_SDP_ERROR_UNSUPPORTED,
    "profile is RTP/AVP" },
  { "profile-savp", NULL, "UDP/TLS/RTP/SAVPF 111", "UDP/TLS/RTP/SAVP 111", OK, NULL },
  { "no-payload-types", NULL, " 111 63 9 0 8 13 110 126\r\n", "\r\n", AMGW_SDP_ERROR_INVALID,
    "m-line 1 is malformed" },
  { "trailing-blank", NULL, " 110 126\r\n", " 110 126 \r\n", OK, NULL },
  { "pt-not-number", NULL, " 110 126\r\n", " 110 x126\r\n", AMGW_SDP_ERROR_INVALID,
    "not a payload type 0..127" },
  { "pt-128", NULL, " 110 126\r\n", " 110 128\r\n", AMGW_SDP_ERROR_INVALID,
    "not a payload type 0..127" },
  { "pt-twice", NULL, " 110 126\r\n", " 110 126 111\r\n", AMGW_SDP_ERROR_INVALID,
    "lists payload type 111 twice" },
  { "rtpmap-no-rate", NULL, "a=rtpmap:111 opus/48000/2", "a=rtpmap:111 opus", AMGW_SDP_ERROR_INVALID,
    "a=rtpmap of payload type 111 is not" },
  { "rtpmap-zero-rate", NULL, "a=rtpmap:111 opus/48000/2", "a=rtpmap:111 opus/0/2",
    AMGW_SDP_ERROR_INVALID, "a=rtpmap of payload type 111" },
  { "rtpmap-bad-pt", NULL, "a=rtpmap:111 opus/48000/2", "a=rtpmap:opus/48000/2",
    AMGW_SDP_ERROR_INVALID, "does not start with a payload type" },
  { "rtpmap-unlisted-ignored", NULL, "a=rtpmap:13 CN/8000", "a=rtpmap:13 CN/8000\r\na=rtpmap:99 x", OK,
    NULL },
  { "fmtp-long", NULL, "minptime=10;useinbandfec=1",
    "minptime=10;useinbandfec=1;x=" "0123456789012345678901234567890123456789012345678901234567890123"
    "0123456789012345678901234567890123456789012345678901234567890123"
    "0123456789012345678901234567890123456789012345678901234567890123"
    "0123456789012345678901234567890123456789012345678901234567890123",
    AMGW_SDP_ERROR_INVALID, "a=fmtp of payload type 111 is longer than 256" },
  { "mid-space", NULL, "a=mid:0", "a=mid:0 1", AMGW_SDP_ERROR_INVALID, "a=mid of m-line 1" },
  { "mid-long", NULL, "a=mid:0", "a=mid:0123456789abcdef0123456789abcdef0", AMGW_SDP_ERROR_INVALID,
    "1 to 32 token characters" },
  { "mid-duplicate", multi_offer, "a=mid:v1", "a=mid:a0", AMGW_SDP_ERROR_INVALID,
    "m-line 2 repeats an earlier a=mid" },
  { "ssrc-not-number", NULL, "a=ssrc:2788515237 cname", "a=ssrc:27885x15237 cname",
    AMGW_SDP_ERROR_INVALID, "a=ssrc does not start with a 32-bit number" },
  { "ssrc-over-32-bits", NULL, "a=ssrc:2788515237 cname", "a=ssrc:4294967296 cname",
    AMGW_SDP_ERROR_INVALID, "32-bit number" },
  { "msid-three-ids", NULL, "a=msid:" MSID_CHROMIUM, "a=msid:" MSID_CHROMIUM " x",
    AMGW_SDP_ERROR_INVALID, "an msid is not" },
  { "address-garbage", NULL, "c=IN IP4 192.168.1.23", "c=IN IP4 192.168.1.23<x>",
    AMGW_SDP_ERROR_INVALID, "c= address" },
  { "address-ip6", NULL, "c=IN IP4 192.168.1.23", "c=IN IP6 2001:db8::1", OK, NULL },
  { "candidate-empty", NULL, "a=" CAND_TCP, "a=candidate:", AMGW_SDP_ERROR_INVALID,
    "an a=candidate is empty" },
  { "unknown-lines", NULL, "s=-\r\n", "s=-\r\nx=whatever\r\nnot a line\r\na=x-amgw-test:1\r\n", OK, NULL },
  { "leading-blanks", NULL, "a=mid:0", "   a=mid:0", OK, NULL },
  { "direction-session-level", multi_offer, "t=0 0\r\n", "t=0 0\r\na=recvonly\r\n", OK, NULL },
};

static void
test_parse_case (gconstpointer data)
{
  const ParseCase *c = data;
  g_autofree char *sdp = replace (c->base != NULL ? c->base : chromium_offer, c->from, c->to);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwSdpMedia) m = amgw_sdp_parse (sdp, strlen (sdp), &error);

  if (c->code == OK) {
    g_assert_no_error (error);
    g_assert_nonnull (m);
    return;
  }
  g_assert_null (m);
  g_assert_error (error, AMGW_SDP_ERROR, c->code);
  if (strstr (error->message, c->message) == NULL)
    g_error ("%s: \"%s\" lacks \"%s\"", c->name, error->message, c->message);
}

static void
test_parse_details (void)
{
  g_autofree char *recv = replace (multi_offer, "t=0 0\r\n", "t=0 0\r\na=recvonly\r\n");
  g_autofree char *inactive = replace (chromium_offer, "a=sendrecv", "a=inactive");
  g_autofree char *ptime = replace (chromium_offer, "a=rtcp-rsize", "a=ptime:20\r\na=maxptime:120");
  g_autofree char *bad_ptime = replace (chromium_offer, "a=rtcp-rsize", "a=ptime:20.5\r\na=maxptime:0");
  g_autofree char *no_bundle = replace (chromium_offer, "a=group:BUNDLE 0", "a=group:BUNDLE 1 2");
  g_autofree char *lite = replace (chromium_offer, "t=0 0\r\n", "t=0 0\r\na=ice-lite\r\n");
  g_autofree char *no_mid = replace (chromium_offer, "a=mid:0\r\n", "");
  g_autofree char *ip6 = replace (chromium_offer, "c=IN IP4 192.168.1.23", "c=IN IP6 2001:db8::1");
  g_autoptr (AmgwSdpMedia) m = NULL;

  m = parse_ok (recv, -1);
  g_assert_cmpint (m->direction, ==, AMGW_MEDIA_RECVONLY);
  g_clear_pointer (&m, amgw_sdp_media_free);
  m = parse_ok (inactive, -1);
  g_assert_cmpint (m->direction, ==, AMGW_MEDIA_INACTIVE);
  g_clear_pointer (&m, amgw_sdp_media_free);
  m = parse_ok (ptime, -1);
  g_assert_cmpuint (m->ptime, ==, 20);
  g_assert_cmpuint (m->maxptime, ==, 120);
  g_clear_pointer (&m, amgw_sdp_media_free);
  m = parse_ok (bad_ptime, -1);
  g_assert_cmpuint (m->ptime, ==, 0);
  g_assert_cmpuint (m->maxptime, ==, 0);
  g_clear_pointer (&m, amgw_sdp_media_free);
  m = parse_ok (no_bundle, -1);
  g_assert_false (m->bundle);
  g_clear_pointer (&m, amgw_sdp_media_free);
  m = parse_ok (lite, -1);
  g_assert_true (m->ice_lite);
  g_clear_pointer (&m, amgw_sdp_media_free);
  m = parse_ok (no_mid, -1);
  g_assert_null (m->mid);
  g_assert_false (m->bundle);
  g_assert_cmpstr (m->media_mids[0], ==, "");
  g_clear_pointer (&m, amgw_sdp_media_free);
  m = parse_ok (ip6, -1);
  g_assert_cmpstr (m->connection_address, ==, "2001:db8::1");
}

/* GstSDPMessage ends a line at a bare CR and skips to the next LF: a CR-only
 * SDP would lose every line after v=0, so it is refused outright. */
static void
test_parse_line_ends (void)
{
  g_autofree char *lf = replace (chromium_offer, "\r\n", "\n");
  g_autofree char *cr = replace (chromium_offer, "\r\n", "\r");
  g_autofree char *mixed = replace (chromium_offer, "a=rtcp-mux\r\n", "a=rtcp-mux\n");
  g_autofree char *stray = replace (chromium_offer, "s=-\r\n", "s=-\r\r\n");
  g_autoptr (AmgwSdpMedia) crlf_media = parse_ok (chromium_offer, -1);
  g_autoptr (AmgwSdpMedia) lf_media = parse_ok (lf, -1);
  g_autoptr (AmgwSdpMedia) mixed_media = parse_ok (mixed, -1);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwSdpMedia) cr_media = amgw_sdp_parse (cr, strlen (cr), &error);

  assert_media_equal (crlf_media, lf_media);
  assert_media_equal (crlf_media, mixed_media);
  g_assert_null (cr_media);
  g_assert_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "a CR without LF"));
  g_clear_error (&error);
  g_assert_null (amgw_sdp_parse (stray, strlen (stray), &error));
  g_assert_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID);
}

static void
test_parse_nul (void)
{
  gsize len = strlen (chromium_offer);
  g_autofree char *sdp = g_memdup2 (chromium_offer, len + 1);
  g_autoptr (GError) error = NULL;

  /* A NUL in a value, and the terminating NUL counted in the length. */
  sdp[strstr (sdp, "Ht5dL8wQz2pXk9Vb") - sdp + 4] = '\0';
  g_assert_null (amgw_sdp_parse (sdp, len, &error));
  g_assert_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "SDP: contains a NUL byte");
  g_clear_error (&error);
  g_assert_null (amgw_sdp_parse (chromium_offer, len + 1, &error));
  g_assert_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID);
  g_clear_error (&error);
  /* NULL with length 0 is just empty. */
  g_assert_null (amgw_sdp_parse (NULL, 0, &error));
  g_assert_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID);
}

/* Not NUL-terminated: the parser must not read past @len. */
static void
test_parse_unterminated (void)
{
  gsize len = strlen (chromium_offer);
  char *sdp = g_malloc (len);
  g_autoptr (AmgwSdpMedia) m = NULL;

  memcpy (sdp, chromium_offer, len);
  m = parse_ok (sdp, (gssize) len);
  g_assert_cmpuint (m->ssrc, ==, 2788515237u);
  g_free (sdp);
}

static char *
with_candidates (guint n)
{
  g_autoptr (GString) lines = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (lines, "a=candidate:%u 1 udp 2122260223 10.0.%u.%u 5%04u typ host\r\n",
        i, i / 250, i % 250 + 1, i);
  return replace (chromium_offer, "a=" CAND_UDP "\r\na=" CAND_TCP "\r\n", lines->str);
}

static void
test_parse_ceilings (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwSdpMedia) m = NULL;
  g_autoptr (GString) big = NULL;
  g_autoptr (GString) pts = NULL;
  g_autoptr (GString) mlines = NULL;
  g_autofree char *c64 = NULL, *c65 = NULL, *p32 = NULL, *p33 = NULL, *m16 = NULL, *m17 = NULL;

  /* Candidates: 64 fine, 65 too many. */
  c64 = with_candidates (AMGW_MAX_SDP_CANDIDATES);
  m = parse_ok (c64, -1);
  g_assert_cmpuint (m->candidates->len, ==, AMGW_MAX_SDP_CANDIDATES);
  g_clear_pointer (&m, amgw_sdp_media_free);
  c65 = with_candidates (AMGW_MAX_SDP_CANDIDATES + 1);
  g_assert_null (amgw_sdp_parse (c65, strlen (c65), &error));
  g_assert_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_TOO_BIG);
  g_assert_cmpstr (error->message, ==, "SDP: more than 64 a=candidate lines");
  g_clear_error (&error);

  /* Payload types: 32 fine, 33 too many. */
  pts = g_string_new (NULL);
  for (guint i = 0; i < AMGW_MAX_SDP_CODECS - 8; i++)
    g_string_append_printf (pts, " %u", 64 + i);
  p32 = replace (chromium_offer, " 110 126\r\n", (g_string_append (pts, " 110 126\r\n"))->str);
  m = parse_ok (p32, -1);
  g_assert_cmpuint (m->codecs->len, ==, AMGW_MAX_SDP_CODECS);
  g_clear_pointer (&m, amgw_sdp_media_free);
  p33 = replace (p32, " 110 126\r\n", " 110 126 127\r\n");
  g_assert_null (amgw_sdp_parse (p33, strlen (p33), &error));
  g_assert_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_TOO_BIG);
  g_clear_error (&error);

  /* m-lines: 16 fine, 17 too many. */
  mlines = g_string_new (chromium_offer);
  for (guint i = 1; i < AMGW_MAX_SDP_MEDIA; i++)
    g_string_append_printf (mlines, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:v%u\r\n", i);
  m16 = g_strdup (mlines->str);
  m = parse_ok (m16, -1);
  g_assert_cmpuint (m->n_media, ==, AMGW_MAX_SDP_MEDIA);
  g_clear_pointer (&m, amgw_sdp_media_free);
  g_string_append (mlines, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\n");
  m17 = g_strdup (mlines->str);
  g_assert_null (amgw_sdp_parse (m17, strlen (m17), &error));
  g_assert_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_TOO_BIG);
  g_clear_error (&error);

  /* Bytes: exactly AMGW_MAX_SDP_BYTES parses, one more does not. */
  big = g_string_new (chromium_offer);
  while (big->len + 64 < AMGW_MAX_SDP_BYTES)
    g_string_append (big, "a=x-pad:0123456789012345678901234567890123456789012345678901\r\n");
  g_string_append (big, "a=x-pad:");
  while (big->len + 2 < AMGW_MAX_SDP_BYTES)
    g_string_append_c (big, 'p');
  g_string_append (big, "\r\n");
  g_assert_cmpuint (big->len, ==, AMGW_MAX_SDP_BYTES);
  m = parse_ok (big->str, (gssize) big->len);
  g_clear_pointer (&m, amgw_sdp_media_free);
  g_string_insert_c (big, big->len - 2, 'p');
  g_assert_null (amgw_sdp_parse (big->str, big->len, &error));
  g_assert_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_TOO_BIG);
  g_assert_nonnull (strstr (error->message, "more than 65536"));
  g_clear_error (&error);

  /* A huge one, 1 MiB of a single line. */
  {
    gsize n = 1024 * 1024;
    g_autofree char *huge = g_malloc (n);
    memset (huge, 'a', n);
    memcpy (huge, "v=0\r\ns=", 7);
    g_assert_null (amgw_sdp_parse (huge, n, &error));
    g_assert_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_TOO_BIG);
  }
}

/* ---- building ---- */

static AmgwSdpMedia *
amgw_offer (void)
{
  AmgwSdpMedia *m = amgw_sdp_media_new ();

  m->ice_ufrag = g_strdup ("a1B2");
  m->ice_pwd = g_strdup ("0123456789abcdefABCDEF+/");
  m->fingerprint = g_strdup (FP_CHROMIUM);
  m->setup = AMGW_DTLS_SETUP_ACTPASS;
  m->mid = g_strdup ("0");
  g_array_unref (m->codecs);
  m->codecs = amgw_sdp_default_codecs ();
  g_ptr_array_add (m->candidates,
      g_strdup ("candidate:1 1 udp 2130706431 203.0.113.7 40000 typ host"));
  g_ptr_array_add (m->candidates,
      g_strdup ("candidate:2 1 udp 1694498815 198.51.100.9 40000 typ srflx raddr 203.0.113.7 rport 40000"));
  m->end_of_candidates = TRUE;
  m->connection_address = g_strdup ("203.0.113.7");
  m->port = 40000;
  m->ssrc = 0x12345678;
  m->cname = g_strdup ("amgw-cname-1");
  m->msid = g_strdup ("amgw-stream amgw-audio");
  return m;
}

static void
test_build_format (void)
{
  g_autoptr (AmgwSdpMedia) m = amgw_offer ();
  g_autofree char *text = amgw_sdp_build (m, 42, 3, NULL);
  static const char *const expected[] = {
    "v=0\r\no=- 42 3 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
        "a=msid-semantic: WMS amgw-stream\r\nm=audio 40000 UDP/TLS/RTP/SAVPF 111 9 0 8 126 101\r\n"
        "c=IN IP4 203.0.113.7\r\na=rtcp:40000 IN IP4 203.0.113.7\r\n",
    "\r\na=candidate:1 1 udp 2130706431 203.0.113.7 40000 typ host\r\n",
    "\r\na=end-of-candidates\r\n",
    "\r\na=ice-ufrag:a1B2\r\n",
    "\r\na=ice-pwd:0123456789abcdefABCDEF+/\r\n",
    "\r\na=fingerprint:sha-256 " FP_CHROMIUM "\r\n",
    "\r\na=setup:actpass\r\n",
    "\r\na=mid:0\r\n",
    "\r\na=sendrecv\r\n",
    "\r\na=msid:amgw-stream amgw-audio\r\n",
    "\r\na=rtcp-mux\r\n",
    "\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n",
    "\r\na=rtpmap:9 G722/8000\r\n",
    "\r\na=rtpmap:0 PCMU/8000\r\n",
    "\r\na=rtpmap:8 PCMA/8000\r\n",
    "\r\na=rtpmap:126 telephone-event/48000\r\na=fmtp:126 0-15\r\n",
    "\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n",
    "\r\na=ssrc:305419896 cname:amgw-cname-1\r\n",
    "\r\na=ssrc:305419896 msid:amgw-stream amgw-audio\r\n",
  };

  g_assert_true (g_str_has_prefix (text, expected[0]));
  for (guint i = 1; i < G_N_ELEMENTS (expected); i++) {
    if (strstr (text, expected[i]) == NULL)
      g_error ("built SDP lacks %s:\n%s", expected[i], text);
  }
  /* No trickle (candidates travel in the SDP), no feedback amgw does not do. */
  g_assert_null (strstr (text, "trickle"));
  g_assert_null (strstr (text, "rtcp-fb"));
  g_assert_null (strstr (text, "a=ice-lite"));
  g_assert_true (g_str_has_suffix (text, "\r\n"));
  for (const char *p = text; (p = strchr (p, '\n')) != NULL; p++)
    g_assert_cmpint (p[-1], ==, '\r');
  for (const char *p = text; *p != '\0'; p++)
    g_assert_true (*p == '\r' || *p == '\n' || (*p >= ' ' && *p < 0x7f));
}

static void
test_build_minimal (void)
{
  /* No mid, address, msid, ssrc, candidates; answers a mid-less offer. */
  g_autoptr (AmgwSdpMedia) m = amgw_sdp_media_new ();
  g_autoptr (AmgwSdpMedia) offer = NULL, reparsed = NULL;
  g_autofree char *text = NULL, *offer_text = replace (chromium_offer, "a=mid:0\r\n", "");

  offer = parse_ok (offer_text, -1);
  m->ice_ufrag = g_strdup ("a1B2");
  m->ice_pwd = g_strdup ("0123456789abcdefABCDEF");
  m->fingerprint = g_strdup (FP_CHROMIUM);
  m->setup = AMGW_DTLS_SETUP_ACTIVE;
  m->direction = AMGW_MEDIA_RECVONLY;
  m->ice_lite = TRUE;
  m->rtcp_mux = FALSE;
  amgw_sdp_codecs_add (m->codecs, AMGW_CODEC_PCMU, 0, 8000, 1, NULL);
  amgw_sdp_codecs_add (m->codecs, AMGW_CODEC_UNKNOWN, 13, 0, 1, NULL);
  text = amgw_sdp_build (m, G_MAXUINT64, G_MAXUINT, offer);
  g_assert_nonnull (strstr (text, "o=- 18446744073709551615 4294967295 IN IP4"));
  g_assert_nonnull (strstr (text, "a=msid-semantic: WMS\r\n"));
  g_assert_nonnull (strstr (text, "a=ice-lite\r\n"));
  g_assert_nonnull (strstr (text, "m=audio 0 UDP/TLS/RTP/SAVPF 0 13\r\nc=IN IP4 0.0.0.0\r\n"));
  g_assert_null (strstr (text, "a=mid"));
  g_assert_null (strstr (text, "BUNDLE"));
  g_assert_null (strstr (text, "a=rtpmap:13"));
  g_assert_null (strstr (text, "a=ssrc"));

  /* Without a mid and without an offer: still none. */
  g_clear_pointer (&text, g_free);
  text = amgw_sdp_build (m, 1, 1, NULL);
  g_assert_null (strstr (text, "a=mid"));
  g_assert_null (strstr (text, "BUNDLE"));

  /* Port 0 would be a rejection: give it one, then it parses. */
  g_clear_pointer (&text, g_free);
  m->port = 9;
  text = amgw_sdp_build (m, 1, 1, offer);
  reparsed = parse_ok (text, -1);
  g_assert_cmpint (reparsed->direction, ==, AMGW_MEDIA_RECVONLY);
  g_assert_true (reparsed->ice_lite);
  g_assert_false (reparsed->rtcp_mux);
  g_assert_null (reparsed->mid);
  g_assert_cmpuint (reparsed->codecs->len, ==, 2);
  assert_codec (codec_at (reparsed, 0), AMGW_CODEC_PCMU, 0, 8000, 1, NULL);
  assert_codec (codec_at (reparsed, 1), AMGW_CODEC_UNKNOWN, 13, 0, 1, NULL);
}

static void
test_round_trip (void)
{
  const char *const sources[] = { chromium_offer, chromium_answer, firefox_offer };
  g_autoptr (AmgwSdpMedia) ours = amgw_offer ();
  g_autoptr (AmgwSdpMedia) back = NULL;
  g_autofree char *text = amgw_sdp_build (ours, 1, 1, NULL);

  /* amgw's own offer. */
  back = parse_ok (text, -1);
  g_free (ours->proto);
  ours->proto = g_strdup ("UDP/TLS/RTP/SAVPF");   /* the default, now written */
  assert_media_equal (ours, back);
  g_assert_cmpuint (back->n_media, ==, 1);

  /* Peers' SDP: parse, build, parse. */
  for (guint i = 0; i < G_N_ELEMENTS (sources); i++) {
    g_autoptr (AmgwSdpMedia) first = parse_ok (sources[i], -1);
    g_autoptr (AmgwSdpMedia) copy = amgw_sdp_media_copy (first);
    g_autoptr (AmgwSdpMedia) second = NULL;
    g_autofree char *built = amgw_sdp_build (first, 5, 6, NULL);

    assert_media_equal (first, copy);
    second = parse_ok (built, -1);
    assert_media_equal (first, second);
  }

  /* ptime, maxptime, inactive, passive, IPv6 survive too. */
  ours->ptime = 20;
  ours->maxptime = 120;
  ours->direction = AMGW_MEDIA_INACTIVE;
  ours->setup = AMGW_DTLS_SETUP_PASSIVE;
  g_free (ours->connection_address);
  ours->connection_address = g_strdup ("2001:db8::7");
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&back, amgw_sdp_media_free);
  text = amgw_sdp_build (ours, 1, 2, NULL);
  g_assert_nonnull (strstr (text, "c=IN IP6 2001:db8::7\r\na=rtcp:40000 IN IP6 2001:db8::7\r\n"));
  back = parse_ok (text, -1);
  assert_media_equal (ours, back);
}

/* Every ceiling at once: the SDP still fits, and so does what amgw builds
 * from it (the budget in media/sdp.c), as an offer and as an answer. */
static void
test_build_worst_case (void)
{
  g_autoptr (GString) sdp = g_string_new ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");
  g_autofree char *ufrag = g_strnfill (256, 'u'), *pwd = g_strnfill (256, 'p');
  g_autofree char *cand = g_strnfill (512 - 52, 'c'), *fmtp = g_strnfill (256, 'f');
  g_autofree char *name = g_strnfill (32, 'n'), *token = g_strnfill (64, 't');
  g_autofree char *cname = g_strnfill (255, 'x'), *msid_id = g_strnfill (64, 'm');
  g_autoptr (AmgwSdpMedia) m = NULL, again = NULL, answer_back = NULL;
  g_autofree char *built = NULL, *answer = NULL;

  g_string_append_printf (sdp, "a=group:BUNDLE mid0\r\nc=IN IP4 %s\r\n", token);
  for (guint i = 1; i < AMGW_MAX_SDP_MEDIA; i++)
    g_string_append_printf (sdp, "m=%.*s%02u 0 %s %s\r\na=mid:%.*s%02u\r\n", 62, token, i, token,
        token, 30, token, i);
  g_string_append (sdp, "m=audio 65535 UDP/TLS/RTP/SAVPF");
  for (guint i = 0; i < AMGW_MAX_SDP_CODECS; i++)
    g_string_append_printf (sdp, " %u", 96 + i);
  g_string_append_printf (sdp, "\r\na=mid:mid0\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n"
      "a=fingerprint:sha-256 " FP_CHROMIUM "\r\na=setup:actpass\r\na=msid:%s %s\r\n"
      "a=ssrc:4294967295 cname:%s\r\na=ptime:5000\r\na=maxptime:5000\r\n",
      ufrag, pwd, msid_id, msid_id, cname);
  for (guint i = 0; i < AMGW_MAX_SDP_CODECS; i++)
    g_string_append_printf (sdp, "a=rtpmap:%u %.*s%02u/1000000/8\r\na=fmtp:%u %s\r\n",
        96 + i, 30, name, i, 96 + i, fmtp);
  for (guint i = 0; i < AMGW_MAX_SDP_CANDIDATES; i++)
    g_string_append_printf (sdp, "a=candidate:%010u 1 udp 2122260223 10.0.0.1 %05u typ host %s\r\n",
        i, 10000 + i, cand);
  g_assert_cmpuint (sdp->len, <=, AMGW_MAX_SDP_BYTES);

  m = parse_ok (sdp->str, (gssize) sdp->len);
  g_assert_cmpuint (m->n_media, ==, AMGW_MAX_SDP_MEDIA);
  g_assert_cmpuint (m->media_index, ==, AMGW_MAX_SDP_MEDIA - 1);
  g_assert_cmpuint (m->codecs->len, ==, AMGW_MAX_SDP_CODECS);
  g_assert_cmpuint (m->candidates->len, ==, AMGW_MAX_SDP_CANDIDATES);
  g_assert_cmpuint (strlen (g_ptr_array_index (m->candidates, 0)), ==, 10 + 512);

  built = amgw_sdp_build (m, G_MAXUINT64, G_MAXUINT, NULL);
  g_assert_cmpuint (strlen (built), <=, AMGW_MAX_SDP_BYTES);
  again = parse_ok (built, -1);
  assert_media_equal (m, again);

  answer = amgw_sdp_build (m, G_MAXUINT64, G_MAXUINT, m);
  g_assert_cmpuint (strlen (answer), <=, AMGW_MAX_SDP_BYTES);
  g_test_message ("worst case: %" G_GSIZE_FORMAT " bytes in, %" G_GSIZE_FORMAT " built, %"
      G_GSIZE_FORMAT " answered", sdp->len, strlen (built), strlen (answer));
  answer_back = parse_ok (answer, -1);
  g_assert_cmpuint (answer_back->n_media, ==, AMGW_MAX_SDP_MEDIA);
  assert_media_equal (m, answer_back);
}

/* ---- negotiation ---- */

typedef struct {
  const char *name;
  const char *sdp;
  AmgwCodecId prefs[5];
  guint n_prefs;
  gboolean ok;
  AmgwCodecId id;
  guint pt;
  const char *fmtp;
  gint dtmf_pt;     /* -1: no telephone-event */
  guint dtmf_rate;
} NegotiateCase;

#define ALL_PREFS { AMGW_CODEC_OPUS, AMGW_CODEC_G722, AMGW_CODEC_PCMU, AMGW_CODEC_PCMA }, 4

static const char pcmu_only_offer[] =
  "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
  "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n"
  "a=ice-ufrag:Yx3B\r\na=ice-pwd:qJ4kXw2nP8vR5tL9mZ1cD6fH\r\n"
  "a=fingerprint:sha-256 " FP_CHROMIUM "\r\na=setup:actpass\r\na=mid:0\r\n";

static const char pcma_dtmf_offer[] =
  "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
  "m=audio 9 UDP/TLS/RTP/SAVPF 8 101\r\nc=IN IP4 0.0.0.0\r\n"
  "a=ice-ufrag:Yx3B\r\na=ice-pwd:qJ4kXw2nP8vR5tL9mZ1cD6fH\r\n"
  "a=fingerprint:sha-256 " FP_CHROMIUM "\r\na=setup:actpass\r\na=mid:0\r\n"
  "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";

static const char odd_opus_offer[] =
  "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
  "m=audio 9 UDP/TLS/RTP/SAVPF 96 97 98\r\nc=IN IP4 0.0.0.0\r\n"
  "a=ice-ufrag:Yx3B\r\na=ice-pwd:qJ4kXw2nP8vR5tL9mZ1cD6fH\r\n"
  "a=fingerprint:sha-256 " FP_CHROMIUM "\r\na=setup:actpass\r\na=mid:0\r\n"
  "a=rtpmap:96 OPUS/16000/2\r\na=rtpmap:97 Opus/48000/2\r\na=fmtp:97 stereo=0\r\n"
  "a=rtpmap:98 TELEPHONE-EVENT/48000\r\n";

static const NegotiateCase negotiate_cases[] = {
  { "opus-preferred", chromium_offer, ALL_PREFS, TRUE, AMGW_CODEC_OPUS, 111,
    "minptime=10;useinbandfec=1", 110, 48000 },
  { "g722-preferred", chromium_offer,
    { AMGW_CODEC_G722, AMGW_CODEC_OPUS }, 2, TRUE, AMGW_CODEC_G722, 9, NULL, 126, 8000 },
  { "pcmu-preferred", chromium_offer,
    { AMGW_CODEC_TELEPHONE_EVENT, AMGW_CODEC_UNKNOWN, AMGW_CODEC_PCMU }, 3, TRUE, AMGW_CODEC_PCMU, 0,
    NULL, 126, 8000 },
  { "firefox-opus-no-48k-events", firefox_offer, ALL_PREFS, TRUE, AMGW_CODEC_OPUS, 109,
    "maxplaybackrate=48000;stereo=1;useinbandfec=1", -1, 0 },
  { "firefox-pcma", firefox_offer, { AMGW_CODEC_PCMA }, 1, TRUE, AMGW_CODEC_PCMA, 8, NULL, 101, 8000 },
  { "pcmu-only-static", pcmu_only_offer, ALL_PREFS, TRUE, AMGW_CODEC_PCMU, 0, NULL, -1, 0 },
  { "remote-pt-and-case", odd_opus_offer, ALL_PREFS, TRUE, AMGW_CODEC_OPUS, 97, "stereo=0", 98, 48000 },
  { "no-common", pcma_dtmf_offer, { AMGW_CODEC_OPUS, AMGW_CODEC_PCMU }, 2, FALSE, 0, 0, NULL, -1, 0 },
  { "no-prefs", chromium_offer, { AMGW_CODEC_OPUS }, 0, FALSE, 0, 0, NULL, -1, 0 },
  { "events-only", chromium_offer, { AMGW_CODEC_TELEPHONE_EVENT }, 1, FALSE, 0, 0, NULL, -1, 0 },
};

static void
test_negotiate (gconstpointer data)
{
  const NegotiateCase *c = data;
  g_autoptr (AmgwSdpMedia) offer = parse_ok (c->sdp, -1);
  g_autoptr (GArray) codecs = NULL;
  g_autoptr (GError) error = NULL;
  gboolean ok = amgw_sdp_negotiate (offer, c->prefs, c->n_prefs, &codecs, &error);

  if (!c->ok) {
    g_assert_false (ok);
    g_assert_null (codecs);
    g_assert_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_NO_COMMON_CODEC);
    g_assert_true (g_str_has_prefix (error->message, "SDP: no audio codec in common (offered: "));
    return;
  }
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpuint (codecs->len, ==, c->dtmf_pt >= 0 ? 2 : 1);
  g_assert_cmpint (g_array_index (codecs, AmgwCodec, 0).id, ==, c->id);
  g_assert_cmpuint (g_array_index (codecs, AmgwCodec, 0).pt, ==, c->pt);
  g_assert_cmpstr (g_array_index (codecs, AmgwCodec, 0).fmtp, ==, c->fmtp);
  if (c->dtmf_pt >= 0) {
    const AmgwCodec *te = &g_array_index (codecs, AmgwCodec, 1);
    g_assert_cmpint (te->id, ==, AMGW_CODEC_TELEPHONE_EVENT);
    g_assert_cmpuint (te->pt, ==, (guint) c->dtmf_pt);
    g_assert_cmpuint (te->clock_rate, ==, c->dtmf_rate);
  }
}

static void
test_negotiate_message (void)
{
  g_autoptr (AmgwSdpMedia) offer = parse_ok (pcma_dtmf_offer, -1);
  static const AmgwCodecId prefs[] = { AMGW_CODEC_OPUS };
  g_autoptr (GArray) codecs = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_false (amgw_sdp_negotiate (offer, prefs, 1, &codecs, &error));
  g_assert_cmpstr (error->message, ==,
      "SDP: no audio codec in common (offered: PCMA/8000, telephone-event/8000)");
}

static void
test_default_codecs (void)
{
  g_autoptr (GArray) codecs = amgw_sdp_default_codecs ();
  static const struct { AmgwCodecId id; guint pt, rate, channels; } expected[] = {
    { AMGW_CODEC_OPUS, 111, 48000, 2 },
    { AMGW_CODEC_G722, 9, 8000, 1 },
    { AMGW_CODEC_PCMU, 0, 8000, 1 },
    { AMGW_CODEC_PCMA, 8, 8000, 1 },
    { AMGW_CODEC_TELEPHONE_EVENT, 126, 48000, 1 },
    { AMGW_CODEC_TELEPHONE_EVENT, 101, 8000, 1 },
  };

  g_assert_cmpuint (codecs->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++) {
    const AmgwCodec *c = &g_array_index (codecs, AmgwCodec, i);
    g_assert_cmpint (c->id, ==, expected[i].id);
    g_assert_cmpuint (c->pt, ==, expected[i].pt);
    g_assert_cmpuint (c->clock_rate, ==, expected[i].rate);
    g_assert_cmpuint (c->channels, ==, expected[i].channels);
  }
  g_assert_cmpstr (g_array_index (codecs, AmgwCodec, 0).fmtp, ==, "minptime=10;useinbandfec=1");
}

/* ---- directions, DTLS roles, names ---- */

static void
test_answer_direction (void)
{
  static const struct { AmgwMediaDirection offered, wanted, answer; } table[] = {
    { AMGW_MEDIA_SENDRECV, AMGW_MEDIA_SENDRECV, AMGW_MEDIA_SENDRECV },
    { AMGW_MEDIA_SENDRECV, AMGW_MEDIA_SENDONLY, AMGW_MEDIA_SENDONLY },
    { AMGW_MEDIA_SENDRECV, AMGW_MEDIA_RECVONLY, AMGW_MEDIA_RECVONLY },
    { AMGW_MEDIA_SENDRECV, AMGW_MEDIA_INACTIVE, AMGW_MEDIA_INACTIVE },
    { AMGW_MEDIA_SENDONLY, AMGW_MEDIA_SENDRECV, AMGW_MEDIA_RECVONLY },
    { AMGW_MEDIA_SENDONLY, AMGW_MEDIA_SENDONLY, AMGW_MEDIA_INACTIVE },
    { AMGW_MEDIA_SENDONLY, AMGW_MEDIA_RECVONLY, AMGW_MEDIA_RECVONLY },
    { AMGW_MEDIA_SENDONLY, AMGW_MEDIA_INACTIVE, AMGW_MEDIA_INACTIVE },
    { AMGW_MEDIA_RECVONLY, AMGW_MEDIA_SENDRECV, AMGW_MEDIA_SENDONLY },
    { AMGW_MEDIA_RECVONLY, AMGW_MEDIA_SENDONLY, AMGW_MEDIA_SENDONLY },
    { AMGW_MEDIA_RECVONLY, AMGW_MEDIA_RECVONLY, AMGW_MEDIA_INACTIVE },
    { AMGW_MEDIA_RECVONLY, AMGW_MEDIA_INACTIVE, AMGW_MEDIA_INACTIVE },
    { AMGW_MEDIA_INACTIVE, AMGW_MEDIA_SENDRECV, AMGW_MEDIA_INACTIVE },
    { AMGW_MEDIA_INACTIVE, AMGW_MEDIA_SENDONLY, AMGW_MEDIA_INACTIVE },
    { AMGW_MEDIA_INACTIVE, AMGW_MEDIA_RECVONLY, AMGW_MEDIA_INACTIVE },
    { AMGW_MEDIA_INACTIVE, AMGW_MEDIA_INACTIVE, AMGW_MEDIA_INACTIVE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    g_assert_cmpint (amgw_sdp_answer_direction (table[i].offered, table[i].wanted), ==,
        table[i].answer);
}

static void
test_dtls_role (void)
{
  static const struct { AmgwDtlsSetup remote; gboolean remote_is_offer, ok; AmgwDtlsSetup role; } table[] = {
    { AMGW_DTLS_SETUP_ACTPASS, TRUE, TRUE, AMGW_DTLS_SETUP_ACTIVE },   /* amgw answers: client */
    { AMGW_DTLS_SETUP_ACTIVE, TRUE, TRUE, AMGW_DTLS_SETUP_PASSIVE },
    { AMGW_DTLS_SETUP_PASSIVE, TRUE, TRUE, AMGW_DTLS_SETUP_ACTIVE },
    { AMGW_DTLS_SETUP_ACTIVE, FALSE, TRUE, AMGW_DTLS_SETUP_PASSIVE },  /* peer is client: amgw server */
    { AMGW_DTLS_SETUP_PASSIVE, FALSE, TRUE, AMGW_DTLS_SETUP_ACTIVE },
    { AMGW_DTLS_SETUP_ACTPASS, FALSE, FALSE, 0 },                      /* an answer must choose */
    { (AmgwDtlsSetup) 7, TRUE, FALSE, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++) {
    g_autoptr (GError) error = NULL;
    AmgwDtlsSetup role = (AmgwDtlsSetup) 99;
    gboolean ok = amgw_sdp_dtls_role (table[i].remote, table[i].remote_is_offer, &role, &error);

    g_assert_cmpint (ok, ==, table[i].ok);
    if (ok) {
      g_assert_no_error (error);
      g_assert_cmpint (role, ==, table[i].role);
    } else {
      g_assert_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID);
      g_assert_cmpint (role, ==, 99);
    }
  }
}

static void
test_names (void)
{
  static const struct { AmgwCodecId id; const char *name; const char *other_case; } table[] = {
    { AMGW_CODEC_OPUS, "opus", "OPUS" },
    { AMGW_CODEC_G722, "G722", "g722" },
    { AMGW_CODEC_PCMU, "PCMU", "pcmu" },
    { AMGW_CODEC_PCMA, "PCMA", "Pcma" },
    { AMGW_CODEC_TELEPHONE_EVENT, "telephone-event", "Telephone-Event" },
  };
  AmgwCodecId id = AMGW_CODEC_UNKNOWN;

  for (guint i = 0; i < G_N_ELEMENTS (table); i++) {
    g_assert_cmpstr (amgw_codec_name (table[i].id), ==, table[i].name);
    id = AMGW_CODEC_UNKNOWN;
    g_assert_true (amgw_codec_from_name (table[i].name, &id));
    g_assert_cmpint (id, ==, table[i].id);
    id = AMGW_CODEC_UNKNOWN;
    g_assert_true (amgw_codec_from_name (table[i].other_case, &id));
    g_assert_cmpint (id, ==, table[i].id);
  }
  g_assert_null (amgw_codec_name (AMGW_CODEC_UNKNOWN));
  g_assert_null (amgw_codec_name ((AmgwCodecId) 42));
  id = AMGW_CODEC_PCMA;
  g_assert_false (amgw_codec_from_name ("red", &id));
  g_assert_false (amgw_codec_from_name ("", &id));
  g_assert_false (amgw_codec_from_name ("opus2", &id));
  g_assert_false (amgw_codec_from_name (NULL, &id));
  g_assert_cmpint (id, ==, AMGW_CODEC_PCMA);

  g_assert_cmpstr (amgw_dtls_setup_name (AMGW_DTLS_SETUP_ACTPASS), ==, "actpass");
  g_assert_cmpstr (amgw_dtls_setup_name (AMGW_DTLS_SETUP_ACTIVE), ==, "active");
  g_assert_cmpstr (amgw_dtls_setup_name (AMGW_DTLS_SETUP_PASSIVE), ==, "passive");
  g_assert_null (amgw_dtls_setup_name ((AmgwDtlsSetup) 3));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sdp/parse/chromium-offer", test_parse_chromium_offer);
  g_test_add_func ("/sdp/parse/chromium-answer", test_parse_chromium_answer);
  g_test_add_func ("/sdp/parse/firefox-offer", test_parse_firefox_offer);
  g_test_add_func ("/sdp/parse/multi", test_parse_multi);
  g_test_add_func ("/sdp/parse/second-audio", test_parse_second_audio);
  g_test_add_func ("/sdp/parse/details", test_parse_details);
  g_test_add_func ("/sdp/parse/line-ends", test_parse_line_ends);
  g_test_add_func ("/sdp/parse/nul", test_parse_nul);
  g_test_add_func ("/sdp/parse/unterminated", test_parse_unterminated);
  g_test_add_func ("/sdp/parse/ceilings", test_parse_ceilings);
  for (guint i = 0; i < G_N_ELEMENTS (parse_cases); i++) {
    g_autofree char *name = g_strdup_printf ("/sdp/parse/awkward/%s", parse_cases[i].name);
    g_test_add_data_func (name, &parse_cases[i], test_parse_case);
  }
  g_test_add_func ("/sdp/build/format", test_build_format);
  g_test_add_func ("/sdp/build/minimal", test_build_minimal);
  g_test_add_func ("/sdp/build/round-trip", test_round_trip);
  g_test_add_func ("/sdp/build/worst-case", test_build_worst_case);
  for (guint i = 0; i < G_N_ELEMENTS (negotiate_cases); i++) {
    g_autofree char *name = g_strdup_printf ("/sdp/negotiate/%s", negotiate_cases[i].name);
    g_test_add_data_func (name, &negotiate_cases[i], test_negotiate);
  }
  g_test_add_func ("/sdp/negotiate/message", test_negotiate_message);
  g_test_add_func ("/sdp/default-codecs", test_default_codecs);
  g_test_add_func ("/sdp/answer-direction", test_answer_direction);
  g_test_add_func ("/sdp/dtls-role", test_dtls_role);
  g_test_add_func ("/sdp/names", test_names);
  return g_test_run ();
}
