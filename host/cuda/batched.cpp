// The batched path: one step of a micro-batch of distributions as batched cuBLAS / cuSOLVER calls.
//
// cuBLAS is column-major and kernels/math row-major: a row-major d x d matrix M is, to cuBLAS, M^T.
// So the precision factor L (row-major lower) is, to cuBLAS, the upper-triangular U = L^T, and
//   z = L^-T eps         is  trsm(left,  upper, N) with U           (sampling)
//   L^-1 X^T             is  trsm(left,  upper, T) with U           (row variances)
//   K = L^-1 H L^-T      is  trsm(right, upper, N), then trsm(left, upper, T), with U (the rules)
//   ||A^-1 B||_F         is  ||B^T A^-T||_F: trsm(right, upper, N) with colview(A) on colview(B)
// and potrf(upper) of a symmetric M writes, read row-major, its lower factor.
#include "cuda/batched.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "cuda/error.hpp"

namespace ngvi::gpu {
namespace {

// ---------------------------------------------------------------- cuBLAS / cuSOLVER by scalar type

cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha,
                    const float* A, int lda, long long sa, const float* B, int ldb, long long sb, float beta, float* C,
                    int ldc, long long sc, int batch) {
  return cublasSgemmStridedBatched(h, ta, tb, m, n, k, &alpha, A, lda, sa, B, ldb, sb, &beta, C, ldc, sc, batch);
}
cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, double alpha,
                    const double* A, int lda, long long sa, const double* B, int ldb, long long sb, double beta,
                    double* C, int ldc, long long sc, int batch) {
  return cublasDgemmStridedBatched(h, ta, tb, m, n, k, &alpha, A, lda, sa, B, ldb, sb, &beta, C, ldc, sc, batch);
}

cublasStatus_t gemv(cublasHandle_t h, cublasOperation_t t, int m, int n, const float* A, int lda, long long sa,
                    const float* x, long long sx, float* y, long long sy, int batch) {
  const float one = 1.0f, zero = 0.0f;
  return cublasSgemvStridedBatched(h, t, m, n, &one, A, lda, sa, x, 1, sx, &zero, y, 1, sy, batch);
}
cublasStatus_t gemv(cublasHandle_t h, cublasOperation_t t, int m, int n, const double* A, int lda, long long sa,
                    const double* x, long long sx, double* y, long long sy, int batch) {
  const double one = 1.0, zero = 0.0;
  return cublasDgemvStridedBatched(h, t, m, n, &one, A, lda, sa, x, 1, sx, &zero, y, 1, sy, batch);
}

cublasStatus_t trsm(cublasHandle_t h, cublasSideMode_t side, cublasOperation_t t, int m, int n, float* const* A,
                    float* const* B, int ld_b, int batch) {
  const float one = 1.0f;
  return cublasStrsmBatched(h, side, CUBLAS_FILL_MODE_UPPER, t, CUBLAS_DIAG_NON_UNIT, m, n, &one, A,
                            side == CUBLAS_SIDE_LEFT ? m : n, B, ld_b, batch);
}
cublasStatus_t trsm(cublasHandle_t h, cublasSideMode_t side, cublasOperation_t t, int m, int n, double* const* A,
                    double* const* B, int ld_b, int batch) {
  const double one = 1.0;
  return cublasDtrsmBatched(h, side, CUBLAS_FILL_MODE_UPPER, t, CUBLAS_DIAG_NON_UNIT, m, n, &one, A,
                            side == CUBLAS_SIDE_LEFT ? m : n, B, ld_b, batch);
}

cusolverStatus_t potrf(cusolverDnHandle_t h, int n, float** A, int* info, int batch) {
  return cusolverDnSpotrfBatched(h, CUBLAS_FILL_MODE_UPPER, n, A, n, info, batch);
}
cusolverStatus_t potrf(cusolverDnHandle_t h, int n, double** A, int* info, int batch) {
  return cusolverDnDpotrfBatched(h, CUBLAS_FILL_MODE_UPPER, n, A, n, info, batch);
}

