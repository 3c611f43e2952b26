/* Unit tests for amgw_sip_build_target() (signaling/sip-leg.c): the
 * Request-URI of a bridge leg from JoinMeeting's endpoint, meeting id and
 * pin and a dial template. */
#include "amgw/sip-leg.h"

#include <string.h>

typedef struct {
  const char *name;
  const char *protocol;
  const char *endpoint;
  const char *id;
  const char *pin;
  const char *template;     /* NULL: the default "{id}" */
  const char *expect;       /* NULL: an error */
} Case;

static const Case cases[] = {
  { "host", "SIP", "bridge.example.com", "1234567", NULL, NULL, "sip:1234567@bridge.example.com" },
  { "host-port", "SIP", "127.0.0.1:5080", "1234567", "99", NULL, "sip:1234567@127.0.0.1:5080" },
  { "protocol-case", "sip", "10.0.0.1", "1", NULL, NULL, "sip:1@10.0.0.1" },
  { "sips", "SIPS", "bridge.example.com:5061", "42", NULL, NULL, "sips:42@bridge.example.com:5061" },
  { "sip-uri", "SIP", "sip:bridge.example.com", "42", NULL, NULL, "sip:42@bridge.example.com" },
  { "sip-uri-upper", "SIP", "SIP:bridge.example.com", "42", NULL, NULL, "sip:42@bridge.example.com" },
  { "sip-uri-for-sips", "SIPS", "sip:bridge.example.com", "42", NULL, NULL,
    "sips:42@bridge.example.com" },
  { "sips-uri-for-sip", "SIP", "sips:bridge.example.com", "42", NULL, NULL, NULL },
  { "transport-tcp", "SIP", "127.0.0.1:5060;transport=tcp", "7", NULL, NULL,
    "sip:7@127.0.0.1:5060;transport=tcp" },
  { "uri-transport", "SIP", "sip:bridge.example;transport=tcp;lr", "7", NULL, NULL,
    "sip:7@bridge.example;transport=tcp;lr" },
  { "ipv6-brackets", "SIP", "[2001:db8::1]:5060", "7", NULL, NULL, "sip:7@[2001:db8::1]:5060" },
  { "ipv6-bare", "SIP", "2001:db8::1", "7", NULL, NULL, "sip:7@[2001:db8::1]" },
  { "ipv6-bad", "SIP", "[2001:db8::zz]:5060", "7", NULL, NULL, NULL },
  { "no-id", "SIP", "bridge.example", NULL, NULL, NULL, "sip:bridge.example" },
  { "empty-id", "SIP", "bridge.example", "", NULL, NULL, "sip:bridge.example" },
  { "id-pin-template", "SIP", "bridge.example", "123", "456", "{id}#{pin}",
    "sip:123%23456@bridge.example" },
  { "pin-only-template", "SIP", "bridge.example", "123", "456", "conf{pin}",
    "sip:conf456@bridge.example" },
  { "endpoint-template", "SIP", "bridge.example:5070", "1", NULL, "{id}.{endpoint}",
    "sip:1.bridge.example%3A5070@bridge.example:5070" },
  { "escaping", "SIP", "bridge.example", "a b;c?d<e>\"f%", NULL, NULL,
    "sip:a%20b%3Bc%3Fd%3Ce%3E%22f%25@bridge.example" },
  { "user-unreserved-kept", "SIP", "bridge.example", "a-b_c.d!e~f*g'h(i)j&k=l+m$n,o/p", NULL, NULL,
    "sip:a-b_c.d!e~f*g'h(i)j&k=l+m$n,o/p@bridge.example" },
  { "utf8-escaped", "SIP", "bridge.example", "\xc3\xa9", NULL, NULL, "sip:%C3%A9@bridge.example" },
  { "endpoint-with-user", "SIP", "sip:meet42@bridge.example", "1", "2", NULL,
    "sip:meet42@bridge.example" },
  { "endpoint-user-no-scheme", "SIP", "room#1@bridge.example:5060", NULL, NULL, NULL,
    "sip:room%231@bridge.example:5060" },
  { "unknown-placeholder", "SIP", "bridge.example", "1", NULL, "{room}", NULL },
  { "unclosed-placeholder", "SIP", "bridge.example", "1", NULL, "{id", NULL },
  { "stray-brace", "SIP", "bridge.example", "1", NULL, "{id}}", NULL },
  { "at-in-template", "SIP", "bridge.example", "1", NULL, "{id}@x", NULL },
  { "h323", "H323", "bridge.example", "1", NULL, NULL, NULL },
  { "no-protocol", NULL, "bridge.example", "1", NULL, NULL, NULL },
  { "empty-endpoint", "SIP", "", "1", NULL, NULL, NULL },
  { "no-endpoint", "SIP", NULL, "1", NULL, NULL, NULL },
  { "scheme-only", "SIP", "sip:", "1", NULL, NULL, NULL },
  { "blank", "SIP", "bridge example", "1", NULL, NULL, NULL },
  { "angle", "SIP", "<sip:bridge>", "1", NULL, NULL, NULL },
  { "headers", "SIP", "sip:bridge.example?Subject=x", "1", NULL, NULL, NULL },
  { "port-zero", "SIP", "bridge.example:0", "1", NULL, NULL, NULL },
  { "port-big", "SIP", "bridge.example:65536", "1", NULL, NULL, NULL },
  { "port-text", "SIP", "bridge.example:http", "1", NULL, NULL, NULL },
  { "port-empty", "SIP", "bridge.example:", "1", NULL, NULL, NULL },
  { "host-bad-char", "SIP", "bri!dge.example", "1", NULL, NULL, NULL },
  { "host-leading-dot", "SIP", ".bridge", "1", NULL, NULL, NULL },
  { "empty-param", "SIP", "bridge.example;", "1", NULL, NULL, NULL },
  { "bad-param", "SIP", "bridge.example;transport=t cp", "1", NULL, NULL, NULL },
  { "empty-user", "SIP", "sip:@bridge.example", "1", NULL, NULL, NULL },
  { "control-in-id", "SIP", "bridge.example", "1\r\nX: y", NULL, NULL, NULL },
  { "control-in-pin", "SIP", "bridge.example", "1", "2\n", "{pin}", NULL },
};

