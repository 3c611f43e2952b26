/* baresip as the meeting bridge in tests; WAV writing, reading and tone
 * analysis.  See baresip.h. */
#include "baresip.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define BARESIP_MODULE_DIR "/usr/lib/baresip/modules"
#define BARESIP_READY_TIMEOUT_MS 20000
#define BARESIP_STOP_GRACE_MS 3000
#define BARESIP_DEFAULT_TIMEOUT_S 120
#define BARESIP_MAX_CODECS 8
#define TONE_AMPLITUDE 8000.0
#define WAV_MAX_BYTES (256u << 20)        /* far above any test's recording */

struct _AmgwBaresip {
  GSubprocess *proc;
  char *dir;
  char *log;
  guint16 port;
  guint tone_rate;
};

/* ------------------------------------------------------------------------ */
/* Peers' helpers                                                            */
/* ------------------------------------------------------------------------ */

char *
amgw_peer_read_text (const char *path)
{
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

gboolean
amgw_peer_wait_file_has (const char *path, const char *needle, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  do {
    g_autofree char *text = amgw_peer_read_text (path);
    if (strstr (text, needle) != NULL)
      return TRUE;
    g_usleep (20 * 1000);
  } while (g_get_monotonic_time () < end);
  return FALSE;
}

void
amgw_peer_remove_tree (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_remove (path);
  }
  g_rmdir (dir);
}

void
amgw_peer_stop_process (GSubprocess *proc, int sig, guint grace_ms)
{
  gint64 end;

  if (proc == NULL || g_subprocess_get_identifier (proc) == NULL)
    return;
  g_subprocess_send_signal (proc, sig);
  end = g_get_monotonic_time () + (gint64) grace_ms * 1000;
  while (g_subprocess_get_identifier (proc) != NULL && g_get_monotonic_time () < end) {
    /* GLib's worker thread reaps the child: the identifier clears then. */
    g_usleep (20 * 1000);
  }
  if (g_subprocess_get_identifier (proc) != NULL)
    g_subprocess_force_exit (proc);
  g_subprocess_wait (proc, NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* WAV files                                                                 */
/* ------------------------------------------------------------------------ */

gboolean
amgw_wav_write_sine (const char *path, guint rate, double hz, guint seconds, double amplitude,
    GError **error)
{
  guint n = rate * seconds;
  gsize data_len = (gsize) n * 2;
  g_autofree guint8 *buf = g_malloc (44 + data_len);
  guint8 *p = buf;

#define PUT32(v) do { guint32 x_ = (v); p[0] = x_; p[1] = x_ >> 8; p[2] = x_ >> 16; \
    p[3] = x_ >> 24; p += 4; } while (0)
#define PUT16(v) do { guint16 x_ = (v); p[0] = x_; p[1] = x_ >> 8; p += 2; } while (0)
  memcpy (p, "RIFF", 4); p += 4;
  PUT32 (36 + data_len);
  memcpy (p, "WAVEfmt ", 8); p += 8;
  PUT32 (16);
  PUT16 (1);             /* PCM */
  PUT16 (1);             /* mono */
  PUT32 (rate);
  PUT32 (rate * 2);
  PUT16 (2);
  PUT16 (16);
  memcpy (p, "data", 4); p += 4;
  PUT32 (data_len);
  for (guint i = 0; i < n; i++)
    PUT16 ((guint16) (gint16) lrint (amplitude * sin (2 * G_PI * hz * i / rate)));
#undef PUT32
#undef PUT16
  return g_file_set_contents (path, (const char *) buf, 44 + data_len, error);
}

static guint32
get32 (const guint8 *p)
{
  return p[0] | (p[1] << 8) | (p[2] << 16) | ((guint32) p[3] << 24);
}

static guint16
get16 (const guint8 *p)
{
  return p[0] | (p[1] << 8);
}

gboolean
amgw_wav_read (const char *path, guint *rate, gint16 **samples, gsize *n_samples,
    GError **error)
{
  g_autofree guint8 *buf = NULL;
  gsize len = 0, pos = 12, data_off = 0, data_len = 0, frame;
  guint channels = 0, bits = 0, format = 0;
  gboolean have_fmt = FALSE;
  gint16 *out;

  if (!g_file_get_contents (path, (char **) &buf, &len, error))
    return FALSE;
  if (len > WAV_MAX_BYTES)
    goto not_wav;
  if (len < 12 || memcmp (buf, "RIFF", 4) != 0 || memcmp (buf + 8, "WAVE", 4) != 0)
    goto not_wav;
  while (pos + 8 <= len) {
    guint32 size = get32 (buf + pos + 4);

    if (memcmp (buf + pos, "fmt ", 4) == 0 && size >= 16 && pos + 8 + 16 <= len) {
      format = get16 (buf + pos + 8);
      channels = get16 (buf + pos + 10);
      *rate = get32 (buf + pos + 12);
      bits = get16 (buf + pos + 22);
      have_fmt = TRUE;
    } else if (memcmp (buf + pos, "data", 4) == 0) {
      data_off = pos + 8;
      /* A file still being written: sizes not filled in yet. */
      data_len = (size == 0 || size > len - data_off) ? len - data_off : size;
      break;
    }
    if (size > len - pos - 8)
      break;
    pos += 8 + size + (size & 1);
  }
  if (!have_fmt || data_off == 0 || (format != 1 && format != 0xFFFE) || bits != 16
      || channels == 0 || *rate == 0)
    goto not_wav;
  frame = 2u * channels;
  *n_samples = data_len / frame;
  out = g_new (gint16, *n_samples ? *n_samples : 1);
  for (gsize i = 0; i < *n_samples; i++)
    out[i] = (gint16) get16 (buf + data_off + i * frame);
  *samples = out;
  return TRUE;

  /* ERRORS */
not_wav:
  {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "%s is not a 16-bit PCM WAV file (%" G_GSIZE_FORMAT " bytes)", path, len);
    return FALSE;
  }
}

