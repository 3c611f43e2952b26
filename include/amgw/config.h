/* amgw — configuration (an INI file read with GKeyFile).
 *
 * The keys are the public contract of ARCHITECTURE.md; README.md documents
 * each one.  A loaded AmgwConfig is immutable and owned by the daemon.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AMGW_CONFIG_ERROR (amgw_config_error_quark ())
GQuark amgw_config_error_quark (void);

typedef enum {
  AMGW_CONFIG_ERROR_IO,       /* the file cannot be read */
  AMGW_CONFIG_ERROR_TOO_BIG,  /* over AMGW_MAX_CONFIG_BYTES */
  AMGW_CONFIG_ERROR_INVALID,  /* one or more problems; see @problems */
} AmgwConfigError;

#define AMGW_MAX_CONFIG_BYTES (1024 * 1024)
#define AMGW_MAX_ROOMS 1024

typedef enum {
  AMGW_ADDRESS_COMMUNICATION_PROFILE_ID,
  AMGW_ADDRESS_PHONE_NUMBER,
  AMGW_ADDRESS_RAW_ADDRESS,
} AmgwAddressType;

typedef enum {
  AMGW_DTMF_RFC4733,
  AMGW_DTMF_INFO,
  AMGW_DTMF_INBAND,
} AmgwDtmfMode;

/* One [provider NAME] group: how to enter the meetings of one provider
 * (NAME matches JoinMeeting's meeting.provider, case-insensitively). */
typedef struct {
  char *name;                  /* NAME from the group header */
  char *dial_template;         /* (nullable) overrides [sip] dial-template */
  gboolean has_dtmf;
  AmgwDtmfMode dtmf;           /* when has_dtmf: overrides [sip] dtmf */
  gboolean has_dtmf_pause;
  guint dtmf_pause_ms;         /* when has_dtmf_pause: overrides [sip] dtmf-pause */
} AmgwSipProvider;

#define AMGW_MAX_PROVIDERS 256

/* One [room NAME] group: an Alexa endpoint. */
typedef struct {
  char *name;                  /* NAME from the group header */
  char *endpoint_id;           /* required, <= 256 chars */
  char *friendly_name;         /* defaults to NAME */
  char *token;                 /* required: bearer token accepted in directive scopes (secret) */
  AmgwAddressType alexa_address_type;   /* default COMMUNICATION_PROFILE_ID */
  char *alexa_address;         /* required: the Alexa device to call */
  gboolean supports_scheduled_meeting;  /* default FALSE */
} AmgwRoom;

