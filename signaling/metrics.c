/* amgw — Prometheus metrics registry. */
#include "amgw/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

typedef struct {
  char *name;
  AmgwMetricType type;
  char *help;
  GHashTable *series; /* rendered label set "a=\"x\",b=\"y\"" -> double* (Hist* for histograms) */
  double bounds[AMGW_METRICS_MAX_BUCKETS];
  guint n_bounds;
} Family;

/* One histogram series: counts per bucket (not cumulative), sum, count. */
typedef struct {
  double counts[AMGW_METRICS_MAX_BUCKETS + 1];
  double sum;
  double count;
} Hist;

typedef struct {
  AmgwMetricsCollector fn;
  gpointer user_data;
} Collector;

static GMutex lock;
static GHashTable *families;   /* name -> Family* */
static GArray *collectors;     /* Collector */

static void
family_free (gpointer p)
{
  Family *f = p;
  g_free (f->name);
  g_free (f->help);
  g_hash_table_unref (f->series);
  g_free (f);
}

/* Lock held. */
static Family *
family_get (const char *name, AmgwMetricType type)
{
  Family *f;

  if (families == NULL)
    families = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, family_free);
  f = g_hash_table_lookup (families, name);
  if (f == NULL) {
    f = g_new0 (Family, 1);
    f->name = g_strdup (name);
    f->type = type;
    f->series = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_insert (families, f->name, f);
  }
  return f;
}

static void
append_escaped (GString *s, const char *v)
{
  for (; *v; v++) {
    switch (*v) {
      case '\\': g_string_append (s, "\\\\"); break;
      case '"': g_string_append (s, "\\\""); break;
      case '\n': g_string_append (s, "\\n"); break;
      default: g_string_append_c (s, *v); break;
    }
  }
}

static char *
labels_from_va (va_list ap)
{
  GString *s = g_string_new (NULL);
  const char *k;

  while ((k = va_arg (ap, const char *)) != NULL) {
    const char *v = va_arg (ap, const char *);
    if (s->len)
      g_string_append_c (s, ',');
    g_string_append_printf (s, "%s=\"", k);
    append_escaped (s, v ? v : "");
    g_string_append_c (s, '"');
  }
  return g_string_free (s, FALSE);
}

static void
update (const char *family, AmgwMetricType type, double value, gboolean add, char *labels)
{
  Family *f;
  double *v;

  g_mutex_lock (&lock);
  f = family_get (family, type);
  v = g_hash_table_lookup (f->series, labels);
  if (v == NULL) {
    v = g_new0 (double, 1);
    g_hash_table_insert (f->series, labels, v);
  } else {
    g_free (labels);
  }
  *v = add ? *v + value : value;
  g_mutex_unlock (&lock);
}

void
amgw_metrics_describe (const char *family, AmgwMetricType type, const char *help)
{
  Family *f;

  g_mutex_lock (&lock);
  f = family_get (family, type);
  f->type = type;
  g_free (f->help);
  f->help = g_strdup (help);
  g_mutex_unlock (&lock);
}

void
amgw_metrics_describe_histogram (const char *family, const char *help, const double *bounds,
    guint n_bounds)
{
  Family *f;

  g_return_if_fail (n_bounds <= AMGW_METRICS_MAX_BUCKETS);
  g_mutex_lock (&lock);
  f = family_get (family, AMGW_METRIC_HISTOGRAM);
  f->type = AMGW_METRIC_HISTOGRAM;
  g_free (f->help);
  f->help = g_strdup (help);
  memcpy (f->bounds, bounds, n_bounds * sizeof (double));
  f->n_bounds = n_bounds;
  g_mutex_unlock (&lock);
}

void
amgw_metrics_observe (const char *family, double value, ...)
{
  va_list ap;
  char *labels;
  Family *f;
  Hist *h;
  guint b;

  va_start (ap, value);
  labels = labels_from_va (ap);
  va_end (ap);
  g_mutex_lock (&lock);
  f = families ? g_hash_table_lookup (families, family) : NULL;
  if (f == NULL || f->type != AMGW_METRIC_HISTOGRAM) {
    g_mutex_unlock (&lock);
    g_free (labels);
    return;
  }
  h = g_hash_table_lookup (f->series, labels);
  if (h == NULL) {
    h = g_new0 (Hist, 1);
    g_hash_table_insert (f->series, labels, h);
  } else {
    g_free (labels);
  }
  for (b = 0; b < f->n_bounds && value > f->bounds[b]; b++)
    ;
  h->counts[b]++;
  h->sum += value;
  h->count++;
  g_mutex_unlock (&lock);
}

static void format_value (GString *s, double v);

/* Lock held: a histogram series as Prometheus text. */
static void
render_hist (GString *out, const Family *f, const char *labels, const Hist *h)
{
  char le[G_ASCII_DTOSTR_BUF_SIZE];
  double cumulative = 0;

  for (guint b = 0; b <= f->n_bounds; b++) {
    cumulative += h->counts[b];
    if (b < f->n_bounds)
      g_ascii_formatd (le, sizeof le, "%g", f->bounds[b]);
    else
      g_strlcpy (le, "+Inf", sizeof le);
    g_string_append_printf (out, "%s_bucket{%s%sle=\"%s\"} ", f->name, labels,
        *labels ? "," : "", le);
    format_value (out, cumulative);
    g_string_append_c (out, '\n');
  }
  g_string_append_printf (out, "%s_sum%s%s%s ", f->name, *labels ? "{" : "", labels,
      *labels ? "}" : "");
  format_value (out, h->sum);
  g_string_append_printf (out, "\n%s_count%s%s%s ", f->name, *labels ? "{" : "", labels,
      *labels ? "}" : "");
  format_value (out, h->count);
  g_string_append_c (out, '\n');
}

