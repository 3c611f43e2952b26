/* The fake cloud itself, against plain libsoup and libcurl clients: before
 * amgw is tested against the fake, the fake must be right (WIRE.md sections
 * 1 and 4).  Also the message builders of test-util. */
#include "fake-cloud.h"
#include "test-util.h"

#include <curl/curl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include <string.h>

#define CLIENT_ID "amzn1.application-oa2-client.test"
#define CLIENT_SECRET "test-client-secret"
#define REFRESH_TOKEN "Atzr|test-refresh-token"
#define FORM "application/x-www-form-urlencoded"
#define PREFIX "Alexa.Comms.CallSignaling."

typedef struct {
  FakeCloud *fc;
  char *signaling_url;
  char *access_token;
} Fixture;

/* ---- clients ---- */

typedef struct {
  long status;
  char *body;
  char *retry_after;
} CurlAnswer;

static void
curl_answer_clear (CurlAnswer *a)
{
  g_clear_pointer (&a->body, g_free);
  g_clear_pointer (&a->retry_after, g_free);
}

static size_t
curl_body_cb (char *data, size_t size, size_t n, void *user)
{
  g_string_append_len (user, data, (gssize) (size * n));
  return size * n;
}

static size_t
curl_header_cb (char *data, size_t size, size_t n, void *user)
{
  CurlAnswer *a = user;
  gsize len = size * n;

  if (len > 12 && g_ascii_strncasecmp (data, "Retry-After:", 12) == 0) {
    g_free (a->retry_after);
    a->retry_after = g_strstrip (g_strndup (data + 12, len - 12));
  }
  return len;
}

/* A POST with libcurl; returns the status. */
static long
curl_post (const char *url, const char *content_type, const char *bearer, const char *body,
    CurlAnswer *answer)
{
  CURL *curl = curl_easy_init ();
  struct curl_slist *headers = NULL;
  GString *received = g_string_new (NULL);
  g_autofree char *ct = g_strconcat ("Content-Type: ", content_type, NULL);
  g_autofree char *auth = bearer ? g_strconcat ("Authorization: Bearer ", bearer, NULL) : NULL;
  CURLcode rc;

  memset (answer, 0, sizeof *answer);
  headers = curl_slist_append (headers, ct);
  if (auth != NULL)
    headers = curl_slist_append (headers, auth);
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE, (long) strlen (body));
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, curl_body_cb);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, received);
  curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, curl_header_cb);
  curl_easy_setopt (curl, CURLOPT_HEADERDATA, answer);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_PROXY, "");
  rc = curl_easy_perform (curl);
  g_assert_cmpint (rc, ==, CURLE_OK);
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &answer->status);
  answer->body = g_string_free (received, FALSE);
  curl_slist_free_all (headers);
  curl_easy_cleanup (curl);
  return answer->status;
}

static char *
form_encode (const char *first_key, ...)
{
  GString *s = g_string_new (NULL);
  const char *key = first_key;
  va_list ap;

  va_start (ap, first_key);
  while (key != NULL) {
    const char *value = va_arg (ap, const char *);

    if (s->len > 0)
      g_string_append_c (s, '&');
    g_string_append_uri_escaped (s, key, NULL, FALSE);
    g_string_append_c (s, '=');
    g_string_append_uri_escaped (s, value, NULL, FALSE);
    key = va_arg (ap, const char *);
  }
  va_end (ap);
  return g_string_free (s, FALSE);
}

/* A refresh_token grant through libsoup.  Returns the status; *answer is the
 * parsed body. */
static guint
refresh (Fixture *f, const char *refresh_token, const char *client_id, const char *secret,
    cJSON **answer)
{
  g_autofree char *form = form_encode ("grant_type", "refresh_token", "refresh_token",
      refresh_token, "client_id", client_id, "client_secret", secret, NULL);
  g_autofree char *body = NULL;
  guint status;

  status = amgw_test_http ("POST", fake_cloud_lwa_url (f->fc), NULL, FORM, form, 0, &body);
  g_assert_nonnull (body);
  *answer = cJSON_Parse (body);
  g_assert_nonnull (*answer);
  return status;
}

static const char *
json_str (const cJSON *o, const char *name)
{
  const cJSON *m = cJSON_GetObjectItemCaseSensitive (o, name);

  return cJSON_IsString (m) ? m->valuestring : NULL;
}

static void
assert_token_error (guint status, cJSON *answer, const char *error)
{
  g_assert_cmpuint (status, ==, 400);
  g_assert_cmpstr (json_str (answer, "error"), ==, error);
  g_assert_nonnull (json_str (answer, "error_description"));
}

/* A conforming body for @op (WIRE.md section 1).  (transfer full) */
static char *
valid_signal (const char *op, const char *session_id)
{
  cJSON *o = cJSON_CreateObject ();
  g_autofree char *type = g_strconcat (PREFIX, op, NULL);
  char *printed, *ret;
  const char *sdp_type = NULL;

  cJSON_AddStringToObject (o, "type", type);
  cJSON_AddStringToObject (o, "sessionId", session_id);
  if (strcmp (op, "InitiateInboundCall") == 0) {
    cJSON *participants = cJSON_AddArrayToObject (o, "participants");
    cJSON *p, *id;

    p = cJSON_CreateObject ();
    id = cJSON_AddObjectToObject (p, "id");
    cJSON_AddStringToObject (id, "type", "RAW_ADDRESS");
    cJSON_AddStringToObject (id, "value", "sip:1234567@bridge.example");
    cJSON_AddTrueToObject (p, "isOriginator");
    cJSON_AddItemToArray (participants, p);
    p = cJSON_CreateObject ();
    id = cJSON_AddObjectToObject (p, "id");
    cJSON_AddStringToObject (id, "type", "COMMUNICATION_PROFILE_ID");
    cJSON_AddStringToObject (id, "value", "amzn1.comms.id.person.xyz");
    cJSON_AddFalseToObject (p, "isOriginator");
    cJSON_AddItemToArray (participants, p);
    cJSON_AddStringToObject (cJSON_AddObjectToObject (o, "customParams"), "callerName", "Room 1");
    sdp_type = "OFFER";
  } else if (strcmp (op, "CallInProgress") == 0 || strcmp (op, "CallAccepted") == 0) {
    sdp_type = "ANSWER";
  } else if (strcmp (op, "CallUpdate") == 0) {
    cJSON_AddStringToObject (o, "renegotiationType", "CALL_HOLD");
    sdp_type = "OFFER";
  } else if (strcmp (op, "CallUpdateResponse") == 0) {
    cJSON_AddStringToObject (o, "renegotiationType", "CALL_RESUME");
    sdp_type = "ANSWER";
  } else if (strcmp (op, "CallEnded") == 0) {
    cJSON *result = cJSON_AddObjectToObject (o, "callResult");

    cJSON_AddStringToObject (result, "code", "SUCCESS");
    cJSON_AddStringToObject (result, "message", "bye");
  }
  if (sdp_type != NULL) {
    cJSON *sdp = cJSON_AddObjectToObject (o, "sdpDetails");

    cJSON_AddStringToObject (sdp, "type", sdp_type);
    cJSON_AddStringToObject (sdp, "value", amgw_test_sdp (strcmp (sdp_type, "OFFER") == 0));
  }
  printed = cJSON_PrintUnformatted (o);
  ret = g_strdup (printed);
  cJSON_free (printed);
  cJSON_Delete (o);
  return ret;
}

