"""The C++ side of the ABI (ABI.md section 9), checked with g++ rather than assumed.

* The ``ge::Session`` members the package calls by their Itanium-mangled names:
  a tiny C++ file declares them as CANN's ``ge_api.h`` does, g++ compiles calls
  to them, and ``nm`` must list exactly the names ``ge/_ffi/signatures.py``
  declares (and the stand-in exports).
* The empty ``std::map<AscendString, AscendString>`` the package builds for
  ``LoadGraph``: a C++ probe prints libstdc++'s size, the bytes of an empty map
  and, with one entry, where the node count lives; Python's ``StdMap`` must
  match them byte for byte (pointers compared relative to the map's address).
"""

from __future__ import annotations

import ctypes
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from ge._ffi.signatures import (
    SESSION_COMPILE_GRAPH,
    SESSION_GET_SESSION_ID,
    SESSION_IS_GRAPH_NEED_REBUILD,
    SESSION_LOAD_GRAPH,
    SPECS_BY_NAME,
)
from ge._ffi.std_map import StdMap, empty_std_map

GXX = shutil.which("g++")
NM = shutil.which("nm")
pytestmark = pytest.mark.skipif(not (GXX and NM), reason="needs g++ and nm")

ASCEND_STRING = """
#include <cstdint>
#include <map>
#include <memory>
#include <string>
namespace ge {
class AscendString {  // as graph/ascend_string.h: one shared_ptr<std::string>
 public:
  AscendString() = default;
  explicit AscendString(const char *s) : name_(std::make_shared<std::string>(s)) {}
  bool operator<(const AscendString &o) const { return *name_ < *o.name_; }
 private:
  std::shared_ptr<std::string> name_;
};
using Status = uint32_t;
}  // namespace ge
"""

SESSION_DECLARATIONS = (
    ASCEND_STRING
    + """
namespace ge {
class Session {  // the members of ge_api.h that the package calls
 public:
  Status CompileGraph(uint32_t graph_id);
  bool IsGraphNeedRebuild(uint32_t graph_id);
  uint64_t GetSessionId() const;
  Status LoadGraph(const uint32_t graph_id, const std::map<AscendString, AscendString> &options,
                   void *stream) const;
};
}  // namespace ge
extern "C" ge::Status GeSessionLoadGraph(ge::Session &session, uint32_t graph_id,
    const std::map<ge::AscendString, ge::AscendString> &options, void *stream);

void use(ge::Session &s, const std::map<ge::AscendString, ge::AscendString> &options) {
  (void)s.CompileGraph(1);
  (void)s.IsGraphNeedRebuild(1);
  (void)s.GetSessionId();
  (void)s.LoadGraph(1, options, nullptr);
  (void)GeSessionLoadGraph(s, 1, options, nullptr);
}
"""
)

MAP_PROBE = (
    ASCEND_STRING
    + """
#include <cstdio>
#include <cstring>
#include <new>
using Options = std::map<ge::AscendString, ge::AscendString>;

static void dump(const char *what, const Options *m) {
  const unsigned char *b = reinterpret_cast<const unsigned char *>(m);
  std::printf("%s ", what);
  for (size_t i = 0; i < sizeof(Options); i++) std::printf("%02x", b[i]);
  std::printf("\\n");
}

int main() {
  alignas(Options) unsigned char storage[sizeof(Options)];
  std::memset(storage, 0, sizeof storage);  // padding reads as zeros
  Options *m = new (storage) Options();
  std::printf("size %zu\\nbase %llx\\n", sizeof(Options),
              (unsigned long long)reinterpret_cast<uintptr_t>(m));
  dump("empty", m);
  m->emplace(ge::AscendString("k"), ge::AscendString("v"));
  dump("one", m);
  m->~Options();
  return 0;
}
"""
)


def _compile(tmp_path: Path, source: str, *args: str) -> Path:
    src = tmp_path / "probe.cpp"
    src.write_text(source)
    out = tmp_path / ("probe.o" if "-c" in args else "probe")
    assert GXX is not None
    subprocess.run([GXX, "-std=c++17", *args, str(src), "-o", str(out)], check=True)
    return out


def test_session_member_names_match_what_gxx_mangles(tmp_path: Path) -> None:
    obj = _compile(tmp_path, SESSION_DECLARATIONS, "-c")
    assert NM is not None
    listing = subprocess.run([NM, "-u", str(obj)], capture_output=True, text=True, check=True)
    undefined = {line.split()[-1] for line in listing.stdout.splitlines() if line.strip()}
    declared = {
        SESSION_COMPILE_GRAPH,
        SESSION_IS_GRAPH_NEED_REBUILD,
        SESSION_GET_SESSION_ID,
        SESSION_LOAD_GRAPH,
        "GeSessionLoadGraph",
    }
    assert declared <= set(SPECS_BY_NAME)
    session_symbols = {s for s in undefined if "Session" in s}
    assert session_symbols == declared


def _words(raw: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(raw) // 8}Q", raw))


def _relative(words: list[int], base: int) -> list[object]:
    """Each word, with a pointer into the map shown as ``("map+", offset)``."""
    size = ctypes.sizeof(StdMap)
    return [("map+", w - base) if base <= w < base + size else w for w in words]


def test_the_empty_map_python_builds_is_libstdcxx_s(tmp_path: Path) -> None:
    probe = _compile(tmp_path, MAP_PROBE)
    out = subprocess.run([str(probe)], capture_output=True, text=True, check=True).stdout
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    size, base = int(lines["size"]), int(lines["base"], 16)
    empty, one = bytes.fromhex(lines["empty"]), bytes.fromhex(lines["one"])
    assert size == ctypes.sizeof(StdMap) == 48

    # an empty tree: no root, leftmost and rightmost point at the header node
    header = StdMap.header.offset
    cxx = _relative(_words(empty), base)
    assert cxx[(header + 16) // 8] == ("map+", header)  # leftmost
    assert cxx[(header + 24) // 8] == ("map+", header)  # rightmost
    # the node count is the word that becomes 1 with one entry
    counts = [i * 8 for i, (a, b) in enumerate(zip(_words(empty), _words(one))) if (a, b) == (0, 1)]
    assert counts == [StdMap.node_count.offset] == [40]

    ours = empty_std_map()
    py = _relative(_words(ctypes.string_at(ctypes.addressof(ours), size)), ctypes.addressof(ours))
    assert py == cxx
