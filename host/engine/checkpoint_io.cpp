// Checkpoint format, version 4. Little-endian, in order:
//   "NGVICKPT" (8 bytes), format version (u32), scalar bytes (u32: 4 or 8)
//   B (u64), d (i32), family (i32), iteration (i32)
//   options: estimator, rule, samples (i32), antithetic (u8), step_size (f64), schedule (i32),
//            decay_steps, decay_power (f64), max_steps (i32), tolerance (f64), patience (i32),
//            seed (u64), minibatch_rows (u64), adam beta1, beta2, epsilon (f64), trace_elbo (u8),
//            max_step_kl, tolerance_sd (f64), final_samples (i32), problem_offset (u64; not in version 3)
//   model fingerprint (u64, Model::fingerprint; 0: unknown)
//   rule state entries per distribution (u64), convergence-monitor entries per distribution (u64)
//   mean (B d T), factor (B m T), status, steps, streak (B i32 each), step_scale (B T),
//   rejected (B i32), elbo, last_kl (B f64 each), rule_state (B r T), monitor (B n f64),
//   monitor counts (B kMonitorCounts i32), mean_mcse_sd (B f64), trace length (u64), trace (f64)
//   CRC-32 (zlib) of every byte before it (u32)
#include "engine/checkpoint_io.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <type_traits>

#include "math/step.cuh"
#include "ngvi/error.hpp"
#include "engine/scheduler.hpp"

namespace ngvi::detail {
namespace {

constexpr char kMagic[8] = {'N', 'G', 'V', 'I', 'C', 'K', 'P', 'T'};
// 2: the convergence monitor (issue 16); 3: the model's fingerprint (issue 15); 4: problem_offset
// (issue 20). Version 3 is read with problem_offset 0; older checkpoints lack the monitor's state, so
// they cannot resume.
constexpr std::uint32_t kFormatVersion = 4;
constexpr std::uint32_t kOldestFormatVersion = 3;

class Writer {
 public:
  template <class V>
  void put(V value) {
    static_assert(std::is_trivially_copyable_v<V>);
    const char* p = reinterpret_cast<const char*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(V));
  }
  template <class V>
  void put_array(const std::vector<V>& values) {
    const char* p = reinterpret_cast<const char*>(values.data());
    bytes_.insert(bytes_.end(), p, p + values.size() * sizeof(V));
  }
  template <class V>
  void put_array(const V* values, std::size_t n) {
    const char* p = reinterpret_cast<const char*>(values);
    bytes_.insert(bytes_.end(), p, p + n * sizeof(V));
  }
  std::vector<char>& bytes() { return bytes_; }

 private:
  std::vector<char> bytes_;
};

class Reader {
 public:
  Reader(const std::string& path, const std::vector<char>& bytes) : path_(path), bytes_(bytes) {}
  template <class V>
  V get() {
    V value;
    std::memcpy(&value, take(sizeof(V)), sizeof(V));
    return value;
  }
  template <class V>
  std::vector<V> get_array(std::size_t n) {
    // Checked before allocating: a corrupted count can be any number.
    if (n > (bytes_.size() - offset_) / sizeof(V))
      fail(fmt::format("truncated: {} more values expected at offset {}", n, offset_));
    std::vector<V> values(n);
    const char* source = take(n * sizeof(V));
    if (n > 0) std::memcpy(values.data(), source, n * sizeof(V));  // an empty vector's data() may be null
    return values;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("checkpoint '{}': {}", path_, what));
  }

 private:
  const char* take(std::size_t n) {
    if (n > bytes_.size() - offset_) fail_truncated(n);
    const char* p = bytes_.data() + offset_;
    offset_ += n;
    return p;
  }
  [[noreturn]] void fail_truncated(std::size_t n) const {
    fail(fmt::format("truncated: {} more bytes expected at offset {}", n, offset_));
  }
  const std::string& path_;
  const std::vector<char>& bytes_;
  std::size_t offset_ = 0;
};

std::uint32_t crc32_of(const char* data, std::size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {  // zlib takes uInt lengths
    const uInt chunk = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    n -= chunk;
  }
  return static_cast<std::uint32_t>(crc);
}

// Removes the temporaries PATH.tmp.PID that writers killed mid-write left behind.
void remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (pid > 0 && *end == '\0' && pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      fs::remove(entry.path(), ec);
  }
}

void write_file_atomically(const std::string& path, const std::vector<char>& bytes) {
  remove_stale_temporaries(path);
  const std::string temporary = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw Error(fmt::format("checkpoint '{}': cannot create '{}': {}", path, temporary, std::strerror(errno)));
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      throw Error(fmt::format("checkpoint '{}': write failed: {}", path, std::strerror(error)));
    }
    written += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw Error(fmt::format("checkpoint '{}': cannot commit the file: {}", path, std::strerror(error)));
  }
}

