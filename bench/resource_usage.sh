#!/usr/bin/env bash
# Registers, stack frame, spills and static shared memory of every CUDA kernel, as ptxas reports
# them (-Xptxas -v) for the build's own compile commands and target architecture; prints the
# markdown table of bench/README.md ("Resource usage of the CUDA kernels").
#
#   bash bench/resource_usage.sh [build-dir]      # default: build (configured with Ninja, CUDA on)
#   PTXAS_LOG_DIR=dir bash bench/resource_usage.sh # also keeps ptxas's own output there
#
# Each kernels/*.cu is compiled once more, with its exact flags plus -Xptxas -v, into a temporary
# file: a few minutes. No GPU is needed. The per-warp areas of the fused kernels are dynamic shared
# memory, sized at run time (docs/performance.md gives them by d); they are not in this table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

objects=$(cd "$build" && ninja -t targets all | grep -o '^CMakeFiles/ngvi_cuda_objects.dir/kernels/[a-z_]*\.cu\.o' | sort -u)
[ -n "$objects" ] || { echo "no CUDA objects in $build (configure with the CUDA backend and Ninja)" >&2; exit 1; }
for object in $objects; do
  name=$(basename "$object" .cu.o)
  # The compile command without the launcher and the dependency file, into the temporary folder.
  command=$(cd "$build" && ninja -t commands "$object" | tail -n 1 |
            sed -e 's/^[^ ]*ccache //' -e 's/ -MD -MT [^ ]* -MF [^ ]*//' -e "s| -o [^ ]*\$| -o $work/$name.o|")
  (cd "$build" && eval "$command -Xptxas -v") > "$work/$name.log" 2>&1 &
done
wait
if [ -n "${PTXAS_LOG_DIR:-}" ]; then mkdir -p "$PTXAS_LOG_DIR" && cp "$work"/*.log "$PTXAS_LOG_DIR"/; fi

python3 - "$work" $objects <<'PY'
import re, subprocess, sys, pathlib
work = pathlib.Path(sys.argv[1])
rows = []
for object in sys.argv[2:]:
    source = pathlib.Path(object).name[:-len(".o")]
    text = (work / (source[:-len(".cu")] + ".log")).read_text()
    if "error" in text and "ptxas info" not in text:
        sys.exit(f"{source} did not compile:\n{text}")
    current, properties_of = None, None
    for line in text.splitlines():
        m = re.search(r"Compiling entry function '(\w+)'", line)
        if m:
            current = {"mangled": m.group(1), "source": source}
            rows.append(current)
            continue
        if current is None:
            continue
        m = re.search(r"Function properties for (\w+)", line)
        if m:  # an entry's, or a called function's (not the entry's figures)
            properties_of = m.group(1)
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m and properties_of == current["mangled"]:
            current["stack"], current["spill_st"], current["spill_ld"] = m.groups()
        m = re.search(r"Used (\d+) registers", line)
        if m:
            current["registers"] = m.group(1)
            s = re.search(r"(\d+) bytes smem", line)
            current["smem"] = s.group(1) if s else "0"
names = subprocess.run(["c++filt"], input="\n".join(r["mangled"] for r in rows), capture_output=True,
                       text=True, check=True).stdout.splitlines()

def short(name):
    # void ngvi::gpu::(anonymous namespace)::fused_step_kernel<float, ngvi::gpu::DeviceGlm<float> >(...)
    # -> fused_step_kernel<float, DeviceGlm>
    name = name.replace("(anonymous namespace)::", "").split("(")[0]
    name = re.sub(r"^void |ngvi::(gpu::|math::)?", "", name)
    if name.startswith("cub::"):  # the selection of kernels/active_set.cu: cub's kernel, its policy elided
        return re.sub(r"^cub::[A-Z0-9_]*::(detail::)?(\w+::)*(\w+)<.*$", r"cub \3<...>", name)
    return re.sub(r"Device(Glm|Quadratic)<(float|double)> ?", r"Device\1", name)

print("| source | kernel | registers | stack (B) | spill stores (B) | spill loads (B) | static shared (B) |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
for r, name in sorted(zip(rows, names), key=lambda x: (x[0]["source"], short(x[1]))):
    print(f"| {r['source']} | `{short(name)}` | {r.get('registers', '?')} | {r.get('stack', '?')} | "
          f"{r.get('spill_st', '?')} | {r.get('spill_ld', '?')} | {r.get('smem', '0')} |")
PY
