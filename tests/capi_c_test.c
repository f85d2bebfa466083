/* The C ABI used from C: ngvi.h must compile as strict C99, and a fit through it must reach the exact
 * posterior of quadratic targets, N(a_b, A_b^-1), which one BLR step of size 1 with exact expectations
 * lands on (docs/math.md section 3.2): with the built-in quadratic model, and with the same target computed
 * here in C and driven through the ask/tell optimizer (Price's estimator on antithetic pairs is exact
 * for a quadratic: the mean of A (z - a) over z = mu +- e is A (mu - a)). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ngvi/ngvi.h"

#define CHECK(cond)                                                                                     \
  do {                                                                                                  \
    if (!(cond)) {                                                                                      \
      fprintf(stderr, "%s:%d: check failed: %s (ngvi_last_error: \"%s\")\n", __FILE__, __LINE__, #cond, \
              ngvi_last_error());                                                                       \
      return 1;                                                                                         \
    }                                                                                                   \
  } while (0)
#define CHECK_OK(call) CHECK((call) == NGVI_OK)

enum { B = 3, D = 2 };

static int close_to(double a, double b) { return fabs(a - b) <= 1e-12 * (1.0 + fabs(b)); }

static int quadratic_fit_reaches_the_exact_posterior(void) {
  const double centers[B * D] = {1.0, -2.0, 0.5, 0.25, -3.0, 4.0};
  const double curvatures[B * D * D] = {2.0, 0.5, 0.5, 1.0, 4.0, -1.0, -1.0, 3.0, 1.0, 0.0, 0.0, 9.0};
  ngvi_model* model = NULL;
  ngvi_batch* batch = NULL;
  ngvi_summary* summary = NULL;
  ngvi_options options;
  ngvi_summary_info info;
  double mean[B * D], covariance[B * D * D];
  int32_t status[B];
  int b;

  CHECK_OK(ngvi_model_create_quadratic(&model, B, D, ngvi_in_f64(centers, B * D),
                                       ngvi_in_f64(curvatures, B * D * D), NULL));
  CHECK_OK(ngvi_batch_create(&batch, B, D, NGVI_FAMILY_FULL, NGVI_FLOAT64));
  CHECK_OK(ngvi_options_init(&options));
  options.rule = NGVI_RULE_BLR;
  options.step_size = 1.0;
  options.estimator = NGVI_ESTIMATOR_QUADRATURE;
  CHECK_OK(ngvi_fit(model, batch, &options, &summary));

  CHECK_OK(ngvi_batch_get(batch, NGVI_MOMENTS, ngvi_out_f64(mean, B * D), ngvi_out_f64(covariance, B * D * D)));
  for (b = 0; b < B; ++b) {
    const double* A = curvatures + b * D * D;
    const double det = A[0] * A[3] - A[1] * A[2];
    const double inverse[4] = {A[3] / det, -A[1] / det, -A[2] / det, A[0] / det};
    int i;
    for (i = 0; i < D; ++i) CHECK(close_to(mean[b * D + i], centers[b * D + i]));
    for (i = 0; i < D * D; ++i) CHECK(close_to(covariance[b * D * D + i], inverse[i]));
  }

  CHECK_OK(ngvi_summary_get(summary, NGVI_SUMMARY_STATUS, ngvi_out_i32(status, B)));
  for (b = 0; b < B; ++b) CHECK(status[b] == NGVI_FIT_CONVERGED);
  info.struct_size = sizeof info;
  CHECK_OK(ngvi_summary_get_info(summary, &info));
  CHECK(info.batch_size == B && info.dimension == D && info.status_counts[NGVI_FIT_CONVERGED] == B);
  CHECK(info.failures == 0 && info.estimator == NGVI_ESTIMATOR_QUADRATURE);

  CHECK_OK(ngvi_summary_destroy(summary));
  CHECK_OK(ngvi_batch_destroy(batch));
  CHECK_OK(ngvi_model_destroy(model));
  return 0;
}

/* f_b(z) = 1/2 (z - a_b)^T A_b (z - a_b), its gradient and Hessian, at the points of an ask. */
static void evaluate_quadratic(const ngvi_ask* ask, const double* centers, const double* curvatures, double* values,
                               double* gradients, double* hessians) {
  const double* points = (const double*)ask->points;
  size_t k;
  int s, i, j;
  for (k = 0; k < ask->count; ++k) {
    const double* a = centers + ask->distributions[k] * D;
    const double* A = curvatures + ask->distributions[k] * D * D;
    for (s = 0; s < ask->samples; ++s) {
      const size_t p = k * (size_t)ask->samples + (size_t)s;
      const double* z = points + p * D;
      values[p] = 0.0;
      for (i = 0; i < D; ++i) {
        double Ar = 0.0;
        for (j = 0; j < D; ++j) Ar += A[i * D + j] * (z[j] - a[j]);
        values[p] += 0.5 * (z[i] - a[i]) * Ar;
        gradients[p * D + i] = Ar;
        for (j = 0; j < D; ++j) hessians[p * D * D + i * D + j] = A[i * D + j];
      }
    }
  }
}

