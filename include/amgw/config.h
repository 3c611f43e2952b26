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

  /* [sip] */
  char *sip_listen;            /* (nullable) host:port */
  char *sip_public_ip;         /* (nullable) */
  char *sip_user;              /* (nullable) */
  char *sip_password;          /* (nullable) secret */
  AmgwDtmfMode sip_dtmf;       /* default rfc4733 */

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

const char *amgw_address_type_to_string (AmgwAddressType type);
gboolean amgw_address_type_from_string (const char *s, AmgwAddressType *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwConfig, amgw_config_free)

G_END_DECLS
