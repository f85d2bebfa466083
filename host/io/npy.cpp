#include "io/npy.hpp"

#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include "io/error.hpp"

namespace ngvi::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
constexpr std::size_t kMaxHeaderLength = 1 << 20;

std::size_t element_width(DType dtype) {
  switch (dtype) {
    case DType::Int8: case DType::UInt8: case DType::Bool: return 1;
    case DType::Int16: case DType::UInt16: return 2;
    case DType::Float32: case DType::Int32: case DType::UInt32: return 4;
    case DType::Float64: case DType::Int64: case DType::UInt64: return 8;
    case DType::Other: return 0;
  }
  return 0;
}

// The dtype of a descr such as "<f8"; Other for anything ngvi does not read.
DType parse_descr(const std::string& descr) {
  if (descr.size() < 3) return DType::Other;
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') return DType::Other;
  const std::string code = descr.substr(1);
  if (code == "f4") return DType::Float32;
  if (code == "f8") return DType::Float64;
  if (code == "i1") return DType::Int8;
  if (code == "i2") return DType::Int16;
  if (code == "i4") return DType::Int32;
  if (code == "i8") return DType::Int64;
  if (code == "u1") return DType::UInt8;
  if (code == "u2") return DType::UInt16;
  if (code == "u4") return DType::UInt32;
  if (code == "u8") return DType::UInt64;
  if (code == "b1") return DType::Bool;
  return DType::Other;
}

// The text of a value in the header dictionary, e.g. "'<f8'", "False", "(2, 3)"; empty if absent.
std::string header_value(const std::string& header, const std::string& key) {
  const std::size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) return {};
  std::size_t colon = header.find(':', at);
  if (colon == std::string::npos) return {};
  std::size_t begin = header.find_first_not_of(" \t", colon + 1);
  if (begin == std::string::npos) return {};
  const char open = header[begin];
  std::size_t end;
  if (open == '(' || open == '[') {
    end = header.find(open == '(' ? ')' : ']', begin);
    if (end == std::string::npos) return {};
    ++end;
  } else if (open == '\'' || open == '"') {
    end = header.find(open, begin + 1);
    if (end == std::string::npos) return {};
    ++end;
  } else {
    end = header.find_first_of(",}", begin);
    if (end == std::string::npos) end = header.size();
  }
  std::string value = header.substr(begin, end - begin);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
  return value;
}

template <class Out>
void convert(DType dtype, const unsigned char* bytes, std::size_t n, Out* out) {
  auto cast = [&](auto tag) {
    using In = decltype(tag);
    for (std::size_t i = 0; i < n; ++i) {
      In v;
      std::memcpy(&v, bytes + i * sizeof(In), sizeof(In));
      out[i] = static_cast<Out>(v);
    }
  };
  switch (dtype) {
    case DType::Float32: return cast(float{});
    case DType::Float64: return cast(double{});
    case DType::Int8: return cast(std::int8_t{});
    case DType::Int16: return cast(std::int16_t{});
    case DType::Int32: return cast(std::int32_t{});
    case DType::Int64: return cast(std::int64_t{});
    case DType::UInt8: return cast(std::uint8_t{});
    case DType::UInt16: return cast(std::uint16_t{});
    case DType::UInt32: return cast(std::uint32_t{});
    case DType::UInt64: return cast(std::uint64_t{});
    case DType::Bool: return cast(std::uint8_t{});
    case DType::Other: break;
  }
}

// Writes the header of a C-order array, then the data, which `write_data` writes to the stream.
template <class WriteData>
void write_array(const std::string& path, const char* descr, const std::vector<std::size_t>& shape,
                 WriteData&& write_data) {
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape_string(shape));
  // Version 1.0: magic, version, 2-byte header length; the data starts on a 64-byte boundary.
  const std::size_t unpadded = kMagicSize + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  const auto length = static_cast<std::uint16_t>(header.size());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw IoError(fmt::format("{}: cannot be created: {}", path, std::strerror(errno)));
  out.write(kMagic, kMagicSize);
  const char version[2] = {1, 0};
  out.write(version, 2);
  const char length_bytes[2] = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
  out.write(length_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  write_data(out);
  out.close();
  if (!out) throw IoError(fmt::format("{}: write failed: {}", path, std::strerror(errno)));
}

void write_bytes(std::ofstream& out, const void* data, std::size_t bytes) {
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
}

