/* amgw — Prometheus metrics.
 *
 * A process-wide registry of counters and gauges with labels, rendered in the
 * Prometheus text format by GET /metrics.  Thread-safe (one mutex; metrics are
 * touched per request or per call event, never per packet).
 *
 * Label values must never carry a secret or personal data: pass operation
 * names, status codes, outcomes, states.  Values are escaped when rendered.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  AMGW_METRIC_COUNTER,
  AMGW_METRIC_GAUGE,
  AMGW_METRIC_HISTOGRAM,
} AmgwMetricType;

#define AMGW_METRICS_MAX_BUCKETS 16

/* Declares a family; idempotent.  Families that are used without being
 * described render with an empty HELP. */
void amgw_metrics_describe (const char *family, AmgwMetricType type, const char *help);

/* Adds @value to the series @family{labels}.  @labels is NULL or a
 * NULL-terminated list of name, value pairs:
 *   amgw_metrics_add ("amgw_alexa_requests_total", 1, "operation", "CallRinging", "status", "200", NULL);
 */
void amgw_metrics_add (const char *family, double value, ...) G_GNUC_NULL_TERMINATED;

/* Declares a histogram family with @n_bounds (at most
 * AMGW_METRICS_MAX_BUCKETS) increasing upper bounds; +Inf is implied. */
void amgw_metrics_describe_histogram (const char *family, const char *help,
    const double *bounds, guint n_bounds);

/* One observation of a histogram family (declared first; otherwise it is
 * dropped): rendered as _bucket{le=...}, _sum and _count. */
void amgw_metrics_observe (const char *family, double value, ...) G_GNUC_NULL_TERMINATED;

/* Sets a gauge series to @value. */
void amgw_metrics_set (const char *family, double value, ...) G_GNUC_NULL_TERMINATED;

/* Reads one series (0 if absent): for tests. */
double amgw_metrics_get (const char *family, ...) G_GNUC_NULL_TERMINATED;

/* A collector runs at render time to refresh gauges (calls by state, ...).
 * It is called without the registry lock held. */
typedef void (*AmgwMetricsCollector) (gpointer user_data);
void amgw_metrics_add_collector (AmgwMetricsCollector fn, gpointer user_data);
void amgw_metrics_remove_collector (AmgwMetricsCollector fn, gpointer user_data);

/* Clears every series of a gauge family (before a collector refills it). */
void amgw_metrics_clear (const char *family);

/* The whole registry in Prometheus text format 0.0.4.  (transfer full) */
char *amgw_metrics_render (void);

/* Drops every family and collector: tests only. */
void amgw_metrics_reset (void);

G_END_DECLS
