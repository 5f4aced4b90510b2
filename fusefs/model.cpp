#include "model.hpp"

#include <sys/stat.h>

namespace pkramfs {

std::string parent_of(const std::string &path)
{
	auto slash = path.rfind('/');
	return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::string base_of(const std::string &path)
{
	auto slash = path.rfind('/');
	return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string join(const std::string &dir, std::string_view name)
{
	return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

static Entry implied_dir()
{
	Entry e;
	e.meta.type = pkram::EntryMeta::Type::dir;
	e.meta.mode = 0755;
	return e;
}

pkram::Result<NodeTree> NodeTree::load(const pkram::Node &node)
{
	NodeTree tree;
	tree.entries_[""] = implied_dir();
	auto objects = node.objects();
	if (!objects)
		return objects.error();
	for (const auto &info : *objects) {
		Entry e;
		e.has_object = true;
		e.data_size = info.page_size;
		if (info.byte_size) {
			auto bytes = node.open_object(info.name, {.stream = pkram::Stream::bytes});
			if (!bytes)
				return bytes.error();
			auto text = bytes->read_all();
			if (!text)
				return text.error();
			auto meta = pkram::decode_meta(*text);
			if (!meta)
				return pkram::make_error(meta.error().errnum,
							 meta.error().message + " of '" + info.name + "'");
			e.meta = std::move(*meta);
		} else {
			// Written through the ioctl API or pkram-cli put: a plain file.
			e.meta.type = pkram::EntryMeta::Type::file;
			e.meta.mode = 0644;
		}
		tree.put(info.name, std::move(e));
	}
	for (auto &[path, e] : tree.entries_)
		if (e.meta.type == pkram::EntryMeta::Type::hardlink)
			if (Entry *file = tree.find(e.meta.target);
			    file && file->meta.type == pkram::EntryMeta::Type::file)
				file->links++;
	return tree;
}

const Entry *NodeTree::find(const std::string &path) const
{
	auto it = entries_.find(path);
	return it == entries_.end() ? nullptr : &it->second;
}

Entry *NodeTree::find(const std::string &path)
{
	auto it = entries_.find(path);
	return it == entries_.end() ? nullptr : &it->second;
}

const std::set<std::string> *NodeTree::children(const std::string &dir) const
{
	static const std::set<std::string> none;
	auto it = children_.find(dir);
	return it == children_.end() ? &none : &it->second;
}

void NodeTree::put(const std::string &path, Entry entry)
{
	for (std::string p = path; !p.empty(); p = parent_of(p)) {
		std::string parent = parent_of(p);
		children_[parent].insert(base_of(p));
		if (!entries_.count(parent))
			entries_[parent] = implied_dir();
		else if (p != path)
			break; // the rest of the chain exists
	}
	count(path, -1);
	entries_[path] = std::move(entry);
	count(path, +1);
}

void NodeTree::count(const std::string &path, int delta)
{
	auto it = entries_.find(path);
	if (it != entries_.end() && it->second.meta.type == pkram::EntryMeta::Type::hardlink)
		hardlinks_ += delta;
}

void NodeTree::erase(const std::string &path)
{
	count(path, -1);
	entries_.erase(path);
	children_.erase(path);
	auto it = children_.find(parent_of(path));
	if (it != children_.end())
		it->second.erase(base_of(path));
}

std::vector<std::string> NodeTree::subtree(const std::string &path) const
{
	std::vector<std::string> out{path};
	for (size_t i = 0; i < out.size(); i++)
		for (const auto &child : *children(out[i]))
			out.push_back(join(out[i], child));
	return out;
}

void NodeTree::move(const std::string &from, const std::string &to)
{
	auto paths = subtree(from);
	std::vector<std::pair<std::string, Entry>> moved;
	for (const auto &p : paths)
		moved.emplace_back(to + p.substr(from.size()), entries_.at(p));
	for (auto it = paths.rbegin(); it != paths.rend(); ++it)
		erase(*it);
	if (find(to))
		erase(to);
	for (auto &[p, e] : moved)
		put(p, std::move(e));
}

} // namespace pkramfs
