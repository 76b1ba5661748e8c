#!/usr/bin/env bash
# Opens a report page in a real headless browser (Debian's Chromium) and checks it:
#   scripts/browser-check.sh PAGE.html SCREENSHOT.png [MIN_CHARTS]
# - the page loads without console messages (errors, uncaught exceptions, warnings);
# - the DOM the browser built holds at least MIN_CHARTS (default 1) <svg> charts;
# - the screenshot shows them: pixels of the front's red (#D62728) and of the candidates'
#   blue (#5F7DAF) are present (the report's charts draw with these colours).
# Chromium: `apt-get install chromium` (.ci/run installs it when missing).
set -euo pipefail
page="$(realpath "$1")"
shot="$2"
min_charts="${3:-1}"
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "browser-check: chromium is not installed" >&2; exit 1; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
# The flags a closed network needs (no background connections), as root without a sandbox.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$profile" --enable-logging=stderr --v=0)
timeout 120 "$browser" "${flags[@]}" --window-size=1200,3000 --screenshot="$shot" \
  "file://$page" 2> "$profile/screenshot.log" > /dev/null
if grep -q ':CONSOLE' "$profile/screenshot.log"; then
  echo "browser-check: the page logged to the console:" >&2
  grep ':CONSOLE' "$profile/screenshot.log" >&2
  exit 1
fi
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$page" \
  2> "$profile/dom.log" > "$profile/dom.html"
charts=$(grep -o '<svg' "$profile/dom.html" | wc -l)
if [ "$charts" -lt "$min_charts" ]; then
  echo "browser-check: the rendered page has $charts charts, expected at least $min_charts" >&2
  exit 1
fi
python3 - "$shot" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, header = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        header = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
width, height, depth, colour = header[:4]
assert depth == 8 and colour in (2, 6), f"PNG depth {depth} colour type {colour}"
bpp = 3 if colour == 2 else 4
raw = zlib.decompress(idat)
stride = width * bpp
prev = bytearray(stride)
counts = {"front": 0, "candidate": 0}
targets = {(214, 39, 40): "front", (95, 125, 175): "candidate"}
for y in range(height):
    start = y * (stride + 1)
    kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
    if kind == 1:
        for i in range(bpp, stride):
            line[i] = (line[i] + line[i - bpp]) & 255
    elif kind == 2:
        line = bytearray((a + b) & 255 for a, b in zip(line, prev))
    elif kind == 3:
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
    elif kind == 4:
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        name = targets.get((line[x], line[x + 1], line[x + 2]))
        if name:
            counts[name] += 1
    prev = line
print(f"browser-check: screenshot {width}x{height}: {counts['front']} front-red and "
      f"{counts['candidate']} candidate-blue pixels")
assert counts["front"] > 0, "no front points or line drawn in the screenshot"
PY
echo "browser-check: $page loaded without console messages, $charts charts"
