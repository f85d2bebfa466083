/**
 * @file ngvi.h
 * @brief The C ABI of ngvi: natural-gradient variational inference on batches of Gaussians.
 *
 * Pure C99; stable across the releases that share the library's SONAME.
 *
 * Conventions
 *  - Every function returns an ngvi_status (NGVI_OK = 0), except ngvi_version(), ngvi_last_error() and
 *    the *_name() functions, which return static strings and cannot fail. On failure,
 *    ngvi_last_error() gives a message naming the function, the argument at fault and its value.
 *    No C++ exception ever leaves the library.
 *  - Objects are opaque handles (ngvi_batch, ngvi_model, ngvi_summary) created by *_create functions
 *    (or ngvi_fit) and released by *_destroy. A handle may be used from any thread, but not by two
 *    threads at once when one of them modifies it. After *_destroy the pointer is invalid: passing it
 *    again (a second destroy included) returns NGVI_ERROR_INVALID_HANDLE, because the library keeps
 *    a registry of live handles; that check cannot tell a stale pointer from a new handle that the
 *    library has since created at the same address, so set pointers to NULL once destroyed
 *    (destroying NULL does nothing).
 *  - Arrays are passed as ngvi_input_array / ngvi_output_array: pointer, element count, dtype and
 *    memory kind. The library checks every array's dtype and exact element count against the shape the
 *    call expects. Arrays are flat, row-major, with the batch index outermost. The library never keeps
 *    or frees the caller's memory: models copy their data, and results are written into caller arrays.
 *  - An array with data == NULL and size == 0 is "absent": allowed where a parameter is documented as
 *    optional, and for required arrays whose expected size is 0.
 *  - Option structs start with struct_size, which must equal sizeof the struct the caller was compiled
 *    with; later versions add fields at the end and keep accepting the older sizes.
 *
 * Shapes below use B for the number of distributions (the batch size), d for the dimension, and M for
 * the entries of one distribution's matrix: d*d for the full family, d (its diagonal) for the diagonal
 * family.
 */
#ifndef NGVI_NGVI_H
#define NGVI_NGVI_H

#include <stddef.h>
#include <stdint.h>

#include "ngvi/export.hpp" /* NGVI_API: preprocessor only, valid C */