// The bytes of a checkpoint file. The magic bytes are checked first, so that another kind of file
// (a device such as /dev/zero, a large data file) is refused without being read whole.
std::vector<char> read_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    throw Error(fmt::format("checkpoint '{}': cannot open the file: {}", path, std::strerror(errno)));
  if (S_ISDIR(info.st_mode)) throw Error(fmt::format("checkpoint '{}': is a directory, not a checkpoint file", path));
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(fmt::format("checkpoint '{}': cannot open the file: {}", path, std::strerror(errno)));
  std::vector<char> bytes(sizeof(kMagic));
  file.read(bytes.data(), sizeof(kMagic));
  bytes.resize(static_cast<std::size_t>(file.gcount()));
  if (bytes.size() == sizeof(kMagic) && std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    throw Error(fmt::format("checkpoint '{}': not an ngvi checkpoint (bad magic bytes)", path));
  std::vector<char> chunk(1 << 16);
  while (file.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || file.gcount() > 0)
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + file.gcount());
  if (file.bad()) throw Error(fmt::format("checkpoint '{}': read failed: {}", path, std::strerror(errno)));
  return bytes;
}

// The header and options, shared by read_checkpoint_info and read_checkpoint.
CheckpointInfo read_header(Reader& in) {
  char magic[8];
  for (char& c : magic) c = in.get<char>();
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) in.fail("not an ngvi checkpoint (bad magic bytes)");
  CheckpointInfo info;
  info.format_version = in.get<std::uint32_t>();
  if (info.format_version < kOldestFormatVersion || info.format_version > kFormatVersion)
    in.fail(fmt::format("format version {} is not supported (this library reads versions {} to {}; an older "
                        "checkpoint lacks the convergence monitor's state: restart that fit)",
                        info.format_version, kOldestFormatVersion, kFormatVersion));
  info.scalar_bytes = static_cast<int>(in.get<std::uint32_t>());
  info.batch_size = in.get<std::uint64_t>();
  info.dimension = in.get<std::int32_t>();
  info.family = static_cast<Family>(in.get<std::int32_t>());
  info.iteration = in.get<std::int32_t>();
  Options& o = info.options;
  o.estimator = static_cast<Estimator>(in.get<std::int32_t>());
  o.rule = static_cast<Rule>(in.get<std::int32_t>());
  o.samples = in.get<std::int32_t>();
  o.antithetic = in.get<std::uint8_t>() != 0;
  o.step_size = in.get<double>();
  o.schedule = static_cast<Schedule>(in.get<std::int32_t>());
  o.decay_steps = in.get<double>();
  o.decay_power = in.get<double>();
  o.max_steps = in.get<std::int32_t>();
  o.tolerance = in.get<double>();
  o.patience = in.get<std::int32_t>();
  o.seed = in.get<std::uint64_t>();
  o.minibatch_rows = in.get<std::uint64_t>();
  o.adam_beta1 = in.get<double>();
  o.adam_beta2 = in.get<double>();
  o.adam_epsilon = in.get<double>();
  o.trace_elbo = in.get<std::uint8_t>() != 0;
  o.max_step_kl = in.get<double>();
  o.tolerance_sd = in.get<double>();
  o.final_samples = in.get<std::int32_t>();
  if (info.format_version >= 4) o.problem_offset = in.get<std::uint64_t>();
  info.model_fingerprint = in.get<std::uint64_t>();
  // 2 (d + d^2), Adam's state per distribution, must be an int.
  const bool dimension_ok = info.dimension >= 1 && static_cast<std::int64_t>(info.dimension) * info.dimension <=
                                                       std::numeric_limits<int>::max() / 4;
  if ((info.scalar_bytes != 4 && info.scalar_bytes != 8) || !dimension_ok || info.batch_size < 1 ||
      (info.family != Family::Full && info.family != Family::Diagonal) || info.iteration < 0 ||
      !o.check().empty())
    in.fail("the header is inconsistent");
  return info;
}

// The bytes of a checkpoint without their checksum, once verified; `path` names it in errors.
std::vector<char> verified(const std::string& path, std::vector<char> bytes) {
  if (bytes.size() < sizeof(kMagic) + sizeof(std::uint32_t))
    throw Error(fmt::format("checkpoint '{}': truncated ({} bytes)", path, bytes.size()));
  std::uint32_t stored;
  std::memcpy(&stored, bytes.data() + bytes.size() - sizeof(stored), sizeof(stored));
  bytes.resize(bytes.size() - sizeof(stored));
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    throw Error(fmt::format("checkpoint '{}': not an ngvi checkpoint (bad magic bytes)", path));
  if (crc32_of(bytes.data(), bytes.size()) != stored)
    throw Error(fmt::format("checkpoint '{}': checksum mismatch: the file is corrupted or truncated", path));
  return bytes;
}

