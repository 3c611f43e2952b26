/* Unit tests for the configuration loader (signaling/config.c). */
#include "amgw/config.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <string.h>

#define ROOM_OK \
  "[room Board]\nendpoint-id = board-1\ntoken = room-token-1\nalexa-address = amzn1.comms.x\n"

typedef struct {
  const char *name;
  const char *text;
  gssize len;                 /* -1: strlen */
  gboolean ok;
  const char *expect[6];      /* each is a substring of some problem */
  const char *secret;         /* must appear in no problem and not in the error */
} ConfigCase;

static const ConfigCase cases[] = {
  { "empty", "", -1, TRUE, { NULL }, NULL },
  { "comments-only", "# nothing\n   # indented\n\n", -1, TRUE, { NULL }, NULL },
  { "no-final-newline", "[gateway]\nlisten = 127.0.0.1:1", -1, TRUE, { NULL }, NULL },
  { "bom", "\xEF\xBB\xBF[gateway]\nlisten = 127.0.0.1:9001\n", -1, TRUE, { NULL }, NULL },
  { "crlf", "[gateway]\r\nlisten = 127.0.0.1:9002\r\nmax-calls = 7\r\n", -1, TRUE, { NULL }, NULL },
  { "ipv6-listen", "[gateway]\nlisten = [::1]:9003\n", -1, TRUE, { NULL }, NULL },
  { "port-zero", "[gateway]\nlisten = localhost:0\n", -1, TRUE, { NULL }, NULL },
  { "trailing-blanks", "[gateway]  \nlisten = localhost:80 \t\nmax-calls = 1 \n", -1, TRUE, { NULL },
    NULL },
  { "http-loopback", "[alexa]\napi-url = http://127.0.0.1:4000\nlwa-url = http://localhost/t\n",
    -1, TRUE, { NULL }, NULL },
  { "http-v6-loopback", "[alexa]\napi-url = http://[::1]:4000/x\n", -1, TRUE, { NULL }, NULL },
  { "one-room", ROOM_OK, -1, TRUE, { NULL }, NULL },
  { "empty-values-are-unset", "[gateway]\nstate-dir =\nmax-calls=\n[media]\npublic-ip =\n", -1,
    TRUE, { NULL }, NULL },

  { "duplicate-key", "[gateway]\nlisten = 127.0.0.1:1\nlisten = 127.0.0.1:2\n", -1, FALSE,
    { "t.conf:3: [gateway] listen: duplicate key (first at line 2)" }, NULL },
  { "duplicate-group", "[gateway]\nmax-calls = 1\n[alexa]\n[gateway]\nlisten = 127.0.0.1:2\n", -1,
    FALSE, { "t.conf:4: [gateway]: duplicate group (first at line 1)" }, NULL },
  { "duplicate-key-across-duplicate-groups", "[gateway]\nmax-calls = 1\n[gateway]\nmax-calls = 2\n",
    -1, FALSE, { "t.conf:3: [gateway]: duplicate group", "t.conf:4: [gateway] max-calls: duplicate" },
    NULL },
  { "unknown-group", "[gatway]\nlisten = 1\n", -1, FALSE, { "t.conf:1: [gatway]: unknown group" },
    NULL },
  { "unknown-key", "[gateway]\n\nlistn = 127.0.0.1:1\n", -1, FALSE,
    { "t.conf:3: [gateway] listn: unknown key" }, NULL },
  { "key-outside-group", "listen = 1\n[gateway]\n", -1, FALSE,
    { "t.conf:1: listen: key outside any group" }, NULL },
  { "semicolon-comment", "; old style\n", -1, FALSE, { "t.conf:1: ';' does not start a comment" },
    NULL },
  { "header-without-bracket", "[gateway\nlisten = 1\n[alexa]\nmax-retries = 99\n", -1, FALSE,
    { "t.conf:1: group header without ']'", "t.conf:4: [alexa] max-retries" }, NULL },
  { "text-after-header", "[gateway] x\n", -1, FALSE, { "t.conf:1: text after a group header" },
    NULL },
  { "empty-group-name", "[]\n", -1, FALSE, { "t.conf:1: invalid group name" }, NULL },
  { "not-a-pair", "[gateway]\nlisten\n", -1, FALSE,
    { "t.conf:2: [gateway]: not a [group] header, a key = value pair" }, NULL },
  { "bad-key-name", "[gateway]\nlis ten = 1\n", -1, FALSE, { "t.conf:2: [gateway]: invalid key name" },
    NULL },
  { "locale-key", "[gateway]\nlisten[de] = 1\n", -1, FALSE, { "t.conf:2: [gateway]: invalid key name" },
    NULL },
  { "non-utf8", "[gateway]\nlisten = \xff\xfe:1\nmax-calls = 0\n", -1, FALSE,
    { "t.conf:2: not valid UTF-8", "t.conf:3: [gateway] max-calls" }, NULL },
  { "nul-byte", "[gateway]\nmax-calls = 1\0\n", 25, FALSE, { "t.conf:2: not valid UTF-8" }, NULL },
  { "encoding-key", "[gateway]\nEncoding = latin1\nmax-calls = 0\n", -1, FALSE,
    { "t.conf:2: [gateway] Encoding: unknown key", "t.conf:3: [gateway] max-calls" }, NULL },
  { "bad-escape", "[gateway]\nstate-dir = C:\\x\n", -1, FALSE,
    { "t.conf:2: [gateway] state-dir: invalid escape" }, NULL },
  { "control-char-escape", "[room A]\nendpoint-id = a\ntoken = sec\\nret-token\nalexa-address = x\n",
    -1, FALSE, { "t.conf:3: [room A] token: control character" }, "ret-token" },

  { "port-too-big", "[gateway]\nlisten = 127.0.0.1:65536\n", -1, FALSE,
    { "t.conf:2: [gateway] listen: the port must be a number from 0 to 65535" }, NULL },
  { "port-not-number", "[gateway]\nlisten = 127.0.0.1:http\n", -1, FALSE,
    { "[gateway] listen: the port must be" }, NULL },
  { "port-negative", "[gateway]\nlisten = 127.0.0.1:-1\n", -1, FALSE,
    { "[gateway] listen: the port must be" }, NULL },
  { "port-missing", "[gateway]\nlisten = 127.0.0.1\n", -1, FALSE, { "expected host:port" }, NULL },
  { "port-empty", "[gateway]\nlisten = 127.0.0.1:\n", -1, FALSE, { "the port must be" }, NULL },
  { "ipv4-bad", "[gateway]\nlisten = 300.1.1.1:80\n", -1, FALSE, { "not a valid host name" }, NULL },
  { "host-empty", "[gateway]\nlisten = :80\n", -1, FALSE, { "not a valid host name" }, NULL },
  { "ipv6-without-brackets", "[gateway]\nlisten = ::1:80\n", -1, FALSE, { "needs brackets" }, NULL },
  { "ipv6-not-closed", "[gateway]\nlisten = [::1:80\n", -1, FALSE, { "missing ']'" }, NULL },
  { "ipv6-bad", "[gateway]\nlisten = [zz]:80\n", -1, FALSE, { "not an IPv6 address" }, NULL },
  { "ipv6-v4-in-brackets", "[gateway]\nlisten = [127.0.0.1]:80\n", -1, FALSE,
    { "not an IPv6 address" }, NULL },
  { "ipv6-no-port", "[gateway]\nlisten = [::1]\n", -1, FALSE, { "expected [address]:port" }, NULL },

  { "http-not-loopback", "[alexa]\napi-url = http://api.amazonalexa.com\n", -1, FALSE,
    { "t.conf:2: [alexa] api-url: not allowed: use https://" }, NULL },
  { "http-fake-loopback", "[alexa]\nlwa-url = http://127.0.0.1.evil.example/\n", -1, FALSE,
    { "[alexa] lwa-url: not allowed" }, NULL },
  { "ftp", "[alexa]\napi-url = ftp://example.com/\n", -1, FALSE, { "[alexa] api-url: not allowed" },
    NULL },
  { "not-a-url", "[alexa]\napi-url = api.amazonalexa.com\n", -1, FALSE,
    { "[alexa] api-url: not a valid absolute URL" }, NULL },

  { "max-calls-zero", "[gateway]\nmax-calls = 0\n", -1, FALSE,
    { "[gateway] max-calls: not a whole number from 1 to 100000" }, NULL },
  { "max-calls-big", "[gateway]\nmax-calls = 100001\n", -1, FALSE, { "[gateway] max-calls" }, NULL },
  { "max-calls-text", "[gateway]\nmax-calls = ten\n", -1, FALSE, { "[gateway] max-calls" }, NULL },
  { "max-calls-sign", "[gateway]\nmax-calls = +5\n", -1, FALSE, { "[gateway] max-calls" }, NULL },
  { "max-calls-overflow", "[gateway]\nmax-calls = 99999999999999999999999\n", -1, FALSE,
    { "[gateway] max-calls" }, NULL },
  { "timeouts", "[alexa]\nrequest-timeout = 99\nsetup-timeout = 600001\nring-timeout = 1.5\n"
    "max-retries = 11\n", -1, FALSE,
    { "t.conf:2: [alexa] request-timeout: not a whole number from 100 to 600000",
      "t.conf:3: [alexa] setup-timeout", "t.conf:4: [alexa] ring-timeout",
      "t.conf:5: [alexa] max-retries: not a whole number from 0 to 10" }, NULL },
  { "rtp-order", "[media]\nrtp-port-min = 30000\nrtp-port-max = 30000\n", -1, FALSE,
    { "t.conf:3: [media] rtp-port-max: rtp-port-min (30000) must be below rtp-port-max (30000)" },
    NULL },
  { "rtp-min-over-default-max", "[media]\nrtp-port-min = 25000\n", -1, FALSE,
    { "t.conf:2: [media] rtp-port-min: rtp-port-min (25000) must be below" }, NULL },
  { "rtp-low", "[media]\nrtp-port-min = 1023\n", -1, FALSE,
    { "[media] rtp-port-min: not a whole number from 1024 to 65535" }, NULL },
  { "rtp-high", "[media]\nrtp-port-max = 65536\n", -1, FALSE, { "[media] rtp-port-max" }, NULL },
  { "public-ip", "[media]\npublic-ip = example.com\n[sip]\npublic-ip = 300.1.1.1\n", -1, FALSE,
    { "t.conf:2: [media] public-ip: not an IPv4 or IPv6 address", "t.conf:4: [sip] public-ip" },
    NULL },
  { "turn-without-credentials", "[media]\nturn-server = turn.example:3478\n", -1, FALSE,
    { "[media] turn-server: a TURN server needs turn-user and turn-password" }, NULL },
  { "turn-without-password", "[media]\nturn-server = turn.example:3478\nturn-user = u\n", -1,
    FALSE, { "[media] turn-server: a TURN server needs" }, NULL },
  { "stun-uri", "[media]\nstun-server = stun:stun.example:3478\n", -1, FALSE,
    { "[media] stun-server: expected host:port, not a URI" }, NULL },
  { "stun-no-port", "[media]\nstun-server = stun.example\n", -1, FALSE,
    { "[media] stun-server: expected host:port" }, NULL },
  { "stun-port-zero", "[media]\nstun-server = stun.example:0\n", -1, FALSE,
    { "[media] stun-server: the port must be a number from 1 to 65535" }, NULL },
  { "interfaces-bad", "[media]\ninterfaces = eth0; has space\n", -1, FALSE,
    { "[media] interfaces: entry 2" }, NULL },
  { "codecs-unknown", "[media]\ncodecs = opus, G729\n", -1, FALSE,
    { "t.conf:2: [media] codecs: unknown codec \"G729\"" }, NULL },
  { "codecs-twice", "[sip]\ncodecs = PCMU; pcmu\n", -1, FALSE,
    { "[sip] codecs: PCMU is listed twice" }, NULL },
  { "codecs-none", "[sip]\ncodecs = , ;\n", -1, FALSE, { "[sip] codecs: lists no codec" }, NULL },
  { "jitter-buffer-range", "[media]\njitter-buffer = 5\n", -1, FALSE,
    { "[media] jitter-buffer" }, NULL },
  { "dtmf", "[sip]\ndtmf = sip-info\n", -1, FALSE,
    { "[sip] dtmf: must be rfc4733, info or inband" }, NULL },
  { "bool", ROOM_OK "supports-scheduled-meeting = maybe\n", -1, FALSE,
    { "t.conf:5: [room Board] supports-scheduled-meeting: not a boolean" }, NULL },
  { "address-type", ROOM_OK "alexa-address-type = EMAIL\n", -1, FALSE,
    { "[room Board] alexa-address-type: must be COMMUNICATION_PROFILE_ID, PHONE_NUMBER" }, NULL },

  { "room-missing-keys", "[gateway]\n\n[room Lobby]\nfriendly-name = Lobby\n", -1, FALSE,
    { "t.conf:3: [room Lobby] endpoint-id: missing (required)",
      "t.conf:3: [room Lobby] token: missing (required)",
      "t.conf:3: [room Lobby] alexa-address: missing (required)" }, NULL },
  { "room-empty-keys", "[room Lobby]\nendpoint-id =\ntoken =\nalexa-address =\n", -1, FALSE,
    { "t.conf:2: [room Lobby] endpoint-id: empty (required)",
      "t.conf:3: [room Lobby] token: empty (required)",
      "t.conf:4: [room Lobby] alexa-address: empty (required)" }, NULL },
  { "room-without-name", "[room]\n", -1, FALSE, { "t.conf:1: [room]: a room group needs a name" },
    NULL },
  { "room-bad-name", "[room a/b]\n", -1, FALSE, { "t.conf:1: [room a/b]: invalid room name" },
    NULL },
  { "room-same-name", ROOM_OK "[room  Board ]\nendpoint-id = b2\ntoken = t\nalexa-address = x\n",
    -1, FALSE, { "t.conf:5: [room  Board ]: a room named Board is already at line 1" }, NULL },
  { "endpoint-id-chars", "[room A]\nendpoint-id = a b\ntoken = t\nalexa-address = x\n", -1, FALSE,
    { "t.conf:2: [room A] endpoint-id: must be 1 to 256 characters of A-Z a-z 0-9 _ . : @ -" },
    NULL },
  { "endpoint-id-slash", "[room A]\nendpoint-id = a/b\ntoken = t\nalexa-address = x\n", -1, FALSE,
    { "[room A] endpoint-id: must be 1 to 256" }, NULL },
  { "duplicate-endpoint-id",
    "[room A]\nendpoint-id = same\ntoken = t\nalexa-address = x\n"
    "[room B]\nendpoint-id = same\ntoken = t\nalexa-address = y\n", -1, FALSE,
    { "t.conf:6: [room B] endpoint-id: duplicate endpoint-id: [room A] at line 2 has it too" },
    NULL },

  { "short-forwarding-secret", "[gateway]\nforwarding-secret = hunter2-xyz\n", -1, FALSE,
    { "t.conf:2: [gateway] forwarding-secret: too short (at least 16 characters)" },
    "hunter2-xyz" },
  { "secret-in-broken-line", "[room A]\ntoken sekrit-room-token-value\n", -1, FALSE,
    { "t.conf:2: [room A]: not a [group] header" }, "sekrit-room-token-value" },
  { "secret-in-bad-escape", "[alexa]\nclient-secret = abc\\qsekrit-client\n", -1, FALSE,
    { "t.conf:2: [alexa] client-secret: invalid escape" }, "sekrit-client" },
  { "secret-in-unknown-group", "[secrets]\npassword = sekrit-pass-0001\n", -1, FALSE,
    { "t.conf:1: [secrets]: unknown group" }, "sekrit-pass-0001" },
  { "secret-in-wrong-key", "[sip]\npasword = sekrit-sip-pass\n", -1, FALSE,
    { "t.conf:2: [sip] pasword: unknown key" }, "sekrit-sip-pass" },
  { "secret-as-number", "[gateway]\nmax-calls = sekrit-number\n", -1, FALSE,
    { "[gateway] max-calls" }, "sekrit-number" },

  { "sip-keys-ok",
    "[sip]\noutbound-proxy = sip:proxy.example.com:5060;transport=tcp\nregister = true\n"
    "registrar = sips:registrar.example.com\nuser = gw\nca-file = ca.pem\n"
    "dial-template = {id}#{pin}\ndtmf-pause = 0\ninvite-timeout = 30000\n"
    "session-expires = 90\ninactivity-timeout = 3000\n", -1, TRUE, { NULL }, NULL },
  { "sip-outbound-proxy-not-sip", "[sip]\noutbound-proxy = http://proxy.example\n", -1, FALSE,
    { "t.conf:2: [sip] outbound-proxy: not a sip: or sips: URI" }, NULL },
  { "sip-registrar-bad", "[sip]\nregistrar = sip:\n", -1, FALSE,
    { "t.conf:2: [sip] registrar: not a valid SIP URI" }, NULL },
  { "sip-register-needs-registrar", "[sip]\nuser = gw\nregister = yes\n", -1, FALSE,
    { "t.conf:3: [sip] register: register = true needs a registrar" }, NULL },
  { "sip-register-needs-user", "[sip]\nregister = true\nregistrar = sip:r.example\n", -1, FALSE,
    { "t.conf:2: [sip] register: register = true needs a user" }, NULL },
  { "sip-register-not-bool", "[sip]\nregister = maybe\n", -1, FALSE,
    { "t.conf:2: [sip] register: not a boolean" }, NULL },
  { "sip-template-placeholder", "[sip]\ndial-template = {room}\n", -1, FALSE,
    { "t.conf:2: [sip] dial-template: unknown placeholder" }, NULL },
  { "sip-template-at", "[sip]\ndial-template = {id}@bridge\n", -1, FALSE,
    { "t.conf:2: [sip] dial-template: the template is the URI's user part" }, NULL },
  { "sip-timeouts-range",
    "[sip]\ndtmf-pause = 60001\ninvite-timeout = 99\nsession-expires = 89\n"
    "inactivity-timeout = 600001\n", -1, FALSE,
    { "t.conf:2: [sip] dtmf-pause: not a whole number from 0 to 60000",
      "t.conf:3: [sip] invite-timeout: not a whole number from 100 to 600000",
      "t.conf:4: [sip] session-expires: not a whole number from 90 to 86400",
      "t.conf:5: [sip] inactivity-timeout: not a whole number from 100 to 600000" }, NULL },
  { "sip-password-in-proxy", "[sip]\noutbound-proxy = sekrit-proxy-pass\n", -1, FALSE,
    { "t.conf:2: [sip] outbound-proxy" }, "sekrit-proxy-pass" },
  { "provider-ok", "[provider Zoom]\ndial-template = {id}.{pin}\ndtmf = info\ndtmf-pause = 500\n"
    "[provider webex]\n", -1, TRUE, { NULL }, NULL },
  { "provider-no-name", "[provider]\ndtmf = info\n", -1, FALSE,
    { "t.conf:1: [provider]: a provider group needs a name" }, NULL },
  { "provider-duplicate-case", "[provider Zoom]\n[provider ZOOM]\n", -1, FALSE,
    { "t.conf:2: [provider ZOOM]: provider ZOOM is already at line 1" }, NULL },
  { "provider-unknown-key", "[provider zoom]\nuser = x\n", -1, FALSE,
    { "t.conf:2: [provider zoom] user: unknown key (known here: dial-template, dtmf, dtmf-pause)" },
    NULL },
  { "provider-bad-values", "[provider zoom]\ndtmf = tones\ndtmf-pause = -1\ndial-template = {x}\n",
    -1, FALSE,
    { "t.conf:2: [provider zoom] dtmf: must be rfc4733, info or inband",
      "t.conf:3: [provider zoom] dtmf-pause: not a whole number",
      "t.conf:4: [provider zoom] dial-template: unknown placeholder" }, NULL },

  { "all-problems-collected",
    "[gateway]\nlisten = nope\nmax-calls = 0\nbogus = 1\n[alexa]\napi-url = http://x.example\n"
    "[media]\nrtp-port-min = 1\n[sip]\ndtmf = x\n[nope]\n", -1, FALSE,
    { "t.conf:2:", "t.conf:3:", "t.conf:4:", "t.conf:6:", "t.conf:8:", "t.conf:10:" }, NULL },
};

