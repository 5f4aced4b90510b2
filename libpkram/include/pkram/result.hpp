// Errors as values: every fallible call returns Result<T>, carrying errno and
// a message that says what was being done. No exceptions cross this API.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace pkram {

struct Error {
	int errnum = 0;      // an errno value
	std::string message; // what failed, for a human

	std::string what() const { return errnum ? message + ": " + std::strerror(errnum) : message; }
};

inline Error make_error(int errnum, std::string message) { return Error{errnum, std::move(message)}; }

// The error of the last failed libc call.
inline Error errno_error(std::string message) { return make_error(errno, std::move(message)); }

template <typename T> class [[nodiscard]] Result {
      public:
	Result(T value) : v_(std::move(value)) {}
	Result(Error error) : v_(std::move(error)) {}

	bool ok() const { return std::holds_alternative<T>(v_); }
	explicit operator bool() const { return ok(); }
	T &value() & { return std::get<T>(v_); }
	T &&value() && { return std::get<T>(std::move(v_)); }
	const T &value() const & { return std::get<T>(v_); }
	T *operator->() { return &value(); }
	T &operator*() { return value(); }
	const Error &error() const { return std::get<Error>(v_); }

      private:
	std::variant<T, Error> v_;
};

template <> class [[nodiscard]] Result<void> {
      public:
	Result() = default;
	Result(Error error) : error_(std::move(error)), failed_(true) {}

	bool ok() const { return !failed_; }
	explicit operator bool() const { return ok(); }
	const Error &error() const { return error_; }

      private:
	Error error_;
	bool failed_ = false;
};

using Status = Result<void>;

} // namespace pkram
