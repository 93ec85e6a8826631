#!/usr/bin/env bash
# Resolves OpenSearch (OPENSEARCH_VERSION in versions.env) and the two modules a single node needs for
# the sink's Elasticsearch output — transport-netty4 (HTTP) and analysis-common — from Maven Central
# with mvn, and lays them out as the tar distribution does, for test/e2e/support/opensearch.ts:
#   <cache>/opensearch-<ver>/lib/                      the server's jars (classpath lib/*)
#   <cache>/opensearch-<ver>/modules/<name>/           plugin jars + plugin-descriptor.properties
#   <cache>/opensearch-<ver>/bin/, plugins/               empty; the server insists they exist
#   <cache>/opensearch-<ver>/config/                   opensearch.yml, jvm.options, log4j2.properties
#   scripts/fetch-opensearch.sh           fetch what is missing, print the directory
#   scripts/fetch-opensearch.sh --print   print the directory only (exit 1 if it is not complete)
# Idempotent: a complete directory (marked by .complete) is left alone and a second run takes well
# under a second. The Maven artifacts carry no plugin descriptors or security policies (the
# distribution's build writes them), so this script writes them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
log() { printf '[fetch-opensearch %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'fetch-opensearch: %s\n' "$*" >&2; exit 1; }

cache=${CDK8S_AUDIT_CACHE:-$HOME/.cache/cdk8s-audit}
v=$OPENSEARCH_VERSION
dest="$cache/opensearch-$v"

if [ "${1:-}" = "--print" ]; then
  echo "$dest"
  [ -f "$dest/.complete" ]
  exit
fi
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi

command -v mvn >/dev/null || die "mvn is not on PATH: install Maven (Debian: apt-get install maven) and a JDK 17"
command -v java >/dev/null || die "java is not on PATH: install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)"
javaver=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
[ "${javaver%%.*}" -ge 17 ] 2>/dev/null || die "OpenSearch $v needs Java 17 or newer; java on PATH is $javaver"

mkdir -p "$cache"
exec 9>"$cache/opensearch.lock"
if ! flock -n 9; then log "another fetch holds $cache/opensearch.lock; waiting"; flock 9; fi
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi

work="$dest.tmp"
rm -rf "$work"
# bin/ and plugins/ stay empty: the server checks that they exist (path.home/bin, path.plugins).
mkdir -p "$work/poms" "$work/lib" "$work/config" "$work/bin" "$work/plugins"
# A Maven repository of our own, in the cache, so nothing lands in ~/.m2 and a re-fetch is offline.
m2="$cache/m2"

# resolve NAME 'group:artifact ...' DIR: copies the artifacts and their runtime dependencies into DIR.
resolve() {
  local name=$1 coords=$2 out=$3 deps="" c
  for c in $coords; do
    deps="$deps<dependency><groupId>${c%%:*}</groupId><artifactId>${c#*:}</artifactId><version>$v</version></dependency>"
  done
  # log4j-core is optional in the server's pom (embedders bring their own), but the node logs through it.
  [ "$name" = core ] && deps="$deps<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>\${log4j}</version></dependency>"
  mkdir -p "$work/poms/$name"
  cat >"$work/poms/$name/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>local.cdk8s-audit</groupId><artifactId>opensearch-$name</artifactId><version>1</version><packaging>pom</packaging>
<properties><log4j>${log4j:-}</log4j></properties>
<dependencies>$deps</dependencies></project>
EOF
  (cd "$work/poms/$name" && mvn -B -q -Dmaven.repo.local="$m2" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$out" >"$work/poms/$name/mvn.log" 2>&1) || {
    tail -30 "$work/poms/$name/mvn.log" >&2
    die "mvn could not resolve $coords $v (log: $work/poms/$name/mvn.log)"
  }
}

log "OpenSearch $v: resolving the server with mvn"
# The server's pom names the log4j version it was built with; log4j-core must match log4j-api.
log4j=""
resolve core-probe "org.opensearch:opensearch" "$work/probe"
log4j=$(find "$work/probe" -name 'log4j-api-*.jar' | sed 's/.*log4j-api-\(.*\)\.jar/\1/')
[ -n "$log4j" ] || die "the OpenSearch $v pom names no log4j-api"
rm -rf "$work/probe"
# The plugin class loader is a separate artifact the server's pom does not name; the loader needs it.
resolve core "org.opensearch:opensearch org.opensearch:opensearch-plugin-classloader" "$work/lib"

# module NAME ARTIFACT CLASSNAME DESCRIPTION: the plugin and the dependencies the server does not already
# have, with the descriptor the plugin loader reads (PluginInfo: name, description, version,
# opensearch.version, java.version, classname).
module() {
  local name=$1 artifact=$2 classname=$3 description=$4 dir="$work/modules/$1" j
  log "OpenSearch $v: resolving module $name ($artifact)"
  resolve "$name" "org.opensearch.plugin:$artifact" "$work/mod-$name"
  mkdir -p "$dir"
  for j in "$work/mod-$name"/*.jar; do
    [ -e "$work/lib/$(basename "$j")" ] || mv "$j" "$dir/"
  done
  rm -rf "$work/mod-$name"
  unzip -l "$dir/$artifact-$v.jar" | grep -q " ${classname//.//}.class\$" ||
    die "$artifact $v has no class $classname: the plugin's entry point moved; fix the classname here"
  unzip -l "$dir/$artifact-$v.jar" | grep -q plugin-descriptor.properties &&
    die "$artifact $v now ships its own plugin-descriptor.properties: use it instead of writing one"
  cat >"$dir/plugin-descriptor.properties" <<EOF
# Written by scripts/fetch-opensearch.sh: the Maven artifact has no descriptor.
description=$description
version=$v
name=$name
classname=$classname
java.version=11
opensearch.version=$v
EOF
}
module transport-netty4 transport-netty4-client org.opensearch.transport.Netty4Plugin "Netty 4 based transport implementation"
module analysis-common analysis-common org.opensearch.analysis.common.CommonAnalysisPlugin "Adds analyzers, tokenizers and filters the index templates name"
# What Netty needs under the security manager (the distribution's module has the same grants).
cat >"$work/modules/transport-netty4/plugin-security.policy" <<'EOF'
grant {
  permission java.io.FilePermission "/proc/sys/net/core/somaxconn", "read";
  permission java.net.SocketPermission "*", "accept,connect";
  permission java.lang.RuntimePermission "*", "setContextClassLoader";
  permission java.lang.RuntimePermission "getClassLoader";
  permission java.util.PropertyPermission "sun.nio.ch.bugLevel", "write";
};
EOF

# Config shared by every node the tests start; the start helper copies it into each node's own
# config directory and appends the node's settings (ports, paths, TLS) to opensearch.yml.
cat >"$work/config/opensearch.yml" <<'EOF'
# Written by scripts/fetch-opensearch.sh for single-node test clusters on 127.0.0.1.
cluster.name: cdk8s-audit-e2e
discovery.type: single-node
network.host: 127.0.0.1
# The test machine's disk may be fuller than the default watermarks allow; the tests index little.
cluster.routing.allocation.disk.threshold_enabled: false
action.auto_create_index: true
EOF
# One option a line, as bin/opensearch reads jvm.options (no version prefixes needed: Java 17 only).
cat >"$work/config/jvm.options" <<'EOF'
-Xms512m
-Xmx512m
-XX:+UseG1GC
-XX:+HeapDumpOnOutOfMemoryError
-XX:-OmitStackTraceInFastThrow
-Dfile.encoding=UTF-8
-Djava.awt.headless=true
-Djna.nosys=true
-Dio.netty.noUnsafe=true
-Dio.netty.noKeySetOptimization=true
-Dio.netty.recycler.maxCapacityPerThread=0
-Dio.netty.allocator.numDirectArenas=0
-Dlog4j.shutdownHookEnabled=false
-Dlog4j2.disable.jmx=true
-Djava.locale.providers=SPI,COMPAT
-Dopensearch.distribution.type=tar
EOF
cat >"$work/config/log4j2.properties" <<'EOF'
# Console only: the test helper keeps the node's output in a file of its own.
status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
EOF

rm -rf "$work/poms"
touch "$work/.complete"
rm -rf "$dest" && mv "$work" "$dest"
log "OpenSearch $v in $dest ($(ls "$dest/lib" | wc -l) server jars)"
echo "$dest"
