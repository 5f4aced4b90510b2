// The pool's status as JSON (pkram/status_json.hpp).
#include "pkram/status_json.hpp"

#include <nlohmann/json.hpp>

namespace pkram {

std::string status_json(const PoolStatus &st, const std::vector<NodeInfo> &nodes)
{
	nlohmann::json j;
	j["pool"] = {{"base", st.pool_base},
		     {"bytes", st.pool_bytes},
		     {"used_bytes", st.used_bytes},
		     {"free_bytes", st.free_bytes},
		     {"lent_bytes", st.lent_bytes},
		     {"lend_block_bytes", st.lend_block_bytes},
		     {"next_pool_bytes", st.next_pool_bytes},
		     {"generation", st.generation},
		     {"restored_nodes", st.restored_nodes},
		     {"rejected_nodes", st.rejected_nodes},
		     {"stale_pool_discarded", st.stale_discarded},
		     {"stale_pool_held", st.stale_held},
		     {"stale_reason", st.stale_held ? stale_reason(st.stale_error) : ""},
		     {"abi_version", st.abi_version},
		     {"format_version", st.format_version}};
	j["nodes"] = nlohmann::json::array();
	for (const auto &n : nodes)
		j["nodes"].push_back({{"name", n.name},
				      {"state", to_string(n.state)},
				      {"objects", n.nr_objects},
				      {"data_bytes", n.data_bytes},
				      {"meta_bytes", n.meta_bytes},
				      {"open_fds", n.open_fds}});
	return j.dump(2) + "\n";
}

Result<std::string> status_json(const Device &dev)
{
	auto st = dev.status();
	if (!st)
		return st.error();
	auto nodes = dev.nodes();
	if (!nodes)
		return nodes.error();
	return status_json(*st, *nodes);
}

} // namespace pkram
