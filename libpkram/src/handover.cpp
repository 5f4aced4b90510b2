#include "pkram/handover.hpp"

#include <fstream>
#include <sstream>

namespace pkram {

Result<std::string> read_handover_token(const std::string &path)
{
	std::ifstream in(path);
	if (!in)
		return make_error(ENOENT, "read " + path + " (is the pkram module loaded?)");
	std::string token;
	in >> token;
	if (token.size() < 3 || token.rfind("0x", 0) != 0 ||
	    token.find_first_not_of("0123456789abcdef", 2) != std::string::npos)
		return make_error(EBADMSG, path + " holds '" + token + "', not a token");
	return token;
}

std::string next_cmdline(std::string_view base, std::string_view extra, std::string_view token)
{
	std::istringstream words{std::string(base)};
	std::string word, out;
	auto add = [&out](std::string_view w) {
		if (w.empty())
			return;
		if (!out.empty())
			out += ' ';
		out += w;
	};
	while (words >> word) {
		std::string_view w = word;
		if (w.rfind(std::string(handover_param) + "=", 0) == 0 || w.rfind("BOOT_IMAGE=", 0) == 0 ||
		    w.rfind("initrd=", 0) == 0)
			continue;
		add(w);
	}
	add(extra);
	add(std::string(handover_param) + "=" + std::string(token));
	return out;
}

std::vector<std::string> kexec_load_argv(const std::string &kernel, const std::string &initrd,
					 const std::string &cmdline)
{
	std::vector<std::string> argv{"kexec", "-s", "-l", kernel};
	if (!initrd.empty())
		argv.push_back("--initrd=" + initrd);
	argv.push_back("--append=" + cmdline);
	return argv;
}

} // namespace pkram
