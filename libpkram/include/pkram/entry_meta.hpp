// The metadata of one file system entry as pkram keeps it: the byte stream of
// the entry's object, as JSON. Shared by pkram-cli save/restore and pkramfs.
//
//   {"type": "file"|"dir"|"symlink"|"hardlink"|"fifo"|"chr"|"blk"|"sock",
//    "mode": 420, "uid": 0, "gid": 0, "mtime_ns": ..., "atime_ns": ...,
//    "size": 123,                       files: logical size (holes included)
//    "target_hex": "...",               symlinks: the target; hardlinks: the
//                                       path of the object holding the data
//    "rdev": 259,                       devices
//    "xattrs": {"user.x": "<hex>"}}     extended attributes
//
// Strings that need not be UTF-8 (targets, xattr values) are hex-encoded.
#pragma once

#include <cstdint>
#include <map>
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
	uint64_t size = 0;
	std::string target;
	uint64_t rdev = 0;
	std::map<std::string, std::string> xattrs;
};

std::string_view to_string(EntryMeta::Type type);
std::string encode_meta(const EntryMeta &meta);
Result<EntryMeta> decode_meta(std::string_view text);

} // namespace pkram