static void
test_case (gconstpointer data)
{
  const ConfigCase *c = data;
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwConfig) config = NULL;

  config = amgw_config_load_data (c->text, c->len, "t.conf", problems, &error);
  amgw_test_dump_problems (problems);
  if (c->ok) {
    g_assert_no_error (error);
    g_assert_nonnull (config);
    g_assert_cmpuint (problems->len, ==, 0);
  } else {
    g_assert_null (config);
    g_assert_error (error, AMGW_CONFIG_ERROR, AMGW_CONFIG_ERROR_INVALID);
    g_assert_cmpuint (problems->len, >, 0);
    /* The error quotes the first problem. */
    g_assert_true (g_str_has_prefix (error->message, g_ptr_array_index (problems, 0)));
  }
  for (guint i = 0; i < G_N_ELEMENTS (c->expect) && c->expect[i] != NULL; i++) {
    if (!amgw_test_problems_contain (problems, c->expect[i]))
      g_error ("no problem contains \"%s\"", c->expect[i]);
  }
  if (c->secret != NULL) {
    g_assert_false (amgw_test_problems_contain (problems, c->secret));
    g_assert_null (strstr (error->message, c->secret));
  }
  /* Every problem has the FILE:LINE: form. */
  for (guint i = 0; i < problems->len; i++) {
    const char *p = g_ptr_array_index (problems, i);
    g_assert_true (g_str_has_prefix (p, "t.conf:"));
    g_assert_true (g_ascii_isdigit (p[strlen ("t.conf:")]));
  }
}

