/* Unit tests for the metrics registry (signaling/metrics.c): counters,
 * gauges, histograms, label escaping, the Prometheus text format. */
#include "amgw/metrics.h"

#include <string.h>

static void
assert_has (const char *text, const char *needle)
{
  if (strstr (text, needle) == NULL)
    g_error ("\"%s\" is not in:\n%s", needle, text);
}

static void
test_counter_and_gauge (void)
{
  g_autofree char *text = NULL;

  amgw_metrics_reset ();
  amgw_metrics_describe ("t_total", AMGW_METRIC_COUNTER, "A counter.");
  amgw_metrics_add ("t_total", 1, "code", "200", NULL);
  amgw_metrics_add ("t_total", 2, "code", "200", NULL);
  amgw_metrics_add ("t_total", 1, "code", "a\"b\\c\nd", NULL);
  amgw_metrics_set ("t_gauge", 2.5, NULL);
  g_assert_cmpfloat (amgw_metrics_get ("t_total", "code", "200", NULL), ==, 3);
  text = amgw_metrics_render ();
  assert_has (text, "# HELP t_total A counter.\n# TYPE t_total counter\n");
  assert_has (text, "t_total{code=\"200\"} 3\n");
  assert_has (text, "t_total{code=\"a\\\"b\\\\c\\nd\"} 1\n");
  assert_has (text, "# TYPE t_gauge gauge\nt_gauge 2.5\n");
}

static void
test_histogram (void)
{
  static const double bounds[] = { 0.1, 1, 10 };
  g_autofree char *text = NULL;

  amgw_metrics_reset ();
  amgw_metrics_describe_histogram ("t_seconds", "Latency.", bounds, G_N_ELEMENTS (bounds));
  amgw_metrics_observe ("t_seconds", 0.05, "op", "x", NULL);
  amgw_metrics_observe ("t_seconds", 0.1, "op", "x", NULL);    /* le is inclusive */
  amgw_metrics_observe ("t_seconds", 5, "op", "x", NULL);
  amgw_metrics_observe ("t_seconds", 50, "op", "x", NULL);
  amgw_metrics_observe ("t_seconds", 1, NULL);
  /* Not declared: dropped, not rendered. */
  amgw_metrics_observe ("t_undeclared", 1, NULL);
  text = amgw_metrics_render ();
  assert_has (text, "# TYPE t_seconds histogram\n");
  assert_has (text, "t_seconds_bucket{op=\"x\",le=\"0.1\"} 2\n");
  assert_has (text, "t_seconds_bucket{op=\"x\",le=\"1\"} 2\n");
  assert_has (text, "t_seconds_bucket{op=\"x\",le=\"10\"} 3\n");
  assert_has (text, "t_seconds_bucket{op=\"x\",le=\"+Inf\"} 4\n");
  assert_has (text, "t_seconds_sum{op=\"x\"} 55.15\n");
  assert_has (text, "t_seconds_count{op=\"x\"} 4\n");
  assert_has (text, "t_seconds_bucket{le=\"1\"} 1\n");
  assert_has (text, "t_seconds_count 1\n");
  g_assert_null (strstr (text, "t_undeclared"));
  g_assert_cmpfloat (amgw_metrics_get ("t_seconds_count", "op", "x", NULL), ==, 4);
  g_assert_cmpfloat_with_epsilon (amgw_metrics_get ("t_seconds_sum", "op", "x", NULL), 55.15,
      1e-9);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/counter-and-gauge", test_counter_and_gauge);
  g_test_add_func ("/metrics/histogram", test_histogram);
  return g_test_run ();
}
