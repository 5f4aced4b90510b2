// Guest RAM in a pkram node: size rules and QEMU's arguments (vm_ram.hpp).
#include "pkram/vm_ram.hpp"

#include <cerrno>

#include "pkram/setup.hpp"

namespace pkram {

Result<uint64_t> check_vm_ram_size(uint64_t bytes)
{
	if (!bytes || bytes % vm_ram_align)
		return make_error(EINVAL,
				  "guest RAM of " + std::to_string(bytes) +
					  " bytes: it must be a nonzero multiple of 2 MiB (512M, 1G, ...)");
	return bytes;
}

std::vector<std::string> qemu_ram_args(uint64_t bytes, int fd)
{
	const std::string size = size_arg(bytes);
	return {"-object",
		"memory-backend-file,id=pkram-ram,mem-path=/proc/self/fd/" + std::to_string(fd) +
			",share=on,size=" + size + ",align=2M",
		"-machine",
		"memory-backend=pkram-ram",
		"-m",
		size};
}

std::vector<std::string> with_qemu_ram(const std::vector<std::string> &command, uint64_t bytes, int fd)
{
	std::vector<std::string> argv = command;
	for (auto &a : qemu_ram_args(bytes, fd))
		argv.push_back(std::move(a));
	return argv;
}

std::string shell_words(const std::vector<std::string> &argv)
{
	std::string out;
	for (const auto &a : argv) {
		if (!out.empty())
			out += ' ';
		if (!a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						      "0123456789-_./=,:@%+") == std::string::npos) {
			out += a;
			continue;
		}
		out += '\'';
		for (char c : a)
			out += c == '\'' ? std::string("'\\''") : std::string(1, c);
		out += '\'';
	}
	return out;
}

} // namespace pkram