static void
test_defaults (void)
{
  g_autoptr (AmgwConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *state_dir = g_build_filename (g_get_user_data_dir (), "amgw", NULL);

  config = amgw_config_load_data ("", 0, "empty.conf", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (config->listen_host, ==, "127.0.0.1");
  g_assert_cmpuint (config->listen_port, ==, 8080);
  g_assert_cmpstr (config->state_dir, ==, state_dir);
  g_assert_null (config->forwarding_secret);
  g_assert_cmpuint (config->max_calls, ==, 100);
  g_assert_cmpstr (config->api_url, ==, "https://api.amazonalexa.com");
  g_assert_cmpstr (config->lwa_url, ==, "https://api.amazon.com/auth/o2/token");
  g_assert_null (config->client_id);
  g_assert_null (config->client_secret);
  g_assert_null (config->refresh_token);
  g_assert_cmpuint (config->request_timeout_ms, ==, 10000);
  g_assert_cmpuint (config->max_retries, ==, 4);
  g_assert_cmpuint (config->setup_timeout_ms, ==, 30000);
  g_assert_cmpuint (config->ring_timeout_ms, ==, 60000);
  g_assert_null (config->media_public_ip);
  g_assert_cmpuint (config->rtp_port_min, ==, 10000);
  g_assert_cmpuint (config->rtp_port_max, ==, 20000);
  g_assert_cmpstr (config->media_codecs[0], ==, "OPUS");
  g_assert_cmpuint (g_strv_length (config->sip_codecs), ==, 4);
  g_assert_cmpuint (config->jitter_buffer_ms, ==, 60);
  g_assert_null (config->stun_server);
  g_assert_null (config->turn_server);
  g_assert_null (config->turn_user);
  g_assert_null (config->turn_password);
  g_assert_null (config->interfaces);
  g_assert_null (config->sip_listen);
  g_assert_null (config->sip_public_ip);
  g_assert_null (config->sip_user);
  g_assert_null (config->sip_password);
  g_assert_cmpint (config->sip_dtmf, ==, AMGW_DTMF_RFC4733);
  g_assert_null (config->meetings_directory);
  g_assert_cmpuint (config->rooms->len, ==, 0);
  g_assert_cmpstr (config->source, ==, "empty.conf");
}

static void
assert_same_as_empty (const AmgwConfig *a, const AmgwConfig *b)
{
  g_assert_cmpstr (a->listen_host, ==, b->listen_host);
  g_assert_cmpuint (a->listen_port, ==, b->listen_port);
  g_assert_cmpstr (a->state_dir, ==, b->state_dir);
  g_assert_cmpuint (a->max_calls, ==, b->max_calls);
  g_assert_cmpstr (a->api_url, ==, b->api_url);
  g_assert_cmpstr (a->lwa_url, ==, b->lwa_url);
  g_assert_cmpuint (a->request_timeout_ms, ==, b->request_timeout_ms);
  g_assert_cmpuint (a->max_retries, ==, b->max_retries);
  g_assert_cmpuint (a->setup_timeout_ms, ==, b->setup_timeout_ms);
  g_assert_cmpuint (a->ring_timeout_ms, ==, b->ring_timeout_ms);
  g_assert_cmpuint (a->rtp_port_min, ==, b->rtp_port_min);
  g_assert_cmpuint (a->rtp_port_max, ==, b->rtp_port_max);
  g_assert_cmpint (a->sip_dtmf, ==, b->sip_dtmf);
  g_assert_cmpstr (a->sip_dial_template, ==, b->sip_dial_template);
  g_assert_cmpint (a->sip_register, ==, b->sip_register);
  g_assert_cmpuint (a->sip_dtmf_pause_ms, ==, b->sip_dtmf_pause_ms);
  g_assert_cmpuint (a->sip_invite_timeout_ms, ==, b->sip_invite_timeout_ms);
  g_assert_cmpuint (a->sip_session_expires_s, ==, b->sip_session_expires_s);
  g_assert_cmpuint (a->sip_inactivity_timeout_ms, ==, b->sip_inactivity_timeout_ms);
  g_assert_null (a->forwarding_secret);
  g_assert_null (a->client_id);
  g_assert_null (a->meetings_directory);
  g_assert_cmpuint (a->rooms->len, ==, 0);
}

static void
test_embedded_default (void)
{
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwConfig) parsed = NULL, def = NULL, empty = NULL;
  const char *text = amgw_config_default_text ();

  g_assert_nonnull (strstr (text, "[gateway]"));
  g_assert_nonnull (strstr (text, "[room NAME]"));
  parsed = amgw_config_load_data (text, -1, "default.conf", problems, &error);
  amgw_test_dump_problems (problems);
  g_assert_no_error (error);
  g_assert_cmpuint (problems->len, ==, 0);

  def = amgw_config_new_default ();
  g_assert_cmpstr (def->source, ==, "<embedded default>");
  empty = amgw_config_load_data ("", 0, "e", NULL, NULL);
  /* The embedded text states exactly the built-in defaults. */
  assert_same_as_empty (def, empty);
  assert_same_as_empty (parsed, empty);
}

static void
test_values (void)
{
  static const char text[] =
    "\xEF\xBB\xBF# full\r\n"
    "[gateway]\r\n"
    "listen = [::1]:8443\r\n"
    "state-dir = state\r\n"
    "forwarding-secret = 0123456789abcdef\r\n"
    "max-calls = 5\r\n"
    "[alexa]\n"
    "api-url = http://127.0.0.1:9999\n"
    "lwa-url = https://lwa.example/token\n"
    "client-id = amzn1.application-oa2-client.x\n"
    "client-secret = cs\n"
    "refresh-token = Atzr|abc\n"
    "request-timeout = 100\n"
    "max-retries = 0\n"
    "setup-timeout = 600000\n"
    "ring-timeout = 1000\n"
    "[media]\n"
    "public-ip = 2001:db8::1\n"
    "rtp-port-min = 1024\n"
    "rtp-port-max = 65535\n"
    "stun-server = stun.example:3478\n"
    "turn-server = [2001:db8::2]:3478\n"
    "turn-user = tu\n"
    "turn-password = tp\n"
    "interfaces = eth0; lo ,10.0.0.1,,\n"
    "codecs = pcmu g722\n"
    "jitter-buffer = 100\n"
    "[sip]\n"
    "codecs = PCMA\n"
    "listen = 0.0.0.0:5060\n"
    "public-ip = 192.0.2.1\n"
    "user = su\n"
    "password = sp\n"
    "dtmf = INFO\n"
    "[meetings]\n"
    "directory = ../m/meetings.ini\n"
    "[room Board Room]\n"
    "endpoint-id = amzn1.ask.device:board_room@x-1\n"
    "token = tok\\s1 \t \n"
    "alexa-address-type = phone_number\n"
    "alexa-address = +15550100\n"
    "supports-scheduled-meeting = true\n"
    "[room Lobby]\n"
    "endpoint-id = lobby\n"
    "friendly-name = The Lobby\\s  \n"
    "token = tok2\n"
    "alexa-address = x\n"
    "supports-scheduled-meeting = no\n";
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwConfig) config = NULL;
  const AmgwRoom *room;

  config = amgw_config_load_data (text, -1, "/etc/amgw/amgw.conf", problems, &error);
  amgw_test_dump_problems (problems);
  g_assert_no_error (error);
  g_assert_cmpstr (config->listen_host, ==, "::1");
  g_assert_cmpuint (config->listen_port, ==, 8443);
  g_assert_cmpstr (config->state_dir, ==, "/etc/amgw/state");
  g_assert_cmpstr (config->forwarding_secret, ==, "0123456789abcdef");
  g_assert_cmpuint (config->max_calls, ==, 5);
  g_assert_cmpstr (config->api_url, ==, "http://127.0.0.1:9999");
  g_assert_cmpstr (config->lwa_url, ==, "https://lwa.example/token");
  g_assert_cmpstr (config->client_id, ==, "amzn1.application-oa2-client.x");
  g_assert_cmpstr (config->client_secret, ==, "cs");
  g_assert_cmpstr (config->refresh_token, ==, "Atzr|abc");
  g_assert_cmpuint (config->request_timeout_ms, ==, 100);
  g_assert_cmpuint (config->max_retries, ==, 0);
  g_assert_cmpuint (config->setup_timeout_ms, ==, 600000);
  g_assert_cmpuint (config->ring_timeout_ms, ==, 1000);
  g_assert_cmpstr (config->media_public_ip, ==, "2001:db8::1");
  g_assert_cmpuint (config->rtp_port_min, ==, 1024);
  g_assert_cmpuint (config->rtp_port_max, ==, 65535);
  g_assert_cmpstr (config->stun_server, ==, "stun.example:3478");
  g_assert_cmpstr (config->turn_server, ==, "[2001:db8::2]:3478");
  g_assert_cmpstr (config->turn_user, ==, "tu");
  g_assert_cmpstr (config->turn_password, ==, "tp");
  g_assert_cmpuint (g_strv_length (config->interfaces), ==, 3);
  g_assert_cmpstr (config->interfaces[0], ==, "eth0");
  g_assert_cmpstr (config->interfaces[1], ==, "lo");
  g_assert_cmpstr (config->interfaces[2], ==, "10.0.0.1");
  g_assert_cmpuint (g_strv_length (config->media_codecs), ==, 2);
  g_assert_cmpstr (config->media_codecs[0], ==, "PCMU");
  g_assert_cmpstr (config->media_codecs[1], ==, "G722");
  g_assert_cmpuint (config->jitter_buffer_ms, ==, 100);
  g_assert_cmpuint (g_strv_length (config->sip_codecs), ==, 1);
  g_assert_cmpstr (config->sip_codecs[0], ==, "PCMA");
  g_assert_cmpstr (config->sip_listen, ==, "0.0.0.0:5060");
  g_assert_cmpstr (config->sip_public_ip, ==, "192.0.2.1");
  g_assert_cmpstr (config->sip_user, ==, "su");
  g_assert_cmpstr (config->sip_password, ==, "sp");
  g_assert_cmpint (config->sip_dtmf, ==, AMGW_DTMF_INFO);
  g_assert_cmpstr (config->meetings_directory, ==, "/etc/m/meetings.ini");
  g_assert_cmpuint (config->rooms->len, ==, 2);

  room = g_ptr_array_index (config->rooms, 0);
  g_assert_cmpstr (room->name, ==, "Board Room");
  g_assert_cmpstr (room->endpoint_id, ==, "amzn1.ask.device:board_room@x-1");
  g_assert_cmpstr (room->friendly_name, ==, "Board Room");
  g_assert_cmpstr (room->token, ==, "tok 1");
  g_assert_cmpint (room->alexa_address_type, ==, AMGW_ADDRESS_PHONE_NUMBER);
  g_assert_cmpstr (room->alexa_address, ==, "+15550100");
  g_assert_true (room->supports_scheduled_meeting);

  room = g_ptr_array_index (config->rooms, 1);
  g_assert_cmpstr (room->name, ==, "Lobby");
  g_assert_cmpstr (room->friendly_name, ==, "The Lobby ");
  g_assert_cmpint (room->alexa_address_type, ==, AMGW_ADDRESS_COMMUNICATION_PROFILE_ID);
  g_assert_false (room->supports_scheduled_meeting);

  g_assert_true (amgw_config_find_room (config, "lobby") == room);
  g_assert_true (amgw_config_find_room_by_name (config, "Lobby") == room);
  g_assert_null (amgw_config_find_room (config, "Lobby"));
  g_assert_null (amgw_config_find_room (config, NULL));
  g_assert_null (amgw_config_find_room_by_name (config, "nope"));
  g_assert_cmpstr (config->source, ==, "/etc/amgw/amgw.conf");
}