#ifdef __cplusplus
extern "C" {
#endif

/* In C an enum object holds any int. In C++ (the library itself) an enum without a fixed underlying
 * type only holds the values of its bit range, so the enums below are given `int` there: a caller's
 * out-of-range value is then a value to refuse with a status, not undefined behaviour. */
#ifdef __cplusplus
#define NGVI_ENUM(name) enum name : int
#else
#define NGVI_ENUM(name) enum name
#endif

/* ------------------------------------------------------------------------------------------------ */
/* Status codes                                                                                      */
/* ------------------------------------------------------------------------------------------------ */

/** @brief What a call returns. Values are stable. */
typedef NGVI_ENUM(ngvi_status) {
  NGVI_OK = 0,                     /**< the call did what it documents */
  NGVI_ERROR_INVALID_HANDLE = 1,   /**< a handle argument is NULL or not a live handle of the right kind */
  NGVI_ERROR_NULL_POINTER = 2,     /**< a required pointer or array is NULL */
  NGVI_ERROR_STRUCT_SIZE = 3,      /**< an options struct's struct_size is not one this library knows */
  NGVI_ERROR_SIZE = 4,             /**< an array's element count or a shape does not match what the call expects */
  NGVI_ERROR_DTYPE = 5,            /**< an array's dtype is wrong for the call (or differs from the handle's) */
  NGVI_ERROR_INVALID_ARGUMENT = 6, /**< a value out of range: an unknown enum value, a bad option, d < 1, ... */
  NGVI_ERROR_UNAVAILABLE = 7,      /**< the request needs a feature this build lacks (device arrays, CUDA backend) */
  NGVI_ERROR_OUT_OF_MEMORY = 8,    /**< an allocation failed */
  NGVI_ERROR_INTERNAL = 9,         /**< an unexpected failure inside the library (a bug: please report it) */
  NGVI_ERROR_INVALID_OPERATION = 10, /**< the call does not fit the handle's state: a tell with no pending ask,
                                          an ask once the optimizer is done, changing a batch an optimizer uses */
  NGVI_ERROR_FILE = 11               /**< a file cannot be read or written, or is not a valid ngvi checkpoint
                                          (missing, truncated, corrupted, of a newer format) */
} ngvi_status;

/** @brief The message of the most recent call on this thread that did not return NGVI_OK ("" after a
 *  call that succeeded). Valid until the next ngvi call on this thread. */
NGVI_API const char* ngvi_last_error(void);

/** @brief A short stable identifier for a status, e.g. "invalid_handle" ("unknown" if out of range). */
NGVI_API const char* ngvi_status_name(ngvi_status status);

/** @brief The library's version, "MAJOR.MINOR.PATCH". */
NGVI_API const char* ngvi_version(void);

/* ------------------------------------------------------------------------------------------------ */
/* Arrays                                                                                            */
/* ------------------------------------------------------------------------------------------------ */

/** @brief Element types. 0 is never a dtype, so a zero-initialized array descriptor is refused. */
typedef NGVI_ENUM(ngvi_dtype) {
  NGVI_FLOAT32 = 1,
  NGVI_FLOAT64 = 2,
  NGVI_INT32 = 3, /**< per-distribution statuses and counts */
  NGVI_INT64 = 4  /**< row offsets of ragged data */
} ngvi_dtype;

/** @brief Where an array lives. */
typedef NGVI_ENUM(ngvi_memory) {
  NGVI_MEMORY_HOST = 0,  /**< ordinary host memory (the default of a zero-initialized field) */
  NGVI_MEMORY_DEVICE = 1 /**< a CUDA device pointer on the current device; calls that cannot take one
                              return NGVI_ERROR_UNAVAILABLE (always, in a build without the CUDA backend) */
} ngvi_memory;

/** @brief An array the library only reads. */
typedef struct ngvi_input_array {
  const void* data;
  size_t size; /**< number of elements (not bytes) */
  ngvi_dtype dtype;
  ngvi_memory memory;
} ngvi_input_array;

/** @brief An array the library writes. */
typedef struct ngvi_output_array {
  void* data;
  size_t size; /**< number of elements (not bytes) */
  ngvi_dtype dtype;
  ngvi_memory memory;
} ngvi_output_array;

/** @name Host array descriptors
 *  e.g. ngvi_in_f64(mean, B * d), ngvi_out_i32(status, B). An absent array is (ngvi_output_array){0}.
 *  @{ */
static inline ngvi_input_array ngvi_in_array(const void* data, size_t size, ngvi_dtype dtype) {
  ngvi_input_array a;
  a.data = data;
  a.size = size;
  a.dtype = dtype;
  a.memory = NGVI_MEMORY_HOST;
  return a;
}
static inline ngvi_output_array ngvi_out_array(void* data, size_t size, ngvi_dtype dtype) {
  ngvi_output_array a;
  a.data = data;
  a.size = size;
  a.dtype = dtype;
  a.memory = NGVI_MEMORY_HOST;
  return a;
}
static inline ngvi_input_array ngvi_in_f32(const float* d, size_t n) { return ngvi_in_array(d, n, NGVI_FLOAT32); }
static inline ngvi_input_array ngvi_in_f64(const double* d, size_t n) { return ngvi_in_array(d, n, NGVI_FLOAT64); }
static inline ngvi_input_array ngvi_in_i64(const int64_t* d, size_t n) { return ngvi_in_array(d, n, NGVI_INT64); }
static inline ngvi_output_array ngvi_out_f32(float* d, size_t n) { return ngvi_out_array(d, n, NGVI_FLOAT32); }
static inline ngvi_output_array ngvi_out_f64(double* d, size_t n) { return ngvi_out_array(d, n, NGVI_FLOAT64); }
static inline ngvi_output_array ngvi_out_i32(int32_t* d, size_t n) { return ngvi_out_array(d, n, NGVI_INT32); }
/** @} */

/* ------------------------------------------------------------------------------------------------ */
/* Enumerations shared with the C++ API (same values as the enums of include/ngvi/ *.hpp)            */
/* ------------------------------------------------------------------------------------------------ */

/** @brief Covariance structure of a batch. */
typedef NGVI_ENUM(ngvi_family) {
  NGVI_FAMILY_FULL = 0,    /**< full covariance: M = d*d */
  NGVI_FAMILY_DIAGONAL = 1 /**< mean field: M = d, matrices are given by their diagonals */
} ngvi_family;

/** @brief The parameterizations a batch can be set from and read as (docs/math.md, section 2). Each has
 *  two arrays: `first` of shape (B, d) and `second` of shape (B, M). */
typedef NGVI_ENUM(ngvi_parameters) {
  NGVI_MOMENTS = 0,            /**< mean mu, covariance Sigma */
  NGVI_PRECISION = 1,          /**< mean mu, precision Lambda = Sigma^-1 */
  NGVI_PRECISION_CHOLESKY = 2, /**< mean mu, lower Cholesky factor L of the precision (Lambda = L L^T; only the
                                    lower triangle is read) or, diagonal family, sqrt of the precision's diagonal */
  NGVI_NATURAL = 3,            /**< eta1 = Lambda mu, eta2 = -Lambda / 2 */
  NGVI_EXPECTATION = 4         /**< m1 = mu, m2 = Sigma + mu mu^T */
} ngvi_parameters;

/** @brief Outcome of setting one distribution (written into a caller's int32 array, one per distribution). */
typedef NGVI_ENUM(ngvi_conversion_status) {
  NGVI_CONVERSION_OK = 0,                   /**< converted */
  NGVI_CONVERSION_NON_FINITE = 1,           /**< an input entry was NaN or Inf */
  NGVI_CONVERSION_NOT_POSITIVE_DEFINITE = 2 /**< a matrix that must be positive definite was not */
} ngvi_conversion_status;

/** @brief Outcome of fitting one distribution (ngvi::Status; NGVI_SUMMARY_STATUS entries). */
typedef NGVI_ENUM(ngvi_fit_status) {
  NGVI_FIT_CONVERGED = 0,             /**< KL(q_new || q_old) stayed below the tolerance for `patience` steps */
  NGVI_FIT_STEP_BUDGET = 1,           /**< reached max_steps without converging */
  NGVI_FIT_RUNNING = 2,               /**< still active (a fit stopped by its progress callback) */
  NGVI_FIT_INVALID_DATA = 3,          /**< this problem's data is not finite or outside the likelihood's range */
  NGVI_FIT_INVALID_STATE = 4,         /**< the initial mean or precision factor is not finite or not positive
                                           definite */
  NGVI_FIT_NON_FINITE_VALUE = 5,      /**< the target returned NaN or Inf */
  NGVI_FIT_NON_FINITE_GRADIENT = 6,   /**< the expected gradient was not finite */
  NGVI_FIT_NON_FINITE_HESSIAN = 7,    /**< the expected Hessian was not finite */
  NGVI_FIT_NOT_POSITIVE_DEFINITE = 8, /**< the updated precision failed its Cholesky factorization, even at
                                           reduced steps */
  NGVI_FIT_MODEL_ERROR = 9            /**< the model failed while evaluating this problem */
} ngvi_fit_status;

/** Number of ngvi_fit_status values in this version (they are 0 .. NGVI_FIT_STATUS_COUNT - 1). */
#define NGVI_FIT_STATUS_COUNT 10
/** Room for status counts in ngvi_summary_info, so that new statuses do not change its size. */
#define NGVI_FIT_STATUS_CAPACITY 32

/** @brief Short stable identifiers ("converged", "not_positive_definite", ...; "unknown" if out of range). */
NGVI_API const char* ngvi_fit_status_name(int32_t status);
/** @brief A one-line explanation of a fit status for a user. */
NGVI_API const char* ngvi_fit_status_message(int32_t status);
NGVI_API const char* ngvi_conversion_status_name(int32_t status);

typedef NGVI_ENUM(ngvi_likelihood) {
  NGVI_LINEAR = 0,   /**< y ~ N(x^T z, noise_sd^2) */
  NGVI_LOGISTIC = 1, /**< y in {0, 1}, p(y = 1) = 1 / (1 + exp(-x^T z)) */
  NGVI_POISSON = 2,  /**< y in {0, 1, 2, ...}, rate exp(x^T z) */
  NGVI_PROBIT = 3    /**< y in {0, 1}, p(y = 1) = Phi(x^T z) */
} ngvi_likelihood;

typedef NGVI_ENUM(ngvi_estimator) {
  NGVI_ESTIMATOR_AUTO = 0,      /**< quadrature when the model has exact expectations, else the best Monte Carlo one */
  NGVI_ESTIMATOR_PRICE = 1,     /**< Monte Carlo, gradients and Hessians */
  NGVI_ESTIMATOR_STEIN = 2,     /**< Monte Carlo, gradients only */
  NGVI_ESTIMATOR_SCORE = 3,     /**< Monte Carlo, values only */
  NGVI_ESTIMATOR_QUADRATURE = 4 /**< exact expectations, no noise */
} ngvi_estimator;

typedef NGVI_ENUM(ngvi_rule) {
  NGVI_RULE_IBLR = 0,            /**< improved Bayesian learning rule (positive definite for any Hessian) */
  NGVI_RULE_BLR = 1,             /**< Bayesian learning rule / variational online Newton */
  NGVI_RULE_CHOLESKY_FACTOR = 2, /**< natural step on the precision's Cholesky factor */
  NGVI_RULE_ADAM = 3             /**< Euclidean baseline */
} ngvi_rule;

typedef NGVI_ENUM(ngvi_schedule) {
  NGVI_SCHEDULE_CONSTANT = 0,      /**< rho_t = step_size */
  NGVI_SCHEDULE_ROBBINS_MONRO = 1, /**< rho_t = step_size / (1 + t / decay_steps)^decay_power */
  NGVI_SCHEDULE_ADAPTIVE = 2       /**< per distribution: constant until stationary, then Robbins-Monro (default) */
} ngvi_schedule;

typedef NGVI_ENUM(ngvi_backend) {
  NGVI_BACKEND_AUTO = 0, /**< CUDA when the CUDA module is found and a device is present, else CPU */
  NGVI_BACKEND_CPU = 1,
  NGVI_BACKEND_CUDA = 2 /**< NGVI_ERROR_UNAVAILABLE without the CUDA module or a device */
} ngvi_backend;

/** @brief NGVI_OK when ngvi_fit can run the built-in models on `backend` in this process: AUTO and CPU
 *  always, CUDA when the CUDA module (libngvi_cuda.so) is found and a usable device is present.
 *  Otherwise NGVI_ERROR_UNAVAILABLE, with ngvi_last_error() saying which of the two is missing, or
 *  NGVI_ERROR_INVALID_ARGUMENT for a value that is not an ngvi_backend. */
NGVI_API ngvi_status ngvi_backend_available(ngvi_backend backend);

/* ------------------------------------------------------------------------------------------------ */
/* Batches of Gaussians                                                                              */
/* ------------------------------------------------------------------------------------------------ */

/** @brief B Gaussian distributions in d dimensions (ngvi::GaussianBatch), float32 or float64. */
typedef struct ngvi_batch ngvi_batch;

/** @brief Creates B standard normals N(0, I). dtype: NGVI_FLOAT32 or NGVI_FLOAT64. d >= 1. */
NGVI_API ngvi_status ngvi_batch_create(ngvi_batch** batch, size_t batch_size, int32_t dimension, ngvi_family family,
                                       ngvi_dtype dtype);
/** @brief Releases a batch. NULL is accepted and does nothing. */
NGVI_API ngvi_status ngvi_batch_destroy(ngvi_batch* batch);
/** @brief Reads a batch's shape; any output pointer may be NULL. */
NGVI_API ngvi_status ngvi_batch_shape(const ngvi_batch* batch, size_t* batch_size, int32_t* dimension,
                                      ngvi_family* family, ngvi_dtype* dtype);

/**
 * @brief Sets every distribution from the parameters `which`: first (B, d), second (B, M), in the
 * batch's dtype.
 *
 * Each distribution converts on its own: one whose input is not finite or not positive definite keeps
 * its previous state, and its entry of `conversion_status` (int32, B; optional) says why. Such
 * per-distribution failures do not make the call fail.
 */
NGVI_API ngvi_status ngvi_batch_set(ngvi_batch* batch, ngvi_parameters which, ngvi_input_array first,
                                    ngvi_input_array second, ngvi_output_array conversion_status);

/** @brief Writes every distribution's parameters `which` into first (B, d) and second (B, M), in the
 *  batch's dtype. Either output may be absent when not wanted (not both). */
NGVI_API ngvi_status ngvi_batch_get(const ngvi_batch* batch, ngvi_parameters which, ngvi_output_array first,
                                    ngvi_output_array second);

/** @brief Entropy H(q_b) of every distribution into `entropy` (B), in the batch's dtype. */
NGVI_API ngvi_status ngvi_batch_entropy(const ngvi_batch* batch, ngvi_output_array entropy);

/** @brief KL(q_b || other_b) for every b into `kl` (B). Both batches must have the same shape and dtype. */
NGVI_API ngvi_status ngvi_batch_kl_divergence(const ngvi_batch* batch, const ngvi_batch* other, ngvi_output_array kl);

/**
 * @brief Draws z[b, s] = mu_b + L_b^-T eps[b, s] into `samples` (B, S, d), eps keyed by (seed, b, step, s)
 * exactly as ngvi_fit draws it. With antithetic = 1, samples 2k and 2k+1 use eps_k and -eps_k.
 */
NGVI_API ngvi_status ngvi_batch_sample(const ngvi_batch* batch, uint64_t seed, uint32_t step, int32_t num_samples,
                                       int32_t antithetic, ngvi_output_array samples);

/**
 * @brief Conversion on its own, without a handle: reads B distributions given as `from` (from_first
 * (B, d), from_second (B, M)) and writes them as `to` (to_first (B, d), to_second (B, M)). dtype
 * float32 or float64, the same for every array. A distribution that cannot be converted gets NaN
 * outputs and its reason in `conversion_status` (int32, B; optional).
 */
NGVI_API ngvi_status ngvi_convert(ngvi_family family, size_t batch_size, int32_t dimension, ngvi_parameters from,
                                  ngvi_input_array from_first, ngvi_input_array from_second, ngvi_parameters to,
                                  ngvi_output_array to_first, ngvi_output_array to_second,
                                  ngvi_output_array conversion_status);

/* ------------------------------------------------------------------------------------------------ */
/* Built-in models                                                                                   */
/* ------------------------------------------------------------------------------------------------ */

/** @brief A batch of B targets in d dimensions (a built-in ngvi model), float32 or float64. Owns a
 *  copy of its data: the caller's arrays may be freed once the create call returns. */
typedef struct ngvi_model ngvi_model;

typedef NGVI_ENUM(ngvi_prior_kind) {
  NGVI_PRIOR_NONE = 0,      /**< no prior */
  NGVI_PRIOR_ISOTROPIC = 1, /**< N(mean, precision^-1 I) */
  NGVI_PRIOR_FULL = 2       /**< N(mean, P^-1) with a full precision matrix P */
} ngvi_prior_kind;

/** @brief A Gaussian prior on each problem's parameter, added to every step analytically. Arrays in the
 *  model's dtype; each value is shared by all problems or given per problem, told apart by its size. */
typedef struct ngvi_prior {
  size_t struct_size;
  ngvi_prior_kind kind;
  /** ISOTROPIC: absent (precision 1), 1 or B values. FULL: (d, d) or (B, d, d), symmetric positive definite. */
  ngvi_input_array precision;
  /** Absent (zero mean), d or B*d values. */
  ngvi_input_array mean;
} ngvi_prior;

/** @brief Fills `prior` with the default N(0, I) for a struct of `struct_size` bytes. Use ngvi_prior_init. */
NGVI_API ngvi_status ngvi_prior_defaults(ngvi_prior* prior, size_t struct_size);
/** @brief Fills `prior` with the default N(0, I) (kind ISOTROPIC, arrays absent). */
static inline ngvi_status ngvi_prior_init(ngvi_prior* prior) { return ngvi_prior_defaults(prior, sizeof(ngvi_prior)); }

/**
 * @brief A generalized linear model on B regression problems: f_b(z) = -sum_n log p(y_n | x_n^T z), fully
 * normalised, plus the prior.
 *
 * Two layouts of the rows (x_n, y_n), x in float32 or float64 (the model's dtype) and y in the same:
 *  - dense: `offsets` absent and every problem has `rows_per_problem` rows: x (B, N, d), y (B, N);
 *  - ragged: `offsets` (int64, B + 1), starting at 0 and never decreasing, and rows_per_problem = 0:
 *    problem b owns rows offsets[b] .. offsets[b+1]-1 of x (offsets[B], d) and y (offsets[B]).
 * Bad values inside one problem (labels outside {0, 1}, NaN) do not fail the call: they make that
 * problem's fit status NGVI_FIT_INVALID_DATA.
 *
 * @param model            receives the new model handle (NULL when the call fails).
 * @param likelihood       which likelihood each row has.
 * @param num_problems     B, the number of problems (and of distributions fitted to them).
 * @param dimension        d, the covariates per row (the dimension of z).
 * @param rows_per_problem N for the dense layout; 0 for the ragged layout.
 * @param x                the covariates, (B, N, d) dense or (offsets[B], d) ragged.
 * @param y                the responses, (B, N) dense or (offsets[B]) ragged, in x's dtype.
 * @param offsets          absent for the dense layout; int64 (B + 1) for the ragged one.
 * @param prior     NULL for the default N(0, I).
 * @param noise_sd  the noise standard deviation of NGVI_LINEAR; positive and finite (other likelihoods
 *                  ignore it: pass 1).
 */
NGVI_API ngvi_status ngvi_model_create_glm(ngvi_model** model, ngvi_likelihood likelihood, size_t num_problems,
                                           int32_t dimension, size_t rows_per_problem, ngvi_input_array x,
                                           ngvi_input_array y, ngvi_input_array offsets, const ngvi_prior* prior,
                                           double noise_sd);

/**
 * @brief The quadratic target f_b(z) = 1/2 (z - a_b)^T A_b (z - a_b) (+ the prior): with no prior the exact
 * posterior is N(a_b, A_b^-1).
 * @param model        receives the new model handle (NULL when the call fails).
 * @param num_problems B.
 * @param dimension    d.
 * @param centers      the centers a: (B, d), float32 or float64 (the model's dtype).
 * @param curvatures   the curvatures A: (d, d) shared by all problems, or (B, d, d); symmetric.
 * @param prior NULL for no prior (unlike the GLMs, whose default is N(0, I)).
 */
NGVI_API ngvi_status ngvi_model_create_quadratic(ngvi_model** model, size_t num_problems, int32_t dimension,
                                                 ngvi_input_array centers, ngvi_input_array curvatures,
                                                 const ngvi_prior* prior);

/** @brief Releases a model. NULL is accepted and does nothing. */
NGVI_API ngvi_status ngvi_model_destroy(ngvi_model* model);
/** @brief Reads a model's shape; any output pointer may be NULL. */
NGVI_API ngvi_status ngvi_model_shape(const ngvi_model* model, size_t* num_problems, int32_t* dimension,
                                      ngvi_dtype* dtype);

/* ------------------------------------------------------------------------------------------------ */
/* Fitting                                                                                           */
/* ------------------------------------------------------------------------------------------------ */

/** @brief Where a running fit stands, passed to the progress callback after every step. */
typedef struct ngvi_progress {
  size_t struct_size;
  int32_t iteration; /**< steps taken by the batch */
  size_t active;     /**< distributions still running */
  double mean_elbo;  /**< mean latest ELBO estimate (NaN unless trace_elbo) */
  double seconds;    /**< since the fit started */
} ngvi_progress;

/** @brief Called from the calling thread after every step; return 0 to stop the fit there. */
typedef int32_t (*ngvi_progress_callback)(const ngvi_progress* progress, void* user_data);

/** @brief How a fit runs (ngvi::Options). Fill with ngvi_options_init, then change fields. */
typedef struct ngvi_options {
  size_t struct_size;
  ngvi_estimator estimator; /**< default AUTO */
  ngvi_rule rule;           /**< default IBLR */
  int32_t samples;          /**< Monte Carlo samples per distribution and step; 0 (default): 16, and at least 2 d with Stein */
  int32_t antithetic;       /**< 1: samples in antithetic pairs (default), 0: independent */
  double step_size;         /**< rho in (0, 1] (default 0.5) */
  ngvi_schedule schedule;   /**< default ADAPTIVE */
  double decay_steps;       /**< Robbins-Monro tau (default 100) */
  double decay_power;       /**< Robbins-Monro kappa (default 1) */
  int32_t max_steps;        /**< step budget per distribution (default 10000) */
  double tolerance;         /**< exact estimator: converged once KL(q_new || q_old) < tolerance ... (default 1e-8) */
  int32_t patience;         /**< ... for this many consecutive steps (default 3) */
  uint64_t seed;            /**< seed of every random number: results depend on it alone (default 0) */
  int32_t num_threads;      /**< CPU threads, 0: all (default) */
  ngvi_backend backend;     /**< default AUTO */
  size_t minibatch_rows;    /**< 0: every row (default); M > 0: M random rows per step */
  int32_t trace_elbo;       /**< 1: record the mean ELBO after every step (NGVI_SUMMARY_ELBO_TRACE) */
  ngvi_progress_callback progress; /**< NULL (default): no calls */
  void* progress_user_data;        /**< passed to `progress` */
  /* Fields from here on were added after the first layout; a struct_size that ends at
   * progress_user_data is still accepted, and these fields then take their defaults. */
  double adam_beta1;           /**< Adam's first-moment decay rate, in [0, 1) (rule ADAM; default 0.9) */
  double adam_beta2;           /**< Adam's second-moment decay rate, in [0, 1) (default 0.999) */
  double adam_epsilon;         /**< Adam's denominator offset, positive (default 1e-8) */
  const char* checkpoint_path; /**< NULL or "" (default): no checkpoints. Else the file where ngvi_fit saves
                                    the fit's whole state (atomically: a temporary file, then a rename), to be
                                    continued by ngvi_resume. Copied by the call that reads the options. */
  int32_t checkpoint_every;    /**< save every this many steps; 0 (default): only when `progress` stops the fit */
  /* Added for issue 16; a struct_size that ends at checkpoint_every is accepted too, these fields
   * then taking their defaults. */
  double tolerance_sd;         /**< Monte Carlo estimators: converged once the MCSE of the averaged iterates is
                                    below this many posterior sd (default 0.01) */
  double max_step_kl;          /**< trust region, nats per dimension of KL(q_new || q_old); 0: none (default 0.5) */
  int32_t final_samples;       /**< draws for the final ELBO, its MCSE and the Pareto k-hat (default 1000) */
  /* Added for issue 20; a struct_size that ends at final_samples (padded) is accepted too, these fields then
   * taking their defaults. */
  uint64_t problem_offset;     /**< global index of the batch's first problem: distribution b draws the random
                                    numbers of problem problem_offset + b, so a slice of a batch fitted with its
                                    offset gives the whole batch's results for it (default 0; offset + B <= 2^32) */
  const int32_t* devices;      /**< num_devices device ordinals the batch is sharded across (CUDA devices; CPU
                                    thread groups), or the one entry NGVI_ALL_DEVICES; NULL (default): one device.
                                    Results do not depend on it. Copied by the call that reads the options. */
  size_t num_devices;          /**< entries of `devices` (default 0) */
} ngvi_options;

/** @brief ngvi_options::devices = {NGVI_ALL_DEVICES}: every device of the backend. */
#define NGVI_ALL_DEVICES (-1)

/** @brief Fills `options` with the defaults for a struct of `struct_size` bytes. Use ngvi_options_init. */
NGVI_API ngvi_status ngvi_options_defaults(ngvi_options* options, size_t struct_size);
/** @brief Fills `options` with the library's defaults and sets struct_size. */
static inline ngvi_status ngvi_options_init(ngvi_options* options) {
  return ngvi_options_defaults(options, sizeof(ngvi_options));
}

/** @brief What a fit did (ngvi::Summary): per-distribution outcomes, their counts, the cost. */
typedef struct ngvi_summary ngvi_summary;

/**
 * @brief Fits every distribution of `batch` to the matching problem of `model`, in place.
 *
 * Model and batch must have the same B, d and dtype. Distribution b starts from its current state and
 * ends at its fitted state. Per-distribution problems (bad data, non-finite values) never fail the call:
 * they are in the summary's statuses.
 * @param model   the targets, one per distribution.
 * @param batch   the distributions, fitted in place.
 * @param options NULL for the defaults.
 * @param summary receives a new summary handle that the caller destroys; NULL if not wanted. Set to
 *                NULL when the call fails.
 */
NGVI_API ngvi_status ngvi_fit(const ngvi_model* model, ngvi_batch* batch, const ngvi_options* options,
                              ngvi_summary** summary);

/** @brief Releases a summary. NULL is accepted and does nothing. */
NGVI_API ngvi_status ngvi_summary_destroy(ngvi_summary* summary);

/** @brief The scalar results of a fit. The caller sets struct_size = sizeof(ngvi_summary_info). */
typedef struct ngvi_summary_info {
  size_t struct_size;
  size_t batch_size;
  int32_t dimension;
  ngvi_family family;
  ngvi_estimator estimator; /**< the options the fit ran with, AUTO choices resolved */
  ngvi_rule rule;
  ngvi_backend backend;
  int32_t iterations;                /**< steps of the longest-running distribution */
  size_t distribution_steps;         /**< sum of all distributions' steps */
  double seconds;
  double distribution_steps_per_second;
  double mean_elbo;                  /**< over the distributions that did not fail (NaN if all failed) */
  size_t failures;                   /**< distributions whose status is a failure (>= NGVI_FIT_INVALID_DATA) */
  size_t elbo_trace_length;          /**< entries of NGVI_SUMMARY_ELBO_TRACE */
  /** Distributions with each ngvi_fit_status; entries from NGVI_FIT_STATUS_COUNT on are 0. */
  size_t status_counts[NGVI_FIT_STATUS_CAPACITY];
} ngvi_summary_info;

NGVI_API ngvi_status ngvi_summary_get_info(const ngvi_summary* summary, ngvi_summary_info* info);

/** @brief The per-distribution arrays of a summary. */
typedef NGVI_ENUM(ngvi_summary_field) {
  NGVI_SUMMARY_STATUS = 0,         /**< int32 (B): ngvi_fit_status */
  NGVI_SUMMARY_STEPS = 1,          /**< int32 (B): steps taken (accepted and rejected) */
  NGVI_SUMMARY_REJECTED_STEPS = 2, /**< int32 (B): steps rejected because the candidate was not a valid Gaussian */
  NGVI_SUMMARY_ELBO = 3,           /**< float64 (B): ELBO of the final distribution */
  NGVI_SUMMARY_LAST_KL = 4,        /**< float64 (B): KL(q_new || q_old) of the last accepted step */
  NGVI_SUMMARY_ELBO_TRACE = 5,     /**< float64 (elbo_trace_length): mean ELBO after each step (trace_elbo) */
  NGVI_SUMMARY_ELBO_MCSE = 6,      /**< float64 (B): Monte Carlo standard error of the ELBO (0: exact) */
  NGVI_SUMMARY_MEAN_MCSE_SD = 7,   /**< float64 (B): MCSE of the fitted mean, in posterior sd (0: exact; NaN: never
                                        stationary) */
  NGVI_SUMMARY_PARETO_K = 8        /**< float64 (B): PSIS k-hat of p / q: < 0.5 good, 0.5-0.7 with care, > 0.7 poor */
} ngvi_summary_field;

/** @brief Writes one per-distribution array of the summary into `out` (dtype and size as listed). */
NGVI_API ngvi_status ngvi_summary_get(const ngvi_summary* summary, ngvi_summary_field field, ngvi_output_array out);

/**
 * @brief The summary as text: one line (full = 0) or the full report (full = 1). Writes at most
 * buffer_size - 1 characters and a terminating NUL into buffer (NULL allowed when buffer_size = 0), and
 * the untruncated length, NUL excluded, into *length (NULL allowed).
 */
NGVI_API ngvi_status ngvi_summary_report(const ngvi_summary* summary, int32_t full, char* buffer, size_t buffer_size,
                                         size_t* length);

/** @brief Why the fit's last checkpoint could not be written ("" when it was, or when none was due; the
 *  fit itself went on). Written into buffer as by ngvi_summary_report. */
NGVI_API ngvi_status ngvi_summary_checkpoint_error(const ngvi_summary* summary, char* buffer, size_t buffer_size,
                                                   size_t* length);

/* ------------------------------------------------------------------------------------------------ */
/* Checkpoints                                                                                       */
/* ------------------------------------------------------------------------------------------------ */

/**
 * @brief Continues the fit saved in the checkpoint `path` (written by ngvi_fit with
 * options->checkpoint_path) and ends exactly as the uninterrupted fit would have: bit for bit the same
 * batch and summary.
 *
 * `batch` must have the checkpoint's B, d, family and dtype; its contents are replaced by the saved
 * state. The results are decided by the options saved in the checkpoint; from `options` (NULL: the
 * defaults) only the execution settings are taken: num_threads, backend, progress, progress_user_data,
 * checkpoint_path and checkpoint_every (to keep saving). A missing, truncated, corrupted or newer
 * checkpoint returns NGVI_ERROR_FILE with the library's message; a checkpoint of another shape
 * NGVI_ERROR_SIZE, of the other dtype NGVI_ERROR_DTYPE.
 * @param model   the model the saved fit ran on (the same data).
 * @param batch   receives the saved state, then the continued fit's.
 * @param path    the checkpoint file.
 * @param options NULL for the defaults; only its execution settings are used.
 * @param summary as for ngvi_fit.
 */
NGVI_API ngvi_status ngvi_resume(const ngvi_model* model, ngvi_batch* batch, const char* path,
                                 const ngvi_options* options, ngvi_summary** summary);

/** @brief What a checkpoint holds, read without loading its arrays. The caller sets struct_size. */
typedef struct ngvi_checkpoint_info {
  size_t struct_size;
  uint32_t format_version; /**< of the file format */
  ngvi_dtype dtype;        /**< NGVI_FLOAT32 or NGVI_FLOAT64 */
  size_t batch_size;
  int32_t dimension;
  ngvi_family family;
  int32_t iteration; /**< steps the batch had taken when it was saved */
} ngvi_checkpoint_info;

/**
 * @brief Reads and verifies (checksum included) the checkpoint `path`: its header into `info`, and into
 * `options` (NULL if not wanted; struct_size set by the caller, e.g. by ngvi_options_init) the options
 * its fit runs with: those that decide the results, the execution settings at their defaults.
 * NGVI_ERROR_FILE, with a message saying what is wrong, for a file that is not a valid checkpoint.
 */
NGVI_API ngvi_status ngvi_read_checkpoint_info(const char* path, ngvi_checkpoint_info* info, ngvi_options* options);

/* ------------------------------------------------------------------------------------------------ */
/* Ask/tell: models evaluated by the caller                                                          */
/* ------------------------------------------------------------------------------------------------ */

/**
 * @brief ngvi_fit turned inside out (ngvi::Optimizer), for models the caller evaluates (in C, NumPy,
 * PyTorch, a simulator): the optimizer hands out sample points, the caller returns the target's values
 * and derivatives there.
 * @code
 *   ngvi_optimizer_create(&opt, batch, &options, NGVI_DERIVATIVES_GRADIENT, &prior);
 *   for (ngvi_optimizer_done(opt, &done); !done; ngvi_optimizer_done(opt, &done)) {
 *     ngvi_ask ask;  ask.struct_size = sizeof ask;
 *     ngvi_optimizer_ask(opt, &ask);        // points of problems ask.distributions[0 .. ask.count-1]
 *     evaluate(&ask, values, gradients);    // f and grad f at each point
 *     ngvi_optimizer_tell(opt, ngvi_in_f64(values, ask.count * ask.samples),
 *                         ngvi_in_f64(gradients, ask.count * ask.samples * ask.dimension), no_hessians);
 *   }
 *   ngvi_optimizer_summary(opt, &summary);  ngvi_optimizer_destroy(opt);
 * @endcode
 * For the same options and seed, the results are bit for bit those of ngvi_fit on a model computing
 * the same values in the same arithmetic. Steps run on the CPU with the Monte Carlo estimators (price,
 * stein, score; not quadrature). The final request (ngvi_ask.final = 1) asks for values only, at fresh
 * points of every distribution, for the final ELBOs.
 */
typedef struct ngvi_optimizer ngvi_optimizer;

/** @brief What the caller's model computes (ngvi::Derivatives); it decides the AUTO estimator:
 *  price with Hessians, stein with gradients, score with values only. */
typedef NGVI_ENUM(ngvi_derivatives) {
  NGVI_DERIVATIVES_VALUE = 0,    /**< f only */
  NGVI_DERIVATIVES_GRADIENT = 1, /**< f and grad f */
  NGVI_DERIVATIVES_HESSIAN = 2   /**< f, grad f and hess f */
} ngvi_derivatives;

/**
 * @brief Creates an optimizer that fits `batch` in place, starting from its current state.
 *
 * While the optimizer exists the batch can be read but not changed (ngvi_batch_set, ngvi_fit,
 * ngvi_resume and ngvi_batch_destroy return NGVI_ERROR_INVALID_OPERATION): destroy the optimizer first.
 * @param optimizer receives the new optimizer handle.
 * @param batch    the distributions to fit, from their current state; updated in place.
 * @param options  NULL for the defaults. Estimator QUADRATURE and backend CUDA are refused.
 * @param provided what the caller's model computes; an estimator needing more is refused.
 * @param prior    a Gaussian prior added analytically to every target (shapes as for the models, the
 *                 batch's dtype); NULL for none: the caller's f is then the whole negative log joint.
 */
NGVI_API ngvi_status ngvi_optimizer_create(ngvi_optimizer** optimizer, ngvi_batch* batch, const ngvi_options* options,
                                           ngvi_derivatives provided, const ngvi_prior* prior);
/** @brief Releases an optimizer (the batch keeps the state reached). NULL is accepted and does nothing. */
NGVI_API ngvi_status ngvi_optimizer_destroy(ngvi_optimizer* optimizer);

/** @brief One request of an optimizer: evaluate the target at these points. The caller sets struct_size.
 *  `distributions` and `points` are views into the optimizer, valid until the next ngvi_optimizer_tell
 *  or ngvi_optimizer_destroy. */
typedef struct ngvi_ask {
  size_t struct_size;
  size_t count;                  /**< distributions in this request */
  int32_t samples;               /**< S: points per distribution */
  int32_t dimension;             /**< d */
  ngvi_dtype dtype;              /**< the batch's: of `points` and of every array told back */
  int32_t needs_values;          /**< 1: the tell must give values (count, S) */
  int32_t needs_gradients;       /**< 1: ... and gradients (count, S, d) */
  int32_t needs_hessians;        /**< 1: ... and hessians (count, S, d, d), or (count, S, d) diagonals for the
                                      diagonal family */
  int32_t final;                 /**< 1: the closing request, for the final ELBOs (values only) */
  const uint32_t* distributions; /**< (count): the problem b of each entry, increasing */
  const void* points;            /**< (count, S, d): point s of entry k starts at (k * S + s) * d */
} ngvi_ask;

/** @brief The next request into `ask`; asking again before telling gives the same request.
 *  NGVI_ERROR_INVALID_OPERATION once the optimizer is done. */
NGVI_API ngvi_status ngvi_optimizer_ask(ngvi_optimizer* optimizer, ngvi_ask* ask);

/**
 * @brief The target at the points of the pending request, in the batch's dtype: values (count, S),
 * gradients (count, S, d), hessians (count, S, d, d) or, diagonal family, (count, S, d). What the request
 * does not need may be absent (if given, it is checked but not used). A non-finite output fails its own
 * distribution only. NGVI_ERROR_INVALID_OPERATION when no request is pending.
 */
NGVI_API ngvi_status ngvi_optimizer_tell(ngvi_optimizer* optimizer, ngvi_input_array values,
                                         ngvi_input_array gradients, ngvi_input_array hessians);

/** @brief *done = 1 once the final request has been told (ngvi_optimizer_ask then refuses), else 0. */
NGVI_API ngvi_status ngvi_optimizer_done(const ngvi_optimizer* optimizer, int32_t* done);

/** @brief The outcome so far as a new summary handle that the caller destroys (distributions still
 *  running have status NGVI_FIT_RUNNING until the optimizer is done). */
NGVI_API ngvi_status ngvi_optimizer_summary(const ngvi_optimizer* optimizer, ngvi_summary** summary);

/* ------------------------------------------------------------------------------------ pooling */

/** @brief How ngvi_fit_pooled learns the shared prior (ngvi::PoolingOptions; the first round's prior
 *  mean is 0). Fill with ngvi_pooling_options_defaults. */
typedef struct ngvi_pooling_options {
  size_t struct_size;
  int32_t diagonal_precision; /**< 1: learn a diagonal precision; 0 (default): a full one */
  int32_t max_rounds;         /**< outer (EM) rounds at most, each one fit of the batch (default 100) */
  double tolerance;           /**< rounds stop once the objective changes by < tolerance (1 + |objective|) (1e-10) */
  double initial_precision;   /**< the first round's prior is N(0, initial_precision^-1 I) (default 1) */
  double hyperprior_scale;    /**< inverse-Wishart hyperprior IW(scale I, dof) on P^-1; 0 (default): none */
  double hyperprior_dof;      /**< its degrees of freedom, > d - 1 (> 0 with a diagonal precision) */
} ngvi_pooling_options;

/** @brief Fills `pooling` with the defaults for a struct of `struct_size` bytes. */
NGVI_API ngvi_status ngvi_pooling_options_defaults(ngvi_pooling_options* pooling, size_t struct_size);

/**
 * @brief Empirical Bayes (ngvi::fit_pooled): fits the batch in place under one prior N(m, P^-1) shared
 * by all problems and learned from their posteriors by variational EM; the model's own prior is
 * replaced. Runs on the backend options->backend selects and reports bad options or an unavailable
 * backend as ngvi_fit does. Outputs, each optional (absent: not written):
 * prior_mean (d) and prior_precision (d, d) in the batch's dtype; elbo, float64 (max_rounds): the
 * whole-batch ELBO of each round, NaN after the last round; *rounds: rounds run; *converged: 1 if the
 * tolerance was met; *summary: the last round's fit, a handle the caller destroys.
 */
NGVI_API ngvi_status ngvi_fit_pooled(const ngvi_model* model, ngvi_batch* batch, const ngvi_options* options,
                                     const ngvi_pooling_options* pooling, ngvi_output_array prior_mean,
                                     ngvi_output_array prior_precision, ngvi_output_array elbo, int32_t* rounds,
                                     int32_t* converged, ngvi_summary** summary);

/**
 * @brief One online round (ngvi::fit_online_round): fits the batch in place to `new_rows`, a model of only
 * the rows that arrived since the last round, under the per-problem priors N(mu_b, (forgetting Lambda_b)^-1)
 * from the batch's current state, which replace the model's own. forgetting in (0, 1]. Runs on the backend
 * options->backend selects and reports bad options or an unavailable backend as ngvi_fit does.
 * *summary (optional): the round's fit, a handle the caller destroys.
 */
NGVI_API ngvi_status ngvi_fit_online_round(const ngvi_model* new_rows, ngvi_batch* batch, const ngvi_options* options,
                                           double forgetting, ngvi_summary** summary);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NGVI_NGVI_H */