static guint
post_signal (Fixture *f, const char *bearer, const char *body, char **answer)
{
  return amgw_test_http ("POST", f->signaling_url, bearer, NULL, body, 0, answer);
}

/* ---- fixture ---- */

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  cJSON *answer = NULL;

  f->fc = fake_cloud_new ();
  f->signaling_url = g_strconcat (fake_cloud_api_url (f->fc), "/v1/communications/signaling", NULL);
  fake_cloud_set_client (f->fc, CLIENT_ID, CLIENT_SECRET);
  fake_cloud_add_refresh_token (f->fc, REFRESH_TOKEN);
  g_assert_cmpuint (refresh (f, REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET, &answer), ==, 200);
  f->access_token = g_strdup (json_str (answer, "access_token"));
  cJSON_Delete (answer);
  fake_cloud_reset_requests (f->fc);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  fake_cloud_free (f->fc);
  g_free (f->signaling_url);
  g_free (f->access_token);
}

/* ---- Login with Amazon ---- */

static void
test_lwa_refresh (Fixture *f, gconstpointer data)
{
  cJSON *answer = NULL;
  const cJSON *expires;
  g_autofree char *last = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  FakeCloudRequest *r;

  g_assert_true (g_str_has_prefix (fake_cloud_lwa_url (f->fc), fake_cloud_api_url (f->fc)));
  g_assert_true (g_str_has_suffix (fake_cloud_lwa_url (f->fc), "/auth/o2/token"));

  g_assert_cmpuint (refresh (f, REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET, &answer), ==, 200);
  g_assert_true (g_str_has_prefix (json_str (answer, "access_token"), "Atza|"));
  g_assert_cmpstr (json_str (answer, "access_token"), !=, f->access_token);
  g_assert_cmpstr (json_str (answer, "token_type"), ==, "bearer");
  expires = cJSON_GetObjectItemCaseSensitive (answer, "expires_in");
  g_assert_true (cJSON_IsNumber (expires));
  g_assert_cmpint (expires->valueint, ==, 3600);
  /* Not rotating: WIRE.md says the refresh token may be absent. */
  g_assert_null (cJSON_GetObjectItemCaseSensitive (answer, "refresh_token"));
  last = fake_cloud_dup_access_token (f->fc);
  g_assert_cmpstr (last, ==, json_str (answer, "access_token"));
  cJSON_Delete (answer);

  g_assert_cmpuint (fake_cloud_lwa_count (f->fc), ==, 1);
  g_assert_cmpuint (fake_cloud_refresh_count (f->fc), ==, 1);
  requests = fake_cloud_lwa_requests (f->fc);
  g_assert_cmpuint (requests->len, ==, 1);
  r = g_ptr_array_index (requests, 0);
  g_assert_cmpstr (r->method, ==, "POST");
  g_assert_cmpstr (r->path, ==, "/auth/o2/token");
  g_assert_nonnull (r->form);
  g_assert_cmpstr (g_hash_table_lookup (r->form, "refresh_token"), ==, REFRESH_TOKEN);
  g_assert_null (r->validation_error);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpint (r->received_us, >, 0);
}

static void
test_lwa_rotate (Fixture *f, gconstpointer data)
{
  cJSON *answer = NULL, *second = NULL;
  g_autofree char *rotated = NULL;

  fake_cloud_set_rotate_refresh_token (f->fc, TRUE);
  g_assert_cmpuint (refresh (f, REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET, &answer), ==, 200);
  g_assert_true (g_str_has_prefix (json_str (answer, "refresh_token"), "Atzr|"));
  rotated = g_strdup (json_str (answer, "refresh_token"));
  cJSON_Delete (answer);
  g_assert_cmpstr (rotated, !=, REFRESH_TOKEN);

  /* The new one works. */
  g_assert_cmpuint (refresh (f, rotated, CLIENT_ID, CLIENT_SECRET, &second), ==, 200);
  g_assert_true (g_str_has_prefix (json_str (second, "access_token"), "Atza|"));
  cJSON_Delete (second);
  g_assert_cmpuint (fake_cloud_refresh_count (f->fc), ==, 2);
}

static void
test_lwa_auth_code (Fixture *f, gconstpointer data)
{
  g_autofree char *form = form_encode ("grant_type", "authorization_code", "code", "code-1",
      "client_id", CLIENT_ID, "client_secret", CLIENT_SECRET,
      "redirect_uri", "https://example.com/cb", NULL);
  g_autofree char *without_redirect = form_encode ("grant_type", "authorization_code",
      "code", "code-2", "client_id", CLIENT_ID, "client_secret", CLIENT_SECRET, NULL);
  CurlAnswer a;
  cJSON *answer, *again = NULL;

  fake_cloud_add_auth_code (f->fc, "code-1", "Atzr|linked-1");
  fake_cloud_add_auth_code (f->fc, "code-2", NULL);

  g_assert_cmpint (curl_post (fake_cloud_lwa_url (f->fc), FORM, NULL, form, &a), ==, 200);
  answer = cJSON_Parse (a.body);
  g_assert_true (g_str_has_prefix (json_str (answer, "access_token"), "Atza|"));
  g_assert_cmpstr (json_str (answer, "token_type"), ==, "bearer");
  /* An authorization_code answer always carries the refresh token. */
  g_assert_cmpstr (json_str (answer, "refresh_token"), ==, "Atzr|linked-1");
  cJSON_Delete (answer);
  curl_answer_clear (&a);

  /* One time only. */
  g_assert_cmpint (curl_post (fake_cloud_lwa_url (f->fc), FORM, NULL, form, &a), ==, 400);
  answer = cJSON_Parse (a.body);
  assert_token_error (400, answer, "invalid_grant");
  cJSON_Delete (answer);
  curl_answer_clear (&a);

  /* The granted refresh token is now valid. */
  g_assert_cmpuint (refresh (f, "Atzr|linked-1", CLIENT_ID, CLIENT_SECRET, &again), ==, 200);
  cJSON_Delete (again);

  /* redirect_uri is optional; without a preset refresh token one is made. */
  g_assert_cmpint (curl_post (fake_cloud_lwa_url (f->fc), FORM, NULL, without_redirect, &a), ==, 200);
  answer = cJSON_Parse (a.body);
  g_assert_true (g_str_has_prefix (json_str (answer, "refresh_token"), "Atzr|"));
  cJSON_Delete (answer);
  curl_answer_clear (&a);

  g_assert_cmpuint (fake_cloud_lwa_count (f->fc), ==, 4);
  g_assert_cmpuint (fake_cloud_refresh_count (f->fc), ==, 1);
}