static void
test_sip_values (void)
{
  static const char text[] =
    "[sip]\n"
    "outbound-proxy = sip:proxy.example.com;lr\n"
    "register = true\n"
    "registrar = sip:registrar.example.com\n"
    "user = gw\n"
    "ca-file = certs/ca.pem\n"
    "dial-template = {id}#{pin}\n"
    "dtmf-pause = 1500\n"
    "invite-timeout = 45000\n"
    "session-expires = 600\n"
    "inactivity-timeout = 5000\n"
    "[provider Zoom]\n"
    "dial-template = {id}\n"
    "dtmf = inband\n"
    "[provider webex]\n"
    "dtmf-pause = 0\n";
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwConfig) config = NULL;
  g_autoptr (AmgwConfig) def = amgw_config_new_default ();
  const AmgwSipProvider *p;

  config = amgw_config_load_data (text, -1, "/etc/amgw/amgw.conf", problems, &error);
  amgw_test_dump_problems (problems);
  g_assert_no_error (error);
  g_assert_cmpstr (config->sip_outbound_proxy, ==, "sip:proxy.example.com;lr");
  g_assert_true (config->sip_register);
  g_assert_cmpstr (config->sip_registrar, ==, "sip:registrar.example.com");
  g_assert_cmpstr (config->sip_ca_file, ==, "/etc/amgw/certs/ca.pem");
  g_assert_cmpstr (config->sip_dial_template, ==, "{id}#{pin}");
  g_assert_cmpuint (config->sip_dtmf_pause_ms, ==, 1500);
  g_assert_cmpuint (config->sip_invite_timeout_ms, ==, 45000);
  g_assert_cmpuint (config->sip_session_expires_s, ==, 600);
  g_assert_cmpuint (config->sip_inactivity_timeout_ms, ==, 5000);
  g_assert_cmpuint (config->sip_providers->len, ==, 2);

  p = amgw_config_find_provider (config, "zoom");
  g_assert_nonnull (p);
  g_assert_cmpstr (p->name, ==, "Zoom");
  g_assert_cmpstr (p->dial_template, ==, "{id}");
  g_assert_true (p->has_dtmf);
  g_assert_cmpint (p->dtmf, ==, AMGW_DTMF_INBAND);
  g_assert_false (p->has_dtmf_pause);
  p = amgw_config_find_provider (config, "WEBEX");
  g_assert_nonnull (p);
  g_assert_null (p->dial_template);
  g_assert_false (p->has_dtmf);
  g_assert_true (p->has_dtmf_pause);
  g_assert_cmpuint (p->dtmf_pause_ms, ==, 0);
  g_assert_null (amgw_config_find_provider (config, "teams"));
  g_assert_null (amgw_config_find_provider (config, NULL));

  /* The defaults the issue names. */
  g_assert_null (def->sip_outbound_proxy);
  g_assert_false (def->sip_register);
  g_assert_null (def->sip_registrar);
  g_assert_null (def->sip_ca_file);
  g_assert_cmpstr (def->sip_dial_template, ==, "{id}");
  g_assert_cmpuint (def->sip_dtmf_pause_ms, ==, 2000);
  g_assert_cmpuint (def->sip_invite_timeout_ms, ==, 60000);
  g_assert_cmpuint (def->sip_session_expires_s, ==, 1800);
  g_assert_cmpuint (def->sip_inactivity_timeout_ms, ==, 30000);
  g_assert_cmpuint (def->sip_providers->len, ==, 0);
  g_assert_nonnull (strstr (amgw_config_default_text (), "[provider NAME]"));
  g_assert_nonnull (strstr (amgw_config_default_text (), "\ndial-template = {id}\n"));
}

