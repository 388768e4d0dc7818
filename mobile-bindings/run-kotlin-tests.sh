#!/usr/bin/env bash
# Builds the fieldsync-mobile library, generates its Kotlin bindings, compiles them with the
# smoke test (tests/kotlin/SmokeTest.kt) and runs it on the JVM against a real fieldsync-server
# on 127.0.0.1. Installs what it needs when missing: JNA from Debian (libjna-java, needs root)
# and the Kotlin compiler from the npm registry (into target/kotlin-tools). Needs java 17+.
set -euo pipefail
source "$(dirname "$0")/tests/harness.sh"

jna=/usr/share/java/jna.jar
if [[ ! -f "$jna" ]]; then
    sudo=""
    [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
    $sudo apt-get install -y -q libjna-java >/dev/null 2>&1 ||
        { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q libjna-java >/dev/null; }
fi

tools="$root/target/kotlin-tools"
kc="$tools/node_modules/kotlin-compiler"
if [[ ! -x "$kc/bin/kotlinc" ]]; then
    npm install --silent --no-audit --no-fund --prefix "$tools" kotlin-compiler@2.4.20
fi

harness_start kotlin --no-format
classpath="$jna:$kc/lib/kotlinx-coroutines-core-jvm.jar"
"$kc/bin/kotlinc" -nowarn "$work/bindings/uniffi/fieldsync_mobile/fieldsync_mobile.kt" \
    "$root/mobile-bindings/tests/kotlin/SmokeTest.kt" -cp "$classpath" -d "$work/smoke.jar"
java -Djna.library.path="$work/bindings" \
    -cp "$work/smoke.jar:$classpath:$kc/lib/kotlin-stdlib.jar" SmokeTestKt