static int ask_tell_from_c_reaches_the_exact_posterior(void) {
  const double centers[B * D] = {1.0, -2.0, 0.5, 0.25, -3.0, 4.0};
  const double curvatures[B * D * D] = {2.0, 0.5, 0.5, 1.0, 4.0, -1.0, -1.0, 3.0, 1.0, 0.0, 0.0, 9.0};
  enum { S = 4 };
  double values[B * S], gradients[B * S * D], hessians[B * S * D * D], mean[B * D], covariance[B * D * D];
  const ngvi_input_array absent = {NULL, 0, NGVI_FLOAT64, NGVI_MEMORY_HOST};
  ngvi_batch* batch = NULL;
  ngvi_optimizer* optimizer = NULL;
  ngvi_summary* summary = NULL;
  ngvi_options options;
  ngvi_summary_info info;
  int32_t done = 0;
  int b, i, requests = 0;

  CHECK_OK(ngvi_batch_create(&batch, B, D, NGVI_FAMILY_FULL, NGVI_FLOAT64));
  CHECK_OK(ngvi_options_init(&options));
  options.estimator = NGVI_ESTIMATOR_PRICE;
  options.rule = NGVI_RULE_BLR;
  options.step_size = 1.0;
  options.samples = S;
  options.final_samples = S;  /* the final request's draws: as many as a step's, for the same buffers */
  options.max_step_kl = 0;    /* no trust region: the one whole step */
  CHECK_OK(ngvi_optimizer_create(&optimizer, batch, &options, NGVI_DERIVATIVES_HESSIAN, NULL));
  CHECK(ngvi_optimizer_tell(optimizer, absent, absent, absent) == NGVI_ERROR_INVALID_OPERATION);
  CHECK(strstr(ngvi_last_error(), "no request is pending") != NULL);
  CHECK(ngvi_batch_destroy(batch) == NGVI_ERROR_INVALID_OPERATION); /* in use */

  for (;;) {
    ngvi_ask ask;
    CHECK_OK(ngvi_optimizer_done(optimizer, &done));
    if (done) break;
    ask.struct_size = sizeof ask;
    CHECK_OK(ngvi_optimizer_ask(optimizer, &ask));
    CHECK(ask.samples == S && ask.dimension == D && ask.dtype == NGVI_FLOAT64 && ask.count <= B);
    evaluate_quadratic(&ask, centers, curvatures, values, gradients, hessians);
    CHECK_OK(ngvi_optimizer_tell(optimizer, ngvi_in_f64(values, ask.count * S),
                                 ask.needs_gradients ? ngvi_in_f64(gradients, ask.count * S * D) : absent,
                                 ask.needs_hessians ? ngvi_in_f64(hessians, ask.count * S * D * D) : absent));
    ++requests;
  }
  CHECK(requests < 10); /* one step lands on the optimum; `patience` more confirm it */

  CHECK_OK(ngvi_optimizer_summary(optimizer, &summary));
  info.struct_size = sizeof info;
  CHECK_OK(ngvi_summary_get_info(summary, &info));
  CHECK(info.status_counts[NGVI_FIT_CONVERGED] == B && info.estimator == NGVI_ESTIMATOR_PRICE);
  CHECK_OK(ngvi_optimizer_destroy(optimizer));
  CHECK_OK(ngvi_batch_get(batch, NGVI_MOMENTS, ngvi_out_f64(mean, B * D), ngvi_out_f64(covariance, B * D * D)));
  for (b = 0; b < B; ++b) {
    const double* A = curvatures + b * D * D;
    const double det = A[0] * A[3] - A[1] * A[2];
    const double inverse[4] = {A[3] / det, -A[1] / det, -A[2] / det, A[0] / det};
    for (i = 0; i < D; ++i) CHECK(close_to(mean[b * D + i], centers[b * D + i]));
    for (i = 0; i < D * D; ++i) CHECK(close_to(covariance[b * D * D + i], inverse[i]));
  }
  CHECK_OK(ngvi_summary_destroy(summary));
  CHECK_OK(ngvi_batch_destroy(batch));
  return 0;
}

static int misuse_returns_a_status_and_a_message(void) {
  double mean[D];
  ngvi_options options;
  CHECK(ngvi_batch_get(NULL, NGVI_MOMENTS, ngvi_out_f64(mean, D), ngvi_out_f64(NULL, 0)) ==
        NGVI_ERROR_INVALID_HANDLE);
  CHECK(strstr(ngvi_last_error(), "ngvi_batch_get") != NULL && strstr(ngvi_last_error(), "`batch`") != NULL);
  CHECK(ngvi_options_defaults(&options, sizeof options - 4) == NGVI_ERROR_STRUCT_SIZE); /* no layout ends there */
  CHECK(strstr(ngvi_last_error(), "struct_size") != NULL);
  CHECK_OK(ngvi_options_init(&options));
  CHECK(ngvi_last_error()[0] == '\0'); /* a success leaves no message */
  CHECK(strcmp(ngvi_status_name(NGVI_ERROR_DTYPE), "dtype") == 0);
  CHECK(strcmp(ngvi_fit_status_name(NGVI_FIT_INVALID_DATA), "invalid_data") == 0);
  return 0;
}

int main(void) {
  if (strcmp(ngvi_version(), NGVI_EXPECTED_VERSION) != 0) {
    fprintf(stderr, "ngvi_version() = %s, expected %s\n", ngvi_version(), NGVI_EXPECTED_VERSION);
    return 1;
  }
  if (quadratic_fit_reaches_the_exact_posterior() != 0) return 1;
  if (ask_tell_from_c_reaches_the_exact_posterior() != 0) return 1;
  if (misuse_returns_a_status_and_a_message() != 0) return 1;
  printf("capi_c_test: ok\n");
  return 0;
}