static void
test_enums (void)
{
  AmgwAddressType type;
  AmgwDtmfMode mode;

  for (int i = AMGW_ADDRESS_COMMUNICATION_PROFILE_ID; i <= AMGW_ADDRESS_RAW_ADDRESS; i++) {
    g_assert_true (amgw_address_type_from_string (amgw_address_type_to_string (i), &type));
    g_assert_cmpint (type, ==, i);
  }
  g_assert_cmpstr (amgw_address_type_to_string (AMGW_ADDRESS_RAW_ADDRESS), ==, "RAW_ADDRESS");
  g_assert_false (amgw_address_type_from_string ("EMAIL", &type));
  g_assert_false (amgw_address_type_from_string (NULL, &type));
  for (int i = AMGW_DTMF_RFC4733; i <= AMGW_DTMF_INBAND; i++) {
    g_assert_true (amgw_dtmf_mode_from_string (amgw_dtmf_mode_to_string (i), &mode));
    g_assert_cmpint (mode, ==, i);
  }
  g_assert_false (amgw_dtmf_mode_from_string ("rfc2833", &mode));
}

static void
test_too_many_rooms (void)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwConfig) config = NULL;

  for (int i = 0; i < AMGW_MAX_ROOMS + 1; i++)
    g_string_append_printf (text, "[room r%d]\nendpoint-id = e%d\ntoken = t\nalexa-address = a\n",
        i, i);
  config = amgw_config_load_data (text->str, text->len, "t.conf", problems, &error);
  g_assert_null (config);
  g_assert_error (error, AMGW_CONFIG_ERROR, AMGW_CONFIG_ERROR_INVALID);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_true (amgw_test_problems_contain (problems, "t.conf:4097: [room r1024]: too many rooms (at most 1024)"));
  g_clear_pointer (&problems, g_ptr_array_unref);

  /* Exactly the ceiling is fine. */
  problems = g_ptr_array_new_with_free_func (g_free);
  g_string_truncate (text, 0);
  for (int i = 0; i < AMGW_MAX_ROOMS; i++)
    g_string_append_printf (text, "[room r%d]\nendpoint-id = e%d\ntoken = t\nalexa-address = a\n",
        i, i);
  g_clear_error (&error);
  config = amgw_config_load_data (text->str, text->len, "t.conf", problems, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (config->rooms->len, ==, AMGW_MAX_ROOMS);
}

