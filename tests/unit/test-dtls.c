/* Unit tests for DTLS-SRTP (media/dtls.c): two AmgwDtls wired together in
 * memory on one GMainContext (each one's send() queues an idle that hands the
 * datagram to the other), certificates, fingerprints, loss, time-outs,
 * garbage, and freeing from inside callbacks.  SRTP round trips with the
 * exported keys close the loop. */
#include "amgw/dtls.h"
#include "amgw/srtp.h"

#include <gst/gst.h>
#include <glib/gstdio.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/stat.h>

/* Waits: generous, since valgrind slows the crypto ten-fold or more. */
#define HANDSHAKE_WAIT_MS 30000
#define SHORT_TIMEOUT_MS 1500
#define LOSSY_TIMEOUT_MS 20000

/* A test-only RSA-2048 identity (not a secret), made with
 * openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=amgw-test-rsa */
static const char rsa_cert_pem[] =
  "-----BEGIN CERTIFICATE-----\n"
  "MIIDETCCAfmgAwIBAgIUIP1HfIKKQkoap914m/3AIPXq/YowDQYJKoZIhvcNAQEL\n"
  "BQAwGDEWMBQGA1UEAwwNYW1ndy10ZXN0LXJzYTAeFw0yNjExMjIwMjQzMjVaFw0z\n"
  "NjExMTkwMjQzMjVaMBgxFjAUBgNVBAMMDWFtZ3ctdGVzdC1yc2EwggEiMA0GCSqG\n"
  "SIb3DQEBAQUAA4IBDwAwggEKAoIBAQCqSydylCOFWKOl4+bNN+ZN9ijNwwhQqd12\n"
  "Dh27nmiklLqitUSgSRkj9FsVWJ+SW2vAE2gtIKOWuT+OxWtVHAFUF+W4Z3QhhL83\n"
  "ag/r7EyrP39E/OGbsaBMfLjwRsLWSWa6GLXuhUMzjY7xUUhr+CqfQ6GkWd+oyFJN\n"
  "ae39vxxLCHAW6PcBPqffLD/Agm57mzpfedeqcJm5uivakCmtYEHulCi6FyVYuEse\n"
  "bPv4uwFqVdwhbg8RwWTkmhHPCqn9qUKuUTIle2fqZXRrT0SoQYQ7KGszKFkwqTlN\n"
  "nGvaCbE7TRIsgpidh4GY6hbhCBAo3I/+CBTpiQ9wzdv7wEd+RJplAgMBAAGjUzBR\n"
  "MB0GA1UdDgQWBBQfA/bj6iGP2Yrav6p+w0QgKXwxujAfBgNVHSMEGDAWgBQfA/bj\n"
  "6iGP2Yrav6p+w0QgKXwxujAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUA\n"
  "A4IBAQA2hIaUr84sP1KiZ7Jz/65OyymttZXxyn3c3wyb+CN2ETjuLPF3eohNv42G\n"
  "f6m8ndZKIMAlqCMyktEd3WIWd7O0E7+XIKZLZqkjN3OTYIp49kAxsM+KqYKrE+We\n"
  "+gdOhNxp7/wZgqbPlF/nxHMb0LnF2BppGX+XgP5ZtreQ5cSrN7Hzmuu2VqhHs0BN\n"
  "lwa7mvm82i9VHclzw6QEyB2CZckuHWpiJRATRTM9YfoHT7jBOuXmSAv1o06hGpD4\n"
  "LY+3S6i+5kky1M8X38TPCYGmwyg2EpeQRPA03bQrBrBOSwzy9aJ3wV4dNCS3prGg\n"
  "HxwkG/Tp4TBQv5/+fpw14FHtE5Ni\n"
  "-----END CERTIFICATE-----\n"
  ;
static const char rsa_key_pem[] =
  "-----BEGIN PRIVATE KEY-----\n"
  "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCqSydylCOFWKOl\n"
  "4+bNN+ZN9ijNwwhQqd12Dh27nmiklLqitUSgSRkj9FsVWJ+SW2vAE2gtIKOWuT+O\n"
  "xWtVHAFUF+W4Z3QhhL83ag/r7EyrP39E/OGbsaBMfLjwRsLWSWa6GLXuhUMzjY7x\n"
  "UUhr+CqfQ6GkWd+oyFJNae39vxxLCHAW6PcBPqffLD/Agm57mzpfedeqcJm5uiva\n"
  "kCmtYEHulCi6FyVYuEsebPv4uwFqVdwhbg8RwWTkmhHPCqn9qUKuUTIle2fqZXRr\n"
  "T0SoQYQ7KGszKFkwqTlNnGvaCbE7TRIsgpidh4GY6hbhCBAo3I/+CBTpiQ9wzdv7\n"
  "wEd+RJplAgMBAAECggEAAYnOSGgaMeYFDFQj6Bx0vh88z8QR4wEgrHO6KxpW+Yhj\n"
  "aPofMKOGf9zx1AXz1sdeX9g5/LjA0SwnrNZJlcr7+3gF8A+czKXnfXuxlpP7oCCJ\n"
  "UfVxjiSZ5kyx44IMIVsPgdhx5PKEWPLoKVVNIBgVK+lZPUDv9t5XVi1sqKreM4Bl\n"
  "gxRStEQnslvVoulf4bFzQz0GR7b/VGY0KPAw4IUKImJjWC8wPWXpxHBiH0VWW+e2\n"
  "ApS8WSef8Y4HzMQi+nXoVVH4klFFGKW3HxP6HcUtBHBudlIrF/HT7sSawSGjXdZu\n"
  "9eTFet1OtEqZHVzESUM/pfdKFg50GhOx1fb/aRyHyQKBgQDVbY7+HaGzoV3TQsI5\n"
  "HvoQJGCfb+/PyfcdSXOUqkf72wVF32LpsT0RfYXb3OaTLIaGkKmAZ8uwB1GaqxXO\n"
  "SJP4cYGj2RkYO+UMWWQSLRTdX44ndRKcgoVa/Co0W8k3GQhaNq5aVZBnBCKWvCNb\n"
  "vA5XGasngt2eZodFIRw682U9zQKBgQDMQv1krwAqPfpo2nMS/awH2+8LkJWuKss+\n"
  "AqF5AQKLdjqFbgXS8x12NhCoci15b62hrf6HCna2KUWtIc+/10X8UXdnVn8DF0aj\n"
  "k5E4cuIuczxOfDEj50efRtSemKaCZs0p2usjoikxrvL9TTIy5sEsvNqjHIXTBb2s\n"
  "F54dqIt2+QKBgH7hZ/3YPdZdWzsJ2A8/RCguiCag1C9ygO8vSIAcDzlCBst4NwR4\n"
  "8rYgKmD/3S+na7456BrHGgdnAnNxvD/rU9SCHjD7EnkeuldyGRTZKitE8Gyyo8LZ\n"
  "sU/a03hXDLMttZJ0KYjYj0U+5xU3ecnCbcAIKYEOwpO1njtRqMe/BPQNAoGBAIzI\n"
  "d0GX5HM4+IigV8P1F0brbVz5MFE0qZR517VA3vIkcL1aUaVNbzb0mJKg73rNYE0Z\n"
  "UV7d9WgkFiP4M+ozg8celz+gPDZzKnq/0M2pUP9W6W/m5S+rzo+XECCnccxa8nkw\n"
  "q/SJZf8aZ9vyAvFWXjpph//4PrxtLoeYV6B1dHpxAoGAG2SesQmSA5QHT3S0HIYt\n"
  "YSZdQIjgdFK19vR9jvGroMX1RyrWV4EZsj0vtskIYWqHpyr8I4MbACWI/yX2oyik\n"
  "oP+aAheQsGeJMuNd8KneYRPtZIQub0Lps0KBGqI3dhWYwuhefcNuMljGrZQAgfnF\n"
  "tjFWRO6px1jF3PUmlmbf9jg=\n"
  "-----END PRIVATE KEY-----\n"
  ;