cusolverStatus_t potrs(cusolverDnHandle_t h, int n, float** A, float** B, int* info, int batch) {
  return cusolverDnSpotrsBatched(h, CUBLAS_FILL_MODE_UPPER, n, 1, A, n, B, n, info, batch);
}
cusolverStatus_t potrs(cusolverDnHandle_t h, int n, double** A, double** B, int* info, int batch) {
  return cusolverDnDpotrsBatched(h, CUBLAS_FILL_MODE_UPPER, n, 1, A, n, B, n, info, batch);
}

/// Entries of T per slot, in the order the arena is carved.
struct SlotSizes {
  std::size_t mu, L, x, y, eps, z, a, v, w, xw, grad, values, g, H, G, W, L_new, Y, solve, expected_f;
  SlotSizes(const math::StepPlan& p, std::size_t rows) {
    const std::size_t d = static_cast<std::size_t>(p.d), S = static_cast<std::size_t>(std::max(p.samples, 1));
    const std::size_t dd = d * d;
    mu = d, L = dd, x = rows * d, y = rows, eps = S * d, z = S * d, a = S * rows, v = S * rows, w = rows;
    xw = rows * d, grad = S * d, values = S, g = d, H = dd, G = dd, W = dd, L_new = dd, Y = dd, solve = d;
    expected_f = 1;
  }
  std::size_t total() const {
    return mu + L + x + y + eps + z + a + v + w + xw + grad + values + g + H + G + W + L_new + Y + solve + expected_f;
  }
};

constexpr int kPointerArrays = 7;

std::size_t slot_bytes(const math::StepPlan& p, std::size_t rows, std::size_t scalar) {
  return SlotSizes(p, rows).total() * scalar + 2 * sizeof(std::uint32_t) + 2 * sizeof(int) + sizeof(Status) +
         2 * scalar + kPointerArrays * sizeof(void*);
}

std::size_t slot_count(const math::StepPlan& p, std::size_t rows, std::size_t scalar, std::size_t budget,
                       std::size_t capacity) {
  const std::size_t fit = std::max<std::size_t>(1, budget / slot_bytes(p, rows, scalar));
  return std::min({capacity, fit, std::size_t(1) << 20});
}

}  // namespace

bool batched_supports(const math::StepPlan& p, bool glm) {
  return glm && !p.diagonal && (p.rule == Rule::IBLR || p.rule == Rule::BLR) &&
         (p.estimator == Estimator::Price || p.estimator == Estimator::Stein || p.estimator == Estimator::Quadrature);
}

const char* batched_limits() {
  return "it runs generalized linear models, the full family, the IBLR and BLR rules and the Price, Stein and "
         "quadrature estimators";
}

std::size_t batched_slot_rows(const math::StepPlan& p, std::size_t max_rows, std::size_t minibatch_rows) {
  const bool minibatch = minibatch_rows > 0 && p.estimator != Estimator::Quadrature;
  return std::max<std::size_t>(1, minibatch ? std::min(minibatch_rows, max_rows) : max_rows);
}

template <class T>
std::size_t BatchedStepper<T>::workspace_bytes(const math::StepPlan& p, std::size_t rows, std::size_t budget,
                                               std::size_t capacity) {
  return slot_count(p, rows, sizeof(T), budget, capacity) * slot_bytes(p, rows, sizeof(T)) + sizeof(int);
}