static void
test_too_big (void)
{
  gsize len = AMGW_MAX_CONFIG_BYTES + 1;
  g_autofree char *text = g_malloc (len);
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwConfig) config = NULL;

  memset (text, '#', len);
  config = amgw_config_load_data (text, len, "big.conf", problems, &error);
  g_assert_null (config);
  g_assert_error (error, AMGW_CONFIG_ERROR, AMGW_CONFIG_ERROR_TOO_BIG);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (problems, 0), "big.conf:0: larger than"));

  /* One byte less, all comments: fine. */
  g_clear_error (&error);
  config = amgw_config_load_data (text, len - 1, "big.conf", NULL, &error);
  g_assert_no_error (error);
}

static void
test_many_problems_capped (void)
{
  g_autoptr (GString) text = g_string_new ("[gateway]\n");
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwConfig) config = NULL;

  for (int i = 0; i < 1000; i++)
    g_string_append (text, "junk\n");
  config = amgw_config_load_data (text->str, text->len, "t.conf", problems, &error);
  g_assert_null (config);
  g_assert_cmpuint (problems->len, ==, AMGW_INI_MAX_PROBLEMS + 1);
  g_assert_true (amgw_test_problems_contain (problems, "t.conf:0: 800 more problems not shown"));
  g_assert_nonnull (strstr (error->message, "(and 999 more problems)"));
}