static void
test_lwa_invalid_client (Fixture *f, gconstpointer data)
{
  g_autofree char *no_secret = form_encode ("grant_type", "refresh_token",
      "refresh_token", REFRESH_TOKEN, "client_id", CLIENT_ID, NULL);
  g_autofree char *body = NULL;
  cJSON *answer = NULL;
  guint status;

  status = refresh (f, REFRESH_TOKEN, CLIENT_ID, "wrong", &answer);
  assert_token_error (status, answer, "invalid_client");
  cJSON_Delete (answer);
  status = refresh (f, REFRESH_TOKEN, "someone-else", CLIENT_SECRET, &answer);
  assert_token_error (status, answer, "invalid_client");
  cJSON_Delete (answer);

  status = amgw_test_http ("POST", fake_cloud_lwa_url (f->fc), NULL, FORM, no_secret, 0, &body);
  answer = cJSON_Parse (body);
  assert_token_error (status, answer, "invalid_client");
  cJSON_Delete (answer);
}

static void
test_lwa_revoke (Fixture *f, gconstpointer data)
{
  cJSON *answer = NULL;
  guint status;

  fake_cloud_revoke_refresh_token (f->fc, REFRESH_TOKEN);
  status = refresh (f, REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET, &answer);
  assert_token_error (status, answer, "invalid_grant");
  cJSON_Delete (answer);
  /* An unknown token is as good as a revoked one. */
  status = refresh (f, "Atzr|never-issued", CLIENT_ID, CLIENT_SECRET, &answer);
  assert_token_error (status, answer, "invalid_grant");
  cJSON_Delete (answer);
  g_assert_cmpuint (fake_cloud_refresh_count (f->fc), ==, 2);
}

static void
test_lwa_malformed (Fixture *f, gconstpointer data)
{
  g_autofree char *good = form_encode ("grant_type", "refresh_token", "refresh_token",
      REFRESH_TOKEN, "client_id", CLIENT_ID, "client_secret", CLIENT_SECRET, NULL);
  g_autofree char *password = form_encode ("grant_type", "password", "client_id", CLIENT_ID,
      "client_secret", CLIENT_SECRET, NULL);
  g_autofree char *no_grant = form_encode ("client_id", CLIENT_ID, "client_secret",
      CLIENT_SECRET, NULL);
  g_autofree char *no_code = form_encode ("grant_type", "authorization_code", "client_id",
      CLIENT_ID, "client_secret", CLIENT_SECRET, NULL);
  g_autoptr (GPtrArray) requests = NULL;
  CurlAnswer a;
  cJSON *answer;
  guint i;

  /* The right fields, JSON-typed: form encoding is required. */
  curl_post (fake_cloud_lwa_url (f->fc), "application/json", NULL, good, &a);
  answer = cJSON_Parse (a.body);
  assert_token_error ((guint) a.status, answer, "invalid_request");
  cJSON_Delete (answer);
  curl_answer_clear (&a);

  curl_post (fake_cloud_lwa_url (f->fc), FORM, NULL, password, &a);
  answer = cJSON_Parse (a.body);
  assert_token_error ((guint) a.status, answer, "unsupported_grant_type");
  cJSON_Delete (answer);
  curl_answer_clear (&a);

  curl_post (fake_cloud_lwa_url (f->fc), FORM, NULL, no_grant, &a);
  answer = cJSON_Parse (a.body);
  assert_token_error ((guint) a.status, answer, "invalid_request");
  cJSON_Delete (answer);
  curl_answer_clear (&a);

  curl_post (fake_cloud_lwa_url (f->fc), FORM "; charset=UTF-8", NULL, no_code, &a);
  answer = cJSON_Parse (a.body);
  assert_token_error ((guint) a.status, answer, "invalid_request");
  cJSON_Delete (answer);
  curl_answer_clear (&a);

  requests = fake_cloud_lwa_requests (f->fc);
  g_assert_cmpuint (requests->len, ==, 4);
  for (i = 0; i < requests->len; i++) {
    FakeCloudRequest *r = g_ptr_array_index (requests, i);

    g_assert_nonnull (r->validation_error);
    g_assert_cmpuint (r->status, ==, 400);
  }
  g_assert_null (((FakeCloudRequest *) g_ptr_array_index (requests, 0))->form);
}

static void
test_lwa_expires_in (Fixture *f, gconstpointer data)
{
  g_autofree char *body = valid_signal ("CallRinging", "s-expiry");
  cJSON *answer = NULL;
  const cJSON *expires;
  g_autofree char *token = NULL;
  gint64 deadline;
  guint status;

  fake_cloud_set_expires_in (f->fc, 1);
  g_assert_cmpuint (refresh (f, REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET, &answer), ==, 200);
  expires = cJSON_GetObjectItemCaseSensitive (answer, "expires_in");
  g_assert_cmpint (expires->valueint, ==, 1);
  token = g_strdup (json_str (answer, "access_token"));
  cJSON_Delete (answer);

  g_assert_cmpuint (post_signal (f, token, body, NULL), ==, 200);
  /* The token really expires after expires_in. */
  deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  do {
    status = post_signal (f, token, body, NULL);
    if (status == 200)
      g_usleep (50 * 1000);
  } while (status == 200 && g_get_monotonic_time () < deadline);
  g_assert_cmpuint (status, ==, 401);
  /* The fixture's token, issued with expires_in 3600, still works. */
  g_assert_cmpuint (post_signal (f, f->access_token, body, NULL), ==, 200);
}

/* ---- signaling ---- */

static const char *const partner_ops[] = {
  "InitiateInboundCall", "CallRingingAck", "CallInProgressAck", "CallAcceptedAck",
  "CallRinging", "CallInProgress", "CallAccepted", "CallUpdate", "CallUpdateResponse",
  "CallUpdateAck", "CallEnded",
};

static void
test_signal_valid (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) requests = NULL;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (partner_ops); i++) {
    g_autofree char *session = g_strdup_printf ("session-%u", i);
    g_autofree char *body = valid_signal (partner_ops[i], session);
    g_autofree char *answer = NULL;
    cJSON *json;

    g_assert_cmpuint (post_signal (f, f->access_token, body, &answer), ==, 200);
    json = cJSON_Parse (answer);
    g_assert_cmpstr (json_str (json, "sessionId"), ==, session);
    cJSON_Delete (json);
  }
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, G_N_ELEMENTS (partner_ops));
  requests = fake_cloud_signaling_requests (f->fc);
  for (i = 0; i < requests->len; i++) {
    FakeCloudRequest *r = g_ptr_array_index (requests, i);
    g_autofree char *session = g_strdup_printf ("session-%u", i);
    g_autofree char *bearer = g_strconcat ("Bearer ", f->access_token, NULL);

    g_assert_null (r->validation_error);
    g_assert_cmpstr (r->type, ==, partner_ops[i]);
    g_assert_cmpstr (r->session_id, ==, session);
    g_assert_cmpuint (r->status, ==, 200);
    g_assert_cmpstr (r->authorization, ==, bearer);
    g_assert_cmpstr (r->content_type, ==, "application/json");
    g_assert_true (cJSON_IsObject (r->json));
    g_assert_null (r->form);
    g_assert_cmpuint (r->body_len, ==, strlen (r->body));
  }
}

