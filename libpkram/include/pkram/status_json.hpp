// The pool's status as JSON: the one schema `pkram-cli status --json` prints
// and pkramfs serves as /pkram/status.
#pragma once

#include <string>
#include <vector>

#include "pkram/client.hpp"

namespace pkram {

// {"pool": {base, bytes, used_bytes, free_bytes, generation, restored_nodes,
//           rejected_nodes, stale_pool_discarded, stale_pool_held,
//           stale_reason, abi_version, format_version},
//  "nodes": [{name, state, objects, data_bytes, meta_bytes, open_fds}]},
// indented, with a final newline.
std::string status_json(const PoolStatus &pool, const std::vector<NodeInfo> &nodes);

// The same, read from the device now.
Result<std::string> status_json(const Device &dev);

} // namespace pkram