static void
test_problems_sorted (void)
{
  static const char text[] =
    "[room A]\n"             /* 1: missing keys reported here */
    "endpoint-id = a b\n"    /* 2 */
    "junk\n"                 /* 3 */
    "[gateway]\n"            /* 4 */
    "max-calls = 0\n";       /* 5 */
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);

  g_assert_null (amgw_config_load_data (text, -1, "t.conf", problems, NULL));
  amgw_test_dump_problems (problems);
  g_assert_cmpuint (problems->len, ==, 5);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (problems, 0), "t.conf:1: [room A] token"));
  g_assert_true (g_str_has_prefix (g_ptr_array_index (problems, 1), "t.conf:1: [room A] alexa-address"));
  g_assert_true (g_str_has_prefix (g_ptr_array_index (problems, 2), "t.conf:2: [room A] endpoint-id"));
  g_assert_true (g_str_has_prefix (g_ptr_array_index (problems, 3), "t.conf:3: [room A]: not a"));
  g_assert_true (g_str_has_prefix (g_ptr_array_index (problems, 4), "t.conf:5: [gateway] max-calls"));
}

static void
test_load_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("amgw-config-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "amgw.conf", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.conf", NULL);
  g_autofree char *expected_meetings = g_build_filename (dir, "meetings.ini", NULL);
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (AmgwConfig) config = NULL;
  g_autofree char *big = NULL;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (path, "[meetings]\ndirectory = meetings.ini\n", -1, NULL));
  config = amgw_config_load_file (path, problems, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (config->source, ==, path);
  g_assert_cmpstr (config->meetings_directory, ==, expected_meetings);
  g_clear_pointer (&config, amgw_config_free);

  config = amgw_config_load_file (missing, problems, &error);
  g_assert_null (config);
  g_assert_error (error, AMGW_CONFIG_ERROR, AMGW_CONFIG_ERROR_IO);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (problems, 0), missing));
  g_clear_error (&error);

  config = amgw_config_load_file (dir, NULL, &error);
  g_assert_error (error, AMGW_CONFIG_ERROR, AMGW_CONFIG_ERROR_IO);
  g_clear_error (&error);

  big = g_malloc (AMGW_MAX_CONFIG_BYTES + 10);
  memset (big, '#', AMGW_MAX_CONFIG_BYTES + 10);
  g_assert_true (g_file_set_contents (path, big, AMGW_MAX_CONFIG_BYTES + 10, NULL));
  config = amgw_config_load_file (path, NULL, &error);
  g_assert_error (error, AMGW_CONFIG_ERROR, AMGW_CONFIG_ERROR_TOO_BIG);
  g_clear_error (&error);

  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* docker/amgw.conf, the documented example, must load as it is. */
