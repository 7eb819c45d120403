"""The C++ side of the ABI (docs/abi.md section 9), checked with g++ rather than assumed.

* The ``ge::Session`` members the package calls by their Itanium-mangled names:
  a tiny C++ file declares them as CANN's ``ge_api.h`` does, g++ compiles calls
  to them, and ``nm`` must list exactly the names ``ge/_ffi/signatures.py``
  declares (and the stand-in exports).
* The empty ``std::map<AscendString, AscendString>`` the package builds for
  ``LoadGraph``: a C++ probe prints libstdc++'s size, the bytes of an empty map
  and, with one entry, where the node count lives; Python's ``StdMap`` must
  match them byte for byte (pointers compared relative to the map's address).
* The calls themselves: g++ builds a shared library that defines
  ``ge::Session``'s members with ``ge_api.h``'s exact declarations (and the
  extern "C" ``GeSessionLoadGraph``); the package's own declarations, bound by
  its own binding code (``ge._ffi.api`` with ``GE_FFI_LIBRARY`` naming the
  probe), call into it, and every argument the C++ side received (``this``, the
  graph id, the stream, the map and its emptiness) and every value returned
  (``Status``, ``bool``, ``uint64_t``) is checked.
"""

from __future__ import annotations

import ctypes
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ge import _ffi
from ge._ffi.loader import ENV_LIBRARY
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


# -- calling ge::Session's members through the package's declarations --------------

SESSION_PROBE = (
    ASCEND_STRING
    + """
#include <cstddef>
namespace ge {
class Session {  // ge_api.h's declarations of these members, token for token, and its field
 public:
  Status LoadGraph(const uint32_t graph_id, const std::map<AscendString, AscendString> &options,
                   void *stream) const;
  bool IsGraphNeedRebuild(uint32_t graph_id);
  uint64_t GetSessionId() const;
  Status CompileGraph(uint32_t graph_id);
 private:
  uint64_t sessionId_{0};
};
}  // namespace ge
extern "C" {
ge::Status GeSessionLoadGraph(ge::Session &session, uint32_t graph_id,
                              const std::map<ge::AscendString, ge::AscendString> &options,
                              void *stream);
}

using Options = std::map<ge::AscendString, ge::AscendString>;
static const void *g_this, *g_stream, *g_options;
static uint64_t g_graph_id = ~0ULL, g_calls, g_size = ~0ULL, g_visited = ~0ULL;
static int g_begin_is_end = -1, g_find_is_end = -1;

static void record(const ge::Session *s, uint32_t graph_id, const void *stream) {
  g_this = s;
  g_graph_id = graph_id;
  g_stream = stream;
  g_calls++;
}

static void record_map(const Options &options) {
  g_options = &options;
  g_size = options.size();
  g_begin_is_end = options.begin() == options.end();
  g_find_is_end = options.find(ge::AscendString("ge.exec.x")) == options.end();
  g_visited = 0;
  for (const auto &entry : options) {
    (void)entry;
    g_visited++;
  }
}

namespace ge {
Status Session::CompileGraph(uint32_t graph_id) {
  record(this, graph_id, nullptr);
  return 0xC0DE0001u;
}
bool Session::IsGraphNeedRebuild(uint32_t graph_id) {
  record(this, graph_id, nullptr);
  return graph_id == 7;
}
uint64_t Session::GetSessionId() const {
  record(this, ~0u, nullptr);
  return sessionId_;
}
Status Session::LoadGraph(const uint32_t graph_id, const Options &options, void *stream) const {
  record(this, graph_id, stream);
  record_map(options);
  return 0x10AD0002u;
}
}  // namespace ge

extern "C" {
ge::Status GeSessionLoadGraph(ge::Session &session, uint32_t graph_id, const Options &options,
                              void *stream) {
  record(&session, graph_id, stream);
  record_map(options);
  return 0xE10AD003u;
}
// what the loader checks a runtime wrapper for (CANN 9.1.0 or later)
void GeApiWrapper_Session_FreeTensorArray(void *) {}
const char *GeApiWrapper_GEGetErrorMsg(void) { return ""; }
// the probe's own read-back
const void *probe_this(void) { return g_this; }
const void *probe_stream(void) { return g_stream; }
const void *probe_options(void) { return g_options; }
uint64_t probe_graph_id(void) { return g_graph_id; }
uint64_t probe_calls(void) { return g_calls; }
uint64_t probe_map_size(void) { return g_size; }
uint64_t probe_map_visited(void) { return g_visited; }
int probe_map_begin_is_end(void) { return g_begin_is_end; }
int probe_map_find_is_end(void) { return g_find_is_end; }
}
"""
)