/* Power of @hz in the windowed @x (Goertzel). */
static double
goertzel_power (const double *x, gsize n, guint rate, double hz)
{
  double coeff = 2 * cos (2 * G_PI * hz / rate);
  double s1 = 0, s2 = 0;

  for (gsize i = 0; i < n; i++) {
    double s0 = x[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

double
amgw_audio_dominant_hz (const gint16 *samples, gsize n, guint rate, double *level_db)
{
  g_autofree double *x = NULL;
  double sum = 0, best_hz = 0, best = -1, top;

  if (level_db)
    *level_db = -200;
  if (n < 16 || rate == 0)
    return 0;
  x = g_new (double, n);
  for (gsize i = 0; i < n; i++) {
    double v = samples[i] / 32768.0;
    sum += v * v;
    x[i] = v * (0.5 - 0.5 * cos (2 * G_PI * i / (n - 1)));     /* Hann */
  }
  if (sum == 0)
    return 0;
  if (level_db)
    *level_db = 10 * log10 (sum / n);
  top = MIN (rate / 2.0 - 50, 7000.0);
  for (double hz = 50; hz <= top; hz += 10) {
    double p = goertzel_power (x, n, rate, hz);
    if (p > best) {
      best = p;
      best_hz = hz;
    }
  }
  for (double hz = best_hz - 10; hz <= best_hz + 10; hz += 1) {
    double p = goertzel_power (x, n, rate, hz);
    if (hz > 0 && p > best) {
      best = p;
      best_hz = hz;
    }
  }
  return best_hz;
}

gboolean
amgw_wav_dominant_hz (const char *path, double from_s, double len_s, double *hz,
    double *level_db, double *total_s, GError **error)
{
  g_autofree gint16 *samples = NULL;
  gsize n = 0, first, count;
  guint rate = 0;
  double total;

  if (!amgw_wav_read (path, &rate, &samples, &n, error))
    return FALSE;
  total = (double) n / rate;
  if (total_s)
    *total_s = total;
  if (from_s < 0)
    from_s = MAX (0, total + from_s);
  first = MIN ((gsize) (from_s * rate), n);
  count = MIN ((gsize) (len_s * rate), n - first);
  if (count < rate / 50) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "%s: no audio from %.2f s for %.2f s (%.2f s recorded)", path, from_s, len_s, total);
    return FALSE;
  }
  *hz = amgw_audio_dominant_hz (samples + first, count, rate, level_db);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* baresip                                                                   */
/* ------------------------------------------------------------------------ */

/* The module and the rate of one of baresip's audio codecs (the rate of
 * its audio, as aufile wants the WAV: G.722 is 16 kHz with an 8 kHz RTP
 * clock). */
static gboolean
codec_info (const char *name, const char **module, guint *rate)
{
  if (g_ascii_strcasecmp (name, "PCMU") == 0 || g_ascii_strcasecmp (name, "PCMA") == 0) {
    *module = "g711.so";
    *rate = 8000;
  } else if (g_ascii_strcasecmp (name, "G722") == 0) {
    *module = "g722.so";
    *rate = 16000;
  } else {
    return FALSE;
  }
  return TRUE;
}

static gboolean
module_present (const char *module)
{
  g_autofree char *path = g_build_filename (BARESIP_MODULE_DIR, module, NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

AmgwBaresip *
amgw_baresip_start (const AmgwBaresipOptions *options, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree char *program = g_find_program_in_path ("baresip");
  g_autofree char *wav = NULL, *path = NULL, *safety = NULL, *account = NULL, *tail = NULL;
  g_autoptr (GString) config = g_string_new (NULL);
  g_autoptr (GPtrArray) modules = g_ptr_array_new ();
  g_auto (GStrv) codecs = NULL;
  AmgwBaresipOptions opt = *options;
  const char *missing = NULL;
  const char *common[] = { "aufile.so", "aubridge.so", "sndfile.so" };
  AmgwBaresip *b;

  if (program == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
        "baresip (Debian package baresip-core) is not installed");
    return NULL;
  }
  if (opt.tone_hz <= 0)
    opt.tone_hz = 440.0;
  if (opt.timeout_s == 0)
    opt.timeout_s = BARESIP_DEFAULT_TIMEOUT_S;
  if (opt.tone_seconds == 0)
    opt.tone_seconds = opt.timeout_s;
  g_return_val_if_fail (opt.user != NULL, NULL);

  b = g_new0 (AmgwBaresip, 1);
  b->tone_rate = 8000;
  if (opt.codecs == NULL) {
    g_ptr_array_add (modules, (gpointer) "g711.so");
  } else {
    codecs = g_strsplit (opt.codecs, ",", BARESIP_MAX_CODECS);
    for (guint i = 0; codecs[i] != NULL; i++) {
      const char *module;
      guint rate;

      g_strstrip (codecs[i]);
      if (!codec_info (codecs[i], &module, &rate))
        goto unknown_codec;
      if (i == 0)
        b->tone_rate = rate;
      if (!g_ptr_array_find_with_equal_func (modules, module, g_str_equal, NULL))
        g_ptr_array_add (modules, (gpointer) module);
    }
  }
  for (guint i = 0; i < G_N_ELEMENTS (common); i++)
    g_ptr_array_add (modules, (gpointer) common[i]);
  for (guint i = 0; i < modules->len; i++) {
    if (!module_present (modules->pdata[i])) {
      missing = modules->pdata[i];
      goto no_module;
    }
  }

  b->dir = g_dir_make_tmp ("amgw-baresip-XXXXXX", error);
  if (b->dir == NULL)
    goto failed;
  b->log = g_build_filename (b->dir, "baresip.log", NULL);
  b->port = amgw_test_free_port ();
  if (b->port == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no free port for baresip");
    goto failed;
  }
  wav = g_build_filename (b->dir, "tone.wav", NULL);
  if (!amgw_wav_write_sine (wav, b->tone_rate, opt.tone_hz, opt.tone_seconds, TONE_AMPLITUDE,
          error))
    goto failed;

  /* No UI module: nothing reads stdin.  menu (an app module) prints the
   * call's progress and the DTMF baresip receives; sndfile records the
   * decoded audio (what the bridge hears) to snd_path.  aubridge is a
   * player that needs no sound card.
   *
   * Without the jitter buffer (jitter_buffer_delay 0) every packet is
   * handled as it comes: right when only DTMF flows, as baresip's jitter
   * buffer (1.0.0) then loses the first digit (delay 1-10) or holds back
   * the last end packets (5-10): no audio pushes them through.  With audio
   * flowing, its default (5-10 frames) smooths what the recording gets. */
  g_string_append_printf (config,
      "poll_method\t\tepoll\n"
      "sip_listen\t\t127.0.0.1:%u\n"
      "call_local_timeout\t120\n"
      "call_max_calls\t\t1\n"
      "audio_player\t\taubridge,amgw-bridge-sink\n"
      "audio_source\t\taufile,%s\n"
      "audio_alert\t\taubridge,amgw-bridge-nothing\n"
      "audio_level\t\tno\n"
      "ausrc_format\t\ts16\n"
      "auplay_format\t\ts16\n"
      "rtp_ports\t\t10000-10100\n"
      "rtcp_mux\t\tno\n"
      "jitter_buffer_delay\t%s\n"
      "rtp_stats\t\tno\n"
      "snd_path\t\t%s\n"
      "module_path\t\t" BARESIP_MODULE_DIR "\n",
      b->port, wav, opt.jitter_buffer ? "5-10" : "0", b->dir);
  for (guint i = 0; i < modules->len; i++)
    g_string_append_printf (config, "module\t\t\t%s\n", (const char *) modules->pdata[i]);
  g_string_append (config,
      "module_app\t\taccount.so\n"
      "module_app\t\tmenu.so\n");
  path = g_build_filename (b->dir, "config", NULL);
  if (!g_file_set_contents (path, config->str, -1, error))
    goto failed;
  g_free (path);
  path = g_build_filename (b->dir, "accounts", NULL);
  /* regint=0: no REGISTER; answermode=auto: answer every call at once;
   * audio_codecs: offer and accept only these. */
  if (codecs != NULL) {
    g_autofree char *list = g_strjoinv (",", codecs);
    account = g_strdup_printf ("<sip:%s@127.0.0.1>;regint=0;answermode=auto;audio_codecs=%s\n",
        opt.user, list);
  } else {
    account = g_strdup_printf ("<sip:%s@127.0.0.1>;regint=0;answermode=auto\n", opt.user);
  }
  if (!g_file_set_contents (path, account, -1, error))
    goto failed;
  g_free (path);
  path = g_build_filename (b->dir, "contacts", NULL);
  if (!g_file_set_contents (path, "", -1, error))
    goto failed;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
      | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdout_file_path (launcher, b->log);
  safety = g_strdup_printf ("%u", opt.timeout_s);
  /* -s: SIP trace (every message baresip receives and sends, in its log).
   * -n 127.0.0.1: see baresip.h. */
  b->proc = g_subprocess_launcher_spawn (launcher, error, program, "-4", "-s",
      "-n", "127.0.0.1", "-f", b->dir, "-t", safety, NULL);
  if (b->proc == NULL)
    goto failed;
  if (!amgw_peer_wait_file_has (b->log, "baresip is ready", BARESIP_READY_TIMEOUT_MS))
    goto not_ready;
  return b;

  /* ERRORS */
unknown_codec:
  {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "the baresip harness knows no codec \"%s\" (PCMU, PCMA, G722)", opt.codecs);
    amgw_baresip_free (b);
    return NULL;
  }
no_module:
  {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
        "baresip's module %s is missing in " BARESIP_MODULE_DIR, missing);
    amgw_baresip_free (b);
    return NULL;
  }
not_ready:
  {
    tail = amgw_peer_read_text (b->log);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
        "baresip was not ready within %u ms: %s", BARESIP_READY_TIMEOUT_MS, tail);
    amgw_baresip_free (b);
    return NULL;
  }
failed:
  {
    amgw_baresip_free (b);
    return NULL;
  }
}

