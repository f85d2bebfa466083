/* A C program that uses an installed ngvi through pkg-config: reads the logistic batch written by the
 * C++ consumer, fits it through the C ABI with the same options, and checks that every result is
 * bit-identical to the C++ API's. Usage: consumer DATA_DIR */
#include <ngvi/ngvi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALL(call)                                                     \
  do {                                                                 \
    if ((call) != NGVI_OK) {                                           \
      fprintf(stderr, "%s failed: %s\n", #call, ngvi_last_error());    \
      exit(1);                                                         \
    }                                                                  \
  } while (0)

static FILE* open_file(const char* dir, const char* name) {
  char path[4096];
  FILE* f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(1);
  }
  return f;
}

/* Reads n elements of `size` bytes into a new array. */
static void* read_array(FILE* f, size_t n, size_t size) {
  void* data = malloc(n * size + 1);
  if (data == NULL || fread(data, size, n, f) != n) {
    fprintf(stderr, "short read\n");
    exit(1);
  }
  return data;
}

static int identical(const void* a, const void* b, size_t bytes, const char* what) {
  if (memcmp(a, b, bytes) == 0) return 1;
  fprintf(stderr, "%s: the C ABI from C differs from the C++ API\n", what);
  return 0;
}

int main(int argc, char** argv) {
  FILE *problem, *reference;
  int64_t header[3];
  int64_t* offsets;
  double *x, *y, *mean, *covariance, *elbo, *want_mean, *want_covariance, *want_elbo;
  int32_t *status, *want_status;
  size_t B, d, rows, b, converged = 0;
  ngvi_model* model = NULL;
  ngvi_batch* batch = NULL;
  ngvi_summary* summary = NULL;
  ngvi_options options;
  int same;

  if (argc != 2) {
    fprintf(stderr, "usage: consumer DATA_DIR\n");
    return 2;
  }
  problem = open_file(argv[1], "problem.bin");
  if (fread(header, sizeof header[0], 3, problem) != 3) return 1;
  B = (size_t)header[0];
  d = (size_t)header[1];
  rows = (size_t)header[2];
  offsets = read_array(problem, B + 1, sizeof *offsets);
  x = read_array(problem, rows * d, sizeof *x);
  y = read_array(problem, rows, sizeof *y);
  fclose(problem);
  reference = open_file(argv[1], "reference.bin");
  want_mean = read_array(reference, B * d, sizeof(double));
  want_covariance = read_array(reference, B * d * d, sizeof(double));
  want_elbo = read_array(reference, B, sizeof(double));
  want_status = read_array(reference, B, sizeof(int32_t));
  fclose(reference);

  CALL(ngvi_model_create_glm(&model, NGVI_LOGISTIC, B, (int32_t)d, 0, ngvi_in_f64(x, rows * d), ngvi_in_f64(y, rows),
                             ngvi_in_i64(offsets, B + 1), NULL, 1.0));
  free(x); /* the model holds its own copy */
  free(y);
  free(offsets);
  CALL(ngvi_batch_create(&batch, B, (int32_t)d, NGVI_FAMILY_FULL, NGVI_FLOAT64));
  CALL(ngvi_options_init(&options));
  options.estimator = NGVI_ESTIMATOR_STEIN; /* as FitSettings in ../cpp/main.cpp */
  options.samples = 8;
  options.max_steps = 100;
  options.seed = 7;
  CALL(ngvi_fit(model, batch, &options, &summary));

  mean = malloc(B * d * sizeof *mean);
  covariance = malloc(B * d * d * sizeof *covariance);
  elbo = malloc(B * sizeof *elbo);
  status = malloc(B * sizeof *status);
  CALL(ngvi_batch_get(batch, NGVI_MOMENTS, ngvi_out_f64(mean, B * d), ngvi_out_f64(covariance, B * d * d)));
  CALL(ngvi_summary_get(summary, NGVI_SUMMARY_ELBO, ngvi_out_f64(elbo, B)));
  CALL(ngvi_summary_get(summary, NGVI_SUMMARY_STATUS, ngvi_out_i32(status, B)));
  same = identical(mean, want_mean, B * d * sizeof *mean, "mean") &
         identical(covariance, want_covariance, B * d * d * sizeof *covariance, "covariance") &
         identical(elbo, want_elbo, B * sizeof *elbo, "elbo") &
         identical(status, want_status, B * sizeof *status, "status");
  for (b = 0; b < B; ++b) converged += status[b] == NGVI_FIT_CONVERGED;

  CALL(ngvi_summary_destroy(summary));
  CALL(ngvi_batch_destroy(batch));
  CALL(ngvi_model_destroy(model));
  free(mean);
  free(covariance);
  free(elbo);
  free(status);
  free(want_mean);
  free(want_covariance);
  free(want_elbo);
  free(want_status);
  if (!same) return 1;
  printf("C consumer (ngvi %s): %zu logistic fits (%zu converged), bit-identical to the C++ API\n", ngvi_version(), B,
         converged);
  return 0;
}
