#!/usr/bin/env bash
# Compiles distill's wasm training kernels (src/nn/kernels/native/*.c) to build/kernels.wasm with
# clang's WebAssembly target (Debian: apt-get install clang lld). The module imports the tfjs
# wasm backend's memory, so it must not carry data of its own or use the linear-memory stack:
# this script refuses a build that does.
set -euo pipefail
cd "$(dirname "$0")/.."
srcs=(src/nn/kernels/native/*.c)
out=build/kernels.wasm
fresh=1
for f in "${srcs[@]}" "$0"; do [ -f "$out" ] && [ "$out" -nt "$f" ] || fresh=0; done
if [ "$fresh" = 1 ]; then exit 0; fi
for tool in clang wasm-ld llvm-objdump; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-kernels: $tool not found; the wasm training kernels need clang and lld (apt-get install clang lld)" >&2
    exit 1
  fi
done
mkdir -p build
tmp="$out.tmp-$$"
clang --target=wasm32 -O3 -msimd128 -ffreestanding -fno-builtin -nostdlib -Wall -Wextra -Werror \
  -Wl,--no-entry -Wl,--import-memory -Wl,--strip-all -Wl,-z,stack-size=0 \
  -o "$tmp" "${srcs[@]}"
node - "$tmp" <<'JS'
const bytes = require("node:fs").readFileSync(process.argv[2]);
const mod = new WebAssembly.Module(bytes);
const problems = [];
// Section id 11: data.
for (let i = 8; i < bytes.length; ) {
  const id = bytes[i++];
  let size = 0, shift = 0, b;
  do { b = bytes[i++]; size |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
  if (id === 11 && size > 1) problems.push("a data section");
  i += size;
}
const imports = WebAssembly.Module.imports(mod).map((d) => `${d.module}.${d.name}`);
if (imports.join() !== "env.memory") problems.push(`imports ${imports.join(", ")}`);
if (problems.length) {
  console.error(`build-kernels: the module has ${problems.join(" and ")}; it may not (it shares tfjs's memory)`);
  process.exit(1);
}
JS
# The stack pointer global may be declared, but no instruction may touch it.
if llvm-objdump -d "$tmp" | grep -q "global\.[gs]et"; then
  echo "build-kernels: the module uses the linear-memory stack; it may not (it shares tfjs's memory)" >&2
  exit 1
fi
mv "$tmp" "$out"
echo "build-kernels: $out ($(stat -c %s "$out") bytes)" >&2
