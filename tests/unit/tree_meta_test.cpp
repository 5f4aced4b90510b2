#include <gtest/gtest.h>

#include "pkram/entry_meta.hpp"

TEST(TreeMeta, RoundTripsASymlinkWithNonUtf8Target)
{
	pkram::EntryMeta m;
	m.type = pkram::EntryMeta::Type::symlink;
	m.mode = 0777;
	m.uid = 1000;
	m.gid = 100;
	m.mtime_ns = 1700000000123456789;
	m.atime_ns = -5;
	m.target = std::string("t\xff\x01rget", 7);
	auto back = pkram::decode_meta(pkram::encode_meta(m));
	ASSERT_TRUE(back.ok()) << back.error().what();
	EXPECT_EQ(m.target, back->target);
	EXPECT_EQ(m.mtime_ns, back->mtime_ns);
	EXPECT_EQ(m.atime_ns, back->atime_ns);
	EXPECT_EQ(1000u, back->uid);
}

TEST(TreeMeta, RejectsGarbage)
{
	for (const char *bad : {"", "[]", "{\"type\":\"file\"}", "{\"type\":\"fifo\",\"mode\":1}",
				"{\"type\":\"file\",\"mode\":99999,\"uid\":0,\"gid\":0,\"size\":0,"
				"\"mtime_ns\":0,\"atime_ns\":0}"}) {
		auto m = pkram::decode_meta(bad);
		ASSERT_FALSE(m.ok()) << bad;
		EXPECT_EQ(EBADMSG, m.error().errnum);
	}
}

TEST(TreeMeta, KeepsXattrsHardLinksAndDevices)
{
	pkram::EntryMeta m;
	m.type = pkram::EntryMeta::Type::chr;
	m.rdev = 0x103;
	m.xattrs["trusted.note"] = std::string("\0binary\xff", 8);
	m.xattrs["user.x"] = "";
	auto back = pkram::decode_meta(pkram::encode_meta(m));
	ASSERT_TRUE(back.ok()) << back.error().what();
	EXPECT_EQ(pkram::EntryMeta::Type::chr, back->type);
	EXPECT_EQ(0x103u, back->rdev);
	EXPECT_EQ(m.xattrs, back->xattrs);
	pkram::EntryMeta link;
	link.type = pkram::EntryMeta::Type::hardlink;
	link.target = "dir/first-name";
	auto l = pkram::decode_meta(pkram::encode_meta(link));
	ASSERT_TRUE(l.ok());
	EXPECT_EQ("dir/first-name", l->target);
	EXPECT_EQ("hardlink", pkram::to_string(l->type));
}

TEST(TreeMeta, CtimeIsKeptAndDefaultsToMtimeInOlderMetadata)
{
	pkram::EntryMeta m;
	m.mtime_ns = 100;
	m.ctime_ns = 200;
	auto back = pkram::decode_meta(pkram::encode_meta(m));
	ASSERT_TRUE(back.ok()) << back.error().what();
	EXPECT_EQ(200, back->ctime_ns);
	auto older = pkram::decode_meta("{\"type\":\"file\",\"mode\":420,\"uid\":0,\"gid\":0,\"size\":0,"
					"\"mtime_ns\":7,\"atime_ns\":0}");
	ASSERT_TRUE(older.ok()) << older.error().what();
	EXPECT_EQ(7, older->ctime_ns);
	EXPECT_FALSE(pkram::decode_meta("{\"type\":\"file\",\"mode\":420,\"uid\":0,\"gid\":0,\"size\":0,"
					"\"mtime_ns\":7,\"atime_ns\":0,\"ctime_ns\":\"x\"}")
			     .ok());
}

TEST(TreeMeta, TimesBefore1970BecomeTimespecs)
{
	timespec t = pkram::timespec_of(-1);
	EXPECT_EQ(-1, t.tv_sec);
	EXPECT_EQ(999999999, t.tv_nsec);
	EXPECT_EQ(-1, pkram::ns_of(t));
	t = pkram::timespec_of(-2000000000);
	EXPECT_EQ(-2, t.tv_sec);
	EXPECT_EQ(0, t.tv_nsec);
	EXPECT_EQ(1500000000, pkram::ns_of(pkram::timespec_of(1500000000)));
}
