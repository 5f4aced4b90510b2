// The node cache: the nodes a mount has loaded (opened through the module,
// their trees read), one open handle each.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "model.hpp"
#include "pkram/client.hpp"

namespace pkramfs {

// A node the file system has loaded.
struct Mounted {
	pkram::Node handle;
	NodeTree tree;
	bool writable = false;
	pkram::NodeState state = pkram::NodeState::open;
};

class NodeCache {
      public:
	// single: the node of -o pkram=NAME ("": every node); unseal: open it
	// writable again.
	NodeCache(pkram::Device dev, std::string single, bool unseal)
	    : dev_(std::move(dev)), single_(std::move(single)), unseal_(unseal)
	{}

	pkram::Device &dev() { return dev_; }
	const std::string &single() const { return single_; }
	// The node of that name, loaded on first use (single: created if missing).
	pkram::Result<Mounted *> mounted(const std::string &name);
	void unload(const std::string &name) { nodes_.erase(name); }

      private:
	pkram::Device dev_;
	std::string single_;
	bool unseal_;
	std::map<std::string, std::unique_ptr<Mounted>> nodes_;
};

} // namespace pkramfs
