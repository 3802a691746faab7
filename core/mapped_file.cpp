// POSIX implementation of MappedFile: open, fstat, mmap (private, copy-on-write), close the
// descriptor (the mapping keeps the file alive), munmap on destruction.
#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace recur {

namespace {

// Closes a descriptor on every path out of the constructor.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  RECUR_CHECK(fd >= 0, "cannot open '{}' for reading: {}", path, std::strerror(errno));
  FdCloser closer{fd};

  struct stat st {};
  RECUR_CHECK(::fstat(fd, &st) == 0, "cannot stat '{}': {}", path, std::strerror(errno));
  RECUR_CHECK(S_ISREG(st.st_mode), "cannot map '{}': expected a regular file, got a {}", path,
              S_ISDIR(st.st_mode) ? "directory" : "special file");
  RECUR_CHECK(st.st_size >= 0, "cannot map '{}': the system reports a negative size {}", path,
              static_cast<long long>(st.st_size));
  size_ = static_cast<size_t>(st.st_size);
  if (size_ == 0) return;  // mmap rejects length 0; an empty file needs no mapping

  // MAP_NORESERVE: the kernel reserves no swap for pages that are never written (nearly all of
  // them), so mapping a file larger than memory works as a read-only mapping would.
  void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
  RECUR_CHECK(p != MAP_FAILED, "cannot map '{}' ({} bytes): {}", path, size_, std::strerror(errno));
  data_ = static_cast<std::byte*>(p);
}

MappedFile::~MappedFile() {
  unmap();
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    unmap();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MappedFile::unmap() noexcept {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace recur