static void
test_case (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *uri = amgw_sip_build_target (c->protocol, c->endpoint, c->id, c->pin,
      c->template, &error);

  if (c->expect == NULL) {
    g_assert_null (uri);
    g_assert_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET);
    g_test_message ("%s: %s", c->name, error->message);
    /* The error never quotes the pin. */
    if (c->pin && *c->pin)
      g_assert_null (strstr (error->message, c->pin));
  } else {
    g_assert_no_error (error);
    g_assert_cmpstr (uri, ==, c->expect);
  }
}

static void
test_limits (void)
{
  g_autofree char *long_id = g_strnfill (AMGW_SIP_MAX_FIELD_CHARS + 1, '1');
  g_autofree char *max_id = g_strnfill (AMGW_SIP_MAX_FIELD_CHARS, '#');
  g_autofree char *tmpl = g_strnfill (AMGW_SIP_MAX_FIELD_CHARS / 4, 'x');
  g_autoptr (GError) error = NULL;
  char *uri;

  uri = amgw_sip_build_target ("SIP", "bridge.example", long_id, NULL, NULL, &error);
  g_assert_null (uri);
  g_assert_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET);
  g_clear_error (&error);

  /* Escaping triples the length: past the URI ceiling it is an error. */
  g_free (tmpl);
  tmpl = g_strdup ("{id}{id}");
  uri = amgw_sip_build_target ("SIP", "bridge.example", max_id, NULL, tmpl, &error);
  g_assert_null (uri);
  g_assert_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET);
  g_clear_error (&error);

  uri = amgw_sip_build_target ("SIP", "bridge.example", max_id, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (uri), ==, strlen ("sip:@bridge.example") + 3 * AMGW_SIP_MAX_FIELD_CHARS);
  g_free (uri);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *path = g_strdup_printf ("/sip-dialstring/%s", cases[i].name);
    g_test_add_data_func (path, &cases[i], test_case);
  }
  g_test_add_func ("/sip-dialstring/limits", test_limits);
  return g_test_run ();
}