static void
test_signal_content_type (Fixture *f, gconstpointer data)
{
  g_autofree char *body = valid_signal ("CallAccepted", "s-ct");
  CurlAnswer a;

  g_assert_cmpint (curl_post (f->signaling_url, "application/json; charset=utf-8",
      f->access_token, body, &a), ==, 200);
  curl_answer_clear (&a);
  g_assert_cmpint (curl_post (f->signaling_url, "Application/JSON;charset=\"UTF-8\"",
      f->access_token, body, &a), ==, 200);
  curl_answer_clear (&a);
  g_assert_cmpint (curl_post (f->signaling_url, "text/plain", f->access_token, body, &a), ==, 400);
  g_assert_nonnull (strstr (a.body, "Content-Type"));
  curl_answer_clear (&a);
  g_assert_cmpint (curl_post (f->signaling_url, "application/json; charset=iso-8859-1",
      f->access_token, body, &a), ==, 400);
  curl_answer_clear (&a);
}

static void
test_signal_unauthorized (Fixture *f, gconstpointer data)
{
  g_autofree char *body = valid_signal ("CallRinging", "s-auth");
  g_autofree char *answer = NULL;
  g_autofree char *answer2 = NULL;
  g_autofree char *invalid = valid_signal ("CallRinging", "");
  g_autoptr (GPtrArray) requests = NULL;
  cJSON *json;

  /* A scripted answer is not spent on a request without a valid token. */
  fake_cloud_push_response (f->fc, 503, NULL, NULL);

  g_assert_cmpuint (post_signal (f, NULL, body, &answer), ==, 401);
  json = cJSON_Parse (answer);
  g_assert_nonnull (json_str (json, "message"));
  cJSON_Delete (json);
  g_assert_cmpuint (post_signal (f, "Atza|not-issued", body, NULL), ==, 401);
  g_assert_cmpuint (amgw_test_http ("POST", f->signaling_url, NULL, NULL, body, 0, NULL), ==, 401);

  g_assert_cmpuint (post_signal (f, f->access_token, body, NULL), ==, 503);
  fake_cloud_expire_access_tokens (f->fc);
  g_assert_cmpuint (post_signal (f, f->access_token, body, &answer2), ==, 401);
  /* Refused and non-conforming: still recorded as such. */
  g_assert_cmpuint (post_signal (f, f->access_token, invalid, NULL), ==, 401);

  requests = fake_cloud_signaling_requests (f->fc);
  g_assert_cmpuint (requests->len, ==, 6);
  g_assert_cmpuint (((FakeCloudRequest *) requests->pdata[0])->status, ==, 401);
  g_assert_null (((FakeCloudRequest *) requests->pdata[0])->authorization);
  g_assert_null (((FakeCloudRequest *) requests->pdata[0])->validation_error);
  g_assert_cmpuint (((FakeCloudRequest *) requests->pdata[3])->status, ==, 503);
  g_assert_cmpuint (((FakeCloudRequest *) requests->pdata[4])->status, ==, 401);
  g_assert_nonnull (((FakeCloudRequest *) requests->pdata[5])->validation_error);
}

typedef struct {
  const char *body;
  const char *reason;      /* a part of the validation error */
} InvalidCase;

#define P_ORIG "{\"id\":{\"type\":\"RAW_ADDRESS\",\"value\":\"sip:a@b\"},\"isOriginator\":true}"
#define P_CALLEE "{\"id\":{\"type\":\"COMMUNICATION_PROFILE_ID\",\"value\":\"amzn1.x\"},\"isOriginator\":false}"
#define OFFER "\"sdpDetails\":{\"type\":\"OFFER\",\"value\":\"v=0\\r\\n\"}"
#define ANSWER "\"sdpDetails\":{\"type\":\"ANSWER\",\"value\":\"v=0\\r\\n\"}"
#define T(op) "\"type\":\"" PREFIX op "\",\"sessionId\":\"s-1\""

static const InvalidCase invalid_cases[] = {
  { "not json", "not JSON" },
  { "[]", "not a JSON object" },
  { "{\"sessionId\":\"s-1\"}", "type" },
  { "{\"type\":\"CallRinging\",\"sessionId\":\"s-1\"}", "does not start" },
  { "{" T ("InitiateOutboundCall") "," OFFER "}", "not an operation" },
  { "{\"type\":\"" PREFIX "CallRinging\"}", "sessionId" },
  { "{\"type\":\"" PREFIX "CallRinging\",\"sessionId\":\"\"}", "sessionId" },
  { "{\"type\":\"" PREFIX "CallRinging\",\"sessionId\":7}", "sessionId" },
  { "{\"type\":\"" PREFIX "CallRinging\",\"sessionID\":\"s-1\"}", "unexpected member" },
  { "{" T ("CallRingingAck") "," ANSWER "}", "unexpected member" },
  { "{" T ("CallRinging") ",\"sessionId\":\"s-2\"}", "twice" },
  { "{" T ("InitiateInboundCall") ",\"participants\":[" P_ORIG "," P_ORIG "]," OFFER "}",
    "exactly one originator" },
  { "{" T ("InitiateInboundCall") ",\"participants\":[" P_CALLEE "]," OFFER "}",
    "exactly one originator" },
  { "{" T ("InitiateInboundCall") ",\"participants\":[" P_ORIG "]," OFFER "}", "callee" },
  { "{" T ("InitiateInboundCall") ",\"participants\":[]," OFFER "}", "participants" },
  { "{" T ("InitiateInboundCall") "," OFFER "}", "participants" },
  { "{" T ("InitiateInboundCall") ",\"participants\":[" P_ORIG ",{\"id\":{\"type\":\"SIP_URI\","
    "\"value\":\"x\"},\"isOriginator\":false}]," OFFER "}", "id.type" },
  { "{" T ("InitiateInboundCall") ",\"participants\":[" P_ORIG ",{\"id\":{\"type\":\"PHONE_NUMBER\","
    "\"value\":\"+1\"}}]," OFFER "}", "isOriginator" },
  { "{" T ("InitiateInboundCall") ",\"participants\":[" P_ORIG ",{\"id\":{\"type\":\"PHONE_NUMBER\","
    "\"value\":\"+1\"},\"isOriginator\":\"false\"}]," OFFER "}", "isOriginator" },
  { "{" T ("InitiateInboundCall") ",\"participants\":[" P_ORIG "," P_CALLEE "]," ANSWER "}",
    "\"OFFER\"" },
  { "{" T ("InitiateInboundCall") ",\"participants\":[" P_ORIG "," P_CALLEE "]}", "sdpDetails" },
  { "{" T ("InitiateInboundCall") ",\"participants\":[" P_ORIG "," P_CALLEE "],"
    "\"sdpDetails\":{\"type\":\"OFFER\",\"value\":\"o=- 1 1 IN IP4 x\"}}", "v=0" },
  { "{" T ("InitiateInboundCall") ",\"participants\":[" P_ORIG "," P_CALLEE "]," OFFER ","
    "\"customParams\":{\"callerName\":5}}", "callerName" },
  { "{" T ("CallAccepted") "," OFFER "}", "\"ANSWER\"" },
  { "{" T ("CallInProgress") "}", "sdpDetails" },
  { "{" T ("CallUpdate") ",\"renegotiationType\":\"HOLD\"," OFFER "}", "renegotiationType" },
  { "{" T ("CallUpdate") "," OFFER "}", "renegotiationType" },
  { "{" T ("CallUpdateResponse") ",\"renegotiationType\":\"CALL_UPDATE\"," OFFER "}",
    "\"ANSWER\"" },
  { "{" T ("CallEnded") "}", "callResult" },
  { "{" T ("CallEnded") ",\"callResult\":{\"code\":\"BUSY\"}}", "callResult.code" },
  { "{" T ("CallEnded") ",\"callResult\":{\"code\":\"SUCCESS\",\"message\":42}}",
    "callResult.message" },
};