std::size_t element_count(const std::vector<std::size_t>& shape) {
  std::size_t n = 1;
  for (std::size_t s : shape) n *= s;
  return n;
}

}  // namespace

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int8: return "int8";
    case DType::Int16: return "int16";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
    case DType::UInt16: return "uint16";
    case DType::UInt32: return "uint32";
    case DType::UInt64: return "uint64";
    case DType::Bool: return "bool";
    case DType::Other: return "unsupported";
  }
  return "unsupported";
}

bool is_floating(DType dtype) { return dtype == DType::Float32 || dtype == DType::Float64; }
bool is_integer(DType dtype) { return dtype != DType::Other && !is_floating(dtype); }

std::string shape_string(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += fmt::format("{}{}", i ? ", " : "", shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

std::size_t NpyArray::size() const { return element_count(shape); }

std::vector<double> NpyArray::to_double() const {
  if (dtype == DType::Other) throw IoError(fmt::format("dtype {} cannot be read as numbers", descr));
  std::vector<double> out(size());
  decode(dtype, bytes.data(), out.size(), out.data());
  return out;
}

std::vector<std::int64_t> NpyArray::to_int64() const {
  std::vector<std::int64_t> out(size());
  decode(dtype, bytes.data(), out.size(), out.data(), "the array");
  return out;
}

void decode(DType dtype, const unsigned char* bytes, std::size_t n, double* out) {
  if (dtype == DType::Other) throw IoError("an unsupported dtype cannot be read as numbers");
  convert(dtype, bytes, n, out);
}

void decode(DType dtype, const unsigned char* bytes, std::size_t n, std::int64_t* out, const std::string& name) {
  if (!is_integer(dtype)) throw IoError(fmt::format("{}: dtype {} is not an integer type", name, dtype_name(dtype)));
  if (dtype == DType::UInt64) {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t v;
      std::memcpy(&v, bytes + i * sizeof v, sizeof v);
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        throw IoError(fmt::format("{}: element {} = {} does not fit in int64", name, i, v));
    }
  }
  convert(dtype, bytes, n, out);
}

NpyReader::NpyReader(const std::string& path) : name_(path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    throw IoError(fmt::format("{}: cannot be opened: {}", path, std::strerror(errno)));
  if (S_ISDIR(info.st_mode)) throw IoError(fmt::format("{}: is a directory, not a .npy file", path));
  file_ = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*file_) throw IoError(fmt::format("{}: cannot be opened: {}", path, std::strerror(errno)));
  in_ = file_.get();
  read_header();
  // A regular file's length is known: a shape its data cannot fill is refused before anything is read.
  if (S_ISREG(info.st_mode) && dtype_ != DType::Other) {
    const std::streamoff header_end = in_->tellg();
    const std::size_t available = static_cast<std::size_t>(info.st_size - std::min<std::streamoff>(header_end, info.st_size));
    if (available < size_ * item_size())
      throw IoError(fmt::format("{}: truncated: shape {} needs {} bytes of data, the file has {}", path,
                                shape_string(shape_), size_ * item_size(), available));
  }
}

NpyReader::NpyReader(std::istream& in, const std::string& name) : name_(name), in_(&in) { read_header(); }

NpyReader::~NpyReader() = default;

std::size_t NpyReader::item_size() const { return element_width(dtype_); }

