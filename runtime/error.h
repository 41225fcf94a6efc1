// error.h: the one exception type of the project. Its message is the single
// line a user sees ("model.onnx: node 'Conv_12' (Conv): weights must be
// constant"), so it names the file/node and the problem. The CLI catches it,
// prints "vedge: error: <what()>" and exits non-zero.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace vedge {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... R>
void append(std::ostringstream& os, const T& v, const R&... r) {
  os << v;
  append(os, r...);
}
}  // namespace detail

// Concatenates its arguments with operator<< and throws vedge::Error.
template <class... A>
[[noreturn]] void fail(const A&... a) {
  std::ostringstream os;
  detail::append(os, a...);
  throw Error(os.str());
}

#define VEDGE_CHECK(cond, ...)          \
  do {                                  \
    if (!(cond)) ::vedge::fail(__VA_ARGS__); \
  } while (0)

}  // namespace vedge
