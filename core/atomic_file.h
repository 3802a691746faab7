// Atomic file replacement: the body writes into a temporary file beside the target, which is
// synced and then renamed over the target. Readers (and a machine that loses power) see either
// the old file or the whole new one, never a mix; a failed or killed write leaves the old target
// untouched.
//
// Sequence: open the parent directory; create "<path>.tmp.<pid>.<n>" (O_EXCL, the target's
// permission bits when it exists); run the body; flush and fsync; rename over <path>; fsync the
// directory. On any failure before the rename the temporary is removed and the error rethrown.
// A process killed mid-write can leave a "<path>.tmp.*" file behind; the target is still intact.
// If <path> is a symbolic link, the link itself is replaced by the new regular file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace recur {

// The temporary file handed to write_file_atomic's body. Writes are buffered in chunks, so the
// body streams data (tensors from their own memory) without building the file in one buffer.
class AtomicFileWriter {
 public:
  // Appends `bytes` bytes. Throws recur::Error naming the file and the system's reason (disk
  // full, I/O error).
  void write(const void* data, size_t bytes);
  void write(std::string_view text) { write(text.data(), text.size()); }
  uint64_t bytes_written() const { return bytes_written_; }
  // The target path (not the temporary), for messages.
  const std::string& path() const { return path_; }

 private:
  friend void write_file_atomic(const std::string&, const std::function<void(AtomicFileWriter&)>&);
  AtomicFileWriter(int fd, std::string path, std::string temp_path);
  void flush();
  void write_fd(const std::byte* data, size_t bytes);

  int fd_;
  std::string path_;
  std::string temp_path_;
  std::vector<std::byte> buffer_;
  size_t buffered_ = 0;
  uint64_t bytes_written_ = 0;
};

// Replaces `path` with what `write_body` writes, atomically (see the top of this file). Throws
// recur::Error on I/O failures; an exception thrown by write_body is rethrown unchanged after the
// temporary is removed. Either way the old target survives untouched.
void write_file_atomic(const std::string& path,
                       const std::function<void(AtomicFileWriter&)>& write_body);

}  // namespace recur