@pytest.fixture
def session_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ctypes.CDLL]:
    """The probe library, as the only library of ``ge._ffi`` (``GE_FFI_LIBRARY``)."""
    library = _compile(tmp_path, SESSION_PROBE, "-shared", "-fPIC", "-O1")
    monkeypatch.setenv(ENV_LIBRARY, str(library))
    _ffi.reset()
    probe = ctypes.CDLL(str(library))
    for name in ("probe_this", "probe_stream", "probe_options"):
        getattr(probe, name).restype = ctypes.c_void_p
    for name in ("probe_graph_id", "probe_calls", "probe_map_size", "probe_map_visited"):
        getattr(probe, name).restype = ctypes.c_uint64
    try:
        yield probe
    finally:
        monkeypatch.undo()
        _ffi.reset()


def _as(argtype: Any, address: int) -> Any:
    """``address`` as a value of the declared argument type (a handle type or void*)."""
    return ctypes.cast(ctypes.c_void_p(address), argtype)


def test_the_package_s_declarations_call_ge_api_h_s_members(session_probe: ctypes.CDLL) -> None:
    probe = session_probe
    session = (ctypes.c_uint64 * 2)(0xFEDCBA9876543210, 0)  # ge::Session: sessionId_ first
    this = ctypes.addressof(session)
    stream_address = 0x5EA7_0000_1234

    def calls() -> int:
        return int(probe.probe_calls())

    compile_graph = getattr(_ffi.api, SESSION_COMPILE_GRAPH)
    spec = SPECS_BY_NAME[SESSION_COMPILE_GRAPH]
    status = compile_graph(_as(spec.argtypes[0], this), 0x8000_0005)  # all 32 bits, unsigned
    assert status == 0xC0DE0001
    assert (probe.probe_this(), probe.probe_graph_id(), calls()) == (this, 0x8000_0005, 1)

    rebuild = getattr(_ffi.api, SESSION_IS_GRAPH_NEED_REBUILD)
    spec = SPECS_BY_NAME[SESSION_IS_GRAPH_NEED_REBUILD]
    assert rebuild(_as(spec.argtypes[0], this), 7) is True
    assert (probe.probe_this(), probe.probe_graph_id()) == (this, 7)
    assert rebuild(_as(spec.argtypes[0], this), 8) is False

    session_id = getattr(_ffi.api, SESSION_GET_SESSION_ID)
    spec = SPECS_BY_NAME[SESSION_GET_SESSION_ID]
    assert session_id(_as(spec.argtypes[0], this)) == 0xFEDCBA9876543210  # all 64 bits
    assert probe.probe_this() == this

    for name, returned in ((SESSION_LOAD_GRAPH, 0x10AD0002), ("GeSessionLoadGraph", 0xE10AD003)):
        before = calls()
        spec = SPECS_BY_NAME[name]
        options = empty_std_map()
        load = getattr(_ffi.api, name)
        status = load(
            _as(spec.argtypes[0], this),
            41,
            ctypes.byref(options),
            _as(spec.argtypes[3], stream_address),
        )
        assert status == returned, name
        assert calls() == before + 1
        assert (probe.probe_this(), probe.probe_graph_id()) == (this, 41)
        assert probe.probe_stream() == stream_address
        assert probe.probe_options() == ctypes.addressof(options)  # by reference
        assert probe.probe_map_size() == 0
        assert probe.probe_map_begin_is_end() == 1
        assert probe.probe_map_find_is_end() == 1
        assert probe.probe_map_visited() == 0  # iterating visits nothing
