#!/usr/bin/env bash
# Installs what the Java client and its tests need, from Maven Central into the local Maven
# repository (~/.m2 unless MAVEN_OPTS names another), then generates the stubs from ../../proto
# and compiles the library, the example and the tests, so that test.sh runs offline.
# Idempotent: a second run only checks that everything is there.
# Needs: OpenJDK 17 and Maven 3.8 (preinstalled on the CI image).
set -euo pipefail
cd "$(dirname "$0")"

for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "setup.sh: $tool not found (needs OpenJDK 17 and Maven)" >&2; exit 1; }
done

# Debian's Maven prints bare colour resets even in batch mode; drop them.
mvn_quiet() { mvn -B -q "$@" 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g'; }
# Compile everything and let surefire resolve its JUnit Platform provider without running a
# test (no server is needed here).
mvn_quiet -Dtest=NoSuchTest -Dsurefire.failIfNoSpecifiedTests=false test
# The example's runner, so `mvn -o exec:java` works offline too.
mvn_quiet exec:help -Ddetail=false >/dev/null

touch target/.setup-done
