#include "service/security/listen_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <string>

#include "absl/strings/ascii.h"

namespace ggufd::security {

namespace {

bool IsUnix(std::string_view listen) {
  return listen.starts_with("unix:") || listen.starts_with("unix-abstract:");
}

// The position of the colon before the port (npos when there is none).
size_t PortColon(std::string_view listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos || listen.ends_with("]")) {
    return std::string_view::npos;
  }
  return colon;
}

}  // namespace

std::string_view ListenHost(std::string_view listen) {
  std::string_view host = listen.substr(0, PortColon(listen));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

int ListenPort(std::string_view listen) {
  const size_t colon = PortColon(listen);
  if (IsUnix(listen) || colon == std::string_view::npos) return 0;
  const std::string_view digits = listen.substr(colon + 1);
  int port = 0;
  const auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (error != std::errc() || end != digits.data() + digits.size()) return 0;
  return port;
}

bool IsLoopbackListen(std::string_view listen) {
  if (IsUnix(listen)) return true;
  std::string h(ListenHost(listen));
  for (char& c : h) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  if (h == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

}  // namespace ggufd::security