static void
test_signal_invalid (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) requests = NULL;
  guint i;

  /* Scripted answers are for conforming requests only. */
  fake_cloud_push_response (f->fc, 500, NULL, NULL);

  for (i = 0; i < G_N_ELEMENTS (invalid_cases); i++) {
    g_autofree char *answer = NULL;
    cJSON *json;

    g_test_message ("case %u: %s", i, invalid_cases[i].body);
    g_assert_cmpuint (post_signal (f, f->access_token, invalid_cases[i].body, &answer), ==, 400);
    json = cJSON_Parse (answer);
    g_assert_nonnull (json_str (json, "message"));
    g_assert_nonnull (strstr (json_str (json, "message"), invalid_cases[i].reason));
    cJSON_Delete (json);
  }
  requests = fake_cloud_signaling_requests (f->fc);
  g_assert_cmpuint (requests->len, ==, G_N_ELEMENTS (invalid_cases));
  for (i = 0; i < requests->len; i++) {
    FakeCloudRequest *r = g_ptr_array_index (requests, i);

    g_assert_nonnull (r->validation_error);
    g_assert_nonnull (strstr (r->validation_error, invalid_cases[i].reason));
    g_assert_cmpuint (r->status, ==, 400);
  }
  g_assert_cmpstr (((FakeCloudRequest *) requests->pdata[0])->body, ==, "not json");
  g_assert_null (((FakeCloudRequest *) requests->pdata[0])->json);
  /* Without the prefix the raw type is recorded, to help a wait find it. */
  g_assert_cmpstr (((FakeCloudRequest *) requests->pdata[3])->type, ==, "CallRinging");

  /* The 500 is still queued. */
  {
    g_autofree char *ok = valid_signal ("CallRinging", "s-after");

    g_assert_cmpuint (post_signal (f, f->access_token, ok, NULL), ==, 500);
  }
}

static void
test_signal_scripted (Fixture *f, gconstpointer data)
{
  g_autofree char *ringing = valid_signal ("CallRinging", "s-script");
  g_autofree char *ended = valid_signal ("CallEnded", "s-script");
  g_autoptr (GPtrArray) requests = NULL;
  CurlAnswer a;
  cJSON *json;

  fake_cloud_push_response (f->fc, 503, "2", NULL);
  fake_cloud_push_response (f->fc, 409, NULL, "{\"message\":\"busy with another\"}");
  fake_cloud_push_response_for (f->fc, "CallEnded", 429, "1", NULL);
  fake_cloud_push_response_for (f->fc, "CallEnded", 404, NULL, "{\"message\":\"no session\"}");

  /* The per-operation queue comes first, in order. */
  g_assert_cmpint (curl_post (f->signaling_url, "application/json", f->access_token, ended, &a), ==, 429);
  g_assert_cmpstr (a.retry_after, ==, "1");
  json = cJSON_Parse (a.body);
  g_assert_nonnull (json_str (json, "message"));
  cJSON_Delete (json);
  curl_answer_clear (&a);
  g_assert_cmpint (curl_post (f->signaling_url, "application/json", f->access_token, ended, &a), ==, 404);
  g_assert_null (a.retry_after);
  g_assert_cmpstr (a.body, ==, "{\"message\":\"no session\"}");
  curl_answer_clear (&a);

  /* Then the general queue, for any operation. */
  g_assert_cmpint (curl_post (f->signaling_url, "application/json", f->access_token, ringing, &a), ==, 503);
  g_assert_cmpstr (a.retry_after, ==, "2");
  curl_answer_clear (&a);
  g_assert_cmpint (curl_post (f->signaling_url, "application/json", f->access_token, ended, &a), ==, 409);
  g_assert_cmpstr (a.body, ==, "{\"message\":\"busy with another\"}");
  curl_answer_clear (&a);

  /* Queues empty: 200. */
  g_assert_cmpint (curl_post (f->signaling_url, "application/json", f->access_token, ended, &a), ==, 200);
  g_assert_null (a.retry_after);
  curl_answer_clear (&a);

  requests = fake_cloud_signaling_requests (f->fc);
  g_assert_cmpuint (requests->len, ==, 5);
  g_assert_cmpuint (((FakeCloudRequest *) requests->pdata[0])->status, ==, 429);
  g_assert_cmpuint (((FakeCloudRequest *) requests->pdata[2])->status, ==, 503);
  g_assert_cmpuint (((FakeCloudRequest *) requests->pdata[4])->status, ==, 200);
}

static void
test_other_paths (Fixture *f, gconstpointer data)
{
  g_autofree char *root = g_strconcat (fake_cloud_api_url (f->fc), "/", NULL);
  g_autofree char *other = g_strconcat (fake_cloud_api_url (f->fc), "/v1/communications/other", NULL);
  g_autofree char *closed = NULL;
  FakeCloud *gone;
  char *body = NULL;

  g_assert_cmpuint (amgw_test_http ("GET", root, NULL, NULL, NULL, 0, NULL), ==, 404);
  g_assert_cmpuint (amgw_test_http ("POST", other, f->access_token, NULL, "{}", 0, NULL), ==, 404);
  g_assert_cmpuint (amgw_test_http ("GET", f->signaling_url, f->access_token, NULL, NULL, 0, NULL),
      ==, 405);
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, 1);

  /* A transport failure is status 0. */
  gone = fake_cloud_new ();
  closed = g_strdup (fake_cloud_api_url (gone));
  fake_cloud_free (gone);
  g_assert_cmpuint (amgw_test_http ("GET", closed, NULL, NULL, NULL, 0, &body), ==, 0);
  g_assert_null (body);
}

/* ---- waiting and threads ---- */

typedef struct {
  Fixture *f;
  const char *op;
  const char *session;
  guint delay_ms;
  guint status;
} Sender;