template <class T>
BatchedStepper<T>::BatchedStepper(const math::StepPlan& p, std::size_t rows, std::size_t budget,
                                  std::size_t capacity, cudaStream_t stream)
    : plan_(p), slots_(static_cast<int>(slot_count(p, rows, sizeof(T), budget, capacity))) {
  const SlotSizes sizes(p, rows);
  const std::size_t K = static_cast<std::size_t>(slots_);
  arena_ = DeviceBuffer<T>(K * (sizes.total() + 2));
  indices_ = DeviceBuffer<std::uint32_t>(2 * K);
  ints_ = DeviceBuffer<int>(2 * K + 1);
  status_ = DeviceBuffer<Status>(K);
  pointers_ = DeviceBuffer<T*>(kPointerArrays * K);

  ws_.d = p.d;
  ws_.samples = std::max(p.samples, 1);
  ws_.rows = static_cast<int>(rows);
  ws_.capacity = slots_;
  T* next = arena_.data();
  auto carve = [&](std::size_t per_slot) {
    T* begin = next;
    next += per_slot * K;
    return begin;
  };
  ws_.mu = carve(sizes.mu);
  ws_.L = carve(sizes.L);
  ws_.x = carve(sizes.x);
  ws_.y = carve(sizes.y);
  ws_.eps = carve(sizes.eps);
  ws_.z = carve(sizes.z);
  ws_.a = carve(sizes.a);
  ws_.v = carve(sizes.v);
  ws_.w = carve(sizes.w);
  ws_.xw = carve(sizes.xw);
  ws_.grad = carve(sizes.grad);
  ws_.values = carve(sizes.values);
  ws_.g = carve(sizes.g);
  ws_.H = carve(sizes.H);
  ws_.G = carve(sizes.G);
  ws_.W = carve(sizes.W);
  ws_.L_new = carve(sizes.L_new);
  ws_.Y = carve(sizes.Y);
  ws_.solve = carve(sizes.solve);
  ws_.expected_f = carve(sizes.expected_f);
  ws_.scale = carve(1);
  ws_.rho = carve(1);
  ws_.index = indices_.data();
  ws_.key = indices_.data() + K;
  ws_.rows_used = ints_.data();
  ws_.info = ints_.data() + K;
  potrs_info_ = ints_.data() + 2 * K;
  ws_.status = status_.data();

  // Pointer arrays of the slots, for the pointer-array APIs: fixed for the stepper's life.
  const std::size_t dd = static_cast<std::size_t>(p.d) * p.d;
  std::vector<T*> host(kPointerArrays * K);
  const struct {
    T* base;
    std::size_t stride;
  } arrays[kPointerArrays] = {{ws_.L, dd},      {ws_.z, sizes.z}, {ws_.xw, sizes.xw},      {ws_.W, dd},
                              {ws_.L_new, dd}, {ws_.Y, dd},      {ws_.solve, sizes.solve}};
  for (int a = 0; a < kPointerArrays; ++a)
    for (std::size_t k = 0; k < K; ++k) host[a * K + k] = arrays[a].base + k * arrays[a].stride;
  copy_to_device(pointers_.data(), host.data(), host.size(), stream);
  T** table = pointers_.data();
  L_ = table;
  z_ = table + K;
  xw_ = table + 2 * K;
  W_ = table + 3 * K;
  L_new_ = table + 4 * K;
  Y_ = table + 5 * K;
  solve_ = table + 6 * K;

  NGVI_CUBLAS_TRY(cublasCreate(&blas_));
  NGVI_CUSOLVER_TRY(cusolverDnCreate(&solver_));
  NGVI_CUBLAS_TRY(cublasSetStream(blas_, stream));
  NGVI_CUSOLVER_TRY(cusolverDnSetStream(solver_, stream));
}

template <class T>
BatchedStepper<T>::~BatchedStepper() {
  if (solver_) cusolverDnDestroy(solver_);
  if (blas_) cublasDestroy(blas_);
}

template <class T>
void BatchedStepper<T>::sample(const ChunkState<T>& chunk, int n, cudaStream_t stream) {
  const int d = ws_.d, S = ws_.samples, rows = ws_.rows;
  batched_draw(ws_, plan_, chunk, n, stream);
  NGVI_CUBLAS_TRY(trsm(blas_, CUBLAS_SIDE_LEFT, CUBLAS_OP_N, d, S, L_, z_, d, n));
  batched_add_mean(ws_, n, stream);
  NGVI_CUBLAS_TRY(gemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, rows, S, d, T(1), ws_.x, d, static_cast<long long>(rows) * d,
                       ws_.z, d, static_cast<long long>(S) * d, T(0), ws_.a, rows, static_cast<long long>(S) * rows,
                       n));
}

