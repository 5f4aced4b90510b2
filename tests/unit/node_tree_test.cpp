// pkramfs's model of a node's tree (fusefs/model.cpp), without the module:
// implied parents, moves of whole subtrees, and the hard-link count renames
// rely on to skip their search.
#include <gtest/gtest.h>

#include "model.hpp"

namespace {

using pkram::EntryMeta;
using pkramfs::Entry;
using pkramfs::NodeTree;

Entry entry(EntryMeta::Type type, const std::string &target = "")
{
	Entry e;
	e.meta.type = type;
	e.meta.target = target;
	e.has_object = true;
	return e;
}

TEST(NodeTree, PutImpliesParentsAndMoveTakesTheSubtreeWithItsInodeNumbers)
{
	NodeTree tree;
	Entry file = entry(EntryMeta::Type::file);
	file.ino = 42;
	tree.put("a/b/f", file);
	ASSERT_NE(nullptr, tree.find("a"));
	EXPECT_FALSE(tree.find("a")->has_object); // implied by its child
	EXPECT_EQ(EntryMeta::Type::dir, tree.find("a/b")->meta.type);
	tree.move("a", "z");
	EXPECT_EQ(nullptr, tree.find("a/b/f"));
	ASSERT_NE(nullptr, tree.find("z/b/f"));
	EXPECT_EQ(42u, tree.find("z/b/f")->ino);
	EXPECT_EQ((std::vector<std::string>{"z", "z/b", "z/b/f"}), tree.subtree("z"));
	EXPECT_EQ(1u, tree.children("z")->size());
}

TEST(NodeTree, CountsHardLinksThroughPutEraseAndMove)
{
	NodeTree tree;
	tree.put("f", entry(EntryMeta::Type::file));
	EXPECT_EQ(0u, tree.hardlinks());
	tree.put("d/l1", entry(EntryMeta::Type::hardlink, "f"));
	tree.put("l2", entry(EntryMeta::Type::hardlink, "f"));
	EXPECT_EQ(2u, tree.hardlinks());
	tree.move("d", "e");
	EXPECT_EQ(2u, tree.hardlinks());
	tree.put("l2", entry(EntryMeta::Type::file)); // the data moved to this name
	EXPECT_EQ(1u, tree.hardlinks());
	tree.erase("e/l1");
	EXPECT_EQ(0u, tree.hardlinks());
	tree.move("f", "l2"); // over a file: no count goes negative
	EXPECT_EQ(0u, tree.hardlinks());
}

} // namespace
