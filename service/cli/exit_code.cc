#include "service/cli/commands.h"

namespace ggufd::cli {

int& ExitCode() {
  static int code = 0;
  return code;
}

}  // namespace ggufd::cli
