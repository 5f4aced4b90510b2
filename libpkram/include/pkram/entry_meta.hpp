// The metadata of one file system entry as pkram keeps it: the byte stream of
// the entry's object, as JSON. Shared by pkram-cli save/restore and pkramfs.
//
//   {"type": "file"|"dir"|"symlink"|"hardlink"|"fifo"|"chr"|"blk"|"sock",
//    "mode": 420, "uid": 0, "gid": 0, "mtime_ns": ..., "atime_ns": ...,
//    "ctime_ns": ...,                   the last status change (optional:
//                                       mtime_ns when absent, as older
//                                       writers left it)
//    "size": 123,                       files: logical size (holes included)
//    "target_hex": "...",               symlinks: the target; hardlinks: the
//                                       path of the object holding the data
//    "rdev": 259,                       devices
//    "xattrs": {"user.x": "<hex>"}}     extended attributes
//
// Strings that need not be UTF-8 (targets, xattr values) are hex-encoded.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "pkram/result.hpp"

namespace pkram {

struct EntryMeta {
	enum class Type { file, dir, symlink, hardlink, fifo, chr, blk, sock } type = Type::file;
	uint32_t mode = 0; // permission bits only (07777)
	uint32_t uid = 0;
	uint32_t gid = 0;
	int64_t mtime_ns = 0;
	int64_t atime_ns = 0;
	int64_t ctime_ns = 0;
	uint64_t size = 0;
	std::string target;
	uint64_t rdev = 0;
	std::map<std::string, std::string> xattrs;
};

std::string_view to_string(EntryMeta::Type type);
std::string encode_meta(const EntryMeta &meta);
Result<EntryMeta> decode_meta(std::string_view text);

// The file type bits (S_IFREG, ...) of an entry type (hardlink: S_IFREG),
// and the entry type of st_mode's file type (nullopt: none pkram keeps).
uint32_t file_type_bits(EntryMeta::Type type);
std::optional<EntryMeta::Type> entry_type_of(uint32_t st_mode);

// Nanoseconds since the epoch <-> timespec (times before 1970 too).
int64_t ns_of(const timespec &ts);
timespec timespec_of(int64_t ns);

} // namespace pkram