guint16
amgw_baresip_get_port (AmgwBaresip *b)
{
  return b->port;
}

const char *
amgw_baresip_get_dir (AmgwBaresip *b)
{
  return b->dir;
}

const char *
amgw_baresip_get_log_path (AmgwBaresip *b)
{
  return b->log;
}

guint
amgw_baresip_get_tone_rate (AmgwBaresip *b)
{
  return b->tone_rate;
}

char *
amgw_baresip_log (AmgwBaresip *b)
{
  return amgw_peer_read_text (b->log);
}

gsize
amgw_baresip_log_mark (AmgwBaresip *b)
{
  g_autofree char *log = amgw_baresip_log (b);
  return strlen (log);
}

/* The log from @from on (transfer none: points into @log). */
static const char *
log_from (const char *log, gsize from)
{
  gsize len = strlen (log);
  return log + MIN (from, len);
}

gboolean
amgw_baresip_wait_log (AmgwBaresip *b, const char *needle, gsize from, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  do {
    g_autofree char *log = amgw_baresip_log (b);
    if (strstr (log_from (log, from), needle) != NULL)
      return TRUE;
    g_usleep (20 * 1000);
  } while (g_get_monotonic_time () < end);
  return FALSE;
}

char *
amgw_baresip_digits (AmgwBaresip *b, gboolean info, gsize from)
{
  g_autofree char *log = amgw_baresip_log (b);
  const char *needle = info ? "call: received DTMF: '" : "received event: '";
  GString *digits = g_string_new (NULL);

  for (const char *p = strstr (log_from (log, from), needle); p != NULL;
       p = strstr (p + 1, needle)) {
    const char *d = p + strlen (needle);
    if (d[0] == '\0' || d[1] != '\'')
      continue;
    if (!info && !g_str_has_prefix (d + 2, " (end=1)"))
      continue;
    g_string_append_c (digits, d[0]);
  }
  return g_string_free (digits, FALSE);
}