template <class T>
void BatchedStepper<T>::expect_rows(const DeviceGlm<T>& model, bool values, int n, cudaStream_t stream) {
  const int d = ws_.d, rows = ws_.rows;
  const long long x_stride = static_cast<long long>(rows) * d;
  NGVI_CUBLAS_TRY(gemv(blas_, CUBLAS_OP_T, d, rows, ws_.x, d, x_stride, ws_.mu, d, ws_.a,
                       static_cast<long long>(ws_.samples) * rows, n));
  NGVI_CUDA_TRY(cudaMemcpyAsync(ws_.xw, ws_.x, n * x_stride * sizeof(T), cudaMemcpyDeviceToDevice, stream));
  NGVI_CUBLAS_TRY(trsm(blas_, CUBLAS_SIDE_LEFT, CUBLAS_OP_T, d, rows, L_, xw_, d, n));
  batched_expected_rows(ws_, model, n, values, stream);
  if (values) batched_values(ws_, model, n, 1, stream);
}

template <class T>
void BatchedStepper<T>::estimate(const ChunkState<T>& chunk, const DeviceGlm<T>& model, bool values, int n,
                                 cudaStream_t stream) {
  const int d = ws_.d, S = ws_.samples, rows = ws_.rows;
  const long long x_stride = static_cast<long long>(rows) * d, a_stride = static_cast<long long>(S) * rows;
  const long long z_stride = static_cast<long long>(S) * d, dd = static_cast<long long>(d) * d;
  const cublasOperation_t N = CUBLAS_OP_N, Tr = CUBLAS_OP_T;
  if (plan_.estimator == Estimator::Quadrature) {
    // m_n = x_n^T mu, v_n = ||L^-1 x_n||^2, the expected row terms; g = X^T E d1; H = X^T diag(E d2) X.
    expect_rows(model, values, n, stream);
    NGVI_CUBLAS_TRY(gemv(blas_, N, d, rows, ws_.x, d, x_stride, ws_.a, a_stride, ws_.g, d, n));
    batched_weight_rows(ws_, n, stream);
    NGVI_CUBLAS_TRY(gemm(blas_, N, Tr, d, d, rows, T(1), ws_.x, d, x_stride, ws_.xw, d, x_stride, T(0), ws_.H, d, dd, n));
    return;
  }
  // Row terms at a = X z; gradients X^T r; the Price Hessian X^T diag(w) X or Stein's L mean(eps grad^T).
  sample(chunk, n, stream);
  const bool price = plan_.estimator == Estimator::Price;
  batched_row_terms(ws_, model, n, values, price, stream);
  if (values) batched_values(ws_, model, n, S, stream);
  NGVI_CUBLAS_TRY(gemm(blas_, N, N, d, S, rows, T(1), ws_.x, d, x_stride, ws_.a, rows, a_stride, T(0), ws_.grad, d,
                       z_stride, n));
  if (price) {
    batched_weight_rows(ws_, n, stream);
    NGVI_CUBLAS_TRY(gemm(blas_, N, Tr, d, d, rows, T(1), ws_.x, d, x_stride, ws_.xw, d, x_stride, T(0), ws_.H, d,
                         dd, n));
  } else {
    // G = M = mean_s eps_s grad_s^T, then H = L M (symmetrized by batched_estimate).
    NGVI_CUBLAS_TRY(gemm(blas_, N, Tr, d, d, S, T(1) / T(S), ws_.grad, d, z_stride, ws_.eps, d, z_stride, T(0),
                         ws_.G, d, dd, n));
    NGVI_CUBLAS_TRY(gemm(blas_, N, N, d, d, d, T(1), ws_.G, d, dd, ws_.L, d, dd, T(0), ws_.H, d, dd, n));
  }
  batched_estimate(ws_, n, stream);
}

template <class T>
void BatchedStepper<T>::elbo(const ChunkState<T>& chunk, const DevicePrior<T>& prior, GatherFor purpose, int n,
                             cudaStream_t stream) {
  if (prior.kind != math::PriorKind::None) {
    batched_prior_factor(ws_, prior, n, stream);
    NGVI_CUBLAS_TRY(trsm(blas_, CUBLAS_SIDE_RIGHT, CUBLAS_OP_N, ws_.d, ws_.d, L_, Y_, ws_.d, n));
  }
  batched_elbo(ws_, prior, chunk, n, purpose, stream);
}

