// Test tool: prints the GBNF grammar for a JSON Schema or a regular
// expression read from stdin, so tests in other languages (tests/e2e) can
// check the converters against independent validators.
//   schema_to_gbnf_tool [--regex] < input
// Exit status 0 with the grammar on stdout; 2 with the converter's error
// ("INVALID_ARGUMENT: ...") on stderr.
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/grammar/schema/json_schema_to_gbnf.h"
#include "runtime/grammar/schema/regex_to_gbnf.h"

int main(int argc, char** argv) {
  bool regex = argc > 1 && std::string_view(argv[1]) == "--regex";
  if (argc > 2 || (argc == 2 && !regex)) {
    std::cerr << "usage: schema_to_gbnf_tool [--regex] < input\n";
    return 64;
  }
  std::string input((std::istreambuf_iterator<char>(std::cin)),
                    std::istreambuf_iterator<char>());
  absl::StatusOr<std::string> grammar =
      regex ? ggufd::grammar::RegexToGbnf(input)
            : ggufd::grammar::JsonSchemaToGbnf(input);
  if (!grammar.ok()) {
    std::cerr << grammar.status().ToString() << "\n";
    return 2;
  }
  std::cout << *grammar;
  return 0;
}
