#!/bin/bash
# Configure (when needed) and build QEMU.
#   build.sh patched   build/patched from build/qemu (the series applied)
#   build.sh stock     build/stock from the base alone, tools only
#   build.sh tools     build/patched, but only the tools the iotests use
#   build.sh dir SRC DIR   tools only, from any tree SRC into DIR
. "$(dirname "$0")/common.sh"

what=${1:-patched}
case $what in
    patched|tools) src=$TREE; dir=$PATCHED
             conf=(--target-list=x86_64-softmmu --enable-tools --enable-fuse) ;;
    # Stock is configured exactly like patched, so that benchmarks compare
    # the same code around qcow2 (e.g. TCG changes the main loop's timer
    # code); only the tools are built.
    stock)   src=$STOCK_SRC; dir=$STOCK
             conf=(--target-list=x86_64-softmmu --enable-tools --enable-fuse) ;;
    dir)     src=${2:?source tree}; dir=${3:?build dir}
             conf=(--disable-system --disable-user --enable-tools
                   --enable-gnutls) ;;
    *) die "usage: build.sh patched|stock|tools|dir SRC DIR" ;;
esac
[ -d "$src" ] || die "$src is missing: run make tree"
command -v ccache >/dev/null || die "ccache missing: run tools/deps.sh"

# Configure from scratch when the configure options changed (meson keeps
# the old ones on a mere reconfigure; ccache makes the rebuild cheap), and
# reconfigure when only the tree's HEAD changed: the list of iotests that
# check-block runs is computed by meson at configure time, so a commit that
# adds a test needs a new meson setup.
opts=(--python="$PY" "${conf[@]}" --disable-rust --disable-download
      --disable-install-blobs --disable-docs --firmwarepath="$FIRMWARE_PATH"
      --enable-trace-backends=log)
head=$(git -C "$src" rev-parse HEAD)
if [ "$(cat "$dir/.qs-opts" 2>/dev/null)" != "${opts[*]}" ]; then
    rm -rf "$dir"
fi
if [ ! -f "$dir/build.ninja" ]; then
    mkdir -p "$dir"
    log "configuring $dir"
    (cd "$dir" && "$src/configure" "${opts[@]}" > configure.log 2>&1) ||
        { tail -n 30 "$dir/configure.log"; die "configure failed"; }
    echo "${opts[*]}" > "$dir/.qs-opts"
    echo "$head" > "$dir/.qs-head"
elif [ "$(cat "$dir/.qs-head" 2>/dev/null)" != "$head" ]; then
    log "reconfiguring $dir"
    (cd "$dir" && meson setup --reconfigure . "$src" >/dev/null) ||
        die "meson setup --reconfigure failed in $dir"
    echo "$head" > "$dir/.qs-head"
fi

targets=(qemu-img qemu-io qemu-nbd storage-daemon/qemu-storage-daemon)
[ "$what" = patched ] && targets+=(qemu-system-x86_64)
log "building $dir (${targets[*]##*/})"
ninja -C "$dir" -j "$JOBS" "${targets[@]}" >"$dir/ninja.log" 2>&1 ||
    { grep -B2 -A12 -m3 'error' "$dir/ninja.log" | head -n 60; die "build failed ($dir/ninja.log)"; }

# A binary run from the build tree looks for firmware below
# <builddir>/qemu-bundle/<firmwarepath>; link Debian's firmware there.
if [ "$what" = patched ]; then
    IFS=: read -ra fw <<< "$FIRMWARE_PATH"
    for d in "${fw[@]}"; do
        mkdir -p "$dir/qemu-bundle$(dirname "$d")"
        ln -sfn "$d" "$dir/qemu-bundle$d"
    done
fi
log "built $dir"
