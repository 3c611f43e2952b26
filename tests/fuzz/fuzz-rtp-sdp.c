/* Fuzz target: the bridge leg's SDP parsing.  The bytes are a remote offer
 * to amgw_rtp_session_create_answer() of a fresh plain and a fresh SDES
 * session, and an answer to amgw_rtp_session_apply_answer() after each
 * session's own offer.  Whatever comes in, nothing may crash, and an answer
 * amgw writes must be an SDP that the other side of the module accepts. */
#include "amgw/rtp-session.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) G_STMT_START { if (!(cond)) { \
  g_printerr ("fuzz-rtp-sdp: check failed: %s (line %d)\n", #cond, __LINE__); abort (); } } G_STMT_END

static AmgwConfig *config;
static GMainContext *media;

static AmgwRtpSession *
fresh (AmgwRtpSecurity sec)
{
  AmgwRtpSessionParams p = {
    .config = config, .media_context = media, .security = sec, .log_id = "fuzz",
  };
  AmgwRtpSession *s = amgw_rtp_session_new (&p, NULL, NULL, NULL);

  CHECK (s != NULL);
  return s;
}

static void
finish (AmgwRtpSession *s)
{
  amgw_rtp_session_free (s);
  /* Nobody runs this context: run the tear-down here. */
  while (g_main_context_iteration (media, FALSE))
    ;
}

static void
one (const char *text, AmgwRtpSecurity sec)
{
  g_autoptr (GError) error = NULL;
  AmgwRtpSession *s = fresh (sec);
  char *answer = amgw_rtp_session_create_answer (s, text, AMGW_MEDIA_SENDRECV, &error);

  CHECK ((answer == NULL) == (error != NULL));
  if (answer) {
    /* Our answer, fed back as an answer to an offer of the same kind of
     * session, must be understood (keys need not match: a tag may not). */
    AmgwRtpSession *t = fresh (sec);
    g_autoptr (GError) e2 = NULL;
    g_autofree char *offer = amgw_rtp_session_create_offer (t, AMGW_MEDIA_SENDRECV, NULL);

    CHECK (offer != NULL);
    if (!amgw_rtp_session_apply_answer (t, answer, &e2))
      CHECK (e2 != NULL && e2->domain == AMGW_RTP_SESSION_ERROR);
    finish (t);
    g_free (answer);
  }
  finish (s);

  s = fresh (sec);
  {
    g_autofree char *offer = amgw_rtp_session_create_offer (s, AMGW_MEDIA_SENDRECV, NULL);
    g_autoptr (GError) e3 = NULL;
    gboolean ok = amgw_rtp_session_apply_answer (s, text, &e3);
    CHECK (ok == (e3 == NULL));
    if (ok) {
      cJSON *o = cJSON_CreateObject ();
      amgw_rtp_session_describe (s, o);
      cJSON_Delete (o);
    }
  }
  finish (s);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = NULL;

  if (config == NULL) {
    static const char ini[] = "[sip]\npublic-ip = 127.0.0.1\n[media]\nrtp-port-min = 32000\n"
        "rtp-port-max = 32999\n";
    config = amgw_config_load_data (ini, -1, "fuzz.ini", NULL, NULL);
    CHECK (config != NULL);
    media = g_main_context_new ();
  }
  if (size > 2 * 64 * 1024)
    return 0;
  text = g_strndup ((const char *) data, size);   /* stops at an embedded NUL */
  one (text, AMGW_RTP_PLAIN);
  one (text, AMGW_RTP_SDES_SRTP);
  return 0;
}
