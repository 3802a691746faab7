// MappedFile: a whole file mapped into memory, unmapped when the object dies. Readers of large
// files (safetensors checkpoints) view tensors straight in the mapping instead of copying them.
//
// The file is opened read-only and never modified. The mapping is private copy-on-write, so a
// tensor that views it may be written to: the touched pages become private copies and the file
// stays as it was. Files that recur writes are replaced by rename (core/atomic_file.h), never
// rewritten in place, so a live mapping keeps seeing the old, complete file.
#pragma once

#include <cstddef>
#include <string>

namespace recur {

class MappedFile {
 public:
  // Maps all of `path`. Throws recur::Error naming the path and the system's reason when the file
  // is missing, unreadable, not a regular file or cannot be mapped. An empty file maps to
  // data() == nullptr, size() == 0.
  explicit MappedFile(const std::string& path);
  ~MappedFile();

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  // size() bytes, valid while this object lives; writes stay private to this process.
  std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void unmap() noexcept;

  std::string path_;
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace recur