// n * m, or a failure when the product overflows.
std::size_t product(const Reader& in, std::size_t n, std::size_t m) {
  if (m != 0 && n > std::numeric_limits<std::size_t>::max() / m) in.fail("the header is inconsistent");
  return n * m;
}

}  // namespace

template <class T>
void write_checkpoint(const std::string& path, const FitPlan& plan, const GaussianBatch<T>& batch,
                      const FitState<T>& state) {
  Writer out;
  for (char c : kMagic) out.put(c);
  out.put(kFormatVersion);
  out.put(static_cast<std::uint32_t>(sizeof(T)));
  out.put(static_cast<std::uint64_t>(batch.size()));
  out.put(static_cast<std::int32_t>(batch.dimension()));
  out.put(static_cast<std::int32_t>(batch.family()));
  out.put(static_cast<std::int32_t>(state.iteration));
  const Options& o = plan.options;
  out.put(static_cast<std::int32_t>(o.estimator));
  out.put(static_cast<std::int32_t>(o.rule));
  out.put(static_cast<std::int32_t>(o.samples));
  out.put(static_cast<std::uint8_t>(o.antithetic));
  out.put(o.step_size);
  out.put(static_cast<std::int32_t>(o.schedule));
  out.put(o.decay_steps);
  out.put(o.decay_power);
  out.put(static_cast<std::int32_t>(o.max_steps));
  out.put(o.tolerance);
  out.put(static_cast<std::int32_t>(o.patience));
  out.put(static_cast<std::uint64_t>(o.seed));
  out.put(static_cast<std::uint64_t>(o.minibatch_rows));
  out.put(o.adam_beta1);
  out.put(o.adam_beta2);
  out.put(o.adam_epsilon);
  out.put(static_cast<std::uint8_t>(o.trace_elbo));
  out.put(o.max_step_kl);
  out.put(o.tolerance_sd);
  out.put(static_cast<std::int32_t>(o.final_samples));
  out.put(static_cast<std::uint64_t>(o.problem_offset));
  out.put(plan.model_fingerprint);
  const std::size_t rule_size = static_cast<std::size_t>(math::rule_state_size(plan.step));
  out.put(static_cast<std::uint64_t>(rule_size));
  out.put(static_cast<std::uint64_t>(state.monitor.size() / batch.size()));
  out.put_array(batch.mean(), batch.size() * batch.dimension());
  out.put_array(batch.precision_cholesky(), batch.size() * batch.matrix_size());
  out.put_array(state.status);
  out.put_array(state.steps);
  out.put_array(state.streak);
  out.put_array(state.step_scale);
  out.put_array(state.rejected);
  out.put_array(state.elbo);
  out.put_array(state.last_kl);
  out.put_array(state.rule_state);
  out.put_array(state.monitor);
  out.put_array(state.monitor_counts);
  out.put_array(state.mean_mcse_sd);
  out.put(static_cast<std::uint64_t>(state.elbo_trace.size()));
  out.put_array(state.elbo_trace);
  out.put(crc32_of(out.bytes().data(), out.bytes().size()));
  write_file_atomically(path, out.bytes());
}

template <class T>
SavedFit<T> parse_checkpoint(const std::string& path, std::vector<char> file) {
  const std::vector<char> bytes = verified(path, std::move(file));
  Reader in(path, bytes);
  SavedFit<T> saved;
  saved.info = read_header(in);
  const CheckpointInfo& info = saved.info;
  if (info.scalar_bytes != static_cast<int>(sizeof(T)))
    in.fail(fmt::format("it holds float{} numbers but is being resumed in float{}", 8 * info.scalar_bytes,
                        8 * sizeof(T)));
  const std::size_t B = info.batch_size, d = static_cast<std::size_t>(info.dimension);
  const std::size_t m = info.family == Family::Full ? d * d : d;
  const std::size_t rule_size = in.get<std::uint64_t>();
  const int expected_rule_size = info.options.rule == Rule::Adam
                                     ? math::adam_moment_size(info.dimension, info.family == Family::Diagonal)
                                     : 0;
  if (rule_size != static_cast<std::size_t>(expected_rule_size))
    in.fail(fmt::format("{} rule-state entries per distribution, but {} needs {}", rule_size,
                        rule_name(info.options.rule), expected_rule_size));
  const std::size_t monitor_size = in.get<std::uint64_t>();
  saved.mean = in.get_array<T>(product(in, B, d));
  saved.factor = in.get_array<T>(product(in, B, m));
  FitState<T>& s = saved.state;
  s.iteration = info.iteration;
  s.status = in.get_array<Status>(B);
  s.steps = in.get_array<int>(B);
  s.streak = in.get_array<int>(B);
  s.step_scale = in.get_array<T>(B);
  s.rejected = in.get_array<int>(B);
  s.elbo = in.get_array<double>(B);
  s.last_kl = in.get_array<double>(B);
  s.rule_state = in.get_array<T>(product(in, B, rule_size));
  s.monitor = in.get_array<double>(product(in, B, monitor_size));
  s.monitor_counts = in.get_array<int>(product(in, B, kMonitorCounts));
  s.mean_mcse_sd = in.get_array<double>(B);
  s.elbo_trace = in.get_array<double>(in.get<std::uint64_t>());
  for (Status status : s.status)
    if (static_cast<int>(status) < 0 || static_cast<int>(status) >= kStatusCount) in.fail("a status is out of range");
  return saved;
}