static gpointer
send_later (gpointer data)
{
  Sender *s = data;
  g_autofree char *body = valid_signal (s->op, s->session);

  g_usleep (s->delay_ms * 1000);
  s->status = post_signal (s->f, s->f->access_token, body, NULL);
  return NULL;
}

static void
test_wait_signal (Fixture *f, gconstpointer data)
{
  Sender sender = { f, "CallEnded", "s-wait", 200, 0 };
  FakeCloudRequest *r, *first;
  GThread *thread;
  gint64 start, elapsed;
  g_autofree char *a = valid_signal ("CallEnded", "s-a");
  g_autofree char *b = valid_signal ("CallEnded", "s-b");

  /* Nothing comes: NULL after the timeout. */
  start = g_get_monotonic_time ();
  g_assert_null (fake_cloud_wait_signal (f->fc, "CallEnded", NULL, 150));
  elapsed = g_get_monotonic_time () - start;
  g_assert_cmpint (elapsed, >=, 150 * 1000);
  g_assert_cmpint (elapsed, <, 5 * G_USEC_PER_SEC);

  /* The test blocks; the fake answers a request that arrives meanwhile. */
  thread = g_thread_new ("sender", send_later, &sender);
  r = fake_cloud_wait_signal (f->fc, "CallEnded", "s-wait", 10000);
  g_assert_nonnull (r);
  g_assert_cmpstr (r->type, ==, "CallEnded");
  g_assert_cmpstr (r->session_id, ==, "s-wait");
  g_assert_null (r->validation_error);
  g_thread_join (thread);
  g_assert_cmpuint (sender.status, ==, 200);
  /* Returned once only. */
  g_assert_null (fake_cloud_wait_signal (f->fc, "CallEnded", "s-wait", 50));

  /* Matching by session, then the first not yet returned. */
  g_assert_cmpuint (post_signal (f, f->access_token, a, NULL), ==, 200);
  g_assert_cmpuint (post_signal (f, f->access_token, b, NULL), ==, 200);
  r = fake_cloud_wait_signal (f->fc, "CallEnded", "s-b", 1000);
  g_assert_cmpstr (r->session_id, ==, "s-b");
  first = fake_cloud_wait_signal (f->fc, "CallEnded", NULL, 1000);
  g_assert_cmpstr (first->session_id, ==, "s-a");
  g_assert_null (fake_cloud_wait_signal (f->fc, "CallEnded", NULL, 50));
  g_assert_null (fake_cloud_wait_signal (f->fc, "CallRinging", "s-a", 50));

  /* Reset forgets requests and consumption; old pointers stay valid. */
  fake_cloud_reset_requests (f->fc);
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, 0);
  g_assert_cmpuint (fake_cloud_lwa_count (f->fc), ==, 0);
  g_assert_cmpstr (first->session_id, ==, "s-a");
  g_assert_cmpuint (post_signal (f, f->access_token, a, NULL), ==, 200);
  r = fake_cloud_wait_signal (f->fc, "CallEnded", "s-a", 1000);
  g_assert_nonnull (r);
  g_assert_true (r != first);
}

typedef struct {
  Fixture *f;
  guint status;
  gint64 done_us;
} TokenRequest;

static gpointer
token_request_thread (gpointer data)
{
  TokenRequest *t = data;
  cJSON *answer = NULL;

  t->status = refresh (t->f, REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET, &answer);
  t->done_us = g_get_monotonic_time ();
  cJSON_Delete (answer);
  return NULL;
}

static gboolean
one_lwa_request (gpointer data)
{
  return fake_cloud_lwa_count (data) == 1;
}

static void
test_lwa_delay (Fixture *f, gconstpointer data)
{
  TokenRequest t = { f, 0, 0 };
  g_autofree char *body = valid_signal ("CallRinging", "s-delay");
  GThread *thread;
  gint64 start, signaled_us;

  fake_cloud_set_lwa_delay_ms (f->fc, 800);
  start = g_get_monotonic_time ();
  thread = g_thread_new ("token", token_request_thread, &t);
  g_assert_true (amgw_test_wait_until (one_lwa_request, f->fc, 5000));

  /* While the token answer is held back, signaling is still served. */
  g_assert_cmpuint (post_signal (f, f->access_token, body, NULL), ==, 200);
  signaled_us = g_get_monotonic_time ();
  g_thread_join (thread);
  g_assert_cmpuint (t.status, ==, 200);
  g_assert_cmpint (t.done_us - start, >=, 800 * 1000);
  g_assert_cmpint (signaled_us, <, t.done_us);

  /* A client that gives up on a held-back answer does not upset the fake. */
  {
    g_autofree char *form = form_encode ("grant_type", "refresh_token", "refresh_token",
        REFRESH_TOKEN, "client_id", CLIENT_ID, "client_secret", CLIENT_SECRET, NULL);
    CURL *curl = curl_easy_init ();

    curl_easy_setopt (curl, CURLOPT_URL, fake_cloud_lwa_url (f->fc));
    curl_easy_setopt (curl, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, 100L);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_PROXY, "");
    g_assert_cmpint (curl_easy_perform (curl), ==, CURLE_OPERATION_TIMEDOUT);
    curl_easy_cleanup (curl);
  }
  fake_cloud_set_lwa_delay_ms (f->fc, 0);
  g_assert_cmpuint (post_signal (f, f->access_token, body, NULL), ==, 200);
}

static void
test_lwa_delay_pending_at_free (void)
{
  FakeCloud *fc = fake_cloud_new ();
  g_autofree char *form = form_encode ("grant_type", "refresh_token", "refresh_token",
      REFRESH_TOKEN, "client_id", CLIENT_ID, "client_secret", CLIENT_SECRET, NULL);
  CURL *curl = curl_easy_init ();

  /* No set_client: any non-empty pair is accepted. */
  fake_cloud_add_refresh_token (fc, REFRESH_TOKEN);
  fake_cloud_set_lwa_delay_ms (fc, 60000);
  curl_easy_setopt (curl, CURLOPT_URL, fake_cloud_lwa_url (fc));
  curl_easy_setopt (curl, CURLOPT_POSTFIELDS, form);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, 200L);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_PROXY, "");
  curl_easy_setopt (curl, CURLOPT_FORBID_REUSE, 1L);
  g_assert_cmpint (curl_easy_perform (curl), ==, CURLE_OPERATION_TIMEDOUT);
  g_assert_cmpuint (fake_cloud_lwa_count (fc), ==, 1);
  /* Freed with an answer still held back (and its client maybe connected). */
  fake_cloud_free (fc);
  curl_easy_cleanup (curl);
}

#define N_THREADS 8
#define N_PER_THREAD 10

typedef struct {
  Fixture *f;
  guint index;
  guint ok;
} Hammer;

static gpointer
hammer_thread (gpointer data)
{
  Hammer *h = data;
  guint i;

  for (i = 0; i < N_PER_THREAD; i++) {
    g_autofree char *session = g_strdup_printf ("s-%u-%u", h->index, i);
    g_autofree char *body = valid_signal (i % 2 ? "CallRinging" : "CallAccepted", session);

    if (post_signal (h->f, h->f->access_token, body, NULL) == 200)
      h->ok++;
  }
  return NULL;
}

