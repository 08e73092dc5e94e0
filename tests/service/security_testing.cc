#include "tests/service/security_testing.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/service/ggufd_process.h"

namespace ggufd::testing {
namespace {

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "ggufd-sec-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

TestPki::TestPki(const std::string& name) {
  const ShellResult ca = RunShell(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes -days 2 -subj " +
      Quote("/CN=" + name + "-ca") + " -keyout " + Quote(dir_ / "ca.key") +
      " -out " + Quote(ca_file()));
  EXPECT_EQ(ca.exit_code, 0) << "openssl (is it installed?): " << ca.output;
}

bool TestPki::Issue(const std::string& out_prefix, const std::string& subject,
                    const std::string& extensions) {
  const std::string ext_file = out_prefix + ".ext";
  WriteFile(ext_file, extensions);
  const ShellResult req = RunShell(
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-subj " +
      Quote(subject) + " -keyout " + Quote(out_prefix + ".key") + " -out " +
      Quote(out_prefix + ".csr"));
  EXPECT_EQ(req.exit_code, 0) << req.output;
  const ShellResult sign = RunShell(
      "openssl x509 -req -days 2 -in " + Quote(out_prefix + ".csr") + " -CA " +
      Quote(ca_file()) + " -CAkey " + Quote(dir_ / "ca.key") +
      " -CAcreateserial -CAserial " + Quote(dir_ / "ca.srl") + " -extfile " +
      Quote(ext_file) + " -out " + Quote(out_prefix + ".pem"));
  EXPECT_EQ(sign.exit_code, 0) << sign.output;
  return req.exit_code == 0 && sign.exit_code == 0;
}

bool TestPki::IssueServer(const std::string& dir, const std::string& file,
                          const std::string& common_name) {
  return Issue(dir + "/" + file, "/CN=" + common_name,
               "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
               "extendedKeyUsage=serverAuth\n");
}

bool TestPki::IssueClient(const std::string& dir, const std::string& file,
                          const std::string& common_name,
                          const std::string& uri) {
  return Issue(dir + "/" + file, "/CN=" + common_name,
               "subjectAltName=URI:" + uri + "\nextendedKeyUsage=clientAuth\n");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

void ReplaceFile(const std::string& path, const std::string& text) {
  WriteFile(path + ".tmp", text);
  std::filesystem::rename(path + ".tmp", path);
}

std::string AuthLine(const std::string& token, const std::string& role,
                     const std::string& name) {
  const ShellResult run =
      RunShell("printf %s " + Quote(token) + " | " + GgufdBinary() +
               " hash-token --role " + role + " --name " + Quote(name));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  return run.output;
}

std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address,
                                          const std::string& ca_file,
                                          const std::string& cert_file,
                                          const std::string& key_file) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(ca_file);
  if (!cert_file.empty()) {
    ssl.pem_cert_chain = ReadFile(cert_file);
    ssl.pem_private_key = ReadFile(key_file);
  }
  // A channel argument no other channel has keeps gRPC from sharing a
  // connection (subchannel) between channels.
  static std::atomic<int> unique{0};
  grpc::ChannelArguments args;
  args.SetInt("ggufd.test.channel", unique++);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

std::shared_ptr<grpc::Channel> PlainChannel(const std::string& address) {
  static std::atomic<int> unique{0};
  grpc::ChannelArguments args;
  args.SetInt("ggufd.test.channel", unique++);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

std::string ReasonOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return "";
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

int ListeningField(const std::vector<std::string>& log_lines,
                   const std::string& field) {
  for (const std::string& line : log_lines) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg", "") == "listening") {
      return j.value(field, 0);
    }
  }
  return 0;
}

}  // namespace ggufd::testing
