// Whole-file helpers for the GoogleTest suites (host and guest): a file's
// bytes, or the reason it could not be opened, and a file written whole.
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace pkram::test {

inline std::string read_file(const std::string &p)
{
	int fd = open(p.c_str(), O_RDONLY);
	if (fd < 0)
		return "<open failed: " + std::string(std::strerror(errno)) + ">";
	std::string out;
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		out.append(buf, static_cast<size_t>(n));
	close(fd);
	return out;
}

inline void write_file(const std::string &p, const std::string &data)
{
	int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT_GE(fd, 0) << p << ": " << std::strerror(errno);
	ASSERT_EQ(static_cast<ssize_t>(data.size()), write(fd, data.data(), data.size()));
	ASSERT_EQ(0, close(fd));
}

} // namespace pkram::test
