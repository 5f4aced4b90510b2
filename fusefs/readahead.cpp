// The mount's readahead window, set through /sys/class/bdi/MAJ:MIN/.
//
// The device number comes from /proc/self/mountinfo, not stat(2): a stat of
// the mountpoint before the session loop runs would wait for the daemon's
// own GETATTR reply.

#include "readahead.hpp"

#include <fstream>
#include <sstream>

namespace pkramfs {
namespace {

// A mountinfo path field with its octal escapes (\040 for a space) undone.
std::string unescape(const std::string &field)
{
	std::string out;
	for (size_t i = 0; i < field.size(); i++) {
		if (field[i] == '\\' && i + 3 < field.size()) {
			out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
						 (field[i + 3] - '0'));
			i += 3;
		} else {
			out += field[i];
		}
	}
	return out;
}

} // namespace

std::string raise_readahead(const std::string &mountpoint)
{
	std::ifstream mountinfo("/proc/self/mountinfo");
	std::string line, device;
	while (std::getline(mountinfo, line)) {
		std::istringstream fields(line);
		std::string id, parent, dev, root, point;
		fields >> id >> parent >> dev >> root >> point;
		auto dash = line.find(" - ");
		if (dash == std::string::npos || line.compare(dash + 3, 4, "fuse") != 0)
			continue;
		if (unescape(point) == mountpoint)
			device = dev; // the last one is the newest mount there
	}
	if (device.empty())
		return "no FUSE mount at " + mountpoint + " in /proc/self/mountinfo";
	std::string knob = "/sys/class/bdi/" + device + "/read_ahead_kb";
	std::ofstream out(knob);
	out << readahead_bytes / 1024 << '\n';
	out.flush();
	if (!out)
		return "cannot write " + knob;
	return {};
}

} // namespace pkramfs