typedef struct {
  /* [gateway] */
  char *listen_host;           /* from listen "host:port" / "[v6]:port"; default 127.0.0.1 */
  guint16 listen_port;         /* default 8080; 0 = any free port */
  char *state_dir;             /* default $XDG_DATA_HOME/amgw */
  char *forwarding_secret;     /* (nullable) secret; NULL = the daemon makes one (see README) */
  guint max_calls;             /* default 100 */
  guint drain_timeout_s;       /* drain-timeout: SIGTERM's grace period; default 30 */
  guint cpu_limit_percent;     /* cpu-limit: /readyz 429 above it (of all cores); 0 none; default 90 */

  /* [alexa] */
  char *api_url;               /* default https://api.amazonalexa.com */
  char *lwa_url;               /* default https://api.amazon.com/auth/o2/token */
  char *client_id;             /* (nullable) */
  char *client_secret;         /* (nullable) secret */
  char *refresh_token;         /* (nullable) secret: bootstrap only */
  guint request_timeout_ms;    /* request-timeout, default 10000 */
  guint max_retries;           /* max-retries, default 4 (attempts after the first) */
  guint setup_timeout_ms;      /* setup-timeout: InitiateInboundCall -> CallRinging; default 30000 */
  guint ring_timeout_ms;       /* ring-timeout: ringing -> CallAccepted; default 60000 */

  /* [media] */
  char *media_public_ip;       /* (nullable) */
  guint16 rtp_port_min;        /* default 10000 */
  guint16 rtp_port_max;        /* default 20000 */
  char *stun_server;           /* (nullable) host:port */
  char *turn_server;           /* (nullable) host:port */
  char *turn_user;             /* (nullable) */
  char *turn_password;         /* (nullable) secret */
  char **interfaces;           /* (nullable) NULL-terminated allow-list */
  char *dtls_certificate;      /* (nullable) PEM path; with dtls_private_key, else one is made at start */
  char *dtls_private_key;      /* (nullable) PEM path */
  guint ice_timeout_ms;        /* ice-timeout: ICE + DTLS must connect within; default 20000 */
  char **media_codecs;         /* codecs: the Alexa leg's preference, upper case ("OPUS", "G722",
                                * "PCMU", "PCMA"); default OPUS, G722, PCMU, PCMA */
  guint jitter_buffer_ms;      /* jitter-buffer: transcoding's jitter buffer; default 60 */
  guint batching_us;           /* batching: a busy media loop polls at most once per this; default 1000 */

  /* [sip] */
  char *sip_listen;            /* (nullable) host:port */
  char *sip_public_ip;         /* (nullable) */
  char *sip_user;              /* (nullable) */
  char *sip_password;          /* (nullable) secret */
  AmgwDtmfMode sip_dtmf;       /* default rfc4733 */
  char *sip_outbound_proxy;    /* (nullable) outbound-proxy: a sip: or sips: URI */
  gboolean sip_register;       /* register: REGISTER with the registrar; default FALSE */
  char *sip_registrar;         /* (nullable) registrar: a sip: or sips: URI (needed by register) */
  char *sip_ca_file;           /* (nullable) ca-file: PEM CAs that verify SIPS peers */
  char *sip_dial_template;     /* dial-template: the Request-URI's user part; default "{id}" */
  guint sip_dtmf_pause_ms;     /* dtmf-pause: answer -> first digit; default 2000 */
  guint sip_invite_timeout_ms; /* invite-timeout: no final answer -> SESSION_TIMEOUT; default 60000 */
  guint sip_session_expires_s; /* session-expires (RFC 4028); default 1800 */
  guint sip_inactivity_timeout_ms; /* inactivity-timeout: no RTP -> the call ends; default 30000 */
  char **sip_codecs;           /* codecs: the bridge leg's preference; default OPUS, G722, PCMU, PCMA */
  GPtrArray *sip_providers;    /* AmgwSipProvider*, in file order */

  /* [meetings] */
  char *meetings_directory;    /* (nullable) path, relative paths resolve against the config file's folder */

  GPtrArray *rooms;            /* AmgwRoom*, in file order */

  char *source;                /* the file's path, or "<embedded default>" */
} AmgwConfig;

/* Loads and validates @path.  On failure returns NULL and sets @error; when
 * @problems is non-NULL every problem found is appended to it as a string
 * "FILE:LINE: [group] key: what is wrong" (LINE 0 when not tied to a line).
 * Unknown groups and keys are problems too (a typo must not go unnoticed).
 * (transfer full) */
AmgwConfig *amgw_config_load_file (const char *path, GPtrArray *problems, GError **error);

/* The same for text in memory; @name stands for the file name in problems. */
AmgwConfig *amgw_config_load_data (const char *data, gssize len, const char *name,
    GPtrArray *problems, GError **error);

/* The embedded default configuration: HTTP on 127.0.0.1:8080, state under the
 * user's data directory, no Alexa credentials, no rooms. (transfer full) */
AmgwConfig *amgw_config_new_default (void);

/* The embedded default configuration's text (for README and --print-default). */
const char *amgw_config_default_text (void);

void amgw_config_free (AmgwConfig *config);

/* (transfer none) (nullable) */
const AmgwRoom *amgw_config_find_room (const AmgwConfig *config, const char *endpoint_id);
const AmgwRoom *amgw_config_find_room_by_name (const AmgwConfig *config, const char *name);
/* The [provider NAME] group whose NAME matches @name case-insensitively.
 * (transfer none) (nullable) */
const AmgwSipProvider *amgw_config_find_provider (const AmgwConfig *config, const char *name);

const char *amgw_address_type_to_string (AmgwAddressType type);
gboolean amgw_address_type_from_string (const char *s, AmgwAddressType *out);

