/* Fuzz target: amgw_sdp_parse().  What it accepts must hold its invariants,
 * build back into an SDP that parses again to the same values, and serve as
 * an offer that amgw answers (rejecting the other m-lines) with an SDP that
 * parses again too. */
#include "amgw/sdp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) G_STMT_START { if (!(cond)) { \
  g_printerr ("fuzz-sdp: check failed: %s (line %d)\n", #cond, __LINE__); abort (); } } G_STMT_END

static AmgwSdpMedia *
reparse (const char *text)
{
  g_autoptr (GError) error = NULL;
  AmgwSdpMedia *m;

  CHECK (text != NULL);
  CHECK (strlen (text) <= AMGW_MAX_SDP_BYTES);
  m = amgw_sdp_parse (text, strlen (text), &error);
  if (m == NULL)
    g_printerr ("fuzz-sdp: a built SDP does not parse: %s\n%s\n", error->message, text);
  CHECK (m != NULL);
  return m;
}

static void
check_invariants (const AmgwSdpMedia *m)
{
  CHECK (m->ice_ufrag != NULL && strlen (m->ice_ufrag) >= 4 && strlen (m->ice_ufrag) <= 256);
  CHECK (m->ice_pwd != NULL && strlen (m->ice_pwd) >= 22 && strlen (m->ice_pwd) <= 256);
  CHECK (m->fingerprint != NULL && strlen (m->fingerprint) == 95);
  CHECK (m->codecs->len >= 1 && m->codecs->len <= AMGW_MAX_SDP_CODECS);
  CHECK (m->candidates->len <= AMGW_MAX_SDP_CANDIDATES);
  CHECK (m->n_media >= 1 && m->n_media <= AMGW_MAX_SDP_MEDIA);
  CHECK (m->media_index < m->n_media);
  CHECK (m->port >= 1 && m->port <= 65535);
  CHECK (g_strv_length (m->media_mids) == m->n_media);
  CHECK (strcmp (m->media_kinds[m->media_index], "audio") == 0);
  CHECK (m->mid == NULL || strcmp (m->mid, m->media_mids[m->media_index]) == 0);
  CHECK ((guint) m->setup <= AMGW_DTLS_SETUP_PASSIVE);
  CHECK ((guint) m->direction <= AMGW_MEDIA_INACTIVE);
  for (guint i = 0; i < m->codecs->len; i++)
    CHECK (g_array_index (m->codecs, AmgwCodec, i).pt <= 127);
  for (guint i = 0; i < m->candidates->len; i++)
    CHECK (g_str_has_prefix (g_ptr_array_index (m->candidates, i), "candidate:"));
}

static void
check_same (const AmgwSdpMedia *a, const AmgwSdpMedia *b)
{
  CHECK (g_strcmp0 (a->ice_ufrag, b->ice_ufrag) == 0);
  CHECK (g_strcmp0 (a->ice_pwd, b->ice_pwd) == 0);
  CHECK (g_strcmp0 (a->fingerprint, b->fingerprint) == 0);
  CHECK (a->setup == b->setup && a->direction == b->direction);
  CHECK (a->codecs->len == b->codecs->len);
  for (guint i = 0; i < a->codecs->len; i++) {
    const AmgwCodec *x = &g_array_index (a->codecs, AmgwCodec, i);
    const AmgwCodec *y = &g_array_index (b->codecs, AmgwCodec, i);
    CHECK (x->id == y->id && x->pt == y->pt && x->clock_rate == y->clock_rate);
    CHECK (x->channels == y->channels && g_strcmp0 (x->fmtp, y->fmtp) == 0);
  }
  CHECK (a->candidates->len == b->candidates->len);
  for (guint i = 0; i < a->candidates->len; i++)
    CHECK (strcmp (g_ptr_array_index (a->candidates, i), g_ptr_array_index (b->candidates, i)) == 0);
  CHECK (g_strcmp0 (a->mid, b->mid) == 0);
  /* No c= at all builds as 0.0.0.0. */
  CHECK (g_strcmp0 (a->connection_address != NULL ? a->connection_address : "0.0.0.0",
      b->connection_address) == 0);
  CHECK (a->port == b->port && a->rtcp_mux == b->rtcp_mux && a->ice_lite == b->ice_lite);
  CHECK (a->end_of_candidates == b->end_of_candidates);
  CHECK (g_strcmp0 (a->msid, b->msid) == 0);
  CHECK (a->ptime == b->ptime && a->maxptime == b->maxptime);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const AmgwCodecId prefs[] = {
    AMGW_CODEC_OPUS, AMGW_CODEC_G722, AMGW_CODEC_PCMU, AMGW_CODEC_PCMA
  };
  g_autoptr (AmgwSdpMedia) m = NULL, again = NULL, answer = NULL, answer_back = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) codecs = NULL;
  g_autofree char *text = NULL, *answer_text = NULL;
  AmgwDtlsSetup role;

  m = amgw_sdp_parse ((const char *) data, size, &error);
  CHECK ((m == NULL) == (error != NULL));
  if (m == NULL) {
    CHECK (error->domain == AMGW_SDP_ERROR);
    CHECK (g_str_has_prefix (error->message, "SDP: "));
    CHECK (g_utf8_validate (error->message, -1, NULL));
    return 0;
  }
  check_invariants (m);

  /* Build it back as it is: the same values must come out. */
  text = amgw_sdp_build (m, 1, 1, NULL);
  again = reparse (text);
  check_invariants (again);
  check_same (m, again);
  CHECK (again->n_media == 1);

  /* Answer it as an offer. */
  if (!amgw_sdp_negotiate (m, prefs, G_N_ELEMENTS (prefs), &codecs, &error)) {
    CHECK (g_error_matches (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_NO_COMMON_CODEC));
    CHECK (codecs == NULL);
    return 0;
  }
  CHECK (codecs->len == 1 || codecs->len == 2);
  answer = amgw_sdp_media_copy (m);
  g_array_unref (answer->codecs);
  answer->codecs = g_steal_pointer (&codecs);
  answer->direction = amgw_sdp_answer_direction (m->direction, AMGW_MEDIA_SENDRECV);
  if (amgw_sdp_dtls_role (m->setup, TRUE, &role, NULL))
    answer->setup = role;
  answer_text = amgw_sdp_build (answer, 2, 1, m);
  answer_back = reparse (answer_text);
  check_invariants (answer_back);
  CHECK (answer_back->n_media == m->n_media);
  CHECK (answer_back->media_index == m->media_index);
  CHECK (answer_back->codecs->len == answer->codecs->len);
  CHECK (answer_back->setup != AMGW_DTLS_SETUP_ACTPASS);
  for (guint i = 0; i < m->n_media; i++)
    CHECK (strcmp (answer_back->media_mids[i], m->media_mids[i]) == 0);
  return 0;
}