static const char rsa_cert_fingerprint[] = "95:98:55:01:11:29:B0:55:03:5B:F0:B7:6A:B5:39:3F:C9:48:CC:95:AD:B2:6F:B2:B6:85:4E:1E:FC:00:8C:3C";

typedef struct _Fixture Fixture;
typedef struct _Peer Peer;

struct _Peer {
  Fixture *f;
  const char *label;
  Peer *other;
  AmgwDtls *dtls;
  AmgwDtlsCert *cert;       /* (owned) */

  /* the link towards the other peer */
  guint sent;
  guint drop_first;         /* lose the first N datagrams we send */
  guint dropped;
  gboolean black_hole;      /* lose everything */
  guint drop_after_connected;  /* lose the next N once connected */
  guint dropped_after;
  gsize largest;
  guint received;           /* datagrams delivered to us */
  guint received_at_mark;
  guint sends_while_freeing;

  /* what the callbacks saw */
  guint connected_count;
  AmgwSrtpKeys keys;
  guint failed_count;
  GError *error;
  guint closed_count;

  /* what the callbacks do */
  gboolean free_in_connected;
  gboolean free_in_failed;
  gboolean free_in_send;
  gboolean free_in_closed;
};

struct _Fixture {
  GMainContext *ctx;
  Peer client;
  Peer server;
  gboolean inject_garbage;  /* before every real datagram */
  char *tmp;
};

typedef struct {
  Peer *to;
  GBytes *datagram;
} Delivery;

/* ------------------------------------------------------------------------ */
/* garbage that must be ignored */