static void
test_concurrent (Fixture *f, gconstpointer data)
{
  Hammer hammers[N_THREADS];
  GThread *threads[N_THREADS];
  guint i, j;

  for (i = 0; i < N_THREADS; i++) {
    hammers[i] = (Hammer) { f, i, 0 };
    threads[i] = g_thread_new ("hammer", hammer_thread, &hammers[i]);
  }
  /* Wait for the last request of one of them while they run. */
  g_assert_nonnull (fake_cloud_wait_signal (f->fc, "CallRinging", "s-0-9", 10000));
  for (i = 0; i < N_THREADS; i++) {
    g_thread_join (threads[i]);
    g_assert_cmpuint (hammers[i].ok, ==, N_PER_THREAD);
  }
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, N_THREADS * N_PER_THREAD);
  for (i = 0; i < N_THREADS; i++) {
    for (j = 0; j < N_PER_THREAD; j++) {
      g_autofree char *session = g_strdup_printf ("s-%u-%u", i, j);

      if (i == 0 && j == N_PER_THREAD - 1)
        continue;
      g_assert_nonnull (fake_cloud_wait_signal (f->fc, j % 2 ? "CallRinging" : "CallAccepted",
          session, 0));
    }
  }
}

/* ---- test-util's builders ---- */

static void
test_util_directive (void)
{
  g_autofree char *text = amgw_test_directive ("Alexa.MeetingClientController", "JoinMeeting",
      "room-1", "scope-token", "{\"meeting\":{\"endpoint\":\"sip:1@x\",\"protocol\":\"SIP\"}}");
  g_autofree char *discover = amgw_test_directive ("Alexa.Discovery", "Discover", "room-1",
      "scope-token", NULL);
  g_autofree char *grant = amgw_test_directive ("Alexa.Authorization", "AcceptGrant", "room-1",
      "scope-token", "{\"grant\":{\"type\":\"OAuth2.AuthorizationCode\",\"code\":\"c\"},"
      "\"grantee\":{\"type\":\"BearerToken\",\"token\":\"g\"}}");
  cJSON *root = cJSON_Parse (text);
  const cJSON *d = cJSON_GetObjectItemCaseSensitive (root, "directive");
  const cJSON *h = cJSON_GetObjectItemCaseSensitive (d, "header");
  const cJSON *e = cJSON_GetObjectItemCaseSensitive (d, "endpoint");
  const cJSON *scope = cJSON_GetObjectItemCaseSensitive (e, "scope");
  const cJSON *p;

  g_assert_cmpstr (json_str (h, "namespace"), ==, "Alexa.MeetingClientController");
  g_assert_cmpstr (json_str (h, "name"), ==, "JoinMeeting");
  g_assert_true (g_uuid_string_is_valid (json_str (h, "messageId")));
  g_assert_cmpstr (json_str (h, "correlationToken"), ==, AMGW_TEST_CORRELATION_TOKEN);
  g_assert_cmpstr (json_str (h, "payloadVersion"), ==, "3");
  g_assert_cmpstr (json_str (e, "endpointId"), ==, "room-1");
  g_assert_true (cJSON_IsObject (cJSON_GetObjectItemCaseSensitive (e, "cookie")));
  g_assert_cmpstr (json_str (scope, "type"), ==, "BearerToken");
  g_assert_cmpstr (json_str (scope, "token"), ==, "scope-token");
  p = cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (d, "payload"), "meeting");
  g_assert_cmpstr (json_str (p, "protocol"), ==, "SIP");
  cJSON_Delete (root);

  root = cJSON_Parse (discover);
  d = cJSON_GetObjectItemCaseSensitive (root, "directive");
  g_assert_null (cJSON_GetObjectItemCaseSensitive (d, "endpoint"));
  scope = cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (d, "payload"), "scope");
  g_assert_cmpstr (json_str (scope, "token"), ==, "scope-token");
  cJSON_Delete (root);

  root = cJSON_Parse (grant);
  d = cJSON_GetObjectItemCaseSensitive (root, "directive");
  g_assert_null (cJSON_GetObjectItemCaseSensitive (d, "endpoint"));
  p = cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (d, "payload"), "grant");
  g_assert_cmpstr (json_str (p, "code"), ==, "c");
  cJSON_Delete (root);
}

static void
test_util_event (void)
{
  g_autofree char *text = amgw_test_event ("CallAccepted", "s-event",
      "{\"sdpDetails\":{\"type\":\"ANSWER\",\"value\":\"v=0\\r\\n\"}}");
  cJSON *root = cJSON_Parse (text);
  const cJSON *session = cJSON_GetObjectItemCaseSensitive (root, "session");
  const cJSON *request = cJSON_GetObjectItemCaseSensitive (root, "request");
  const cJSON *system = cJSON_GetObjectItemCaseSensitive (
      cJSON_GetObjectItemCaseSensitive (root, "context"), "System");
  g_autoptr (GDateTime) ts = NULL;

  g_assert_cmpstr (json_str (root, "version"), ==, "1.0");
  g_assert_true (cJSON_IsObject (system));
  g_assert_true (cJSON_IsFalse (cJSON_GetObjectItemCaseSensitive (session, "new")));
  g_assert_true (g_str_has_prefix (json_str (session, "sessionId"), "amzn1.echo-api.session."));
  g_assert_cmpstr (json_str (cJSON_GetObjectItemCaseSensitive (session, "application"),
      "applicationId"), ==, "amzn1.ask.skill.test");
  g_assert_cmpstr (json_str (request, "type"), ==, PREFIX "CallAccepted");
  g_assert_true (g_str_has_prefix (json_str (request, "requestId"), "amzn1.echo-api.request."));
  g_assert_cmpstr (json_str (request, "sessionId"), ==, "s-event");
  ts = g_date_time_new_from_iso8601 (json_str (request, "timestamp"), NULL);
  g_assert_nonnull (ts);
  g_assert_cmpstr (json_str (cJSON_GetObjectItemCaseSensitive (request, "sdpDetails"), "type"),
      ==, "ANSWER");
  cJSON_Delete (root);
}

static void
test_util_sdp (void)
{
  const char *offer = amgw_test_sdp (TRUE);
  const char *answer = amgw_test_sdp (FALSE);

  g_assert_true (g_str_has_prefix (offer, "v=0\r\n"));
  g_assert_true (g_str_has_suffix (offer, "\r\n"));
  g_assert_nonnull (strstr (offer, "UDP/TLS/RTP/SAVPF"));
  g_assert_nonnull (strstr (offer, "a=rtpmap:111 opus/48000/2\r\n"));
  g_assert_nonnull (strstr (offer, "a=rtpmap:9 G722/8000\r\n"));
  g_assert_nonnull (strstr (offer, "a=rtpmap:101 telephone-event/8000\r\n"));
  g_assert_nonnull (strstr (offer, "a=setup:actpass\r\n"));
  g_assert_nonnull (strstr (offer, "typ host"));
  g_assert_null (strstr (offer, "\n\n"));
  g_assert_nonnull (strstr (answer, "a=setup:active\r\n"));
  g_assert_null (strstr (answer, "PCMU"));
  g_assert_nonnull (strstr (answer, "a=fingerprint:sha-256 "));
}