/* The -s trace: each message is "#\n<TRANSPORT> <src> -> <dst>\n<message>"
 * and ends with a colour reset (ESC "[;m"). */
GPtrArray *
amgw_baresip_requests (AmgwBaresip *b, const char *method, gsize from)
{
  g_autofree char *log = amgw_baresip_log (b);
  g_autofree char *to_us = g_strdup_printf (" -> 127.0.0.1:%u\n", b->port);
  g_autofree char *start = g_strdup_printf ("%s ", method);
  GPtrArray *found = g_ptr_array_new_with_free_func (g_free);
  const char *p = log_from (log, from);

  while ((p = strstr (p, "#\n")) != NULL) {
    const char *line = p + 2, *eol = strchr (line, '\n'), *msg, *end;

    p = line;
    if (eol == NULL)
      break;
    /* "UDP 127.0.0.1:5060 -> 127.0.0.1:5099": received when the arrow
     * points at our port. */
    if (!g_str_has_prefix (line, "UDP ") && !g_str_has_prefix (line, "TCP ")
        && !g_str_has_prefix (line, "TLS "))
      continue;
    if (strncmp (eol - strlen (to_us) + 1, to_us, strlen (to_us)) != 0)
      continue;
    msg = eol + 1;
    if (!g_str_has_prefix (msg, start))
      continue;
    end = strstr (msg, "\033[;m");
    g_ptr_array_add (found, end ? g_strndup (msg, end - msg) : g_strdup (msg));
  }
  return found;
}

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
amgw_baresip_recordings (AmgwBaresip *b)
{
  g_autoptr (GDir) d = g_dir_open (b->dir, 0, NULL);
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, "dump-") && g_str_has_suffix (name, "-dec.wav"))
      g_ptr_array_add (paths, g_build_filename (b->dir, name, NULL));
  g_ptr_array_sort (paths, compare_paths);
  return paths;
}

void
amgw_baresip_stop (AmgwBaresip *b)
{
  /* SIGTERM lets baresip hang up and finish its recording. */
  if (b != NULL)
    amgw_peer_stop_process (b->proc, SIGTERM, BARESIP_STOP_GRACE_MS);
}

void
amgw_baresip_free (AmgwBaresip *b)
{
  if (b == NULL)
    return;
  amgw_baresip_stop (b);
  if (b->log != NULL && g_test_failed ()) {
    g_autofree char *log = amgw_baresip_log (b);
    g_printerr ("---- baresip log ----\n%s\n---------------------\n", log);
  }
  if (b->dir != NULL) {
    if (g_getenv ("AMGW_KEEP_TEST_FILES") == NULL)
      amgw_peer_remove_tree (b->dir);
    else
      g_printerr ("baresip files kept in %s\n", b->dir);
  }
  g_clear_object (&b->proc);
  g_free (b->log);
  g_free (b->dir);
  g_free (b);
}