template <class T>
SavedFit<T> read_checkpoint(const std::string& path) {
  return parse_checkpoint<T>(path, read_file(path));
}

CheckpointInfo parse_checkpoint_info(const std::string& path, std::vector<char> file) {
  const std::vector<char> bytes = verified(path, std::move(file));
  Reader in(path, bytes);
  return read_header(in);
}

}  // namespace ngvi::detail

namespace ngvi {

CheckpointInfo read_checkpoint_info(const std::string& path) {
  return detail::parse_checkpoint_info(path, detail::read_file(path));
}

template <class T>
Summary resume(const Model<T>& model, GaussianBatch<T>& batch, const std::string& path, const Options& options) {
  const auto start = std::chrono::steady_clock::now();
  detail::SavedFit<T> saved = detail::read_checkpoint<T>(path);
  const CheckpointInfo& info = saved.info;
  if (batch.size() != info.batch_size || batch.dimension() != info.dimension || batch.family() != info.family)
    throw Error(fmt::format("ngvi::resume: checkpoint '{}' holds {} distributions of dimension {} ({}), but the "
                            "batch has {} of dimension {} ({})",
                            path, info.batch_size, info.dimension, info.family == Family::Full ? "full" : "diagonal",
                            batch.size(), batch.dimension(), batch.family() == Family::Full ? "full" : "diagonal"));
  Options merged = info.options;  // the results are decided by the saved options
  merged.num_threads = options.num_threads;
  merged.backend = options.backend;
  merged.progress = options.progress;
  merged.checkpoint_path = options.checkpoint_path;
  merged.checkpoint_every = options.checkpoint_every;
  const std::uint64_t fingerprint = model.fingerprint();
  if (info.model_fingerprint != 0 && fingerprint != 0 && fingerprint != info.model_fingerprint)
    throw Error(fmt::format("ngvi::resume: checkpoint '{}' was made from other data or another model (its model "
                            "fingerprint {:#x} is not this model's {:#x}): resume on the data and model it was made "
                            "from",
                            path, info.model_fingerprint, fingerprint));
  detail::FitPlan plan = detail::plan_fit(model, batch, merged);
  plan.model_fingerprint = fingerprint;
  plan.options.backend = detail::select_backend(model, merged);
  const detail::ConvergenceMonitor<T> monitor(plan.step, plan.options);
  if (saved.state.monitor.size() != batch.size() * monitor.statistics_size())
    throw Error(fmt::format("ngvi::resume: checkpoint '{}' has {} convergence-monitor entries, but this fit needs {}",
                            path, saved.state.monitor.size(), batch.size() * monitor.statistics_size()));
  detail::clear_final_diagnostics(plan, saved.state);
  std::copy(saved.mean.begin(), saved.mean.end(), batch.mean());
  std::copy(saved.factor.begin(), saved.factor.end(), batch.precision_cholesky());
  const std::string device = detail::run_backend(model, batch, plan, saved.state);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return detail::summarize(batch, plan, saved.state, seconds, device);
}

template NGVI_API Summary resume<float>(const Model<float>&, GaussianBatch<float>&, const std::string&,
                                        const Options&);
template NGVI_API Summary resume<double>(const Model<double>&, GaussianBatch<double>&, const std::string&,
                                         const Options&);

template detail::SavedFit<float> detail::parse_checkpoint(const std::string&, std::vector<char>);
template detail::SavedFit<double> detail::parse_checkpoint(const std::string&, std::vector<char>);
template void detail::write_checkpoint(const std::string&, const detail::FitPlan&, const GaussianBatch<float>&,
                                       const detail::FitState<float>&);
template void detail::write_checkpoint(const std::string&, const detail::FitPlan&, const GaussianBatch<double>&,
                                       const detail::FitState<double>&);

}  // namespace ngvi