static const guint8 stun_header[] = {
  0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
static const guint8 rtp_header[] = { 0x80, 0x6f, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xde, 0xad };
static const guint8 first_byte_64[] = { 64, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
static const guint8 first_byte_19[] = { 19, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
static const guint8 truncated_record[] = { 22, 0xfe, 0xfd };
static const guint8 bad_version[] = {
  22, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4 };
/* Application data from an epoch nobody uses. */
static const guint8 unknown_epoch[] = {
  23, 0xfe, 0xfd, 0x12, 0x34, 0, 0, 0, 0, 0, 9, 0, 16,
  0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a };

static void
receive_bytes (AmgwDtls *d, const guint8 *data, gsize len)
{
  if (d != NULL)
    amgw_dtls_receive (d, data, len);
}

static void
inject_garbage (AmgwDtls *d)
{
  g_autofree guint8 *huge = g_malloc (AMGW_DTLS_MAX_DATAGRAM + 1);

  memset (huge, 22, AMGW_DTLS_MAX_DATAGRAM + 1);
  receive_bytes (d, stun_header, sizeof stun_header);
  receive_bytes (d, rtp_header, sizeof rtp_header);
  receive_bytes (d, first_byte_64, sizeof first_byte_64);
  receive_bytes (d, first_byte_19, sizeof first_byte_19);
  receive_bytes (d, truncated_record, sizeof truncated_record);
  receive_bytes (d, bad_version, sizeof bad_version);
  receive_bytes (d, unknown_epoch, sizeof unknown_epoch);
  receive_bytes (d, huge, AMGW_DTLS_MAX_DATAGRAM + 1);
  receive_bytes (d, stun_header, 0);
  receive_bytes (d, NULL, 0);
}

/* After the handshake only: records in the current epoch that fail
 * decryption, and a plaintext fatal alert in the old epoch (an off-path
 * attacker's reset attempt). */
static void
inject_post_handshake_garbage (AmgwDtls *d)
{
  guint8 forged[13 + 48];
  static const guint8 plaintext_alert[] = { 21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 99, 0, 2, 2, 40 };
  guint i;

  inject_garbage (d);
  for (i = 0; i < sizeof forged; i++)
    forged[i] = (guint8) (i * 37 + 11);
  forged[0] = 23;               /* application data */
  forged[1] = 0xfe;
  forged[2] = 0xfd;
  forged[3] = 0;                /* epoch 1 */
  forged[4] = 1;
  forged[11] = 0;
  forged[12] = 48;
  receive_bytes (d, forged, sizeof forged);
  forged[0] = 21;               /* an encrypted-looking alert */
  receive_bytes (d, forged, sizeof forged);
  receive_bytes (d, plaintext_alert, sizeof plaintext_alert);
}

/* ------------------------------------------------------------------------ */
/* the in-memory link */

static void
delivery_free (gpointer data)
{
  Delivery *delivery = data;

  g_bytes_unref (delivery->datagram);
  g_free (delivery);
}

static gboolean
deliver (gpointer data)
{
  Delivery *delivery = data;
  Peer *to = delivery->to;
  gsize len;
  const guint8 *bytes = g_bytes_get_data (delivery->datagram, &len);

  if (to->dtls == NULL)
    return G_SOURCE_REMOVE;
  if (to->f->inject_garbage)
    inject_garbage (to->dtls);
  if (to->dtls == NULL)
    return G_SOURCE_REMOVE;
  to->received++;
  amgw_dtls_receive (to->dtls, bytes, len);
  return G_SOURCE_REMOVE;
}

static void
on_send (const guint8 *data, gsize len, gpointer user_data)
{
  Peer *p = user_data;
  Delivery *delivery;
  GSource *idle;

  g_assert_nonnull (data);
  g_assert_cmpuint (len, >, 0);
  g_assert_cmpuint (len, <=, AMGW_DTLS_MTU);
  g_assert_true (amgw_dtls_looks_like_dtls (data, len));
  if (p->dtls == NULL)
    p->sends_while_freeing++;   /* close_notify from amgw_dtls_free() */
  p->sent++;
  p->largest = MAX (p->largest, len);

  if (p->free_in_send && p->dtls != NULL) {
    g_clear_pointer (&p->dtls, amgw_dtls_free);
    return;
  }
  if (p->black_hole)
    return;
  if (p->dropped < p->drop_first) {
    p->dropped++;
    return;
  }
  if (data[0] == 20 && p->dropped_after < p->drop_after_connected) {
    p->dropped_after++;
    g_test_message ("%s: dropping a %u-byte datagram starting with ChangeCipherSpec", p->label, (guint) len);
    return;
  }

  delivery = g_new0 (Delivery, 1);
  delivery->to = p->other;
  delivery->datagram = g_bytes_new (data, len);
  idle = g_idle_source_new ();
  g_source_set_callback (idle, deliver, delivery, delivery_free);
  g_source_attach (idle, p->f->ctx);
  g_source_unref (idle);
}

static void
on_connected (const AmgwSrtpKeys *keys, gpointer user_data)
{
  Peer *p = user_data;

  g_assert_nonnull (p->dtls);   /* never after free */
  g_assert_true (amgw_dtls_is_connected (p->dtls));
  g_assert_cmpuint (p->failed_count, ==, 0);
  p->connected_count++;
  p->keys = *keys;
  if (p->free_in_connected)
    g_clear_pointer (&p->dtls, amgw_dtls_free);
}

static void
on_failed (const GError *error, gpointer user_data)
{
  Peer *p = user_data;

  g_assert_nonnull (p->dtls);
  g_assert_nonnull (error);
  g_assert_cmpuint (p->failed_count, ==, 0);
  g_assert_cmpuint (p->closed_count, ==, 0);
  g_test_message ("%s failed: %s", p->label, error->message);
  p->failed_count++;
  p->error = g_error_copy (error);
  if (p->free_in_failed)
    g_clear_pointer (&p->dtls, amgw_dtls_free);
}

static void
on_closed (gpointer user_data)
{
  Peer *p = user_data;

  g_assert_nonnull (p->dtls);
  g_assert_cmpuint (p->connected_count, ==, 1);
  p->closed_count++;
  if (p->free_in_closed)
    g_clear_pointer (&p->dtls, amgw_dtls_free);
}

static const AmgwDtlsCallbacks callbacks = {
  .send = on_send,
  .connected = on_connected,
  .failed = on_failed,
  .closed = on_closed,
};

/* ------------------------------------------------------------------------ */
/* fixture */

static void
rm_rf (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *child = g_build_filename (path, name, NULL);
    g_remove (child);
  }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (path);
}

static AmgwDtlsCert *
new_cert (void)
{
  g_autoptr (GError) error = NULL;
  AmgwDtlsCert *cert = amgw_dtls_cert_new_ephemeral (&error);

  g_assert_no_error (error);
  g_assert_nonnull (cert);
  return cert;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->ctx = g_main_context_new ();
  f->tmp = g_dir_make_tmp ("amgw-dtls-XXXXXX", &error);
  g_assert_no_error (error);

  f->client.f = f;
  f->client.label = "client";
  f->client.other = &f->server;
  f->client.cert = new_cert ();
  f->server.f = f;
  f->server.label = "server";
  f->server.other = &f->client;
  f->server.cert = new_cert ();
}

static void
peer_clear (Peer *p)
{
  g_clear_pointer (&p->dtls, amgw_dtls_free);
  g_clear_pointer (&p->cert, amgw_dtls_cert_unref);
  g_clear_error (&p->error);
  memset (&p->keys, 0, sizeof p->keys);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->client.dtls, amgw_dtls_free);
  g_clear_pointer (&f->server.dtls, amgw_dtls_free);
  /* Deliver (to nobody) what is still queued. */
  while (g_main_context_iteration (f->ctx, FALSE))
    ;
  peer_clear (&f->client);
  peer_clear (&f->server);
  g_main_context_unref (f->ctx);
  rm_rf (f->tmp);
  g_free (f->tmp);
}

/* Creates both ends; each expects the other's certificate unless told
 * otherwise (NULL = the right one). */
static void
make_peers_with (Fixture *f, const char *client_expects, const char *server_expects)
{
  if (client_expects == NULL)
    client_expects = amgw_dtls_cert_get_fingerprint (f->server.cert);
  if (server_expects == NULL)
    server_expects = amgw_dtls_cert_get_fingerprint (f->client.cert);
  f->client.dtls = amgw_dtls_new (f->client.cert, AMGW_DTLS_CLIENT, client_expects, f->ctx,
      &callbacks, &f->client);
  f->server.dtls = amgw_dtls_new (f->server.cert, AMGW_DTLS_SERVER, server_expects, f->ctx,
      &callbacks, &f->server);
  g_assert_nonnull (f->client.dtls);
  g_assert_nonnull (f->server.dtls);
  amgw_dtls_set_name (f->client.dtls, "test-client");
  amgw_dtls_set_name (f->server.dtls, "test-server");
}

static void
make_peers (Fixture *f)
{
  make_peers_with (f, NULL, NULL);
}

static void
start_both (Fixture *f)
{
  amgw_dtls_start (f->server.dtls);
  amgw_dtls_start (f->client.dtls);
}

static gboolean
on_wait_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the context until @cond holds or @ms pass (a GLib timeout, no sleep). */
static gboolean
wait_for (Fixture *f, gboolean (*cond) (Fixture *), guint ms)
{
  gboolean timed_out = FALSE;
  GSource *timeout = g_timeout_source_new (ms);

  g_source_set_callback (timeout, on_wait_timeout, &timed_out, NULL);
  g_source_attach (timeout, f->ctx);
  while (!cond (f) && !timed_out)
    g_main_context_iteration (f->ctx, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  return cond (f);
}

static gboolean
never (Fixture *f)
{
  return FALSE;
}

/* Runs the context for @ms. */
static void
spin (Fixture *f, guint ms)
{
  wait_for (f, never, ms);
}

static gboolean
both_connected (Fixture *f)
{
  return f->client.connected_count == 1 && f->server.connected_count == 1;
}

static gboolean
client_done (Fixture *f)
{
  return f->client.connected_count + f->client.failed_count > 0;
}

static gboolean
client_failed (Fixture *f)
{
  return f->client.failed_count > 0;
}

static gboolean
server_failed (Fixture *f)
{
  return f->server.failed_count > 0;
}

static gboolean
both_failed (Fixture *f)
{
  return f->client.failed_count > 0 && f->server.failed_count > 0;
}

static gboolean
client_closed (Fixture *f)
{
  return f->client.closed_count > 0;
}

static gboolean
server_closed (Fixture *f)
{
  return f->server.closed_count > 0;
}

/* The client was handed a datagram after the server was freed. */
static gboolean
client_received_close (Fixture *f)
{
  return f->server.dtls == NULL && f->client.received > f->client.received_at_mark;
}

static gboolean
server_received (Fixture *f)
{
  return f->server.received > 0;
}

/* ------------------------------------------------------------------------ */
/* SRTP with the exported keys */

static gsize
build_rtp (guint8 *buf, guint16 seq, guint32 ssrc)
{
  guint i;

  buf[0] = 0x80;
  buf[1] = 111;
  buf[2] = seq >> 8;
  buf[3] = seq & 0xff;
  memset (buf + 4, 0, 4);
  buf[8] = ssrc >> 24;
  buf[9] = (ssrc >> 16) & 0xff;
  buf[10] = (ssrc >> 8) & 0xff;
  buf[11] = ssrc & 0xff;
  for (i = 0; i < 100; i++)
    buf[12 + i] = (guint8) i;
  return 112;
}

static gsize
build_rtcp_rr (guint8 *buf, guint32 ssrc)
{
  buf[0] = 0x80;
  buf[1] = 201;
  buf[2] = 0;
  buf[3] = 1;
  buf[4] = ssrc >> 24;
  buf[5] = (ssrc >> 16) & 0xff;
  buf[6] = (ssrc >> 8) & 0xff;
  buf[7] = ssrc & 0xff;
  return 8;
}

/* One RTP and one RTCP packet from @from to @to; tampered copies fail
 * authentication and replays fail the replay check. */
static void
srtp_one_way (AmgwSrtp *from, AmgwSrtp *to, guint32 ssrc)
{
  guint8 plain[1500], buf[1500], saved[1500];
  gsize plain_len, len, saved_len;
  g_autoptr (GError) error = NULL;

  plain_len = build_rtp (plain, 1000, ssrc);
  len = plain_len;
  memcpy (buf, plain, len);
  g_assert_true (amgw_srtp_protect (from, buf, &len, sizeof buf, &error));
  g_assert_no_error (error);
  memcpy (saved, buf, len);
  saved_len = len;

  buf[30] ^= 0x20;
  g_assert_false (amgw_srtp_unprotect (to, buf, &len, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_AUTH);
  g_clear_error (&error);

  memcpy (buf, saved, saved_len);
  len = saved_len;
  g_assert_true (amgw_srtp_unprotect (to, buf, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (buf, len, plain, plain_len);

  memcpy (buf, saved, saved_len);
  len = saved_len;
  g_assert_false (amgw_srtp_unprotect (to, buf, &len, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_REPLAY);
  g_clear_error (&error);

  plain_len = build_rtcp_rr (plain, ssrc);
  len = plain_len;
  memcpy (buf, plain, len);
  g_assert_true (amgw_srtp_protect_rtcp (from, buf, &len, sizeof buf, &error));
  g_assert_no_error (error);
  memcpy (saved, buf, len);
  saved_len = len;

  buf[5] ^= 0x01;
  g_assert_false (amgw_srtp_unprotect_rtcp (to, buf, &len, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_AUTH);
  g_clear_error (&error);

  memcpy (buf, saved, saved_len);
  len = saved_len;
  g_assert_true (amgw_srtp_unprotect_rtcp (to, buf, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (buf, len, plain, plain_len);

  memcpy (buf, saved, saved_len);
  len = saved_len;
  g_assert_false (amgw_srtp_unprotect_rtcp (to, buf, &len, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_REPLAY);
}

/* Both got matching keys for @expected; SRTP works both ways with them. */
static void
check_keys_and_srtp (Fixture *f, AmgwSrtpProfile expected)
{
  const AmgwSrtpKeys *c = &f->client.keys, *s = &f->server.keys;
  g_autoptr (AmgwSrtp) client_srtp = NULL;
  g_autoptr (AmgwSrtp) server_srtp = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (c->profile, ==, expected);
  g_assert_cmpint (s->profile, ==, expected);
  g_assert_cmpuint (c->key_salt_len, ==, amgw_srtp_key_len (expected));
  g_assert_cmpuint (s->key_salt_len, ==, amgw_srtp_key_len (expected));
  g_assert_cmpmem (c->tx_key_salt, c->key_salt_len, s->rx_key_salt, s->key_salt_len);
  g_assert_cmpmem (c->rx_key_salt, c->key_salt_len, s->tx_key_salt, s->key_salt_len);
  g_assert_true (memcmp (c->tx_key_salt, c->rx_key_salt, c->key_salt_len) != 0);

  client_srtp = amgw_srtp_new (c->profile, c->tx_key_salt, c->rx_key_salt, &error);
  g_assert_no_error (error);
  server_srtp = amgw_srtp_new (s->profile, s->tx_key_salt, s->rx_key_salt, &error);
  g_assert_no_error (error);
  srtp_one_way (client_srtp, server_srtp, 0x1234);
  srtp_one_way (server_srtp, client_srtp, 0xabcd);
}

static void
handshake (Fixture *f)
{
  start_both (f);
  g_assert_true (wait_for (f, both_connected, HANDSHAKE_WAIT_MS));
  g_assert_true (amgw_dtls_is_connected (f->client.dtls));
  g_assert_true (amgw_dtls_is_connected (f->server.dtls));
  g_assert_cmpuint (f->client.failed_count + f->server.failed_count, ==, 0);
  g_assert_cmpuint (f->client.largest, <=, AMGW_DTLS_MTU);
  g_assert_cmpuint (f->server.largest, <=, AMGW_DTLS_MTU);
}

/* ------------------------------------------------------------------------ */
/* handshakes */

static AmgwSrtpProfile
preferred_profile (void)
{
  return amgw_srtp_profile_is_supported (AMGW_SRTP_AEAD_AES_128_GCM)
      ? AMGW_SRTP_AEAD_AES_128_GCM : AMGW_SRTP_AES128_CM_SHA1_80;
}

static void
test_handshake_default (Fixture *f, gconstpointer data)
{
  make_peers (f);
  g_assert_cmpint (amgw_dtls_get_role (f->client.dtls), ==, AMGW_DTLS_CLIENT);
  g_assert_false (amgw_dtls_is_connected (f->client.dtls));
  handshake (f);
  check_keys_and_srtp (f, preferred_profile ());
}

/* The client offers SHA1_80 only: that is what the server picks. */
static void
test_handshake_aes_cm (Fixture *f, gconstpointer data)
{
  make_peers (f);
  g_assert_true (amgw_dtls_set_srtp_profiles (f->client.dtls, "SRTP_AES128_CM_SHA1_80"));
  handshake (f);
  check_keys_and_srtp (f, AMGW_SRTP_AES128_CM_SHA1_80);
}

static void
test_handshake_aes_gcm (Fixture *f, gconstpointer data)
{
  if (!amgw_srtp_profile_is_supported (AMGW_SRTP_AEAD_AES_128_GCM)) {
    g_test_skip ("libsrtp without GCM");
    return;
  }
  make_peers (f);
  g_assert_true (amgw_dtls_set_srtp_profiles (f->client.dtls, "SRTP_AEAD_AES_128_GCM"));
  g_assert_true (amgw_dtls_set_srtp_profiles (f->server.dtls, "SRTP_AEAD_AES_128_GCM"));
  handshake (f);
  check_keys_and_srtp (f, AMGW_SRTP_AEAD_AES_128_GCM);
}

/* The client prefers SHA1_80 but offers both: our server's order decides. */
static void
test_handshake_server_preference (Fixture *f, gconstpointer data)
{
  make_peers (f);
  g_assert_true (amgw_dtls_set_srtp_profiles (f->client.dtls,
          "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM") ||
      !amgw_srtp_profile_is_supported (AMGW_SRTP_AEAD_AES_128_GCM));
  handshake (f);
  check_keys_and_srtp (f, preferred_profile ());
}

static void
test_handshake_roles_swapped (Fixture *f, gconstpointer data)
{
  make_peers (f);
  /* Peer objects keep their names; the DTLS roles flip. */
  amgw_dtls_set_role (f->client.dtls, AMGW_DTLS_SERVER);
  amgw_dtls_set_role (f->server.dtls, AMGW_DTLS_CLIENT);
  start_both (f);
  g_assert_true (wait_for (f, both_connected, HANDSHAKE_WAIT_MS));
  /* f->server now is the DTLS client: its tx is the client_write key. */
  g_assert_cmpmem (f->server.keys.tx_key_salt, f->server.keys.key_salt_len,
      f->client.keys.rx_key_salt, f->client.keys.key_salt_len);
}

static void
test_handshake_no_common_profile (Fixture *f, gconstpointer data)
{
  if (!amgw_srtp_profile_is_supported (AMGW_SRTP_AEAD_AES_128_GCM)) {
    g_test_skip ("libsrtp without GCM");
    return;
  }
  make_peers (f);
  g_assert_true (amgw_dtls_set_srtp_profiles (f->client.dtls, "SRTP_AEAD_AES_128_GCM"));
  g_assert_true (amgw_dtls_set_srtp_profiles (f->server.dtls, "SRTP_AES128_CM_SHA1_80"));
  start_both (f);
  g_assert_true (wait_for (f, both_failed, HANDSHAKE_WAIT_MS));
  g_assert_error (f->client.error, AMGW_DTLS_ERROR, AMGW_DTLS_ERROR_NO_SRTP);
  g_assert_error (f->server.error, AMGW_DTLS_ERROR, AMGW_DTLS_ERROR_NO_SRTP);
  g_assert_cmpuint (f->client.connected_count + f->server.connected_count, ==, 0);
}

static void
test_set_profiles_invalid (Fixture *f, gconstpointer data)
{
  make_peers (f);
  g_assert_false (amgw_dtls_set_srtp_profiles (f->client.dtls, "SRTP_NULL_SHA1_80"));
  g_assert_false (amgw_dtls_set_srtp_profiles (f->client.dtls, ""));
  g_assert_false (amgw_dtls_set_srtp_profiles (f->client.dtls, "SRTP_AES128_CM_SHA1_80:"));
  /* Unchanged: the default still works. */
  handshake (f);
  check_keys_and_srtp (f, preferred_profile ());
}

/* The client closes: the server hears close_notify. */
static void
test_close (Fixture *f, gconstpointer data)
{
  make_peers (f);
  handshake (f);
  g_clear_pointer (&f->client.dtls, amgw_dtls_free);
  g_assert_cmpuint (f->client.sends_while_freeing, ==, 1);
  g_assert_true (wait_for (f, server_closed, HANDSHAKE_WAIT_MS));
  g_assert_false (amgw_dtls_is_connected (f->server.dtls));
  g_assert_cmpuint (f->server.failed_count, ==, 0);
  /* Late datagrams are ignored. */
  inject_post_handshake_garbage (f->server.dtls);
  spin (f, 50);
  g_assert_cmpuint (f->server.failed_count, ==, 0);
  g_assert_cmpuint (f->server.closed_count, ==, 1);
}

static void
test_free_in_closed (Fixture *f, gconstpointer data)
{
  make_peers (f);
  f->server.free_in_closed = TRUE;
  handshake (f);
  g_clear_pointer (&f->client.dtls, amgw_dtls_free);
  g_assert_true (wait_for (f, server_closed, HANDSHAKE_WAIT_MS));
  g_assert_null (f->server.dtls);
  g_assert_cmpuint (f->server.sends_while_freeing, ==, 0);   /* closed: nothing to say */
}

/* ------------------------------------------------------------------------ */
/* releasing the state once the peer uses the keys */

static gsize
heap_in_use (void)
{
  struct mallinfo2 mi = mallinfo2 ();

  return mi.uordblks;
}

/* The peer's packets authenticate (check_keys_and_srtp): the confirmed side
 * frees OpenSSL's state, ignores records after that, and still says
 * close_notify when freed, which the other side's OpenSSL authenticates. */
static void
confirm_then_close (Fixture *f, Peer *me)
{
  Peer *peer = me->other;
  gsize before, after;

  make_peers (f);
  handshake (f);
  check_keys_and_srtp (f, preferred_profile ());
  before = heap_in_use ();
  amgw_dtls_confirm_peer (me->dtls);
  after = heap_in_use ();
  g_test_message ("%s: heap in use %" G_GSIZE_FORMAT " -> %" G_GSIZE_FORMAT " bytes", me->label,
      before, after);
  g_assert_true (amgw_dtls_is_connected (me->dtls));
  amgw_dtls_confirm_peer (me->dtls);   /* again: nothing */
  inject_post_handshake_garbage (me->dtls);
  spin (f, 50);
  g_assert_cmpuint (me->failed_count + peer->failed_count, ==, 0);
  g_assert_true (amgw_dtls_is_connected (me->dtls));

  g_clear_pointer (&me->dtls, amgw_dtls_free);
  g_assert_cmpuint (me->sends_while_freeing, ==, 1);
  g_assert_true (wait_for (f, me == &f->client ? server_closed : client_closed,
          HANDSHAKE_WAIT_MS));
  g_assert_cmpuint (peer->failed_count, ==, 0);
  g_assert_cmpuint (peer->closed_count, ==, 1);
}

static void
test_confirm_client (Fixture *f, gconstpointer data)
{
  confirm_then_close (f, &f->client);
}

static void
test_confirm_server (Fixture *f, gconstpointer data)
{
  confirm_then_close (f, &f->server);
}

/* After confirming, the peer's close_notify can no longer be authenticated:
 * it is dropped (no closed(), no failure), and our own close_notify still
 * goes out when freed.  Without the release, closed() would be called. */
static void
test_confirm_peer_closes (Fixture *f, gconstpointer data)
{
  make_peers (f);
  handshake (f);
  amgw_dtls_confirm_peer (f->client.dtls);
  f->client.received_at_mark = f->client.received;
  g_clear_pointer (&f->server.dtls, amgw_dtls_free);
  g_assert_cmpuint (f->server.sends_while_freeing, ==, 1);
  g_assert_true (wait_for (f, client_received_close, HANDSHAKE_WAIT_MS));
  spin (f, 50);
  g_assert_cmpuint (f->client.closed_count, ==, 0);
  g_assert_cmpuint (f->client.failed_count, ==, 0);
  g_assert_true (amgw_dtls_is_connected (f->client.dtls));
  g_clear_pointer (&f->client.dtls, amgw_dtls_free);
  g_assert_cmpuint (f->client.sends_while_freeing, ==, 1);
}

/* Before connected() confirming does nothing: the state stays, and the
 * peer's close_notify is heard. */
static void
test_confirm_early (Fixture *f, gconstpointer data)
{
  make_peers (f);
  amgw_dtls_confirm_peer (f->client.dtls);
  handshake (f);
  g_clear_pointer (&f->server.dtls, amgw_dtls_free);
  g_assert_true (wait_for (f, client_closed, HANDSHAKE_WAIT_MS));
  g_assert_cmpuint (f->client.failed_count, ==, 0);
}

/* ------------------------------------------------------------------------ */
/* fingerprints */

static void
test_fingerprint_client_mismatch (Fixture *f, gconstpointer data)
{
  g_autoptr (AmgwDtlsCert) stranger = new_cert ();

  make_peers_with (f, amgw_dtls_cert_get_fingerprint (stranger), NULL);
  start_both (f);
  g_assert_true (wait_for (f, client_failed, HANDSHAKE_WAIT_MS));
  g_assert_error (f->client.error, AMGW_DTLS_ERROR, AMGW_DTLS_ERROR_FINGERPRINT);
  g_assert_cmpstr (f->client.error->message, ==,
      "DTLS: the peer's certificate does not match the SDP fingerprint");
  g_assert_cmpuint (f->client.connected_count, ==, 0);
  g_assert_false (amgw_dtls_is_connected (f->client.dtls));
  /* The server had no reason to refuse, and then learns of the end. */
  g_assert_true (wait_for (f, server_closed, HANDSHAKE_WAIT_MS));
  g_assert_cmpuint (f->server.failed_count, ==, 0);
}

static void
test_fingerprint_server_mismatch (Fixture *f, gconstpointer data)
{
  g_autoptr (AmgwDtlsCert) stranger = new_cert ();

  make_peers_with (f, NULL, amgw_dtls_cert_get_fingerprint (stranger));
  start_both (f);
  g_assert_true (wait_for (f, server_failed, HANDSHAKE_WAIT_MS));
  g_assert_error (f->server.error, AMGW_DTLS_ERROR, AMGW_DTLS_ERROR_FINGERPRINT);
  g_assert_cmpstr (f->server.error->message, ==,
      "DTLS: the peer's certificate does not match the SDP fingerprint");
  g_assert_cmpuint (f->server.connected_count, ==, 0);
  g_assert_true (wait_for (f, client_closed, HANDSHAKE_WAIT_MS));
  g_assert_cmpuint (f->client.failed_count, ==, 0);
}

static void
test_fingerprint_malformed (Fixture *f, gconstpointer data)
{
  g_autofree char *truncated = g_strndup (amgw_dtls_cert_get_fingerprint (f->server.cert), 94);

  make_peers_with (f, truncated, NULL);
  start_both (f);
  g_assert_true (wait_for (f, client_failed, HANDSHAKE_WAIT_MS));
  g_assert_error (f->client.error, AMGW_DTLS_ERROR, AMGW_DTLS_ERROR_FINGERPRINT);
}

/* The SDP's hex may be lower case and carry the hash name. */
static void
test_fingerprint_case_and_prefix (Fixture *f, gconstpointer data)
{
  g_autofree char *lower = g_ascii_strdown (amgw_dtls_cert_get_fingerprint (f->server.cert), -1);
  g_autofree char *prefixed = g_strdup_printf ("sha-256 %s\r\n",
      amgw_dtls_cert_get_fingerprint (f->client.cert));

  make_peers_with (f, lower, prefixed);
  handshake (f);
}

/* The SDP answer comes after the handshake: connected() waits for it. */
static void
test_fingerprint_late (Fixture *f, gconstpointer data)
{
  f->client.dtls = amgw_dtls_new (f->client.cert, AMGW_DTLS_CLIENT,
      amgw_dtls_cert_get_fingerprint (f->server.cert), f->ctx, &callbacks, &f->client);
  f->server.dtls = amgw_dtls_new (f->server.cert, AMGW_DTLS_SERVER, NULL, f->ctx,
      &callbacks, &f->server);
  start_both (f);
  /* The server finishes first; the client finishes when it has the server's
   * Finished, so by then the server only waits for the fingerprint. */
  g_assert_true (wait_for (f, client_done, HANDSHAKE_WAIT_MS));
  g_assert_cmpuint (f->client.connected_count, ==, 1);
  g_assert_cmpuint (f->server.connected_count, ==, 0);
  g_assert_false (amgw_dtls_is_connected (f->server.dtls));

  amgw_dtls_set_remote_fingerprint (f->server.dtls,
      amgw_dtls_cert_get_fingerprint (f->client.cert));
  g_assert_cmpuint (f->server.connected_count, ==, 1);   /* from inside the call */
  check_keys_and_srtp (f, preferred_profile ());
}

/* ------------------------------------------------------------------------ */
/* loss, time-outs, garbage */

static void
test_lossy_link (Fixture *f, gconstpointer data)
{
  make_peers (f);
  f->client.drop_first = 2;
  f->server.drop_first = 2;
  amgw_dtls_set_handshake_timeout (f->client.dtls, LOSSY_TIMEOUT_MS);
  amgw_dtls_set_handshake_timeout (f->server.dtls, LOSSY_TIMEOUT_MS);
  start_both (f);
  g_assert_true (wait_for (f, both_connected, LOSSY_TIMEOUT_MS + 5000));
  g_assert_cmpuint (f->client.dropped, ==, 2);
  g_assert_cmpuint (f->server.dropped, ==, 2);
  g_assert_cmpuint (f->client.failed_count + f->server.failed_count, ==, 0);
  check_keys_and_srtp (f, preferred_profile ());
}

static void
check_timed_out (Peer *p, gint64 started_us)
{
  gint64 elapsed_ms = (g_get_monotonic_time () - started_us) / 1000;

  g_assert_error (p->error, AMGW_DTLS_ERROR, AMGW_DTLS_ERROR_TIMEOUT);
  g_assert_cmpstr (p->error->message, ==, "DTLS handshake timed out");
  g_assert_cmpint (elapsed_ms, >=, SHORT_TIMEOUT_MS - 50);
  g_assert_cmpuint (p->connected_count, ==, 0);
}

/* The client's peer never answers. */
static void
test_timeout_silent_server (Fixture *f, gconstpointer data)
{
  gint64 started;

  make_peers (f);
  f->client.black_hole = TRUE;
  amgw_dtls_set_handshake_timeout (f->client.dtls, SHORT_TIMEOUT_MS);
  started = g_get_monotonic_time ();
  amgw_dtls_start (f->client.dtls);
  g_assert_true (wait_for (f, client_failed, SHORT_TIMEOUT_MS + 10000));
  check_timed_out (&f->client, started);
  g_assert_cmpuint (f->client.sent, >=, 2);   /* retransmitted meanwhile */
  /* Nothing more happens afterwards. */
  spin (f, 600);
  g_assert_cmpuint (f->client.failed_count, ==, 1);
}

/* A server that never sees a ClientHello. */
static void
test_timeout_lonely_server (Fixture *f, gconstpointer data)
{
  gint64 started;

  make_peers (f);
  amgw_dtls_set_handshake_timeout (f->server.dtls, SHORT_TIMEOUT_MS);
  started = g_get_monotonic_time ();
  amgw_dtls_start (f->server.dtls);
  g_assert_true (wait_for (f, server_failed, SHORT_TIMEOUT_MS + 10000));
  check_timed_out (&f->server, started);
  g_assert_cmpuint (f->server.sent, ==, 0);
}

static void
test_garbage_ignored (Fixture *f, gconstpointer data)
{
  make_peers (f);
  /* Before start: non-DTLS is dropped, DTLS-looking bytes are kept for
   * start() and must then be ignored by OpenSSL. */
  inject_garbage (f->server.dtls);
  f->inject_garbage = TRUE;
  handshake (f);

  f->inject_garbage = FALSE;
  inject_post_handshake_garbage (f->client.dtls);
  inject_post_handshake_garbage (f->server.dtls);
  spin (f, 100);
  g_assert_true (amgw_dtls_is_connected (f->client.dtls));
  g_assert_true (amgw_dtls_is_connected (f->server.dtls));
  g_assert_cmpuint (f->client.failed_count + f->server.failed_count, ==, 0);
  g_assert_cmpuint (f->client.closed_count + f->server.closed_count, ==, 0);
  check_keys_and_srtp (f, preferred_profile ());
}

/* A ClientHello that arrives before the server's start() is kept. */
static void
test_early_client_hello (Fixture *f, gconstpointer data)
{
  make_peers (f);
  amgw_dtls_start (f->client.dtls);
  g_assert_true (wait_for (f, server_received, HANDSHAKE_WAIT_MS));
  g_assert_cmpuint (f->client.sent, ==, 1);
  amgw_dtls_start (f->server.dtls);
  g_assert_true (wait_for (f, both_connected, HANDSHAKE_WAIT_MS));
}

/* ------------------------------------------------------------------------ */
/* freeing from inside callbacks */

static void
test_free_in_connected_client (Fixture *f, gconstpointer data)
{
  make_peers (f);
  f->client.free_in_connected = TRUE;
  start_both (f);
  g_assert_true (wait_for (f, both_connected, HANDSHAKE_WAIT_MS));
  g_assert_null (f->client.dtls);
  g_assert_cmpuint (f->client.sends_while_freeing, ==, 1);   /* close_notify */
  g_assert_true (wait_for (f, server_closed, HANDSHAKE_WAIT_MS));
}

static void
test_free_in_connected_server (Fixture *f, gconstpointer data)
{
  make_peers (f);
  f->server.free_in_connected = TRUE;
  start_both (f);
  g_assert_true (wait_for (f, both_connected, HANDSHAKE_WAIT_MS));
  g_assert_null (f->server.dtls);
  g_assert_true (wait_for (f, client_closed, HANDSHAKE_WAIT_MS));
}

/* failed() from a timer */
static void
test_free_in_failed_timeout (Fixture *f, gconstpointer data)
{
  make_peers (f);
  f->client.black_hole = TRUE;
  f->client.free_in_failed = TRUE;
  amgw_dtls_set_handshake_timeout (f->client.dtls, SHORT_TIMEOUT_MS);
  amgw_dtls_start (f->client.dtls);
  g_assert_true (wait_for (f, client_failed, SHORT_TIMEOUT_MS + 10000));
  g_assert_null (f->client.dtls);
  g_assert_cmpuint (f->client.sends_while_freeing, ==, 0);
  spin (f, 600);
}

/* failed() from receive */
static void
test_free_in_failed_mismatch (Fixture *f, gconstpointer data)
{
  g_autoptr (AmgwDtlsCert) stranger = new_cert ();

  make_peers_with (f, NULL, amgw_dtls_cert_get_fingerprint (stranger));
  f->server.free_in_failed = TRUE;
  start_both (f);
  g_assert_true (wait_for (f, server_failed, HANDSHAKE_WAIT_MS));
  g_assert_null (f->server.dtls);
  spin (f, 200);
}

/* send() frees the object in the middle of a handshake. */
static void
test_free_in_send (Fixture *f, gconstpointer data)
{
  make_peers (f);
  f->server.free_in_send = TRUE;
  start_both (f);
  spin (f, 1200);   /* the client retransmits to nobody */
  g_assert_null (f->server.dtls);
  g_assert_cmpuint (f->server.sent, ==, 1);
  g_assert_cmpuint (f->server.connected_count + f->server.failed_count, ==, 0);
  amgw_dtls_set_handshake_timeout (f->client.dtls, 1);
  g_assert_true (wait_for (f, client_failed, 5000));
}

static void
test_free_unstarted (Fixture *f, gconstpointer data)
{
  make_peers (f);
  inject_garbage (f->server.dtls);   /* kept as early datagrams */
  g_clear_pointer (&f->server.dtls, amgw_dtls_free);
  g_clear_pointer (&f->client.dtls, amgw_dtls_free);
  g_assert_cmpuint (f->client.sent + f->server.sent, ==, 0);
}

/* ------------------------------------------------------------------------ */
/* certificates */

static char *
format_sha256 (const guint8 *der, gsize len)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 md[32];
  gsize md_len = sizeof md;
  GString *out = g_string_new (NULL);
  guint i;

  g_checksum_update (sum, der, (gssize) len);
  g_checksum_get_digest (sum, md, &md_len);
  for (i = 0; i < md_len; i++)
    g_string_append_printf (out, "%s%02X", i ? ":" : "", md[i]);
  return g_string_free (out, FALSE);
}

static X509 *
read_x509 (const char *path)
{
  BIO *bio = BIO_new_file (path, "r");
  X509 *x509;

  g_assert_nonnull (bio);
  x509 = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
  BIO_free (bio);
  g_assert_nonnull (x509);
  return x509;
}

static gboolean
is_fingerprint_format (const char *fp)
{
  guint i;

  if (strlen (fp) != AMGW_DTLS_FINGERPRINT_LEN)
    return FALSE;
  for (i = 0; i < AMGW_DTLS_FINGERPRINT_LEN; i++) {
    if (i % 3 == 2 ? fp[i] != ':' : !(g_ascii_isdigit (fp[i]) || (fp[i] >= 'A' && fp[i] <= 'F')))
      return FALSE;
  }
  return TRUE;
}

static void
test_cert_ephemeral (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *cert_path = g_build_filename (f->tmp, "cert.pem", NULL);
  g_autofree char *key_path = g_build_filename (f->tmp, "key.pem", NULL);
  g_autofree char *expected = NULL;
  const char *fp = amgw_dtls_cert_get_fingerprint (f->client.cert);
  unsigned char *der = NULL;
  int der_len;
  X509 *x509;
  EVP_PKEY *pub;
  char cn[64] = "", group[64] = "";
  const ASN1_INTEGER *serial;
  int days = 0, secs = 0;

  g_assert_cmpuint (strlen (fp), ==, 95);
  g_assert_true (is_fingerprint_format (fp));
  g_assert_cmpstr (fp, !=, amgw_dtls_cert_get_fingerprint (f->server.cert));

  g_assert_true (amgw_dtls_cert_save_pem (f->client.cert, cert_path, key_path, &error));
  g_assert_no_error (error);
  x509 = read_x509 (cert_path);

  der_len = i2d_X509 (x509, &der);
  g_assert_cmpint (der_len, >, 0);
  expected = format_sha256 (der, (gsize) der_len);
  OPENSSL_free (der);
  g_assert_cmpstr (fp, ==, expected);

  X509_NAME_get_text_by_NID (X509_get_subject_name (x509), NID_commonName, cn, sizeof cn);
  g_assert_cmpstr (cn, ==, "amgw");
  g_assert_cmpint (X509_NAME_cmp (X509_get_subject_name (x509), X509_get_issuer_name (x509)),
      ==, 0);
  g_assert_cmpint (X509_cmp_current_time (X509_get0_notBefore (x509)), <, 0);
  g_assert_cmpint (X509_cmp_current_time (X509_get0_notAfter (x509)), >, 0);
  g_assert_true (ASN1_TIME_diff (&days, &secs, X509_get0_notBefore (x509),
          X509_get0_notAfter (x509)));
  g_assert_cmpint (days, ==, 31);
  serial = X509_get0_serialNumber (x509);
  g_assert_cmpint (ASN1_STRING_length (serial), ==, 8);
  g_assert_cmpint (ASN1_STRING_type (serial), ==, V_ASN1_INTEGER);   /* positive */

  pub = X509_get0_pubkey (x509);
  g_assert_true (EVP_PKEY_is_a (pub, "EC"));
  g_assert_cmpint (EVP_PKEY_get_group_name (pub, group, sizeof group, NULL), ==, 1);
  g_assert_cmpstr (group, ==, "prime256v1");
  X509_free (x509);

  /* Refcounting. */
  g_assert_true (amgw_dtls_cert_ref (f->client.cert) == f->client.cert);
  amgw_dtls_cert_unref (f->client.cert);
}

static void
test_cert_save_load (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *cert_path = g_build_filename (f->tmp, "cert.pem", NULL);
  g_autofree char *key_path = g_build_filename (f->tmp, "key.pem", NULL);
  AmgwDtlsCert *loaded;
  GStatBuf st;

  g_assert_true (amgw_dtls_cert_save_pem (f->client.cert, cert_path, key_path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (key_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (cert_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0644);

  loaded = amgw_dtls_cert_load (cert_path, key_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (amgw_dtls_cert_get_fingerprint (loaded), ==,
      amgw_dtls_cert_get_fingerprint (f->client.cert));

  /* The loaded one does the handshake. */
  amgw_dtls_cert_unref (f->client.cert);
  f->client.cert = loaded;
  make_peers (f);
  handshake (f);
  check_keys_and_srtp (f, preferred_profile ());
}

static char *
write_file (Fixture *f, const char *name, const char *text)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (f->tmp, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
  return path;
}

/* Writes @pkey as PEM (encrypted with "secret" if @encrypt). */
static char *
write_key (Fixture *f, const char *name, EVP_PKEY *pkey, gboolean encrypt)
{
  char *path = g_build_filename (f->tmp, name, NULL);
  BIO *bio = BIO_new_file (path, "w");

  g_assert_nonnull (bio);
  g_assert_cmpint (PEM_write_bio_PrivateKey (bio, pkey,
          encrypt ? EVP_aes_128_cbc () : NULL,
          encrypt ? (const unsigned char *) "secret" : NULL, encrypt ? 6 : 0, NULL, NULL), ==, 1);
  BIO_free (bio);
  return path;
}

/* A certificate and an RSA-2048 key from files: loads, and handshakes with an
 * ECDSA peer. */
static void
test_cert_load_rsa (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *cert_path = write_file (f, "rsa.crt", rsa_cert_pem);
  g_autofree char *key_path = write_file (f, "rsa.key", rsa_key_pem);
  AmgwDtlsCert *rsa = amgw_dtls_cert_load (cert_path, key_path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (rsa);
  g_assert_cmpstr (amgw_dtls_cert_get_fingerprint (rsa), ==, rsa_cert_fingerprint);

  amgw_dtls_cert_unref (f->client.cert);
  f->client.cert = rsa;
  make_peers (f);
  handshake (f);
  check_keys_and_srtp (f, preferred_profile ());
}

static void
expect_load_error (const char *cert_path, const char *key_path, const char *needle)
{
  g_autoptr (GError) error = NULL;
  AmgwDtlsCert *cert = amgw_dtls_cert_load (cert_path, key_path, &error);

  g_assert_null (cert);
  g_assert_error (error, AMGW_DTLS_ERROR, AMGW_DTLS_ERROR_CERTIFICATE);
  g_test_message ("%s", error->message);
  if (needle != NULL)
    g_assert_nonnull (strstr (error->message, needle));
}

static void
test_cert_load_errors (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *cert_path = g_build_filename (f->tmp, "cert.pem", NULL);
  g_autofree char *key_path = g_build_filename (f->tmp, "key.pem", NULL);
  g_autofree char *other_cert = g_build_filename (f->tmp, "other-cert.pem", NULL);
  g_autofree char *other_key = g_build_filename (f->tmp, "other-key.pem", NULL);
  g_autofree char *missing = g_build_filename (f->tmp, "missing.pem", NULL);
  g_autofree char *junk = write_file (f, "junk.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n");
  g_autofree char *rsa_cert = write_file (f, "rsa.crt", rsa_cert_pem);
  g_autofree char *small_rsa = NULL;
  g_autofree char *p384 = NULL;
  g_autofree char *encrypted = NULL;
  EVP_PKEY *pkey;

  g_assert_true (amgw_dtls_cert_save_pem (f->client.cert, cert_path, key_path, &error));
  g_assert_true (amgw_dtls_cert_save_pem (f->server.cert, other_cert, other_key, &error));
  g_assert_no_error (error);

  expect_load_error (missing, key_path, "missing.pem");
  expect_load_error (cert_path, missing, "missing.pem");
  expect_load_error (junk, key_path, "junk.pem");
  expect_load_error (cert_path, junk, "junk.pem");
  expect_load_error (key_path, key_path, NULL);          /* a key is no certificate */
  expect_load_error (cert_path, other_key, "does not match");

  pkey = EVP_RSA_gen (1024);
  g_assert_nonnull (pkey);
  small_rsa = write_key (f, "rsa1024.key", pkey, FALSE);
  EVP_PKEY_free (pkey);
  expect_load_error (rsa_cert, small_rsa, "1024-bit RSA");

  pkey = EVP_EC_gen ("P-384");
  g_assert_nonnull (pkey);
  p384 = write_key (f, "p384.key", pkey, FALSE);
  EVP_PKEY_free (pkey);
  expect_load_error (cert_path, p384, "P-256");

  /* An encrypted key is refused (without prompting for a passphrase). */
  pkey = EVP_EC_gen ("P-256");
  g_assert_nonnull (pkey);
  encrypted = write_key (f, "encrypted.key", pkey, TRUE);
  EVP_PKEY_free (pkey);
  expect_load_error (cert_path, encrypted, "encrypted");

  /* Unwritable destination. */
  g_assert_false (amgw_dtls_cert_save_pem (f->client.cert, cert_path, "/nonexistent/dir/k.pem",
          &error));
  g_assert_nonnull (error);
}

static void
test_looks_like_dtls (void)
{
  guint8 b;

  for (b = 0; b < 255; b++)
    g_assert_true (amgw_dtls_looks_like_dtls (&b, 1) == (b >= 20 && b <= 63));
  g_assert_false (amgw_dtls_looks_like_dtls (NULL, 0));
  b = 22;
  g_assert_false (amgw_dtls_looks_like_dtls (&b, 0));
}

/* ------------------------------------------------------------------------ */

/* The last flight of the handshake lost once, twice, three times: the peer
 * retransmits, and amgw answers from record buffers it released once
 * connected (dtls.c); afterwards garbage is ignored and close_notify still
 * reaches the other side. */
static void
final_flight_lost (Fixture *f, guint n, gboolean client_closes)
{
  make_peers (f);
  f->server.drop_after_connected = n;
  amgw_dtls_set_handshake_timeout (f->client.dtls, LOSSY_TIMEOUT_MS);
  amgw_dtls_set_handshake_timeout (f->server.dtls, LOSSY_TIMEOUT_MS);
  start_both (f);
  g_assert_true (wait_for (f, both_connected, LOSSY_TIMEOUT_MS + 5000));
  g_assert_cmpuint (f->server.dropped_after, ==, n);
  g_assert_cmpuint (f->client.failed_count + f->server.failed_count, ==, 0);
  check_keys_and_srtp (f, preferred_profile ());
  spin (f, 200);
  inject_post_handshake_garbage (f->server.dtls);
  inject_post_handshake_garbage (f->client.dtls);
  spin (f, 100);
  g_assert_cmpuint (f->client.failed_count + f->server.failed_count, ==, 0);
  if (client_closes) {
    g_clear_pointer (&f->client.dtls, amgw_dtls_free);
    g_assert_true (wait_for (f, server_closed, 2000));
  } else {
    g_clear_pointer (&f->server.dtls, amgw_dtls_free);
    g_assert_true (wait_for (f, client_closed, 2000));
  }
}

static void
test_final_flight_lost (Fixture *f, gconstpointer data)
{
  final_flight_lost (f, 1, TRUE);
}

static void
test_final_flight_lost_twice (Fixture *f, gconstpointer data)
{
  final_flight_lost (f, 2, FALSE);
}

static void
test_final_flight_lost_thrice (Fixture *f, gconstpointer data)
{
  final_flight_lost (f, 3, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (NULL, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/dtls/handshake/default", test_handshake_default);
  ADD ("/dtls/handshake/aes-cm", test_handshake_aes_cm);
  ADD ("/dtls/handshake/aes-gcm", test_handshake_aes_gcm);
  ADD ("/dtls/handshake/server-preference", test_handshake_server_preference);
  ADD ("/dtls/handshake/roles-swapped", test_handshake_roles_swapped);
  ADD ("/dtls/handshake/no-common-profile", test_handshake_no_common_profile);
  ADD ("/dtls/handshake/set-profiles-invalid", test_set_profiles_invalid);
  ADD ("/dtls/close", test_close);
  ADD ("/dtls/confirm/client", test_confirm_client);
  ADD ("/dtls/confirm/server", test_confirm_server);
  ADD ("/dtls/confirm/peer-closes", test_confirm_peer_closes);
  ADD ("/dtls/confirm/early", test_confirm_early);
  ADD ("/dtls/fingerprint/client-mismatch", test_fingerprint_client_mismatch);
  ADD ("/dtls/fingerprint/server-mismatch", test_fingerprint_server_mismatch);
  ADD ("/dtls/fingerprint/malformed", test_fingerprint_malformed);
  ADD ("/dtls/fingerprint/case-and-prefix", test_fingerprint_case_and_prefix);
  ADD ("/dtls/fingerprint/late", test_fingerprint_late);
  ADD ("/dtls/lossy-link", test_lossy_link);
  ADD ("/dtls/timeout/silent-server", test_timeout_silent_server);
  ADD ("/dtls/timeout/lonely-server", test_timeout_lonely_server);
  ADD ("/dtls/garbage-ignored", test_garbage_ignored);
  ADD ("/dtls/early-client-hello", test_early_client_hello);
  ADD ("/dtls/free/in-connected-client", test_free_in_connected_client);
  ADD ("/dtls/free/in-connected-server", test_free_in_connected_server);
  ADD ("/dtls/free/in-failed-timeout", test_free_in_failed_timeout);
  ADD ("/dtls/free/in-failed-mismatch", test_free_in_failed_mismatch);
  ADD ("/dtls/free/in-send", test_free_in_send);
  ADD ("/dtls/free/unstarted", test_free_unstarted);
  ADD ("/dtls/free/in-closed", test_free_in_closed);
  ADD ("/dtls/cert/ephemeral", test_cert_ephemeral);
  ADD ("/dtls/cert/save-load", test_cert_save_load);
  ADD ("/dtls/cert/load-rsa", test_cert_load_rsa);
  ADD ("/dtls/cert/load-errors", test_cert_load_errors);
  ADD ("/dtls/final-flight-lost", test_final_flight_lost);
  ADD ("/dtls/final-flight-lost-twice", test_final_flight_lost_twice);
  ADD ("/dtls/final-flight-lost-thrice", test_final_flight_lost_thrice);
#undef ADD
  g_test_add_func ("/dtls/looks-like-dtls", test_looks_like_dtls);

  return g_test_run ();
}