static void
test_util_daemon_exits (void)
{
  g_autoptr (GError) error = NULL;
  AmgwTestDaemon *d;

  /* A "daemon" that exits at once: the error says so and carries its log. */
  d = amgw_test_daemon_start_binary ("/bin/sh", "listen = 127.0.0.1:@PORT@\n", &error);
  g_assert_null (d);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "exited with status"));
  g_assert_nonnull (strstr (error->message, "---- amgw-test: start 1"));
  g_assert_nonnull (strstr (error->message, "--config"));
}

/* A stand-in daemon: reads "listen" and "state" from its configuration,
 * answers GET /healthz, and exits 3 on SIGTERM. */
static const char fake_daemon_script[] =
    "#!/usr/bin/env python3\n"
    "import http.server, os, re, signal, sys\n"
    "text = open(sys.argv[sys.argv.index('--config') + 1]).read()\n"
    "port = int(re.search(r'listen = 127\\.0\\.0\\.1:(\\d+)', text).group(1))\n"
    "state = re.search(r'state = (\\S+)', text).group(1)\n"
    "open(os.path.join(state, 'starts'), 'a').write('x')\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        self.send_response(200 if self.path == '/healthz' else 404)\n"
    "        self.send_header('Content-Length', '2')\n"
    "        self.end_headers()\n"
    "        self.wfile.write(b'ok')\n"
    "def term(*args):\n"
    "    sys.exit(3)\n"
    "signal.signal(signal.SIGTERM, term)\n"
    "print('fake daemon up, GST_DEBUG=' + os.environ.get('GST_DEBUG', ''), flush=True)\n"
    "http.server.HTTPServer(('127.0.0.1', port), H).serve_forever()\n";

static void
test_util_daemon_lifecycle (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *python = g_find_program_in_path ("python3");
  g_autofree char *dir = NULL;
  g_autofree char *script = NULL;
  g_autofree char *healthz = NULL;
  g_autofree char *log = NULL;
  g_autofree char *starts = NULL;
  g_autofree char *starts_path = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *url = NULL;
  AmgwTestDaemon *d;

  if (python == NULL) {
    g_test_skip ("no python3 for the stand-in daemon");
    return;
  }
  dir = g_dir_make_tmp ("amgw-fake-daemon-XXXXXX", &error);
  g_assert_no_error (error);
  script = g_build_filename (dir, "fake-amgw", NULL);
  g_assert_true (g_file_set_contents (script, fake_daemon_script, -1, &error));
  g_assert_cmpint (g_chmod (script, 0755), ==, 0);

  d = amgw_test_daemon_start_binary (script,
      "[daemon]\nlisten = 127.0.0.1:@PORT@\nstate = @STATE@\n", &error);
  g_assert_no_error (error);
  g_assert_nonnull (d);
  g_assert_true (amgw_test_daemon_is_running (d));
  g_assert_true (g_str_has_prefix (amgw_test_daemon_url (d), "http://127.0.0.1:"));
  g_assert_true (g_file_test (amgw_test_daemon_state_dir (d), G_FILE_TEST_IS_DIR));
  url = g_strdup (amgw_test_daemon_url (d));
  healthz = g_strconcat (url, "/healthz", NULL);
  g_assert_cmpuint (amgw_test_http ("GET", healthz, NULL, NULL, NULL, 0, NULL), ==, 200);
  log = amgw_test_daemon_log (d);
  g_assert_nonnull (strstr (log, "fake daemon up"));
  if (g_getenv ("GST_DEBUG") == NULL)
    g_assert_nonnull (strstr (log, "GST_DEBUG=amgw*:6"));

  g_assert_cmpint (amgw_test_daemon_stop (d), ==, 3);
  g_assert_false (amgw_test_daemon_is_running (d));
  g_assert_cmpuint (amgw_test_http ("GET", healthz, NULL, NULL, NULL, 0, NULL), ==, 0);

  /* Same port, same state. */
  g_assert_true (amgw_test_daemon_restart (d, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (amgw_test_daemon_url (d), ==, url);
  g_assert_false (amgw_test_daemon_restart (d, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_clear_error (&error);
  starts_path = g_build_filename (amgw_test_daemon_state_dir (d), "starts", NULL);
  g_assert_true (g_file_get_contents (starts_path, &starts, NULL, NULL));
  g_assert_cmpstr (starts, ==, "xx");

  amgw_test_daemon_kill (d);
  g_assert_false (amgw_test_daemon_is_running (d));
  g_assert_cmpint (amgw_test_daemon_stop (d), ==, 128 + 9);

  tmp = g_path_get_dirname (amgw_test_daemon_state_dir (d));
  amgw_test_daemon_free (d);
  if (g_getenv ("AMGW_TEST_KEEP") == NULL)
    g_assert_false (g_file_test (tmp, G_FILE_TEST_EXISTS));
  g_remove (script);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  curl_global_init (CURL_GLOBAL_DEFAULT);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/fake-cloud/lwa/refresh", test_lwa_refresh);
  ADD ("/fake-cloud/lwa/rotate", test_lwa_rotate);
  ADD ("/fake-cloud/lwa/auth-code", test_lwa_auth_code);
  ADD ("/fake-cloud/lwa/invalid-client", test_lwa_invalid_client);
  ADD ("/fake-cloud/lwa/revoke", test_lwa_revoke);
  ADD ("/fake-cloud/lwa/malformed", test_lwa_malformed);
  ADD ("/fake-cloud/lwa/expires-in", test_lwa_expires_in);
  ADD ("/fake-cloud/lwa/delay", test_lwa_delay);
  g_test_add_func ("/fake-cloud/lwa/delay-pending-at-free", test_lwa_delay_pending_at_free);
  ADD ("/fake-cloud/signaling/valid", test_signal_valid);
  ADD ("/fake-cloud/signaling/content-type", test_signal_content_type);
  ADD ("/fake-cloud/signaling/unauthorized", test_signal_unauthorized);
  ADD ("/fake-cloud/signaling/invalid", test_signal_invalid);
  ADD ("/fake-cloud/signaling/scripted", test_signal_scripted);
  ADD ("/fake-cloud/other-paths", test_other_paths);
  ADD ("/fake-cloud/wait-signal", test_wait_signal);
  ADD ("/fake-cloud/concurrent", test_concurrent);
#undef ADD
  g_test_add_func ("/test-util/directive", test_util_directive);
  g_test_add_func ("/test-util/event", test_util_event);
  g_test_add_func ("/test-util/sdp", test_util_sdp);
  g_test_add_func ("/test-util/daemon-exits", test_util_daemon_exits);
  g_test_add_func ("/test-util/daemon-lifecycle", test_util_daemon_lifecycle);

  ret = g_test_run ();
  curl_global_cleanup ();
  return ret;
}