void
amgw_metrics_add (const char *family, double value, ...)
{
  va_list ap;
  char *labels;

  va_start (ap, value);
  labels = labels_from_va (ap);
  va_end (ap);
  update (family, AMGW_METRIC_COUNTER, value, TRUE, labels);
}

void
amgw_metrics_set (const char *family, double value, ...)
{
  va_list ap;
  char *labels;

  va_start (ap, value);
  labels = labels_from_va (ap);
  va_end (ap);
  update (family, AMGW_METRIC_GAUGE, value, FALSE, labels);
}

double
amgw_metrics_get (const char *family, ...)
{
  va_list ap;
  g_autofree char *labels = NULL;
  Family *f;
  double r = 0;

  va_start (ap, family);
  labels = labels_from_va (ap);
  va_end (ap);

  g_mutex_lock (&lock);
  f = families ? g_hash_table_lookup (families, family) : NULL;
  if (f) {
    double *v = g_hash_table_lookup (f->series, labels);
    if (v && f->type != AMGW_METRIC_HISTOGRAM)
      r = *v;
  } else if (families && (g_str_has_suffix (family, "_count") || g_str_has_suffix (family, "_sum"))) {
    /* A histogram's _count or _sum. */
    gboolean count = g_str_has_suffix (family, "_count");
    g_autofree char *base = g_strndup (family, strlen (family) - (count ? 6 : 4));
    f = g_hash_table_lookup (families, base);
    if (f && f->type == AMGW_METRIC_HISTOGRAM) {
      const Hist *h = g_hash_table_lookup (f->series, labels);
      if (h)
        r = count ? h->count : h->sum;
    }
  }
  g_mutex_unlock (&lock);
  return r;
}

void
amgw_metrics_clear (const char *family)
{
  Family *f;

  g_mutex_lock (&lock);
  f = families ? g_hash_table_lookup (families, family) : NULL;
  if (f)
    g_hash_table_remove_all (f->series);
  g_mutex_unlock (&lock);
}

void
amgw_metrics_add_collector (AmgwMetricsCollector fn, gpointer user_data)
{
  Collector c = { fn, user_data };

  g_mutex_lock (&lock);
  if (collectors == NULL)
    collectors = g_array_new (FALSE, FALSE, sizeof (Collector));
  g_array_append_val (collectors, c);
  g_mutex_unlock (&lock);
}

void
amgw_metrics_remove_collector (AmgwMetricsCollector fn, gpointer user_data)
{
  g_mutex_lock (&lock);
  for (guint i = 0; collectors && i < collectors->len; i++) {
    Collector *c = &g_array_index (collectors, Collector, i);
    if (c->fn == fn && c->user_data == user_data) {
      g_array_remove_index (collectors, i);
      break;
    }
  }
  g_mutex_unlock (&lock);
}

static int
compare_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
format_value (GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (v == floor (v) && fabs (v) < 1e15)
    g_string_append_printf (s, "%" G_GINT64_FORMAT, (gint64) v);
  else
    g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.15g", v));
}

char *
amgw_metrics_render (void)
{
  GString *out = g_string_new (NULL);
  g_autoptr (GArray) cs = NULL;
  g_autoptr (GPtrArray) names = NULL;
  GHashTableIter it;
  gpointer k, v;

  /* Collectors run unlocked: they call amgw_metrics_set(). */
  g_mutex_lock (&lock);
  if (collectors)
    cs = g_array_copy (collectors);
  g_mutex_unlock (&lock);
  for (guint i = 0; cs && i < cs->len; i++) {
    Collector *c = &g_array_index (cs, Collector, i);
    c->fn (c->user_data);
  }

  g_mutex_lock (&lock);
  names = g_ptr_array_new ();
  if (families) {
    g_hash_table_iter_init (&it, families);
    while (g_hash_table_iter_next (&it, &k, NULL))
      g_ptr_array_add (names, k);
  }
  g_ptr_array_sort (names, compare_str);
  for (guint i = 0; i < names->len; i++) {
    Family *f = g_hash_table_lookup (families, names->pdata[i]);
    g_autoptr (GPtrArray) keys = g_ptr_array_new ();

    g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", f->name,
        f->help ? f->help : "", f->name,
        f->type == AMGW_METRIC_COUNTER ? "counter"
        : f->type == AMGW_METRIC_HISTOGRAM ? "histogram" : "gauge");
    g_hash_table_iter_init (&it, f->series);
    while (g_hash_table_iter_next (&it, &k, &v))
      g_ptr_array_add (keys, k);
    g_ptr_array_sort (keys, compare_str);
    for (guint j = 0; j < keys->len; j++) {
      const char *labels = keys->pdata[j];
      double *val = g_hash_table_lookup (f->series, labels);
      if (f->type == AMGW_METRIC_HISTOGRAM) {
        render_hist (out, f, labels, (const Hist *) val);
        continue;
      }
      g_string_append (out, f->name);
      if (*labels)
        g_string_append_printf (out, "{%s}", labels);
      g_string_append_c (out, ' ');
      format_value (out, *val);
      g_string_append_c (out, '\n');
    }
  }
  g_mutex_unlock (&lock);
  return g_string_free (out, FALSE);
}

void
amgw_metrics_reset (void)
{
  g_mutex_lock (&lock);
  g_clear_pointer (&families, g_hash_table_unref);
  if (collectors)
    g_array_set_size (collectors, 0);
  g_mutex_unlock (&lock);
}