void NpyReader::read_header() {
  const std::string& path = name_;
  std::istream& in = *in_;
  char magic[kMagicSize + 2];
  if (!in.read(magic, sizeof magic) || std::memcmp(magic, kMagic, kMagicSize) != 0)
    throw IoError(fmt::format("{}: not a NumPy .npy file (no \\x93NUMPY magic)", path));
  const int major = static_cast<unsigned char>(magic[kMagicSize]);
  if (major < 1 || major > 3) throw IoError(fmt::format("{}: .npy format version {} is not supported", path, major));
  unsigned char length_bytes[4] = {0, 0, 0, 0};
  const int length_size = major == 1 ? 2 : 4;
  if (!in.read(reinterpret_cast<char*>(length_bytes), length_size))
    throw IoError(fmt::format("{}: truncated .npy header", path));
  std::size_t header_length = 0;
  for (int i = length_size - 1; i >= 0; --i) header_length = header_length << 8 | length_bytes[i];
  // NumPy writes headers of a few hundred bytes (and by default reads none over 10000).
  if (header_length > kMaxHeaderLength)
    throw IoError(fmt::format("{}: .npy header length {} exceeds {} bytes", path, header_length, kMaxHeaderLength));
  std::string header(header_length, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_length)))
    throw IoError(fmt::format("{}: truncated .npy header", path));

  std::string descr = header_value(header, "descr");
  const std::string fortran = header_value(header, "fortran_order");
  const std::string shape = header_value(header, "shape");
  if (descr.empty() || fortran.empty() || shape.empty() || shape.front() != '(')
    throw IoError(fmt::format("{}: malformed .npy header: {}", path, header));
  descr_ = descr.front() == '\'' || descr.front() == '"' ? descr.substr(1, descr.size() - 2) : descr;
  dtype_ = parse_descr(descr_);
  if (fortran == "True")
    throw IoError(fmt::format("{}: the array is in Fortran order; save it in C order (numpy.ascontiguousarray)", path));
  if (fortran != "False")
    throw IoError(fmt::format("{}: malformed .npy header: 'fortran_order' is {} (True or False expected)", path,
                              fortran));
  for (std::size_t i = 1; i + 1 < shape.size();) {
    const std::size_t end = std::min(shape.find(',', i), shape.size() - 1);
    const std::string item = shape.substr(i, end - i);
    if (item.find_first_not_of(" \t") != std::string::npos) {
      try {
        std::size_t used = 0;
        const long long v = std::stoll(item, &used);
        if (v < 0 || item.find_first_not_of(" \t", used) != std::string::npos) throw std::invalid_argument(item);
        shape_.push_back(static_cast<std::size_t>(v));
      } catch (const std::exception&) {
        throw IoError(fmt::format("{}: malformed .npy shape {}", path, shape));
      }
    }
    i = end + 1;
  }
  const std::size_t width = std::max<std::size_t>(item_size(), 1);
  size_ = 1;
  for (std::size_t extent : shape_) {
    if (extent != 0 && size_ > std::numeric_limits<std::size_t>::max() / width / extent)
      throw IoError(fmt::format("{}: shape {} is too large", path, shape_string(shape_)));
    size_ *= extent;
  }
}

void NpyReader::read_bytes(unsigned char* out, std::size_t bytes) {
  if (bytes > 0 && !in_->read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(bytes))) {
    const std::size_t got = consumed_ + static_cast<std::size_t>(in_->gcount());
    throw IoError(fmt::format("{}: truncated: shape {} needs {} bytes of data, it ended after {}", name_,
                              shape_string(shape_), size_ * item_size(), got));
  }
  if (descr_[0] == '>') {  // a big-endian file (ngvi runs on little-endian hosts)
    const std::size_t width = item_size();
    for (std::size_t i = 0; i < bytes; i += width) std::reverse(out + i, out + i + width);
  }
  consumed_ += bytes;
}

namespace {

NpyArray read_whole(NpyReader& reader) {
  NpyArray a;
  a.dtype = reader.dtype();
  a.descr = reader.descr();
  a.shape = reader.shape();
  if (a.dtype == DType::Other) return a;  // the caller names the dtype it wanted
  // In chunks: a stream's corrupted shape can ask for any size, and only what arrives is held.
  const std::size_t bytes = reader.size() * reader.item_size();
  constexpr std::size_t kChunk = std::size_t{1} << 24;
  for (std::size_t done = 0; done < bytes;) {
    const std::size_t n = std::min(kChunk, bytes - done);
    a.bytes.resize(done + n);
    reader.read_bytes(a.bytes.data() + done, n);
    done += n;
  }
  return a;
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  NpyReader reader(path);
  return read_whole(reader);
}

NpyArray read_npy(std::istream& in, const std::string& path) {
  NpyReader reader(in, path);
  return read_whole(reader);
}

void write_npy(const std::string& path, const double* data, const std::vector<std::size_t>& shape) {
  write_array(path, "<f8", shape,
              [&](std::ofstream& out) { write_bytes(out, data, element_count(shape) * sizeof(double)); });
}

void write_npy(const std::string& path, const float* data, const std::vector<std::size_t>& shape) {
  // Converted a chunk at a time: no float64 copy of the whole array.
  write_array(path, "<f8", shape, [&](std::ofstream& out) {
    constexpr std::size_t kChunk = 1 << 14;
    std::vector<double> buffer(kChunk);
    const std::size_t n = element_count(shape);
    for (std::size_t done = 0; done < n && out; done += kChunk) {
      const std::size_t count = std::min(kChunk, n - done);
      std::copy(data + done, data + done + count, buffer.begin());
      write_bytes(out, buffer.data(), count * sizeof(double));
    }
  });
}

void write_npy(const std::string& path, const std::int32_t* data, const std::vector<std::size_t>& shape) {
  write_array(path, "<i4", shape,
              [&](std::ofstream& out) { write_bytes(out, data, element_count(shape) * sizeof(std::int32_t)); });
}

}  // namespace ngvi::io