static void
test_example_file (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "docker", "amgw.conf", NULL);
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwConfig) config = NULL;
  const char *const keys[] = {
    "listen", "state-dir", "forwarding-secret", "max-calls", "api-url", "lwa-url", "client-id",
    "client-secret", "refresh-token", "request-timeout", "max-retries", "setup-timeout",
    "ring-timeout", "public-ip", "rtp-port-min", "rtp-port-max", "stun-server", "turn-server",
    "turn-user", "turn-password", "interfaces", "user", "password", "dtmf", "directory",
    "endpoint-id", "friendly-name", "token", "alexa-address-type", "alexa-address",
    "supports-scheduled-meeting", "codecs", "jitter-buffer", "drain-timeout", "cpu-limit", NULL
  };
  g_autofree char *text = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_test_skip ("docker/amgw.conf not found");
    return;
  }
  config = amgw_config_load_file (path, problems, &error);
  amgw_test_dump_problems (problems);
  g_assert_no_error (error);
  g_assert_cmpuint (config->rooms->len, >=, 1);
  g_assert_nonnull (config->meetings_directory);
  /* Every key is shown: set, or commented out where a value that works
   * everywhere cannot be given (a secret, an address, a server name). */
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  for (guint i = 0; keys[i] != NULL; i++) {
    g_autofree char *needle = g_strdup_printf ("\n%s = ", keys[i]);
    g_autofree char *commented = g_strdup_printf ("\n#%s = ", keys[i]);
    if (strstr (text, needle) == NULL && strstr (text, commented) == NULL)
      g_error ("docker/amgw.conf does not show %s", keys[i]);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *path = g_strdup_printf ("/config/case/%s", cases[i].name);
    g_test_add_data_func (path, &cases[i], test_case);
  }
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/embedded-default", test_embedded_default);
  g_test_add_func ("/config/values", test_values);
  g_test_add_func ("/config/sip-values", test_sip_values);
  g_test_add_func ("/config/enums", test_enums);
  g_test_add_func ("/config/too-many-rooms", test_too_many_rooms);
  g_test_add_func ("/config/too-big", test_too_big);
  g_test_add_func ("/config/many-problems-capped", test_many_problems_capped);
  g_test_add_func ("/config/problems-sorted", test_problems_sorted);
  g_test_add_func ("/config/load-file", test_load_file);
  g_test_add_func ("/config/example-file", test_example_file);
  return g_test_run ();
}