template <class T>
void BatchedStepper<T>::rule(const ChunkState<T>& chunk, int n, cudaStream_t stream) {
  const int d = ws_.d;
  const long long dd = static_cast<long long>(d) * d;
  const std::size_t bytes = static_cast<std::size_t>(n) * dd * sizeof(T);
  const cublasOperation_t N = CUBLAS_OP_N, Tr = CUBLAS_OP_T;
  const bool iblr = plan_.rule == Rule::IBLR;
  // K = L^-1 H L^-T: to cuBLAS H U^-1, then U^-T (H U^-1), with U = L^T.
  NGVI_CUDA_TRY(cudaMemcpyAsync(ws_.L_new, ws_.H, bytes, cudaMemcpyDeviceToDevice, stream));
  NGVI_CUBLAS_TRY(trsm(blas_, CUBLAS_SIDE_RIGHT, N, d, d, L_, L_new_, d, n));
  NGVI_CUBLAS_TRY(trsm(blas_, CUBLAS_SIDE_LEFT, Tr, d, d, L_, L_new_, d, n));
  batched_whitened(ws_, iblr ? T(1) : T(0), n, stream);
  if (iblr) NGVI_CUBLAS_TRY(gemm(blas_, N, N, d, d, d, T(1), ws_.L_new, d, dd, ws_.L_new, d, dd, T(0), ws_.G, d, dd, n));
  // M, chol(M) (potrf(upper) of the symmetric M writes, read row-major, its lower factor C), and
  // L_new = L C: to cuBLAS C^T U.
  batched_candidate(ws_, plan_.rule, n, stream);
  NGVI_CUSOLVER_TRY(potrf(solver_, d, W_, ws_.info, n));
  batched_lower_factor(ws_, n, stream);
  NGVI_CUBLAS_TRY(gemm(blas_, N, N, d, d, d, T(1), ws_.W, d, dd, ws_.L, d, dd, T(0), ws_.L_new, d, dd, n));
  // mu_new = mu - rho Lambda_new^-1 g, with Lambda_new = L_new L_new^T.
  NGVI_CUSOLVER_TRY(potrs(solver_, d, L_new_, solve_, potrs_info_, n));
  // Y = L^T L_new^-T to cuBLAS, read row-major L_new^-1 L: the W of math::kl_terms, for the KL.
  NGVI_CUDA_TRY(cudaMemcpyAsync(ws_.Y, ws_.L, bytes, cudaMemcpyDeviceToDevice, stream));
  NGVI_CUBLAS_TRY(trsm(blas_, CUBLAS_SIDE_RIGHT, N, d, d, L_new_, Y_, d, n));
  batched_accept(ws_, chunk, plan_, n, stream);
}

template <class T>
void BatchedStepper<T>::step(const ChunkState<T>& chunk, const DeviceGlm<T>& model, const DevicePrior<T>& prior,
                             const StepArgs<T>& args, cudaStream_t stream) {
  for (int first = 0; first < args.count; first += slots_) {
    const int n = std::min(slots_, args.count - first);
    batched_gather(ws_, plan_, chunk, model, args.active + first, n, GatherFor::Step, args.iteration, args.rho,
                   args.rho_each, stream);
    // The ELBO of the state before the step, when wanted, comes from the same samples' values.
    estimate(chunk, model, args.want_values, n, stream);
    if (args.want_values) elbo(chunk, prior, GatherFor::Step, n, stream);
    batched_prior(ws_, prior, args.targets, n, stream);
    rule(chunk, n, stream);
  }
}

template <class T>
void BatchedStepper<T>::final_elbo(const ChunkState<T>& chunk, const DeviceGlm<T>& model, const DevicePrior<T>& prior,
                                   const std::uint32_t* list, int count, cudaStream_t stream) {
  for (int first = 0; first < count; first += slots_) {
    const int n = std::min(slots_, count - first);
    batched_gather(ws_, plan_, chunk, model, list + first, n, GatherFor::FinalElbo, 0, T(0),
                   static_cast<const T*>(nullptr), stream);
    expect_rows(model, true, n, stream);
    elbo(chunk, prior, GatherFor::FinalElbo, n, stream);
  }
}

template class BatchedStepper<float>;
template class BatchedStepper<double>;

}  // namespace ngvi::gpu
