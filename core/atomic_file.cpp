// POSIX implementation of write_file_atomic (sequence in core/atomic_file.h).
#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace recur {

namespace {

// Bodies stream through a buffer of this size; larger writes go straight to the file.
constexpr size_t kWriteBufferBytes = size_t{1} << 20;

std::string errno_str() {
  return std::strerror(errno);
}

// "dir/name" -> "dir", "name" -> ".", "/name" -> "/".
std::string parent_directory(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void close_quietly(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Creates a fresh temporary beside `path`; returns its descriptor and fills `temp_path`.
int create_temporary(const std::string& path, std::string& temp_path) {
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    temp_path = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    if (errno != EEXIST && errno != EINTR)
      RECUR_FAIL("cannot write '{}': creating the temporary file '{}' failed: {}", path, temp_path,
                 errno_str());
  }
  RECUR_FAIL("cannot write '{}': 100 temporary names '{}.tmp.*' were all taken", path, path);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(int fd, std::string path, std::string temp_path)
    : fd_(fd), path_(std::move(path)), temp_path_(std::move(temp_path)) {
  buffer_.resize(kWriteBufferBytes);
}

void AtomicFileWriter::write(const void* data, size_t bytes) {
  const auto* p = static_cast<const std::byte*>(data);
  if (buffered_ + bytes > buffer_.size()) flush();
  if (bytes >= buffer_.size()) {
    write_fd(p, bytes);
  } else {
    std::memcpy(buffer_.data() + buffered_, p, bytes);
    buffered_ += bytes;
  }
  bytes_written_ += bytes;
}

void AtomicFileWriter::flush() {
  write_fd(buffer_.data(), buffered_);
  buffered_ = 0;
}

void AtomicFileWriter::write_fd(const std::byte* data, size_t bytes) {
  while (bytes > 0) {
    ssize_t n = ::write(fd_, data, bytes);
    if (n < 0 && errno == EINTR) continue;
    RECUR_CHECK(n > 0, "cannot write '{}': writing {} bytes to '{}' failed: {}", path_, bytes,
                temp_path_, n < 0 ? errno_str() : std::string("no progress"));
    data += n;
    bytes -= static_cast<size_t>(n);
  }
}

void write_file_atomic(const std::string& path,
                       const std::function<void(AtomicFileWriter&)>& write_body) {
  RECUR_CHECK(!path.empty() && path.back() != '/',
              "write_file_atomic: expected a file path, got '{}'", path);
  // Open the directory first, so a directory we cannot sync fails before anything changes.
  std::string dir = parent_directory(path);
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  RECUR_CHECK(dir_fd >= 0, "cannot write '{}': opening its directory '{}' failed: {}", path, dir,
              errno_str());

  std::string temp_path;
  int fd = -1;
  try {
    fd = create_temporary(path, temp_path);
    struct stat target {};
    if (::stat(path.c_str(), &target) == 0 && S_ISREG(target.st_mode))
      RECUR_CHECK(::fchmod(fd, target.st_mode & 07777) == 0,
                  "cannot write '{}': copying its permissions to '{}' failed: {}", path, temp_path,
                  errno_str());

    AtomicFileWriter writer(fd, path, temp_path);
    write_body(writer);
    writer.flush();
    RECUR_CHECK(::fsync(fd) == 0, "cannot write '{}': fsync of '{}' failed: {}", path, temp_path,
                errno_str());
    int closed = ::close(fd);
    fd = -1;
    RECUR_CHECK(closed == 0, "cannot write '{}': closing '{}' failed: {}", path, temp_path,
                errno_str());
    RECUR_CHECK(::rename(temp_path.c_str(), path.c_str()) == 0,
                "cannot write '{}': renaming '{}' over it failed: {}", path, temp_path,
                errno_str());
  } catch (...) {
    close_quietly(fd);
    if (!temp_path.empty()) ::unlink(temp_path.c_str());
    close_quietly(dir_fd);
    throw;
  }

  // The new file is in place; make the rename durable. EINVAL: the file system cannot sync
  // directories (some network and FUSE file systems), which is all it can offer.
  int synced = ::fsync(dir_fd);
  int sync_errno = errno;
  close_quietly(dir_fd);
  RECUR_CHECK(synced == 0 || sync_errno == EINVAL,
              "wrote '{}' but syncing its directory '{}' failed ({}): the new file may not "
              "survive a power loss",
              path, dir, std::strerror(sync_errno));
}

}  // namespace recur