const char *amgw_dtmf_mode_to_string (AmgwDtmfMode mode);
gboolean amgw_dtmf_mode_from_string (const char *s, AmgwDtmfMode *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwConfig, amgw_config_free)

/* ---- Checked key files: shared by every INI format of amgw (this file and
 * the meeting directory, directory.h) ----
 *
 * GKeyFile gives no line numbers and silently keeps one of two duplicate keys
 * or merges duplicate groups.  AmgwIniCheck scans the text itself first: it
 * drops a UTF-8 BOM, accepts LF and CRLF line ends, maps every (group, key) to
 * its line, and records a problem for each line that is not UTF-8, is not a
 * "[group]" header, a "key = value" pair or a "#" comment, for keys before
 * the first group, and for duplicate groups and keys.  Lines with a problem
 * are left out of the GKeyFile it then builds, so the remaining lines can be
 * checked too: one run reports every problem.
 *
 * Problems read "NAME:LINE: [group] key: message" ("NAME:LINE: [group]:
 * message" for a whole group, LINE 0 for the whole file).  No problem the
 * checker itself writes contains a value, so secrets never reach one; callers
 * must keep it so.
 */
#define AMGW_INI_MAX_PROBLEMS 200     /* beyond this, one "N more problems" line */
#define AMGW_INI_MAX_VALUE_CHARS 4096 /* a longer value is a problem */

typedef struct _AmgwIniCheck AmgwIniCheck;

/* @name stands for the file in problems.  (transfer full) */
AmgwIniCheck *amgw_ini_check_new (const char *name);
void amgw_ini_check_free (AmgwIniCheck *check);

/* Scans @data (@len bytes, no NUL needed).  The caller checks its own size
 * ceiling first.  Call once. */
void amgw_ini_check_scan (AmgwIniCheck *check, const char *data, gsize len);

/* The groups in file order, each once.  (transfer full) */
char **amgw_ini_check_get_groups (AmgwIniCheck *check);
/* The keys of @group in file order, each once.  (transfer full) */
char **amgw_ini_check_get_keys (AmgwIniCheck *check, const char *group);
/* The line of @key in @group (its first occurrence); of the group header when
 * @key is NULL or absent; 0 when the group is absent. */
guint amgw_ini_check_get_line (AmgwIniCheck *check, const char *group, const char *key);
/* TRUE when @key appears in @group. */
gboolean amgw_ini_check_has_key (AmgwIniCheck *check, const char *group, const char *key);

/* The unescaped value of @key, or NULL when it is absent or empty.  A value
 * with a bad escape sequence, a control character or more than
 * AMGW_INI_MAX_VALUE_CHARS characters is a problem (that names neither the
 * value nor its content) and gives NULL too.  (transfer full) (nullable) */
char *amgw_ini_check_get_string (AmgwIniCheck *check, const char *group, const char *key);

/* Records a problem at the line of (@group, @key): see amgw_ini_check_get_line.
 * @group and @key may be NULL.  Never put a secret into @format's arguments. */
void amgw_ini_check_problem (AmgwIniCheck *check, const char *group, const char *key,
    const char *format, ...) G_GNUC_PRINTF (4, 5);
guint amgw_ini_check_n_problems (AmgwIniCheck *check);

/* Reads at most @max_bytes + 1 bytes of the regular file @path, so that a
 * huge file costs no more than that (FIFOs and devices are refused).  Sets
 * *@too_big and returns TRUE when the file has more than @max_bytes (then
 * *@data is NULL).  FALSE with a G_FILE_ERROR when it cannot be read.
 * *@data is NUL-terminated.  (transfer full) */
gboolean amgw_ini_read_file (const char *path, gsize max_bytes, char **data, gsize *len,
    gboolean *too_big, GError **error);

/* Appends every problem, sorted by line, to @problems (as strings, transfer
 * full: make the array with g_free as its free function) when non-NULL.
 * Returns TRUE when there was none; otherwise sets @error in @domain with
 * @code and a message that quotes the first problem. */
gboolean amgw_ini_check_finish (AmgwIniCheck *check, GPtrArray *problems, GQuark domain,
    gint code, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwIniCheck, amgw_ini_check_free)

G_END_DECLS
