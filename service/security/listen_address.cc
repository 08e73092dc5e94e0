#include "service/security/listen_address.h"

#include <arpa/inet.h>

#include <string>

#include "absl/strings/ascii.h"

namespace ggufd::security {

bool IsLoopbackListen(std::string_view listen) {
  if (listen.starts_with("unix:") || listen.starts_with("unix-abstract:")) {
    return true;
  }
  std::string_view host = listen;
  if (const size_t colon = listen.rfind(':');
      colon != std::string_view::npos && !listen.ends_with("]")) {
    host = listen.substr(0, colon);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string h(host);
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
